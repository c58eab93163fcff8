"""Documents end to end (docs/documents.md): upload, render, publish, read with
permission checks, watermarks, search, notes, revise, recall with purge receipts."""

from __future__ import annotations

import asyncio
import io
import unicodedata

import aiohttp
from PIL import Image, ImageChops

from tests.conftest import World, add_document, new_key, upload, wait_for
from tests.samples import make_pdf


async def _ok(world: World, who: str, name: str, **data) -> dict:
    status, body = await world.live.command(world.tokens[who], name, key=new_key(), meeting_id=world.meeting_id,
                                            **data)
    assert status == 200, (name, who, body)
    return body["result"]


async def get(world: World, who: str, path: str, **kwargs) -> tuple[int, dict | None]:
    return await world.live.request("GET", path, token=world.tokens[who], **kwargs)


async def fetch(world: World, who: str, url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    async with aiohttp.ClientSession() as http, http.get(
        world.live.url + url, headers={"Authorization": f"Bearer {world.tokens[who]}", **(headers or {})}
    ) as resp:
        return resp.status, await resp.read(), resp.headers


async def pages_of(world: World, who: str, document_id: int) -> dict:
    status, body = await get(world, who, f"/api/documents/{document_id}/pages")
    assert status == 200, body
    return body


async def snapshot_documents(world: World, who: str) -> dict[int, dict]:
    status, body = await get(world, who, f"/api/meetings/{world.meeting_id}")
    assert status == 200, body
    return {d["id"]: d for d in body["documents"]}


async def test_publish_notifies_tablets_and_pages_are_served_to_readers_only(world):
    await _ok(world, "vanphong", "meeting.publish")
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        joined = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert joined["ok"] and joined["snapshot"]["documents"] == []
        document = await add_document(world, ["Báo cáo chính trị", "Trang hai", "Trang ba"], title="Báo cáo chính trị")
        # A draft: the staff see it, with its rendering; delegates do not.
        staff_view = (await snapshot_documents(world, "thuky"))[document["id"]]
        assert staff_view["status"] == "draft"
        assert staff_view["version"]["status"] == "ready" and staff_view["version"]["pages_total"] == 3
        assert document["id"] not in await snapshot_documents(world, "daibieu01")
        assert not [e for e in tablet.received if e["type"].startswith("document.")]
        status, _ = await get(world, "daibieu01", f"/api/documents/{document['id']}/pages")
        assert status == 404

        await _ok(world, "vanphong", "document.publish")
        await wait_for(lambda: any(e["type"] == "document.changed" for e in tablet.received))
        seen = next(e for e in tablet.received if e["type"] == "document.changed")["data"]["document"]
        assert seen["title"] == "Báo cáo chính trị" and seen["status"] == "published"
        assert "latest" not in seen  # the staff's view of versions is not sent to readers

        listing = await pages_of(world, "daibieu01", document["id"])
        assert listing["status"] == "ready" and [p["index"] for p in listing["pages"]] == [0, 1, 2]
        status, image, headers = await fetch(world, "daibieu01", listing["pages"][0]["tablet"])
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image)).width == 1280
        assert "immutable" in headers["Cache-Control"]
        # Cached copies are revalidated by ETag, and a Range serves part of the file.
        status, _, _ = await fetch(world, "daibieu01", listing["pages"][0]["tablet"],
                                   {"If-None-Match": headers["ETag"]})
        assert status == 304
        status, part, part_headers = await fetch(world, "daibieu01", listing["pages"][0]["tablet"],
                                                 {"Range": "bytes=0-99"})
        assert status == 206 and part == image[:100]
        assert part_headers["Content-Range"] == f"bytes 0-99/{len(image)}"
        status, tail, _ = await fetch(world, "daibieu01", listing["pages"][0]["tablet"], {"Range": "bytes=-10"})
        assert status == 206 and tail == image[-10:]
        status, _, _ = await fetch(world, "daibieu01", listing["pages"][0]["tablet"],
                                   {"Range": f"bytes={len(image) + 5}-"})
        assert status == 416
        # Someone outside the meeting, an unknown hash, a forged version: 404, no token: 401.
        status, _, _ = await fetch(world, "nguoingoai", listing["pages"][0]["tablet"])
        assert status == 404
        status, _, _ = await fetch(world, "daibieu01", f"/api/pages/{listing['version_id']}/{'0' * 64}.jpg")
        assert status == 404
        status, _, _ = await fetch(world, "daibieu01", listing["pages"][0]["tablet"].replace(
            f"/{listing['version_id']}/", f"/{listing['version_id'] + 99}/"))
        assert status == 404
        async with aiohttp.ClientSession() as http, http.get(world.live.url + listing["pages"][0]["tablet"]) as r:
            assert r.status == 401
    finally:
        await tablet.disconnect()


async def test_restricted_and_confidential_documents_are_invisible_to_others(world):
    await _ok(world, "vanphong", "meeting.publish")
    sockets = {u: await world.live.socket(world.tokens[u]) for u in ("daibieu01", "daibieu02", "khach")}
    try:
        for s in sockets.values():
            assert (await s.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        restricted = await add_document(world, ["Phương án nhân sự"], title="Phương án nhân sự",
                                        access="restricted",
                                        readers={"participant_ids": [world.participants["daibieu01"]]})
        confidential = await add_document(world, ["Đề án mật"], title="Đề án mật", access="confidential",
                                          readers={"roles": ["delegate"]})
        await _ok(world, "vanphong", "document.publish")
        await wait_for(lambda: len([e for e in sockets["daibieu01"].received if e["type"] == "document.changed"]) == 2)
        await wait_for(lambda: any(e["type"] == "document.changed" for e in sockets["daibieu02"].received))
        await asyncio.sleep(0.3)  # anything else on its way arrives too
        titles = {u: {e["data"]["document"]["title"] for e in s.received if e["type"] == "document.changed"}
                  for u, s in sockets.items()}
        assert titles == {"daibieu01": {"Phương án nhân sự", "Đề án mật"}, "daibieu02": {"Đề án mật"}, "khach": set()}
        assert confidential["classification"] == "Mật"

        assert set(await snapshot_documents(world, "daibieu01")) == {restricted["id"], confidential["id"]}
        assert set(await snapshot_documents(world, "daibieu02")) == {confidential["id"]}
        assert await snapshot_documents(world, "khach") == {}
        assert set(await snapshot_documents(world, "chutri")) == {restricted["id"], confidential["id"]}
        status, _ = await get(world, "khach", f"/api/documents/{restricted['id']}/pages")
        assert status == 404
        page = (await pages_of(world, "daibieu01", restricted["id"]))["pages"][0]["tablet"]
        status, _, _ = await fetch(world, "daibieu02", page)
        assert status == 404
        # Search and the offline manifest keep the same rule.
        status, body = await get(world, "khach", f"/api/meetings/{world.meeting_id}/search?q=nhan su")
        assert status == 200 and body["hits"] == []
        status, body = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/search?q=nhan su")
        assert [h["document_id"] for h in body["hits"]] == [restricted["id"]]
        status, body = await get(world, "daibieu02", f"/api/meetings/{world.meeting_id}/manifest")
        assert [d["id"] for d in body["documents"]] == [confidential["id"]]

        # Narrowing a published document: the whole meeting is told to drop it; its readers get it back.
        await _ok(world, "vanphong", "document.update", document_id=confidential["id"],
                  readers={"participant_ids": [world.participants["daibieu01"]]})
        await wait_for(lambda: any(e["type"] == "document.hidden" for e in sockets["daibieu02"].received))
        assert set(await snapshot_documents(world, "daibieu02")) == set()
        status, _, _ = await fetch(world, "daibieu02", (await pages_of(world, "daibieu01", confidential["id"]))
                                   ["pages"][0]["tablet"])
        assert status == 404
    finally:
        for s in sockets.values():
            await s.disconnect()


async def test_confidential_pages_carry_each_readers_watermark(world):
    await _ok(world, "vanphong", "meeting.publish")
    plain = await add_document(world, ["Văn bản thường"], title="Thường")
    secret = await add_document(world, ["Văn bản thường"], title="Mật", access="confidential",
                                classification="Tối mật")
    await _ok(world, "vanphong", "document.publish")
    plain_url = (await pages_of(world, "daibieu01", plain["id"]))["pages"][0]["tablet"]
    secret_url = (await pages_of(world, "daibieu01", secret["id"]))["pages"][0]["tablet"]
    assert plain_url.split("/")[-1] == secret_url.split("/")[-1]  # the same rendered page...
    _, original, _ = await fetch(world, "daibieu01", plain_url)
    _, mine, my_headers = await fetch(world, "daibieu01", secret_url)
    _, theirs, their_headers = await fetch(world, "daibieu02", secret_url)
    _, again, _ = await fetch(world, "daibieu01", secret_url)
    # ...but each reader gets their own, marked copy, the same one every time.
    assert len({original, mine, theirs}) == 3 and again == mine
    assert my_headers["ETag"] != their_headers["ETag"]

    def marked_share(a: bytes, b: bytes, box: tuple[int, int, int, int]) -> float:
        """The share of pixels in `box` that the watermark visibly changed."""
        x, y = (Image.open(io.BytesIO(v)).convert("L").crop(box) for v in (a, b))
        changed = ImageChops.difference(x, y).point(lambda p: 255 if p > 24 else 0)
        return changed.histogram()[255] / (changed.width * changed.height)

    # The mark covers the page, not only a corner: a cropped photo of any part carries it.
    width, height = Image.open(io.BytesIO(mine)).size
    for row in range(3):
        for col in range(3):
            box = (col * width // 3, row * height // 3, (col + 1) * width // 3, (row + 1) * height // 3)
            assert marked_share(original, mine, box) > 0.01, box
    # The staff can tell whose copy a photographed page is.
    status, codes = await get(world, "thuky", f"/api/documents/{secret['id']}/reader-codes")
    by_name = {r["full_name"]: r["code"] for r in codes["readers"]}
    assert my_headers["ETag"].strip('"').endswith(by_name["Phạm Thị Bình"])
    assert their_headers["ETag"].strip('"').endswith(by_name["Hoàng Văn Cường"])
    status, _ = await get(world, "daibieu01", f"/api/documents/{secret['id']}/reader-codes")
    assert status == 403
    top = Image.open(io.BytesIO(mine)).convert("RGB").crop((400, 0, 880, 160))
    assert any(r > 150 and g < 90 and b < 90 for r, g, b in top.get_flattened_data())  # the red classification mark


async def test_search_ignores_diacritics_and_finds_the_page(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Mở đầu", "Báo cáo chính trị của Ban Chấp hành", "Đường lối đổi mới"],
                                  title="Dự thảo")
    await _ok(world, "vanphong", "document.publish")
    status, body = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/search?q=bao cao chinh tri")
    assert status == 200
    assert [(h["document_id"], h["page"]) for h in body["hits"]] == [(document["id"], 1)]
    assert "Báo cáo chính trị" in body["hits"][0]["snippet"]
    status, body = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/search?q=DUONG LOI")
    assert [(h["page"], h["snippet"]) for h in body["hits"]] == [(2, "Đường lối đổi mới")]
    # LIKE's wildcards are searched for, not obeyed.
    status, body = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/search?q=%25%25")
    assert status == 200 and body["hits"] == []
    status, body = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/search?q=")
    assert status == 422


async def test_notes_are_private_and_reach_my_other_devices(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Trang một", "Trang hai"])
    await _ok(world, "vanphong", "document.publish")
    version_id = document["latest"]["id"]
    other_device = await world.live.socket(world.tokens["daibieu01"])
    notes_seen = []
    other_device.on("note", lambda m: notes_seen.append(m))
    stranger = await world.live.socket(world.tokens["daibieu02"])
    stranger_seen = []
    stranger.on("note", lambda m: stranger_seen.append(m))
    try:
        body = {"document_id": document["id"], "version_id": version_id, "page": 1, "kind": "text",
                "data": {"x": 0.2, "y": 0.3, "text": unicodedata.normalize("NFD", "Cần làm rõ số liệu")}}
        status, answer = await world.live.request("PUT", "/api/notes/ghi-chu-0001", token=world.tokens["daibieu01"],
                                                  json=body)
        assert status == 200, answer
        assert answer["note"]["data"]["text"] == "Cần làm rõ số liệu"  # stored as NFC
        await wait_for(lambda: notes_seen)
        assert notes_seen[0]["note"]["id"] == "ghi-chu-0001" and notes_seen[0]["deleted"] is False
        ink = {**body, "kind": "ink", "data": {"strokes": [[0.1, 0.1, 0.2, 0.25, 0.3, 0.3]], "color": "#c00",
                                               "width": 2}}
        status, _ = await world.live.request("PUT", "/api/notes/net-muc-0002", token=world.tokens["daibieu01"],
                                             json=ink)
        assert status == 200
        # A retry is harmless, and the same id from another account is another note.
        status, _ = await world.live.request("PUT", "/api/notes/net-muc-0002", token=world.tokens["daibieu01"],
                                             json=ink)
        assert status == 200
        status, body_b = await world.live.request("PUT", "/api/notes/ghi-chu-0001", token=world.tokens["daibieu02"],
                                                  json={**body, "data": {"x": 0, "y": 0, "text": "Của tôi"}})
        assert status == 200
        status, mine = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/notes")
        assert sorted(n["id"] for n in mine["notes"]) == ["ghi-chu-0001", "net-muc-0002"]
        assert next(n for n in mine["notes"] if n["id"] == "ghi-chu-0001")["data"]["text"] == "Cần làm rõ số liệu"
        for who in ("daibieu02", "thuky", "vanphong"):
            status, theirs = await get(world, who, f"/api/meetings/{world.meeting_id}/notes")
            assert all(n["data"].get("text") != "Cần làm rõ số liệu" for n in theirs["notes"]), who
        assert all(m["note"]["data"].get("text") != "Cần làm rõ số liệu" for m in stranger_seen)
        # Bad notes get clear errors.
        for bad in ({**body, "page": 7}, {**body, "kind": "doodle"}, {**body, "data": {"x": 2, "y": 0, "text": "x"}},
                    {**body, "data": {"x": 0, "y": 0, "text": "x" * 70_000}}):
            status, error = await world.live.request("PUT", "/api/notes/ghi-chu-0003", token=world.tokens["daibieu01"],
                                                     json=bad)
            assert status in (413, 422) and error["error"]["code"] in ("invalid", "too_large"), bad
        status, _ = await world.live.request("PUT", "/api/notes/../../x", token=world.tokens["daibieu01"], json=body)
        assert status in (404, 422)
        status, _ = await world.live.request("DELETE", "/api/notes/ghi-chu-0001", token=world.tokens["daibieu01"])
        assert status == 200
        await wait_for(lambda: any(m["deleted"] for m in notes_seen))
        status, mine = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/notes")
        assert [n["id"] for n in mine["notes"]] == ["net-muc-0002"]
    finally:
        await other_device.disconnect()
        await stranger.disconnect()


async def test_a_new_version_replaces_the_old_one_on_tablets(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Dự thảo lần 1"], title="Nghị quyết")
    await _ok(world, "vanphong", "document.publish")
    old = await pages_of(world, "daibieu01", document["id"])
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        assert (await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        status, body = await upload(world, make_pdf(["Dự thảo lần 2", "Phụ lục"]), "Nghị quyết v2.pdf")
        revised = await _ok(world, "vanphong", "document.revise", document_id=document["id"],
                            upload_id=body["upload"]["id"])
        assert revised["number"] == 2
        await world.live.app["renderer"].wait(revised["version_id"])
        await wait_for(lambda: any(e["type"] == "document.changed" and e["data"].get("revised")
                                   for e in tablet.received))
        new = await pages_of(world, "daibieu01", document["id"])
        assert new["version_id"] == revised["version_id"] and len(new["pages"]) == 2
        # The old version stays in the record for the staff; readers no longer get it.
        status, _, _ = await fetch(world, "daibieu01", old["pages"][0]["tablet"])
        assert status == 404
        status, _, _ = await fetch(world, "thuky", old["pages"][0]["tablet"])
        assert status == 200
        staff = (await snapshot_documents(world, "thuky"))[document["id"]]
        assert staff["version"]["number"] == 2 and staff["latest"]["number"] == 2
    finally:
        await tablet.disconnect()


async def test_recall_makes_pages_gone_and_collects_purge_receipts(world):
    await _ok(world, "vanphong", "meeting.publish")
    first = await add_document(world, ["Tài liệu một"], title="Một")
    second = await add_document(world, ["Tài liệu hai"], title="Hai")
    await _ok(world, "vanphong", "document.publish")
    page = (await pages_of(world, "daibieu01", first["id"]))["pages"][0]["tablet"]
    await pages_of(world, "daibieu02", first["id"])
    status, manifest = await get(world, "daibieu03", f"/api/meetings/{world.meeting_id}/manifest")
    assert {d["id"] for d in manifest["documents"]} == {first["id"], second["id"]}

    recall = await _ok(world, "vanphong", "document.recall", document_ids=[first["id"]])
    assert recall["document_ids"] == [first["id"]]
    status, body, _ = await fetch(world, "daibieu01", page)
    assert status == 410
    assert first["id"] not in await snapshot_documents(world, "daibieu01")
    assert second["id"] in await snapshot_documents(world, "daibieu01")
    assert (await snapshot_documents(world, "thuky"))[first["id"]]["status"] == "recalled"
    status, _, _ = await fetch(world, "thuky", page)
    assert status == 410
    status, manifest = await get(world, "daibieu03", f"/api/meetings/{world.meeting_id}/manifest")
    assert manifest["recalled_document_ids"] == [first["id"]]

    status, body = await get(world, "thuky", f"/api/meetings/{world.meeting_id}/recalls")
    [row] = body["recalls"]
    assert {h["full_name"]: h["confirmed_at"] for h in row["holders"]} == {
        "Phạm Thị Bình": None, "Hoàng Văn Cường": None, "Đỗ Thị Dung": None}
    secretariat = await world.live.socket(world.tokens["thuky"])
    try:
        assert (await secretariat.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        await _ok(world, "daibieu01", "document.purge_confirm", recall_id=recall["recall_id"])
        await _ok(world, "daibieu01", "document.purge_confirm", recall_id=recall["recall_id"])  # a retry
        await wait_for(lambda: any(e["type"] == "document.purge_confirmed" for e in secretariat.received))
    finally:
        await secretariat.disconnect()
    status, body = await get(world, "thuky", f"/api/meetings/{world.meeting_id}/recalls")
    holders = {h["full_name"]: h["confirmed_at"] for h in body["recalls"][0]["holders"]}
    assert holders["Phạm Thị Bình"] is not None and holders["Hoàng Văn Cường"] is None
    status, _ = await get(world, "daibieu01", f"/api/meetings/{world.meeting_id}/recalls")
    assert status == 403
    # Recalling all takes what is left; nothing left is a clear refusal.
    assert (await _ok(world, "vanphong", "document.recall"))["document_ids"] == [second["id"]]
    status, body = await world.live.command(world.tokens["vanphong"], "document.recall", meeting_id=world.meeting_id)
    assert status == 409 and body["error"]["code"] == "invalid_transition"


async def test_bad_uploads_are_refused_clearly(world):
    await _ok(world, "vanphong", "meeting.publish")
    status, body = await upload(world, make_pdf(["x"]), "Báo cáo.pdf", who="daibieu01")
    assert status == 403
    status, body = await upload(world, b"GIF89a not a pdf", "anh.pdf")
    assert status == 415 and body["error"]["code"] == "unsupported_type"
    status, body = await upload(world, make_pdf(["x"]), "bang-tinh.docx")
    assert status == 415 and body["error"]["code"] == "type_mismatch"
    status, body = await upload(world, b"", "rong.pdf")
    assert status == 422
    # An NFD name with path separators is kept readable, as NFC, and harmless.
    pdf = make_pdf(["x"])
    status, body = await upload(world, pdf, unicodedata.normalize("NFD", "../../Nghị quyết 01/NQ-TU.pdf"))
    assert status == 201, body
    assert body["upload"]["filename"] == "Nghị quyết 01-NQ-TU.pdf"
    # The same bytes are stored once.
    status, again = await upload(world, pdf, "khac.pdf")
    assert again["upload"]["sha256"] == body["upload"]["sha256"]
    files = world.live.app["files"]
    assert files.blob(body["upload"]["sha256"]).read_bytes() == pdf
    assert list(files.tmp.iterdir()) == []


async def test_too_large_an_upload_is_refused_and_nothing_is_kept(live, tmp_path):
    from tests.conftest import build_world

    world = await build_world(live)
    live.app["settings"].__dict__["max_upload_mb"] = 1  # frozen dataclass: a test-only override
    big = b"%PDF-1.7\n" + b"0" * (2 * 2**20)

    async def chunks():
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    status, body = await live.request("POST", f"/api/meetings/{world.meeting_id}/uploads?filename=lon.pdf",
                                      token=world.tokens["vanphong"], data=chunks())
    assert status == 413 and body["error"]["code"] == "too_large"
    files = live.app["files"]
    assert list(files.tmp.iterdir()) == [] and not any(files.blobs.rglob("*"))


async def test_a_broken_file_ends_as_a_failed_version_with_a_typed_error(world):
    broken = make_pdf(["x"])[:400]  # truncated: the header is fine, the rest is gone
    status, body = await upload(world, broken, "hong.pdf")
    assert status == 201
    document = (await _ok(world, "vanphong", "document.add", upload_id=body["upload"]["id"]))["document"]
    await world.live.app["renderer"].wait(document["latest"]["id"])
    latest = (await snapshot_documents(world, "thuky"))[document["id"]]["latest"]
    assert latest["status"] in ("failed", "ready")
    if latest["status"] == "failed":
        assert latest["error"]["code"] in ("corrupt", "crashed")


async def test_the_presenter_page_reaches_the_hall(world):
    await _ok(world, "vanphong", "meeting.publish")
    document = await add_document(world, ["Một", "Hai"])
    status, body = await world.live.command(world.tokens["chutri"], "document.present", meeting_id=world.meeting_id,
                                            document_id=document["id"], page=1)
    assert status == 409  # a draft is not shown to the hall
    await _ok(world, "vanphong", "document.publish")
    await _ok(world, "chutri", "document.present", document_id=document["id"], page=1)
    status, snap = await get(world, "daibieu02", f"/api/meetings/{world.meeting_id}")
    assert snap["presenting"] == {"document_id": document["id"], "version_id": document["latest"]["id"], "page": 1}
    status, body = await world.live.command(world.tokens["chutri"], "document.present", meeting_id=world.meeting_id,
                                            document_id=document["id"], page=5)
    assert status == 404
    status, body = await world.live.command(world.tokens["daibieu01"], "document.present",
                                            meeting_id=world.meeting_id, document_id=document["id"], page=0)
    assert status == 403


async def test_pages_are_readable_as_soon_as_they_are_listed_while_the_rest_renders(world):
    await _ok(world, "vanphong", "meeting.publish")
    status, body = await upload(world, make_pdf([f"Trang {n}" for n in range(1, 41)]), "Dài.pdf")
    document = (await _ok(world, "vanphong", "document.add", upload_id=body["upload"]["id"]))["document"]
    await _ok(world, "vanphong", "document.publish", document_ids=[document["id"]])
    fetched: set[str] = set()
    rounds = 0
    while True:
        status, listing = await get(world, "daibieu01", f"/api/documents/{document['id']}/pages")
        assert status == 200, listing
        for page in listing["pages"]:
            if page["tablet"] not in fetched:
                status, _, _ = await fetch(world, "daibieu01", page["tablet"])
                assert status == 200, (page, listing["pages_ready"], listing["status"])
                fetched.add(page["tablet"])
        rounds += 1
        if listing["status"] != "rendering":
            break
        await asyncio.sleep(0.05)
    assert listing["status"] == "ready" and len(fetched) == 40
    assert rounds > 1  # the pages were read while the document was still rendering
