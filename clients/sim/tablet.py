"""One simulated device: a delegate's tablet or a bridge point's console.

It signs in (a password, or a session token it was given), opens a socket.io
connection (websocket), joins the meeting and applies events by the client rule of
docs/protocol.md: a head per audience; a sequence at or below it is a duplicate
(dropped, counted); a `prev` above it means an event was missed, and it asks `resync`.
Every REST call and socket.io command it makes is timed into `Ops`.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import defaultdict

import aiohttp
import socketio

JOIN_RETRIES = 6  # joins answered `unavailable` asked again (about a minute and a half in all)


class Ops:
    """What a set of devices did: latencies per operation (ms) and the errors, with a few examples."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def ok(self, op: str, started: float) -> None:
        self.latencies[op].append((time.perf_counter() - started) * 1000)

    def failed(self, op: str, message: str) -> None:
        self.errors[op] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{op}: {message}"[:300])

    def as_dict(self) -> dict:
        return {"latencies": dict(self.latencies), "errors": dict(self.errors), "examples": self.examples}

    def merge(self, other: dict) -> None:
        for op, values in other["latencies"].items():
            self.latencies[op] += values
        for op, n in other["errors"].items():
            self.errors[op] += n
        self.examples += other["examples"][: max(0, 20 - len(self.examples))]


class Failed(Exception):
    pass


class Device:
    def __init__(self, url: str, http: aiohttp.ClientSession, ops: Ops, *, username: str | None = None,
                 password: str | None = None, token: str | None = None) -> None:
        self.url, self.http, self.ops = url, http, ops
        self.username, self.password, self.token = username, password, token
        self.user: dict | None = None
        self.sio: socketio.AsyncClient | None = None
        self.meeting_id: int | None = None
        self.heads: dict[str, int] | None = None
        self.base = 0
        self.applied: list[int] = []
        self.dropped_duplicates = 0
        self.resyncs = 0
        self.snapshot: dict = {}
        self.polls: dict[int, dict] = {}
        self.documents: dict[int, dict] = {}
        self._joining: list[dict] | None = None
        self._resync: asyncio.Task | None = None
        self.changed = asyncio.Event()  # set at every event applied

    # --- REST ----------------------------------------------------------------------------

    async def request(self, op: str, method: str, path: str, *, json: object = None, key: str | None = None,
                      raw: bool = False):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key:
            headers["Idempotency-Key"] = key
        started = time.perf_counter()
        try:
            async with self.http.request(method, self.url + path, json=json, headers=headers) as resp:
                body = await resp.read() if raw else await resp.json(content_type=None)
                if resp.status >= 400:
                    raise Failed(f"{method} {path}: {resp.status} {body if not raw else ''}")
        except Failed as exc:
            self.ops.failed(op, str(exc))
            raise
        except Exception as exc:
            self.ops.failed(op, f"{type(exc).__name__}: {exc}")
            raise Failed(str(exc)) from exc
        self.ops.ok(op, started)
        return body

    async def sign_in(self) -> dict:
        if self.token is None:
            answer = await self.request("login", "POST", "/api/auth/login",
                                        json={"username": self.username, "password": self.password})
            self.token = answer["token"]
            self.user = answer["user"]
        else:
            self.user = (await self.request("me", "GET", "/api/auth/me"))["user"]
        return self.user

    async def command(self, op: str, name: str, **data) -> dict:
        """A command over socket.io (the tablets' way), with a fresh idempotency key."""
        started = time.perf_counter()
        try:
            answer = await self.sio.call("command", {"name": name, "key": secrets.token_hex(8), "data": data},
                                         timeout=120)
        except Exception as exc:
            self.ops.failed(op, f"{type(exc).__name__}: {exc}")
            raise Failed(str(exc)) from exc
        if not answer.get("ok"):
            self.ops.failed(op, str(answer.get("error")))
            raise Failed(str(answer.get("error")))
        self.ops.ok(op, started)
        return answer

    # --- socket.io and the client rule ---------------------------------------------------------

    async def connect(self, meeting_id: int) -> None:
        """Connect and join: a snapshot the first time, the missed events after that."""
        self.meeting_id = meeting_id
        client = socketio.AsyncClient(reconnection=False)
        client.on("event", lambda e, c=client: self._live(c, e))
        client.on("disconnect", lambda *reason, c=client: self._lost(c, reason))
        self._joining = []
        self.sio = client
        started = time.perf_counter()
        try:
            await client.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=120)
        except Exception as exc:
            self._joining = None
            self.ops.failed("connect", f"{type(exc).__name__}: {exc}")
            raise Failed(str(exc)) from exc
        self.ops.ok("connect", started)
        since = None if self.heads is None else self.min_head()
        op = "join" if since is None else "rejoin"
        started = time.perf_counter()
        for retries in range(JOIN_RETRIES + 1):
            try:
                answer = await client.call("join", {"meeting_id": meeting_id, "since": since}, timeout=120)
            except Exception as exc:
                self._joining = None
                self.ops.failed(op, f"{type(exc).__name__}: {exc}")
                raise Failed(str(exc)) from exc
            if answer.get("ok") or (answer.get("error") or {}).get("code") != "unavailable":
                break
            # As the web client does (clients/web/lib/live.js, retryLater): a server too busy
            # to answer is asked again after a growing, jittered pause.
            await asyncio.sleep(min(30.0, 2.0 ** retries) * (0.5 + random.random() / 2))
        if not answer.get("ok"):
            self._joining = None
            self.ops.failed(op, str(answer.get("error")))
            raise Failed(str(answer.get("error")))
        self._answer(answer)
        early, self._joining = self._joining, None
        for event in early:
            self._apply(event, live=True)
        self.ops.ok(op, started)

    async def drop(self) -> None:
        """Lose the connection without saying goodbye: its TCP connection is cut under it
        (as when the access point reboots), then the client is put away."""
        client, self.sio = self.sio, None
        if client is None:
            return
        writer = getattr(getattr(client.eio, "ws", None), "_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is not None:
            transport.abort()
        try:
            await client.disconnect()
        except Exception:  # noqa: S110 (the connection is gone already, as meant)
            pass

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
            self.sio = None

    def _lost(self, client, reason) -> None:
        """The server closed the connection, or it broke, without the scenario asking."""
        if client is self.sio:
            self.sio = None
            self.ops.failed("connection", f"lost ({reason[0] if reason else 'no reason given'})")
            self.changed.set()

    def head(self, audience: str) -> int:
        return self.heads.get(audience, self.base) if self.heads is not None else 0

    def min_head(self) -> int:
        return min([self.base, *self.heads.values()]) if self.heads is not None else 0

    def _live(self, client, event: dict) -> None:
        if client is not self.sio or event.get("meeting_id") != self.meeting_id:
            return
        if self._joining is not None:
            self._joining.append(event)
        elif self.heads is not None:
            self._apply(event, live=True)

    def _answer(self, answer: dict) -> None:
        if "snapshot" in answer:
            snap = answer["snapshot"]
            self.snapshot = snap
            self.heads, self.base = {}, answer["head"]
            self.polls = {p["id"]: p for p in snap.get("polls", [])}
            self.documents = {d["id"]: d for d in snap.get("documents", [])}
        for event in answer.get("events", []):
            self._apply(event, live=False)
        # An `events` answer holds every event this device may see up to its head.
        self.base = max(self.base, answer["head"])
        for audience in self.heads:
            self.heads[audience] = max(self.heads[audience], answer["head"])
        self.changed.set()

    def _apply(self, event: dict, live: bool) -> None:
        audience, seq = event["audience"], event["seq"]
        head = self.head(audience)
        if seq <= head:
            self.dropped_duplicates += 1
            return
        if live and event["prev"] > head:
            if self._resync is None or self._resync.done():
                self._resync = asyncio.get_running_loop().create_task(self.resync())
            return
        self.heads[audience] = seq
        self.applied.append(seq)
        data = event.get("data") or {}
        if event["type"] == "poll.updated" and "poll" in data:
            self.polls[data["poll"]["id"]] = data["poll"]
        elif event["type"] == "document.changed" and "document" in data:
            self.documents[data["document"]["id"]] = data["document"]
        elif event["type"] in ("document.hidden", "document.removed"):
            self.documents.pop(data.get("document_id"), None)
        self.changed.set()

    async def resync(self) -> None:
        self.resyncs += 1
        client = self.sio
        started = time.perf_counter()
        try:
            answer = await client.call("resync", {"meeting_id": self.meeting_id, "since": self.min_head()}, timeout=120)
            if not answer.get("ok"):
                raise Failed(str(answer.get("error")))
        except Exception as exc:
            self.ops.failed("resync", f"{type(exc).__name__}: {exc}")
            return
        if client is self.sio:
            self._answer(answer)
        self.ops.ok("resync", started)

    async def wait_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
            except TimeoutError:
                pass
        return True

    def duplicates_applied(self) -> int:
        return len(self.applied) - len(set(self.applied))
