"""Directives (docs/directives.md) against a real server: assigned from the chair's conclusion,
reported on by the people and units responsible (with evidence files), accepted, reopened;
who may report and who may see; bad input; a retried command; the lists, the dashboard,
"my tasks", the XLSX table; and the open directives brought back on the next meeting's agenda.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from datetime import date, timedelta
from urllib.parse import quote

import aiohttp

from server.domain import directives as rules
from server.domain.times import LOCAL
from server.store.tables import utcnow
from tests.conftest import TEST_PASSWORD, LiveApp, World, build_world, new_key, serving, wait_for
from tests.samples import make_pdf

REPORT = "Báo cáo chính trị"
CONCLUSION = "Giao Xã Tiên Du hoàn thiện hồ sơ nâng cấp đường liên xã, báo cáo trước ngày 31/12."


def today() -> date:
    return utcnow().astimezone(LOCAL).date()


@dataclasses.dataclass
class Units:
    province: int
    tien_du: int
    que_vo: int
    thon_dong: int  # a party cell under Tiên Du


async def add_people(world: World) -> Units:
    """Accounts in the communes, and a party cell under Tiên Du with its own account."""
    from sqlalchemy import select

    from server.auth.passwords import hash_password
    from server.auth.sessions import open_session
    from server.store.tables import Unit, User

    digest = await asyncio.to_thread(hash_password, TEST_PASSWORD)
    async with world.live.app["db"].write() as db:
        codes = dict((await db.execute(select(Unit.code, Unit.id))).all())
        cell = Unit(code="BN-TD-DONG", name="Chi bộ thôn Đông", level="Chi bộ", parent_id=codes["BN-TD"])
        db.add(cell)
        await db.flush()
        for username, full_name, unit in (("xatiendu", "Nguyễn Văn Tiến", codes["BN-TD"]),
                                          ("xaquevo", "Trần Thị Võ", codes["BN-QV"]),
                                          ("thondong", "Lê Văn Đông", cell.id)):
            user = User(username=username, full_name=full_name, password_hash=digest, roles=[], unit_id=unit)
            db.add(user)
            await db.flush()
            world.users[username] = user.id
            world.tokens[username] = (await open_session(db, user, hours=1))["token"]
    return Units(world.unit_id, codes["BN-TD"], codes["BN-QV"], cell.id)


async def call(world: World, who: str, name: str, key: str | None = None, **data) -> tuple[int, dict]:
    return await world.live.command(world.tokens[who], name, key=key or new_key(), **data)


async def ok(world: World, who: str, name: str, **data) -> dict:
    status, body = await call(world, who, name, **data)
    assert status == 200, (name, who, body)
    return body["result"]


async def get(world: World, who: str, path: str) -> tuple[int, dict]:
    return await world.live.request("GET", path, token=world.tokens[who])


async def open_meeting(world: World) -> dict[str, int]:
    """Published and in session, with the chair's conclusion on the political report."""
    m = world.meeting_id
    await ok(world, "vanphong", "meeting.publish", meeting_id=m)
    await ok(world, "chutri", "meeting.start", meeting_id=m)
    _, snap = await get(world, "vanphong", f"/api/meetings/{m}")
    items = {i["title"]: i["id"] for i in snap["agenda"]}
    await ok(world, "chutri", "conclusion.set", meeting_id=m, item_id=items[REPORT], text=CONCLUSION)
    return items


async def upload_evidence(world: World, who: str, directive_id: int, content: bytes, filename: str,
                          meeting_id: int | None = None, live: LiveApp | None = None) -> tuple[int, dict]:
    live = live or world.live
    path = (f"/api/meetings/{meeting_id or world.meeting_id}/directives/{directive_id}/evidence"
            f"?filename={quote(filename)}")
    return await live.request("POST", path, token=world.tokens[who], data=content)


async def fetch(live: LiveApp, path: str, token: str) -> tuple[int, bytes, dict]:
    async with aiohttp.ClientSession() as http, http.get(live.url + path,
                                                         headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


# ---------------------------------------------------------------- the life of a directive


async def test_a_conclusion_becomes_a_directive_that_is_reported_and_accepted(world):
    units = await add_people(world)
    m = world.meeting_id
    deadline = (today() + timedelta(days=20)).isoformat()
    # Not before the meeting has opened.
    status, body = await call(world, "vanphong", "directive.create", meeting_id=m, title="Sớm quá",
                              lead_unit_id=units.tien_du)
    assert status == 409 and body["error"]["code"] == "invalid_transition", body
    items = await open_meeting(world)

    created = (await ok(world, "thuky", "directive.create", meeting_id=m, agenda_item_id=items[REPORT],
                        title="Nâng cấp đường liên xã", lead_unit_id=units.tien_du,
                        coordinating_unit_ids=[units.que_vo], responsible_user_ids=[world.users["daibieu01"]],
                        deadline=deadline))["directive"]
    # The content is the chair's conclusion when none is typed.
    assert created["content"] == CONCLUSION
    assert created["agenda_item"] == {"id": items[REPORT], "number": "2", "title": REPORT}
    assert created["lead_unit"] == {"id": units.tien_du, "name": "Xã Tiên Du"}
    assert created["coordinating_units"] == [{"id": units.que_vo, "name": "Phường Quế Võ"}]
    assert created["responsible"] == [{"user_id": world.users["daibieu01"], "full_name": "Phạm Thị Bình"}]
    assert created["status"] == "new" and created["progress"] == 0 and created["deadline"] == deadline
    assert created["timeliness"] == {"overdue": False, "due_soon": False, "days_left": 20, "late": False}
    d = created["id"]

    # Who may report: the responsible person, the lead unit, a unit below it, a coordinating unit;
    # not the province above them, nor a delegate who is not responsible. The chair may not
    # create one.
    for outsider in ("nguoingoai", "daibieu02", "chutri"):
        status, body = await call(world, outsider, "directive.report", meeting_id=m, directive_id=d, percent=10,
                                  text="Không phải việc của tôi")
        assert status == 403 and body["error"]["code"] == "forbidden", (outsider, body)
    status, body = await call(world, "chutri", "directive.create", meeting_id=m, title="Chủ trì", lead_unit_id=units.province)
    assert status == 403
    progress = [("xatiendu", 30), ("thondong", 50), ("xaquevo", 60), ("daibieu01", 100)]
    for who, percent in progress:
        result = await ok(world, who, "directive.report", meeting_id=m, directive_id=d, percent=percent,
                          text=f"Đã thực hiện {percent}%")
        assert result["directive"]["progress"] == percent
        assert result["directive"]["status"] == ("reported" if percent == 100 else "in_progress")

    # The secretariat accepts; a finished directive takes no more reports until reopened.
    done = (await ok(world, "vanphong", "directive.accept", meeting_id=m, directive_id=d, note="Đạt yêu cầu"))
    assert done["directive"]["status"] == "completed" and done["directive"]["completed_at"]
    status, body = await call(world, "xatiendu", "directive.report", meeting_id=m, directive_id=d, percent=100,
                              text="Lần nữa")
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    status, body = await call(world, "xatiendu", "directive.accept", meeting_id=m, directive_id=d)
    assert status == 403
    reopened = await ok(world, "thuky", "directive.reopen", meeting_id=m, directive_id=d, note="Chưa đủ hồ sơ")
    assert reopened["directive"]["status"] == "in_progress" and reopened["directive"]["completed_at"] is None

    # The directive with its reports (newest first) and history, for someone who answers for it.
    status, body = await get(world, "thondong", f"/api/directives/{d}")
    assert status == 200, body
    assert [r["percent"] for r in body["reports"]] == [100, 60, 50, 30]
    assert body["reports"][-1]["by"] == {"user_id": world.users["xatiendu"], "full_name": "Nguyễn Văn Tiến"}
    assert body["reports"][-1]["unit"] == {"id": units.tien_du, "name": "Xã Tiên Du"}
    assert [h["action"] for h in body["history"]] == ["created", "reported", "reported", "reported", "reported",
                                                      "accepted", "reopened"]
    assert body["history"][-1]["note"] == "Chưa đủ hồ sơ" and body["history"][-1]["by"]["full_name"] == "Trần Thị Hoa"
    assert body["may"] == {"report": True, "manage": False}
    # Someone who does not answer for it does not see it.
    for outsider in ("nguoingoai", "daibieu02"):
        status, body = await get(world, outsider, f"/api/directives/{d}")
        assert status == 404, outsider
    # The chair follows the meeting's directives.
    status, body = await get(world, "chutri", f"/api/directives/{d}")
    assert status == 200 and body["may"] == {"report": False, "manage": False}

    # The log: each change for the secretariat and for the responsible person, never for the meeting.
    status, log = await get(world, "vanphong", f"/api/meetings/{m}/events?since=0")
    changes = [e for e in log["events"] if e["type"] == "directive.updated"]
    assert len(changes) == 7 and {e["audience"] for e in changes} == {"secretariat"}
    assert "timeliness" not in changes[0]["data"]["directive"]
    status, log = await get(world, "daibieu01", f"/api/meetings/{m}/events?since=0")
    mine = [e for e in log["events"] if e["type"] == "directive.updated"]
    assert len(mine) == 7 and {e["audience"] for e in mine} == {f"user:{world.users['daibieu01']}"}
    status, log = await get(world, "daibieu02", f"/api/meetings/{m}/events?since=0")
    assert not [e for e in log["events"] if e["type"].startswith("directive.")]


async def test_the_responsible_person_hears_of_it_at_once(world):
    units = await add_people(world)
    await open_meeting(world)
    client = await world.live.socket(world.tokens["xaquevo"])  # not a participant of the meeting
    try:
        await ok(world, "vanphong", "directive.create", meeting_id=world.meeting_id, title="Rà soát trụ sở",
                 lead_unit_id=units.que_vo, responsible_user_ids=[world.users["xaquevo"]])
        await wait_for(lambda: client.received)
        assert [e["type"] for e in client.received] == ["directive.updated"]
        assert client.received[0]["audience"] == f"user:{world.users['xaquevo']}"
    finally:
        await client.disconnect()


async def test_edits_are_kept_in_the_history_and_a_finished_directive_is_reopened_first(world):
    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    d = (await ok(world, "vanphong", "directive.create", meeting_id=m, title="Kiện toàn bộ máy",
                  lead_unit_id=units.province))["directive"]["id"]
    edited = (await ok(world, "vanphong", "directive.update", meeting_id=m, directive_id=d,
                       lead_unit_id=units.tien_du, coordinating_unit_ids=[units.que_vo, units.province],
                       deadline="2027-03-31", title="Kiện toàn bộ máy cấp xã"))["directive"]
    assert edited["lead_unit"]["id"] == units.tien_du and edited["deadline"] == "2027-03-31"
    assert [u["id"] for u in edited["coordinating_units"]] == [units.que_vo, units.province]
    cleared = (await ok(world, "vanphong", "directive.update", meeting_id=m, directive_id=d, deadline=None))
    assert cleared["directive"]["deadline"] is None
    _, body = await get(world, "vanphong", f"/api/directives/{d}")
    first, second = body["history"][1:]
    assert first["changes"]["lead_unit_id"] == [units.province, units.tien_du]
    assert first["changes"]["deadline"] == [None, "2027-03-31"]
    assert first["changes"]["title"] == ["Kiện toàn bộ máy", "Kiện toàn bộ máy cấp xã"]
    assert second["changes"] == {"deadline": ["2027-03-31", None]}
    await ok(world, "vanphong", "directive.cancel", meeting_id=m, directive_id=d, note="Trùng nhiệm vụ khác")
    status, body = await call(world, "vanphong", "directive.update", meeting_id=m, directive_id=d, title="Sửa")
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    assert (await ok(world, "vanphong", "directive.reopen", meeting_id=m, directive_id=d))["directive"]["status"] == "new"


# ---------------------------------------------------------------- evidence


async def test_evidence_is_uploaded_checked_attached_and_downloaded_by_those_who_see_it(world):
    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    d = (await ok(world, "vanphong", "directive.create", meeting_id=m, title="Nâng cấp đường",
                  lead_unit_id=units.tien_du))["directive"]["id"]
    pdf = make_pdf(["Biên bản nghiệm thu tuyến đường liên xã"])
    status, body = await upload_evidence(world, "xatiendu", d, pdf, "Biên bản nghiệm thu.pdf")
    assert status == 201, body
    evidence = body["evidence"]
    assert evidence["filename"] == "Biên bản nghiệm thu.pdf" and evidence["kind"] == "pdf"
    assert evidence["size"] == len(pdf) and evidence["report_id"] is None

    # Refused: a file that is not what it says, a file of no accepted type, an outsider's file.
    status, body = await upload_evidence(world, "xatiendu", d, b"<html><script>alert(1)</script></html>", "anh.pdf")
    assert status == 415 and body["error"]["code"] == "unsupported_type", body
    status, body = await upload_evidence(world, "xatiendu", d, pdf, "anh-chup.png")
    assert status == 415 and body["error"]["code"] == "type_mismatch", body
    status, body = await upload_evidence(world, "xatiendu", d, b"", "rong.pdf")
    assert status == 422, body
    status, body = await upload_evidence(world, "nguoingoai", d, pdf, "ngoai.pdf")
    assert status == 404, body  # a directive they may not see does not exist for them
    status, body = await upload_evidence(world, "daibieu01", d, pdf, "ngoai.pdf")
    assert status == 404, body
    files = world.live.app["files"]
    assert len([p for p in files.blobs.rglob("*") if p.is_file()]) == 1  # the refused ones were not kept

    # Before it is attached, the upload is its uploader's (and the secretariat's).
    path = f"/api/directives/{d}/evidence/{evidence['id']}"
    status, _, _ = await fetch(world.live, path, world.tokens["thondong"])
    assert status == 404
    # Another's upload cannot be attached.
    status, body = await call(world, "thondong", "directive.report", meeting_id=m, directive_id=d, percent=40,
                              text="Kèm biên bản", evidence_ids=[evidence["id"]])
    assert status == 404 and body["error"]["details"][0]["field"] == "evidence_ids.0", body
    result = await ok(world, "xatiendu", "directive.report", meeting_id=m, directive_id=d, percent=40,
                      text="Đã nghiệm thu giai đoạn 1", evidence_ids=[evidence["id"]])
    status, body = await call(world, "xatiendu", "directive.report", meeting_id=m, directive_id=d, percent=50,
                              text="Lại", evidence_ids=[evidence["id"]])
    assert status == 409, body  # already attached

    _, detail = await get(world, "thondong", f"/api/directives/{d}")
    [report] = [r for r in detail["reports"] if r["id"] == result["report_id"]]
    assert [e["id"] for e in report["evidence"]] == [evidence["id"]]
    for who in ("thondong", "vanphong", "chutri"):
        status, content, headers = await fetch(world.live, path, world.tokens[who])
        assert status == 200 and content == pdf, who
        assert headers["Content-Type"] == "application/pdf" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Content-SHA256"] == evidence["sha256"]
        assert "attachment" in headers["Content-Disposition"]
    for who in ("nguoingoai", "daibieu01"):
        status, _, _ = await fetch(world.live, path, world.tokens[who])
        assert status == 404, who
    # A finished directive takes no more evidence.
    await ok(world, "vanphong", "directive.accept", meeting_id=m, directive_id=d)
    status, body = await upload_evidence(world, "xatiendu", d, pdf, "muon.pdf")
    assert status == 409 and body["error"]["code"] == "invalid_transition"


async def test_evidence_larger_than_the_limit_is_refused(settings):
    async with serving(settings.with_overrides(max_upload_mb=1)) as live:
        world = await build_world(live)
        units = await add_people(world)
        await open_meeting(world)
        d = (await ok(world, "vanphong", "directive.create", meeting_id=world.meeting_id, title="Ảnh hiện trường",
                      lead_unit_id=units.tien_du))["directive"]["id"]
        big = b"\xff\xd8\xff\xe0" + b"\0" * (2 * 2**20)
        status, body = await upload_evidence(world, "xatiendu", d, big, "anh.jpg", live=live)
        assert status == 413 and body["error"]["code"] == "too_large", body
        _, detail = await get(world, "xatiendu", f"/api/directives/{d}")
        assert detail["pending_evidence"] == []


# ---------------------------------------------------------------- bad input, retries


async def test_bad_input_gets_a_clear_error_and_changes_nothing(world):
    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    good = {"meeting_id": m, "title": "Nhiệm vụ", "lead_unit_id": units.tien_du}
    cases = [
        ({**good, "lead_unit_id": None}, 422, "invalid"),  # nobody answers for it
        ({**good, "coordinating_unit_ids": [units.tien_du]}, 422, "invalid"),  # lead and coordinating
        ({**good, "deadline": "31/12/2026"}, 422, "invalid"),
        ({**good, "deadline": 20261231}, 422, "invalid"),
        ({**good, "deadline": "2026-02-30"}, 422, "invalid"),
        ({**good, "deadline": "3026-01-01"}, 422, "invalid"),
        ({**good, "title": ""}, 422, "invalid"),
        ({**good, "title": "a\x00b"}, 422, "invalid"),
        ({**good, "lead_unit_id": "5"}, 422, "invalid"),
        ({**good, "priority": "cao"}, 422, "invalid"),
        ({**good, "lead_unit_id": 999999}, 404, "not_found"),
        ({**good, "responsible_user_ids": [999999]}, 404, "not_found"),
        ({**good, "agenda_item_id": 999999}, 404, "not_found"),
    ]
    for data, status_wanted, code in cases:
        status, body = await world.live.command(world.tokens["vanphong"], "directive.create", **data)
        assert (status, body["error"]["code"]) == (status_wanted, code), (data, body)
    status, body = await world.live.command(world.tokens["vanphong"], "directive.create",
                                            **{**good, "deadline": "31/12/2026"})
    assert body["error"]["details"][0]["field"] == "deadline"
    _, listed = await get(world, "vanphong", f"/api/directives?meeting_id={m}")
    assert listed["directives"] == []

    d = (await ok(world, "vanphong", "directive.create", **good))["directive"]["id"]
    reports = [
        ({"percent": 150, "text": "x"}, 422), ({"percent": "50", "text": "x"}, 422), ({"percent": 50, "text": ""}, 422),
        ({"percent": 50}, 422), ({"percent": 50, "text": "x", "evidence_ids": [999999]}, 404),
    ]
    for data, status_wanted in reports:
        status, body = await call(world, "xatiendu", "directive.report", meeting_id=m, directive_id=d, **data)
        assert status == status_wanted, (data, body)
    status, body = await call(world, "vanphong", "directive.update", meeting_id=m, directive_id=d, title=None)
    assert status == 422 and body["error"]["details"][0]["field"] == "title"
    status, body = await call(world, "vanphong", "directive.update", meeting_id=m, directive_id=d,
                              lead_unit_id=None)
    assert status == 422  # nobody would answer for it
    status, body = await call(world, "vanphong", "directive.accept", meeting_id=m, directive_id=999999)
    assert status == 404
    for query in ("status=late", "unit_id=abc", "overdue=maybe", "q=" + "x" * 201, "unit_id=999999"):
        status, body = await get(world, "vanphong", f"/api/directives?{query}")
        assert status in (404, 422) and body["error"]["code"] in ("invalid", "not_found"), query
    _, detail = await get(world, "vanphong", f"/api/directives/{d}")
    assert detail["reports"] == [] and [h["action"] for h in detail["history"]] == ["created"]


async def test_a_retried_command_changes_nothing_twice(world):
    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    key = new_key()
    data = {"meeting_id": m, "title": "Nhiệm vụ gửi lại", "lead_unit_id": units.tien_du}
    first = await call(world, "vanphong", "directive.create", key=key, **data)
    again = await call(world, "vanphong", "directive.create", key=key, **data)
    assert first == again and first[0] == 200
    d = first[1]["result"]["directive"]["id"]
    key = new_key()
    report = {"meeting_id": m, "directive_id": d, "percent": 20, "text": "Báo cáo lần đầu"}
    assert await call(world, "xatiendu", "directive.report", key=key, **report) == \
        await call(world, "xatiendu", "directive.report", key=key, **report)
    # The same key again answers the first result, even with other data; for another command it is refused.
    status, body = await call(world, "xatiendu", "directive.report", key=key, **{**report, "percent": 30})
    assert status == 200 and body["result"]["directive"]["progress"] == 20
    status, body = await call(world, "xatiendu", "directive.create", key=key, meeting_id=m, title="Khác",
                              lead_unit_id=units.tien_du)
    assert status == 409 and body["error"]["code"] == "idempotency_conflict", body
    _, listed = await get(world, "vanphong", f"/api/directives?meeting_id={m}")
    assert len(listed["directives"]) == 1
    _, detail = await get(world, "vanphong", f"/api/directives/{d}")
    assert [r["percent"] for r in detail["reports"]] == [20]


# ---------------------------------------------------------------- lists, dashboard, my tasks


async def test_lists_filters_dashboard_my_tasks_and_the_table(world):
    import openpyxl

    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    day = today()

    async def make(title: str, lead: int, deadline: date | None, **more) -> int:
        return (await ok(world, "vanphong", "directive.create", meeting_id=m, title=title, lead_unit_id=lead,
                         deadline=deadline.isoformat() if deadline else None, **more))["directive"]["id"]

    late = await make("Nâng cấp đường liên xã", units.tien_du, day - timedelta(days=3),
                      responsible_user_ids=[world.users["daibieu01"]])
    soon = await make("Bố trí cán bộ địa chính", units.tien_du, day + timedelta(days=2))
    cell = await make("Sửa nhà văn hóa thôn", units.thon_dong, day + timedelta(days=60))
    other = await make("Kiên cố hóa trường học", units.que_vo, day - timedelta(days=10),
                       coordinating_unit_ids=[units.tien_du])
    done = await make("Báo cáo chỉ tiêu môi trường", units.province, None)
    await ok(world, "vanphong", "directive.accept", meeting_id=m, directive_id=done)
    dropped = await make("Việc đã hủy", units.province, day - timedelta(days=30))
    await ok(world, "vanphong", "directive.cancel", meeting_id=m, directive_id=dropped)

    async def ids(query: str, who: str = "vanphong") -> list[int]:
        status, body = await get(world, who, f"/api/directives?{query}")
        assert status == 200, body
        return [x["id"] for x in body["directives"]]

    # Overdue first (the longest first), then by deadline, the finished last.
    assert await ids(f"meeting_id={m}") == [other, late, soon, cell, done, dropped]
    # A unit with its sub-units, as lead or coordinating.
    assert await ids(f"unit_id={units.tien_du}") == [other, late, soon, cell]
    assert await ids(f"unit_id={units.thon_dong}") == [cell]
    assert await ids(f"unit_id={units.province}") == [other, late, soon, cell, done, dropped]
    assert await ids("overdue=1") == [other, late]
    assert await ids("due_soon=1") == [soon]
    assert await ids("status=completed") == [done]
    assert await ids("status=open") == [other, late, soon, cell]
    assert await ids(f"user_id={world.users['daibieu01']}") == [late]
    # Text search folds case and diacritics (đ included).
    assert await ids("q=" + quote("DUONG lien xa")) == [late]
    assert await ids("q=" + quote("can bo dia chinh")) == [soon]
    # What each one sees.
    # Every unit above an account's own answers for work given to it: the cell sees Tiên Du's and the
    # province's, Quế Võ its own and the province's.
    assert await ids("", "thondong") == [other, late, soon, cell, done, dropped]
    assert await ids("", "xaquevo") == [other, done, dropped]
    assert await ids("", "nguoingoai") == [done, dropped]  # the province's
    assert await ids("", "chutri") == [other, late, soon, cell, done, dropped]  # the chair's meeting

    # The commune answers for its own and the province's work, not for its party cell's.
    status, mine = await get(world, "xatiendu", "/api/directives/mine?status=open")
    assert [x["id"] for x in mine["directives"]] == [other, late, soon]
    assert mine["directives"][0]["timeliness"]["overdue"] and mine["directives"][0]["timeliness"]["days_left"] == -10
    status, mine = await get(world, "daibieu01", "/api/directives/mine")
    assert [x["id"] for x in mine["directives"]] == [late, done, dropped]  # in person, and the province's
    status, mine = await get(world, "chutri", "/api/directives/mine")  # follows, but answers for nothing...
    assert [x["id"] for x in mine["directives"]] == [done, dropped]  # ...but the province's

    status, board = await get(world, "vanphong", "/api/directives/dashboard")
    assert status == 200
    assert board["today"] == day.isoformat()
    assert board["totals"] == {"total": 5, "done": 1, "done_late": 0, "in_progress": 2, "reported": 0,
                               "overdue": 2, "due_soon": 1, "cancelled": 1}
    by_unit = {row["name"]: row for row in board["by_unit"]}
    assert by_unit["Xã Tiên Du"]["total"] == 2 and by_unit["Xã Tiên Du"]["overdue"] == 1
    assert by_unit["Chi bộ thôn Đông"]["in_progress"] == 1
    assert [row["name"] for row in board["by_unit"]][:2] == ["Phường Quế Võ", "Xã Tiên Du"]  # overdue ones first
    [meeting_row] = board["by_meeting"]
    assert meeting_row["meeting_id"] == m and meeting_row["overdue"] == 2 and meeting_row["total"] == 5
    assert [x["id"] for x in board["overdue"]] == [other, late]
    status, board = await get(world, "xaquevo", "/api/directives/dashboard")
    assert board["totals"]["total"] == 2 and board["totals"]["overdue"] == 1

    status, content, headers = await fetch(world.live, f"/api/directives.xlsx?meeting_id={m}",
                                           world.tokens["vanphong"])
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book["Danh sách nhiệm vụ"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=5)]
    assert [r[1] for r in rows] == ["Kiên cố hóa trường học", "Nâng cấp đường liên xã", "Bố trí cán bộ địa chính",
                                    "Sửa nhà văn hóa thôn", "Báo cáo chỉ tiêu môi trường", "Việc đã hủy"]
    assert rows[0][10] == "Quá hạn 10 ngày" and rows[2][10] == "Còn 2 ngày"
    assert rows[0][8] == "Mới giao" and rows[4][8] == "Đã hoàn thành"
    assert sheet.cell(row=5, column=2).font.color.rgb.endswith("C00000")  # overdue in red
    calm = sheet.cell(row=7, column=2).font.color
    assert calm is None or not str(calm.rgb).endswith("C00000")
    units_sheet = [[c.value for c in row] for row in book["Theo đơn vị"].iter_rows(min_row=5)]
    assert units_sheet[-1][1] == "Tổng cộng" and units_sheet[-1][2] == 5


# ---------------------------------------------------------------- the next meeting's agenda


async def test_open_directives_are_offered_for_the_next_meeting_and_added_in_one_step(world):
    units = await add_people(world)
    m = world.meeting_id
    await open_meeting(world)
    keep = (await ok(world, "vanphong", "directive.create", meeting_id=m, title="Nâng cấp đường liên xã",
                     lead_unit_id=units.tien_du, deadline=(today() - timedelta(days=1)).isoformat()))["directive"]
    also = (await ok(world, "vanphong", "directive.create", meeting_id=m, title="Bố trí cán bộ địa chính",
                     lead_unit_id=units.tien_du))["directive"]
    finished = (await ok(world, "vanphong", "directive.create", meeting_id=m, title="Đã xong",
                         lead_unit_id=units.tien_du))["directive"]
    await ok(world, "vanphong", "directive.accept", meeting_id=m, directive_id=finished["id"])
    await ok(world, "vanphong", "meeting.close", meeting_id=m)

    nxt = (await ok(world, "vanphong", "meeting.create", title="Hội nghị lần thứ 6", unit_id=units.province,
                    starts_at="2027-01-20T08:00:00+07:00"))["meeting"]["id"]
    await ok(world, "vanphong", "participant.add", meeting_id=nxt, user_id=world.users["thuky"], role="secretary")
    await ok(world, "vanphong", "participant.add", meeting_id=nxt, user_id=world.users["daibieu01"], role="delegate")
    status, body = await get(world, "thuky", f"/api/meetings/{nxt}/offered-directives")
    assert status == 200, body
    assert [x["id"] for x in body["offered"]] == [keep["id"], also["id"]] and body["scheduled"] == []
    assert body["title"] == rules.REVIEW_TITLE
    status, _ = await get(world, "daibieu01", f"/api/meetings/{nxt}/offered-directives")
    assert status == 404  # a draft meeting is its staff's only
    status, body = await call(world, "daibieu01", "directive.add_to_agenda", meeting_id=nxt,
                              directive_ids=[keep["id"]])
    assert status == 403

    added = await ok(world, "thuky", "directive.add_to_agenda", meeting_id=nxt,
                     directive_ids=[keep["id"], also["id"]])
    item = next(i for i in added["agenda"] if i["id"] == added["item_id"])
    assert item["title"] == rules.REVIEW_TITLE and item["number"] == "1"
    assert {d["id"]: d["scheduled"] for d in added["directives"]} == {
        keep["id"]: [{"meeting_id": nxt, "agenda_item_id": item["id"]}],
        also["id"]: [{"meeting_id": nxt, "agenda_item_id": item["id"]}]}
    status, body = await get(world, "thuky", f"/api/meetings/{nxt}/offered-directives")
    assert body["offered"] == [] and [x["id"] for x in body["scheduled"]] == [keep["id"], also["id"]]
    status, snap = await get(world, "thuky", f"/api/meetings/{nxt}")
    assert [i["title"] for i in snap["agenda"]] == [rules.REVIEW_TITLE]
    # Not twice; not a finished one.
    status, body = await call(world, "thuky", "directive.add_to_agenda", meeting_id=nxt, directive_ids=[keep["id"]])
    assert status == 409, body
    status, body = await call(world, "thuky", "directive.add_to_agenda", meeting_id=nxt,
                              directive_ids=[finished["id"]])
    assert status == 409, body
    # The directive's history says where it went.
    _, detail = await get(world, "vanphong", f"/api/directives/{keep['id']}")
    assert detail["history"][-1]["action"] == "scheduled"
    assert detail["history"][-1]["note"] == "Hội nghị lần thứ 6, mục 1"
