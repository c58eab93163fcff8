"""The ballot writer: one per process, group commit, one ballot per voter per poll.

Why a writer instead of one transaction per `poll.vote`: with SQLite at
synchronous=FULL every commit is an fsync, and a hall of delegates voting within two
seconds would queue a thousand of them behind SQLite's single writer. Here every
ballot goes into an asyncio queue; the writer takes all that are waiting (up to
`max_batch`), checks and writes them in ONE transaction (through `Database.write()`,
so SQLite's writer lock is shared fairly with every other command), commits, and only
then settles each caller's future. A ballot is therefore acknowledged only once
durable, and a thousand ballots cost a handful of fsyncs.

Integrity is the database's: `poll_voters` has (poll_id, participant_id) as its key.
The writer reads the voters already stored and dedupes within the batch before it
inserts, so one bad ballot is refused alone instead of failing its neighbours; if the
batch still breaks a constraint (another process won a race on PostgreSQL) it is
read and checked again, and as a last resort written one ballot per transaction.

Secret polls (docs/ballot-secrecy.md): a checked secret ballot waits in memory, not
acknowledged, until its poll has `secret_batch` of them (or the poll closes: the
close writes the rest in its own transaction). Then the batch is written with the
voter marks in participant order, the ballots in a shuffled order under random ids,
no time, and idempotency records that hold no receipt and are added in user order, so
neither insert order nor row ids pair a voter with a ballot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import permissions
from server.domain import polls as rules
from server.domain.errors import DomainError, Forbidden, NotFound
from server.store.poll_views import domain_poll, voted_counts
from server.store.tables import CommandResult, NamedBallot, Participant, PollVoter, SecretBallot, utcnow
from server.store.tables import Poll as PollRow

log = logging.getLogger("phonghop.ballots")

COMMAND = "poll.vote"
MAX_BATCH = 500
SECRET_BATCH = 5  # k of docs/ballot-secrecy.md: a voter mark shares its transaction with >= k ballots
# What a retry of a secret ballot answers, and all its idempotency record holds: the
# receipt is never stored next to the voter (docs/deliberation.md).
SECRET_REPLAY = {"result": {"accepted": True, "already_voted": True, "receipt": None}, "seq": None}
_shuffle = random.SystemRandom().shuffle


def _internal() -> DomainError:
    return DomainError("the server failed; the same vote with the same key may be sent again",
                       code="internal", status=500)


@dataclass(eq=False)
class Cast:
    """One `poll.vote` on its way to the database."""

    meeting_id: int
    poll_id: int
    participant_id: int | None  # None: looked up in the batch, with every other voter's
    user_id: int
    key: str | None
    payload: dict  # the domain's ballot payload: {"choice"} | {"selected"} | {"kept"}
    roles: frozenset[str] = frozenset()  # the caller's global roles; the meeting role is added in the batch
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


Outcome = dict | BaseException
Pending = dict[int, list[tuple[Cast, rules.Ballot]]]


@dataclass
class _Plan:
    """What a batch transaction decided; applied to the caller's futures only after its commit."""

    done: list[tuple[Cast, Outcome]] = field(default_factory=list)
    follows: list[tuple[Cast, Cast, str]] = field(default_factory=list)  # leader, follower, "same"|"already"
    new_pending: Pending = field(default_factory=dict)
    drop_pending: set[int] = field(default_factory=set)
    touched: set[tuple[int, int]] = field(default_factory=set)  # (meeting_id, poll_id) whose count moved
    # Rows to insert, per table, in the order they must be written (Core executemany:
    # the ORM's unit of work costs more than the fsync for a batch of hundreds).
    rows: dict[type, list[dict]] = field(default_factory=lambda: {
        PollVoter: [], NamedBallot: [], SecretBallot: [], CommandResult: []})


class BallotWriter:
    def __init__(
        self,
        db,
        *,
        max_batch: int = MAX_BATCH,
        secret_batch: int = SECRET_BATCH,
        on_commit: Callable[[set[tuple[int, int]]], None] | None = None,
    ) -> None:
        self.db = db
        self.max_batch = max_batch
        self.secret_batch = secret_batch
        self.on_commit = on_commit
        self.queue: asyncio.Queue[Cast] = asyncio.Queue()
        self.pending: Pending = {}  # checked secret ballots waiting for their batch of k
        self.followers: dict[Cast, list[tuple[Cast, str]]] = {}
        self.batches = 0  # transactions written, for the benchmark
        self._task: asyncio.Task | None = None

    # --- life ---------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ballot-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        # Nothing pending was acknowledged: its callers are told to send again.
        for items in self.pending.values():
            for cast, _ in items:
                self._settle(cast, _internal())
        self.pending.clear()
        while not self.queue.empty():
            self._settle(self.queue.get_nowait(), _internal())

    async def submit(self, cast: Cast) -> dict:
        """`{"result", "seq"}` once the ballot is committed; raises DomainError if refused."""
        self.start()
        self.queue.put_nowait(cast)
        return await asyncio.shield(cast.future)

    async def _run(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self.queue.get(), timeout=1.0)
            except TimeoutError:
                if self.pending:
                    # Ballots held for a poll that was closed elsewhere (another process,
                    # or the race at the close) are refused here rather than held forever.
                    await self._write([], sweep=True)
                continue
            batch = [first]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self._write(batch)

    # --- one batch ----------------------------------------------------------------

    async def _write(self, batch: list[Cast], *, sweep: bool = False) -> None:
        for attempt in range(2):
            try:
                async with self.db.write() as session:
                    plan = await self._apply(session, batch, self.pending, sweep=sweep)
                # No await between the commit and _commit: the pending buffer and the
                # futures move exactly with what is durable.
                self.batches += 1
                self._commit(plan)
                return
            except IntegrityError:
                # Another process stored one of these voters or keys after our read; the
                # second attempt reads again and refuses that ballot alone.
                log.warning("ballot batch of %d hit a constraint (attempt %d)", len(batch), attempt + 1)
            except Exception:
                log.exception("ballot batch of %d failed", len(batch))
                break
        if len(batch) > 1:
            for cast in batch:  # last resort: one transaction each, so only the culprit fails
                await self._write([cast])
            return
        for cast in batch:
            self._settle(cast, _internal())

    def _commit(self, plan: _Plan) -> None:
        for cast, outcome in plan.done:
            self._settle(cast, outcome)
        for leader, follower, mode in plan.follows:
            if leader.future.done():
                self._follow(leader, follower, mode)
            else:
                self.followers.setdefault(leader, []).append((follower, mode))
        for poll_id in plan.drop_pending:
            self.pending.pop(poll_id, None)
        for poll_id, items in plan.new_pending.items():
            self.pending.setdefault(poll_id, []).extend(items)
        if plan.touched and self.on_commit is not None:
            self.on_commit(plan.touched)

    def _settle(self, cast: Cast, outcome: Outcome) -> None:
        if not cast.future.done():
            if isinstance(outcome, BaseException):
                cast.future.set_exception(outcome)
            else:
                cast.future.set_result(outcome)
        for follower, mode in self.followers.pop(cast, []):
            self._follow(cast, follower, mode)

    def _follow(self, leader: Cast, follower: Cast, mode: str) -> None:
        if leader.future.cancelled():
            self._settle(follower, _internal())
        elif leader.future.exception() is not None:
            self._settle(follower, leader.future.exception())
        elif mode == "same":
            self._settle(follower, leader.future.result())
        else:
            self._settle(follower, SECRET_REPLAY)

    async def _apply(self, s: AsyncSession, casts: list[Cast], pending: Pending, *,
                     force: frozenset[int] = frozenset(), sweep: bool = False) -> _Plan:
        plan = _Plan()
        now = utcnow()
        poll_ids = {c.poll_id for c in casts} | set(force) | (set(pending) if sweep else set())
        # FOR UPDATE (PostgreSQL): a close in another transaction waits for this batch,
        # or this batch waits for the close and then sees the poll closed.
        rows = {
            r.id: r
            for r in (await s.scalars(select(PollRow).where(PollRow.id.in_(poll_ids)).with_for_update())).all()
        } if poll_ids else {}
        stored: dict[tuple[int, str], CommandResult] = {}
        keyed = [c for c in casts if c.key is not None]
        if keyed:
            # Pairs, not two IN lists: (users x keys) would probe every combination.
            found = await s.execute(
                select(CommandResult.user_id, CommandResult.key, CommandResult.name, CommandResult.result).where(
                    tuple_(CommandResult.user_id, CommandResult.key).in_({(c.user_id, c.key) for c in keyed})
                )
            )
            stored = {(r.user_id, r.key): r for r in found.all()}
        unknown = {(c.meeting_id, c.user_id) for c in casts if c.participant_id is None}
        members: dict[tuple[int, int], tuple[int, str]] = {}
        if unknown:
            # One query for the whole batch instead of one read per vote on the way in.
            found = await s.execute(
                select(Participant.meeting_id, Participant.user_id, Participant.id, Participant.role)
                .where(tuple_(Participant.meeting_id, Participant.user_id).in_(unknown))
            )
            members = {(m, u): (pid, role) for m, u, pid, role in found.all()}
        voted: dict[int, set[int]] = {pid: set() for pid in rows}
        cast_polls = {c.poll_id for c in casts} & set(rows)
        if cast_polls:
            # The polls' whole signature sheets: one range scan of the key, cheaper than
            # probing for hundreds of ids, and it gives the counts as well.
            sheet = await s.execute(
                select(PollVoter.poll_id, PollVoter.participant_id).where(PollVoter.poll_id.in_(cast_polls)))
            for pid, participant_id in sheet.all():
                voted[pid].add(participant_id)
        counts = {pid: len(voted[pid]) for pid in voted}
        missing = [pid for pid in rows if pid not in {c.poll_id for c in casts}]
        if missing:
            counts.update(await voted_counts(s, missing))
        domain = {pid: domain_poll(r) for pid, r in rows.items()}
        inflight = {(pid, c.participant_id): c for pid, items in pending.items() for c, _ in items}
        seen_keys: dict[tuple[int, str], Cast] = {}
        new_secret: Pending = {}

        for c in casts:
            if c.key is not None:
                k = (c.user_id, c.key)
                if k in stored:
                    if stored[k].name != COMMAND:
                        plan.done.append((c, DomainError(
                            f"the idempotency key was already used for {stored[k].name}",
                            code="idempotency_conflict", status=409)))
                    else:
                        plan.done.append((c, stored[k].result))
                    continue
                if k in seen_keys:
                    plan.follows.append((seen_keys[k], c, "same"))
                    continue
                seen_keys[k] = c
            if c.participant_id is None:
                member = members.get((c.meeting_id, c.user_id))
                if member is None or not permissions.allowed(COMMAND, c.roles | {member[1]}):
                    plan.done.append((c, Forbidden(f"your role may not run {COMMAND}")))
                    continue
                c.participant_id = member[0]
            row = rows.get(c.poll_id)
            if row is None or row.meeting_id != c.meeting_id:
                plan.done.append((c, NotFound(f"poll {c.poll_id} is not in this meeting")))
                continue
            lead = inflight.get((c.poll_id, c.participant_id))
            if lead is not None:  # a second vote while the first waits for its secret batch
                plan.follows.append((lead, c, "already"))
                continue
            already = c.participant_id in voted[c.poll_id]
            if already and (row.secret or not row.may_change_vote):
                # Counted once: a named poll says so with its count, a secret one cannot
                # show the receipt again (it is stored with the ballot only).
                answer = SECRET_REPLAY if row.secret else {
                    "result": {"accepted": True, "already_voted": True, "receipt": None,
                               "voted_count": counts[c.poll_id]}, "seq": None}
                self._record(plan, c, answer)
                plan.done.append((c, answer))
                continue
            try:
                ballot = rules.validate_ballot(
                    domain[c.poll_id], str(c.participant_id), c.payload, now, already_voted=already
                )
            except rules.PollError as exc:
                plan.done.append((c, exc))
                continue
            if row.secret:
                new_secret.setdefault(c.poll_id, []).append((c, ballot))
                inflight[(c.poll_id, c.participant_id)] = c
                continue
            if already:  # may_change_vote: the named ballot is replaced, the count stays
                named = await s.get(NamedBallot, (c.poll_id, c.participant_id))
                named.selections, named.status, named.at = list(ballot.selections), str(ballot.status), now
            else:
                plan.rows[PollVoter].append({"poll_id": c.poll_id, "participant_id": c.participant_id})
                plan.rows[NamedBallot].append({"poll_id": c.poll_id, "participant_id": c.participant_id,
                                               "selections": list(ballot.selections), "status": str(ballot.status),
                                               "at": now})
                voted[c.poll_id].add(c.participant_id)
                counts[c.poll_id] += 1
            answer = {"result": {"accepted": True, "receipt": None, "voted_count": counts[c.poll_id]}, "seq": None}
            self._record(plan, c, answer)
            plan.done.append((c, answer))
            plan.touched.add((row.meeting_id, row.id))

        for pid in set(new_secret) | set(force) | (set(pending) if sweep else set()):
            waiting = pending.get(pid, []) + new_secret.get(pid, [])
            row = rows.get(pid)
            if row is None or row.state != rules.PollState.OPEN:
                refusal = rules.BallotError("poll_not_open", state=row.state if row else "deleted")
                plan.done.extend((c, refusal) for c, _ in waiting)
                plan.drop_pending.add(pid)
            elif len(waiting) >= self.secret_batch or (pid in force and waiting):
                self._write_secret(s, row, waiting, counts[pid] + len(waiting), plan)
                plan.drop_pending.add(pid)
                plan.touched.add((row.meeting_id, row.id))
            elif pid in new_secret:
                plan.new_pending[pid] = new_secret[pid]
        await s.flush()
        for table, values in plan.rows.items():  # parents first: voter marks, ballots, then records
            if values:
                await s.execute(insert(table.__table__), values)
        return plan

    def _write_secret(self, s: AsyncSession, row: PollRow, waiting: list[tuple[Cast, rules.Ballot]],
                      count: int, plan: _Plan) -> None:
        # Three independent orders: voter marks by participant id, ballots shuffled,
        # idempotency records by user id; the answer carries the batch's final count.
        for c, _ in sorted(waiting, key=lambda item: item[0].participant_id):
            plan.rows[PollVoter].append({"poll_id": row.id, "participant_id": c.participant_id})
        shuffled = list(waiting)
        _shuffle(shuffled)
        answers: dict[Cast, dict] = {}
        for c, ballot in shuffled:
            receipt = rules.format_receipt(os.urandom(rules.RECEIPT_MIN_BYTES))
            plan.rows[SecretBallot].append({"id": os.urandom(16).hex(), "poll_id": row.id,
                                            "selections": list(ballot.selections), "status": str(ballot.status),
                                            "receipt": receipt})
            answers[c] = {"result": {"accepted": True, "receipt": receipt, "voted_count": count}, "seq": None}
        for c, _ in sorted(waiting, key=lambda item: (item[0].user_id, item[0].key or "")):
            self._record(plan, c, SECRET_REPLAY)
            plan.done.append((c, answers[c]))

    @staticmethod
    def _record(plan: _Plan, c: Cast, answer: dict) -> None:
        if c.key is not None:
            plan.rows[CommandResult].append(
                {"user_id": c.user_id, "key": c.key, "name": COMMAND, "result": answer, "at": utcnow()})

    # --- the close ----------------------------------------------------------------

    async def final_batch(self, s: AsyncSession, poll_id: int) -> None:
        """Inside the close's own transaction: write the poll's held secret ballots.

        They become the final batch (fewer than k is allowed there); their callers
        are answered after that transaction commits, or put back if it rolls back.
        """
        taken = self.pending.pop(poll_id, [])
        if not taken:
            return
        plan = await self._apply(s, [], {poll_id: taken}, force=frozenset({poll_id}))

        def committed(_session) -> None:
            self._commit(plan)

        def rolled_back(_session) -> None:
            self.pending.setdefault(poll_id, [])[:0] = taken

        event.listen(s.sync_session, "after_commit", committed, once=True)
        event.listen(s.sync_session, "after_soft_rollback", rolled_back, once=True)
