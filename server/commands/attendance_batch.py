"""Check-ins written together: one transaction and ONE `attendance.updated` per batch.

A hall checks in within minutes, and each check-in through the usual command path was a
transaction (an fsync on SQLite) and an event carrying the whole quorum to every device
in the meeting: a thousand check-ins were a thousand commits and, with 1,200 devices,
1.2 million messages (`phonghop bench mixed`; BENCHMARKS.md). Here, as the ballot writer
does for votes (server/store/ballots.py), every check-in that arrives while a batch is
being written waits for the next one; a batch is one transaction: the idempotency keys
already stored answered as stored, each caller's participant row and permission checked,
the attendance rows written, the quorum computed once, and one event per meeting whose
`attendance` is the list of the rows written (docs/protocol.md), with an idempotency
record per check-in. Each caller is answered only after that commit, with the event's
seq: acknowledged once durable, the same key answered the same on a retry, the log
gap-free (the event is appended in the transaction, as any command's).

A batch gathers for WINDOW seconds from its first check-in: a hall checking in over a
minute or two (ten a second) would otherwise be written one or two at a time, each commit
being quick, and send nearly as many events as check-ins (`phonghop bench mixed`, 1,000
tablets: the check-in phase). A check-in is therefore answered up to WINDOW later than
its own commit would allow: a person at a tablet does not notice half a second, and the
hall's devices get at most two quorum updates a second instead of ten.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from prometheus_client import Histogram
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from server.auth.sessions import Caller
from server.commands.dispatch import COMMANDS, LATENCY
from server.domain import meeting as lifecycle
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, NotFound
from server.store import eventlog
from server.store.tables import Attendance, CommandResult, Meeting, Participant, utcnow
from server.store.views import attendance_dict, attendance_update

log = logging.getLogger("phonghop.commands")

NAME = "attendance.check_in"
MAX_BATCH = 500
WINDOW = 0.5  # seconds a batch gathers check-ins from its first (see above)
ATTEMPTS = 3  # a batch that lost a race to another process (PostgreSQL) is read and written again
BATCH_SIZE = Histogram("phonghop_checkin_batch_size", "Check-ins written in one transaction",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))


@dataclass(eq=False)
class CheckIn:
    caller: Caller
    key: str | None
    meeting_id: int
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CheckInWriter:
    """One per process (app["checkins"]): `submit` answers a check-in after its batch's commit."""

    def __init__(self, app, max_batch: int = MAX_BATCH, window: float = WINDOW) -> None:
        self.app = app
        self.max_batch = max_batch
        self.window = window
        self.waiting: list[CheckIn] = []
        self.task: asyncio.Task | None = None
        self.batches = 0  # batches committed (tests, benchmarks)

    async def submit(self, caller: Caller, key: str | None, meeting_id: int) -> dict:
        item = CheckIn(caller, key, meeting_id)
        self.waiting.append(item)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run(), name="check-ins")
        return await item.future

    async def _run(self) -> None:
        try:
            while self.waiting:
                if self.window and len(self.waiting) < self.max_batch:
                    await asyncio.sleep(self.window)  # the check-ins of the next moments join this batch
                batch, self.waiting = self.waiting[: self.max_batch], self.waiting[self.max_batch:]
                await self._write(batch)
        finally:
            self.task = None
            for item in self.waiting:  # cancelled (the server stops): nobody waits forever
                item.future.cancel()
            self.waiting = []

    async def _write(self, batch: list[CheckIn]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for attempt in range(ATTEMPTS):
            try:
                outcomes, written = await self._commit(batch)
                break
            except IntegrityError:
                # Another process stored one of these keys or rows meanwhile: nothing of this
                # transaction was kept; read again and write again.
                if attempt == ATTEMPTS - 1:
                    outcomes = dict.fromkeys(batch, DomainError("the change conflicts with existing data; try again"))
                    written = []
            except Exception as exc:  # the database is unreachable, or a fault: each caller hears of it
                if not isinstance(exc, DomainError):
                    log.warning("a batch of %d check-ins failed: %s", len(batch), type(exc).__name__)
                outcomes, written = dict.fromkeys(batch, exc), []
                break
        BATCH_SIZE.observe(len(batch))
        if written:
            self.batches += 1
            LATENCY.labels(NAME).observe(loop.time() - started)
            await self.app["fanout"].publish([eventlog.wire(e) for e in written])
        for item, outcome in outcomes.items():
            if item.future.done():
                continue
            if isinstance(outcome, BaseException):
                COMMANDS.labels(NAME, "refused").inc()  # (dispatch counts what is answered)
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

    async def _commit(self, batch: list[CheckIn]) -> tuple[dict[CheckIn, dict | BaseException], list]:
        outcomes: dict[CheckIn, dict | BaseException] = {}
        written_all = []
        async with self.app["db"].write() as s:
            keys = {(i.caller.user_id, i.key) for i in batch if i.key is not None}
            stored = {}
            if keys:
                rows = await s.scalars(select(CommandResult).where(
                    tuple_(CommandResult.user_id, CommandResult.key).in_(list(keys))))
                stored = {(r.user_id, r.key): r for r in rows.all()}
            leaders: dict[tuple[int, str], CheckIn] = {}
            followers: list[tuple[CheckIn, CheckIn]] = []
            todo: dict[int, list[CheckIn]] = {}
            for item in batch:
                mark = (item.caller.user_id, item.key)
                if item.key is not None and mark in stored:
                    row = stored[mark]
                    outcomes[item] = row.result if row.name == NAME else DomainError(
                        f"the idempotency key was already used for {row.name}", code="idempotency_conflict",
                        status=409)
                elif item.key is not None and mark in leaders:
                    followers.append((leaders[mark], item))  # the same check-in sent twice at once
                else:
                    if item.key is not None:
                        leaders[mark] = item
                    todo.setdefault(item.meeting_id, []).append(item)
            for meeting_id, items in todo.items():
                written_all += await self._meeting(s, meeting_id, items, outcomes)
        for leader, follower in followers:
            outcomes[follower] = outcomes[leader]
        return outcomes, written_all

    async def _meeting(self, s, meeting_id: int, items: list[CheckIn], outcomes: dict) -> list:
        """The check-ins of one meeting in the batch's transaction; its logged event, if any."""
        # FOR UPDATE: on PostgreSQL this row lock orders every writer of the meeting's log.
        meeting = await s.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
        if meeting is None:
            self._refuse(items, outcomes, NotFound(f"meeting {meeting_id} does not exist"))
            return []
        users = {i.caller.user_id for i in items}
        mine = {p.user_id: p for p in (await s.scalars(select(Participant).where(
            Participant.meeting_id == meeting_id, Participant.user_id.in_(users)))).all()}
        accepted: list[tuple[CheckIn, Participant]] = []
        for item in items:
            me = mine.get(item.caller.user_id)
            roles = item.caller.roles | ({me.role} if me else set())
            if not permissions.allowed(NAME, roles):
                self._refuse([item], outcomes, Forbidden(f"your role may not run {NAME}"))
            elif me is None:
                self._refuse([item], outcomes, Forbidden("only a participant of this meeting can check in"))
            elif not lifecycle.attendance_open(meeting.status):
                self._refuse([item], outcomes, DomainError(
                    f"attendance is not taken while the meeting is {meeting.status}"))
            else:
                accepted.append((item, me))
        if not accepted:
            return []
        ids = {me.id for _, me in accepted}
        rows = {a.participant_id: a for a in (await s.scalars(select(Attendance).where(
            Attendance.participant_id.in_(ids)))).all()}
        now = utcnow()
        for item, me in accepted:
            row = rows.get(me.id)
            if row is None:
                row = rows[me.id] = Attendance(participant_id=me.id, meeting_id=meeting_id, status="present")
                s.add(row)
            row.status, row.reason, row.at, row.by_user_id = "present", "", now, item.caller.user_id
        await s.flush()
        update = await attendance_update(s, meeting, [attendance_dict(rows[i]) for i in sorted(ids)])
        figure = update["quorum"]
        written = await eventlog.append(s, meeting, [eventlog.Pending("attendance.updated", update)])
        seq = written[-1].seq
        for item, me in accepted:
            answer = {"result": {"attendance": attendance_dict(rows[me.id]), "quorum": figure}, "seq": seq}
            outcomes[item] = answer
            if item.key is not None:
                s.add(CommandResult(user_id=item.caller.user_id, key=item.key, name=NAME, result=answer))
        return written

    @staticmethod
    def _refuse(items: list[CheckIn], outcomes: dict, error: DomainError) -> None:
        for item in items:
            outcomes[item] = error
            log.info("command %s by %s refused: %s %s", NAME, item.caller.username, error.code, error.message)
