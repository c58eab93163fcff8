"""The meeting's event log: append inside the command's transaction, read for resync.

`seq` is gap-free per meeting because it comes from `meetings.last_seq`, which the
same transaction bumps (PostgreSQL: under the row lock taken when the meeting was
loaded FOR UPDATE; SQLite: under the single-writer lock). `prev` is the previous
`seq` of the same audience, so a client that sees only some audiences can still
tell a missed event from one that was never meant for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.times import iso
from server.store.tables import Event, Meeting, utcnow


@dataclass(frozen=True)
class Pending:
    type: str
    data: dict
    audience: str = "meeting"


def wire(e: Event) -> dict:
    return {
        "meeting_id": e.meeting_id,
        "seq": e.seq,
        "prev": e.prev,
        "audience": e.audience,
        "type": e.type,
        "data": e.data,
        "at": iso(e.at),
    }


async def append(db: AsyncSession, meeting: Meeting, pending: list[Pending]) -> list[Event]:
    heads: dict[str, int] = {}
    written = []
    now = utcnow()
    for p in pending:
        if p.audience not in heads:
            heads[p.audience] = (
                await db.scalar(
                    select(func.max(Event.seq)).where(Event.meeting_id == meeting.id, Event.audience == p.audience)
                )
                or 0
            )
        meeting.last_seq += 1
        event = Event(
            meeting_id=meeting.id,
            seq=meeting.last_seq,
            prev=heads[p.audience],
            audience=p.audience,
            type=p.type,
            data=p.data,
            at=now,
        )
        heads[p.audience] = event.seq
        db.add(event)
        written.append(event)
    await db.flush()
    return written


async def since(db: AsyncSession, meeting_id: int, after: int, audiences: list[str], limit: int) -> list[Event]:
    """The events after `after` in the given audiences, in order; at most `limit`."""
    rows = await db.scalars(
        select(Event)
        .where(Event.meeting_id == meeting_id, Event.seq > after, Event.audience.in_(audiences))
        .order_by(Event.seq)
        .limit(limit)
    )
    return list(rows.all())
