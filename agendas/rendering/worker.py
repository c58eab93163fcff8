"""The code that runs inside a render child process, never in the server.

MuPDF and the image decoders parse hostile bytes in C; here a crash, a hang or a
runaway allocation costs one child, which the pool kills and replaces. The child
confines itself first (address space, CPU time, no core dumps), then talks to the
pool over a pipe in JSON, not pickle, so a child subverted by a crafted file cannot
make the server run code by what it sends back.

Protocol, one JSON object per message:
  pool -> child: first the job, {"path": .., "out": .., "filename": .., "limits": {...}, "page_one"?: true}
                 (a child is started before its document arrives: see pool.RenderPool);
                 with "page_one", page index 0 follows "open" unasked
  child -> pool: {"t": "open", "pages": n, "warnings": [...]}
                 {"t": "page", "i": i, "images": {name: sha256}, "text": .., "folded": .., "warnings": [...]}
                 {"t": "error", "code": .., "message": ..}
  pool -> child: a page index to render, or null to exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import math
import os
import resource
import sys
import threading
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

# pymupdf eagerly imports its optional layout and LLM add-ons when they are installed
# (numpy, onnxruntime: +0.5 s and +100 MB per process). We use neither; a None entry in
# sys.modules makes those imports fail fast, and pymupdf carries on without them.
sys.modules.setdefault("pymupdf.layout", None)
sys.modules.setdefault("pymupdf4llm", None)

import pymupdf  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from server.domain.text import fold, nfc  # noqa: E402

from . import sniff  # noqa: E402
from .errors import RenderError  # noqa: E402
from .limits import Limits  # noqa: E402

# Decides colour vs grey: a small render is enough, since anti-aliasing keeps the tint of
# even a hairline of colour. Grey pages (most of a meeting pack) encode 1.6x faster as
# one-channel JPEGs, and are smaller. The smallest image asked for (the 240 px thumbnail)
# is rendered in colour and serves as the probe when it is at most _PROBE_MAX wide;
# otherwise a separate _PROBE_WIDTH render decides.
_PROBE_WIDTH = 200
_PROBE_MAX = 400
# page.get_text()'s flags for plain text, applied to the page's display list: the content
# stream is interpreted once for the images and the text, not twice.
_TEXT_FLAGS = pymupdf.TEXTFLAGS_TEXT
_MAX_TEXT = 200_000  # characters kept per page; beyond is not prose
_MAX_WARNINGS = 3  # MuPDF warnings kept per page
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_THREAD_STACK = 2**20  # page 1's second thread only encodes: 1 MB, not 8 MB, of the address space

RenderPage = Callable[[int], dict]

# A child re-runs the parent's main module, which the fork server has already imported
# (see pool._preload): that is intended, so runpy need not warn about it in every child.
warnings.filterwarnings("ignore", r".* found in sys\.modules after import of package", RuntimeWarning)

# Pillow imports its format plugins on first use (50 ms). This module is preloaded by the
# pool's fork server, so doing it here once makes every child start with them loaded.
Image.preinit()


def _warm_up() -> None:
    """Render a tiny page once, here, so that every child starts with MuPDF and Pillow warm.

    A child's first page otherwise pays ~20 ms of one-time set-up (the font engine, the
    colour conversions, the JPEG encoder and pymupdf's own first calls) on the way to
    the uploader's first page. Done at import, that is once in the fork server.
    """
    try:
        doc = pymupdf.open()
        page = doc.new_page(width=120, height=60)
        page.insert_text((10, 30), "Báo cáo", fontsize=11)
        page.draw_rect(pymupdf.Rect(70, 10, 110, 50), color=(0.8, 0, 0), fill=(0, 0, 0.8))
        dl = page.get_displaylist()
        for colorspace in (pymupdf.csRGB, pymupdf.csGRAY):
            pix = dl.get_pixmap(colorspace=colorspace, alpha=False)
            image = _image(pix)
            buf = io.BytesIO()
            image.save(buf, "JPEG", quality=Limits().jpeg_quality)
            image.close()
            Image.open(buf).load()
        pymupdf.TextPage(dl.get_textpage(_TEXT_FLAGS)).extractText()
        fold(nfc("Báo cáo"))
    except Exception:  # noqa: BLE001 - only a head start: a child does all of this anyway
        pass
    pymupdf.TOOLS.mupdf_warnings(reset=True)


def serve(conn: Connection) -> None:
    """Child entry point: wait for a document, open it, then render the pages the pool asks for."""
    try:
        job = json.loads(conn.recv_bytes())
    except (EOFError, OSError, ValueError):
        return  # the pool closed before it had a document for this child
    path, limits = job["path"], Limits(**job["limits"])
    _confine(limits)
    polite = False
    try:
        pages, render, notes = open_document(Path(path), job["filename"], limits, Path(job["out"]))
        _send(conn, {"t": "open", "pages": pages, "warnings": notes})
        if job.get("page_one"):  # the pool counts on it: no need to wait to be asked
            _send(conn, {"t": "page", "i": 0, **render(0)})
        while (index := json.loads(conn.recv_bytes())) is not None:
            if index != 0 and not polite:
                # Page 1 is what the uploader waits for: it renders at the server's own
                # priority. The rest is background work: the event loop comes first.
                os.nice(limits.nice)
                polite = True
            _send(conn, {"t": "page", "i": index, **render(index)})
    except (EOFError, BrokenPipeError):
        return  # the pool is gone or gave up on this document
    except Exception as e:  # whatever MuPDF or Pillow raised, the file is at fault
        error = e if isinstance(e, RenderError) else _classify(e)
        # Messages reach users: they must not reveal where the server keeps its files.
        with contextlib.suppress(OSError):
            message = error.message.replace(path, "the file").replace(job["out"], "the page folder")
            _send(conn, {"t": "error", "code": error.code, "message": message})


def _confine(limits: Limits) -> None:
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # A backstop if the pool itself dies: the pool enforces the wall-clock limit.
    cpu = math.ceil(limits.timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    threading.stack_size(_THREAD_STACK)
    _keep_freed_memory()
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


def _keep_freed_memory() -> None:
    """Let glibc reuse freed page buffers instead of returning them to the kernel.

    Each page allocates and frees pixmaps and images of up to ~30 MB. By default glibc
    maps and unmaps each one, and the kernel zero-fills every page again: a quarter of
    the CPU time of a text page. A child lives for one document, under RLIMIT_AS, so
    holding on to its peak is harmless.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 512 * 2**20)
    except (OSError, AttributeError):
        pass  # not glibc: slower, not wrong


def _send(conn: Connection, message: dict) -> None:
    conn.send_bytes(json.dumps(message, ensure_ascii=False).encode())


def _classify(e: Exception) -> RenderError:
    text = str(e) or type(e).__name__
    if isinstance(e, MemoryError) or "alloc" in text or "out of memory" in text.lower():  # MuPDF: "malloc (n bytes) failed", "calloc ..."
        return RenderError("out_of_memory", text[:200])
    return RenderError("corrupt", text[:200])


def open_document(path: Path, filename: str | None, limits: Limits, out_dir: Path) -> tuple[int, RenderPage, list[str]]:
    """Check and open a file: (page count, function rendering page i, warnings)."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise RenderError("not_found", f"cannot read the file: {e.strerror}") from None
    if size > limits.max_bytes:
        raise RenderError("too_large", f"{size} bytes, at most {limits.max_bytes} allowed")
    kind = sniff.check(path, filename)
    if kind == "pdf":
        return _open_pdf(path, limits, out_dir)
    if kind in ("jpeg", "png"):
        return _open_image(path, limits, out_dir)
    raise RenderError("office_unavailable", "office documents must be converted to PDF before upload")


def _open_pdf(path: Path, limits: Limits, out_dir: Path) -> tuple[int, RenderPage, list[str]]:
    doc = pymupdf.open(path, filetype="pdf")  # a hopeless file raises; `serve` calls it corrupt
    if doc.needs_pass:
        raise RenderError("encrypted", "the PDF is protected by a password")
    if doc.page_count == 0:
        raise RenderError("corrupt", "the PDF has no pages")
    if doc.page_count > limits.max_pages:
        raise RenderError("too_many_pages", f"{doc.page_count} pages, at most {limits.max_pages} allowed")

    def render(index: int) -> dict:
        page = doc.load_page(index)
        rect = page.rect
        if rect.is_empty or rect.width < 1 or rect.height < 1:
            raise RenderError("corrupt", f"page {index + 1} has no size")
        # One display list per page: the content stream is interpreted once for all sizes
        # and the text.
        dl = page.get_displaylist()
        notes: list[str] = []
        # Page 1 is the one the uploader waits for: it uses a second core.
        images = _page_images(dl, rect, limits, out_dir, notes, overlap=index == 0)
        text = nfc(pymupdf.TextPage(dl.get_textpage(_TEXT_FLAGS)).extractText())
        if len(text) > _MAX_TEXT:
            notes.append(f"page {index + 1}: text cut to {_MAX_TEXT} characters")
            text = text[:_MAX_TEXT]
        folded = fold(text)
        done = images()
        notes += _mupdf_warnings(index)
        return {"images": done, "text": text, "folded": folded, "warnings": notes}

    return doc.page_count, render, _mupdf_warnings(None)


def _page_images(dl: pymupdf.DisplayList, rect: pymupdf.Rect, limits: Limits, out_dir: Path,
                 notes: list[str], *, overlap: bool = False) -> Callable[[], dict[str, str]]:
    """Draw and store each size; returns the function that waits for the last one and
    gives their hashes by size name.

    Each size is rasterised from the display list: MuPDF draws a text page at 1280 px
    in 1.5 ms, Pillow takes 16 ms to shrink the 2400 px image to that. Grey pages become
    one-channel images. Encoding is most of the cost (13 ms of ~28 for the 2400 px JPEG
    alone): with `overlap`, the largest image is encoded on a second thread while this
    one draws and encodes the others, and the caller extracts the text.
    """
    if not limits.widths:
        return dict
    by_width = sorted(limits.widths, key=limits.widths.__getitem__)
    smallest, largest = by_width[0], by_width[-1]
    thumb = None
    if limits.widths[smallest] <= _PROBE_MAX:
        thumb = _pixmap(dl, rect, limits.widths[smallest], pymupdf.csRGB, limits, notes)
        grey = _grey_samples(thumb)
    else:
        grey = _grey_samples(_pixmap(dl, rect, _PROBE_WIDTH, pymupdf.csRGB, limits, notes))
    colorspace = pymupdf.csRGB if grey is None else pymupdf.csGRAY
    digests: dict[str, str] = {}
    background = None
    for name in reversed(by_width):  # largest first, so that its encoding can overlap the rest
        if thumb is not None and name == smallest:
            continue
        pix = _pixmap(dl, rect, limits.widths[name], colorspace, limits, notes)
        if overlap and background is None:
            background = _Background(pix, limits, out_dir)
        else:
            digests[name] = _save_pixmap(pix, limits, out_dir)
    if thumb is not None:
        if grey is None:
            digests[smallest] = _save_pixmap(thumb, limits, out_dir)
        else:  # a grey page: its thumbnail is one channel of the colour render (R = G = B)
            digests[smallest] = _save(Image.frombytes("L", (thumb.width, thumb.height), grey), limits, out_dir)

    def finish() -> dict[str, str]:
        if background is not None:
            digests[largest] = background.result()
        return {name: digests[name] for name in limits.widths}

    return finish


class _Background:
    """One pixmap encoded and stored on a thread of its own; `result()` waits for its hash."""

    def __init__(self, pix: pymupdf.Pixmap, limits: Limits, out_dir: Path) -> None:
        self._pix = pix  # alive until the thread is done with its pixels
        self._image = _image(pix)  # made here: pymupdf is called from the main thread only
        self._digest = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(limits, out_dir), daemon=True)
        self._thread.start()

    def _run(self, limits: Limits, out_dir: Path) -> None:
        try:
            self._digest = _save(self._image, limits, out_dir)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread by result()
            self._error = e

    def result(self) -> str:
        self._thread.join()
        self._image.close()
        if self._error is not None:
            raise self._error
        return self._digest


def _pixmap(dl: pymupdf.DisplayList, rect: pymupdf.Rect, width: int, colorspace: pymupdf.Colorspace,
            limits: Limits, notes: list[str]) -> pymupdf.Pixmap:
    zoom = width / rect.width
    if width * rect.height * zoom > limits.max_pixels:
        # A page of absurd proportions: keep the image within the pixel budget.
        zoom = math.sqrt(limits.max_pixels / (rect.width * rect.height))
        notes.append(f"a page of {rect.width:.0f}x{rect.height:.0f} pt was rendered smaller")
    return dl.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=colorspace, alpha=False)


def _grey_samples(pix: pymupdf.Pixmap) -> bytes | None:
    """The one channel of an RGB pixmap whose pixels are all grey, else None."""
    s = pix.samples
    red = s[0::3]
    return red if red == s[1::3] == s[2::3] else None


def _image(pix: pymupdf.Pixmap) -> Image.Image:
    """The pixmap as a Pillow image; close it before the pixmap goes."""
    if pix.n == 1:
        # Pillow reads a grey pixmap in place: no copy of 8 MB at 2400 px.
        return Image.frombuffer("L", (pix.width, pix.height), pix.samples_mv, "raw", "L", pix.stride, 1)
    # Pillow keeps RGB as 4 bytes a pixel, so colour is copied.
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples_mv, "raw", "RGB", pix.stride)


def _save_pixmap(pix: pymupdf.Pixmap, limits: Limits, out_dir: Path) -> str:
    image = _image(pix)
    try:
        return _save(image, limits, out_dir)
    finally:
        image.close()  # drops the view of the pixmap's samples


def _save(image: Image.Image, limits: Limits, out_dir: Path) -> str:
    """Encode `image` as <sha256>.jpg in `out_dir` (once: same bytes, same name); return the hash.

    Pillow's libjpeg-turbo encodes ~10x faster than MuPDF's own JPEG writer. It writes
    straight into the file, and lets go of the GIL while it does (into a BytesIO it would
    hold it, and page 1's second thread would wait); the hash is read back from the page
    cache. Write then rename, so a reader never sees half a file under the final name.
    """
    tmp = out_dir / f".jpeg-{threading.get_native_id()}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w+b") as f:
            image.save(f, "JPEG", quality=limits.jpeg_quality)
            f.seek(0)
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        target = out_dir / f"{digest}.jpg"
        if target.exists():
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def _mupdf_warnings(index: int | None) -> list[str]:
    lines = [x for x in dict.fromkeys(pymupdf.TOOLS.mupdf_warnings(reset=True).splitlines()) if x]
    where = "document" if index is None else f"page {index + 1}"
    return [f"{where}: {x[:160]}" for x in lines[:_MAX_WARNINGS]]


def _open_image(path: Path, limits: Limits, out_dir: Path) -> tuple[int, RenderPage, list[str]]:
    """A photo or scan becomes a one-page document. Never enlarged: a small image keeps its size."""
    Image.MAX_IMAGE_PIXELS = limits.max_pixels  # Pillow's own guard, as a second line
    try:
        image = Image.open(path)  # reads the header only
    except Image.DecompressionBombError as e:
        raise RenderError("image_bomb", str(e)[:200]) from None
    except OSError as e:
        raise RenderError("corrupt", str(e)[:200]) from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise RenderError("image_bomb", f"{width}x{height} pixels, at most {limits.max_pixels} allowed")

    def render(index: int) -> dict:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when even the largest output is smaller.
        largest = max(limits.widths.values())
        image.draft(None, (largest, largest * height // max(width, 1)))
        page = _flatten(ImageOps.exif_transpose(image))
        images = {}
        for name, w in limits.widths.items():
            scaled = page if page.width <= w else page.resize(
                (w, max(1, round(page.height * w / page.width))), Image.Resampling.BILINEAR, reducing_gap=2.0)
            images[name] = _save(scaled, limits, out_dir)
        return {"images": images, "text": "", "folded": "", "warnings": []}

    return 1, render, []


def _flatten(image: Image.Image) -> Image.Image:
    """RGB or L, with any transparency laid on white paper."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", rgba.size, "white")
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


_warm_up()
