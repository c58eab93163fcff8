"""Catching up: the events a client missed, or a snapshot when it is too far behind."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.access import Access
from server.auth.sessions import Caller
from server.realtime.fanout import audiences_for
from server.store import eventlog, views


async def catch_up(db: AsyncSession, caller: Caller, access: Access, since: int | None, window: int) -> dict:
    """`{"events", "head"}` after `since`, or `{"snapshot", "head"}`.

    Read in one transaction, so the snapshot and its head agree.
    """
    head = access.meeting.last_seq
    if since is None or since < 0 or since > head or head - since > window:
        snap = await views.snapshot(db, access.meeting, access.me, access.sees_secretariat)
        return {"snapshot": snap, "head": snap["head"]}
    audiences = audiences_for(caller.user_id, access.sees_secretariat)
    events = await eventlog.since(db, access.meeting.id, since, audiences, limit=window + 1)
    return {"events": [eventlog.wire(e) for e in events], "head": head}
