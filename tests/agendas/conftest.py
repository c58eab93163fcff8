"""Documents made on the spot for the rendering tests: nothing binary is checked in."""

from __future__ import annotations

import types
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from agendas.rendering import RenderPool
from agendas.rendering.worker import pymupdf  # imported with its heavy optional add-ons kept out
from server.domain.text import fold
from tests.samples import many_pages_pdf, png_bomb

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
        many_pages=lambda count, name="nhieu-trang.pdf": _write(tmp_path / name, many_pages_pdf(count)),
        png_bomb=lambda name="bom.png": _write(tmp_path / name, png_bomb()),
        docx=lambda name="du-thao.docx": _docx(tmp_path / name),
        image=lambda name, size, mode="RGB", color="red": _image(tmp_path / name, size, mode, color),
    )


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return path


def _image(path: Path, size: tuple[int, int], mode: str = "RGB", color: object = "red") -> Path:
    Image.new(mode, size, color).save(path)
    return path
