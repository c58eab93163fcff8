"""Directives as the wire shows them (docs/directives.md): one directive with the names of its
units and people, the lists and filters, the dashboard's counts, one directive's reports,
evidence and history, and who the caller is to them (`viewer`).

Visibility is decided in Python by server/domain/directives.py on rows the filters already
narrowed in SQL: an office follows hundreds or a few thousand directives, not millions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.sessions import Caller
from server.domain import directives as rules
from server.domain import orgtree
from server.domain.text import fold, text_key
from server.domain.times import iso
from server.store.tables import (
    AgendaItem,
    Directive,
    DirectiveAgendaLink,
    DirectiveEvidence,
    DirectiveHistory,
    DirectivePerson,
    DirectiveReport,
    DirectiveUnit,
    Meeting,
    Participant,
    Unit,
    User,
)
from server.store.views import agenda_list


def folded(title: str, content: str) -> str:
    """What text search compares: the title and the content, case and diacritics folded."""
    return fold(f"{title}\n{content}")


# --- the organisation tree and the caller -----------------------------------------------


async def unit_nodes(db: AsyncSession) -> dict[int, orgtree.Node]:
    rows = (await db.execute(select(Unit.id, Unit.parent_id, Unit.valid_from, Unit.valid_to))).all()
    return {r.id: orgtree.Node(r.id, r.parent_id, r.valid_from, r.valid_to) for r in rows}


def unit_line(nodes: dict[int, orgtree.Node], unit_id: int | None) -> frozenset[int]:
    """The unit and every unit above it."""
    if unit_id is None or unit_id not in nodes:
        return frozenset()
    return frozenset({unit_id, *orgtree.ancestors(nodes, unit_id)})


def subtree(nodes: dict[int, orgtree.Node], unit_id: int) -> set[int]:
    """The unit and every unit below it, whatever their dates: a directive given to a commune
    that has since merged still belongs to the new one's history."""
    return {unit_id, *orgtree.descendants(nodes, unit_id)} if unit_id in nodes else set()


async def viewer(db: AsyncSession, caller: Caller, nodes: dict[int, orgtree.Node] | None = None) -> rules.Viewer:
    nodes = nodes if nodes is not None else await unit_nodes(db)
    rows = (await db.execute(
        select(Participant.meeting_id, Participant.role)
        .where(Participant.user_id == caller.user_id, Participant.role.in_(("secretary", "chair")))
    )).all()
    return rules.Viewer(
        user_id=caller.user_id,
        global_roles=frozenset(caller.roles),
        unit_line=unit_line(nodes, caller.unit_id),
        staffed_meetings=frozenset(m for m, role in rows if role == "secretary"),
        chaired_meetings=frozenset(m for m, role in rows if role == "chair"),
    )


# --- one directive, with what it points at -----------------------------------------------


@dataclass
class Loaded:
    row: Directive
    meeting: Meeting
    coordinating: list[int] = field(default_factory=list)
    people: list[tuple[int, str]] = field(default_factory=list)  # (user id, full name)
    item: dict | None = None  # {"id", "number", "title"}
    scheduled: list[dict] = field(default_factory=list)  # [{"meeting_id", "agenda_item_id"}]

    @property
    def assignment(self) -> rules.Assignment:
        return rules.Assignment(self.row.lead_unit_id, tuple(self.coordinating), tuple(u for u, _ in self.people))


async def load(db: AsyncSession, rows: list[Directive]) -> list[Loaded]:
    """The directives with their units, people, meeting, agenda item and later agenda links."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    coordinating: dict[int, list[int]] = defaultdict(list)
    for d, u in (await db.execute(
        select(DirectiveUnit.directive_id, DirectiveUnit.unit_id)
        .where(DirectiveUnit.directive_id.in_(ids)).order_by(DirectiveUnit.position)
    )).all():
        coordinating[d].append(u)
    people: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for d, u, name in (await db.execute(
        select(DirectivePerson.directive_id, User.id, User.full_name)
        .join(User, User.id == DirectivePerson.user_id)
        .where(DirectivePerson.directive_id.in_(ids)).order_by(DirectivePerson.position)
    )).all():
        people[d].append((u, name))
    scheduled: dict[int, list[dict]] = defaultdict(list)
    for d, item, meeting in (await db.execute(
        select(DirectiveAgendaLink.directive_id, DirectiveAgendaLink.agenda_item_id, DirectiveAgendaLink.meeting_id)
        .where(DirectiveAgendaLink.directive_id.in_(ids))
    )).all():
        scheduled[d].append({"meeting_id": meeting, "agenda_item_id": item})
    meeting_ids = {r.meeting_id for r in rows}
    meetings = {m.id: m for m in (await db.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids)))).all()}
    # Numbers ("2.1") need the whole agenda of each meeting whose item a directive names.
    numbered: dict[int, dict] = {}
    with_items = {r.meeting_id for r in rows if r.agenda_item_id is not None}
    if with_items:
        items = (await db.scalars(select(AgendaItem).where(AgendaItem.meeting_id.in_(with_items)))).all()
        by_meeting: dict[int, list[AgendaItem]] = defaultdict(list)
        for i in items:
            by_meeting[i.meeting_id].append(i)
        for agenda in by_meeting.values():
            for entry in agenda_list(agenda):
                numbered[entry["id"]] = {"id": entry["id"], "number": entry["number"], "title": entry["title"]}
    return [Loaded(r, meetings[r.meeting_id], coordinating[r.id], people[r.id], numbered.get(r.agenda_item_id),
                   scheduled[r.id]) for r in rows]


async def unit_names(db: AsyncSession, loaded: list[Loaded]) -> dict[int, str]:
    ids = {u for x in loaded for u in x.assignment.unit_ids}
    if not ids:
        return {}
    return dict((await db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))).all())


def directive_dict(x: Loaded, names: dict[int, str], today: date | None = None) -> dict:
    """A directive on the wire. With `today`, its timeliness then (REST answers); events carry
    none, since a stored event cannot know on which day it will be read."""
    r = x.row
    out = {
        "id": r.id,
        "meeting_id": r.meeting_id,
        "meeting": {"id": x.meeting.id, "title": x.meeting.title, "starts_at": iso(x.meeting.starts_at),
                    "unit_id": x.meeting.unit_id},
        "agenda_item": x.item,
        "title": r.title,
        "content": r.content,
        "lead_unit": {"id": r.lead_unit_id, "name": names.get(r.lead_unit_id, "")} if r.lead_unit_id else None,
        "coordinating_units": [{"id": u, "name": names.get(u, "")} for u in x.coordinating],
        "responsible": [{"user_id": u, "full_name": name} for u, name in x.people],
        "deadline": r.deadline.isoformat() if r.deadline else None,
        "status": r.status,
        "progress": r.progress,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "reported_at": iso(r.reported_at),
        "completed_at": iso(r.completed_at),
        "scheduled": x.scheduled,
    }
    if today is not None:
        out["timeliness"] = timeliness_of(x, today).as_dict()
    return out


def completed_on(r: Directive) -> date | None:
    return rules.today_in_vietnam(r.completed_at) if r.completed_at else None


def timeliness_of(x: Loaded, today: date) -> rules.Timeliness:
    return rules.timeliness(x.row.status, x.row.deadline, today, completed_on(x.row))


def ordered(loaded: list[Loaded], today: date) -> list[Loaded]:
    return sorted(loaded, key=lambda x: rules.sort_key(x.row.status, x.row.deadline, today, x.row.id))


# --- lists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    meeting_id: int | None = None
    unit_id: int | None = None  # lead or coordinating, this unit or one below it
    status: str | None = None  # a Status, or "open"
    overdue: bool = False
    due_soon: bool = False
    user_id: int | None = None  # a responsible person
    q: str = ""  # folded text


async def find(db: AsyncSession, who: rules.Viewer, filters: Filters, nodes: dict[int, orgtree.Node],
               today: date) -> list[Loaded]:
    """The directives the viewer may see that match the filters, overdue first."""
    query = select(Directive)
    if filters.meeting_id is not None:
        query = query.where(Directive.meeting_id == filters.meeting_id)
    if filters.status == "open":
        query = query.where(Directive.status.in_([s.value for s in rules.OPEN]))
    elif filters.status:
        query = query.where(Directive.status == filters.status)
    if filters.overdue or filters.due_soon:
        query = query.where(Directive.status.in_([s.value for s in rules.RUNNING]), Directive.deadline.is_not(None))
    if filters.unit_id is not None:
        units = sorted(subtree(nodes, filters.unit_id))
        query = query.where(or_(
            Directive.lead_unit_id.in_(units),
            Directive.id.in_(select(DirectiveUnit.directive_id).where(DirectiveUnit.unit_id.in_(units))),
        ))
    if filters.user_id is not None:
        query = query.where(Directive.id.in_(
            select(DirectivePerson.directive_id).where(DirectivePerson.user_id == filters.user_id)))
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Directive.folded.like(pattern, escape="\\"))
    loaded = await load(db, list((await db.scalars(query)).all()))
    out = []
    for x in loaded:
        if not rules.may_see(who, x.row.meeting_id, x.assignment):
            continue
        when = timeliness_of(x, today)
        if (filters.overdue and not when.overdue) or (filters.due_soon and not when.due_soon):
            continue
        out.append(x)
    return ordered(out, today)


def dashboard(loaded: list[Loaded], names: dict[int, str], today: date) -> dict:
    """Counts by lead unit and by meeting, and the totals (server/domain/directives.Counts)."""
    totals = rules.Counts()
    by_unit: dict[int | None, rules.Counts] = defaultdict(rules.Counts)
    by_meeting: dict[int, rules.Counts] = defaultdict(rules.Counts)
    meetings: dict[int, Meeting] = {}
    for x in loaded:
        r = x.row
        for counts in (totals, by_unit[r.lead_unit_id], by_meeting[r.meeting_id]):
            counts.add(r.status, r.deadline, today, completed_on(r))
        meetings[r.meeting_id] = x.meeting
    unit_rows = [{"unit_id": u, "name": names.get(u, "") if u else "", **c.as_dict()} for u, c in by_unit.items()]
    # The units with overdue work first, then by name in Vietnamese order; "no lead unit" last.
    unit_rows.sort(key=lambda row: (row["unit_id"] is None, -row["overdue"], text_key(row["name"])))
    meeting_rows = [{"meeting_id": m, "title": meetings[m].title, "starts_at": iso(meetings[m].starts_at),
                     **c.as_dict()} for m, c in by_meeting.items()]
    meeting_rows.sort(key=lambda row: (row["starts_at"] or "", row["meeting_id"]), reverse=True)
    return {"today": today.isoformat(), "due_soon_days": rules.DUE_SOON_DAYS, "totals": totals.as_dict(),
            "by_unit": unit_rows, "by_meeting": meeting_rows}


# --- one directive in full -----------------------------------------------------------------


def evidence_dict(e: DirectiveEvidence) -> dict:
    return {"id": e.id, "directive_id": e.directive_id, "report_id": e.report_id, "filename": e.filename,
            "kind": e.kind, "size": e.size, "sha256": e.sha256, "by_user_id": e.by_user_id, "at": iso(e.at)}


async def _names(db: AsyncSession, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict((await db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))).all())


async def reports(db: AsyncSession, directive_id: int) -> list[dict]:
    rows = (await db.scalars(select(DirectiveReport).where(DirectiveReport.directive_id == directive_id)
                             .order_by(DirectiveReport.at.desc(), DirectiveReport.id.desc()))).all()
    files: dict[int, list[dict]] = defaultdict(list)
    for e in (await db.scalars(select(DirectiveEvidence).where(
            DirectiveEvidence.directive_id == directive_id, DirectiveEvidence.report_id.is_not(None))
            .order_by(DirectiveEvidence.id))).all():
        files[e.report_id].append(evidence_dict(e))
    names = await _names(db, {r.by_user_id for r in rows})
    unit_ids = {r.unit_id for r in rows if r.unit_id}
    units = dict((await db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))).all()) if unit_ids else {}
    return [{"id": r.id, "percent": r.percent, "text": r.text, "at": iso(r.at),
             "by": {"user_id": r.by_user_id, "full_name": names.get(r.by_user_id, "")},
             "unit": {"id": r.unit_id, "name": units.get(r.unit_id, "")} if r.unit_id else None,
             "evidence": files[r.id]} for r in rows]


async def history(db: AsyncSession, directive_id: int) -> list[dict]:
    rows = (await db.scalars(select(DirectiveHistory).where(DirectiveHistory.directive_id == directive_id)
                             .order_by(DirectiveHistory.id))).all()
    names = await _names(db, {r.by_user_id for r in rows if r.by_user_id})
    return [{"action": r.action, "status": r.status, "note": r.note, "changes": r.changes, "at": iso(r.at),
             "by": {"user_id": r.by_user_id, "full_name": names.get(r.by_user_id, "")} if r.by_user_id else None}
            for r in rows]


async def pending_evidence(db: AsyncSession, directive_id: int, user_id: int) -> list[dict]:
    """The caller's uploads not yet attached to a report."""
    rows = (await db.scalars(select(DirectiveEvidence).where(
        DirectiveEvidence.directive_id == directive_id, DirectiveEvidence.report_id.is_(None),
        DirectiveEvidence.by_user_id == user_id).order_by(DirectiveEvidence.id))).all()
    return [evidence_dict(e) for e in rows]
