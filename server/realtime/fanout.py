"""Fan-out of committed events to socket.io rooms, by audience.

Rooms: `m:<id>` (everyone in the meeting), `m:<id>:sec` (its secretariat and chair),
`u:<id>` (one account, on all its devices). With Redis configured, socket.io's
AsyncRedisManager carries each emit to the clients of every server process.
"""

from __future__ import annotations

import asyncio

import socketio
from prometheus_client import Counter, Histogram

from server.realtime import wire

FANOUT_CHUNK = 200  # connections a logged event is written to before the loop may run something else
PACE_CHUNK = 50  # recipients of a paced message served at once...
PACE_PAUSE = 0.005  # ...then this pause (seconds): a room of a thousand takes some 0.1 s plus the sending

EVENTS_OUT = Counter("phonghop_events_published_total", "Committed events handed to socket.io")
DIRECT = Counter("phonghop_socket_direct_writes_total", "Messages of a broadcast handed to a websocket's "
                 "connection as one shared frame (written at once, or behind its backlog), not through socket.io")
FANOUT_SECONDS = Histogram("phonghop_fanout_seconds", "A committed event handed to every connection of its room "
                           "(written, or queued behind what the connection waits for)",
                           buckets=(.0005, .001, .002, .005, .01, .02, .03, .05, .075, .1, .2, .5, 1, 2))


def meeting_room(meeting_id: int) -> str:
    return f"m:{meeting_id}"


def secretariat_room(meeting_id: int) -> str:
    return f"m:{meeting_id}:sec"


def user_room(user_id: int) -> str:
    return f"u:{user_id}"


def room_for(event: dict) -> str:
    audience = event["audience"]
    if audience == "meeting":
        return meeting_room(event["meeting_id"])
    if audience == "secretariat":
        return secretariat_room(event["meeting_id"])
    if audience.startswith("user:"):
        return user_room(int(audience.split(":", 1)[1]))
    raise ValueError(f"unknown audience {audience!r}")


def audiences_for(user_id: int, sees_secretariat: bool) -> list[str]:
    out = ["meeting", f"user:{user_id}"]
    if sees_secretariat:
        out.append("secretariat")
    return out


class Fanout:
    def __init__(self, sio: socketio.AsyncServer):
        self.sio = sio
        self._paced = asyncio.Lock()
        self._ordered = asyncio.Lock()

    async def emit(self, name: str, data: dict, room: str | None = None,
                   recipients: list[tuple[str, str]] | None = None, chunk: int | None = None) -> None:
        """`name` with `data` to a room, or to `recipients` ((sid, engine.io sid) pairs), or
        to everyone: encoded once, into one websocket frame, written at once to every
        connection on its websocket with nothing else on its way out, or queued behind what
        it has (server/realtime/lean.py: `Socket.write`); long-polling connections get it
        through engine.io. With a message queue (Redis, several processes) the room lives
        in every process: through socket.io. `chunk`: let the loop run other work after each
        that many connections.
        """
        sio = self.sio
        if type(sio.manager) is not socketio.AsyncManager:
            await sio.emit(name, data, room=room)
            return
        if recipients is None:
            recipients = list(sio.manager.get_participants("/", room))  # a copy: rooms change
        if not recipients:
            return
        encoded = wire.event_packet(name, data)
        frame = wire.text_frame(encoded)
        sockets = sio.eio.sockets
        queued = []
        for i, (sid, eio_sid) in enumerate(recipients):
            if chunk and i and not i % chunk:
                await asyncio.sleep(0)
            socket = sockets.get(eio_sid)
            write = getattr(socket, "write", None)  # a lean.Socket (not in a test's plain server)
            if write is None or not write(encoded, frame):
                queued.append(sid)
        DIRECT.inc(len(recipients) - len(queued))
        if queued:
            # A list of sids addresses each one's own room: the same emit, to fewer.
            await sio.emit(name, data, to=queued)

    async def notify(self, name: str, data: dict, meeting_id: int, audiences: list[str]) -> None:
        """A plain message, not logged (rendering progress): to the rooms of `audiences`."""
        for audience in audiences:
            await self.emit(name, data, room=room_for({"audience": audience, "meeting_id": meeting_id}))

    async def publish(self, events: list[dict], lists_changed: bool = False) -> None:
        """Committed events to their rooms, in order, FANOUT_CHUNK connections at a time.

        Writing one event to a hall of 1,200 connections took the loop 20–25 ms in one go
        (py-spy through the mixed session's vote: the `send` calls were a fifth of the
        loop), and 200 points entering their show of hands made 200 such events: the
        loop's lag p99 was 44–49 ms. Between chunks other work runs (ballots read and
        answered); events still go out one after the other, so none overtakes another
        on a connection.
        """
        async with self._ordered:
            for event in events:
                with FANOUT_SECONDS.time():
                    await self.emit("event", event, room=room_for(event), chunk=FANOUT_CHUNK)
                EVENTS_OUT.inc()
        if lists_changed:
            await self.sio.emit("meetings_changed", {})

    async def paced(self, name: str, data: dict, room: str) -> None:
        """A count that is not logged (`poll.progress`) to a room, a few recipients at a time.

        Every packet queued wakes its socket's writer task: a thousand at once held the
        loop for 100 ms and more while a hall's ballots waited to be read and answered
        (measured with `phonghop bench votes`, a stall every half second). Here the
        room gets PACE_CHUNK recipients at a time with a short pause between. Paced
        messages go one at a time, so two counts never cross on a connection; logged
        events do not go this way (`publish` sends each to every recipient at once,
        which keeps their order). With a message queue (Redis, several processes) the
        room lives in every process: the message goes through it whole.
        """
        sio = self.sio
        if type(sio.manager) is not socketio.AsyncManager:
            await sio.emit(name, data, room=room)
            return
        async with self._paced:
            recipients = list(sio.manager.get_participants("/", room))  # a copy: rooms change
            for start in range(0, len(recipients), PACE_CHUNK):
                if start:
                    await asyncio.sleep(PACE_PAUSE)
                await self.emit(name, data, recipients=recipients[start:start + PACE_CHUNK])
