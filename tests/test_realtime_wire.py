"""How the server writes socket.io messages (server/realtime/wire.py): per-message compression
as configured, a broadcast's frame built once and written straight to idle websockets, and
the loop-lag and fan-out figures on /metrics."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest
from aiohttp import web

from server.app import create_app
from server.realtime import wire
from tests.conftest import LiveApp, new_key, wait_for


def _parse_frame(frame: bytes) -> tuple[int, str]:
    first, second = frame[0], frame[1]
    n, offset = second & 0x7F, 2
    if n == 126:
        n, offset = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, offset = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == offset + n
    return first, frame[offset:].decode()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_a_text_frame_carries_its_payload_whole(size):
    payload = "ồ" * (size // 3) + "a" * (size % 3)  # multi-byte text: the length is in bytes
    first, body = _parse_frame(wire.text_frame(payload))
    assert first == 0x81 and body == payload  # FIN, text, unmasked (a server's)


def test_an_event_frame_is_what_socket_io_sends_for_an_event():
    _, body = _parse_frame(wire.event_frame("event", {"seq": 3, "type": "meeting.updated", "title": "Hội nghị"}))
    assert body == '42["event",{"seq":3,"type":"meeting.updated","title":"Hội nghị"}]'


def test_dumps_falls_back_where_orjson_refuses():
    assert wire.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert wire.dumps({1: "a"}) == '{"1":"a"}'
    assert wire.dumps({"a": wire.encoded([1, 2])}) == '{"a":[1,2]}'


def test_the_binary_check_finds_bytes_at_any_depth():
    assert wire.Packet.data_is_binary(["event", {"a": [1, {"b": b"x"}]}])
    assert not wire.Packet.data_is_binary(["event", {"a": [1, {"b": "x"}], "f": wire.encoded({"c": 1})}])


async def _serve(settings):
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize("compression", [False, True])
async def test_per_message_compression_is_negotiated_only_when_configured(settings, compression):
    runner, url = await _serve(dataclasses.replace(settings, ws_compression=compression))
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{url}/socket.io/?EIO=4&transport=websocket", compress=15
        ) as ws:
            assert ws.compress == (15 if compression else 0)
            assert (await ws.receive_str()).startswith("0{")  # the engine.io open packet
    finally:
        await runner.cleanup()


async def test_a_broadcast_goes_straight_to_idle_websockets_and_counts(world):
    live: LiveApp = world.live
    status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    tablets = [await live.socket(world.tokens[who]) for who in ("daibieu01", "daibieu02", "daibieu03")]
    try:
        for tablet in tablets:
            answer = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
            assert answer["ok"], answer
        await asyncio.sleep(0.2)  # every writer back waiting on its queue
        from server.realtime.fanout import DIRECT

        direct = DIRECT._value.get()
        status, body = await live.command(world.tokens["vanphong"], "agenda.add", key=new_key(),
                                          meeting_id=world.meeting_id, title="Nội dung mới")
        assert status == 200, body
        await wait_for(lambda: all(any(e["seq"] == body["seq"] for e in t.received) for t in tablets))
        assert DIRECT._value.get() >= direct + 3
        async with aiohttp.ClientSession() as http, http.get(f"{live.url}/metrics") as resp:
            text = await resp.text()
        assert "phonghop_fanout_seconds_count" in text and "phonghop_loop_lag_seconds_count" in text
    finally:
        for tablet in tablets:
            await tablet.disconnect()
