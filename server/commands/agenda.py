"""agenda.*: items and sub-items of a meeting's agenda, their order and the current item."""

from __future__ import annotations

from pydantic import Field

from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import agenda as rules
from server.domain import meeting as lifecycle
from server.domain.errors import DomainError, NotFound
from server.store.tables import AgendaItem, Unit
from server.store.views import agenda_items, agenda_list, meeting_dict, slots


class ItemAdd(MeetingPayload):
    title: str = Field(min_length=1, max_length=500)
    parent_id: Id | None = None
    position: int | None = Field(default=None, ge=0)
    presenter: str = Field(default="", max_length=300)
    planned_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    unit_id: Id | None = None


class ItemUpdate(MeetingPayload):
    item_id: Id
    title: str | None = Field(default=None, min_length=1, max_length=500)
    presenter: str | None = Field(default=None, max_length=300)
    planned_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    unit_id: Id | None = None


class ItemMove(MeetingPayload):
    item_id: Id
    parent_id: Id | None = None
    position: int = Field(ge=0)


class ItemRef(MeetingPayload):
    item_id: Id


class CurrentItem(MeetingPayload):
    item_id: Id | None


def _editable(ctx: Context) -> None:
    if not lifecycle.agenda_editable(ctx.meeting.status):
        raise DomainError("the agenda of a closed meeting cannot change")


async def _unit(ctx: Context, unit_id: int | None) -> None:
    if unit_id is not None and await ctx.db.get(Unit, unit_id) is None:
        raise NotFound(f"unit {unit_id} does not exist")


async def _item(ctx: Context, items: list[AgendaItem], item_id: int) -> AgendaItem:
    found = next((i for i in items if i.id == item_id), None)
    if found is None:
        raise NotFound(f"agenda item {item_id} is not on this meeting's agenda")
    return found


def _apply(items: list[AgendaItem], changed: dict[int, rules.Slot]) -> None:
    for item in items:
        if item.id in changed:
            item.parent_id = changed[item.id].parent_id
            item.position = changed[item.id].position


def _emit_agenda(ctx: Context, items: list[AgendaItem]) -> dict:
    agenda = agenda_list(items)
    ctx.emit("agenda.updated", {"agenda": agenda})
    return {"agenda": agenda}


@command("agenda.add", ItemAdd, "Add an agenda item or sub-item", ("POST", "/api/meetings/{meeting_id}/agenda"))
async def add(ctx: Context, data: ItemAdd) -> dict:
    _editable(ctx)
    await _unit(ctx, data.unit_id)
    items = await agenda_items(ctx.db, ctx.meeting.id)
    if data.parent_id is not None:
        await _item(ctx, items, data.parent_id)
    # A provisional id that cannot collide, so the rules can place the new item.
    changed = rules.place(slots(items), -1, data.parent_id, data.position)
    slot = changed.pop(-1)
    item = AgendaItem(
        meeting_id=ctx.meeting.id, parent_id=slot.parent_id, position=slot.position, title=data.title,
        presenter=data.presenter, planned_minutes=data.planned_minutes, unit_id=data.unit_id,
    )
    _apply(items, changed)
    ctx.db.add(item)
    await ctx.db.flush()
    items.append(item)
    return {"item_id": item.id, **_emit_agenda(ctx, items)}


@command("agenda.update", ItemUpdate, "Edit an agenda item",
         ("PATCH", "/api/meetings/{meeting_id}/agenda/{item_id}"))
async def update(ctx: Context, data: ItemUpdate) -> dict:
    _editable(ctx)
    items = await agenda_items(ctx.db, ctx.meeting.id)
    item = await _item(ctx, items, data.item_id)
    fields = data.changes(keep={"meeting_id", "item_id"}, required={"title", "presenter"})
    if "unit_id" in fields:
        await _unit(ctx, fields["unit_id"])
    for name, value in fields.items():
        setattr(item, name, value)
    return _emit_agenda(ctx, items)


@command("agenda.move", ItemMove, "Move an agenda item to another place or parent",
         ("POST", "/api/meetings/{meeting_id}/agenda/{item_id}/move"))
async def move(ctx: Context, data: ItemMove) -> dict:
    _editable(ctx)
    items = await agenda_items(ctx.db, ctx.meeting.id)
    await _item(ctx, items, data.item_id)
    _apply(items, rules.place(slots(items), data.item_id, data.parent_id, data.position))
    return _emit_agenda(ctx, items)


@command("agenda.remove", ItemRef, "Remove an agenda item and its sub-items",
         ("DELETE", "/api/meetings/{meeting_id}/agenda/{item_id}"))
async def remove(ctx: Context, data: ItemRef) -> dict:
    _editable(ctx)
    items = await agenda_items(ctx.db, ctx.meeting.id)
    gone, changed = rules.remove(slots(items), data.item_id)
    if ctx.meeting.current_item_id in gone:
        ctx.meeting.current_item_id = None
        ctx.emit("meeting.updated", {"meeting": meeting_dict(ctx.meeting)})
    # Children first, so no row ever points at a deleted parent.
    doomed = sorted((i for i in items if i.id in gone), key=lambda i: -rules.depth(slots(items), i.id))
    for item in doomed:
        await ctx.db.delete(item)
        await ctx.db.flush()
    items = [i for i in items if i.id not in gone]
    _apply(items, changed)
    return _emit_agenda(ctx, items)


@command("agenda.set_current", CurrentItem, "Show an item as the one under discussion",
         ("POST", "/api/meetings/{meeting_id}/current"))
async def set_current(ctx: Context, data: CurrentItem) -> dict:
    if ctx.meeting.status not in (lifecycle.Status.IN_SESSION, lifecycle.Status.PUBLISHED, lifecycle.Status.ADJOURNED):
        raise DomainError("the current item is set while the meeting is published or in session")
    if data.item_id is not None:
        await _item(ctx, await agenda_items(ctx.db, ctx.meeting.id), data.item_id)
    ctx.meeting.current_item_id = data.item_id
    ctx.emit("meeting.updated", {"meeting": meeting_dict(ctx.meeting)})
    return {"meeting": meeting_dict(ctx.meeting)}
