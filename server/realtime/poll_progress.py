"""Live counts of open polls, and the server's own close at a poll's deadline.

`poll.progress` (to the meeting) and `poll.tally` (to the secretariat, named polls
only) are counts, not state: they are not logged and go out at most twice a second
per poll, however many ballots commit in between. A client that misses one gets the
current figure in the next one or in its snapshot. The figures are read from the
database when sent, so they are the committed truth, never a guess.

The deadline closer sleeps until the nearest deadline (at most a second at a time)
and closes what is due through the same code as `poll.close`; on start it first
closes whatever fell due while the server was down. While the database is away it
keeps trying every second, and says so twice: one line when it starts failing (the
error's class and message, no stack trace) and one when it works again (issue 8).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from sqlalchemy import Text, cast, func, select

from server.domain import polls as rules
from server.realtime.fanout import meeting_room, secretariat_room
from server.store.db import unreachable
from server.store.poll_views import domain_poll, point_counts, voted_counts
from server.store.tables import NamedBallot, utcnow
from server.store.tables import Poll as PollRow

log = logging.getLogger("phonghop.polls")

INTERVAL = 0.5  # seconds between two counts of one poll: at most twice a second


async def _named_ballots(db, poll_id: int) -> list[rules.Ballot]:
    """The ballots of an open named poll as the domain counts them, grouped in SQL.

    A running tally only needs how many ballots chose what: one row per distinct
    (selections, status) instead of one ORM object per ballot, twice a second through a
    hall's vote on the loop that serves it. Who cast them is the database's to keep
    unique (the key of named_ballots) and was checked at the vote; the count at the
    close still reads every ballot with its voter (`poll_views.ballots_of`).
    """
    pid = str(poll_id)
    selections = cast(NamedBallot.selections, Text)  # a json value has no equality on PostgreSQL
    rows = await db.execute(select(selections, NamedBallot.status, func.count())
                            .where(NamedBallot.poll_id == poll_id).group_by(selections, NamedBallot.status))
    out: list[rules.Ballot] = []
    for chosen, status, n in rows.all():
        ballot = rules.Ballot(pid, None, tuple(json.loads(chosen)), rules.BallotStatus(status))
        out += [ballot] * n
    return out


class PollProgress:
    def __init__(self, app, interval: float = INTERVAL) -> None:
        self.app = app
        self.interval = interval
        self._last: dict[int, float] = {}
        self._scheduled: dict[int, asyncio.Task] = {}
        self._closer: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self.failing_since: float | None = None  # monotonic time the deadline closer started failing
        self.failures = 0  # its failed rounds in a row (0 while it works)

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
                    tally = rules.count_votes(domain_poll(row), await _named_ballots(db, poll_id), hands).as_dict()
            fanout = self.app["fanout"]
            await fanout.paced("poll.progress", {"meeting_id": meeting_id, "poll_id": poll_id, "voted_count": voted,
                                                "entitled_count": len(row.entitled or [])}, meeting_room(meeting_id))
            if tally is not None:
                await fanout.paced("poll.tally", {"meeting_id": meeting_id, "poll_id": poll_id, "tally": tally},
                                  secretariat_room(meeting_id))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if unreachable(exc):  # the database went away after the ballot: the next count will say it
                log.warning("progress of poll %s not sent: the database is unreachable (%s)", poll_id,
                            type(exc).__name__)
            else:
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

    def _failed(self, exc: Exception) -> None:
        """A failed round. The first of a run is logged; the others only counted: a database
        that is away for an hour must not write 3,600 stack traces."""
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            # One line: the error's class and the first line of its message (SQLAlchemy's run on
            # with the statement and a link); a whole trace adds nothing to "the database is away".
            message = (str(exc).strip().splitlines() or [""])[0][:300]
            what = "the database is unreachable" if unreachable(exc) else "it failed"
            log.warning("closing polls at their deadline: %s (%s: %s); trying again every second",
                        what, type(exc).__name__, message)

    def _recovered(self) -> None:
        if self.failing_since is not None:
            log.warning("closing polls at their deadline works again after %.0f s (%d failed rounds)",
                        time.monotonic() - self.failing_since, self.failures)
        self.failing_since, self.failures = None, 0

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
            except Exception as exc:
                self._failed(exc)
                wait = 1.0
            else:
                self._recovered()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.01))
