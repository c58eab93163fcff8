"""The demo: the sample province's units and accounts, a past meeting with its record,
and an upcoming one, built through the same commands the console sends.

Seeding is idempotent: a second `serve --demo` only resets the demo password.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import secrets
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select, update

from server.admin import caller_for, offline_app, opened
from server.auth.passwords import hash_password
from server.commands.dispatch import execute
from server.config import Settings
from server.domain.times import LOCAL
from server.store.db import Database
from server.store.tables import (
    Attendance,
    Conclusion,
    Event,
    Meeting,
    Participant,
    Poll,
    SpeakerRequest,
    Upload,
    User,
)
from server.store.views import agenda_items, agenda_list

EXAMPLES = Path(__file__).resolve().parent.parent / "agendas" / "examples"
SAMPLE = EXAMPLES / "hoi-nghi-bch-tinh.yaml"
# The upcoming meeting's papers: file, title, the agenda item (by the start of its title;
# None: the meeting's general papers), options of document.add.
DOCUMENTS = [
    ("chuong-trinh-hoi-nghi.pdf", "Chương trình hội nghị", None, {}),
    ("du-thao-bao-cao-chinh-tri.pdf", "Dự thảo Báo cáo chính trị", "Báo cáo tình hình thực hiện", {}),
    ("phuong-an-nhan-su.pdf", "Phương án nhân sự", "Báo cáo kiểm điểm",
     {"access": "confidential", "classification": "Mật"}),
]
UPCOMING = "DEMO-SAP-TOI"
PAST = "DEMO-DA-HOP"
# Who stayed away from the past meeting, and why (their attendance is part of its record).
ABSENT = {3: "Đi công tác Trung ương", 7: "Nghỉ ốm có giấy của bệnh viện"}


def ensure(settings: Settings) -> Settings:
    """Seed once; every start sets the demo accounts' password and prints it."""
    password = settings.demo_password or secrets.token_urlsafe(9)
    asyncio.run(_seed(settings, password))
    print("Demo accounts: admin, thuky (secretary), chutri (chair), daibieu01 … daibieu40, "
          "diemcau01 … diemcau12 (bridge-point operators), diemcautinh (the province hall's point, "
          "host of the online conference)", flush=True)
    if settings.demo_password:
        print("Password: the value of PHONGHOP_DEMO_PASSWORD", flush=True)
    else:
        print(f"Password (generated; set PHONGHOP_DEMO_PASSWORD to choose one): {password}", flush=True)
    return settings.with_overrides(demo_password=password)


def _at(day: datetime, hour: int) -> datetime:
    return datetime.combine(day.date(), time(hour), tzinfo=LOCAL)


def _variant(pack, code: str, day: datetime):
    """The sample meeting moved to `day`, under its own code, so it can be imported twice."""
    title = pack.meeting.title + (" (đã họp)" if code == PAST else "")
    meeting = pack.meeting.model_copy(
        update={"code": code, "title": title, "starts_at": _at(day, 8), "ends_at": _at(day, 17)}
    )
    return pack.model_copy(update={"meeting": meeting})


async def _seed(settings: Settings, password: str) -> None:
    from agendas import packs

    async with opened(settings) as db:
        async with db.read() as session:
            seeded = await session.scalar(select(Meeting.id).where(Meeting.code == UPCOMING))
        if not seeded:
            sample = SAMPLE.read_text(encoding="utf-8")
            today = datetime.now(LOCAL)
            past_day, next_day = today - timedelta(days=30), today + timedelta(days=7)
            async with db.write() as session:
                past = await packs.import_pack(session, _variant(packs.load(sample), PAST, past_day))
                upcoming = await packs.import_pack(session, _variant(packs.load(sample), UPCOMING, next_day))
            await _run_past_meeting(db, settings, past["meeting_id"])
            await _directives(db, settings, past["meeting_id"])
            await _publish(db, settings, upcoming["meeting_id"])
            await _documents(db, settings, upcoming["meeting_id"])
        await _programmes(db, settings)
        await _conference(db, settings)
        digest = await asyncio.to_thread(hash_password, password)
        async with db.write() as session:
            await session.execute(update(User).values(password_hash=digest))


async def _secretary(db: Database) -> User:
    async with db.read() as session:
        return await session.scalar(select(User).where(User.username == "thuky"))


async def _publish(db: Database, settings: Settings, meeting_id: int) -> None:
    app = offline_app(db, settings)
    await execute(app, caller_for(await _secretary(db)), "meeting.publish", None, {"meeting_id": meeting_id})


async def _documents(db: Database, settings: Settings, meeting_id: int) -> None:
    """The sample papers, uploaded and published; the server renders them when it starts."""
    from agendas.storage import Files

    files = Files(settings.data_dir)
    app = offline_app(db, settings)
    secretary = await _secretary(db)
    who = caller_for(secretary)
    async with db.read() as session:
        agenda = agenda_list(await agenda_items(session, meeting_id))
    for filename, title, item_prefix, options in DOCUMENTS:
        content = (EXAMPLES / "documents" / filename).read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        if not files.blob(sha).exists():
            files.blob(sha).parent.mkdir(parents=True, exist_ok=True)
            files.blob(sha).write_bytes(content)
        async with db.write() as session:
            upload = Upload(meeting_id=meeting_id, sha256=sha, filename=filename, kind="pdf", size=len(content),
                            by_user_id=secretary.id)
            session.add(upload)
            await session.flush()
            upload_id = upload.id
        item = next((i["id"] for i in agenda if item_prefix and i["title"].startswith(item_prefix)), None)
        await execute(app, who, "document.add", None,
                      {"meeting_id": meeting_id, "upload_id": upload_id, "title": title, "agenda_item_id": item,
                       **options})
    await execute(app, who, "document.publish", None, {"meeting_id": meeting_id})


# The past meeting's proceedings: who spoke on which item (by the start of its title), for
# how long, and the summary the secretary typed; a bridge point speaks through its operator.
SPEECHES = [
    ("Báo cáo tình hình thực hiện", "daibieu20", "Chỉ tiêu môi trường", 312,
     "Nhất trí với dự thảo báo cáo; đề nghị bổ sung chỉ tiêu tỷ lệ thu gom, xử lý chất thải rắn sinh hoạt "
     "ở khu vực nông thôn và giải pháp bảo vệ nguồn nước sông Cầu."),
    ("Báo cáo tình hình thực hiện", "daibieu33", "Bộ máy cấp xã sau sắp xếp", 245,
     "Phản ánh khó khăn của xã Tiên Du sau hợp nhất: thiếu cán bộ địa chính, trụ sở chật; kiến nghị tỉnh sớm "
     "ban hành hướng dẫn bố trí, điều động cán bộ cấp xã."),
    ("Thảo luận tại hội trường", "daibieu18", "Trường học", 280,
     "Đề nghị ưu tiên ngân sách năm 2027 cho kiên cố hóa trường lớp học và bổ sung giáo viên mầm non ở các xã "
     "mới sáp nhập."),
    ("Thảo luận tại hội trường", "diemcau11", "Ý kiến tại điểm cầu xã Tiên Du", 190,
     "Các đại biểu tại điểm cầu xã Tiên Du nhất trí với các báo cáo; đề nghị đầu tư nâng cấp tuyến đường "
     "liên xã phục vụ khu công nghiệp."),
    ("Dự thảo Nghị quyết", "daibieu05", "Công tác kiểm tra, giám sát", 205,
     "Đề nghị bổ sung vào dự thảo Nghị quyết nhiệm vụ kiểm tra, giám sát việc thực hiện các công trình, dự án "
     "trọng điểm năm 2027."),
]
# The chair's conclusion on each item (by the start of its title).
CONCLUSIONS = [
    ("Khai mạc", "Hội nghị đủ điều kiện tiến hành theo quy định; thống nhất chương trình làm việc."),
    ("Báo cáo tình hình thực hiện",
     "Hội nghị thống nhất đánh giá năm 2026 tỉnh hoàn thành và hoàn thành vượt mức 18/20 chỉ tiêu chủ yếu. "
     "Giao Ủy ban nhân dân tỉnh tiếp thu ý kiến các đại biểu, hoàn thiện báo cáo và kế hoạch năm 2027."),
    ("Báo cáo kiểm điểm",
     "Hội nghị thống nhất với báo cáo kiểm điểm; Ban Thường vụ nghiêm túc khắc phục các hạn chế đã chỉ ra."),
    ("Tờ trình về chương trình làm việc",
     "Thống nhất chương trình làm việc toàn khóa; giao Văn phòng Tỉnh ủy hoàn chỉnh, trình ban hành trong tháng 12."),
    ("Thảo luận tại hội trường",
     "Giao Ban Tổ chức Tỉnh ủy tham mưu hướng dẫn bố trí cán bộ cấp xã; Sở Tài chính cân đối nguồn vốn "
     "kiên cố hóa trường lớp học trong dự toán năm 2027."),
    ("Dự thảo Nghị quyết", "Hội nghị biểu quyết thông qua Nghị quyết về nhiệm vụ năm 2027."),
    ("Phát biểu kết luận",
     "Đề nghị các cấp ủy, tổ chức đảng quán triệt, xây dựng kế hoạch thực hiện Nghị quyết ngay từ đầu năm 2027."),
]
RESOLUTION = "Thông qua Nghị quyết Hội nghị Ban Chấp hành Đảng bộ tỉnh về nhiệm vụ năm 2027"


async def _users(db: Database) -> dict[str, User]:
    async with db.read() as session:
        return {u.username: u for u in (await session.scalars(select(User))).all()}


async def _run_past_meeting(db: Database, settings: Settings, meeting_id: int) -> None:
    """Publish with its papers, take attendance, walk the agenda with speeches, a vote and the
    chair's conclusions, and close: the record a real session leaves. The commands run now;
    then the record's times are laid on the meeting's day (`_backdate`)."""
    from server.store.ballots import BallotWriter

    app = offline_app(db, settings)
    app["ballots"] = BallotWriter(db)
    users = await _users(db)
    secretary = caller_for(users["thuky"])
    async with db.read() as session:
        meeting = await session.get(Meeting, meeting_id)
    clock = [meeting.starts_at - timedelta(days=3)]
    marks: list[tuple[int, datetime]] = []  # (last seq a step wrote, when it happened in the record)
    speeches: dict[int, tuple[datetime, datetime]] = {}
    polls: dict[int, list[datetime]] = {}
    concluded: dict[int, datetime] = {}

    async def run(name: str, who=secretary, **data) -> dict:
        answer = await execute(app, who, name, None, {"meeting_id": meeting_id, **data})
        if answer.get("seq") is not None:
            marks.append((answer["seq"], clock[0]))
        return answer["result"]

    try:
        await run("meeting.publish")
        await _documents(db, settings, meeting_id)
        clock[0] = meeting.starts_at - timedelta(minutes=20)
        async with db.read() as session:
            people = (
                await session.scalars(select(Participant).where(Participant.meeting_id == meeting_id)
                                      .order_by(Participant.id))
            ).all()
        for n, person in enumerate(people):
            if n in ABSENT:
                await run("attendance.set", participant_id=person.id, status="excused", reason=ABSENT[n])
            else:
                await run("attendance.set", participant_id=person.id, status="present")
        clock[0] = meeting.starts_at + timedelta(minutes=2)
        await run("meeting.start", caller_for(users["chutri"]))
        async with db.read() as session:
            agenda = agenda_list(await agenda_items(session, meeting_id))
        for item in (i for i in agenda if i["parent_id"] is None):
            began = clock[0]
            await run("agenda.set_current", item_id=item["id"])
            clock[0] += timedelta(minutes=5)
            for prefix, username, topic, seconds, summary in SPEECHES:
                if item["title"].startswith(prefix):
                    clock[0] += timedelta(minutes=3)
                    asked = await run("speaker.request", caller_for(users[username]), agenda_item_id=item["id"],
                                      topic=topic)
                    await run("speaker.approve", request_id=asked["request_id"])
                    start = clock[0]
                    await run("speaker.start", request_id=asked["request_id"])
                    clock[0] += timedelta(seconds=seconds)
                    await run("speaker.stop", request_id=asked["request_id"])
                    speeches[asked["request_id"]] = (start, clock[0])
                    await run("speaker.summary", request_id=asked["request_id"], summary=summary)
            if item["title"].startswith("Dự thảo Nghị quyết"):
                poll_id, times = await _vote(app, run, clock, meeting_id, item["id"], users, people)
                polls[poll_id] = times
            clock[0] = max(clock[0], began + timedelta(minutes=item["planned_minutes"] or 10))
            for prefix, text in CONCLUSIONS:
                if item["title"].startswith(prefix):
                    await run("conclusion.set", caller_for(users["chutri"]), item_id=item["id"], text=text)
                    concluded[item["id"]] = clock[0]
        clock[0] += timedelta(minutes=5)
        await run("meeting.adjourn")
        await run("meeting.close")
    finally:
        await app["ballots"].stop()
    await _backdate(db, meeting_id, marks, speeches, polls, concluded)


async def _vote(app, run, clock, meeting_id: int, item_id: int, users: dict[str, User],
                people) -> tuple[int, list[datetime]]:
    """The resolution is put to a named vote of the members present and its result published;
    the poll's id, and when it opened, closed and was published."""
    poll = await run("poll.create", kind="motion", title=RESOLUTION, agenda_item_id=item_id)
    poll_id = poll["poll_id"]
    times = [clock[0]]
    await run("poll.open", poll_id=poll_id)
    async with app["db"].read() as session:
        present = set((await session.scalars(
            select(Attendance.participant_id).where(Attendance.meeting_id == meeting_id, Attendance.status == "present")
        )).all())
    by_user = {u.id: u for u in users.values()}
    voters = [by_user[p.user_id] for p in people if p.voting and p.id in present and p.user_id in by_user]
    # Named ballots, all at once as a hall votes: one against, one abstaining, the rest for.
    choices = ["no", "abstain"] + ["yes"] * (len(voters) - 2)
    await asyncio.gather(*(
        execute(app, caller_for(v), "poll.vote", None, {"meeting_id": meeting_id, "poll_id": poll_id, "choice": c})
        for v, c in zip(voters, choices, strict=True)
    ))
    clock[0] += timedelta(minutes=3)
    times.append(clock[0])
    await run("poll.close", poll_id=poll_id)
    clock[0] += timedelta(minutes=1)
    times.append(clock[0])
    await run("poll.publish", poll_id=poll_id)
    return poll_id, times


async def _backdate(db: Database, meeting_id: int, marks: list[tuple[int, datetime]],
                    speeches: dict[int, tuple[datetime, datetime]], polls: dict[int, list[datetime]],
                    concluded: dict[int, datetime]) -> None:
    """The record says the session took place on its day, not on the day the demo was seeded:
    each logged event, speech, vote, conclusion and attendance mark gets the time it has in the
    session's timeline."""
    seqs = [seq for seq, _ in marks]

    def when(seq: int) -> datetime:
        return marks[min(bisect.bisect_left(seqs, seq), len(marks) - 1)][1]

    async with db.write() as session:
        meeting = await session.get(Meeting, meeting_id)
        await session.execute(
            update(Attendance)
            .where(Attendance.meeting_id == meeting_id)
            .values(at=meeting.starts_at - timedelta(minutes=20))
        )
        for event in (await session.scalars(select(Event).where(Event.meeting_id == meeting_id))).all():
            event.at = when(event.seq)
        for request_id, (start, end) in speeches.items():
            row = await session.get(SpeakerRequest, request_id)
            row.requested_at, row.started_at, row.ended_at = start - timedelta(minutes=2), start, end
        for poll_id, (opened, closed, published) in polls.items():
            row = await session.get(Poll, poll_id)
            row.opened_at, row.closed_at, row.published_at = opened, closed, published
        for item_id, at in concluded.items():
            (await session.get(Conclusion, item_id)).at = at


# --- The past meeting's directives (docs/directives.md) ----------------------------------------

# Drawn from the chair's conclusions: (the item, by the start of its title; title; lead unit code or
# None; coordinating unit codes; responsible accounts; deadline in days from today; what happened:
# None, a progress report (percent, text, by whom), "accepted").
DIRECTIVES = [
    ("Báo cáo tình hình thực hiện", "Hoàn thiện báo cáo và kế hoạch phát triển kinh tế - xã hội năm 2027", None, [],
     ["daibieu01", "daibieu02"], -10, None),
    ("Thảo luận tại hội trường", "Nâng cấp tuyến đường liên xã phục vụ khu công nghiệp", "BN-X-TIENDU",
     ["BN-X-QUEVO"], ["daibieu33"], 5,
     (40, "Đã khảo sát hiện trạng tuyến đường, lập báo cáo kinh tế - kỹ thuật; đang trình thẩm định.", "daibieu33")),
    ("Thảo luận tại hội trường", "Hướng dẫn bố trí, điều động cán bộ cấp xã sau sắp xếp", None, ["BN-X-TIENDU"],
     ["daibieu03"], 30, None),
    ("Thảo luận tại hội trường", "Cân đối nguồn vốn kiên cố hóa trường lớp học trong dự toán năm 2027", None, [],
     ["daibieu18"], 12,
     (100, "Đã trình Ủy ban nhân dân tỉnh phương án bố trí vốn trong dự toán năm 2027.", "daibieu18")),
    ("Tờ trình về chương trình làm việc", "Hoàn chỉnh chương trình làm việc toàn khóa, trình ban hành", None, [],
     ["thuky"], -5, "accepted"),
]


async def _directives(db: Database, settings: Settings, meeting_id: int) -> None:
    """The chair's conclusions turned into directives: one overdue, one with a progress report,
    one reported done and waiting for the secretariat, one accepted; created the day after the
    meeting, as the secretariat would have."""
    from server.store.tables import Directive, DirectiveHistory, DirectiveReport, Unit

    app = offline_app(db, settings)
    users = await _users(db)
    secretary = caller_for(users["thuky"])
    async with db.read() as session:
        agenda = agenda_list(await agenda_items(session, meeting_id))
        units = dict((await session.execute(select(Unit.code, Unit.id))).all())
        meeting = await session.get(Meeting, meeting_id)
    today = datetime.now(LOCAL).date()
    for prefix, title, lead, coordinating, people, days, then in DIRECTIVES:
        item = next(i["id"] for i in agenda if i["title"].startswith(prefix))
        made = await execute(app, secretary, "directive.create", None, {
            "meeting_id": meeting_id, "agenda_item_id": item, "title": title,
            "lead_unit_id": units[lead] if lead else None, "coordinating_unit_ids": [units[c] for c in coordinating],
            "responsible_user_ids": [users[u].id for u in people], "deadline": (today + timedelta(days=days)).isoformat(),
        })
        directive_id = made["result"]["directive"]["id"]
        if isinstance(then, tuple):
            percent, text, who = then
            await execute(app, caller_for(users[who]), "directive.report", None,
                          {"meeting_id": meeting_id, "directive_id": directive_id, "percent": percent, "text": text})
        elif then == "accepted":
            await execute(app, secretary, "directive.accept", None,
                          {"meeting_id": meeting_id, "directive_id": directive_id, "note": "Đã ban hành"})
    # The record's times: assigned the day after the meeting, reported three days ago, the accepted
    # one finished a few days before its deadline.
    assigned = meeting.ends_at + timedelta(days=1)
    reported = datetime.now(LOCAL) - timedelta(days=3)
    async with db.write() as session:
        for row in (await session.scalars(select(Directive).where(Directive.meeting_id == meeting_id))).all():
            done_at = assigned + timedelta(days=max(1, (row.deadline - assigned.astimezone(LOCAL).date()).days - 3))
            when = {"created": assigned, "reported": reported, "accepted": done_at}
            row.created_at = row.updated_at = assigned
            for step in (await session.scalars(select(DirectiveHistory).where(
                    DirectiveHistory.directive_id == row.id))).all():
                step.at = when.get(step.action, step.at)
            for report in (await session.scalars(select(DirectiveReport).where(
                    DirectiveReport.directive_id == row.id))).all():
                report.at = row.reported_at = row.updated_at = reported
            if row.completed_at is not None:
                row.completed_at = row.updated_at = done_at


# --- Work programmes and the weekly schedule (docs/programmes.md) ------------------------------

# The province's annual programme: (due month or quarter, kind, content, preparing unit, state,
# reason). Entries of months gone by are done or postponed; the entry of the upcoming meeting's
# month (None here: its month follows the meeting) is scheduled and linked to that meeting.
PROGRAMME = [
    ({"due_month": 1}, "executive_committee", "Hội nghị Ban Chấp hành Đảng bộ tỉnh tổng kết công tác năm",
     "Văn phòng Tỉnh ủy"),
    ({"due_month": 2}, "standing_committee", "Ban Thường vụ cho ý kiến về Đề án sắp xếp đơn vị sự nghiệp công lập",
     "Ban Tổ chức Tỉnh ủy"),
    ({"due_quarter": 1}, "inspection", "Kiểm tra việc thực hiện Quy chế dân chủ ở cơ sở tại các xã, phường",
     "Ủy ban Kiểm tra Tỉnh ủy"),
    ({"due_month": 4}, "conference", "Hội nghị sơ kết 5 năm thực hiện Nghị quyết về chuyển đổi số",
     "Ban Tuyên giáo và Dân vận Tỉnh ủy"),
    ({"due_quarter": 2}, "document", "Xây dựng Chỉ thị về lãnh đạo đại hội đảng bộ cơ sở",
     "Ban Tổ chức Tỉnh ủy"),
    ({"due_month": 7}, "executive_committee", "Hội nghị Ban Chấp hành Đảng bộ tỉnh sơ kết 6 tháng đầu năm",
     "Văn phòng Tỉnh ủy"),
    ({"due_month": 9}, "standing_committee", "Ban Thường vụ nghe báo cáo tiến độ các công trình trọng điểm",
     "Đảng ủy Ủy ban nhân dân tỉnh"),
    ({"due_quarter": 4}, "conference", "Hội nghị tổng kết công tác kiểm tra, giám sát",
     "Ủy ban Kiểm tra Tỉnh ủy"),
]
POSTPONED = ("Hội nghị sơ kết 5 năm", "Chờ hướng dẫn của Ban Tuyên giáo và Dân vận Trung ương")
# A week's schedule: (weekday 0-6, start, end or None, content, place, presiding account,
# attendee accounts, attendees as printed, preparing unit).
WEEK = [
    (0, (8, 0), (9, 30), "Giao ban Thường trực Tỉnh ủy", "Phòng họp Thường trực Tỉnh ủy", "chutri",
     ["daibieu01", "daibieu02"], "Lãnh đạo Văn phòng Tỉnh ủy", "Văn phòng Tỉnh ủy"),
    (1, (8, 0), (11, 30), "Họp Ban Thường vụ Tỉnh ủy: cho ý kiến về dự thảo Báo cáo chính trị; công tác cán bộ",
     "Phòng họp số 1, trụ sở Tỉnh ủy", "chutri", ["daibieu01", "daibieu02", "daibieu03", "daibieu04", "daibieu05"],
     "Các đồng chí Ủy viên Ban Thường vụ Tỉnh ủy", "Ban Tổ chức Tỉnh ủy"),
    (2, (14, 0), (16, 30), "Làm việc với Đảng ủy xã Tiên Du về công tác xây dựng Đảng sau sắp xếp",
     "Trụ sở Đảng ủy xã Tiên Du", "daibieu01", ["daibieu03"], "Lãnh đạo các ban xây dựng Đảng Tỉnh ủy",
     "Ban Tổ chức Tỉnh ủy"),
    (3, (8, 0), None, "Tiếp công dân định kỳ", "Trụ sở Tiếp công dân tỉnh", "chutri", ["daibieu06"],
     "Ban Nội chính Tỉnh ủy", "Ban Tiếp công dân tỉnh"),
    (4, (8, 0), (11, 0), "Dự Hội nghị trực tuyến toàn quốc quán triệt Nghị quyết của Bộ Chính trị",
     "Hội trường Tỉnh ủy (điểm cầu tỉnh)", "chutri", ["daibieu01", "daibieu02", "daibieu04"],
     "Ủy viên Ban Chấp hành Đảng bộ tỉnh", "Văn phòng Tỉnh ủy"),
]
CANCELLED = "Ban Nội chính Tỉnh ủy báo cáo: lùi sang tuần sau do trùng lịch làm việc với đoàn công tác Trung ương"


async def _programmes(db: Database, settings: Settings) -> None:
    """An annual programme of the province's standing committee, and a published schedule for this
    week and the next; the upcoming meeting is on next week's schedule and in the programme. Seeded
    once, also into a demo made before programmes existed."""
    from server.domain.programmes import IsoWeek
    from server.store.tables import Programme, ProgrammeEntry, ScheduleEntry, Unit, utcnow

    async with db.read() as session:
        if await session.scalar(select(Programme.id).limit(1)) is not None:
            return
        province = await session.scalar(select(Unit).where(Unit.code == "BN"))
        upcoming = await session.scalar(select(Meeting).where(Meeting.code == UPCOMING))
    if province is None or upcoming is None:
        return
    app = offline_app(db, settings)
    users = await _users(db)
    office = caller_for(users["thuky"])

    async def run(name: str, **data) -> dict:
        return (await execute(app, office, name, None, data))["result"]

    today = datetime.now(LOCAL)
    meeting_day = upcoming.starts_at.astimezone(LOCAL)
    programme = (await run("programme.create", unit_id=province.id, kind="annual", year=meeting_day.year,
                           title=f"Chương trình công tác năm {meeting_day.year} của Ban Thường vụ Tỉnh ủy"))["programme"]
    for due, kind, content, preparing in PROGRAMME:
        entry = (await run("programme.entry_add", programme_id=programme["id"], kind=kind, content=content,
                           preparing_unit=preparing, **due))["entry"]
        month = due.get("due_month") or 3 * due["due_quarter"]  # a quarter is over when its last month is
        if content.startswith(POSTPONED[0]) and (meeting_day.year, month) < (today.year, today.month):
            await run("programme.entry_set_state", entry_id=entry["id"], state="postponed", reason=POSTPONED[1])
        elif (meeting_day.year, month) < (today.year, today.month):
            await run("programme.entry_set_state", entry_id=entry["id"], state="done")
    linked = (await run("programme.entry_add", programme_id=programme["id"], kind="executive_committee",
                        content=upcoming.title, preparing_unit="Văn phòng Tỉnh ủy",
                        due_month=meeting_day.month))["entry"]
    await run("programme.publish", programme_id=programme["id"])

    this_week = IsoWeek.of(today)
    schedule_entry_id = None
    for week in (this_week, this_week.shift(1)):
        for weekday, start, end, content, place, chair, attendees, note, preparing in WEEK:
            day = week.days[weekday]
            if day == meeting_day.date():
                continue  # the committee sits in its conference all that day
            await run("schedule.entry_add", unit_id=province.id, content=content, place=place,
                      starts_at=datetime.combine(day, time(*start), tzinfo=LOCAL).isoformat(),
                      ends_at=datetime.combine(day, time(*end), tzinfo=LOCAL).isoformat() if end else None,
                      presiding_user_id=users[chair].id, attendee_ids=[users[u].id for u in attendees],
                      attendees_note=note, preparing_unit=preparing)
        if week == IsoWeek.of(meeting_day):
            # The upcoming meeting on the schedule, from its programme entry.
            made = await run("schedule.entry_add", unit_id=province.id, content=upcoming.title, place=upcoming.place,
                             starts_at=upcoming.starts_at.isoformat(),
                             ends_at=upcoming.ends_at.isoformat() if upcoming.ends_at else None,
                             presiding_user_id=users["chutri"].id, attendees_note="Ủy viên Ban Chấp hành Đảng bộ tỉnh",
                             preparing_unit="Văn phòng Tỉnh ủy",
                             programme_entry_id=linked["id"])
            schedule_entry_id = made["entry"]["id"]
        await run("schedule.publish", unit_id=province.id, year=week.year, week=week.week)
    # This week's schedule was reissued once: the reception of citizens moved to the next week.
    async with db.read() as session:
        reception = await session.scalar(select(ScheduleEntry.id).where(
            ScheduleEntry.content == "Tiếp công dân định kỳ", ScheduleEntry.starts_at >= this_week.starts_at,
            ScheduleEntry.starts_at < this_week.ends_at))
    await run("schedule.entry_cancel", entry_id=reception, reason=CANCELLED)
    await run("schedule.publish", unit_id=province.id, year=this_week.year, week=this_week.week)
    # The meeting itself came from a pack, before any schedule: the links a "Tạo cuộc họp" would
    # have made are laid here.
    async with db.write() as session:
        entry = await session.get(ProgrammeEntry, linked["id"])
        entry.meeting_id, entry.updated_at = upcoming.id, utcnow()
        if schedule_entry_id is not None:
            (await session.get(ScheduleEntry, schedule_entry_id)).meeting_id = upcoming.id



# --- The online conference (docs/conference.md) --------------------------------------------------

CONFERENCE = "DEMO-TRUC-TUYEN"
CONFERENCE_TITLE = "Hội nghị trực tuyến quán triệt, triển khai Nghị quyết Hội nghị Ban Chấp hành Đảng bộ tỉnh"
# The province hall's point (the host: its feed is the main feed) has its own operator account.
HOST_OPERATOR = ("diemcautinh", "Lưu Văn Khải", "Cán bộ kỹ thuật điểm cầu Tỉnh ủy")
# The communes and wards invited, and their operators' accounts (the sample pack's).
CONFERENCE_POINTS = [
    ("BN-X-TIENDU", "diemcau11"),
    ("BN-X-QUEVO", "diemcau09"),
    ("BN-P-KINHBAC", "diemcau02"),
    ("BN-P-BACGIANG", "diemcau01"),
]
CONFERENCE_AGENDA = [
    ("Khai mạc, giới thiệu đại biểu tại các điểm cầu", 10),
    ("Quán triệt Nghị quyết Hội nghị Ban Chấp hành Đảng bộ tỉnh", 60),
    ("Ý kiến của các điểm cầu xã, phường", 40),
    ("Phát biểu kết luận", 15),
]


async def _conference(db: Database, settings: Settings) -> None:
    """A second upcoming meeting, published, with its online conference scheduled: the province
    hall hosts it and a few communes and wards are invited, each with its operator, so that
    `serve --demo` shows the conference console, the bridge page and the operations screen with
    something in them. Seeded once, also into a demo made before conferences were seeded; it
    starts before the upcoming committee meeting, which stays the first published meeting."""
    from server.store.tables import Unit

    async with db.read() as session:
        if await session.scalar(select(Meeting.id).where(Meeting.code == CONFERENCE)) is not None:
            return
        rows = (await session.execute(select(Unit.code, Unit.id, Unit.name))).all()
        upcoming = await session.scalar(select(Meeting).where(Meeting.code == UPCOMING))
    units = {code: unit_id for code, unit_id, _ in rows}
    names = {code: name for code, _, name in rows}
    if upcoming is None or "BN" not in units or any(code not in units for code, _ in CONFERENCE_POINTS):
        return
    username, full_name, title = HOST_OPERATOR
    async with db.write() as session:
        if await session.scalar(select(User.id).where(User.username == username)) is None:
            # No password here: every demo account gets the demo password at the end of seeding.
            session.add(User(username=username, full_name=full_name, roles=[], unit_id=units["BN"]))
    app = offline_app(db, settings)
    users = await _users(db)
    office = caller_for(users["thuky"])

    async def run(name: str, **data) -> dict:
        return (await execute(app, office, name, None, data))["result"]

    day = datetime.now(LOCAL) + timedelta(days=3)
    if day.date() >= upcoming.starts_at.astimezone(LOCAL).date():
        day = upcoming.starts_at.astimezone(LOCAL) - timedelta(days=1)
    meeting = (await run("meeting.create", title=CONFERENCE_TITLE, unit_id=units["BN"], code=CONFERENCE,
                         place="Hội trường Tỉnh ủy (điểm cầu chính) và các điểm cầu xã, phường",
                         starts_at=_at(day, 14).isoformat(), ends_at=_at(day, 16).isoformat()))["meeting"]
    meeting_id = meeting["id"]
    people = [("chutri", "chair", "Bí thư Tỉnh ủy", "BN", True), ("thuky", "secretary", "Chánh Văn phòng Tỉnh ủy",
                                                                  "BN", True)]
    people += [(f"daibieu{n:02d}", "delegate", "Ủy viên Ban Thường vụ Tỉnh ủy", "BN", True) for n in range(1, 6)]
    people.append((username, "operator", title, "BN", False))
    people += [(operator, "operator", f"Cán bộ kỹ thuật điểm cầu {names[code]}", code, False)
               for code, operator in CONFERENCE_POINTS]
    for who, role, job, unit, voting in people:
        await run("participant.add", meeting_id=meeting_id, user_id=users[who].id, role=role, title=job,
                  unit_id=units[unit], voting=voting)
    for item_title, minutes in CONFERENCE_AGENDA:
        await run("agenda.add", meeting_id=meeting_id, title=item_title, planned_minutes=minutes)
    await run("meeting.publish", meeting_id=meeting_id)
    await run("conference.schedule", meeting_id=meeting_id, host_unit_id=units["BN"])
    await run("conference.invite", meeting_id=meeting_id, unit_ids=[units[code] for code, _ in CONFERENCE_POINTS])
