"""Zoom images made on first request (docs/documents.md, "Reading pages"): the page list's
zoom URL, the same permission rule as every page image, one render per image, watermarks."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from sqlalchemy import select

from agendas.rendering import RenderError
from server.store.tables import DocumentPage
from tests.conftest import World, add_document, new_key
from tests.test_documents import _ok, fetch, get, pages_of


async def _zoom_rows(world: World, version_id: int) -> list[str]:
    async with world.live.app["db"].read() as db:
        return list((await db.scalars(select(DocumentPage.zoom).where(DocumentPage.version_id == version_id)
                                      .order_by(DocumentPage.index))).all())


def _count_renders(world: World) -> list[int]:
    pool = world.live.app["renderer"].pool
    calls: list[int] = []
    original = pool.render_page

    async def counting(path, out_dir, index, *args, **kwargs):
        calls.append(index)
        return await original(path, out_dir, index, *args, **kwargs)

    pool.render_page = counting
    return calls


async def test_zoom_is_made_on_first_request_then_served_like_any_page(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Báo cáo chính trị", "Trang hai"], title="Báo cáo")
    await _ok(world, "vanphong", "document.publish")
    listing = await pages_of(world, "daibieu01", document["id"])
    version_id = listing["version_id"]
    assert [p["zoom"] for p in listing["pages"]] == [f"/api/pages/{version_id}/zoom/{i}.jpg" for i in (0, 1)]
    assert await _zoom_rows(world, version_id) == ["", ""]  # not made when the file was added
    files = world.live.app["files"]
    source = document["latest"]["sha256"]
    assert not files.zoom(source, 0).exists()
    renders = _count_renders(world)

    url = listing["pages"][0]["zoom"]
    status, image, headers = await fetch(world, "daibieu01", url)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image)).width == 2400
    assert headers["ETag"] == f'"zoom-{source}-0"' and "immutable" in headers["Cache-Control"]
    assert files.zoom(source, 0).read_bytes() == image
    status, again, _ = await fetch(world, "daibieu02", url)
    assert status == 200 and again == image and renders == [0]  # kept: not rendered twice
    status, _, _ = await fetch(world, "daibieu01", url, {"If-None-Match": headers["ETag"]})
    assert status == 304
    status, part, part_headers = await fetch(world, "daibieu01", url, {"Range": "bytes=0-99"})
    assert status == 206 and part == image[:100] and part_headers["Content-Range"] == f"bytes 0-99/{len(image)}"

    # Concurrent first requests wait for one render.
    second = listing["pages"][1]["zoom"]
    answers = await asyncio.gather(*(fetch(world, who, second) for who in ("daibieu01", "daibieu02", "daibieu03")))
    assert {a[0] for a in answers} == {200} and len({a[1] for a in answers}) == 1 and renders == [0, 1]

    # Beyond the pages, or not a page number: 404.
    for bad in ("2.jpg", "01.jpg", "-1.jpg", "x.jpg", "0.png"):
        status, _, _ = await fetch(world, "daibieu01", f"/api/pages/{version_id}/zoom/{bad}")
        assert status == 404, bad
    # A reader of another meeting: 404.
    status, body = await world.live.command(
        world.tokens["vanphong"], "meeting.create", title="Hội nghị khác", unit_id=world.unit_id,
        place="Phòng họp 2", starts_at="2026-12-11T08:00:00+07:00", key=new_key())
    assert status == 200, body
    other = body["result"]["meeting"]["id"]
    status, body = await world.live.command(world.tokens["vanphong"], "participant.add", meeting_id=other,
                                            user_id=world.users["nguoingoai"], role="delegate", key=new_key())
    assert status == 200, body
    status, _, _ = await fetch(world, "nguoingoai", url)
    assert status == 404

    await _ok(world, "vanphong", "document.recall", document_ids=[document["id"]])
    for who in ("daibieu01", "thuky"):
        status, _, _ = await fetch(world, who, second)
        assert status == 410, who


async def test_a_confidential_zoom_carries_each_readers_watermark(world):
    await _ok(world, "vanphong", "meeting.publish")
    plain = await add_document(world, ["Văn bản thường"], title="Thường")
    secret = await add_document(world, ["Văn bản thường"], title="Mật", access="confidential")
    await _ok(world, "vanphong", "document.publish")
    plain_url = (await pages_of(world, "daibieu01", plain["id"]))["pages"][0]["zoom"]
    secret_url = (await pages_of(world, "daibieu01", secret["id"]))["pages"][0]["zoom"]
    _, original, _ = await fetch(world, "daibieu01", plain_url)
    _, mine, my_headers = await fetch(world, "daibieu01", secret_url)
    _, theirs, their_headers = await fetch(world, "daibieu02", secret_url)
    _, again, _ = await fetch(world, "daibieu01", secret_url)
    assert len({original, mine, theirs}) == 3 and again == mine
    assert {Image.open(io.BytesIO(b)).width for b in (original, mine, theirs)} == {2400}
    status, codes = await get(world, "thuky", f"/api/documents/{secret['id']}/reader-codes")
    by_name = {r["full_name"]: r["code"] for r in codes["readers"]}
    source = secret["latest"]["sha256"]
    assert my_headers["ETag"] == f'"zoom-{source}-0-{by_name["Phạm Thị Bình"]}"'
    assert their_headers["ETag"] == f'"zoom-{source}-0-{by_name["Hoàng Văn Cường"]}"'


async def test_a_failed_zoom_render_is_a_clear_error_and_is_tried_again_later(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Tờ trình"], title="Tờ trình")
    await _ok(world, "vanphong", "document.publish")
    url = (await pages_of(world, "daibieu01", document["id"]))["pages"][0]["zoom"]
    pool = world.live.app["renderer"].pool

    async def failing(*args, **kwargs):
        raise RenderError("timeout", "not rendered within 120 s")

    pool.render_page = failing
    status, body, headers = await fetch(world, "daibieu01", url)
    assert status == 503 and headers["Content-Type"].startswith("application/json")
    assert b'"timeout"' in body and b"Traceback" not in body
    del pool.render_page  # the class's own again
    status, image, _ = await fetch(world, "daibieu01", url)
    assert status == 200 and Image.open(io.BytesIO(image)).width == 2400
