"""Burned-in watermarks for confidential documents: each reader gets pages marked with who they are.

A confidential page image is served to each reader with their identity drawn into the
pixels, so a screenshot or a photo of the screen still says whose copy it was:
- the reader's name, unit, time and reader code (twice), tiled diagonally over the whole
  page, semi-transparent so the text underneath stays readable, and dense: a photo of
  any square a quarter of the page wide shows the reader code whole (which the server
  maps back to the reader), one a third of the page wide nearly always a whole copy;
- the classification ("MẬT", "TỐI MẬT") in red, in a box at the top and bottom centre;
- a footer line: name · unit · code · time.

`stamp()` runs in a thread executor of the server: Pillow only (it releases the GIL
while decoding, compositing and encoding), never PyMuPDF. The expensive part, drawing
and rotating the text, depends only on the mark and the page size, so it is kept in a
small in-memory LRU; a page then costs one JPEG decode, a few masked pastes and one
encode (measure with `python -m agendas.watermark`).

Text needs a TrueType font with Vietnamese glyphs. The first of PHONGHOP_WATERMARK_FONT,
DejaVu Sans (Debian: fonts-dejavu-core), Noto Sans, Liberation Sans or FreeSans that
really draws "ễ", "đ", "ư" is used; without one, stamp() raises WatermarkError rather
than burn boxes in place of the reader's name.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

__all__ = ["Mark", "WatermarkError", "find_font", "stamp"]

# Looks: fractions of the page width, so the tablet (1280 px) and zoom (2400 px) images match.
_TILE_FONT = 1 / 70  # 18 px on a tablet page, about 3 mm on a 10" screen
_TILE_ANGLE = 30  # degrees, counter-clockwise
_TILE_ALPHA = 0.24  # share of the ink colour over the page: white becomes light grey, black stays black
_TILE_INK = (40, 40, 40)  # neutral colours keep a grey page grey
_GAP_ALONG = 1.5  # font heights between copies along a row
_GAP_ACROSS = 1.3  # distance between rows, in heights of a copy (three lines)
_STAGGER = 0.38  # each row shifted by this share of a period from the one above
_STAMP_FONT = 1 / 40  # classification: 32 px on a tablet page
_FOOTER_FONT = 1 / 90
_RED = (200, 16, 30)
_FOOTER_INK = (30, 30, 30)

_FONT_ENV = "PHONGHOP_WATERMARK_FONT"
# Regular / bold pairs, by file name, in order of preference.
_FONTS = [
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("FreeSans.ttf", "FreeSansBold.ttf"),
]
_FONT_DIRS = [
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian/Ubuntu fonts-dejavu-core: checked first, no walk
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
]
_PROBE = "ễđưƠỹ"  # letters a font without Vietnamese draws as the .notdef box
# Layer sets kept: one tablet page's is ~2.5 MB, a zoom page's ~8.5 MB, so at most ~140 MB.
# Stamped pages are kept on disk by the server, so a reader's layers are needed while
# their pages are first made (a manifest download), not for every request.
_CACHE_SIZE = 16


@dataclass(frozen=True)
class Mark:
    name: str  # "Nguyễn Văn An"
    unit: str  # "Văn phòng Tỉnh ủy"
    when: str  # already formatted local time, "23/11/2026 14:05"
    code: str  # short reader code, e.g. "K7Q2-9F"
    classification: str  # "Mật", "Tối mật", or "" for none


class WatermarkError(RuntimeError):
    """A page could not be watermarked: unreadable source, unwritable target, or no usable font."""


# --- fonts ------------------------------------------------------------------------------


def _draws_vietnamese(path: Path) -> bool:
    """Whether the font has real glyphs for Vietnamese letters, not the .notdef box."""
    try:
        font = ImageFont.truetype(str(path), 24)
    except OSError:
        return False
    notdef = glyph(font, "\U000f0000")  # a private-use code point no text font covers
    return all(glyph(font, ch) not in (notdef, glyph(font, " ")) for ch in _PROBE)


def glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    """The pixels `font` draws for `char` (the .notdef box, or nothing, when it has no glyph)."""
    size = int(font.size * 2)
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).text((size // 4, size // 4), char, fill=255, font=font)
    return image.tobytes()


@functools.cache
def find_font() -> tuple[Path, Path]:
    """(regular, bold) TrueType files with Vietnamese glyphs; bold falls back to regular."""
    candidates: list[tuple[Path, Path | None]] = []
    if os.environ.get(_FONT_ENV):
        candidates.append((Path(os.environ[_FONT_ENV]), None))
    for regular, bold in _FONTS:
        for folder in _FONT_DIRS:
            if not folder.is_dir():
                continue
            direct = folder / regular
            found = [direct] if direct.is_file() else sorted(folder.rglob(regular))
            if found:
                candidates.append((found[0], found[0].with_name(bold)))
                break
    for regular, bold in candidates:
        if regular.is_file() and _draws_vietnamese(regular):
            return regular, bold if bold and bold.is_file() and _draws_vietnamese(bold) else regular
    looked = ", ".join(str(d) for d in _FONT_DIRS)
    raise WatermarkError(
        "no TrueType font with Vietnamese glyphs for watermarks: install Debian's fonts-dejavu-core "
        f"(apt-get install fonts-dejavu-core) or set {_FONT_ENV} to a .ttf file; looked for "
        f"{', '.join(r for r, _ in _FONTS)} under {looked}")


@functools.lru_cache(maxsize=64)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    regular, heavy = find_font()
    return ImageFont.truetype(str(heavy if bold else regular), max(6, size))


# --- the layers of one (mark, page size) ------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Piece:
    """A colour painted through `mask` at `at` (an 'L' mask; 255 = fully the colour)."""
    color: tuple[int, int, int]
    mask: Image.Image
    at: tuple[int, int]


@dataclass(frozen=True, eq=False)
class _Copy:
    """One copy of the reader's identity, as laid out before rotation, and rotated."""
    tile: Image.Image  # rotated 'L' mask, scaled by the tile alpha
    flat: tuple[int, int]  # width and height before rotation
    codes: list[tuple[float, float, float, float]]  # the reader code's boxes, from the flat centre


def _identity_copy(mark: Mark, size: int) -> _Copy:
    """Three short centred lines, the reader code twice: a cropped photo needs only the code."""
    font = _font(size)
    lines = [[mark.name, mark.code], [mark.unit], [mark.when, mark.code]]
    lines = [[part for part in line if part.strip()] for line in lines]
    lines = [line for line in lines if line]
    sep = " · "
    texts = [sep.join(line) for line in lines]
    ascent, descent = font.getmetrics()
    pitch = round((ascent + descent) * 1.15)
    widths = [font.getlength(t) for t in texts]
    pad = size // 2
    flat_w = math.ceil(max(widths)) + 2 * pad
    flat_h = pitch * len(texts) + 2 * pad
    flat = Image.new("L", (flat_w, flat_h), 0)
    draw = ImageDraw.Draw(flat)
    codes = []
    for n, (line, text, width) in enumerate(zip(lines, texts, widths, strict=True)):
        x, y = (flat_w - width) / 2, pad + n * pitch
        draw.text((x, y), text, fill=255, font=font)
        at = x
        for part in line:
            if part == mark.code:
                codes.append((at - flat_w / 2, y - flat_h / 2, at + font.getlength(part) - flat_w / 2,
                              y + ascent + descent - flat_h / 2))
            at += font.getlength(part + sep)
    tile = flat.rotate(_TILE_ANGLE, resample=Image.Resampling.BICUBIC, expand=True)
    level = round(255 * _TILE_ALPHA)
    return _Copy(tile.point(lambda v: v * level // 255), (flat_w, flat_h), codes)


def _directions() -> tuple[tuple[float, float], tuple[float, float]]:
    angle = math.radians(_TILE_ANGLE)
    # Along the text (up and to the right: image y points down), and across it, down the page.
    return (math.cos(angle), -math.sin(angle)), (math.sin(angle), math.cos(angle))


def _centres(width: int, height: int, copy: _Copy, size: int) -> list[tuple[float, float]]:
    """Where the copies' centres fall: rows along the diagonal.

    Copies follow each other along a row with a gap of `_GAP_ALONG` font heights; rows
    are `_GAP_ACROSS` copy heights apart and each is shifted by `_STAGGER` of a period
    from the last, so the copies do not line up in columns.
    """
    (ux, uy), (vx, vy) = _directions()
    along = copy.flat[0] + _GAP_ALONG * size
    across = copy.flat[1] * _GAP_ACROSS
    tw, th = copy.tile.size
    reach = math.hypot(width, height) / 2 + max(tw, th)
    out = []
    for j in range(-math.ceil(reach / across), math.ceil(reach / across) + 1):
        shift = (j * _STAGGER % 1.0) * along
        for i in range(-math.ceil(reach / along) - 1, math.ceil(reach / along) + 1):
            u, v = i * along + shift, j * across
            cx, cy = width / 2 + u * ux + v * vx, height / 2 + u * uy + v * vy
            if -tw / 2 < cx < width + tw / 2 and -th / 2 < cy < height + th / 2:
                out.append((cx, cy))
    return out


def _tiled_mask(mark: Mark, width: int, height: int) -> Image.Image:
    """The page-sized mask of the identity copies."""
    size = round(width * _TILE_FONT)
    copy = _identity_copy(mark, size)
    tw, th = copy.tile.size
    mask = Image.new("L", (width, height), 0)
    for cx, cy in _centres(width, height, copy, size):
        x, y = round(cx - tw / 2), round(cy - th / 2)
        # Lighter of the two: a tile's empty corners must not erase a neighbour's letters.
        region = (x, y, x + tw, y + th)
        mask.paste(ImageChops.lighter(mask.crop(region), copy.tile), region)
    return mask


def _boxed(text: str, size: int, border: int) -> tuple[Image.Image, Image.Image]:
    """A classification stamp: (white background mask, red ink mask) of the same size."""
    font = _font(size, bold=True)
    x0, y0, x1, y1 = font.getbbox(text)
    pad_x, pad_y = size // 2, size // 3
    w, h = x1 - x0 + 2 * pad_x + 2 * border, y1 - y0 + 2 * pad_y + 2 * border
    ink = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(ink)
    draw.rectangle((0, 0, w - 1, h - 1), outline=255, width=border)
    draw.text((border + pad_x - x0, border + pad_y - y0), text, fill=255, font=font)
    background = Image.new("L", (w, h), 235)
    return background, ink


def _layers(mark: Mark, width: int, height: int) -> list[_Piece]:
    pieces = [_Piece(_TILE_INK, _tiled_mask(mark, width, height), (0, 0))]
    margin = max(4, width // 80)
    # Footer: a pale band so the line reads over any page.
    footer = " · ".join(p for p in (mark.name, mark.unit, mark.code, mark.when) if p.strip())
    if mark.classification.strip():
        footer = f"{mark.classification.strip().upper()} · {footer}"
    font = _font(round(width * _FOOTER_FONT))
    x0, y0, x1, y1 = font.getbbox(footer)
    band_h = (y1 - y0) + margin
    band = Image.new("L", (width, band_h), 215)
    text = Image.new("L", (width, band_h), 0)
    ImageDraw.Draw(text).text(((width - (x1 - x0)) // 2 - x0, margin // 2 - y0), footer, fill=255, font=font)
    pieces += [_Piece((255, 255, 255), band, (0, height - band_h)), _Piece(_FOOTER_INK, text, (0, height - band_h))]
    if mark.classification.strip():
        background, ink = _boxed(mark.classification.strip().upper(), round(width * _STAMP_FONT),
                                 max(2, width // 400))
        w, h = ink.size
        left = (width - w) // 2
        for top in (margin, height - band_h - margin // 2 - h):
            pieces += [_Piece((255, 255, 255), background, (left, top)), _Piece(_RED, ink, (left, top))]
    return pieces


class _LRU:
    """A small thread-safe LRU of layer sets; a miss is built outside the lock."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, list[_Piece]] = OrderedDict()
        self._lock = threading.Lock()
        self._build = threading.Lock()
        self.hits = self.misses = 0

    def get(self, mark: Mark, width: int, height: int) -> list[_Piece]:
        key = (mark, width, height)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        with self._build:  # FreeType faces are shared and not safe to draw with from two threads
            pieces = _layers(mark, width, height)
        with self._lock:
            self._items[key] = pieces
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return pieces

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


_cache = _LRU(_CACHE_SIZE)


# --- stamping ---------------------------------------------------------------------------


def _open(source: Path) -> Image.Image:
    try:
        with Image.open(source) as image:
            image.load()
            if image.format != "JPEG":
                raise WatermarkError(f"{source.name}: a {image.format} image, not a page JPEG")
            page = image if image.mode in ("L", "RGB") else image.convert("RGB")
            return page.copy() if page is image else page
    except WatermarkError:
        raise
    except FileNotFoundError as e:
        raise WatermarkError(f"{source.name}: page image not found") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise WatermarkError(f"{source.name}: not a readable page image ({e})") from e


def render(page: Image.Image, mark: Mark) -> Image.Image:
    """`page` ('L' or 'RGB') with the mark burned in; RGB when there is a red classification stamp."""
    pieces = _cache.get(mark, *page.size)
    if page.mode == "RGB":
        # Pasting a grey level into each band is twice as fast as pasting an RGB colour.
        bands = page.split()
        for piece in pieces:
            for band, level in zip(bands, piece.color, strict=True):
                _paste(band, level, piece)
        return Image.merge("RGB", bands)
    out = page.copy()
    colored = [p for p in pieces if len(set(p.color)) > 1]
    for piece in pieces:  # a grey page stays one band while it can
        if piece not in colored:
            _paste(out, piece.color[0], piece)
    if colored:
        out = out.convert("RGB")
        for piece in colored:  # small: the stamps
            _paste(out, piece.color, piece)
    return out


def _paste(image: Image.Image, color: int | tuple[int, int, int], piece: _Piece) -> None:
    x, y = piece.at
    box = None if (x, y) == (0, 0) and piece.mask.size == image.size else (x, y, x + piece.mask.width,
                                                                              y + piece.mask.height)
    image.paste(color, box, piece.mask)


def stamp(source: Path, target: Path, mark: Mark, *, quality: int = 80) -> None:
    """Write `source` (a page JPEG made by our renderer, grey 'L' or 'RGB') with the mark burned in to `target`, atomically (temp file + os.replace)."""
    source, target = Path(source), Path(target)
    image = render(_open(source), mark)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise WatermarkError(f"cannot write to {target.parent}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, "JPEG", quality=quality)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise WatermarkError(f"cannot write {target.name}: {e}") from e
        raise


# --- a quick measure: `python -m agendas.watermark` ------------------------------------------


def _bench() -> None:
    import io
    import random
    import time

    mark = Mark("Nguyễn Văn An", "Văn phòng Tỉnh ủy", "23/11/2026 14:05", "K7Q2-9F", "Mật")
    rnd = random.Random(1)
    for width, mode in ((1280, "L"), (1280, "RGB"), (2400, "L"), (2400, "RGB")):
        height = round(width * math.sqrt(2))
        page = Image.new(mode, (width, height), "white")
        draw = ImageDraw.Draw(page)
        for y in range(60, height - 60, max(12, width // 60)):
            draw.rectangle((60, y, rnd.randint(width // 2, width - 60), y + width // 160), fill="black")
        buf = io.BytesIO()
        page.save(buf, "JPEG", quality=80)
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "p.jpg"), Path(tmp, "o.jpg")
            src.write_bytes(buf.getvalue())
            _cache.clear()
            t0 = time.perf_counter()
            stamp(src, dst, mark)
            cold = time.perf_counter() - t0
            wall, cpu = [], []
            for _ in range(20):
                t0, c0 = time.perf_counter(), time.process_time()
                stamp(src, dst, mark)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            wall.sort()
            cpu.sort()
            print(f"{width}x{height} {mode}: first {cold * 1000:.0f} ms (layers built), then median "
                  f"{wall[10] * 1000:.1f} ms ({cpu[10] * 1000:.1f} ms CPU), {dst.stat().st_size // 1024} KB")


if __name__ == "__main__":
    _bench()
