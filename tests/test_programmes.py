"""Work programmes, the weekly schedule and calendar feeds against a real server (docs/programmes.md).

The office (vanphong, secretariat) writes a week, sees the clash it made, publishes, amends and
reissues it; readers see only what is published. A meeting is made from a schedule entry and
from a programme entry in one step. Each person's calendar feed is parsed back with `icalendar`
as a phone would read it; the DOCX schedule with python-docx and the XLSX programme with openpyxl.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import aiohttp
from multidict import CIMultiDict

from server.domain.programmes import IsoWeek
from server.domain.times import LOCAL
from server.store.tables import utcnow
from tests.conftest import World, new_key, wait_for

CONTENT = "Họp Ban Thường vụ Tỉnh ủy: cho ý kiến về Đề án sắp xếp tổ chức bộ máy; nghe báo cáo tiến độ Quy hoạch"
PLACE = "Phòng họp số 1, trụ sở Tỉnh ủy"


@dataclass
class Raw:
    status: int
    headers: CIMultiDict
    body: bytes

    def json(self):
        import json

        return json.loads(self.body)


async def fetch(world: World, path: str, who: str | None = None, headers: dict | None = None) -> Raw:
    """A GET as a browser or a calendar application makes it: the bytes, not parsed."""
    sent = dict(headers or {})
    if who:
        sent["Authorization"] = f"Bearer {world.tokens[who]}"
    async with aiohttp.ClientSession() as http, http.get(world.live.url + path, headers=sent) as resp:
        return Raw(resp.status, CIMultiDict(resp.headers), await resp.read())


def soon() -> IsoWeek:
    """A week ahead of today (feeds reach back only so far; tests must not age)."""
    return IsoWeek.of(utcnow()).shift(2)


def moment(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL).isoformat()


async def office(world: World, name: str, **data) -> dict:
    status, body = await world.live.command(world.tokens["vanphong"], name, key=new_key(), **data)
    assert status == 200, (name, body)
    return body["result"]


async def week_of(world: World, week: IsoWeek, who: str = "vanphong") -> dict:
    status, body = await world.live.request("GET", f"/api/schedule/{week.year}/{week.week}?unit_id={world.unit_id}",
                                            token=world.tokens[who])
    assert status == 200, body
    return body


async def add_entry(world: World, week: IsoWeek, day: int = 1, hour: int = 8, **data) -> dict:
    fields = {"unit_id": world.unit_id, "starts_at": moment(week.days[day], hour), "content": CONTENT,
              "place": PLACE, **data}
    return await office(world, "schedule.entry_add", **fields)


# --- the week ------------------------------------------------------------------------------------


async def test_the_office_writes_publishes_amends_and_reissues_a_week(world):
    live, users = world.live, world.users
    week = soon()
    first = await add_entry(world, week, day=1, hour=8, ends_at=moment(week.days[1], 11),
                            presiding_user_id=users["chutri"], attendee_ids=[users["daibieu01"], users["daibieu02"]],
                            attendees_note="Lãnh đạo Văn phòng Tỉnh ủy", preparing_unit="Ban Tổ chức Tỉnh ủy")
    entry = first["entry"]
    assert entry["presiding"] == "Nguyễn Văn An"  # the account's name when no text is given
    assert [a["full_name"] for a in entry["attendees"]] == ["Phạm Thị Bình", "Hoàng Văn Cường"]  # by given name
    assert entry["day"] == week.days[1].isoformat() and entry["amendment"] is None and first["warnings"] == []
    assert first["week"]["state"] == "draft" and first["week"]["key"] == week.key

    # The same delegate, the same morning, elsewhere: added, with a warning.
    second = await add_entry(world, week, day=1, hour=9, content="Dự Hội nghị trực tuyến toàn quốc",
                             place="Hội trường UBND tỉnh", attendee_ids=[users["daibieu02"]])
    assert second["warnings"] == [{"kind": "person", "entry_ids": [entry["id"], second["entry"]["id"]],
                                   "user_id": users["daibieu02"], "place": ""}]

    # A draft is the office's: a delegate sees no schedule for the week yet.
    seen = await week_of(world, week, "daibieu01")
    assert seen["week"]["state"] == "none" and seen["entries"] == []
    status, _ = await live.request("GET", f"/api/schedule/{week.year}/{week.week}/export.docx?unit_id={world.unit_id}",
                                   token=world.tokens["daibieu01"])
    assert status == 404

    published = await office(world, "schedule.publish", unit_id=world.unit_id, year=week.year, week=week.week)
    assert published["week"]["state"] == "published" and published["week"]["issue"] == 1
    seen = await week_of(world, week, "daibieu01")
    assert [e["content"] for e in seen["entries"]] == [CONTENT, "Dự Hội nghị trực tuyến toàn quốc"]
    assert seen["clashes"] and seen["week"]["amendment"] == 0

    # Nothing changed: nothing to reissue. A published entry is cancelled, not deleted.
    status, body = await live.command(world.tokens["vanphong"], "schedule.publish", unit_id=world.unit_id,
                                      year=week.year, week=week.week)
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    status, body = await live.command(world.tokens["vanphong"], "schedule.entry_remove", entry_id=entry["id"])
    assert status == 409 and "cancel" in body["error"]["message"]

    moved = await office(world, "schedule.entry_update", entry_id=entry["id"], place="Hội trường A, Tỉnh ủy",
                         starts_at=moment(week.days[1], 14), ends_at=moment(week.days[1], 16))
    assert moved["entry"]["amendment"] == 1 and moved["entry"]["sequence"] == 1
    assert moved["week"]["pending_changes"] == 1 and moved["warnings"] == []  # the clash is gone
    cancelled = await office(world, "schedule.entry_cancel", entry_id=second["entry"]["id"],
                             reason="Trung ương lùi thời gian hội nghị")
    assert cancelled["entry"]["status"] == "cancelled" and cancelled["week"]["pending_changes"] == 2

    reissued = await office(world, "schedule.publish", unit_id=world.unit_id, year=week.year, week=week.week)
    assert reissued["week"]["issue"] == 2 and reissued["week"]["amendment"] == 1
    assert reissued["week"]["pending_changes"] == 0
    seen = await week_of(world, week, "daibieu01")
    changes = [(c["number"], c["kind"]) for c in seen["changes"]]
    assert changes == [(1, "changed"), (1, "cancelled")]
    assert seen["changes"][0]["summary"].startswith("Thời gian: 08:00 ")
    assert "Địa điểm: Phòng họp số 1, trụ sở Tỉnh ủy → Hội trường A, Tỉnh ủy" in seen["changes"][0]["summary"]
    assert seen["changes"][0]["by"] == "Lê Văn Phòng"
    assert seen["clashes"] == []  # a cancelled entry holds nobody

    # A restored entry is a change of the next amendment.
    restored = await office(world, "schedule.entry_restore", entry_id=second["entry"]["id"])
    assert restored["entry"]["status"] == "active" and restored["entry"]["amendment"] == 2


async def test_entries_that_break_the_rules_are_refused_and_leave_nothing(world):
    live, token = world.live, world.tokens["vanphong"]
    week = soon()
    before = await week_of(world, week)
    base = {"unit_id": world.unit_id, "starts_at": moment(week.days[2], 8), "content": CONTENT}
    cases = [
        ({**base, "ends_at": moment(week.days[2], 7)}, 422, "ends_at"),
        ({**base, "ends_at": moment(week.shift(1).days[0], 1)}, 422, "ends_at"),
        ({**base, "content": ""}, 422, "content"),
        ({**base, "colour": "đỏ"}, 422, "colour"),
        ({**base, "attendee_ids": [999_999]}, 404, "attendee_ids"),
        ({**base, "attendee_ids": ["5"]}, 422, "attendee_ids.0"),
        ({**base, "unit_id": 999_999}, 404, "unit_id"),
        ({**base, "starts_at": "thứ Ba"}, 422, "starts_at"),
        ({**base, "programme_entry_id": 999_999}, 404, None),
    ]
    for data, status_needed, field in cases:
        status, body = await live.command(token, "schedule.entry_add", **data)
        assert status == status_needed, (data, body)
        if field:
            assert field in [d["field"] for d in body["error"].get("details", [])], body
    assert (await week_of(world, week))["entries"] == before["entries"] == []

    added = (await add_entry(world, week, day=2))["entry"]
    status, body = await live.command(token, "schedule.entry_update", entry_id=added["id"],
                                      starts_at=moment(week.shift(1).days[2], 8))
    assert status == 422 and "cancel it here and add it there" in body["error"]["message"]
    status, body = await live.command(token, "schedule.entry_update", entry_id=added["id"], content=None)
    assert status == 422
    for year, number in ((2025, 53), (2026, 54), (2026, 0)):
        status, body = await live.command(token, "schedule.publish", unit_id=world.unit_id, year=year, week=number)
        assert status == 422, body
    later = week.shift(5)
    status, body = await live.command(token, "schedule.publish", unit_id=world.unit_id, year=later.year,
                                      week=later.week)
    assert status == 409 and "no entries" in body["error"]["message"]
    for query in ("unit_id=abc", "unit_id=-1", "unit_id=999999"):
        status, body = await live.request("GET", f"/api/schedule/{week.year}/{week.week}?{query}", token=token)
        assert status in (404, 422), (query, body)
    status, body = await live.request("GET", f"/api/schedule/{week.year}/60", token=token)
    assert status == 422
    status, body = await live.request("GET", "/api/schedule/entries/5", token=token)
    assert status == 404
    # The entry is as it was.
    assert (await week_of(world, week))["entries"] == [added]


async def test_a_retried_command_adds_one_entry(world):
    live, token = world.live, world.tokens["vanphong"]
    week = soon()
    data = {"unit_id": world.unit_id, "starts_at": moment(week.days[3], 8), "content": "Tiếp công dân định kỳ"}
    key = new_key()
    answers = [await live.command(token, "schedule.entry_add", key=key, **data) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 200]
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert len((await week_of(world, week))["entries"]) == 1
    # The same key for another command is a conflict, not a silent replay.
    status, body = await live.command(token, "schedule.publish", key=key, unit_id=world.unit_id, year=week.year,
                                      week=week.week)
    assert status == 409 and body["error"]["code"] == "idempotency_conflict"


async def test_only_the_office_writes_and_reads_drafts(world):
    live = world.live
    week = soon()
    for who in ("daibieu01", "chutri", "thuky", "nguoingoai"):
        status, body = await live.command(world.tokens[who], "schedule.entry_add", unit_id=world.unit_id,
                                          starts_at=moment(week.days[0], 8), content="Việc riêng")
        assert status == 403 and body["error"]["code"] == "forbidden", who
        status, body = await live.command(world.tokens[who], "programme.create", unit_id=world.unit_id,
                                          kind="annual", year=2027)
        assert status == 403, who
    programme = (await office(world, "programme.create", unit_id=world.unit_id, kind="annual", year=2027))["programme"]
    assert programme["title"] == "Chương trình công tác năm 2027" and programme["state"] == "draft"
    status, _ = await live.request("GET", f"/api/programmes/{programme['id']}", token=world.tokens["daibieu01"])
    assert status == 404
    status, body = await live.request("GET", "/api/programmes", token=world.tokens["daibieu01"])
    assert body == {"programmes": []}
    status, body = await live.request("GET", "/api/programmes", token=world.tokens["admin"])
    assert [p["id"] for p in body["programmes"]] == [programme["id"]]
    status, body = await live.command(world.tokens["vanphong"], "programme.publish", programme_id=programme["id"])
    assert status == 409 and "at least one entry" in body["error"]["message"]
    await office(world, "programme.entry_add", programme_id=programme["id"], content="Hội nghị Ban Chấp hành giữa năm",
                 kind="executive_committee", due_month=7)
    await office(world, "programme.publish", programme_id=programme["id"])
    status, body = await live.request("GET", f"/api/programmes/{programme['id']}", token=world.tokens["daibieu01"])
    assert status == 200 and body["entries"][0]["due_label"] == "Tháng 7"
    # One programme per unit and period.
    status, body = await live.command(world.tokens["vanphong"], "programme.create", unit_id=world.unit_id,
                                      kind="annual", year=2027)
    assert status == 409


# --- meetings from entries -----------------------------------------------------------------------


async def test_a_meeting_is_made_from_a_schedule_entry_in_one_step(world):
    live, users = world.live, world.users
    week = soon()
    entry = (await add_entry(world, week, day=3, hour=8, ends_at=moment(week.days[3], 11, 30),
                             presiding_user_id=users["chutri"],
                             attendee_ids=[users["daibieu01"], users["chutri"], users["daibieu03"]]))["entry"]
    made = await office(world, "schedule.create_meeting", entry_id=entry["id"])
    meeting = made["meeting"]
    assert meeting["title"] == CONTENT and meeting["place"] == PLACE and meeting["status"] == "draft"
    assert meeting["starts_at"] == entry["starts_at"] and meeting["ends_at"] == entry["ends_at"]
    assert made["entry"]["meeting"] == {"id": meeting["id"], "title": CONTENT, "status": "draft",
                                        "starts_at": entry["starts_at"]}
    # The chair prepares the draft and sees who comes.
    status, snap = await live.request("GET", f"/api/meetings/{meeting['id']}", token=world.tokens["chutri"])
    assert status == 200, snap
    roles = {p["user_id"]: (p["role"], p["voting"]) for p in snap["participants"]}
    assert roles == {users["chutri"]: ("chair", True), users["daibieu01"]: ("delegate", True),
                     users["daibieu03"]: ("delegate", True)}
    assert snap["quorum"]["members"] == 3
    assert [e["type"] for e in (await live.request("GET", f"/api/meetings/{meeting['id']}/events?since=0",
                                                   token=world.tokens["chutri"]))[1]["events"]][:2] == \
        ["meeting.updated", "participant.updated"]

    status, body = await live.command(world.tokens["vanphong"], "schedule.create_meeting", entry_id=entry["id"])
    assert status == 409 and str(meeting["id"]) in body["error"]["message"]
    # The entry shows the meeting's state as it moves on.
    await office(world, "agenda.add", meeting_id=meeting["id"], title="Khai mạc")
    await office(world, "meeting.publish", meeting_id=meeting["id"])
    shown = next(e for e in (await week_of(world, week))["entries"] if e["id"] == entry["id"])
    assert shown["meeting"]["status"] == "published"


async def test_a_meeting_is_made_from_a_programme_entry(world):
    live = world.live
    monthly = (await office(world, "programme.create", unit_id=world.unit_id, kind="monthly", year=2027,
                            month=3))["programme"]
    assert monthly["period"] == "2027-03"
    dated = (await office(world, "programme.entry_add", programme_id=monthly["id"], kind="standing_committee",
                          content="Ban Thường vụ nghe báo cáo công tác tuyển quân", due_date="2027-03-16",
                          preparing_unit_id=world.unit_id))["entry"]
    assert dated["preparing_unit"] == "Tỉnh Bắc Ninh" and dated["state"] == "planned"
    made = await office(world, "programme.create_meeting", entry_id=dated["id"], place="Phòng họp Ban Thường vụ")
    # A day without an hour opens the morning session, 08:00 in Hanoi.
    assert made["meeting"]["starts_at"] == "2027-03-16T01:00:00Z" and made["meeting"]["place"] == "Phòng họp Ban Thường vụ"
    assert made["entry"]["state"] == "scheduled" and made["entry"]["meeting"]["id"] == made["meeting"]["id"]

    annual = (await office(world, "programme.create", unit_id=world.unit_id, kind="annual", year=2027))["programme"]
    loose = (await office(world, "programme.entry_add", programme_id=annual["id"], kind="conference",
                          content="Hội nghị sơ kết 6 tháng", due_quarter=2))["entry"]
    made = await office(world, "programme.create_meeting", entry_id=loose["id"])
    assert made["meeting"]["starts_at"] is None and made["meeting"]["title"] == "Hội nghị sơ kết 6 tháng"

    # Life of an entry: postponed with a reason, never back from done.
    cases = [("postponed", "", 422), ("postponed", "Chờ hướng dẫn của Trung ương", 200), ("planned", "", 200),
             ("done", "", 200), ("cancelled", "Không cần nữa", 409)]
    other = (await office(world, "programme.entry_add", programme_id=annual["id"], content="Sơ kết Nghị quyết 57",
                          due_month=9))["entry"]
    for state, reason, status_needed in cases:
        status, body = await live.command(world.tokens["vanphong"], "programme.entry_set_state", entry_id=other["id"],
                                          state=state, reason=reason)
        assert status == status_needed, (state, body)
    status, body = await live.command(world.tokens["vanphong"], "programme.entry_add", programme_id=annual["id"],
                                      content="Ngày không hợp lệ", due_date="2027-05-01")
    assert status == 422 and body["error"]["details"][0]["field"] == "due_date"

    # A programme entry put on a week's schedule is scheduled; the meeting made there serves it too.
    week = soon()
    third = (await office(world, "programme.entry_add", programme_id=annual["id"], content="Làm việc với Đảng ủy xã",
                          kind="inspection", due_month=5))["entry"]
    on_week = (await add_entry(world, week, day=4, content="Làm việc với Đảng ủy xã Tiên Du",
                               programme_entry_id=third["id"]))["entry"]
    made = await office(world, "schedule.create_meeting", entry_id=on_week["id"])
    status, body = await live.request("GET", f"/api/programmes/{annual['id']}", token=world.tokens["vanphong"])
    linked = next(e for e in body["entries"] if e["id"] == third["id"])
    assert linked["state"] == "scheduled" and linked["meeting"]["id"] == made["meeting"]["id"]
    # Entries print by when they are due: the quarter after its months' own entries.
    assert [e["due_label"] for e in body["entries"]] == ["Quý II", "Tháng 5", "Tháng 9"]


# --- calendar feeds ------------------------------------------------------------------------------


def ics_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    return body.split(b"\r\n")[:-1]


async def test_each_person_has_a_calendar_feed(world):
    import icalendar

    live, users = world.live, world.users
    week = soon()
    entry = (await add_entry(world, week, day=2, hour=14, ends_at=moment(week.days[2], 16, 30),
                             presiding_user_id=users["chutri"], attendee_ids=[users["daibieu01"]],
                             attendees_note="Lãnh đạo các ban xây dựng Đảng"))["entry"]
    other = (await add_entry(world, week, day=4, hour=8, content="Tiếp xúc cử tri xã Tiên Du",
                             attendee_ids=[users["daibieu01"]]))["entry"]
    elsewhere = (await add_entry(world, week, day=4, hour=8, content="Việc của người khác",
                                 attendee_ids=[users["daibieu02"]]))["entry"]

    status, mine = await live.request("GET", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert status == 200 and mine["active"] is False and mine["url"] is None
    status, made = await live.request("POST", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert status == 200 and made["active"] and made["path"].startswith("/api/calendar/")
    assert made["url"] == live.url + made["path"] and made["webcal_url"].startswith("webcal://")
    status, again = await live.request("GET", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert again["url"] == made["url"]  # the owner can copy the link again

    # A draft week is not in anyone's calendar.
    feed = await fetch(world, made["path"])
    assert feed.status == 200 and feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert not [c for c in icalendar.Calendar.from_ical(feed.body).walk("VEVENT")]

    await office(world, "schedule.publish", unit_id=world.unit_id, year=week.year, week=week.week)
    # The world's meeting, moved into that week and published: its delegate's calendar shows it.
    await office(world, "meeting.update", meeting_id=world.meeting_id, starts_at=moment(week.days[0], 8))
    await office(world, "meeting.publish", meeting_id=world.meeting_id)
    feed = await fetch(world, made["path"])
    assert feed.status == 200
    for line in ics_lines(feed.body):
        assert len(line) <= 75, line  # folded at 75 octets
    assert unicodedata.is_normalized("NFC", feed.body.decode("utf-8"))
    cal = icalendar.Calendar.from_ical(feed.body)
    assert str(cal["VERSION"]) == "2.0" and "Phạm Thị Bình" in str(cal["X-WR-CALNAME"])
    zones = list(cal.walk("VTIMEZONE"))
    assert [str(z["TZID"]) for z in zones] == ["Asia/Ho_Chi_Minh"]
    assert zones[0].walk("STANDARD")[-1].decoded("TZOFFSETTO") == timedelta(hours=7)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(events) == 3 and all(uid.endswith("@phonghop") for uid in events)
    by_summary = {str(e["SUMMARY"]): e for e in events.values()}
    assert set(by_summary) == {CONTENT, "Tiếp xúc cử tri xã Tiên Du", "Hội nghị Ban Chấp hành lần thứ 5"}
    assert "Việc của người khác" not in by_summary and elsewhere["id"]

    event = by_summary[CONTENT]
    assert event["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert event.decoded("DTSTART") == datetime(*week.days[2].timetuple()[:3], 14, 0, tzinfo=LOCAL)
    assert event.decoded("DTEND") == datetime(*week.days[2].timetuple()[:3], 16, 30, tzinfo=LOCAL)
    assert str(event["LOCATION"]) == PLACE and str(event["STATUS"]) == "CONFIRMED" and event["SEQUENCE"] == 0
    assert "Chủ trì: Nguyễn Văn An" in str(event["DESCRIPTION"])
    assert "Thành phần: Phạm Thị Bình; Lãnh đạo các ban xây dựng Đảng" in str(event["DESCRIPTION"])
    # Semicolons and commas of Vietnamese text are escaped on the wire, and come back whole.
    unfolded = feed.body.replace(b"\r\n ", b"")
    assert "SUMMARY:Họp Ban Thường vụ Tỉnh ủy: cho ý kiến về Đề án sắp xếp tổ chức bộ máy\\; nghe".encode() in unfolded
    assert "LOCATION:Phòng họp số 1\\, trụ sở Tỉnh ủy".encode() in unfolded
    meeting = by_summary["Hội nghị Ban Chấp hành lần thứ 5"]
    assert str(meeting["UID"]).startswith(f"meeting-{world.meeting_id}.")
    assert str(meeting["LOCATION"]) == "Hội trường Tỉnh ủy" and "Vai trò: Đại biểu" in str(meeting["DESCRIPTION"])
    assert meeting.decoded("DTSTART") == datetime(*week.days[0].timetuple()[:3], 8, tzinfo=LOCAL)
    assert meeting["SEQUENCE"] == 2 and str(meeting["STATUS"]) == "CONFIRMED"  # created, moved, published

    # The same data, the same bytes: calendars refetch cheaply.
    again = await fetch(world, made["path"])
    assert again.body == feed.body
    unchanged = await fetch(world, made["path"], headers={"If-None-Match": feed.headers["ETag"]})
    assert unchanged.status == 304

    # A change bumps SEQUENCE under the same UID; a cancellation stays, as CANCELLED.
    await office(world, "schedule.entry_update", entry_id=entry["id"], place="Hội trường B")
    await office(world, "schedule.entry_cancel", entry_id=other["id"], reason="Đoàn đại biểu Quốc hội đổi lịch")
    cal = icalendar.Calendar.from_ical((await fetch(world, made["path"])).body)
    after = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(after) == set(events)
    moved = next(e for e in after.values() if str(e["SUMMARY"]) == CONTENT)
    assert moved["SEQUENCE"] == 1 and str(moved["LOCATION"]) == "Hội trường B"
    assert "Điều chỉnh lần 1" in str(moved["DESCRIPTION"])
    dropped = next(e for e in after.values() if str(e["SUMMARY"]) == "Tiếp xúc cử tri xã Tiên Du")
    assert str(dropped["STATUS"]) == "CANCELLED" and dropped["SEQUENCE"] == 1
    assert "Hoãn: Đoàn đại biểu Quốc hội đổi lịch" in str(dropped["DESCRIPTION"])

    # The chair's feed holds the entry they preside.
    status, chair = await live.request("POST", "/api/me/calendar", token=world.tokens["chutri"])
    chair_cal = icalendar.Calendar.from_ical((await fetch(world, chair["path"])).body)
    assert CONTENT in {str(e["SUMMARY"]) for e in chair_cal.walk("VEVENT")}

    # Rotating: the old URL is gone at once, the new one works. Revoking: none works.
    status, rotated = await live.request("POST", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert rotated["path"] != made["path"]
    old = await fetch(world, made["path"])
    assert old.status == 404 and old.json()["error"]["code"] == "not_found"
    assert (await fetch(world, rotated["path"])).status == 200
    status, body = await live.request("DELETE", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert status == 200 and body["active"] is False
    assert (await fetch(world, rotated["path"])).status == 404
    for forged in ("/api/calendar/" + "A" * 43 + ".ics", "/api/calendar/short.ics", "/api/calendar/%00.ics"):
        assert (await fetch(world, forged)).status == 404
    # The database keeps only the token's hash.
    from sqlalchemy import select

    from server.store.tables import CalendarFeed

    async with live.app["db"].read() as db:
        rows = (await db.scalars(select(CalendarFeed))).all()
    token = chair["path"].rsplit("/", 1)[1].removesuffix(".ics")
    assert rows and all(token not in (r.token_hash, r.nonce) for r in rows)


async def test_a_hint_reaches_connected_clients(world):
    client = await world.live.socket(world.tokens["daibieu01"])
    hints: list = []
    client.on("schedule_changed", lambda data: hints.append(data))
    try:
        week = soon()
        await add_entry(world, week)
        await wait_for(lambda: hints)
        assert hints[0] == {"unit_id": world.unit_id, "week": week.key}
    finally:
        await client.disconnect()


# --- exports -------------------------------------------------------------------------------------


async def test_the_week_prints_as_a_landscape_docx(world):
    import docx
    from docx.enum.section import WD_ORIENT

    users = world.users
    week = soon()
    kept = (await add_entry(world, week, day=0, hour=8, presiding_user_id=users["chutri"],
                            attendee_ids=[users["daibieu01"]], preparing_unit="Văn phòng Tỉnh ủy"))["entry"]
    dropped = (await add_entry(world, week, day=0, hour=14, content="Làm việc với Ban Tuyên giáo"))["entry"]
    await add_entry(world, week, day=5, hour=8, content="Kiểm tra công tác phòng, chống lụt bão")
    await office(world, "schedule.publish", unit_id=world.unit_id, year=week.year, week=week.week)
    await office(world, "schedule.entry_cancel", entry_id=dropped["id"], reason="Lãnh đạo đi công tác")
    await office(world, "schedule.publish", unit_id=world.unit_id, year=week.year, week=week.week)

    raw = await fetch(world, f"/api/schedule/{week.year}/{week.week}/export.docx?unit_id={world.unit_id}", "daibieu01")
    assert raw.status == 200, raw.body[:300]
    assert raw.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert "filename*=UTF-8''L%E1%BB%8Bch" in raw.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(raw.body))
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE and section.page_width > section.page_height
    words = [p.text for p in document.paragraphs]
    assert f"LỊCH CÔNG TÁC TUẦN {week.week}" in words
    assert f"(Từ ngày {week.monday:%d/%m/%Y} đến ngày {week.sunday:%d/%m/%Y})" in words
    assert "(Điều chỉnh lần 1)" in words
    header, grid = document.tables
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in header.rows[0].cells[1].text
    assert [c.text for c in grid.rows[0].cells] == ["Thứ, ngày", "Thời gian", "Nội dung", "Chủ trì", "Thành phần",
                                                   "Địa điểm", "Đơn vị chuẩn bị"]
    rows = [[c.text for c in r.cells] for r in grid.rows[1:]]
    monday = f"Thứ Hai\n{week.monday:%d/%m}"
    assert rows[0] == [monday, "08:00", CONTENT, "Nguyễn Văn An", "Phạm Thị Bình", PLACE, "Văn phòng Tỉnh ủy"]
    assert rows[1][0] == monday  # the day's cell spans its entries
    assert rows[1][2] == "Làm việc với Ban Tuyên giáo\n(Hoãn: Lãnh đạo đi công tác)\n(Điều chỉnh lần 1)"
    struck = [run for p in grid.rows[2].cells[2].paragraphs for run in p.runs if run.text == "Làm việc với Ban Tuyên giáo"]
    assert struck and struck[0].font.strike
    days = [r[0].split("\n")[0] for r in rows]
    assert days[-1] == "Thứ Bảy" and "Chủ nhật" not in days  # Saturday holds an entry, Sunday nothing
    assert "Thứ Sáu" in days  # a working day is printed even when empty
    assert any("Lần 1: Hoãn:" in w for w in words)
    assert kept["id"]


async def test_the_programme_exports_as_xlsx(world):
    import openpyxl

    annual = (await office(world, "programme.create", unit_id=world.unit_id, kind="annual", year=2027,
                           title="Chương trình công tác năm 2027 của Ban Thường vụ Tỉnh ủy"))["programme"]
    for content, extra in (("Hội nghị Ban Chấp hành lần thứ 8", {"due_month": 7, "kind": "executive_committee"}),
                           ("Tổng kết công tác xây dựng Đảng", {"due_quarter": 4, "kind": "conference",
                                                                "preparing_unit": "Ban Tổ chức Tỉnh ủy"})):
        await office(world, "programme.entry_add", programme_id=annual["id"], content=content, **extra)
    raw = await fetch(world, f"/api/programmes/{annual['id']}/export.xlsx", "vanphong")
    assert raw.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(raw.body)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[1][0] == "CHƯƠNG TRÌNH CÔNG TÁC NĂM 2027 CỦA BAN THƯỜNG VỤ TỈNH ỦY"
    assert values[2][0] == "DỰ THẢO"
    header = values.index(["STT", "Nội dung", "Loại việc", "Cơ quan chủ trì chuẩn bị", "Thời gian dự kiến",
                           "Trạng thái", "Ghi chú"])
    assert values[header + 1][:6] == [1, "Hội nghị Ban Chấp hành lần thứ 8", "Hội nghị Ban Chấp hành", None,
                                      "Tháng 7", "Dự kiến"]
    assert values[header + 2][1:5] == ["Tổng kết công tác xây dựng Đảng", "Hội nghị", "Ban Tổ chức Tỉnh ủy", "Quý IV"]
    status, _ = await world.live.request("GET", f"/api/programmes/{annual['id']}/export.xlsx",
                                         token=world.tokens["daibieu01"])
    assert status == 404  # a draft programme is the office's


def test_feeds_do_not_reach_back_forever():
    from server.api.programmes import FEED_DAYS_BACK

    assert timedelta(days=FEED_DAYS_BACK) >= timedelta(days=90)
