"""Directives (docs/directives.md): the chair's conclusions turned into tasks for units and
people, with deadlines, followed until the secretariat accepts them as done.

`directive.create` assigns one (from a conclusion, or directly); `directive.update` edits it;
`directive.report` is a responsible person's or unit's progress report, with evidence files
uploaded beforehand (server/api/directives.py); `directive.accept`, `directive.cancel` and
`directive.reopen` are the secretariat's; `directive.add_to_agenda` brings open directives back
on a later meeting's agenda to review them. Each change is logged in the meeting's event log
for the secretariat and for each responsible person, and in the directive's own history.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, Field
from sqlalchemy import delete, select

from server.commands import agenda as agenda_commands
from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import directives as rules
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, NotFound
from server.domain.meeting import Status as MeetingStatus
from server.domain.meeting import agenda_editable
from server.store import directive_views as views
from server.store.tables import (
    AgendaItem,
    Conclusion,
    Directive,
    DirectiveAgendaLink,
    DirectiveEvidence,
    DirectiveHistory,
    DirectivePerson,
    DirectiveReport,
    DirectiveUnit,
    Unit,
    User,
    utcnow,
)
from server.store.views import agenda_items, agenda_list

# Directives are given in the session (the chair's directions) or written up after it.
ASSIGNING = frozenset({MeetingStatus.IN_SESSION, MeetingStatus.ADJOURNED, MeetingStatus.CLOSED})
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: object) -> date:
    # Only "YYYY-MM-DD": pydantic would also take a number as seconds since 1970.
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("a date as YYYY-MM-DD")
    day = date.fromisoformat(value)
    if not 1900 <= day.year <= 2200:
        raise ValueError("a date between the years 1900 and 2200")
    return day


Day = Annotated[date, BeforeValidator(_day)]


class DirectiveCreate(MeetingPayload):
    title: str = Field(min_length=1, max_length=500)
    content: str = Field(default="", max_length=5000)  # empty, from a conclusion: the conclusion's text
    agenda_item_id: Id | None = None  # the item whose conclusion it comes from
    lead_unit_id: Id | None = None
    coordinating_unit_ids: list[Id] = Field(default_factory=list, max_length=rules.MAX_UNITS)
    responsible_user_ids: list[Id] = Field(default_factory=list, max_length=rules.MAX_PEOPLE)
    deadline: Day | None = None


class DirectiveRef(MeetingPayload):
    directive_id: Id


class DirectiveUpdate(DirectiveRef):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    content: str | None = Field(default=None, max_length=5000)
    agenda_item_id: Id | None = None
    lead_unit_id: Id | None = None
    coordinating_unit_ids: list[Id] | None = Field(default=None, max_length=rules.MAX_UNITS)
    responsible_user_ids: list[Id] | None = Field(default=None, max_length=rules.MAX_PEOPLE)
    deadline: Day | None = None


class DirectiveReportIn(DirectiveRef):
    percent: int = Field(strict=True, ge=0, le=100)
    text: str = Field(min_length=1, max_length=5000)
    evidence_ids: list[Id] = Field(default_factory=list, max_length=rules.MAX_EVIDENCE_PER_REPORT)


class DirectiveNote(DirectiveRef):
    note: str = Field(default="", max_length=2000)


class DirectivesToAgenda(MeetingPayload):
    directive_ids: list[Id] = Field(min_length=1, max_length=200)
    # A new item (title, presenter, under parent_id), or an item already on the agenda (item_id).
    title: str = Field(default=rules.REVIEW_TITLE, min_length=1, max_length=500)
    presenter: str = Field(default="", max_length=300)
    parent_id: Id | None = None
    item_id: Id | None = None


# --- helpers ---------------------------------------------------------------------------


def _keeps(ctx: Context) -> bool:
    """The caller keeps this meeting's directives: the matrix has already said so for the
    secretariat's commands; reports ask it again, since anyone responsible may send one."""
    return bool(ctx.roles & permissions.STAFF)


async def _directive(ctx: Context, directive_id: int) -> Directive:
    row = await ctx.db.get(Directive, directive_id)
    if row is None or row.meeting_id != ctx.meeting.id:
        raise NotFound(f"directive {directive_id} is not a directive of this meeting")
    return row


async def _item(ctx: Context, item_id: int | None) -> AgendaItem | None:
    if item_id is None:
        return None
    item = await ctx.db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != ctx.meeting.id:
        raise NotFound(f"agenda item {item_id} is not on this meeting's agenda")
    return item


async def _check_units(ctx: Context, unit_ids: list[int]) -> None:
    if not unit_ids:
        return
    known = set((await ctx.db.scalars(select(Unit.id).where(Unit.id.in_(unit_ids)))).all())
    missing = [u for u in unit_ids if u not in known]
    if missing:
        raise NotFound(f"unit {missing[0]} does not exist")


async def _check_people(ctx: Context, user_ids: list[int]) -> None:
    if not user_ids:
        return
    active = set((await ctx.db.scalars(select(User.id).where(User.id.in_(user_ids), User.active.is_(True)))).all())
    missing = [u for u in user_ids if u not in active]
    if missing:
        raise NotFound(f"account {missing[0]} does not exist or is disabled")


async def _assign(ctx: Context, row: Directive, given: rules.Assignment) -> None:
    await _check_units(ctx, sorted(given.unit_ids))
    await _check_people(ctx, list(given.responsible_user_ids))
    row.lead_unit_id = given.lead_unit_id
    await ctx.db.execute(delete(DirectiveUnit).where(DirectiveUnit.directive_id == row.id))
    await ctx.db.execute(delete(DirectivePerson).where(DirectivePerson.directive_id == row.id))
    for n, unit_id in enumerate(given.coordinating_unit_ids):
        ctx.db.add(DirectiveUnit(directive_id=row.id, unit_id=unit_id, position=n))
    for n, user_id in enumerate(given.responsible_user_ids):
        ctx.db.add(DirectivePerson(directive_id=row.id, user_id=user_id, position=n))


def _history(ctx: Context, row: Directive, action: str, note: str = "", changes: dict | None = None) -> None:
    ctx.db.add(DirectiveHistory(directive_id=row.id, action=action, status=row.status, note=note,
                                changes=changes or {}, by_user_id=ctx.caller.user_id or None, at=utcnow()))


async def _loaded(ctx: Context, row: Directive) -> tuple[views.Loaded, dict[int, str]]:
    await ctx.db.flush()
    (loaded,) = await views.load(ctx.db, [row])
    return loaded, await views.unit_names(ctx.db, [loaded])


async def _answer(ctx: Context, row: Directive) -> dict:
    """Log the directive for the secretariat and for each responsible person; answer with it."""
    loaded, names = await _loaded(ctx, row)
    _emit(ctx, loaded, names)
    today = rules.today_in_vietnam(utcnow())
    return {"directive": views.directive_dict(loaded, names, today)}


def _emit(ctx: Context, loaded: views.Loaded, names: dict[int, str]) -> None:
    data = {"directive": views.directive_dict(loaded, names)}
    ctx.emit("directive.updated", data, audience="secretariat")
    for user_id, _ in loaded.people:
        ctx.emit("directive.updated", data, audience=f"user:{user_id}")


def _facts(row: Directive, coordinating: list[int], people: list[int]) -> dict:
    """What the history compares before and after an edit."""
    return {"title": row.title, "content": row.content, "agenda_item_id": row.agenda_item_id,
            "lead_unit_id": row.lead_unit_id, "coordinating_unit_ids": coordinating,
            "responsible_user_ids": people, "deadline": row.deadline.isoformat() if row.deadline else None}


# --- the commands ------------------------------------------------------------------------


@command("directive.create", DirectiveCreate, "Assign a directive: from an item's conclusion, or directly",
         ("POST", "/api/meetings/{meeting_id}/directives"))
async def create(ctx: Context, data: DirectiveCreate) -> dict:
    if ctx.meeting.status not in ASSIGNING:
        raise DomainError(f"directives are given once the meeting has opened, not while it is {ctx.meeting.status}",
                          code="invalid_transition")
    item = await _item(ctx, data.agenda_item_id)
    content = data.content
    if item is not None and not content:
        conclusion = await ctx.db.get(Conclusion, item.id)
        content = conclusion.text if conclusion is not None else ""
    given = rules.assignment(data.lead_unit_id, data.coordinating_unit_ids, data.responsible_user_ids)
    now = utcnow()
    row = Directive(meeting_id=ctx.meeting.id, agenda_item_id=item.id if item else None, title=data.title,
                    content=content, folded=views.folded(data.title, content), deadline=data.deadline,
                    status=rules.Status.NEW, progress=0, created_by=ctx.caller.user_id or None, created_at=now,
                    updated_at=now)
    ctx.db.add(row)
    await ctx.db.flush()
    await _assign(ctx, row, given)
    _history(ctx, row, "created")
    return await _answer(ctx, row)


@command("directive.update", DirectiveUpdate, "Edit a directive: its text, units, people or deadline",
         ("PATCH", "/api/meetings/{meeting_id}/directives/{directive_id}"))
async def update(ctx: Context, data: DirectiveUpdate) -> dict:
    row = await _directive(ctx, data.directive_id)
    rules.check_editable(row.status)
    fields = data.changes(keep={"meeting_id", "directive_id"},
                          required={"title", "content", "coordinating_unit_ids", "responsible_user_ids"})
    loaded, _ = await _loaded(ctx, row)
    coordinating, people = list(loaded.coordinating), [u for u, _ in loaded.people]
    before = _facts(row, coordinating, people)
    if "agenda_item_id" in fields:
        await _item(ctx, fields["agenda_item_id"])
        row.agenda_item_id = fields["agenda_item_id"]
    if {"lead_unit_id", "coordinating_unit_ids", "responsible_user_ids"} & fields.keys():
        given = rules.assignment(fields.get("lead_unit_id", row.lead_unit_id),
                                 fields.get("coordinating_unit_ids", coordinating),
                                 fields.get("responsible_user_ids", people))
        await _assign(ctx, row, given)
        coordinating, people = list(given.coordinating_unit_ids), list(given.responsible_user_ids)
    for name in ("title", "content", "deadline"):
        if name in fields:
            setattr(row, name, fields[name])
    row.folded = views.folded(row.title, row.content)
    changed = rules.changes(before, _facts(row, coordinating, people))
    if changed:
        row.updated_at = utcnow()
        _history(ctx, row, "updated", changes=changed)
    return await _answer(ctx, row)


@command("directive.report", DirectiveReportIn,
         "Report progress on a directive (100 %: done, for the secretariat to accept), with evidence",
         ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/reports"))
async def report(ctx: Context, data: DirectiveReportIn) -> dict:
    row = await _directive(ctx, data.directive_id)
    loaded, _ = await _loaded(ctx, row)
    nodes = await views.unit_nodes(ctx.db)
    who = rules.Viewer(ctx.caller.user_id, frozenset(ctx.caller.roles), views.unit_line(nodes, ctx.caller.unit_id))
    if not (rules.answers_for(who, loaded.assignment) or _keeps(ctx)):
        raise Forbidden("only the people and units responsible for this directive (or the secretariat) report on it")
    status = rules.after_report(row.status, data.percent)
    evidence = []
    if data.evidence_ids:
        wanted = list(dict.fromkeys(data.evidence_ids))
        evidence = list((await ctx.db.scalars(select(DirectiveEvidence).where(
            DirectiveEvidence.id.in_(wanted), DirectiveEvidence.directive_id == row.id))).all())
        found = {e.id: e for e in evidence}
        for n, evidence_id in enumerate(wanted):
            e = found.get(evidence_id)
            if e is None or e.by_user_id != ctx.caller.user_id:
                raise NotFound(f"evidence {evidence_id} is not one of your uploads for this directive",
                               details=[{"field": f"evidence_ids.{n}", "problem": "upload it first"}])
            if e.report_id is not None:
                raise DomainError(f"evidence {evidence_id} is already attached to a report")
    now = utcnow()
    entry = DirectiveReport(directive_id=row.id, percent=data.percent, text=data.text, by_user_id=ctx.caller.user_id,
                            unit_id=ctx.caller.unit_id, at=now)
    ctx.db.add(entry)
    await ctx.db.flush()
    for e in evidence:
        e.report_id = entry.id
    row.status, row.progress, row.reported_at, row.updated_at = status, data.percent, now, now
    _history(ctx, row, "reported", note=f"{data.percent}%")
    return {**await _answer(ctx, row), "report_id": entry.id}


@command("directive.accept", DirectiveNote, "Accept a directive as done (the secretariat)",
         ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/accept"))
async def accept(ctx: Context, data: DirectiveNote) -> dict:
    row = await _directive(ctx, data.directive_id)
    row.status = rules.accept(row.status)
    now = utcnow()
    row.progress, row.completed_at, row.updated_at = 100, now, now
    _history(ctx, row, "accepted", note=data.note)
    return await _answer(ctx, row)


@command("directive.cancel", DirectiveNote, "Cancel a directive that no longer needs doing, with the reason",
         ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/cancel"))
async def cancel(ctx: Context, data: DirectiveNote) -> dict:
    row = await _directive(ctx, data.directive_id)
    row.status = rules.cancel(row.status)
    row.updated_at = utcnow()
    _history(ctx, row, "cancelled", note=data.note)
    return await _answer(ctx, row)


@command("directive.reopen", DirectiveNote,
         "Reopen a directive: a report not accepted, a completion found wanting, a cancellation undone",
         ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/reopen"))
async def reopen(ctx: Context, data: DirectiveNote) -> dict:
    row = await _directive(ctx, data.directive_id)
    reported = await ctx.db.scalar(select(DirectiveReport.id).where(DirectiveReport.directive_id == row.id).limit(1))
    row.status = rules.reopen(row.status, reported is not None)
    row.completed_at, row.updated_at = None, utcnow()
    _history(ctx, row, "reopened", note=data.note)
    return await _answer(ctx, row)


@command("directive.add_to_agenda", DirectivesToAgenda,
         "Put open directives on this meeting's agenda for review (a new item, or item_id)",
         ("POST", "/api/meetings/{meeting_id}/agenda/directives"))
async def add_to_agenda(ctx: Context, data: DirectivesToAgenda) -> dict:
    wanted = list(dict.fromkeys(data.directive_ids))
    rows = {r.id: r for r in (await ctx.db.scalars(select(Directive).where(Directive.id.in_(wanted)))).all()}
    loaded = {x.row.id: x for x in await views.load(ctx.db, list(rows.values()))}
    overseer = bool(ctx.roles & rules.OVERSEERS)
    for n, directive_id in enumerate(wanted):
        x = loaded.get(directive_id)
        # The meeting's own secretary brings back what the same body decided; the secretariat anything.
        if x is None or not (overseer or x.meeting.unit_id == ctx.meeting.unit_id):
            raise NotFound(f"directive {directive_id} does not exist",
                           details=[{"field": f"directive_ids.{n}", "problem": "not a directive you may schedule"}])
        if x.row.status not in rules.OPEN:
            raise DomainError(f"directive {directive_id} is {x.row.status}: only open directives are reviewed")
        if any(link["meeting_id"] == ctx.meeting.id for link in x.scheduled):
            raise DomainError(f"directive {directive_id} is already on this meeting's agenda")
    if data.item_id is not None:
        if not agenda_editable(ctx.meeting.status):
            raise DomainError("the agenda of a closed meeting cannot change")
        item_id = (await _item(ctx, data.item_id)).id
    else:
        added = await agenda_commands.add(ctx, agenda_commands.ItemAdd(
            meeting_id=ctx.meeting.id, title=data.title, presenter=data.presenter, parent_id=data.parent_id))
        item_id = added["item_id"]
    agenda = agenda_list(await agenda_items(ctx.db, ctx.meeting.id))
    number = next((i["number"] for i in agenda if i["id"] == item_id), "")
    answers = []
    for directive_id in wanted:
        row = rows[directive_id]
        ctx.db.add(DirectiveAgendaLink(directive_id=row.id, agenda_item_id=item_id, meeting_id=ctx.meeting.id))
        _history(ctx, row, "scheduled", note=f"{ctx.meeting.title}, mục {number}",
                 changes={"scheduled": [None, {"meeting_id": ctx.meeting.id, "agenda_item_id": item_id}]})
        answers.append((await _answer(ctx, row))["directive"])
    return {"item_id": item_id, "agenda": agenda, "directives": answers}

