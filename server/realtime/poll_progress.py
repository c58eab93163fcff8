"""Live counts of open polls, and the server's own close at a poll's deadline.

`poll.progress` (to the meeting) and `poll.tally` (to the secretariat, named polls
only) are counts, not state: they are not logged and go out at most twice a second
per poll, however many ballots commit in between. A client that misses one gets the
current figure in the next one or in its snapshot. The figures are read from the
database when sent, so they are the committed truth, never a guess.

The deadline closer sleeps until the nearest deadline (at most a second at a time)
and closes what is due through the same code as `poll.close`; on start it first
closes whatever fell due while the server was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import select

from server.domain import polls as rules
from server.realtime.fanout import meeting_room, secretariat_room
from server.store.poll_views import ballots_of, domain_poll, point_counts, voted_counts
from server.store.tables import Poll as PollRow
from server.store.tables import utcnow

log = logging.getLogger("phonghop.polls")

INTERVAL = 0.5  # seconds between two counts of one poll: at most twice a second


class PollProgress:
    def __init__(self, app, interval: float = INTERVAL) -> None:
        self.app = app
        self.interval = interval
        self._last: dict[int, float] = {}
        self._scheduled: dict[int, asyncio.Task] = {}
        self._closer: asyncio.Task | None = None
        self._wake = asyncio.Event()

    # --- counts ---------------------------------------------------------------------

    def touch(self, polls: set[tuple[int, int]]) -> None:
        """Ballots of these (meeting, poll) committed: send their counts soon, coalesced."""
        for meeting_id, poll_id in polls:
            if poll_id in self._scheduled:
                continue  # the one already scheduled will read the newer count
            delay = max(0.0, self._last.get(poll_id, 0.0) + self.interval - time.monotonic())
            self._scheduled[poll_id] = asyncio.get_running_loop().create_task(self._send(meeting_id, poll_id, delay))

    async def _send(self, meeting_id: int, poll_id: int, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            self._last[poll_id] = time.monotonic()
            # From here a newer commit schedules the next count, which reads after this one.
            self._scheduled.pop(poll_id, None)
            async with self.app["db"].read() as db:
                row = await db.get(PollRow, poll_id)
                if row is None or row.state != rules.PollState.OPEN:
                    return
                voted = (await voted_counts(db, [poll_id]))[poll_id]
                tally = None
                if not row.secret:
                    # Named polls only: a running total of a secret poll would give choices away.
                    hands = (await point_counts(db, [poll_id]))[poll_id]
                    tally = rules.count_votes(domain_poll(row), await ballots_of(db, row), hands).as_dict()
            sio = self.app["sio"]
            await sio.emit("poll.progress", {"meeting_id": meeting_id, "poll_id": poll_id, "voted_count": voted,
                                             "entitled_count": len(row.entitled or [])}, room=meeting_room(meeting_id))
            if tally is not None:
                await sio.emit("poll.tally", {"meeting_id": meeting_id, "poll_id": poll_id, "tally": tally},
                               room=secretariat_room(meeting_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("progress of poll %s not sent", poll_id)

    # --- deadlines ------------------------------------------------------------------

    def deadline_set(self) -> None:
        """A poll opened with a deadline: look again at once."""
        self._wake.set()

    def start(self) -> None:
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self._close_due(), name="poll-deadlines")

    async def stop(self) -> None:
        tasks = [t for t in (self._closer, *self._scheduled.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._closer = None
        self._scheduled.clear()

    async def _close_due(self) -> None:
        from server.commands.polls import close_at_deadline

        while True:
            try:
                now = utcnow()
                async with self.app["db"].read() as db:
                    due = (await db.execute(
                        select(PollRow.id, PollRow.deadline)
                        .where(PollRow.state == rules.PollState.OPEN, PollRow.deadline.is_not(None))
                        .order_by(PollRow.deadline)
                    )).all()
                wait = 1.0
                for poll_id, deadline in due:
                    if deadline <= now:
                        await close_at_deadline(self.app, poll_id)
                    else:
                        wait = min(wait, (deadline - now).total_seconds())
                        break
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("closing polls at their deadline failed; trying again")
                wait = 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.01))
