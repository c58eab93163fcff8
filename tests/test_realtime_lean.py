"""engine.io connections without idle tasks (server/realtime/lean.py): what an idle tablet
holds, packets in order through a backlog, clean handling of packets of no known type, and
a guard that fails when python-engineio changes the code this layer re-implements."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import importlib
import inspect
import json
from importlib.metadata import version

import aiohttp
import pytest
from aiohttp import web
from engineio import packet

from server.app import create_app
from server.realtime import lean
from tests.conftest import build_world, new_key, start_server, wait_for
from tests.faults.helpers import open_sessions
from tests.fuzz.rawsocket import RawSocket


def test_the_engineio_code_this_layer_follows_has_not_changed():
    """lean.py copies and re-implements parts of python-engineio: a new version must be read
    against it (then update LIBRARY_VERSION and LIBRARY_SOURCES)."""
    changed = []
    for name, expected in lean.LIBRARY_SOURCES.items():
        module, cls, method = name.rsplit(".", 2)
        source = inspect.getsource(getattr(getattr(importlib.import_module(module), cls), method))
        if hashlib.sha256(source.encode()).hexdigest()[:16] != expected:
            changed.append(name)
    assert not changed, (f"python-engineio {version('python-engineio')} (checked against {lean.LIBRARY_VERSION}) "
                         f"changed {changed}: re-read server/realtime/lean.py against it")


async def test_an_idle_joined_tablet_holds_no_task_of_its_own(world):
    """Only aiohttp's two tasks per connection (the connection and its request) while idle:
    no engine.io writer, reader, queue or ping task."""
    status, body = await world.live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    await asyncio.sleep(0.2)
    before = collections.Counter(t.get_coro().__qualname__ for t in asyncio.all_tasks())
    tablets = [await world.live.socket(world.tokens[who]) for who in ("daibieu01", "daibieu02", "daibieu03")]
    try:
        for tablet in tablets:
            answer = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
            assert answer["ok"], answer
        await asyncio.sleep(0.3)
        # The clients live in this loop too (their own tasks, `AsyncClient…`, and queue reads):
        # the server's side is aiohttp's handlers and engine.io's sockets.
        after = collections.Counter(t.get_coro().__qualname__ for t in asyncio.all_tasks())
        grown = {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}
        server_side = {k: v for k, v in grown.items() if k.startswith(("RequestHandler", "AsyncSocket", "Socket"))}
        assert server_side == {"RequestHandler.start": 3, "RequestHandler._handle_request": 3}, grown
        sockets = list(world.live.app["sio"].eio.sockets.values())
        assert sockets and all(isinstance(s, lean.Socket) and s.on_websocket and s._queue is None for s in sockets)
        # Live events and pings still arrive: an event to all three, then a ping cycle's worth.
        status, body = await world.live.command(world.tokens["vanphong"], "agenda.add", key=new_key(),
                                                meeting_id=world.meeting_id, title="Nội dung mới")
        assert status == 200, body
        await wait_for(lambda: all(any(e["seq"] == body["seq"] for e in t.received) for t in tablets))
    finally:
        for tablet in tablets:
            await tablet.disconnect()


class _Transport:
    def __init__(self, backed_up: int) -> None:
        self.written: list[bytes] = []
        self.backed_up = backed_up

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.backed_up

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Response:
    compress = 0

    def __init__(self, transport: _Transport) -> None:
        self.transport = transport

    async def send_str(self, text: str) -> None:
        await asyncio.sleep(0)  # aiohttp waits here for the transport to drain
        self.transport.written.append(lean.wire.text_frame(text))


async def test_a_slow_reader_gets_everything_in_order_through_its_backlog():
    """Packets that find the transport backed up wait in order; later ones queue behind them
    even once the transport has room, until the backlog is written."""
    server = type("S", (), {"ping_interval": 10, "ping_timeout": 10, "create_queue": asyncio.Queue})()
    socket = lean.Socket(server, "sid")
    socket.send_now(packet.Packet(packet.OPEN, {"sid": "sid"}))  # before the websocket: the queue
    transport = _Transport(backed_up=lean.HIGH_WATER + 1)
    socket._take_over(_Response(transport), transport)  # the open packet is first, into the backlog
    for n in range(5):
        socket.send_now(packet.Packet(packet.MESSAGE, f"2[\"event\",{n}]"))
    transport.backed_up = 0
    assert socket.write("42[\"event\",5]")  # room now, but the backlog is not written yet: behind it
    assert socket._flusher is not None
    await socket._flusher if socket._flusher else None
    await asyncio.sleep(0)
    socket.write("42[\"event\",6]")  # backlog gone: written at once
    texts = [frame[2:].decode() for frame in transport.written]
    assert texts[0].startswith("0{")
    assert texts[1:] == [f"42[\"event\",{n}]" for n in range(7)]
    assert socket._backlog is None and socket._flusher is None and socket._queue is None


async def test_with_per_message_deflate_events_still_arrive_in_order(settings):
    """Compression on: every packet goes through aiohttp's compressor (the backlog path)."""
    app = create_app(dataclasses.replace(settings, ws_compression=True))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    from tests.conftest import LiveApp

    live = LiveApp(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", app, settings)
    try:
        world = await build_world(live)
        status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
        assert status == 200, body
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"{live.url}/socket.io/?EIO=4&transport=websocket", compress=15) as ws:
            assert ws.compress == 15
            assert (await ws.receive_str()).startswith("0{")
            await ws.send_str("40" + json.dumps({"token": world.tokens["daibieu01"]}))
            assert (await ws.receive_str()).startswith("40")
            await ws.send_str("421" + json.dumps(["join", {"meeting_id": world.meeting_id, "since": None}]))
            seqs: list[int] = []
            sent: list[int] = []

            async def read() -> None:
                while len(seqs) < 5:
                    text = await ws.receive_str()
                    if text.startswith("42"):
                        name, event = json.loads(text[2:])
                        if name == "event":
                            seqs.append(event["seq"])
            reader = asyncio.create_task(read())
            await asyncio.sleep(0.3)
            for n in range(5):
                status, body = await live.command(world.tokens["vanphong"], "agenda.add", key=new_key(),
                                                  meeting_id=world.meeting_id, title=f"Nội dung {n}")
                assert status == 200, body
                sent.append(body["seq"])
            await asyncio.wait_for(reader, 20)
            assert seqs == sent
    finally:
        await runner.cleanup()


async def _packets_of_no_type(url: str, token: str) -> list[bool]:
    """Each bad packet on a fresh connection: was the connection closed by the server?"""
    closed = []
    for text in ("9", "7hello", "", "x42[\"join\",{}]", "8" * 5):
        raw = await RawSocket.open(url, {"token": token})
        try:
            await raw.send_text(text)
            await asyncio.wait_for(raw.closed.wait(), 20)
            closed.append(raw.closed.is_set())
        finally:
            await raw.close()
    return closed


def test_packets_of_no_engineio_type_close_the_connection_with_one_line_and_no_traceback(tmp_path):
    server = start_server(tmp_path)
    try:
        async def scenario() -> None:
            from server.config import Settings

            tokens = await open_sessions(Settings(data_dir=tmp_path), ["daibieu01"])
            assert await _packets_of_no_type(server.url, tokens["daibieu01"]) == [True] * 5
            # The server goes on serving: a new connection signs in and answers.
            raw = await RawSocket.open(server.url, {"token": tokens["daibieu01"]})
            try:
                answer = await raw.call("resync", {"meeting_id": 10**6}, timeout=30)
                assert answer["ok"] is False and answer["error"]["code"] in ("not_found", "forbidden"), answer
            finally:
                await raw.close()

        asyncio.run(scenario())
        # Read before the server stops: what the bad packets did, not the shutdown's own
        # race (a rollback cancelled with its task, logged by SQLAlchemy's pool; seen once
        # in CI, to be fixed in the shutdown path).
        text = (tmp_path / f"server-{server.port}.log").read_text()
    finally:
        server.stop()
    assert "Traceback" not in text, text[-3000:]
    assert "Unknown receive error" not in text and "Error handling request" not in text, text[-3000:]
    assert text.count("engine.io connection") >= 5 and "closed: a packet" in text, text[-3000:]



@pytest.mark.parametrize("transports", [["polling", "websocket"], ["polling"]])
async def test_long_polling_and_its_upgrade_still_carry_events(world, transports):
    """A browser starts on long-polling and upgrades (the queue, then the websocket); a
    client that cannot upgrade stays on the queue."""
    import socketio

    status, body = await world.live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    ended = _disconnects()
    client = socketio.AsyncClient(reconnection=False)
    received: list[dict] = []
    client.on("event", received.append)
    await client.connect(world.live.url, auth={"token": world.tokens["daibieu01"]}, transports=transports,
                         wait_timeout=10)
    try:
        answer = await client.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert answer["ok"], answer
        upgraded = transports[-1] == "websocket"
        sockets = world.live.app["sio"].eio.sockets
        await wait_for(lambda: all(s.on_websocket == upgraded for s in sockets.values()))
        sent = []
        for n in range(3):
            status, body = await world.live.command(world.tokens["vanphong"], "agenda.add", key=new_key(),
                                                    meeting_id=world.meeting_id, title=f"Nội dung {n}")
            assert status == 200, body
            sent.append(body["seq"])
        await wait_for(lambda: [e["seq"] for e in received] == sent)
        assert client.transport() == transports[-1]
    finally:
        await client.disconnect()
    # Why it ended is counted (`phonghop bench mixed` reads it per phase).
    await wait_for(lambda: _disconnects() > ended)


def _disconnects() -> float:
    from server.realtime.sockets import DISCONNECTS

    return sum(s.value for m in DISCONNECTS.collect() for s in m.samples if s.name.endswith("_total"))
