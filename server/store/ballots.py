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

Where a batch runs. A hall votes while the same event loop reads a thousand sockets
and sends their answers; every statement of a batch through aiosqlite is four hand-offs
between the loop and aiosqlite's thread, and each waits for a turn of that busy loop
(27 of them per batch: 60 ms for 35 ballots, measured with `phonghop bench votes`). So
the batch's transaction runs whole in the writer's own thread, on its own connection,
while the loop holds `Database.write()` for it: one hand-off per batch. On SQLite that
connection opens the same file with the same pragmas (WAL, synchronous=FULL), and
holding `Database.write()` shares SQLite's single writer fairly with every other command
of the process. On PostgreSQL it is a psycopg connection: through asyncpg the same batch
was a round trip per statement, each waiting for a turn of the loop (112 ms a batch in
a hall's burst, p99 of the answers 781 ms); the row lock on the poll (FOR UPDATE) still
orders a batch against a close in any process. A database that lives only in its
connection (SQLite ":memory:", in tests) keeps the batch in the session, through
`run_sync`.

Who may vote is checked in the batch too: the caller's session (not ended, not
expired, account active), the caller's roles and participant row are read in the
transaction that stores the ballot, so the socket layer need not read the session
again for each ballot of a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial

from prometheus_client import Histogram
from sqlalchemy import Engine, Row, bindparam, create_engine, event, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.domain import permissions
from server.domain import polls as rules
from server.domain.errors import DomainError, Forbidden, NotFound, Unauthorized, Unavailable
from server.store.db import _sqlite_pragmas, unreachable
from server.store.poll_views import domain_poll
from server.store.tables import CommandResult, NamedBallot, Participant, PollVoter, SecretBallot, User, utcnow
from server.store.tables import Poll as PollRow
from server.store.tables import Session as SessionRow

log = logging.getLogger("phonghop.ballots")

COMMAND = "poll.vote"
MAX_BATCH = 500
SECRET_BATCH = 5  # k of docs/ballot-secrecy.md: a voter mark shares its transaction with >= k ballots
# What a retry of a secret ballot answers, and all its idempotency record holds: the
# receipt is never stored next to the voter (docs/deliberation.md).
SECRET_REPLAY = {"result": {"accepted": True, "already_voted": True, "receipt": None}, "seq": None}
_shuffle = random.SystemRandom().shuffle

# Where a vote's time goes on the server, for operations and `phonghop bench votes`.
BATCH_SECONDS = Histogram("phonghop_ballot_batch_seconds", "One group commit of the ballot writer, lock to commit",
                          buckets=(.002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5))
BATCH_BALLOTS = Histogram("phonghop_ballot_batch_ballots", "Ballots taken into one group commit",
                          buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
WAIT_SECONDS = Histogram("phonghop_ballot_wait_seconds", "A ballot from its hand-over to the writer to its answer",
                         buckets=(.005, .01, .02, .05, .1, .2, .3, .5, 1, 2, 5))


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
    # The caller's session, checked in the batch (ended, expired, account disabled: refused)
    # and the source of the caller's current roles; None: checked by whoever made the Cast.
    session_id: int | None = None
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    at: float = field(default_factory=time.perf_counter)  # handed over (for the wait histogram)


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
        # The batch runs in this thread on its own connection (see above).
        self._engine = _own_engine(db)
        self._entitled: dict[tuple[int, object], frozenset[str]] = {}
        self._thread: ThreadPoolExecutor | None = None

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
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._engine is not None:
            self._engine.dispose()
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
                started = time.perf_counter()
                async with self.db.write() as session:
                    plan = await self._in_transaction(session, batch, sweep)
                # No await between the commit and _commit: the pending buffer and the
                # futures move exactly with what is durable.
                self.batches += 1
                BATCH_SECONDS.observe(time.perf_counter() - started)
                BATCH_BALLOTS.observe(len(batch))
                self._commit(plan)
                return
            except IntegrityError:
                # Another process stored one of these voters or keys after our read; the
                # second attempt reads again and refuses that ballot alone.
                log.warning("ballot batch of %d hit a constraint (attempt %d)", len(batch), attempt + 1)
            except Exception as exc:
                if unreachable(exc):
                    # The database is down or restarting (issue 8): every ballot of the batch is
                    # refused as `unavailable`, and the voters' retries with the same keys count once.
                    log.warning("ballot batch of %d: the database is unreachable (%s)", len(batch),
                                type(exc).__name__)
                    for cast in batch:
                        self._settle(cast, Unavailable())
                    return
                log.exception("ballot batch of %d failed", len(batch))
                break
        if len(batch) > 1:
            for cast in batch:  # last resort: one transaction each, so only the culprit fails
                await self._write([cast])
            return
        for cast in batch:
            self._settle(cast, _internal())

    async def _in_transaction(self, session: AsyncSession, batch: list[Cast], sweep: bool) -> _Plan:
        """The batch's transaction, committed when this returns; the caller holds `db.write()`."""
        if self._engine is None:
            # A database only the session's connection sees: in the session, whose commit is the caller's.
            return await session.run_sync(self._apply, batch, self.pending, sweep=sweep)
        # The whole transaction in the writer's thread, committed there. The session of
        # `db.write()` is left untouched (it commits nothing, and opens no connection);
        # on SQLite holding it keeps every other writer of this process out meanwhile.
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="ballot-writer")
        pending = {pid: list(items) for pid, items in self.pending.items()}
        work = asyncio.get_running_loop().run_in_executor(self._thread, partial(self._alone, batch, pending, sweep))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Stopping: the thread goes on to its commit. Answer what it made durable.
            with contextlib.suppress(Exception):
                self._commit(await work)
            raise

    def _alone(self, batch: list[Cast], pending: Pending, sweep: bool) -> _Plan:
        with Session(self._engine, expire_on_commit=False) as s, s.begin():
            return self._apply(s, batch, pending, sweep=sweep)

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
            WAIT_SECONDS.observe(time.perf_counter() - cast.at)
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

    def _apply(self, s: Session, casts: list[Cast], pending: Pending, *,
               force: frozenset[int] = frozenset(), sweep: bool = False) -> _Plan:
        """Check and stage one batch in the transaction of `s` (plain, synchronous Session:
        in the writer's thread on SQLite, through `AsyncSession.run_sync` otherwise)."""
        plan = _Plan()
        now = utcnow()
        poll_ids = {c.poll_id for c in casts} | set(force) | (set(pending) if sweep else set())
        # FOR UPDATE (PostgreSQL): a close in another transaction waits for this batch,
        # or this batch waits for the close and then sees the poll closed.
        db = s.connection()  # Core rows: the statements are built once (below the class), no ORM objects
        rows = {r.id: r for r in db.execute(_POLLS, {"ids": list(poll_ids)})} if poll_ids else {}
        stored: dict[tuple[int, str], Row] = {}
        keyed = [c for c in casts if c.key is not None]
        if keyed:
            found = db.execute(_KEYS, {"pairs": list({(c.user_id, c.key) for c in keyed})})
            stored = {(r.user_id, r.key): r for r in found}
        live: dict[int, tuple[int, frozenset[str]]] = {}  # session id -> (user id, current global roles)
        session_ids = {c.session_id for c in casts if c.session_id is not None}
        if session_ids:
            # The rules of `sessions.resolve`, for the whole batch in one query.
            found = db.execute(_SESSIONS, {"ids": list(session_ids)})
            live = {sid: (uid, frozenset(roles or [])) for sid, uid, revoked_at, expires_at, active, roles in found
                    if revoked_at is None and expires_at > now and active}
        unknown = {(c.meeting_id, c.user_id) for c in casts if c.participant_id is None}
        members: dict[tuple[int, int], tuple[int, str]] = {}
        if unknown:
            # One query for the whole batch instead of one read per vote on the way in.
            found = db.execute(_MEMBERS, {"pairs": list(unknown)})
            members = {(m, u): (pid, role) for m, u, pid, role in found}
        # Of this batch's voters, those already on the polls' signature sheets, and how
        # many each sheet holds: a probe of the key and a count, not the whole sheet
        # (read once per batch, the sheet made a hall's burst quadratic).
        voted: dict[int, set[int]] = {pid: set() for pid in rows}
        cast_polls = {c.poll_id for c in casts} & set(rows)
        voters = {c.participant_id for c in casts if c.participant_id is not None} | {m[0] for m in members.values()}
        if cast_polls and voters:
            for pid, participant_id in db.execute(_SHEET, {"polls": list(cast_polls), "voters": list(voters)}):
                voted[pid].add(participant_id)
        counts = dict.fromkeys(rows, 0)
        if rows:
            counts.update(db.execute(_COUNTS, {"polls": list(rows)}).all())
        domain = {pid: self._domain(r) for pid, r in rows.items()}
        inflight = {(pid, c.participant_id): c for pid, items in pending.items() for c, _ in items}
        seen_keys: dict[tuple[int, str], Cast] = {}
        new_secret: Pending = {}

        for c in casts:
            if c.session_id is not None:
                session = live.get(c.session_id)
                if session is None or session[0] != c.user_id:
                    plan.done.append((c, Unauthorized("the session has ended: sign in again")))
                    continue
                c.roles = session[1]
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
                named = s.get(NamedBallot, (c.poll_id, c.participant_id))
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
        s.flush()
        for table, values in plan.rows.items():  # parents first: voter marks, ballots, then records
            if values:
                db.execute(_INSERTS[table], values)
        return plan

    def _domain(self, row: Row) -> rules.Poll:
        """`domain_poll(row)`, with the entitled set (a thousand ids) made once per poll:
        it is frozen when the poll opens, so (id, opened_at) names it for good."""
        key = (row.id, row.opened_at)
        entitled = self._entitled.get(key)
        if entitled is None:
            if len(self._entitled) > 64:
                self._entitled.clear()
            entitled = self._entitled[key] = frozenset(str(i) for i in row.entitled or [])
        return replace(domain_poll(_WithoutEntitled(row)), entitled=entitled)

    def _write_secret(self, s: Session, row: Row, waiting: list[tuple[Cast, rules.Ballot]],
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
        plan = await s.run_sync(self._apply, [], {poll_id: taken}, force=frozenset({poll_id}))

        def committed(_session) -> None:
            self._commit(plan)

        def rolled_back(_session) -> None:
            self.pending.setdefault(poll_id, [])[:0] = taken

        event.listen(s.sync_session, "after_commit", committed, once=True)
        event.listen(s.sync_session, "after_soft_rollback", rolled_back, once=True)


class _WithoutEntitled:
    """A poll row whose `entitled` reads empty (BallotWriter._domain adds its cached set)."""

    __slots__ = ("_row",)
    entitled = ()

    def __init__(self, row: Row) -> None:
        self._row = row

    def __getattr__(self, name: str):
        return getattr(self._row, name)


# A batch's statements, built once: Core, expanding IN lists, no ORM objects.
_polls, _results, _sessions = PollRow.__table__, CommandResult.__table__, SessionRow.__table__
_users, _participants, _voters = User.__table__, Participant.__table__, PollVoter.__table__
# FOR UPDATE (PostgreSQL): a close in another transaction waits for this batch, or this
# batch waits for the close and then sees the poll closed.
_POLLS = select(_polls).where(_polls.c.id.in_(bindparam("ids", expanding=True))).with_for_update()
# Pairs, not two IN lists: (users x keys) would probe every combination.
_KEYS = (select(_results.c.user_id, _results.c.key, _results.c.name, _results.c.result)
         .where(tuple_(_results.c.user_id, _results.c.key).in_(bindparam("pairs", expanding=True))))
_SESSIONS = (select(_sessions.c.id, _sessions.c.user_id, _sessions.c.revoked_at, _sessions.c.expires_at,
                    _users.c.active, _users.c.roles)
             .join(_users, _users.c.id == _sessions.c.user_id)
             .where(_sessions.c.id.in_(bindparam("ids", expanding=True))))
_MEMBERS = (select(_participants.c.meeting_id, _participants.c.user_id, _participants.c.id, _participants.c.role)
            .where(tuple_(_participants.c.meeting_id, _participants.c.user_id)
                   .in_(bindparam("pairs", expanding=True))))
_SHEET = (select(_voters.c.poll_id, _voters.c.participant_id)
          .where(_voters.c.poll_id.in_(bindparam("polls", expanding=True)),
                 _voters.c.participant_id.in_(bindparam("voters", expanding=True))))
_COUNTS = (select(_voters.c.poll_id, func.count()).where(_voters.c.poll_id.in_(bindparam("polls", expanding=True)))
           .group_by(_voters.c.poll_id))
_INSERTS = {model: insert(model.__table__) for model in (PollVoter, NamedBallot, SecretBallot, CommandResult)}


def _own_engine(db) -> Engine | None:
    """A synchronous engine on the same database, for the writer's thread: SQLite on a
    file, or PostgreSQL through psycopg. None for a database that lives only in its
    connection (":memory:"), whose batches stay in the session."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        # One connection, only ever used by the writer's one thread.
        return create_engine(url.set(drivername="postgresql+psycopg"), pool_size=1, max_overflow=0,
                             pool_pre_ping=True)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    engine = create_engine(url.set(drivername="sqlite"), pool_size=1, max_overflow=0,
                           connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine
