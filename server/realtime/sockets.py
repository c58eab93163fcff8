"""socket.io: connect with a token, join a meeting (with resync), send commands.

Every event handler answers through the ack: `{"ok": true, ...}` or
`{"ok": false, "error": {"code", "message"}}`. The session is checked again on each
message, so a revoked or expired token stops working at once, not at reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import time

import socketio
from prometheus_client import Gauge

from server.auth import access as access_rules
from server.auth import sessions
from server.commands import dispatch
from server.domain.errors import DomainError, Invalid
from server.realtime.fanout import meeting_room, secretariat_room, user_room
from server.realtime.resync import catch_up

log = logging.getLogger("phonghop.realtime")
CALLER_TTL = 2.0
CONNECTED = Gauge("phonghop_socket_connections", "Open socket.io connections in this process")


def _int(data: dict, name: str, optional: bool = False) -> int | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise Invalid(f"{name} must be a whole number")
    return value


def register(sio: socketio.AsyncServer, app) -> None:
    db = app["db"]
    settings = app["settings"]

    ended: set[int] = app["ended_sessions"]

    async def caller_of(sid: str) -> sessions.Caller:
        """The connection's caller, checked against the database at most every
        CALLER_TTL seconds: a hall voting at once must not cost a session read per
        ballot. A session ended through this process (logout, a revoked device) stops
        at once; one ended through another process within CALLER_TTL."""
        saved = await sio.get_session(sid)
        cached, checked = saved.get("caller"), saved.get("checked", 0.0)
        now = time.monotonic()
        if cached is not None and now - checked < CALLER_TTL and cached.session_id not in ended:
            return cached
        async with db.read() as session:
            caller = await sessions.resolve(session, saved.get("token"))
        saved["caller"], saved["checked"] = caller, now
        await sio.save_session(sid, saved)
        return caller

    def answering(handler):
        async def wrapped(sid, data=None):
            try:
                if not isinstance(data, dict):
                    raise Invalid("the message must be a JSON object")
                return {"ok": True, **await handler(sid, data)}
            except DomainError as exc:
                if exc.code == "unauthorized":
                    # The session ended: answer first, then close the connection.
                    sio.start_background_task(_disconnect_soon, sid)
                return {"ok": False, "error": exc.as_dict()}
            except Exception:
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
        try:
            async with db.read() as session:
                caller = await sessions.resolve(session, token if isinstance(token, str) else None)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.as_dict()) from None
        await sio.save_session(sid, {"token": token, "user_id": caller.user_id})
        await sio.enter_room(sid, user_room(caller.user_id))
        CONNECTED.inc()

    @sio.event
    async def disconnect(sid, reason=None):
        CONNECTED.dec()

    async def _catch_up(sid: str, data: dict, enter: bool) -> dict:
        meeting_id = _int(data, "meeting_id")
        since = _int(data, "since", optional=True)
        caller = await caller_of(sid)
        async with db.read() as session:
            access = await access_rules.meeting_access(session, caller, meeting_id)
        if enter:
            # Enter the rooms before the catch-up read starts, so that nothing committed
            # in between is missed; what arrives twice the client drops by its sequence.
            await sio.enter_room(sid, meeting_room(meeting_id))
            if access.sees_secretariat:
                await sio.enter_room(sid, secretariat_room(meeting_id))
        async with db.read() as session:
            access = await access_rules.meeting_access(session, caller, meeting_id)
            return await catch_up(session, caller, access, since, settings.resync_window)

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
        return {}

    @sio.on("command")
    @answering
    async def command(sid, data):
        name = data.get("name")
        if not isinstance(name, str):
            raise Invalid("a command needs a name")
        caller = await caller_of(sid)
        payload = data.get("data", {})
        return await dispatch.execute(app, caller, name, data.get("key"), payload)
