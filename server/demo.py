"""The demo: the sample province's units and accounts, a past meeting with its record,
and an upcoming one, built through the same commands the console sends.

Seeding is idempotent: a second `serve --demo` only resets the demo password.
"""

from __future__ import annotations

import asyncio
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
from server.store.tables import Attendance, Meeting, Participant, Upload, User
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


async def _run_past_meeting(db: Database, settings: Settings, meeting_id: int) -> None:
    """Publish, take attendance, walk the agenda and close: the record a real session leaves."""
    app = offline_app(db, settings)
    who = caller_for(await _secretary(db))

    async def run(name: str, **data) -> dict:
        return (await execute(app, who, name, None, {"meeting_id": meeting_id, **data}))["result"]

    await run("meeting.publish")
    async with db.read() as session:
        people = (
            await session.scalars(select(Participant).where(Participant.meeting_id == meeting_id).order_by(Participant.id))
        ).all()
    for n, person in enumerate(people):
        if n in ABSENT:
            await run("attendance.set", participant_id=person.id, status="excused", reason=ABSENT[n])
        else:
            await run("attendance.set", participant_id=person.id, status="present")
    await run("meeting.start")
    async with db.read() as session:
        agenda = agenda_list(await agenda_items(session, meeting_id))
    for item in agenda:
        if item["parent_id"] is None:
            await run("agenda.set_current", item_id=item["id"])
    await run("meeting.adjourn")
    await run("meeting.close")
    # The record says people arrived before the opening, not on the day the demo was seeded.
    async with db.write() as session:
        meeting = await session.get(Meeting, meeting_id)
        await session.execute(
            update(Attendance)
            .where(Attendance.meeting_id == meeting_id)
            .values(at=meeting.starts_at - timedelta(minutes=20))
        )

