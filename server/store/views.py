"""Rows as the wire shows them (docs/protocol.md), and the meeting snapshot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import agenda as agenda_rules
from server.domain import quorum as quorum_rules
from server.domain.text import name_key
from server.domain.times import iso
from server.store.tables import AgendaItem, Attendance, Meeting, Participant, PointAttendance, Unit


def meeting_dict(m: Meeting) -> dict:
    return {
        "id": m.id,
        "code": m.code,
        "title": m.title,
        "unit_id": m.unit_id,
        "place": m.place,
        "starts_at": iso(m.starts_at),
        "ends_at": iso(m.ends_at),
        "status": m.status,
        "quorum": m.quorum,
        "current_item_id": m.current_item_id,
    }


def participant_dict(p: Participant) -> dict:
    return {
        "id": p.id,
        "user_id": p.user_id,
        "full_name": p.full_name,
        "title": p.title,
        "unit_id": p.unit_id,
        "role": p.role,
        "voting": p.voting,
    }


def attendance_dict(a: Attendance) -> dict:
    return {"participant_id": a.participant_id, "status": a.status, "reason": a.reason, "at": iso(a.at)}


def unit_dict(u: Unit) -> dict:
    return {
        "id": u.id,
        "code": u.code,
        "name": u.name,
        "level": u.level,
        "parent_id": u.parent_id,
        "valid_from": u.valid_from.isoformat() if u.valid_from else None,
        "valid_to": u.valid_to.isoformat() if u.valid_to else None,
    }


async def agenda_items(db: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return list((await db.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))).all())


def slots(items: list[AgendaItem]) -> list[agenda_rules.Slot]:
    return [agenda_rules.Slot(i.id, i.parent_id, i.position) for i in items]


def agenda_list(items: list[AgendaItem]) -> list[dict]:
    by_id = {i.id: i for i in items}
    out = []
    for slot, number in agenda_rules.display_order(slots(items)):
        i = by_id[slot.id]
        out.append(
            {
                "id": i.id,
                "parent_id": i.parent_id,
                "position": i.position,
                "number": number,
                "title": i.title,
                "presenter": i.presenter,
                "planned_minutes": i.planned_minutes,
                "unit_id": i.unit_id,
            }
        )
    return out


async def quorum(db: AsyncSession, meeting: Meeting) -> dict:
    """The quorum, with counts by role and the people seated at each bridge point."""
    rows = (
        await db.execute(
            select(Participant.role, Participant.voting, Attendance.status)
            .outerjoin(Attendance, Attendance.participant_id == Participant.id)
            .where(Participant.meeting_id == meeting.id)
        )
    ).all()
    members = sum(1 for _, voting, _ in rows if voting)
    present = sum(1 for _, voting, status in rows if voting and status == "present")
    by_role: dict[str, dict] = {}
    for role, _, status in rows:
        counts = by_role.setdefault(role, {"invited": 0, "present": 0})
        counts["invited"] += 1
        counts["present"] += status == "present"
    points = (
        await db.execute(
            select(Unit.code, Unit.name, PointAttendance.seated, PointAttendance.at)
            .join(PointAttendance, PointAttendance.unit_id == Unit.id)
            .where(PointAttendance.meeting_id == meeting.id)
        )
    ).all()
    figure = quorum_rules.compute(members, present, quorum_rules.parse_fraction(meeting.quorum)).as_dict()
    figure["by_role"] = by_role
    figure["by_point"] = {code: {"name": name, "seated": seated, "at": iso(at)} for code, name, seated, at in points}
    return figure


async def participants(db: AsyncSession, meeting_id: int) -> list[Participant]:
    rows = (await db.scalars(select(Participant).where(Participant.meeting_id == meeting_id))).all()
    return sorted(rows, key=lambda p: (name_key(p.full_name), p.id))


async def snapshot(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool = False) -> dict:
    """Everything a screen needs to show the meeting, as `staff` (who sees the secretariat's
    audience) or as a participant."""
    from server.store import comment_views, document_views, poll_views, record_views, speaker_views

    people = await participants(db, meeting.id)
    attendance = (await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))).all()
    parts: dict = {}
    for part in (poll_views, speaker_views, comment_views, document_views, record_views):
        parts.update(await part.snapshot_part(db, meeting, me, staff))
    return {
        **parts,
        "meeting": meeting_dict(meeting),
        "agenda": agenda_list(await agenda_items(db, meeting.id)),
        "participants": [participant_dict(p) for p in people],
        "attendance": {str(a.participant_id): attendance_dict(a) for a in attendance},
        "quorum": await quorum(db, meeting),
        "me": {"participant_id": me.id if me else None, "role": me.role if me else None},
        "head": meeting.last_seq,
    }
