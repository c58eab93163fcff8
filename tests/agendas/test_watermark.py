"""Burned-in watermarks: what a security officer checks on a confidential page image."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from agendas import watermark
from agendas.watermark import Mark, WatermarkError, stamp

AN = Mark("Nguyễn Văn An", "Văn phòng Tỉnh ủy", "23/11/2026 14:05", "K7Q2-9F", "Mật")
BINH = Mark("Trần Thị Bình", "Ban Tổ chức Tỉnh ủy", "23/11/2026 14:06", "P3X8-2M", "Mật")


def _page(path: Path, mode: str = "L", width: int = 1280) -> Path:
    """A page as our renderer makes it: white, lines of black 'text', JPEG quality 80."""
    height = round(width * 1.414)
    page = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(page)
    for y in range(120, height - 120, 30):
        draw.rectangle((90, y, width - 90 - (y * 37) % 300, y + 10), fill="black")
    page.save(path, "JPEG", quality=80)
    return path


def _diff(a: Image.Image, b: Image.Image) -> Image.Image:
    return ImageChops.difference(a.convert("L"), b.convert("L"))


def _red(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Pixels clearly red inside `box`."""
    r, g, b = (band.crop(box).tobytes() for band in image.convert("RGB").split())
    return sum(1 for x, y, z in zip(r, g, b, strict=True) if x > 150 and y < 90 and z < 90)


@pytest.fixture(autouse=True)
def _fresh_cache():
    watermark._cache.clear()
    yield
    watermark._cache.clear()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_identity_covers_the_whole_page(tmp_path, mode):
    source = _page(tmp_path / "p.jpg", mode)
    target = tmp_path / "out.jpg"
    stamp(source, target, AN)
    with Image.open(source) as before, Image.open(target) as after:
        assert after.size == before.size and after.format == "JPEG"
        diff = _diff(before, after)
        w, h = after.size
        # Every cell of a 4 x 6 grid (320 x 300 px: a photo of a sixth of the width) is marked.
        cols, rows = 4, 6
        for i in range(cols):
            for j in range(rows):
                cell = diff.crop((i * w // cols, j * h // rows, (i + 1) * w // cols, (j + 1) * h // rows))
                marked = sum(1 for v in cell.tobytes() if v > 25)
                assert marked > 0.01 * cell.width * cell.height, (i, j, marked)


@pytest.mark.parametrize("mark", [AN, Mark("Tôn Nữ Thị Phương Thảo", "Ban Tuyên giáo và Dân vận Tỉnh ủy",
                                           "23/11/2026 14:05", "K7Q2-9F", "Tối mật")])
@pytest.mark.parametrize("width", [1280, 2400])
def test_any_quarter_of_the_page_shows_the_reader_code_whole(mark, width):
    """The layout, checked by geometry: every square crop a quarter of the page wide
    (on a 25 x 25 grid of positions) holds at least one whole, unclipped reader code."""
    height = round(width * 1.414)
    size = round(width * watermark._TILE_FONT)
    copy = watermark._identity_copy(mark, size)
    assert len(copy.codes) == 2
    (ux, uy), (vx, vy) = watermark._directions()
    codes = [[(cx + du * ux + dv * vx, cy + du * uy + dv * vy) for du in (x0, x1) for dv in (y0, y1)]
             for cx, cy in watermark._centres(width, height, copy, size) for x0, y0, x1, y1 in copy.codes]
    side = width / 4
    for a in range(25):
        for b in range(25):
            left, top = (width - side) * a / 24, (height - side) * b / 24
            assert any(all(left <= x <= left + side and top <= y <= top + side for x, y in corners)
                       for corners in codes), (left, top)


def test_the_text_underneath_stays_readable(tmp_path):
    source = _page(tmp_path / "p.jpg")
    target = tmp_path / "out.jpg"
    stamp(source, target, Mark(AN.name, AN.unit, AN.when, AN.code, ""))
    with Image.open(source) as before, Image.open(target) as after:
        # Black stays black; white becomes at most a light grey under the tiled text.
        body = (90, 300, 600, 1400)
        b, a = before.convert("L").crop(body).tobytes(), after.convert("L").crop(body).tobytes()
        dark = [y for x, y in zip(b, a, strict=True) if x < 40]
        light = [y for x, y in zip(b, a, strict=True) if x > 220]
        assert dark and max(dark) < 90
        assert light and min(light) > 150


def test_the_classification_is_a_red_box_at_the_top_and_bottom(tmp_path):
    source = _page(tmp_path / "p.jpg", "L")
    target = tmp_path / "out.jpg"
    stamp(source, target, AN)
    with Image.open(target) as out:
        assert out.mode == "RGB"  # a grey page gains colour for the stamp
        w, h = out.size
        top_centre = (w // 3, 0, 2 * w // 3, h // 12)
        assert _red(out, top_centre) > 500
        assert _red(out, (w // 3, h - h // 10, 2 * w // 3, h)) > 500
        # Red only there: not in the page's corners or middle.
        assert _red(out, (0, 0, w // 4, h // 12)) == 0
        assert _red(out, (0, h // 4, w, 3 * h // 4)) == 0


def test_no_classification_no_red_box(tmp_path):
    source = _page(tmp_path / "p.jpg", "RGB")
    target = tmp_path / "out.jpg"
    stamp(source, target, Mark(AN.name, AN.unit, AN.when, AN.code, ""))
    with Image.open(target) as out:
        assert _red(out, (0, 0, *out.size)) == 0
    grey = _page(tmp_path / "g.jpg", "L")
    stamp(grey, target, Mark(AN.name, AN.unit, AN.when, AN.code, ""))
    with Image.open(target) as out:
        assert out.mode == "L"  # nothing red: the grey page stays one band


def test_the_source_is_untouched(tmp_path):
    source = _page(tmp_path / "p.jpg", "RGB")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stamp(source, tmp_path / "out.jpg", AN)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest


def test_each_reader_gets_a_different_image(tmp_path):
    source = _page(tmp_path / "p.jpg")
    stamp(source, tmp_path / "an.jpg", AN)
    stamp(source, tmp_path / "binh.jpg", BINH)
    stamp(source, tmp_path / "an-again.jpg", AN)
    with Image.open(tmp_path / "an.jpg") as a, Image.open(tmp_path / "binh.jpg") as b, \
            Image.open(tmp_path / "an-again.jpg") as again:
        assert _diff(a, b).getbbox() is not None
        diff = _diff(a, b)
        w, h = diff.size
        # They differ all over the page, not only in the footer.
        assert diff.crop((0, 0, w, h // 2)).getbbox() is not None
        assert _diff(a, again).getbbox() is None  # the same reader: the same image (cached layers)


def test_the_zoom_size_is_marked_in_proportion(tmp_path):
    source = _page(tmp_path / "p.jpg", "L", width=2400)
    target = tmp_path / "out.jpg"
    stamp(source, target, AN)
    with Image.open(target) as out:
        w, h = out.size
        assert _red(out, (w // 3, 0, 2 * w // 3, h // 12)) > 2000


def test_vietnamese_letters_are_drawn_not_boxes():
    regular, bold = watermark.find_font()
    for path in (regular, bold):
        font = ImageFont.truetype(str(path), 32)
        notdef = watermark.glyph(font, "\U000f0000")
        blank = watermark.glyph(font, " ")
        for letter in "ễƯđơỹẬ":
            assert watermark.glyph(font, letter) not in (notdef, blank), (path, letter)
    # The check itself works: Pillow's built-in font has no Vietnamese and draws boxes.
    default = ImageFont.load_default(32)
    if isinstance(default, ImageFont.FreeTypeFont):
        assert watermark.glyph(default, "ễ") == watermark.glyph(default, "\U000f0000")


def test_a_font_without_vietnamese_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(watermark, "_FONT_DIRS", [tmp_path])
    monkeypatch.delenv("PHONGHOP_WATERMARK_FONT", raising=False)
    watermark.find_font.cache_clear()
    watermark._font.cache_clear()
    try:
        with pytest.raises(WatermarkError, match="fonts-dejavu-core"):
            watermark.find_font()
        with pytest.raises(WatermarkError, match="Vietnamese"):
            stamp(_page(tmp_path / "p.jpg"), tmp_path / "out.jpg", AN)
        assert not (tmp_path / "out.jpg").exists()
    finally:
        watermark.find_font.cache_clear()
        watermark._font.cache_clear()


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\0" * 100])
def test_a_bad_source_raises_a_clear_error(tmp_path, content):
    source = tmp_path / "bad.jpg"
    source.write_bytes(content)
    target = tmp_path / "out.jpg"
    with pytest.raises(WatermarkError, match="bad.jpg"):
        stamp(source, target, AN)
    assert os.listdir(tmp_path) == ["bad.jpg"]


def test_a_missing_source_or_a_png_is_refused(tmp_path):
    with pytest.raises(WatermarkError, match="not found"):
        stamp(tmp_path / "missing.jpg", tmp_path / "out.jpg", AN)
    Image.new("RGB", (100, 100)).save(tmp_path / "p.png")
    with pytest.raises(WatermarkError, match="PNG"):
        stamp(tmp_path / "p.png", tmp_path / "out.jpg", AN)


def test_the_target_is_written_atomically(tmp_path, monkeypatch):
    source = _page(tmp_path / "p.jpg")
    target = tmp_path / "out.jpg"
    target.write_bytes(b"the previous complete image")

    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"\xff\xd8 half an image")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(WatermarkError, match="disk full"):
        stamp(source, target, AN)
    # The old file is intact and no temporary file is left behind.
    assert target.read_bytes() == b"the previous complete image"
    assert sorted(os.listdir(tmp_path)) == ["out.jpg", "p.jpg"]
    monkeypatch.undo()
    stamp(source, target, AN)
    with Image.open(target) as out:
        out.load()
    assert sorted(os.listdir(tmp_path)) == ["out.jpg", "p.jpg"]


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    source = _page(tmp_path / "p.jpg")
    with pytest.raises(WatermarkError, match="cannot write"):
        stamp(source, tmp_path / "no-such-folder" / "out.jpg", AN)


def test_layers_are_cached_per_reader_and_size(tmp_path):
    source = _page(tmp_path / "p.jpg")
    for _ in range(3):
        stamp(source, tmp_path / "out.jpg", AN)
    assert (watermark._cache.misses, watermark._cache.hits) == (1, 2)
    stamp(source, tmp_path / "out.jpg", BINH)
    assert watermark._cache.misses == 2
    for n in range(watermark._CACHE_SIZE + 5):
        watermark.render(Image.new("L", (64 + n, 90)), AN)
    assert len(watermark._cache._items) == watermark._CACHE_SIZE
