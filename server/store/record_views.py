"""The session's record read for the minutes and the conclusion notice (docs/records.md),
and those documents and the chair's conclusions as the wire shows them.

`read_record` gathers what the session left (people and their attendance, the documents
used, the agenda, the speeches with their summaries, the poll results, the chair's
conclusions, the real opening and closing times from the event log) into the domain's
`records.Record`; server/domain/records.py turns it into a document's content.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import records as rules
from server.domain.times import iso
from server.store import views
from server.store.poll_views import poll_dict
from server.store.tables import (
    Attendance,
    Conclusion,
    Document,
    DocumentVersion,
    Event,
    Meeting,
    MeetingRecord,
    Participant,
    Poll,
    SpeakerRequest,
    Unit,
)


def conclusion_dict(c: Conclusion) -> dict:
    return {"agenda_item_id": c.agenda_item_id, "text": c.text, "updated_at": iso(c.at)}


async def conclusions(db: AsyncSession, meeting_id: int) -> list[Conclusion]:
    rows = await db.scalars(select(Conclusion).where(Conclusion.meeting_id == meeting_id))
    return list(rows.all())


def record_meta(r: MeetingRecord) -> dict:
    """What every screen needs to know of a record, without its content."""
    files = None
    if r.state == rules.FINAL:
        files = {"docx": {"sha256": r.docx_sha256, "size": r.docx_size},
                 "pdf": {"sha256": r.pdf_sha256, "size": r.pdf_size}}
    return {
        "kind": r.kind,
        "state": r.state,
        "revision": r.revision,
        "updated_at": iso(r.updated_at),
        "final_at": iso(r.final_at),
        "files": files,
        "signed_by": r.signed_by,
    }


def record_dict(r: MeetingRecord) -> dict:
    return {**record_meta(r), "content": r.content}


async def record_row(db: AsyncSession, meeting_id: int, kind: str) -> MeetingRecord | None:
    return await db.scalar(
        select(MeetingRecord).where(MeetingRecord.meeting_id == meeting_id, MeetingRecord.kind == kind)
    )


def visible_record(r: MeetingRecord | None, staff: bool) -> MeetingRecord | None:
    """Drafts are for the staff and the chair; every participant reads the final."""
    if r is None or (r.state != rules.FINAL and not staff):
        return None
    return r


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    rows = (await db.scalars(select(MeetingRecord).where(MeetingRecord.meeting_id == meeting.id))).all()
    records: dict = dict.fromkeys(rules.KINDS)
    for r in rows:
        shown = visible_record(r, staff)
        if shown is not None:
            records[r.kind] = record_meta(shown)
    return {
        "conclusions": [conclusion_dict(c) for c in await conclusions(db, meeting.id)],
        "records": records,
    }


# --- the record ---------------------------------------------------------------------


async def _session_times(db: AsyncSession, meeting_id: int):
    """When the session really opened (the first meeting.start) and closed (the last close)."""
    rows = (await db.execute(
        select(Event.at, Event.data).where(Event.meeting_id == meeting_id, Event.type == "meeting.updated")
        .order_by(Event.seq)
    )).all()
    started = ended = None
    for at, data in rows:
        status = ((data or {}).get("meeting") or {}).get("status")
        if status == "in_session" and started is None:
            started = at
        if status == "closed":
            ended = at
    return started, ended


async def _documents(db: AsyncSession, meeting_id: int, order: dict[int, int]) -> list[str]:
    """The papers given to the meeting (published, recalled ones too), in agenda order."""
    rows = (await db.scalars(
        select(Document).where(Document.meeting_id == meeting_id, Document.published_at.is_not(None),
                               Document.removed_at.is_(None))
    )).all()
    versions = {}
    ids = [d.current_version_id for d in rows if d.current_version_id]
    if ids:
        versions = {v.id: v for v in (await db.scalars(select(DocumentVersion).where(DocumentVersion.id.in_(ids))))}
    rows = sorted(rows, key=lambda d: (-1 if d.agenda_item_id is None else order.get(d.agenda_item_id, 10**6),
                                       d.position, d.id))
    out = []
    for d in rows:
        v = versions.get(d.current_version_id)
        pages = f" ({v.pages_total} trang)" if v is not None and v.pages_total else ""
        out.append(f"{d.title}{pages}")
    return out


async def _speeches(db: AsyncSession, meeting_id: int) -> list[rules.Speech]:
    rows = (await db.scalars(
        select(SpeakerRequest).where(SpeakerRequest.meeting_id == meeting_id,
                                     SpeakerRequest.state.in_(("speaking", "done")))
    )).all()
    rows = sorted(rows, key=lambda r: (r.started_at is None, r.started_at, r.id))
    people = {}
    ids = {r.participant_id for r in rows if r.participant_id is not None}
    if ids:
        people = {p.id: p for p in (await db.scalars(select(Participant).where(Participant.id.in_(ids))))}
    points = {r.point for r in rows if r.point}
    units = {}
    if points:
        units = dict((await db.execute(select(Unit.code, Unit.name).where(Unit.code.in_(points)))).all())
    out = []
    for r in rows:
        seconds = None
        if r.started_at is not None and r.ended_at is not None:
            seconds = int((r.ended_at - r.started_at).total_seconds())
        if r.point:
            name, title = f"Điểm cầu {units.get(r.point, r.point)}", ""
        else:
            person = people.get(r.participant_id)
            name, title = (person.full_name, person.title) if person else ("", "")
        out.append(rules.Speech(r.id, r.agenda_item_id, name, title, seconds, r.summary, r.topic, bool(r.point)))
    return out


async def _polls(db: AsyncSession, meeting_id: int) -> list[rules.PollRecord]:
    rows = (await db.scalars(
        select(Poll).where(Poll.meeting_id == meeting_id, Poll.state.in_(("closed", "published"))).order_by(Poll.id)
    )).all()
    out = []
    for row in rows:
        wire = poll_dict(row, voted=0, hands={}, show_result=True)
        out.append(rules.PollRecord(row.id, row.agenda_item_id, rules.poll_text(wire)))
    return out


async def read_record(db: AsyncSession, meeting: Meeting) -> rules.Record:
    unit = await db.get(Unit, meeting.unit_id)
    people = await views.participants(db, meeting.id)
    marks = {a.participant_id: a for a in (await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)))}
    persons = tuple(
        rules.Person(p.id, p.full_name, p.title, p.role,
                     marks[p.id].status if p.id in marks else "unknown", marks[p.id].reason if p.id in marks else "")
        for p in people
    )
    agenda = views.agenda_list(await views.agenda_items(db, meeting.id))
    items = tuple(rules.Item(i["id"], i["number"], i["title"], i["presenter"], i["parent_id"]) for i in agenda)
    order = {i.id: n for n, i in enumerate(items)}
    started, ended = await _session_times(db, meeting.id)
    return rules.Record(
        meeting_id=meeting.id,
        title=meeting.title,
        place=meeting.place,
        unit_name=unit.name if unit else "",
        unit_level=unit.level if unit else "",
        planned_start=meeting.starts_at,
        planned_end=meeting.ends_at,
        started_at=started,
        ended_at=ended,
        people=persons,
        documents=tuple(await _documents(db, meeting.id, order)),
        items=items,
        speeches=tuple(await _speeches(db, meeting.id)),
        polls=tuple(await _polls(db, meeting.id)),
        conclusions={c.agenda_item_id: c.text for c in await conclusions(db, meeting.id) if c.text},
    )
