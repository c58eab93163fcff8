"""Committed events reach a big room a chunk of connections at a time, in order.

A hall of 1,200 connections held the loop 20–25 ms per event when written in one go
(server/realtime/fanout.py: `Fanout.publish`)."""

from __future__ import annotations

import asyncio

import socketio

from server.realtime.fanout import FANOUT_CHUNK, Fanout, meeting_room


class Recorder:
    """What a lean socket is to `Fanout.emit`: `write(encoded, frame)` taking it at once."""

    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def write(self, encoded: str, frame: bytes) -> bool:
        self.log.append((self.name, encoded))
        return True


async def test_a_big_room_is_written_a_chunk_at_a_time_and_events_keep_their_order():
    sio = socketio.AsyncServer(async_mode="aiohttp")
    room = meeting_room(7)
    log: list = []
    count = 2 * FANOUT_CHUNK + 50
    for i in range(count):
        sid, eio_sid = f"s{i}", f"e{i}"
        await sio.manager.enter_room(sid, "/", room, eio_sid)
        sio.eio.sockets[eio_sid] = Recorder(eio_sid, log)
    fanout = Fanout(sio)

    async def other_work() -> None:  # what the loop has to do meanwhile: answer a ballot, say
        while True:
            log.append(("other work", None))
            await asyncio.sleep(0)

    worker = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    events = [{"seq": n, "audience": "meeting", "meeting_id": 7, "type": "poll.hands"} for n in (1, 2)]
    await asyncio.gather(fanout.publish(events[:1]), fanout.publish(events[1:]))
    worker.cancel()

    writes = [i for i, (name, _) in enumerate(log) if name != "other work"]
    assert len(writes) == 2 * count
    # The loop ran other work inside each event's fan-out: between its chunks, never more
    # than FANOUT_CHUNK writes in a row.
    run = longest = 0
    for name, _ in log[writes[0]:writes[-1]]:
        run = run + 1 if name != "other work" else 0
        longest = max(longest, run)
    assert longest == FANOUT_CHUNK
    # Every connection got event 1 before event 2, although they were published together.
    seen: dict[str, list[int]] = {}
    for name, encoded in log:
        if name != "other work":
            seen.setdefault(name, []).append(1 if '"seq":1' in encoded else 2)
    assert all(order == [1, 2] for order in seen.values()) and len(seen) == count

