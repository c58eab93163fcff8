"""The code that runs inside a render child process, never in the server.

MuPDF and the image decoders parse hostile bytes in C; here a crash, a hang or a
runaway allocation costs one child, which the pool kills and replaces. The child
confines itself first (address space, CPU time, no core dumps), then talks to the
pool over a pipe in JSON, not pickle, so a child subverted by a crafted file cannot
make the server run code by what it sends back.

Protocol, one JSON object per message:
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
# even a hairline of colour. Grey pages (most of a meeting pack) encode 3x faster as
# one-channel JPEGs, and are smaller.
_PROBE_WIDTH = 200
_MAX_TEXT = 200_000  # characters kept per page; beyond is not prose
_MAX_WARNINGS = 3  # MuPDF warnings kept per page
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

RenderPage = Callable[[int], dict]

# A child re-runs the parent's main module, which the fork server has already imported
# (see pool._preload): that is intended, so runpy need not warn about it in every child.
warnings.filterwarnings("ignore", r".* found in sys\.modules after import of package", RuntimeWarning)

# Pillow imports its format plugins on first use (50 ms). This module is preloaded by the
# pool's fork server, so doing it here once makes every child start with them loaded.
Image.preinit()


def serve(conn: Connection, path: str, out_dir: str, filename: str | None, limits: Limits) -> None:
    """Child entry point: open the document, then render the pages the pool asks for."""
    _confine(limits)
    try:
        pages, render, notes = open_document(Path(path), filename, limits, Path(out_dir))
        _send(conn, {"t": "open", "pages": pages, "warnings": notes})
        while (index := json.loads(conn.recv_bytes())) is not None:
            _send(conn, {"t": "page", "i": index, **render(index)})
    except (EOFError, BrokenPipeError):
        return  # the pool is gone or gave up on this document
    except Exception as e:  # whatever MuPDF or Pillow raised, the file is at fault
        error = e if isinstance(e, RenderError) else _classify(e)
        # Messages reach users: they must not reveal where the server keeps its files.
        with contextlib.suppress(OSError):
            _send(conn, {"t": "error", "code": error.code, "message": error.message.replace(path, "the file")})


def _confine(limits: Limits) -> None:
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # A backstop if the pool itself dies: the pool enforces the wall-clock limit.
    cpu = math.ceil(limits.timeout) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(5)  # the server's event loop comes first
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
        # One display list per page: the content stream is interpreted once for all sizes.
        dl = page.get_displaylist()
        notes: list[str] = []
        probe = _pixmap(dl, rect, _PROBE_WIDTH, pymupdf.csRGB, limits, notes)
        colorspace = pymupdf.csGRAY if _is_gray(probe) else pymupdf.csRGB
        images = {
            name: _store(_jpeg(_pixmap(dl, rect, width, colorspace, limits, notes), limits), out_dir)
            for name, width in limits.widths.items()
        }
        text = nfc(page.get_text())
        if len(text) > _MAX_TEXT:
            notes.append(f"page {index + 1}: text cut to {_MAX_TEXT} characters")
            text = text[:_MAX_TEXT]
        notes += _mupdf_warnings(index)
        return {"images": images, "text": text, "folded": fold(text), "warnings": notes}

    return doc.page_count, render, _mupdf_warnings(None)


def _pixmap(dl: pymupdf.DisplayList, rect: pymupdf.Rect, width: int, colorspace: pymupdf.Colorspace,
            limits: Limits, notes: list[str]) -> pymupdf.Pixmap:
    zoom = width / rect.width
    if width * rect.height * zoom > limits.max_pixels:
        # A page of absurd proportions: keep the image within the pixel budget.
        zoom = math.sqrt(limits.max_pixels / (rect.width * rect.height))
        notes.append(f"a page of {rect.width:.0f}x{rect.height:.0f} pt was rendered smaller")
    return dl.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=colorspace, alpha=False)


def _is_gray(pix: pymupdf.Pixmap) -> bool:
    s = pix.samples
    return s[0::3] == s[1::3] == s[2::3]


def _jpeg(pix: pymupdf.Pixmap, limits: Limits) -> bytes:
    # Pillow's libjpeg-turbo encodes ~10x faster than MuPDF's own JPEG writer.
    mode = "L" if pix.n == 1 else "RGB"
    # frombytes copies (Pillow keeps RGB as 4 bytes a pixel anyway), so no view of the
    # pixmap outlives it.
    image = Image.frombytes(mode, (pix.width, pix.height), pix.samples_mv, "raw", mode, pix.stride)
    return _encode(image, limits)


def _encode(image: Image.Image, limits: Limits) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=limits.jpeg_quality)
    return buf.getvalue()


def _store(data: bytes, out_dir: Path) -> str:
    """Write `data` as <sha256>.jpg (once: same bytes, same name) and return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    target = out_dir / f"{digest}.jpg"
    if not target.exists():
        # Write then rename, so a reader never sees half a file under the final name.
        tmp = out_dir / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
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
            images[name] = _store(_encode(scaled, limits), out_dir)
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
