"""participant.*: who takes part in a meeting, in which role, with or without a vote."""

from __future__ import annotations

from pydantic import Field

from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import meeting as lifecycle
from server.domain.errors import DomainError, Invalid, NotFound
from server.domain.permissions import MEETING_ROLES, VOTES_BY_DEFAULT
from server.store.tables import Attendance, Participant, Unit, User
from server.store.views import attendance_update, participant_dict

RoleName = str  # validated against MEETING_ROLES below, so the list lives in one place


class ParticipantAdd(MeetingPayload):
    user_id: Id | None = None
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: RoleName
    voting: bool | None = None
    unit_id: Id | None = None
    title: str = Field(default="", max_length=300)


class ParticipantUpdate(MeetingPayload):
    participant_id: Id
    role: RoleName | None = None
    voting: bool | None = None
    title: str | None = Field(default=None, max_length=300)


class ParticipantRef(MeetingPayload):
    participant_id: Id


def _role(role: str | None) -> None:
    if role is not None and role not in MEETING_ROLES:
        raise Invalid(f"unknown role {role!r}; one of: {', '.join(sorted(MEETING_ROLES))}")


def _open(ctx: Context) -> None:
    if ctx.meeting.status == lifecycle.Status.CLOSED:
        raise DomainError("the participants of a closed meeting are part of the record")


async def _participant(ctx: Context, participant_id: int) -> Participant:
    p = await ctx.db.get(Participant, participant_id)
    if p is None or p.meeting_id != ctx.meeting.id:
        raise NotFound(f"participant {participant_id} is not in this meeting")
    return p


@command("participant.add", ParticipantAdd, "Invite a participant",
         ("POST", "/api/meetings/{meeting_id}/participants"))
async def add(ctx: Context, data: ParticipantAdd) -> dict:
    _open(ctx)
    _role(data.role)
    full_name, unit_id = data.full_name, data.unit_id
    if data.user_id is not None:
        user = await ctx.db.get(User, data.user_id)
        if user is None:
            raise NotFound(f"account {data.user_id} does not exist")
        full_name = full_name or user.full_name
        unit_id = unit_id if unit_id is not None else user.unit_id
    if not full_name:
        raise Invalid("a participant without an account needs a full_name")
    if unit_id is not None and await ctx.db.get(Unit, unit_id) is None:
        raise NotFound(f"unit {unit_id} does not exist")
    p = Participant(
        meeting_id=ctx.meeting.id, user_id=data.user_id, full_name=full_name, title=data.title, unit_id=unit_id,
        role=data.role, voting=data.voting if data.voting is not None else data.role in VOTES_BY_DEFAULT,
    )
    ctx.db.add(p)
    await ctx.db.flush()  # a second invitation of the same account fails here, cleanly
    ctx.audit("participant.add", f"participant:{p.id}", {"user_id": p.user_id, "role": p.role, "voting": p.voting})
    ctx.emit("participant.updated", {"participant": participant_dict(p)})
    ctx.emit("attendance.updated", await attendance_update(ctx.db, ctx.meeting))
    ctx.lists_changed = data.user_id is not None
    return {"participant": participant_dict(p)}


@command("participant.update", ParticipantUpdate, "Change a participant's role, vote or title",
         ("PATCH", "/api/meetings/{meeting_id}/participants/{participant_id}"))
async def update(ctx: Context, data: ParticipantUpdate) -> dict:
    _open(ctx)
    _role(data.role)
    p = await _participant(ctx, data.participant_id)
    was = {"role": p.role, "voting": p.voting}
    for name, value in data.changes(keep={"meeting_id", "participant_id"}, required={"role", "voting", "title"}).items():
        setattr(p, name, value)
    if {"role": p.role, "voting": p.voting} != was:  # a role or a vote given or taken: on the audit log
        ctx.audit("participant.update", f"participant:{p.id}",
                  {"user_id": p.user_id, "role": p.role, "voting": p.voting, "was": was})
    await ctx.db.flush()
    ctx.emit("participant.updated", {"participant": participant_dict(p)})
    ctx.emit("attendance.updated", await attendance_update(ctx.db, ctx.meeting))
    return {"participant": participant_dict(p)}


@command("participant.remove", ParticipantRef, "Withdraw an invitation",
         ("DELETE", "/api/meetings/{meeting_id}/participants/{participant_id}"))
async def remove(ctx: Context, data: ParticipantRef) -> dict:
    _open(ctx)
    p = await _participant(ctx, data.participant_id)
    attendance = await ctx.db.get(Attendance, p.id)
    if attendance is not None:
        await ctx.db.delete(attendance)
    await ctx.db.delete(p)
    await ctx.db.flush()
    ctx.audit("participant.remove", f"participant:{p.id}", {"user_id": p.user_id, "role": p.role})
    ctx.emit("participant.removed", {"participant_id": p.id})
    ctx.emit("attendance.updated", await attendance_update(ctx.db, ctx.meeting))
    ctx.lists_changed = p.user_id is not None
    return {"participant_id": p.id}
