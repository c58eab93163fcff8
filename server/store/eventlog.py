"""The meeting's event log: append inside the command's transaction, read for resync.

`seq` is gap-free per meeting because it comes from `meetings.last_seq`, which the
same transaction bumps (PostgreSQL: under the row lock taken when the meeting was
loaded FOR UPDATE; SQLite: under the single-writer lock). `prev` is the previous
`seq` of the same audience, so a client that sees only some audiences can still
tell a missed event from one that was never meant for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson
from sqlalchemy import Text, cast, func, select
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


async def since_encoded(db: AsyncSession, meeting_id: int, after: int, audiences: list[str],
                        limit: int, budget: int) -> list[orjson.Fragment] | None:
    """As `since`, each event already written as JSON for a socket.io answer (see
    server/realtime/wire.py), its `data` spliced in as the database keeps it; None when
    their data are more than `budget` bytes (the caller answers a snapshot instead).

    A hall that lost its access point rejoins within seconds and each device is replayed
    what it missed: decoding those rows' JSON, then walking and encoding it again, was half
    of the server's CPU through the rejoin of `phonghop bench mixed` (py-spy)."""
    rows = await db.execute(
        select(Event.meeting_id, Event.seq, Event.prev, Event.audience, Event.type, cast(Event.data, Text),
               Event.at)
        .where(Event.meeting_id == meeting_id, Event.seq > after, Event.audience.in_(audiences))
        .order_by(Event.seq)
        .limit(limit)
    )
    rows = rows.all()
    if sum(len(row[5] or "") for row in rows) > budget:
        return None
    out = []
    for meeting, seq, prev, audience, type_, data, at in rows:
        # The standard library writes NaN and Infinity, which JSON has not: such a row goes
        # through a decode, as `wire` sends it.
        plain = data is not None and "NaN" not in data and "Infinity" not in data
        raw = orjson.Fragment(data) if plain else json.loads(data or "null")
        out.append(orjson.Fragment(orjson.dumps({"meeting_id": meeting, "seq": seq, "prev": prev,
                                                 "audience": audience, "type": type_, "data": raw,
                                                 "at": iso(at)})))
    return out
