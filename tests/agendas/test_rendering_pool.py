"""The render pool with real child processes and real PyMuPDF: pages, limits, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from PIL import Image

from agendas.rendering import Done, Limits, PageRendered, RenderError, RenderPool
from agendas.rendering.worker import pymupdf

# Bounds that catch a hang, not a slow machine.
HANG = 60
SMALL = {"tablet": 320, "zoom": 480, "thumb": 64}

PARAGRAPH = ("Báo cáo chính trị của Ban Chấp hành Đảng bộ tỉnh trình Đại hội đại biểu, nhiệm kỳ "
             "2025–2030. Đồng chí Nguyễn Văn Đức trình bày tờ trình về kế hoạch phát triển kinh tế.")


async def render_all(pool: RenderPool, path: Path, out: Path, limits: Limits | None = None,
                     **options) -> tuple[list[PageRendered], Done]:
    pages: list[PageRendered] = []
    async with asyncio.timeout(HANG):
        async for event in pool.render(path, out, limits, **options):
            if isinstance(event, PageRendered):
                pages.append(event)
            else:
                return pages, event
    raise AssertionError("no Done")


async def render_error(pool: RenderPool, path: Path, out: Path, limits: Limits | None = None,
                       **options) -> RenderError:
    with pytest.raises(RenderError) as err:
        await render_all(pool, path, out, limits, **options)
    return err.value


def renderers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "phonghop-render"]


async def test_pages_arrive_in_order_with_text_and_images(pool, make_pdf, vietnamese_font, tmp_path):
    texts = [f"Trang {i + 1}. {PARAGRAPH}" for i in range(12)]
    texts[7] = "Báo cáo tổng kết công tác năm"
    out = tmp_path / "pages"

    pages, done = await render_all(pool, make_pdf(texts), out)

    assert [p.index for p in pages] == list(range(12))
    assert {p.total for p in pages} == {12} and done.pages == 12
    for page in pages:
        assert set(page.images) == {"tablet", "zoom", "thumb"}
        for size, digest in page.images.items():
            data = (out / f"{digest}.jpg").read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest  # named by content: immutable URLs
            assert Image.open(out / f"{digest}.jpg").width == {"tablet": 1280, "zoom": 2400, "thumb": 240}[size]
    assert "bao cao tong ket cong tac nam" in pages[7].folded
    assert "trang 3. bao cao chinh tri" in pages[2].folded
    if vietnamese_font:  # with a Vietnamese font the text itself comes back, in NFC
        assert "Báo cáo tổng kết" in pages[7].text
        assert "Nguyễn Văn Đức" in pages[0].text
    assert not list(out.glob(".*.tmp"))


async def test_first_page_comes_before_the_document_is_finished(pool, make_pdf, tmp_path):
    out = tmp_path / "pages"
    events = pool.render(make_pdf([PARAGRAPH] * 40), out)
    async with asyncio.timeout(HANG):
        first = await anext(events)
        # The tablet can open page 1 while most of the document is still being rendered
        # (full-size images: the rest takes far longer than this test takes to look).
        assert isinstance(first, PageRendered) and first.index == 0 and first.total == 40
        assert len(list(out.glob("*.jpg"))) < 40 * 3
        rest = [event async for event in events]
    assert [e.index for e in rest[:-1]] == list(range(1, 40)) and isinstance(rest[-1], Done)


async def test_images_become_one_page_documents(pool, samples, tmp_path):
    photo = samples.image("anh.jpg", (3000, 2000), color=(200, 30, 30))
    pages, done = await render_all(pool, photo, tmp_path / "a")
    assert done.pages == 1 and pages[0].text == ""
    sizes = {k: Image.open(tmp_path / "a" / f"{v}.jpg").size for k, v in pages[0].images.items()}
    assert sizes == {"tablet": (1280, 853), "zoom": (2400, 1600), "thumb": (240, 160)}

    # A small scan is never enlarged; transparency is laid on white paper.
    logo = samples.image("logo.png", (300, 200), mode="RGBA", color=(0, 0, 255, 0))
    pages, _ = await render_all(pool, logo, tmp_path / "b")
    tablet = Image.open(tmp_path / "b" / f"{pages[0].images['tablet']}.jpg")
    assert tablet.size == (300, 200)
    assert min(tablet.convert("RGB").getpixel((10, 10))) > 240


async def test_refusals_are_typed(pool, make_pdf, samples, tmp_path):
    out = tmp_path / "out"
    png = samples.image("anh.png", (20, 20))
    assert (await render_error(pool, png, out, filename="Báo cáo.pdf")).code == "type_mismatch"
    assert (await render_error(pool, samples.docx(), out)).code == "office_unavailable"
    locked = make_pdf(["Mật"], name="mat.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
                      user_pw="mat-khau", owner_pw="chu")
    assert (await render_error(pool, locked, out)).code == "encrypted"
    assert (await render_error(pool, samples.png_bomb(), out)).code == "image_bomb"
    assert (await render_error(pool, tmp_path / "khong-co.pdf", out)).code == "not_found"
    assert (await render_error(pool, make_pdf(["x"]), out, Limits(max_bytes=100))).code == "too_large"
    broken = tmp_path / "hong.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    error = await render_error(pool, broken, out)
    assert error.code == "corrupt" and str(tmp_path) not in error.message  # no server paths in messages


async def test_one_page_at_chosen_widths_is_rendered_on_request(pool, make_pdf, samples, tmp_path):
    doc = make_pdf([f"Trang {i + 1}. {PARAGRAPH}" for i in range(3)])
    out = tmp_path / "zoom"
    async with asyncio.timeout(HANG):
        images = await pool.render_page(doc, out, 2, {"zoom": 2400})
    assert list(images) == ["zoom"]
    assert [p.name for p in out.iterdir()] == [f"{images['zoom']}.jpg"]
    assert Image.open(out / f"{images['zoom']}.jpg").width == 2400
    # The same page as a whole-document render makes at that width, byte for byte.
    pages, _ = await render_all(pool, doc, tmp_path / "all", Limits(widths={"zoom": 2400}))
    assert pages[2].images == images
    photo = samples.image("anh.jpg", (3000, 2000), color=(200, 30, 30))
    async with asyncio.timeout(HANG):
        images = await pool.render_page(photo, out, 0, {"zoom": 2400, "thumb": 240})
    assert [Image.open(out / f"{images[k]}.jpg").width for k in ("zoom", "thumb")] == [2400, 240]

    broken = tmp_path / "hong.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    for path, index, code in [(broken, 0, "corrupt"), (doc, 3, "not_found"), (tmp_path / "khong-co.pdf", 0, "not_found")]:
        with pytest.raises(RenderError) as err:
            async with asyncio.timeout(HANG):
                await pool.render_page(path, tmp_path / "bad", index, {"zoom": 2400})
        assert err.value.code == code and str(tmp_path) not in err.value.message
    assert not renderers()  # each child is gone with its page
    assert not list((tmp_path / "bad").iterdir())


async def test_twenty_thousand_pages_are_refused_quickly(pool, samples, tmp_path):
    big = samples.many_pages(20_000)
    assert (await render_error(pool, big, tmp_path / "out")).code == "too_many_pages"
    # The limit is configurable, and previews can stop after a few pages.
    pages, done = await render_all(pool, big, tmp_path / "out", Limits(max_pages=20_000, render_pages=3, widths=SMALL))
    assert len(pages) == 3 and "rendered the first 3 of 20000 pages" in done.warnings


async def test_memory_limit_is_enforced(pool, samples, tmp_path):
    # 64 megapixels decode to 64 MB: more than a child allowed 130 MB of address space (about 110 MB at start) can take.
    scan = samples.image("scan.png", (8000, 8000), mode="L", color=255)
    error = await render_error(pool, scan, tmp_path / "out", Limits(memory_mb=130))
    assert error.code == "out_of_memory"
    pages, _ = await render_all(pool, samples.image("nho.png", (100, 100)), tmp_path / "out")
    assert len(pages) == 1


async def test_crashed_child_is_reported_and_the_pool_carries_on(make_pdf, tmp_path):
    async with RenderPool(workers=1) as pool:
        doc = make_pdf([PARAGRAPH] * 60)
        with pytest.raises(RenderError) as err:
            async with asyncio.timeout(HANG):
                async for _ in pool.render(doc, tmp_path / "a"):
                    for child in renderers():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(child.pid, signal.SIGSEGV)
        assert err.value.code == "crashed" and "SIGSEGV" in err.value.message
        assert not renderers()
        pages, _ = await render_all(pool, make_pdf(["Tiếp theo"], name="sau.pdf"), tmp_path / "b")
        assert len(pages) == 1


async def test_hung_child_is_killed_at_the_deadline(make_pdf, tmp_path):
    async with RenderPool(workers=1) as pool:
        doc = make_pdf([PARAGRAPH] * 60)
        with pytest.raises(RenderError) as err:
            async with asyncio.timeout(HANG):
                async for _ in pool.render(doc, tmp_path / "a", Limits(timeout=3, widths=SMALL)):
                    for child in renderers():
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(child.pid, signal.SIGSTOP)  # hung: alive, silent, using no CPU
        assert err.value.code == "timeout"
        assert not renderers()
        assert not list((tmp_path / "a").glob(".*.tmp"))
        pages, _ = await render_all(pool, make_pdf(["Tiếp theo"], name="sau.pdf"), tmp_path / "b")
        assert len(pages) == 1


async def test_documents_render_side_by_side(pool, make_pdf, tmp_path):
    long_doc = make_pdf([PARAGRAPH] * 30, name="dai.pdf")
    short_doc = make_pdf(["Giấy mời"], name="ngan.pdf")
    results = await asyncio.gather(*(render_all(pool, doc, tmp_path / "out", Limits(widths=SMALL))
                                     for doc in [long_doc, short_doc, long_doc, short_doc]))
    assert [done.pages for _, done in results] == [30, 1, 30, 1]
    assert not renderers()


async def test_abandoning_a_render_kills_its_children(pool, make_pdf, tmp_path):
    events = pool.render(make_pdf([PARAGRAPH] * 40), tmp_path / "out", Limits(widths=SMALL))
    async with asyncio.timeout(HANG):
        await anext(events)
        await events.aclose()
    assert not renderers()


async def test_grey_pages_are_one_channel_and_colour_pages_stay_colour(pool, make_pdf, tmp_path):
    path = make_pdf([PARAGRAPH, PARAGRAPH])
    doc = pymupdf.open(path)
    doc[1].draw_rect(pymupdf.Rect(300, 600, 500, 780), color=(0.8, 0, 0), fill=(0.9, 0.2, 0.2))
    doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP)
    out = tmp_path / "out"

    pages, _ = await render_all(pool, path, out)

    modes = [{size: Image.open(out / f"{digest}.jpg").mode for size, digest in page.images.items()} for page in pages]
    assert modes == [dict.fromkeys(("tablet", "zoom", "thumb"), "L"), dict.fromkeys(("tablet", "zoom", "thumb"), "RGB")]


async def test_children_lower_their_priority_after_the_first_page(make_pdf, tmp_path):
    own = os.getpriority(os.PRIO_PROCESS, 0)
    doc = make_pdf([PARAGRAPH] * 10)
    for limits, expected in [(Limits(widths=SMALL), own + 5), (Limits(widths=SMALL, nice=0), own)]:
        async with RenderPool(workers=1) as pool:
            events = pool.render(doc, tmp_path / "out", limits)
            async with asyncio.timeout(HANG):
                async for event in events:
                    if event.index == 3:  # the child has rendered pages 2 and 3, and waits for more
                        assert [os.getpriority(os.PRIO_PROCESS, p.pid) for p in renderers()] == [expected]
                        break
            await events.aclose()


async def test_a_spare_child_waits_for_the_next_document_and_goes_with_the_pool(make_pdf, tmp_path):
    def spares() -> list[int]:
        return [p.pid for p in multiprocessing.active_children() if p.name == "phonghop-render-spare"]

    def gone(pid: int) -> bool:  # exited and reaped
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    doc = make_pdf(["Giấy mời"])
    async with RenderPool(workers=1) as pool:
        [first] = spares()
        pages, _ = await render_all(pool, doc, tmp_path / "a", Limits(widths=SMALL))
        assert len(pages) == 1
        async with asyncio.timeout(HANG):
            while not gone(first) or len(spares()) != 1:  # it rendered the document and exited;
                await asyncio.sleep(0.01)  # another one started in its place
        [second] = spares()
    assert not spares() and not renderers() and gone(second)
