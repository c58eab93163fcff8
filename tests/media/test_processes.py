"""`phonghop media-node` as its own process, its control API, the bridge agent, the embedded node."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sys

import aiohttp
import pytest
from aiohttp import web

from media.control import NodeClient, control_app
from media.node import MediaNode
from media.sources import closest
from server.app import create_app
from server.config import Settings
from server.domain.errors import DomainError
from server.store.migrate import upgrade
from tests.conftest import ROOT, free_port
from tests.media.conftest import (
    BLUE,
    PALETTE,
    connected,
    node_settings,
    receiver_point,
    running,
    source_point,
)

ENV = {**os.environ, "PHONGHOP_MEDIA_ICE_ADDRESSES": "127.0.0.1", "PHONGHOP_MEDIA_LAYERS": "hi:320x180@300,lo:160x90@100"}


@contextlib.asynccontextmanager
async def media_node_process(*extra: str, secret: str):
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "media-node", "--listen", f"127.0.0.1:{port}", "--secret", secret,
        *extra, cwd=ROOT, env=ENV, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        ready = json.loads(line)
        assert ready["event"] == "ready", line
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_a_media_node_process_refuses_a_wrong_secret_and_serves_the_right_one():
    secret = secrets.token_hex(16)
    async with media_node_process("--node-id", "bac-ninh", secret=secret) as (url, _):
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
                async with http.get(url + "/health", headers=headers) as resp:
                    assert resp.status == 401
                    assert (await resp.json())["error"]["code"] == "unauthorized"
            async with http.post(url + "/floor", json={"peer_id": None}, headers={"Authorization": "Bearer x"}) as resp:
                assert resp.status == 401
        with pytest.raises(DomainError) as refused:
            await NodeClient(url, "wrong").stats()
        assert refused.value.status == 401

        client = NodeClient(url, secret)
        assert (await client.health())["node_id"] == "bac-ninh"
        with pytest.raises(DomainError) as missing:
            await client.set_floor("nobody")
        assert missing.value.status == 404
        with pytest.raises(DomainError) as bad:
            await client.accept("x", "not an offer")
        assert bad.value.code == "invalid"
        # A point and a receiver through the control API; the floor given over HTTP.
        source, listener = source_point("A", BLUE), receiver_point("R", layers=["lo"])
        async with connected(client, source, listener):
            await client.set_floor("A")
            await listener.wait_until(lambda: listener.received.color is not None
                                      and closest(listener.received.color, PALETTE) == "blue", timeout=15)
            stats = await client.stats()
        assert stats["floor"] == "A" and set(stats["peers"]) == {"A", "R"}
        assert stats["peers"]["R"]["link"]["quality"] == "normal"
        assert listener.received.sizes == {(160, 90)}


async def test_a_child_process_relays_its_parent_in_another_process():
    secret = secrets.token_hex(16)
    async with media_node_process("--node-id", "center", secret=secret) as (center_url, _):
        async with media_node_process("--node-id", "province", "--parent", center_url, secret=secret) as (url, _):
            center, province = NodeClient(center_url, secret), NodeClient(url, secret)
            for _ in range(100):  # the child joins its parent in the background
                if (await province.health())["mode"] == "child":
                    break
                await asyncio.sleep(0.1)
            source, listener = source_point("chair", BLUE), receiver_point("xa-1", layers=["hi"])
            async with connected(center, source), connected(province, listener):
                await center.set_floor("chair")
                await listener.wait_until(lambda: listener.received.video_frames >= 5, timeout=20)
                child = await province.stats()
                parent = await center.stats()
    assert closest(listener.received.color, PALETTE) == "blue"
    assert child["mode"] == "child" and child["program"]["encoded"] == {}
    assert "province" in parent["peers"] and parent["peers"]["province"]["role"] == "child"


async def test_the_bridge_agent_tests_its_link_joins_and_reports():
    secret = secrets.token_hex(16)
    node = MediaNode(node_settings())
    runner = web.AppRunner(control_app(node, secret))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    lines: list[dict] = []
    try:
        async with running(node):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server.cli", "bridge-agent", "--node", url, "--secret", secret,
                "--peer-id", "kiosk-1", "--duration", "3", "--test-seconds", "2", "--report-every", "1",
                "--size", "320x180", "--fps", "10",
                cwd=ROOT, env=ENV, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            reader = asyncio.ensure_future(process.communicate())
            # The agent holds the floor once it joined: it receives its own picture back.
            for _ in range(300):
                if "kiosk-1" in node.peers:
                    await node.set_floor("kiosk-1")
                    break
                await asyncio.sleep(0.05)
            stdout, stderr = await asyncio.wait_for(reader, 60)
            assert process.returncode == 0, stderr.decode()[-3000:]
            lines = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    finally:
        await runner.cleanup()
    events = [line["event"] for line in lines]
    assert events[0] == "verdict" and "joined" in events and events[-1] == "summary", events
    verdict = lines[0]
    assert verdict["passed"] is True and verdict["rtt_ms"] is not None and verdict["bitrate_kbps"] > 0
    summary = lines[-1]
    assert summary["received"]["video_frames"] > 0 and summary["received"]["width"] == 320
    assert summary["packets_received"] > 0 and summary["verdict"]["quality"] == "normal"


async def test_the_bridge_agent_says_when_the_server_is_unreachable():
    """Signalling through the server is tested end to end in tests/test_bridge_agent_server.py."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "bridge-agent", "--server", "http://127.0.0.1:9", "--token", "t",
        "--meeting", "1", "--duration", "1", cwd=ROOT, env=ENV, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3, stderr
    assert b"cannot reach the server" in stderr


async def test_the_server_runs_an_embedded_node_unless_told_not_to(tmp_path):
    secret = secrets.token_hex(8)
    settings = Settings(data_dir=tmp_path, media_secret=secret, media_layers="hi:320x180@300")
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/media"
    try:
        node = app["media"]
        assert isinstance(node, MediaNode) and node._started
        assert [layer.name for layer in node.settings.layers] == ["hi"]
        assert (await NodeClient(url, secret).health())["node_id"] == "central"
        with pytest.raises(DomainError) as refused:
            await NodeClient(url, "wrong").health()
        assert refused.value.status == 401
    finally:
        await runner.cleanup()
    assert not node._started
    assert "media" not in create_app(Settings(data_dir=tmp_path, media_embedded=False))
