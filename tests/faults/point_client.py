"""A bridge point's operator on a weak link, as clients/web/lib/bridge.js and live.js behave:
a socket.io client run inside the test's network namespace (tests/faults/test_lossy_link.py).

    python tests/faults/point_client.py '{"url", "token", "meeting_id"}'

- On every (re)connect it joins the meeting with `since` = its lowest head and applies the
  answer; live events follow the client rule of docs/protocol.md (duplicates dropped by
  `seq`, a gap answered by `resync`).
- `{"do": "send", "name", "key", "data"}` on stdin sends a command and, until it is answered,
  sends it again with the same key (after a time-out, or once the connection is back), as
  the bridge page's Outbox does.
- `{"do": "report"}` prints what it applied; `{"do": "quit"}` hangs up.
Everything it does is printed as one JSON object a line.
"""

from __future__ import annotations

import asyncio
import json
import sys

import socketio

ACK_TIMEOUT = 10  # seconds before the same command goes again under the same key


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


class Point:
    def __init__(self, url: str, token: str, meeting_id: int) -> None:
        self.url, self.token, self.meeting_id = url, token, meeting_id
        self.heads: dict[str, int] = {}
        self.applied: list[int] = []
        self.dropped = 0
        self.resyncs = 0
        self.connects = 0
        self.online = asyncio.Event()
        self.lock = asyncio.Lock()
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=2,
                                           randomization_factor=0.2, request_timeout=30)
        self.client.on("connect", self._connected)
        self.client.on("disconnect", self._disconnected)
        self.client.on("event", self._event)

    async def start(self) -> None:
        while True:
            try:
                await self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                                          wait_timeout=60)
                return
            except socketio.exceptions.ConnectionError as exc:  # the first handshake lost on the link
                say(connect_failed=str(exc))
                await asyncio.sleep(1)

    async def _connected(self) -> None:
        self.connects += 1
        self.client.start_background_task(self._join)

    async def _disconnected(self, reason=None) -> None:
        self.online.clear()
        say(disconnected=str(reason))

    async def _join(self) -> None:
        since = min(self.heads.values()) if self.heads else None
        try:
            answer = await self.client.call("join", {"meeting_id": self.meeting_id, "since": since}, timeout=60)
        except Exception as exc:  # the link went again: the next connect joins
            say(join_failed=type(exc).__name__)
            return
        if not answer.get("ok"):
            say(join_refused=answer)
            return
        async with self.lock:
            self._apply_answer(answer)
        self.online.set()
        say(joined=answer["head"], since=since, connects=self.connects,
            snapshot="snapshot" in answer, events=len(answer.get("events", [])))

    def _apply_answer(self, answer: dict) -> None:
        head = answer["head"]
        if "snapshot" in answer:
            for audience in ("meeting", *self.heads):
                self.heads[audience] = head
            return
        for event in answer["events"]:
            self._apply(event)
        for audience in list(self.heads):
            self.heads[audience] = max(self.heads[audience], head)

    def _apply(self, event: dict) -> bool:
        audience = event["audience"]
        base = self.heads.setdefault(audience, min(self.heads.values()) if self.heads else 0)
        if event["seq"] <= base:
            self.dropped += 1
            return True
        if event["prev"] > base:
            return False
        self.applied.append(event["seq"])
        self.heads[audience] = event["seq"]
        return True

    async def _event(self, event: dict) -> None:
        if event.get("meeting_id") != self.meeting_id or not self.heads:
            return  # before the first join's answer: that answer holds it
        async with self.lock:
            if self._apply(event):
                return
            self.resyncs += 1
            try:
                answer = await self.client.call("resync", {"meeting_id": self.meeting_id,
                                                           "since": min(self.heads.values())}, timeout=60)
            except Exception:
                return  # the link went: the next join catches up
            if answer.get("ok"):
                self._apply_answer(answer)
                self._apply(event)

    async def send(self, name: str, key: str, data: dict) -> None:
        attempts = 0
        while True:
            await self.online.wait()
            attempts += 1
            say(sending=name, key=key, attempt=attempts)
            try:
                ack = await self.client.call("command", {"name": name, "key": key, "data": data}, timeout=ACK_TIMEOUT)
            except Exception as exc:  # no answer in time, or the connection dropped meanwhile
                say(no_answer=name, key=key, attempt=attempts, why=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            say(ack=name, key=key, attempts=attempts, answer=ack)
            return

    def report(self) -> None:
        say(report={"applied": self.applied, "heads": self.heads, "dropped": self.dropped, "resyncs": self.resyncs,
                    "connects": self.connects})


async def main() -> None:
    spec = json.loads(sys.argv[1])
    point = Point(spec["url"], spec["token"], spec["meeting_id"])
    await point.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while line := (await reader.readline()).decode().strip():
        order = json.loads(line)
        if order["do"] == "send":
            task = asyncio.create_task(point.send(order["name"], order["key"], order["data"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif order["do"] == "report":
            point.report()
        elif order["do"] == "quit":
            break
    await point.client.disconnect()
    say(bye=True)


if __name__ == "__main__":
    asyncio.run(main())
