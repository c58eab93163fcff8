"""Documents made on the spot for the rendering tests: nothing binary is checked in."""

from __future__ import annotations

import struct
import types
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from agendas.rendering import RenderPool
from agendas.rendering.worker import pymupdf  # imported with its heavy optional add-ons kept out
from server.domain.text import fold

_FONTS = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "FreeSans.ttf"]
# A TTF with Vietnamese glyphs, if the machine has one; else PDFs carry folded ASCII text.
FONT = next((p for name in _FONTS for p in sorted(Path("/usr/share/fonts").rglob(name))), None)


@pytest.fixture
def vietnamese_font() -> bool:
    """Whether make_pdf writes real Vietnamese text (else its folded ASCII form)."""
    return FONT is not None


@pytest.fixture
async def pool():
    async with RenderPool(workers=2) as p:
        yield p


@pytest.fixture
def make_pdf(tmp_path: Path) -> Callable[..., Path]:
    def make(pages: list[str], name: str = "tai-lieu.pdf", **save_options) -> Path:
        doc = pymupdf.open()
        for text in pages:
            page = doc.new_page(width=595, height=842)
            if FONT:
                page.insert_font(fontname="vn", fontfile=str(FONT))
            page.insert_textbox(pymupdf.Rect(50, 50, 545, 800), text if FONT else fold(text),
                                fontname="vn" if FONT else "helv", fontsize=12)
        path = tmp_path / name
        doc.save(path, **save_options)
        return path
    return make


@pytest.fixture
def samples(tmp_path: Path) -> types.SimpleNamespace:
    """Factories for the other sample files, each writing into tmp_path under `name`."""
    return types.SimpleNamespace(
        many_pages=lambda count, name="nhieu-trang.pdf": _many_pages_pdf(tmp_path / name, count),
        png_bomb=lambda name="bom.png": _png_bomb(tmp_path / name),
        docx=lambda name="du-thao.docx": _docx(tmp_path / name),
        image=lambda name, size, mode="RGB", color="red": _image(tmp_path / name, size, mode, color),
    )


def _many_pages_pdf(path: Path, count: int) -> Path:
    """A valid PDF of `count` empty 10x10 pt pages, written directly (PyMuPDF takes minutes for 20,000)."""
    kids = b" ".join(b"%d 0 R" % (i + 3) for i in range(count))
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)]
    bodies += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"] * count
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    path.write_bytes(out)
    return path


def _png_bomb(path: Path, side: int = 20_000) -> Path:
    """A real decompression bomb: a side x side 1-bit PNG of zeros, 50 MB unpacked, ~50 kB on disk."""
    row = b"\0" * (1 + side // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row * 500) for _ in range(side // 500)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return path


def _image(path: Path, size: tuple[int, int], mode: str = "RGB", color: object = "red") -> Path:
    Image.new(mode, size, color).save(path)
    return path
