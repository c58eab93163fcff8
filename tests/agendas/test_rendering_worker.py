"""The render child's page pipeline, run here in the test process on documents made on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from agendas.rendering import Limits, worker
from agendas.rendering.worker import pymupdf


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("widths", [{"tablet": 640, "zoom": 1200, "thumb": 120}, {"zoom": 1200}, {"thumb": 120}])
def test_page_one_encoded_on_two_threads_is_byte_for_byte_the_same(make_pdf, tmp_path, colour, widths):
    doc = pymupdf.open(make_pdf(["Báo cáo chính trị của Ban Chấp hành Đảng bộ tỉnh"]))
    page = doc[0]
    if colour:
        page.draw_rect(pymupdf.Rect(300, 600, 500, 780), color=(0, 0, 0.8), fill=(0.2, 0.2, 0.9))
    dl = page.get_displaylist()
    limits = Limits(widths=widths)
    one = worker._page_images(dl, page.rect, limits, _dir(tmp_path / "one"), [], overlap=False)()
    two = worker._page_images(dl, page.rect, limits, _dir(tmp_path / "two"), [], overlap=True)()
    assert one == two and list(one) == list(widths)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(f"{d}.jpg" for d in one.values())
    modes = {Image.open(tmp_path / "two" / f"{d}.jpg").mode for d in one.values()}
    assert modes == {"RGB" if colour else "L"}


def test_text_comes_from_the_display_list_like_page_get_text(make_pdf, tmp_path):
    doc = pymupdf.open(make_pdf(["Nghị quyết số 01/NQ-TU về công tác cán bộ", "Phụ lục"]))
    pages, render, _ = worker._open_pdf(Path(doc.name), Limits(widths={"thumb": 60}), _dir(tmp_path / "out"))
    for i in range(pages):
        assert render(i)["text"] == worker.nfc(doc[i].get_text())


def _dir(path: Path) -> Path:
    path.mkdir()
    return path
