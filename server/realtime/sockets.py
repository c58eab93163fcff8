"""socket.io: connect with a token, join a meeting (with resync), send commands.

Every event handler answers through the ack: `{"ok": true, ...}` or
`{"ok": false, "error": {"code", "message"}}`. The session is checked again on each
message, so a revoked or expired token stops working at once, not at reconnect.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import replace

import socketio
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select

from server.auth import access as access_rules
from server.auth import limits, sessions
from server.commands import dispatch
from server.domain.errors import DomainError, Invalid, NotFound, Unauthorized, Unavailable
from server.realtime import guard, looplag
from server.realtime.fanout import meeting_room, secretariat_room, user_room
from server.realtime.resync import SharedSnapshots, catch_up
from server.store.db import unreachable
from server.store.tables import Meeting, Session, User, utcnow

log = logging.getLogger("phonghop.realtime")
CALLER_TTL = 2.0
# Commands that check the caller's session themselves, in the transaction that stores
# them: a ballot (server/store/ballots.py reads the session, the account and its roles
# in its group commit), so a hall's burst does not wait for a session read first.
SELF_CHECKED = frozenset({"poll.vote"})
CONNECTED = Gauge("phonghop_socket_connections", "Open socket.io connections in this process")
# Why connections end, as socket.io names it ("client disconnect", "ping timeout": the client's
# answer to a ping came late, "transport close", "transport error", "server disconnect"): a
# hall whose tablets drop tells here whether the server or the tablets gave up.
DISCONNECTS = Counter("phonghop_socket_disconnects_total", "socket.io connections ended, by reason", ["reason"])
COMMAND_SECONDS = Histogram("phonghop_socket_command_seconds", "A socket.io command, from its handler's start to its "
                            "answer", ["name"], buckets=(.005, .01, .02, .05, .1, .2, .3, .5, 1, 2, 5))
CATCH_UPS_WAITING = Gauge("phonghop_catch_ups_waiting", "Joins and resyncs waiting for their turn to read the log")
SESSION_CHECK_SECONDS = Histogram("phonghop_session_check_seconds", "A stale cached caller waiting for its check",
                                  buckets=(.002, .005, .01, .02, .05, .1, .2, .5, 1, 2))


# Garbage collection. A hall keeps some 200 objects alive per connection (its engine.io
# socket, tasks, buffers, session): with a thousand tablets the heap holds 300,000
# objects, and CPython's default thresholds (700, 10, 10) then start a full collection
# every few thousand votes: the loop stops for 0.3 to 0.6 s (measured with gc.callbacks
# through `phonghop bench votes` on 2 cores), longer than the whole target for a vote's
# answer. Young collections run less often, so that what a burst makes dies before it
# is promoted, and what the server holds from its start is frozen out of every scan.
GC_THRESHOLDS = (10_000, 50, 100)
_frozen = False


def _tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


async def _freeze_startup_heap(_app) -> None:
    global _frozen
    if not _frozen:  # once per process: what is frozen is never scanned (nor freed if cyclic) again
        _frozen = True
        gc.collect()
        gc.freeze()


def _int(data: dict, name: str, optional: bool = False) -> int | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise Invalid(f"{name} must be a whole number")
    return value


async def resolve_many(db, tokens: list[str]) -> dict[str, sessions.Caller | DomainError]:
    """`sessions.resolve` for many tokens in one query: each token's caller, or the
    Unauthorized that `resolve` raises for it (same rules, same messages)."""
    out: dict[str, sessions.Caller | DomainError] = {}
    by_digest: dict[str, str] = {}
    for token in tokens:
        if not isinstance(token, str) or not token or len(token) > 200:
            out[token] = Unauthorized("sign in first: this needs a valid session token")
        else:
            by_digest[sessions.digest(token)] = token
    if by_digest:
        rows = await db.execute(
            select(Session.token_hash, Session.id, Session.device_id, Session.revoked_at, Session.expires_at,
                   User.id, User.username, User.full_name, User.roles, User.unit_id, User.active)
            .join(User, User.id == Session.user_id)
            .where(Session.token_hash.in_(list(by_digest)))
        )
        now = utcnow()
        for digest, session_id, device_id, revoked_at, expires_at, user_id, username, full_name, roles, unit_id, \
                active in rows.all():
            token = by_digest[digest]
            if revoked_at is not None or expires_at <= now or not active:
                out[token] = Unauthorized("the session has ended: sign in again")
            else:
                out[token] = sessions.Caller(user_id=user_id, username=username, full_name=full_name,
                                             roles=frozenset(roles or []), unit_id=unit_id, session_id=session_id,
                                             device_id=device_id)
        for token in by_digest.values():
            out.setdefault(token, Unauthorized("the session token is not recognised"))
    return out


class Revalidation:
    """Session checks coalesced: every check asked for while one read runs goes into the next.

    A thousand tablets whose cached callers went stale together (a vote two minutes
    after the last one) cost a few reads instead of a thousand, and none of them is
    answered from older data than a read of its own would give: each waits for a
    read that starts after it asked.
    """

    BATCH = 500  # tokens per query

    def __init__(self, db) -> None:
        self.db = db
        self.waiting: dict[str, list[asyncio.Future]] = {}
        self.task: asyncio.Task | None = None

    async def caller(self, token: str | None) -> sessions.Caller:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.setdefault(token, []).append(future)
        if self.task is None:
            self.task = loop.create_task(self._run(), name="session-checks")
        with SESSION_CHECK_SECONDS.time():
            return await future

    async def _run(self) -> None:
        try:
            while self.waiting:
                tokens = list(self.waiting)[: self.BATCH]
                taken = {token: self.waiting.pop(token) for token in tokens}
                try:
                    async with self.db.read() as session:
                        found = await resolve_many(session, tokens)
                except Exception as exc:
                    found = dict.fromkeys(tokens, exc)
                for token, futures in taken.items():
                    for future in futures:
                        if future.done():
                            continue
                        if isinstance(found[token], BaseException):
                            future.set_exception(found[token])
                        else:
                            future.set_result(found[token])
        finally:
            self.task = None
            for futures in self.waiting.values():  # cancelled (the server stops): nobody waits forever
                for future in futures:
                    future.cancel()
            self.waiting.clear()


def register(sio: socketio.AsyncServer, app) -> None:
    _tune_gc()
    if hasattr(app, "on_startup"):
        app.on_startup.append(_freeze_startup_heap)
        looplag.install(app)  # phonghop_loop_lag_seconds on /metrics
    db = app["db"]
    settings = app["settings"]

    ended: set[int] = app["ended_sessions"]

    checks = Revalidation(db)
    # The shared part of snapshots, per meeting head (server/realtime/resync.py).
    # (A ballot committed here starts new reader rows: a tablet's own vote is in its next snapshot.)
    snapshots = app["snapshots"] = SharedSnapshots(generation=lambda: getattr(app.get("ballots"), "batches", 0))

    async def caller_of(sid: str, checked_later: bool = False, command: bool = False) -> sessions.Caller:
        """The connection's caller, checked against the database at most every
        CALLER_TTL seconds: a hall voting at once must not cost a session read per
        ballot. A session ended through this process (logout, a revoked device) stops
        at once; one ended through another process within CALLER_TTL. The checks due
        at one moment share one read. `checked_later`: the command checks the session
        itself in the transaction that stores it (SELF_CHECKED), so any cached caller
        will do. `command`: the caller checked at connect serves the joins that follow
        it (a hall reconnecting at once), never a change: the first command on a
        connection reads the session again, so a session ended just before it (here or
        in another process) changes nothing."""
        saved = await sio.get_session(sid)
        cached, checked = saved.get("caller"), saved.get("checked", 0.0)
        now = time.monotonic()
        fresh = now - checked < CALLER_TTL and not (command and saved.get("at_connect"))
        if cached is not None and cached.session_id not in ended and (checked_later or fresh):
            return cached
        caller = replace(await checks.caller(saved.get("token")), address=saved.get("address"))
        saved["caller"], saved["checked"], saved["at_connect"] = caller, now, False
        await sio.save_session(sid, saved)
        return caller

    # Messages per connection (SECURITY.md): a token bucket in memory, no I/O per message.
    buckets = limits.Buckets(settings.socket_rate, settings.socket_burst)

    def answering(handler):
        async def wrapped(sid, data=None, *more):
            try:
                wait = buckets.take(sid)
                if wait:
                    raise limits.messages_refused(wait)
                # `more`: a message with several values; without it python-socketio's call
                # failed before this try, and the client waited for an answer for ever (issue 8).
                if not isinstance(data, dict) or more:
                    raise Invalid("the message must be a JSON object")
                return {"ok": True, **await handler(sid, data)}
            except DomainError as exc:
                if exc.code == "unauthorized":
                    # The session ended: answer first, then close the connection.
                    sio.start_background_task(_disconnect_soon, sid)
                return {"ok": False, "error": exc.as_dict()}
            except Exception as exc:
                if unreachable(exc):  # the database (or Redis) is down or restarting: typed, retried (issue 8)
                    log.warning("socket.io handler %s: a service is unreachable (%s)", handler.__name__,
                                type(exc).__name__)
                    return {"ok": False, "error": Unavailable().as_dict()}
                log.exception("socket.io handler %s failed", handler.__name__)
                return {"ok": False, "error": {"code": "internal", "message": "the server failed; try again"}}

        wrapped.__name__ = handler.__name__
        return wrapped

    async def _disconnect_soon(sid: str) -> None:
        await asyncio.sleep(0.5)
        await sio.disconnect(sid)

    @sio.event
    async def connect(sid, environ, auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        checked = time.monotonic()
        try:
            # Through the coalesced checks: a hall reconnecting at once costs a few reads.
            caller = await checks.caller(token if isinstance(token, str) else None)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.as_dict()) from None
        except Exception as exc:
            if not unreachable(exc):
                raise
            gone = Unavailable()  # the database is down: a refusal the client retries (issue 8)
            raise socketio.exceptions.ConnectionRefusedError(gone.message, gone.as_dict()) from None
        # The caller as just checked: the join that follows needs no read of its own.
        request = environ.get("aiohttp.request")
        address = limits.request_address(request) if request is not None else None
        caller = replace(caller, address=address)
        await sio.save_session(sid, {"token": token, "user_id": caller.user_id, "caller": caller, "checked": checked,
                                     "at_connect": True, "address": address})
        environ[guard.SIGNED_IN] = caller.user_id  # binary packets are accepted from now on
        # python-socketio keeps the environ for the connection's life; its copies of the
        # request's headers are read by nobody after this (the request keeps its own).
        for key in [k for k in environ if k.startswith("HTTP_")]:
            del environ[key]
        await sio.enter_room(sid, user_room(caller.user_id))
        CONNECTED.inc()

    @sio.event
    async def disconnect(sid, reason=None):
        CONNECTED.dec()
        DISCONNECTS.labels(str(reason or "unknown")).inc()
        buckets.forget(sid)
        if "conference" in app:  # a bridge point's connection went: the live board hears of it
            app["conference"].left(sid)

    # Joins and resyncs read the log a few at a time. A hall that lost its access point
    # rejoins within seconds: 1,200 devices each holding a pooled connection for its catch-up
    # emptied SQLAlchemy's pool, and what waited past its 30 s timeout failed as `unavailable`
    # (869 joins in `phonghop bench mixed`), ballots and check-ins waiting behind them. Here
    # they wait their turn without a timeout, and the pool keeps room for commands and
    # session checks. What nobody waits for any more costs no read: a connection that went,
    # or a request its client sent again after its own wait timed out (the same kind, for
    # the same meeting, on the same connection); a client still listening is answered
    # `unavailable`.
    catch_ups = asyncio.Semaphore(db.pool_share)
    newest: dict[tuple, object] = {}  # (sid, meeting, join?) -> its latest request

    async def _catch_up(sid: str, data: dict, enter: bool) -> dict:
        meeting_id = _int(data, "meeting_id")
        since = _int(data, "since", optional=True)
        key = (sid, meeting_id, enter)
        ticket = newest[key] = object()
        CATCH_UPS_WAITING.inc()
        try:
            await catch_ups.acquire()
        finally:
            CATCH_UPS_WAITING.dec()
        try:
            if newest.get(key) is not ticket or not sio.manager.is_connected(sid, "/"):
                raise Unavailable("a newer request of this connection replaces this one")
            return await _catch_up_now(sid, meeting_id, since, enter)
        finally:
            catch_ups.release()
            if newest.get(key) is ticket:
                del newest[key]

    async def _catch_up_now(sid: str, meeting_id: int, since: int | None, enter: bool) -> dict:
        caller = await caller_of(sid)
        if not enter:
            async with db.read() as session:
                access = await access_rules.meeting_access(session, caller, meeting_id)
                return await catch_up(session, caller, access, since, settings.resync_window, shared=snapshots)
        async with db.read() as session:
            access = await access_rules.meeting_access(session, caller, meeting_id)
        # Enter the rooms before the catch-up read starts, so that nothing committed
        # in between is missed; what arrives twice the client drops by its sequence.
        await sio.enter_room(sid, meeting_room(meeting_id))
        if access.sees_secretariat:
            await sio.enter_room(sid, secretariat_room(meeting_id))
        if "conference" in app:  # a bridge point's operator: its point is online (docs/conference.md)
            try:
                await app["conference"].joined(sid, meeting_id, access.me)
            except Exception:
                log.exception("the conference board did not take a point's connection")
        async with db.read() as session:
            # The meeting (its head) read again after entering the rooms; who the caller is
            # in it was read just before.
            meeting = await session.get(Meeting, meeting_id)
            if meeting is None:
                raise NotFound(f"meeting {meeting_id} does not exist")
            access = access_rules.Access(meeting, access.me, access.roles)
            return await catch_up(session, caller, access, since, settings.resync_window, shared=snapshots)

    @sio.on("join")
    @answering
    async def join(sid, data):
        return await _catch_up(sid, data, enter=True)

    @sio.on("resync")
    @answering
    async def resync(sid, data):
        return await _catch_up(sid, data, enter=False)

    @sio.on("leave")
    @answering
    async def leave(sid, data):
        meeting_id = _int(data, "meeting_id")
        await sio.leave_room(sid, meeting_room(meeting_id))
        await sio.leave_room(sid, secretariat_room(meeting_id))
        if "conference" in app:
            app["conference"].left(sid, meeting_id)
        return {}

    @sio.on("command")
    @answering
    async def command(sid, data):
        name = data.get("name")
        if not isinstance(name, str):
            raise Invalid("a command needs a name")
        with COMMAND_SECONDS.labels(name if name in dispatch.REGISTRY else "unknown").time():
            caller = await caller_of(sid, checked_later=name in SELF_CHECKED, command=True)
            payload = data.get("data", {})
            return await dispatch.execute(app, caller, name, data.get("key"), payload)

    # The online conference: the live board, a point's link figures, media signalling.
    from server.conference import sockets as conference_sockets

    conference_sockets.register(sio, app, answering, caller_of)
