"""Catching up: the events a client missed, or a snapshot when it is too far behind."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.access import Access
from server.auth.sessions import Caller
from server.realtime import wire
from server.realtime.fanout import audiences_for
from server.store import eventlog, views
from server.store.tables import Meeting

SHARED_BUILDS = Counter("phonghop_snapshot_shared_builds_total", "Shared parts of snapshots built (and encoded)")
SHARED_HITS = Counter("phonghop_snapshot_shared_hits_total", "Snapshots answered with a shared part already built")


class _Builds:
    """Values built once per key and shared while fresh; readers asking while a value is
    being built wait for that build (single flight). A failed or cancelled build is not
    kept: whoever waited on it builds again."""

    SIZE = 32  # entries kept: a few meetings, a few heads each

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._entries: OrderedDict[tuple, tuple[float, asyncio.Future]] = OrderedDict()
        self.builds = 0

    async def get(self, key: tuple, build):
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] <= self.max_age:
            try:
                value = await asyncio.shield(entry[1])
                SHARED_HITS.inc()
                return value
            except asyncio.CancelledError:
                if not entry[1].cancelled():
                    raise  # this reader was cancelled, not the build
            except Exception:  # noqa: S110 (that build failed: build again below)
                pass
        future = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.SIZE:
            self._entries.popitem(last=False)
        try:
            value = await build()
        except BaseException as exc:
            if self._entries.get(key, (None, None))[1] is future:
                del self._entries[key]
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: its waiters build their own
            raise
        self.builds += 1
        SHARED_BUILDS.inc()
        future.set_result(value)
        return value


class SharedSnapshots:
    """Snapshots for socket.io readers, built from parts shared by every reader at a head.

    A hall's tablets join, or reconnect from too far behind, together at one head. Building
    each one's snapshot alone cost O(participants) each, O(participants²) for the hall:
    1,000 tablets took 114 s to join (`phonghop bench votes`; py-spy: the snapshot's
    queries, its encoding and the payload walk). Now:

    - the shared part (views.shared_snapshot: participants, attendance, quorum, agenda,
      speakers, the record) is built and encoded once per (meeting, head, staff or not).
      It changes only through logged events, which move the head, so the key is exact;
      entries also expire after SHARED_AGE seconds, a bound on anything changed outside
      the log;
    - the rows each reader's own part is cut from (views.reader_rows) are read once per
      (meeting, head, staff, ballots committed here) and kept ROWS_AGE seconds: they hold
      counts that move without a logged event (votes cast, pages rendered), which the
      clients otherwise get at most twice a second too (`poll.progress`). A ballot
      committed by this process starts new rows at once, so a tablet's own vote is in
      its next snapshot.

    A join then costs no query for its snapshot (bench: 12 ms of CPU per join before).
    """

    SHARED_AGE = 10.0
    ROWS_AGE = 0.5

    def __init__(self, generation=lambda: 0) -> None:
        self.shared = _Builds(self.SHARED_AGE)
        self.rows = _Builds(self.ROWS_AGE)
        self.generation = generation

    @property
    def builds(self) -> int:
        return self.shared.builds

    async def snapshot(self, db: AsyncSession, meeting: Meeting, me, staff: bool) -> dict:
        async def shared() -> dict[str, wire.Fragment]:
            built = await views.shared_snapshot(db, meeting, staff)
            return {name: wire.encoded(value) for name, value in built.items()}

        async def rows() -> dict:
            return await views.reader_rows(db, meeting, staff)

        part = await self.shared.get((meeting.id, meeting.last_seq, staff), shared)
        cut = await self.rows.get((meeting.id, meeting.last_seq, staff, self.generation()), rows)
        return {**views.reader_part(cut, meeting, me, staff), **part}


# A socket.io catch-up whose events hold more than this answers a snapshot instead. A
# device's `since` is the head of its last join (docs/protocol.md: `min(heads)`), so a hall
# rejoining late in a session was replayed the whole session: in `phonghop bench mixed`,
# 2.9 MB a device (each show of hands re-sends its poll with every point's figures),
# 3.5 GB for the hall, where a snapshot (some 250 KB for a hall of a thousand) has its
# shared part built and encoded once for all of them. Below it, events: a tablet back from
# a reboot of its access point is replayed exactly what it missed (`phonghop bench
# reconnect` replays ~130 KB a tablet).
REPLAY_BYTES = 1024 * 1024


async def catch_up(db: AsyncSession, caller: Caller, access: Access, since: int | None, window: int,
                   shared: SharedSnapshots | None = None) -> dict:
    """`{"events", "head"}` after `since`, or `{"snapshot", "head"}`.

    Read in one transaction, so the snapshot and its head agree. With `shared` (socket.io
    answers, written by server/realtime/wire.py), the snapshot's shared part comes from it,
    and the events come from the log, already encoded, or a snapshot when they are many bytes.
    """
    head = access.meeting.last_seq
    if since is None or since < 0 or since > head or head - since > window:
        return await _snapshot(db, access, shared)
    audiences = audiences_for(caller.user_id, access.sees_secretariat)
    if shared is not None:
        events = await eventlog.since_encoded(db, access.meeting.id, since, audiences, limit=window + 1,
                                              budget=REPLAY_BYTES)
        if events is None:
            return await _snapshot(db, access, shared)
        return {"events": events, "head": head}
    events = await eventlog.since(db, access.meeting.id, since, audiences, limit=window + 1)
    return {"events": [eventlog.wire(e) for e in events], "head": head}


async def _snapshot(db: AsyncSession, access: Access, shared: SharedSnapshots | None) -> dict:
    if shared is None:
        snap = await views.snapshot(db, access.meeting, access.me, access.sees_secretariat)
    else:
        snap = await shared.snapshot(db, access.meeting, access.me, access.sees_secretariat)
    return {"snapshot": snap, "head": snap["head"]}
