"""Comments on drafts (góp ý) and their triage, end to end: REST, socket.io, the snapshot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.conftest import World, add_document, new_key, wait_for


async def _run(world: World, who: str, name: str, **data) -> tuple[int, dict]:
    token = world.tokens[who]
    return await world.live.command(token, name, key=new_key(), meeting_id=world.meeting_id, **data)


async def _ok(world: World, who: str, name: str, **data) -> dict:
    status, body = await _run(world, who, name, **data)
    assert status == 200, (name, who, body)
    return body["result"]


async def _snapshot(world: World, who: str) -> dict:
    status, body = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
    assert status == 200, body
    return body


async def _units(world: World) -> dict[str, int]:
    status, body = await world.live.request("GET", "/api/units", token=world.tokens["vanphong"])
    return {u["code"]: u["id"] for u in body["units"]}


async def commune_account(world: World, username: str, full_name: str, unit_code: str) -> None:
    """An account of a commune that is not a participant of the meeting."""
    from server.auth.sessions import open_session
    from server.store.tables import Unit, User

    async with world.live.app["db"].write() as db:
        from sqlalchemy import select

        unit = await db.scalar(select(Unit).where(Unit.code == unit_code))
        user = User(username=username, full_name=full_name, password_hash=None, roles=[], unit_id=unit.id)
        db.add(user)
        await db.flush()
        world.users[username] = user.id
        world.tokens[username] = (await open_session(db, user, hours=1))["token"]


def _fields(body: dict) -> list[str]:
    assert body["error"]["code"] == "invalid", body
    return [d["field"] for d in body["error"]["details"]]


async def test_anchors_are_validated_field_by_field(world):
    await _ok(world, "vanphong", "meeting.publish")
    items = (await _snapshot(world, "vanphong"))["agenda"]
    doc = (await add_document(world, ["Phần I", "Phần II", "Phần III"]))["id"]
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Báo cáo chính trị", document_id=doc))["round"]
    bad = [
        ({"kind": "page", "document_id": doc, "page": 0}, "anchor.page.page"),
        ({"kind": "page", "document_id": doc, "page": 2, "region": {"x": 0.5, "y": 0.1, "w": 0.6, "h": 0.1}},
         "anchor.page.region"),
        ({"kind": "page", "document_id": doc, "page": 2, "region": {"x": -0.1, "y": 0.1, "w": 0.2, "h": 0.1}},
         "anchor.page.region.x"),
        ({"kind": "page", "document_id": 0, "page": 1}, "anchor.page.document_id"),
        ({"kind": "page", "document_id": doc + 1000, "page": 1}, "anchor.document_id"),  # not this meeting's
        ({"kind": "page", "document_id": doc, "page": 4}, "anchor.page"),  # it has three pages
        ({"kind": "passage", "quote": "   "}, "anchor.passage.quote"),
        ({"kind": "item", "agenda_item_id": 999999}, "anchor.agenda_item_id"),
        ({"kind": "đoạn", "quote": "x"}, "anchor"),
    ]
    for anchor, field in bad:
        status, body = await _run(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Ý kiến")
        assert status == 422 and field in _fields(body), (anchor, body)
    status, body = await _run(world, "daibieu01", "comment.add", round_id=rnd["id"],
                              anchor={"kind": "passage", "quote": "tăng trưởng"}, text="  ")
    assert status == 422 and _fields(body) == ["text"]

    page = (await _ok(world, "daibieu01", "comment.add", round_id=rnd["id"], section="Phần I",
                      anchor={"kind": "page", "document_id": doc, "page": 3,
                              "region": {"x": 0.7, "y": 0.2, "w": 0.3, "h": 0.1}},
                      text="Cần bổ sung số liệu năm 2025"))["comment"]
    assert page["anchor"] == {"kind": "page", "document_id": doc, "page": 3,
                              "region": {"x": 0.7, "y": 0.2, "w": 0.3, "h": 0.1}}
    assert page["author"] == {"user_id": world.users["daibieu01"], "name": "Phạm Thị Bình", "unit_id": world.unit_id}
    assert page["visibility"] == "secretariat" and page["decision"] is None
    passage = (await _ok(world, "daibieu02", "comment.add", round_id=rnd["id"],
                         anchor={"kind": "passage", "quote": " phấn đấu tăng trưởng 8% "},
                         text="", proposed_text="phấn đấu tăng trưởng 10%"))["comment"]
    # The round's draft is the passage's document; the quote is trimmed.
    assert passage["anchor"] == {"kind": "passage", "quote": "phấn đấu tăng trưởng 8%", "document_id": doc, "page": None}
    assert passage["proposed_text"] == "phấn đấu tăng trưởng 10%"
    item = (await _ok(world, "daibieu03", "comment.add", anchor={"kind": "item", "agenda_item_id": items[1]["id"]},
                      text="Đề nghị rút ngắn thời gian trình bày"))["comment"]
    assert item["round_id"] is None and item["agenda_item_id"] == items[1]["id"]
    assert item["section"] == "Báo cáo chính trị"  # the item's title, for the summary table


async def test_the_deadline_is_enforced(world):
    await _ok(world, "vanphong", "meeting.publish")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, body = await _run(world, "vanphong", "comment_round.open", title="Quá hạn", deadline=past)
    assert status == 422 and _fields(body) == ["deadline"]
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Lấy ý kiến nhanh", deadline=soon))["round"]
    assert rnd["deadline"].endswith("Z") and rnd["state"] == "open"
    anchor = {"kind": "passage", "quote": "Điều 3"}
    await _ok(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Kịp hạn")
    await asyncio.sleep(1.6)
    status, body = await _run(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Muộn")
    assert status == 409 and body["error"]["details"]["reason"] == "deadline_passed"
    assert len((await _snapshot(world, "vanphong"))["comments"]) == 1


async def test_a_round_addressed_to_a_commune_reaches_its_accounts_only(world):
    units = await _units(world)
    await commune_account(world, "xa.tiendu", "Lý Văn Tiên", "BN-TD")
    await commune_account(world, "xa.quevo", "Mai Thị Quế", "BN-QV")
    # Before the meeting is published: the consultation of the communes runs on a draft.
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Nghị quyết về nông thôn mới",
                     units=[units["BN-TD"]]))["round"]
    assert rnd["units"] == [units["BN-TD"]]
    xa = await world.live.socket(world.tokens["xa.tiendu"])
    try:
        anchor = {"kind": "passage", "quote": "xây dựng nông thôn mới"}
        c = (await _ok(world, "xa.tiendu", "comment.add", round_id=rnd["id"], anchor=anchor,
                       text="Đề nghị bổ sung tiêu chí về môi trường"))["comment"]
        assert c["author"] == {"user_id": world.users["xa.tiendu"], "name": "Lý Văn Tiên", "unit_id": units["BN-TD"]}
        # The author hears of it on their own channel, with no meeting to join.
        await wait_for(lambda: any(e["data"]["comment"]["id"] == c["id"] for e in xa.received))
        assert {e["audience"] for e in xa.received} == {f"user:{world.users['xa.tiendu']}"}
        for who in ("xa.quevo", "nguoingoai", "admin"):
            status, body = await _run(world, who, "comment.add", round_id=rnd["id"], anchor=anchor, text="Ý kiến")
            assert status == 403 and body["error"]["code"] == "forbidden", who
        # A delegate cannot read the draft meeting, so cannot comment on it yet.
        status, body = await _run(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Ý kiến")
        assert status == 403
        # Once published, the participants comment too.
        await _ok(world, "vanphong", "meeting.publish")
        await _ok(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Ý kiến đại biểu")
        status, body = await _run(world, "quansat", "comment.add", round_id=rnd["id"], anchor=anchor, text="Ý kiến")
        assert status == 403  # observers watch
        # A round addressed to the province reaches its communes.
        wide = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Văn kiện",
                          units=[world.unit_id]))["round"]
        c = (await _ok(world, "xa.quevo", "comment.add", round_id=wide["id"], anchor=anchor, text="Từ Quế Võ"))["comment"]
        assert c["author"]["unit_id"] == units["BN-QV"]
        await _ok(world, "nguoingoai", "comment.add", round_id=wide["id"], anchor=anchor, text="Từ tỉnh")
        # A round for the participants only does not reach outsiders.
        own = (await _ok(world, "vanphong", "comment_round.open", title="Trong hội trường"))["round"]
        status, _ = await _run(world, "xa.quevo", "comment.add", round_id=own["id"], anchor=anchor, text="Ý kiến")
        assert status == 403
        status, _ = await _run(world, "vanphong", "comment_round.open", title="Đơn vị lạ", units=[999999])
        assert status == 404
    finally:
        await xa.disconnect()


async def test_a_delegate_never_sees_another_delegates_secretariat_comment(world):
    await _ok(world, "vanphong", "meeting.publish")
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Quy chế làm việc"))["round"]
    sockets = {}
    try:
        for who in ("daibieu01", "daibieu02", "vanphong", "chutri"):
            sockets[who] = await world.live.socket(world.tokens[who])
            ack = await sockets[who].call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
            assert ack["ok"], ack
        head = (await _snapshot(world, "vanphong"))["head"]
        anchor = {"kind": "passage", "quote": "Điều 7"}
        private = (await _ok(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor,
                             text="Góp ý riêng cho văn phòng"))["comment"]
        public = (await _ok(world, "daibieu02", "comment.add", round_id=rnd["id"], anchor=anchor,
                            text="Góp ý công khai", visibility="all"))["comment"]

        def ids(who: str) -> set[int]:
            return {e["data"]["comment"]["id"] for e in sockets[who].received if e["type"] == "comment.updated"}

        await wait_for(lambda: ids("vanphong") == {private["id"], public["id"]})
        await wait_for(lambda: ids("chutri") == {private["id"], public["id"]})
        await wait_for(lambda: ids("daibieu01") == {private["id"], public["id"]})
        await wait_for(lambda: public["id"] in ids("daibieu02"))
        await asyncio.sleep(0.3)
        assert ids("daibieu02") == {public["id"]}
        # The triage goes to the author and the secretariat, and still not to other delegates.
        await _ok(world, "vanphong", "comment.triage", comment_id=private["id"], decision="accepted")
        await wait_for(lambda: any(e["data"].get("comment", {}).get("decision") == "accepted"
                                    for e in sockets["daibieu01"].received))
        await asyncio.sleep(0.3)
        assert ids("daibieu02") == {public["id"]}

        def visible(snap: dict) -> set[int]:
            return {c["id"] for c in snap["comments"]}

        assert visible(await _snapshot(world, "daibieu02")) == {public["id"]}
        assert visible(await _snapshot(world, "daibieu01")) == {private["id"], public["id"]}
        assert visible(await _snapshot(world, "khach")) == {public["id"]}
        assert visible(await _snapshot(world, "vanphong")) == {private["id"], public["id"]}
        assert visible(await _snapshot(world, "chutri")) == {private["id"], public["id"]}
        assert [r["title"] for r in (await _snapshot(world, "daibieu02"))["comment_rounds"]] == ["Dự thảo Quy chế làm việc"]
        # Nor does the catch-up after a drop carry it.
        status, body = await world.live.request(
            "GET", f"/api/meetings/{world.meeting_id}/events?since={head}", token=world.tokens["daibieu02"])
        assert status == 200
        seen = {e["data"]["comment"]["id"] for e in body["events"] if e["type"] == "comment.updated"}
        assert seen == {public["id"]}
    finally:
        for client in sockets.values():
            await client.disconnect()


async def test_triage_until_the_round_closes(world):
    await _ok(world, "vanphong", "meeting.publish")
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Chương trình hành động"))["round"]
    anchor = {"kind": "passage", "quote": "giai đoạn 2026-2030"}
    a = (await _ok(world, "daibieu01", "comment.add", round_id=rnd["id"], anchor=anchor, text="Sửa mốc thời gian"))
    b = (await _ok(world, "daibieu02", "comment.add", round_id=rnd["id"], anchor=anchor, text="Thêm nhiệm vụ"))
    a, b = a["comment"]["id"], b["comment"]["id"]

    for who in ("daibieu01", "chutri"):
        status, body = await _run(world, who, "comment.triage", comment_id=a, decision="accepted")
        assert status == 403, who
    status, body = await _run(world, "vanphong", "comment.triage", comment_id=a, decision="explained")
    assert status == 422 and _fields(body) == ["explanation"]
    status, body = await _run(world, "vanphong", "comment.triage", comment_id=a, decision="rejected")
    assert status == 422 and _fields(body) == ["decision"]
    c = (await _ok(world, "thuky", "comment.triage", comment_id=a, decision="explained",
                   explanation=" Mốc thời gian theo Nghị quyết Đại hội "))["comment"]
    assert (c["decision"], c["explanation"]) == ("explained", "Mốc thời gian theo Nghị quyết Đại hội")
    # Re-triage is allowed while the round is open.
    c = (await _ok(world, "vanphong", "comment.triage", comment_id=a, decision="accepted"))["comment"]
    assert (c["decision"], c["explanation"]) == ("accepted", "")

    status, body = await _run(world, "vanphong", "comment_round.close", round_id=rnd["id"])
    assert status == 409 and body["error"]["details"] == {"reason": "untriaged_comments", "pending": 1}
    await _ok(world, "vanphong", "comment.triage", comment_id=b, decision="noted")
    closed = (await _ok(world, "vanphong", "comment_round.close", round_id=rnd["id"]))["round"]
    assert closed["state"] == "closed"
    status, body = await _run(world, "vanphong", "comment.triage", comment_id=b, decision="accepted")
    assert status == 409 and body["error"]["details"]["reason"] == "round_closed"
    status, body = await _run(world, "daibieu03", "comment.add", round_id=rnd["id"], anchor=anchor, text="Muộn")
    assert status == 409 and body["error"]["details"]["reason"] == "round_closed"
    snap = await _snapshot(world, "daibieu01")
    assert snap["comment_rounds"][0]["state"] == "closed"
    assert [(c["id"], c["decision"]) for c in snap["comments"]] == [(a, "accepted")]
