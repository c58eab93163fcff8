"""Ended sessions leave at once: their open socket.io connections are closed, in every process.

A session ends in the database (sign-out, sign-out everywhere, a revoked device, an
administrator ending an account's sessions); REST refuses it from the next request, since
every request reads the session. An open socket.io connection is different: it checks its
session on its messages (server/realtime/sockets.py, `caller_of`), and a connection that
sends nothing would go on receiving its meetings' events. So, once the ending has committed:

- this process adds the session ids to `app["ended_sessions"]` (the realtime layer's and the
  page server's check: an ended session's next message is refused at once) and closes every
  connection of theirs it holds (found in the account's room, `u:<user_id>`);
- with Redis (PHONGHOP_REDIS_URL) it publishes the ids on a channel every server process
  listens to, and each does the same for its own connections.

A server disconnect makes the web client try once more; its token is refused
(`unauthorized`), and it signs out and forgets its offline copy (SECURITY.md).

While Redis is away a message can be lost. So each time the listener subscribes again
after an outage, the process checks all its connections' sessions against the database
in one read and closes those that ended meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Iterable

from sqlalchemy import or_, select

from server.realtime.fanout import user_room
from server.store.tables import Session, utcnow

log = logging.getLogger("phonghop.security")
CHANNEL = "phonghop-sessions-ended"


class SessionEnds:
    def __init__(self, app) -> None:
        self.app = app
        self.ended: set[int] = app["ended_sessions"]
        self.redis_url: str | None = app["settings"].redis_url
        self.origin = secrets.token_hex(8)  # this process: it skips its own messages
        self._listener: asyncio.Task | None = None
        self._publisher = None
        self._publish_failing = False
        self.subscribed = asyncio.Event()  # the listener holds its subscription (tests wait for it)

    # --- ending -----------------------------------------------------------------------

    async def ended_now(self, user_id: int, session_ids: Iterable[int]) -> int:
        """Call after the commit that ended `session_ids` (all of account `user_id`).
        Returns how many connections of this process were closed."""
        ids = set(session_ids)
        if not ids:
            return 0
        closed = await self._close_local(user_id, ids)
        if self.redis_url:
            await self._publish({"origin": self.origin, "user_id": user_id, "sessions": sorted(ids)})
        return closed

    async def _close_local(self, user_id: int | None, ids: set[int]) -> int:
        self.ended.update(ids)
        sio = self.app.get("sio")
        if sio is None:
            return 0
        room = user_room(user_id) if user_id is not None else None  # None: every connection of this process
        closed = 0
        for sid, _eio in list(sio.manager.get_participants("/", room)):
            with contextlib.suppress(KeyError):  # it left while we looked
                saved = await sio.get_session(sid)
                caller = saved.get("caller") if isinstance(saved, dict) else None
                if caller is not None and caller.session_id in ids:
                    # Locally only: each process closes its own (a queue message per sid would be
                    # wasted, and would fail while Redis is away).
                    await sio.disconnect(sid, ignore_queue=True)
                    closed += 1
        if closed:
            log.info("closed %d socket.io connection(s) of ended sessions", closed)
        return closed

    async def _publish(self, message: dict) -> None:
        import redis.asyncio

        try:
            if self._publisher is None:
                self._publisher = redis.asyncio.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
            await self._publisher.publish(CHANNEL, json.dumps(message))
            if self._publish_failing:
                self._publish_failing = False
                log.warning("ended sessions: Redis is reachable again for telling the other processes")
        except Exception as exc:  # the ending stands (it is in the database); others see it at the next message
            if not self._publish_failing:
                self._publish_failing = True
                log.warning("ended sessions: could not tell the other server processes through Redis (%s: %s); "
                            "their connections stop at their next message, or when Redis is back",
                            type(exc).__name__, exc)

    # --- listening ------------------------------------------------------------------

    def start(self) -> None:
        if self.redis_url and self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="ended-sessions")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None

    async def _listen(self) -> None:
        import redis.asyncio

        failing_since: float | None = None
        first = True
        delay = 1.0
        while True:
            client = redis.asyncio.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    if failing_since is not None:
                        log.warning("ended sessions: listening on Redis again after %.0f s",
                                    time.monotonic() - failing_since)
                        failing_since = None
                    if not first:
                        await self.sweep()  # what was ended while we could not hear it
                    first, delay = False, 1.0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._heard(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                first = False
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("ended sessions: cannot listen on Redis (%s: %s); trying again",
                                type(exc).__name__, exc)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _heard(self, data) -> None:
        try:
            message = json.loads(data)
            if message.get("origin") == self.origin:
                return
            user_id = message["user_id"]
            ids = {int(i) for i in message["sessions"]}
            if not isinstance(user_id, int):
                raise ValueError("user_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ended sessions: a message on %s that is not ours was ignored", CHANNEL)
            return
        await self._close_local(user_id, ids)

    async def sweep(self) -> int:
        """Close this process's connections whose session has ended or expired, read from the
        database in one query."""
        sio = self.app.get("sio")
        if sio is None:
            return 0
        held: set[int] = set()
        for sid, _eio in list(sio.manager.get_participants("/", None)):
            with contextlib.suppress(KeyError):
                caller = (await sio.get_session(sid)).get("caller")
                if caller is not None:
                    held.add(caller.session_id)
        if not held:
            return 0
        try:
            async with self.app["db"].read() as db:
                gone = set((await db.scalars(select(Session.id).where(
                    Session.id.in_(sorted(held)),
                    or_(Session.revoked_at.is_not(None), Session.expires_at <= utcnow())))).all())
        except Exception as exc:
            log.warning("ended sessions: could not check open connections (%s)", type(exc).__name__)
            return 0
        return await self._close_local(None, gone) if gone else 0


def attach(app) -> SessionEnds:
    """`app["session_ends"]`, listening from the app's start to its cleanup."""
    ends = app["session_ends"] = SessionEnds(app)

    async def start(_app) -> None:
        ends.start()

    async def stop(_app) -> None:
        await ends.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return ends
