"""Read permissions: who may see a meeting and which parts of its log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.sessions import Caller
from server.domain import permissions
from server.domain.errors import NotFound
from server.domain.meeting import Status
from server.store.tables import Meeting, Participant


@dataclass(frozen=True)
class Access:
    meeting: Meeting
    me: Participant | None
    roles: frozenset[str]

    @property
    def sees_secretariat(self) -> bool:
        return bool(self.roles & permissions.SECRETARIAT_AUDIENCE)


def may_read(meeting: Meeting, roles: frozenset[str]) -> bool:
    needed = permissions.READ_DRAFT if meeting.status == Status.DRAFT else permissions.READ_MEETING
    return bool(roles & needed)


async def meeting_access(db: AsyncSession, caller: Caller, meeting_id: int) -> Access:
    """The caller's view of a meeting; a meeting they may not read does not exist for them."""
    meeting = await db.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"meeting {meeting_id} does not exist")
    me = await db.scalar(
        select(Participant).where(Participant.meeting_id == meeting_id, Participant.user_id == caller.user_id)
    )
    roles = caller.roles | ({me.role} if me else set())
    if not may_read(meeting, roles):
        raise NotFound(f"meeting {meeting_id} does not exist")
    return Access(meeting, me, frozenset(roles))


async def visible_meetings(db: AsyncSession, caller: Caller) -> list[Meeting]:
    if caller.roles & {permissions.Role.ADMIN, permissions.Role.SECRETARIAT}:
        rows = await db.scalars(select(Meeting).order_by(Meeting.starts_at.desc(), Meeting.id.desc()))
        return list(rows.all())
    rows = await db.execute(
        select(Meeting, Participant.role)
        .join(Participant, Participant.meeting_id == Meeting.id)
        .where(Participant.user_id == caller.user_id)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    )
    return [m for m, role in rows.all() if may_read(m, frozenset({role}))]
