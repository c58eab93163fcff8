"""Programmes and weekly schedules as the wire shows them (docs/programmes.md), and the reads
behind the week's page, its exports and the calendar feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import programmes as rules
from server.domain.text import name_key
from server.domain.times import iso, local
from server.store.tables import (
    Meeting,
    Programme,
    ProgrammeEntry,
    ScheduleAttendee,
    ScheduleChange,
    ScheduleEntry,
    ScheduleWeek,
    Unit,
    User,
)

# --- programmes ----------------------------------------------------------------------------------


def due_of(e: ProgrammeEntry) -> rules.Due:
    return rules.Due(month=e.due_month, quarter=e.due_quarter, day=e.due_date)


def meeting_link(m: Meeting | None) -> dict | None:
    """The meeting made from an entry, with its state, as the entry shows it."""
    if m is None:
        return None
    return {"id": m.id, "title": m.title, "status": m.status, "starts_at": iso(m.starts_at)}


async def meetings_by_id(db: AsyncSession, ids) -> dict[int, Meeting]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in (await db.scalars(select(Meeting).where(Meeting.id.in_(wanted)))).all()}


def programme_dict(p: Programme, counts: dict[str, int] | None = None) -> dict:
    out = {
        "id": p.id,
        "unit_id": p.unit_id,
        "kind": p.kind,
        "year": p.year,
        "month": p.month,
        "period": p.period,
        "title": p.title,
        "state": p.state,
        "published_at": iso(p.published_at),
    }
    if counts is not None:
        out["counts"] = counts
    return out


def programme_entry_dict(e: ProgrammeEntry, meetings: dict[int, Meeting]) -> dict:
    due = due_of(e)
    return {
        "id": e.id,
        "programme_id": e.programme_id,
        "position": e.position,
        "content": e.content,
        "kind": e.kind,
        "preparing_unit": e.preparing_unit,
        "preparing_unit_id": e.preparing_unit_id,
        "due_month": e.due_month,
        "due_quarter": e.due_quarter,
        "due_date": e.due_date.isoformat() if e.due_date else None,
        "due_label": due.label(),
        "state": e.state,
        "reason": e.reason,
        "meeting": meeting_link(meetings.get(e.meeting_id)) if e.meeting_id else None,
        "updated_at": iso(e.updated_at),
    }


async def programme_entries(db: AsyncSession, p: Programme) -> list[ProgrammeEntry]:
    rows = (await db.scalars(select(ProgrammeEntry).where(ProgrammeEntry.programme_id == p.id))).all()
    return sorted(rows, key=lambda e: rules.entry_order(p.year, due_of(e), e.position, e.id))


async def programme_view(db: AsyncSession, p: Programme) -> dict:
    entries = await programme_entries(db, p)
    meetings = await meetings_by_id(db, (e.meeting_id for e in entries))
    unit = await db.get(Unit, p.unit_id)
    return {
        "programme": programme_dict(p),
        "unit": {"id": unit.id, "name": unit.name} if unit else None,
        "entries": [programme_entry_dict(e, meetings) for e in entries],
    }


async def programme_list(db: AsyncSession, unit_id: int | None, year: int | None, *, office: bool) -> list[dict]:
    query = select(Programme)
    if unit_id is not None:
        query = query.where(Programme.unit_id == unit_id)
    if year is not None:
        query = query.where(Programme.year == year)
    if not office:
        query = query.where(Programme.state == rules.Publication.PUBLISHED)
    rows = (await db.scalars(query)).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        for programme_id, state, n in (await db.execute(
            select(ProgrammeEntry.programme_id, ProgrammeEntry.state, func.count())
            .where(ProgrammeEntry.programme_id.in_([p.id for p in rows]))
            .group_by(ProgrammeEntry.programme_id, ProgrammeEntry.state)
        )).all():
            counts.setdefault(programme_id, {})[state] = n
    # The annual programme first, then its months in order; the newest year first.
    rows = sorted(rows, key=lambda p: (-p.year, p.month or 0, p.unit_id))
    return [programme_dict(p, counts.get(p.id, {})) for p in rows]


# --- the weekly schedule -------------------------------------------------------------------------


def week_dict(row: ScheduleWeek | None, unit_id: int, week: rules.IsoWeek, pending: int, *, office: bool) -> dict:
    # A draft is the office's work in progress: to everyone else the week has no schedule yet.
    shown = row is not None and (office or row.state == rules.Publication.PUBLISHED)
    issue = row.issue if shown else 0
    return {
        "unit_id": unit_id,
        "key": week.key,
        "year": week.year,
        "week": week.week,
        "monday": week.monday.isoformat(),
        "sunday": week.sunday.isoformat(),
        "days": [d.isoformat() for d in week.days],
        "state": row.state if shown else "none",
        "issue": issue,
        "amendment": max(issue - 1, 0),  # "điều chỉnh lần N" of the current issue
        "pending_changes": pending if shown else 0,
        "published_at": iso(row.published_at) if shown else None,
        "previous": week.shift(-1).key,
        "next": week.shift(1).key,
    }


def schedule_entry_dict(e: ScheduleEntry, week: rules.IsoWeek, attendees: list[User],
                        meetings: dict[int, Meeting]) -> dict:
    return {
        "id": e.id,
        "week": week.key,
        "day": local(e.starts_at).date().isoformat(),
        "starts_at": iso(e.starts_at),
        "ends_at": iso(e.ends_at),
        "place": e.place,
        "content": e.content,
        "presiding": e.presiding,
        "presiding_user_id": e.presiding_user_id,
        "attendee_ids": [u.id for u in attendees],
        "attendees": [{"id": u.id, "full_name": u.full_name} for u in attendees],
        "attendees_note": e.attendees_note,
        "preparing_unit": e.preparing_unit,
        "preparing_unit_id": e.preparing_unit_id,
        "status": e.status,
        "reason": e.reason,
        "amendment": e.amendment,
        "sequence": e.sequence,
        "programme_entry_id": e.programme_entry_id,
        "meeting": meeting_link(meetings.get(e.meeting_id)) if e.meeting_id else None,
        "updated_at": iso(e.updated_at),
    }


async def attendees_of(db: AsyncSession, entry_ids: list[int]) -> dict[int, list[User]]:
    out: dict[int, list[User]] = {i: [] for i in entry_ids}
    if not entry_ids:
        return out
    rows = (await db.execute(
        select(ScheduleAttendee.entry_id, User).join(User, User.id == ScheduleAttendee.user_id)
        .where(ScheduleAttendee.entry_id.in_(entry_ids))
    )).all()
    for entry_id, user in rows:
        out[entry_id].append(user)
    for people in out.values():
        people.sort(key=lambda u: (name_key(u.full_name), u.id))
    return out


async def week_row(db: AsyncSession, unit_id: int, week: rules.IsoWeek) -> ScheduleWeek | None:
    return await db.scalar(select(ScheduleWeek).where(
        ScheduleWeek.unit_id == unit_id, ScheduleWeek.year == week.year, ScheduleWeek.week == week.week))


async def week_entries(db: AsyncSession, week_id: int) -> list[ScheduleEntry]:
    rows = await db.scalars(select(ScheduleEntry).where(ScheduleEntry.week_id == week_id)
                            .order_by(ScheduleEntry.starts_at, ScheduleEntry.id))
    return list(rows.all())


async def pending_changes(db: AsyncSession, row: ScheduleWeek) -> int:
    if row.state != rules.Publication.PUBLISHED:
        return 0
    return await db.scalar(select(func.count()).select_from(ScheduleChange).where(
        ScheduleChange.week_id == row.id, ScheduleChange.number == row.issue)) or 0


def slots(entries: list[ScheduleEntry], attendees: dict[int, list[User]]) -> list[rules.Slot]:
    return [
        rules.Slot(e.id, e.starts_at, e.ends_at,
                   frozenset({u.id for u in attendees.get(e.id, [])} | ({e.presiding_user_id} - {None})), e.place)
        for e in entries if e.status == "active"
    ]


@dataclass
class WeekData:
    """Everything about one week of one unit's schedule, as one reader may see it."""

    unit: Unit
    week: rules.IsoWeek
    row: ScheduleWeek | None
    entries: list[ScheduleEntry]
    attendees: dict[int, list[User]]
    meetings: dict[int, Meeting]
    changes: list[tuple[ScheduleChange, str]]  # (change, who made it)
    clashes: list[rules.Clash]
    pending: int
    office: bool

    def as_dict(self) -> dict:
        return {
            "unit": {"id": self.unit.id, "name": self.unit.name},
            "week": week_dict(self.row, self.unit.id, self.week, self.pending, office=self.office),
            "entries": [schedule_entry_dict(e, self.week, self.attendees.get(e.id, []), self.meetings)
                        for e in self.entries],
            "clashes": [c.as_dict() for c in self.clashes],
            "changes": [
                {"id": c.id, "number": c.number, "entry_id": c.entry_id, "kind": c.kind, "summary": c.summary,
                 "by": by, "at": iso(c.at)}
                for c, by in self.changes
            ],
        }


async def week_data(db: AsyncSession, unit: Unit, week: rules.IsoWeek, *, office: bool) -> WeekData:
    row = await week_row(db, unit.id, week)
    visible = row is not None and (office or row.state == rules.Publication.PUBLISHED)
    entries = await week_entries(db, row.id) if visible else []
    attendees = await attendees_of(db, [e.id for e in entries])
    meetings = await meetings_by_id(db, (e.meeting_id for e in entries))
    changes: list[tuple[ScheduleChange, str]] = []
    pending = 0
    if visible:
        changes = [(c, name or "") for c, name in (await db.execute(
            select(ScheduleChange, User.full_name).outerjoin(User, User.id == ScheduleChange.by_user_id)
            .where(ScheduleChange.week_id == row.id).order_by(ScheduleChange.id)
        )).all()]
        pending = await pending_changes(db, row)
    return WeekData(unit, week, row if visible else None, entries, attendees, meetings, changes,
                    rules.clashes(slots(entries, attendees)), pending, office)


async def default_unit(db: AsyncSession, preferred: int | None) -> Unit | None:
    """The unit whose schedule a page opens on: the reader's own, else the top of the tree."""
    if preferred is not None:
        unit = await db.get(Unit, preferred)
        if unit is not None:
            return unit
    return await db.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))


# --- calendar feeds ------------------------------------------------------------------------------


async def schedule_entries_for(db: AsyncSession, user_id: int, since: datetime) -> list[tuple[ScheduleEntry, str]]:
    """Entries of published weeks the person presides or attends, from `since`, with the name of
    the unit whose schedule they are on."""
    attending = select(ScheduleAttendee.entry_id).where(ScheduleAttendee.user_id == user_id)
    rows = (await db.execute(
        select(ScheduleEntry, Unit.name)
        .join(ScheduleWeek, ScheduleWeek.id == ScheduleEntry.week_id)
        .join(Unit, Unit.id == ScheduleWeek.unit_id)
        .where(ScheduleWeek.state == rules.Publication.PUBLISHED, ScheduleEntry.starts_at >= since,
               or_(ScheduleEntry.presiding_user_id == user_id, ScheduleEntry.id.in_(attending)))
        .order_by(ScheduleEntry.starts_at, ScheduleEntry.id)
    )).all()
    return [(e, unit_name) for e, unit_name in rows]
