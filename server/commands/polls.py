"""poll.*: polls (biểu quyết) from draft to published, ballots and shows of hands.

The rules are `server.domain.polls`'; these handlers load rows, hand them to the
rules as `polls.Poll`, and write back what the rules decided. `poll.vote` is the
exception to the usual command path: it is a *direct* command, checked here and
written by the ballot writer (`server/store/ballots.py`) in group commits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import select

from server.auth.sessions import Caller
from server.commands.registry import Context, Id, MeetingPayload, Payload, command
from server.domain import polls as rules
from server.domain.errors import DomainError, Forbidden, NotFound
from server.domain.meeting import Status
from server.domain.permissions import STAFF, Role
from server.domain.times import iso
from server.store import audit, eventlog
from server.store.ballots import Cast
from server.store.poll_views import ballots_of, domain_poll, point_counts, wire
from server.store.tables import (
    AgendaItem,
    Attendance,
    Meeting,
    Participant,
    PointAttendance,
    PointCount,
    Unit,
    utcnow,
)
from server.store.tables import Poll as PollRow

FRACTION = r"^\s*\d{1,6}\s*/\s*\d{1,6}\s*$"
Kind = Literal["motion", "choice", "election"]
Count = Annotated[int, Field(strict=True, ge=0, le=100_000)]


class OptionIn(Payload):
    label: str = Field(min_length=1, max_length=300)


class MajorityIn(Payload):
    base: Literal["members", "present", "valid"]
    threshold: str = Field(pattern=FRACTION)
    strict: bool = True


class PollFields(MeetingPayload):
    agenda_item_id: Id | None = None
    options: list[OptionIn] | None = Field(default=None, max_length=200)
    secret: bool | None = None
    min_selections: int | None = Field(default=None, strict=True, ge=0, le=200)
    max_selections: int | None = Field(default=None, strict=True, ge=1, le=200)
    seats: int | None = Field(default=None, strict=True, ge=1, le=200)
    majority: MajorityIn | None = None
    quorum: str | None = Field(default=None, pattern=FRACTION)
    quorum_of: Literal["present", "voting"] | None = None
    may_change_vote: bool | None = None
    duration: int | None = Field(default=None, strict=True, ge=1, le=24 * 3600)


class PollCreate(PollFields):
    kind: Kind
    title: str = Field(min_length=1, max_length=500)


class PollUpdate(PollFields):
    poll_id: Id
    kind: Kind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=500)


class PollRef(MeetingPayload):
    poll_id: Id


class PollOpen(PollRef):
    points_present: dict[str, Count] | None = None


class PollVote(PollRef):
    choice: Literal["yes", "no", "abstain"] | None = None  # motion
    selections: list[str] | None = Field(default=None, max_length=200)  # choice
    kept: list[str] | None = Field(default=None, max_length=200)  # election


class PollHands(PollRef):
    point: str = Field(min_length=1, max_length=64)
    counts: dict[str, Count]


# A poll's fields that may be left out but never set to null.
NOT_NULL = frozenset({"secret", "min_selections", "max_selections", "seats", "majority", "quorum", "quorum_of",
                      "may_change_vote"})


def policy(ctx_settings: object) -> rules.PollPolicy:
    return rules.PollPolicy(allow_secret=getattr(ctx_settings, "secret_polls", "allow") != "forbid")


# --- helpers ------------------------------------------------------------------------


async def _poll(ctx: Context, poll_id: int) -> PollRow:
    row = await ctx.db.scalar(select(PollRow).where(PollRow.id == poll_id).with_for_update())
    if row is None or row.meeting_id != ctx.meeting.id:
        raise NotFound(f"poll {poll_id} is not in this meeting")
    return row


async def _emit(ctx: Context, row: PollRow) -> dict:
    """poll.updated: the secretariat alone sees drafts; everyone else sees the result only once published."""
    staff_view = await wire(ctx.db, row, show_result=True)
    if row.state == rules.PollState.DRAFT:
        ctx.emit("poll.updated", {"poll": staff_view}, audience="secretariat")
        return {"poll": staff_view}
    public = {**staff_view, "result": staff_view["result"] if row.state == rules.PollState.PUBLISHED else None}
    ctx.emit("poll.updated", {"poll": public})
    if public["result"] != staff_view["result"]:
        # The staff and the chair see the result at the close, before publication.
        ctx.emit("poll.updated", {"poll": staff_view}, audience="secretariat")
    return {"poll": staff_view}


async def _apply(ctx: Context, row: PollRow, fields: dict) -> None:
    if fields.get("agenda_item_id") is not None:
        item = await ctx.db.get(AgendaItem, fields["agenda_item_id"])
        if item is None or item.meeting_id != ctx.meeting.id:
            raise NotFound(f"agenda item {fields['agenda_item_id']} is not on this meeting's agenda")
    for name, value in fields.items():
        if name == "options":
            # Ids are ours (o1, o2…): stable, short, and never the label a voter could misspell.
            row.options = [{"id": f"o{n}", "label": o["label"]} for n, o in enumerate(value or [], 1)]
        elif name == "majority":
            row.majority = rules.Majority.parse(value["base"], value["threshold"], value["strict"]).as_dict()
        elif name == "quorum":
            row.quorum = value.replace(" ", "")
        else:
            setattr(row, name, value)
    try:
        poll = domain_poll(row)
    except (ValueError, ZeroDivisionError) as exc:
        raise rules.PollDefinitionError("bad_quorum", quorum=row.quorum) from exc
    rules.validate_definition(poll, policy(ctx.settings))


def _draft(row: PollRow) -> None:
    if row.state != rules.PollState.DRAFT:
        raise rules.PollStateError("not_draft", state=row.state)


# --- definition ---------------------------------------------------------------------


@command("poll.create", PollCreate, "Define a poll (draft)", ("POST", "/api/meetings/{meeting_id}/polls"))
async def create(ctx: Context, data: PollCreate) -> dict:
    row = PollRow(
        meeting_id=ctx.meeting.id, kind=data.kind, title=data.title, options=[], secret=False,
        min_selections=1, max_selections=1, seats=1, quorum=ctx.meeting.quorum, quorum_of="present",
        may_change_vote=False, majority=rules.more_than_half(rules.Base.MEMBERS).as_dict(), state="draft",
        entitled=[], points_present={}, members=0,
    )
    # As poll.update: a null for a field that cannot be empty is refused (it was a 500: issue 8, fuzzing).
    await _apply(ctx, row, data.changes(keep={"meeting_id", "kind", "title"}, required=NOT_NULL))
    ctx.db.add(row)
    await ctx.db.flush()
    return {"poll_id": row.id, **await _emit(ctx, row)}


@command("poll.update", PollUpdate, "Change a draft poll", ("PATCH", "/api/meetings/{meeting_id}/polls/{poll_id}"))
async def update(ctx: Context, data: PollUpdate) -> dict:
    row = await _poll(ctx, data.poll_id)
    _draft(row)
    fields = data.changes(keep={"meeting_id", "poll_id"}, required={"kind", "title", *NOT_NULL})
    await _apply(ctx, row, fields)
    return await _emit(ctx, row)


@command("poll.delete", PollRef, "Delete a draft poll", ("DELETE", "/api/meetings/{meeting_id}/polls/{poll_id}"))
async def delete(ctx: Context, data: PollRef) -> dict:
    row = await _poll(ctx, data.poll_id)
    _draft(row)
    await ctx.db.delete(row)
    ctx.emit("poll.removed", {"poll_id": data.poll_id}, audience="secretariat")
    return {"poll_id": data.poll_id}


# --- lifecycle ----------------------------------------------------------------------


@command("poll.open", PollOpen, "Open a poll: who may vote is frozen now",
         ("POST", "/api/meetings/{meeting_id}/polls/{poll_id}/open"))
async def open_(ctx: Context, data: PollOpen) -> dict:
    row = await _poll(ctx, data.poll_id)
    if ctx.meeting.status != Status.IN_SESSION:
        raise DomainError(f"a poll opens while the meeting is in session, not {ctx.meeting.status}")
    people = (await ctx.db.execute(
        select(Participant.id, Participant.voting, Attendance.status)
        .outerjoin(Attendance, Attendance.participant_id == Participant.id)
        .where(Participant.meeting_id == ctx.meeting.id)
    )).all()
    voters = [rules.Participant(str(pid), bool(voting), status == "present") for pid, voting, status in people]
    points = data.points_present
    if points is None:
        # The people seated at the bridge points, as their operators last reported.
        seated = await ctx.db.execute(
            select(Unit.code, PointAttendance.seated)
            .join(PointAttendance, PointAttendance.unit_id == Unit.id)
            .where(PointAttendance.meeting_id == ctx.meeting.id, PointAttendance.seated > 0)
        )
        points = {code: n for code, n in seated.all()}
    opened = rules.open_poll(domain_poll(row), voters, utcnow(), policy=policy(ctx.settings), points_present=points)
    row.state, row.opened_at, row.deadline = str(opened.state), opened.opened_at, opened.deadline
    row.entitled = sorted(int(i) for i in opened.entitled)
    row.points_present, row.members = dict(opened.points_present), opened.members
    if row.deadline is not None and ctx.app is not None:
        ctx.app["poll_progress"].deadline_set()
    ctx.audit("poll.open", f"poll:{row.id}", {"title": row.title, "kind": row.kind, "secret": row.secret,
                                             "entitled": len(row.entitled), "deadline": iso(row.deadline)})
    return await _emit(ctx, row)


async def _close(ctx: Context, row: PollRow) -> dict:
    """open -> closed and counted; shared by poll.close and the deadline closer."""
    closed = rules.close_poll(domain_poll(row), utcnow())
    if ctx.app is not None:
        # Held secret ballots are the final batch, written in this very transaction.
        await ctx.app["ballots"].final_batch(ctx.db, row.id)
    hands = (await point_counts(ctx.db, [row.id]))[row.id]
    tally = rules.count_votes(closed, await ballots_of(ctx.db, row), hands)
    row.state, row.closed_at = str(closed.state), closed.closed_at
    row.result = rules.evaluate(closed, tally).as_dict()
    # Who closed it, when, and the figures it closed on; never who chose what.
    ctx.audit("poll.close", f"poll:{row.id}", {
        "title": row.title, "secret": row.secret, "by_deadline": ctx.caller.user_id == 0,
        "outcome": row.result.get("outcome"), "cast": row.result.get("tally", {}).get("cast")})
    return await _emit(ctx, row)


@command("poll.close", PollRef, "Close a poll and count it", ("POST", "/api/meetings/{meeting_id}/polls/{poll_id}/close"))
async def close(ctx: Context, data: PollRef) -> dict:
    return await _close(ctx, await _poll(ctx, data.poll_id))


@command("poll.publish", PollRef, "Publish a poll's result",
         ("POST", "/api/meetings/{meeting_id}/polls/{poll_id}/publish"))
async def publish(ctx: Context, data: PollRef) -> dict:
    row = await _poll(ctx, data.poll_id)
    published = rules.publish_poll(domain_poll(row), utcnow())
    row.state, row.published_at = str(published.state), published.published_at
    ctx.audit("poll.publish", f"poll:{row.id}", {"title": row.title})
    return await _emit(ctx, row)


SYSTEM = Caller(user_id=0, username="system", full_name="Hệ thống", roles=frozenset(), unit_id=None,
                session_id=0, device_id=None)


async def close_at_deadline(app, poll_id: int) -> None:
    """The server closes a poll whose time ran out, as `poll.close` would, in its own transaction."""
    now = utcnow()
    async with app["db"].write() as db:
        meeting_id = await db.scalar(select(PollRow.meeting_id).where(PollRow.id == poll_id))
        if meeting_id is None:
            return
        # Meeting first, as every command does, so writers of its log queue in one order.
        meeting = await db.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        ctx = Context(db=db, caller=SYSTEM, settings=app["settings"], meeting=meeting, app=app)
        row = await _poll(ctx, poll_id)
        if not rules.expired(domain_poll(row), now):
            return  # closed by hand meanwhile
        await _close(ctx, row)
        written = await eventlog.append(db, meeting, ctx.events)
        await audit.append(db, ctx.audited)
    await app["fanout"].publish([eventlog.wire(e) for e in written])


# --- ballots ------------------------------------------------------------------------


@command("poll.vote", PollVote, "Cast a ballot (answered once it is durable)",
         ("POST", "/api/meetings/{meeting_id}/polls/{poll_id}/vote"), direct=True)
async def vote(app, caller: Caller, key: str | None, data: PollVote) -> dict:
    """A direct command: no per-command transaction (that would be one fsync per ballot).

    The ballot writer does everything in its group commit: it checks the caller's
    session and finds the caller's participant row for the whole batch in one query
    each, checks the permission and the ballot against the poll's frozen entitled
    list, stores the ballot with the idempotency record, and answers after that
    commit. Nothing is read here, so a hall voting at once costs one read per batch,
    not one per vote.
    """
    payload: dict = {}
    if data.choice is not None:
        payload["choice"] = data.choice
    if data.selections is not None:
        payload["selected"] = data.selections  # the domain's name for a choice ballot
    if data.kept is not None:
        payload["kept"] = data.kept
    return await app["ballots"].submit(
        Cast(meeting_id=data.meeting_id, poll_id=data.poll_id, participant_id=None, user_id=caller.user_id,
             key=key, payload=payload, roles=caller.roles, session_id=caller.session_id or None)
    )


@command("poll.hands", PollHands, "Enter a show of hands at a bridge point",
         ("POST", "/api/meetings/{meeting_id}/polls/{poll_id}/hands"))
async def hands(ctx: Context, data: PollHands) -> dict:
    row = await _poll(ctx, data.poll_id)
    unit = await ctx.db.scalar(select(Unit).where(Unit.code == data.point))
    if unit is None:
        raise NotFound(f"no bridge point {data.point!r}")
    if not ctx.roles & STAFF and not (ctx.me and ctx.me.role == Role.OPERATOR and ctx.me.unit_id == unit.id):
        raise Forbidden("only the point's own operator or the secretariat enters its hands")
    poll = domain_poll(row)
    if poll.state is not rules.PollState.OPEN:
        raise rules.BallotError("poll_not_open", state=str(poll.state))
    # The domain's count checks the figures (known point and options, no more hands than
    # people there, kinds that take hands, not secret); counted as if closed so that
    # the secret-while-open refusal does not hide the more precise one.
    rules.count_votes(replace(poll, state=rules.PollState.CLOSED), (), {data.point: data.counts})
    pc = await ctx.db.get(PointCount, (row.id, data.point))
    if pc is None:
        pc = PointCount(poll_id=row.id, point=data.point, counts={})
        ctx.db.add(pc)
    pc.counts, pc.by_user_id, pc.at = dict(data.counts), ctx.caller.user_id, utcnow()
    await ctx.db.flush()
    # Only this point's figures travel (docs/deliberation.md): `poll.updated` carries every
    # point's, and 200 points entering theirs sent 200 polls of up to 27 KB to each of the
    # hall's 1,200 devices while it voted (`phonghop bench mixed`: ballot answers p99 22 s).
    # A poll that takes hands is open and named, so the meeting sees the figures as it would
    # in the poll itself.
    ctx.emit("poll.hands", {"poll_id": row.id, "point": data.point, "counts": dict(data.counts)})
    return {"poll": await wire(ctx.db, row, show_result=True)}
