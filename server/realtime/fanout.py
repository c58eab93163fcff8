"""Fan-out of committed events to socket.io rooms, by audience.

Rooms: `m:<id>` (everyone in the meeting), `m:<id>:sec` (its secretariat and chair),
`u:<id>` (one account, on all its devices). With Redis configured, socket.io's
AsyncRedisManager carries each emit to the clients of every server process.
"""

from __future__ import annotations

import socketio
from prometheus_client import Counter

EVENTS_OUT = Counter("phonghop_events_published_total", "Committed events handed to socket.io")


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

    async def notify(self, name: str, data: dict, meeting_id: int, audiences: list[str]) -> None:
        """A plain message, not logged (rendering progress): to the rooms of `audiences`."""
        for audience in audiences:
            await self.sio.emit(name, data, room=room_for({"audience": audience, "meeting_id": meeting_id}))

    async def publish(self, events: list[dict], lists_changed: bool = False) -> None:
        for event in events:
            await self.sio.emit("event", event, room=room_for(event))
            EVENTS_OUT.inc()
        if lists_changed:
            await self.sio.emit("meetings_changed", {})
