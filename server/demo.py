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
          "diemcau01 … diemcau12 (bridge-point operators)", flush=True)
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
            await _publish(db, settings, upcoming["meeting_id"])
            await _documents(db, settings, upcoming["meeting_id"])
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
