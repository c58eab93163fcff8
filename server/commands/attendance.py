"""attendance.*: check-in (điểm danh) by the delegate or by the secretariat."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlalchemy import select

from server.auth.sessions import Caller
from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import meeting as lifecycle
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.domain.permissions import STAFF, Role
from server.store.tables import Attendance, Participant, PointAttendance, Unit, utcnow
from server.store.views import attendance_dict, attendance_update, point_figure


class AttendanceSet(MeetingPayload):
    participant_id: Id
    status: Literal["present", "absent", "excused"]
    reason: str = Field(default="", max_length=1000)


async def _record(ctx: Context, participant: Participant, status: str, reason: str) -> dict:
    if not lifecycle.attendance_open(ctx.meeting.status):
        raise DomainError(f"attendance is not taken while the meeting is {ctx.meeting.status}")
    row = await ctx.db.get(Attendance, participant.id)
    if row is None:
        row = Attendance(participant_id=participant.id, meeting_id=ctx.meeting.id, status=status)
        ctx.db.add(row)
    row.status, row.reason, row.at, row.by_user_id = status, reason, utcnow(), ctx.caller.user_id
    await ctx.db.flush()
    answer = await attendance_update(ctx.db, ctx.meeting, attendance_dict(row))
    ctx.emit("attendance.updated", answer)
    return answer


@command("attendance.check_in", MeetingPayload, "Check yourself in (answered once it is durable)",
         ("POST", "/api/meetings/{meeting_id}/check-in"), direct=True)
async def check_in(app, caller: Caller, key: str | None, data: MeetingPayload) -> dict:
    """A direct command: a hall's check-ins are written together, one transaction and one
    `attendance.updated` per batch (server/commands/attendance_batch.py)."""
    return await app["checkins"].submit(caller, key, data.meeting_id)


@command("attendance.set", AttendanceSet, "Record a participant as present, absent or excused",
         ("POST", "/api/meetings/{meeting_id}/attendance"))
async def set_status(ctx: Context, data: AttendanceSet) -> dict:
    p = await ctx.db.get(Participant, data.participant_id)
    if p is None or p.meeting_id != ctx.meeting.id:
        raise NotFound(f"participant {data.participant_id} is not in this meeting")
    if data.status == "excused" and not data.reason:
        raise Invalid("an excused absence needs its reason")
    return await _record(ctx, p, data.status, data.reason)


class PointCount(MeetingPayload):
    point: str = Field(min_length=1, max_length=64)  # the point's unit code
    seated: int = Field(strict=True, ge=0, le=100_000)


@command("attendance.point_count", PointCount, "Report how many people sit at a bridge point",
         ("POST", "/api/meetings/{meeting_id}/points/attendance"))
async def point_count(ctx: Context, data: PointCount) -> dict:
    if not lifecycle.attendance_open(ctx.meeting.status):
        raise DomainError(f"attendance is not taken while the meeting is {ctx.meeting.status}")
    unit = await ctx.db.scalar(select(Unit).where(Unit.code == data.point))
    if unit is None:
        raise NotFound(f"no bridge point {data.point!r}")
    is_staff = bool(ctx.roles & STAFF)
    if not is_staff and not (ctx.me and ctx.me.role == Role.OPERATOR and ctx.me.unit_id == unit.id):
        raise Forbidden("only the point's own operator or the secretariat reports its count")
    return await record_point_count(ctx, unit, data.seated)


async def record_point_count(ctx: Context, unit: Unit, seated: int) -> dict:
    """Store a point's seated count (its caller checked who may) and send the quorum with this
    point's entry; `point.report` of the conference comes here too (server/commands/conference.py)."""
    if not lifecycle.attendance_open(ctx.meeting.status):
        raise DomainError(f"attendance is not taken while the meeting is {ctx.meeting.status}")
    row = await ctx.db.get(PointAttendance, (ctx.meeting.id, unit.id))
    if row is None:
        row = PointAttendance(meeting_id=ctx.meeting.id, unit_id=unit.id, seated=seated)
        ctx.db.add(row)
    row.seated, row.at, row.by_user_id = seated, utcnow(), ctx.caller.user_id
    await ctx.db.flush()
    # Only this point's entry travels (`points`); the devices keep the others from their snapshot.
    answer = {**await attendance_update(ctx.db, ctx.meeting),
              "points": {unit.code: point_figure(unit.name, row.seated, row.at)}}
    ctx.emit("attendance.updated", answer)
    board = ctx.app["conference"] if ctx.app is not None and "conference" in ctx.app else None
    if board is not None:  # the conference's roll call shows the count
        meeting_id = ctx.meeting.id
        ctx.after_commit.append(lambda: board.invalidate(meeting_id))
    return answer
