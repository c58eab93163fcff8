"""HTTP and socket.io hardening (SECURITY.md): security headers on every response, 413
past every route's body limit, no listing and no traversal under the static routes, no
cookie that authorises anything, socket.io origins, binary packets only after sign-in,
messages per connection limited, sessions that expire and take the offline lease along."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
import socketio
from sqlalchemy import select, update
from yarl import URL

from server.auth.sessions import digest
from server.domain.times import iso
from server.store.tables import Session, utcnow
from tests.conftest import new_key, serving
from tests.test_permissions import protected_routes

SMALL = 16 * 1024  # the JSON body limit of these tests' servers


async def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as http, http.get(URL(url, encoded=True), headers=headers or {},
                                                         allow_redirects=False) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def mounted(app) -> list[tuple[str, str]]:
    """Every (method, path) of the route table, HEAD and socket.io aside."""
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        if route.method in ("HEAD", "*") or path.startswith("/socket.io"):
            continue
        out.add((route.method, path))
    return sorted(out)


def concrete(path: str) -> str:
    path = path.replace("{path:.+}", "app.css").replace("{path}", "app.css").replace("{name}", "meeting.create")
    return re.sub(r"{\w+(:[^}]*)?}", "1", path)


# ---------------------------------------------------------------- headers


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


async def test_every_response_carries_the_security_headers(live):
    urls = ["/", "/console", "/projector", "/bridge", "/ops", "/static/app.css", "/static/apps/shell.js",
            "/vendor/preact/package.json", "/api/openapi.json", "/healthz", "/metrics", "/api/meetings",
            "/api/nothing-here", "/static/missing.js", "/socket.io/?EIO=4&transport=polling"]
    for path in urls:
        status, headers, _ = await get(live.url + path)
        assert status < 500, path
        csp = directives(headers.get("Content-Security-Policy", ""))
        assert csp.get("default-src") == ["'self'"], (path, headers)
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert csp["connect-src"] == ["'self'"] and csp["img-src"] == ["'self'", "blob:", "data:"]
        # No outside origin anywhere in the policy, and nothing inline but hashed scripts.
        sources = [s for values in csp.values() for s in values]
        assert all(s in ("'self'", "'none'", "blob:", "data:") or s.startswith("'sha256-") for s in sources), sources
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Frame-Options"] == "DENY", path
        assert "Set-Cookie" not in headers, path
    status, headers, _ = await get(live.url + "/api/meetings")
    assert status == 401 and headers["Cache-Control"] == "no-store"


async def test_the_one_inline_script_is_allowed_by_its_hash_alone(live):
    status, headers, body = await get(live.url + "/console")
    html = body.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
    assert len(inline) == 1 and '"imports"' in inline[0]  # the import map
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = directives(headers["Content-Security-Policy"])["script-src"]
    assert script_src == ["'self'", f"'sha256-{digest}'"]
    assert not re.search(r"\son\w+=", html) and "style=" not in html  # no inline handlers or styles in the shell


async def test_no_page_is_framed_by_another(live):
    """frame-ancestors 'none' holds because no page of ours frames another (the projector
    is a page of its own)."""
    from pathlib import Path

    web_root = Path(__file__).resolve().parent.parent / "clients" / "web"
    sources = [p for p in web_root.rglob("*") if p.suffix in (".js", ".html") and "node_modules" not in p.parts]
    assert sources and not [p for p in sources if "<iframe" in p.read_text(encoding="utf-8").lower()]


# ---------------------------------------------------------------- request bodies


async def _raw_request(url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 15)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


async def test_every_route_refuses_a_body_over_its_limit_with_413(settings):
    """Declared lengths over the limit are refused at once, before the body is read (or the
    caller signed in); chunked bodies past the JSON limit are refused by reading no further."""
    from server.api.security import STREAMED, stream_limit

    async with serving(replace(settings, max_body_bytes=SMALL, max_upload_mb=1)) as live:
        routes = mounted(live.app)
        assert len(routes) > 80
        problems = []
        for method, path in routes:
            kind = STREAMED.get((method, path))
            limit = stream_limit(kind, live.settings) if kind else SMALL
            head = (f"{method} {concrete(path)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {limit + 1}\r\nConnection: close\r\n\r\n")
            status, answer = await _raw_request(live.url, head)
            if status != 413 or b'"too_large"' not in answer:
                problems.append(("declared", method, path, status))
            if kind is None:
                async def chunks():
                    for _ in range(4):
                        yield b"[" + b" " * (SMALL // 2) + b"]"

                async with aiohttp.ClientSession() as http, http.request(
                        method, live.url + concrete(path), data=chunks(),
                        headers={"Content-Type": "application/json"}) as resp:
                    body = await resp.read()
                    if resp.status != 413 or b'"too_large"' not in body:
                        problems.append(("chunked", method, path, resp.status))
        assert problems == []
        # Under the limit, a route reads its body as usual.
        status, body = await live.request("POST", "/api/auth/login", json={"username": "ai", "password": "x" * 100})
        assert status == 401


# ---------------------------------------------------------------- static files

TRAVERSALS = [
    "/static/../pyproject.toml", "/static/../../pyproject.toml", "/static/..%2f..%2f..%2fpyproject.toml",
    "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", "/static/%2E%2E%2F%2E%2E%2F%2E%2E%2Fpyproject.toml",
    "/static/%252e%252e/%252e%252e/%252e%252e/pyproject.toml", "/static/..%5c..%5c..%5cpyproject.toml",
    "/static/..\\..\\..\\pyproject.toml", "/static/%2fetc%2fpasswd", "/static//etc/passwd",
    "/static/%2F%2Fetc%2Fpasswd", "/static/apps/..%2f..%2f..%2f..%2fetc%2fpasswd", "/static/app.css%00.js",
    "/static/node_modules/preact/package.json", "/static/node_modules%2fpreact%2fpackage.json",
    "/vendor/../package.json", "/vendor/..%2fpackage.json", "/vendor/%2e%2e/package.json",
    "/vendor/%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml", "/vendor/..%5c..%5cpyproject.toml",
    "/vendor//etc/passwd", "/vendor/%2fetc%2fpasswd", "/vendor/preact/../../../pyproject.toml",
]
LISTINGS = ["/static/", "/static/apps/", "/static/apps", "/vendor/", "/vendor/preact/", "/vendor/preact", "/vendor"]


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_static_routes_list_nothing_and_leave_their_folder_by_no_path(live):
    for path in TRAVERSALS + LISTINGS:
        status, _, body = await get(live.url + path)
        assert status in (400, 403, 404), (path, status)
        assert b"[project]" not in body and b"root:" not in body and b'"name"' not in body, path
    # What is there is served.
    assert (await get(live.url + "/static/app.css"))[0] == 200
    assert (await get(live.url + "/vendor/preact/package.json"))[0] == 200


# ---------------------------------------------------------------- no cookie authority


async def test_a_cookie_alone_authorises_nothing(world):
    """Sessions are bearer tokens sent in the Authorization header by our own script, never
    cookies: a forged cross-site request, which carries only the browser's cookies, cannot act."""
    live, token = world.live, world.tokens["admin"]
    cookie = "; ".join(f"{name}={token}" for name in ("token", "session", "phonghop.token", "Authorization", "io"))
    problems = []
    for method, path in protected_routes(live.app):
        status, body = await live.request(method, path, headers={"Cookie": cookie}, json={})
        if status != 401:
            problems.append((method, path, status))
    assert problems == []
    # Nothing sets a cookie: not a sign-in, not the socket.io handshake.
    async with aiohttp.ClientSession() as http:
        async with http.post(live.url + "/api/auth/login",
                             json={"username": "daibieu01", "password": "matkhau-thu-nghiem"}) as resp:
            assert resp.status == 200 and "Set-Cookie" not in resp.headers
        async with http.get(live.url + "/socket.io/?EIO=4&transport=polling") as resp:
            assert resp.status == 200 and "Set-Cookie" not in resp.headers
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)


# ---------------------------------------------------------------- sessions


async def test_an_expired_session_is_refused_everywhere(world):
    live = world.live
    async with live.app["db"].write() as db:
        await db.execute(update(Session).values(expires_at=utcnow() - timedelta(seconds=1)))
    for who in ("daibieu01", "vanphong"):
        status, body = await live.request("GET", "/api/auth/me", token=world.tokens[who])
        assert status == 401 and body["error"]["code"] == "unauthorized"
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live.url, auth={"token": world.tokens["daibieu01"]}, transports=["websocket"],
                             wait_timeout=10)


async def test_the_offline_lease_ends_with_the_session(world):
    live = world.live
    await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    status, manifest = await live.request("GET", f"/api/meetings/{world.meeting_id}/manifest",
                                          token=world.tokens["daibieu01"])
    assert status == 200
    # The world's sessions last an hour; the lease (72 hours by default) stops there.
    async with live.app["db"].read() as db:
        ends = await db.scalar(select(Session.expires_at).where(
            Session.token_hash == digest(world.tokens["daibieu01"])))
    assert manifest["lease_until"] == iso(ends)
    # A device revoked: its next manifest request is refused, and the tablet deletes its copy
    # (clients/web/lib/documents.js forgetOffline, on any 401).
    _, code = await live.request("POST", "/api/devices/pairing", token=world.tokens["vanphong"],
                                 json={"user_id": world.users["daibieu01"]})
    _, paired = await live.request("POST", "/api/auth/pair", json={"code": code["code"], "device_name": "Máy 3"})
    status, manifest = await live.request("GET", f"/api/meetings/{world.meeting_id}/manifest", token=paired["token"])
    assert status == 200
    await live.request("POST", f"/api/devices/{paired['device']['id']}/revoke", token=world.tokens["admin"])
    status, body = await live.request("GET", f"/api/meetings/{world.meeting_id}/manifest", token=paired["token"])
    assert status == 401


# ---------------------------------------------------------------- socket.io


async def _connect(live, token: str, origin: str | None = None, headers: dict | None = None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    all_headers = {**(headers or {}), **({"Origin": origin} if origin else {})}
    await client.connect(live.url, auth={"token": token}, headers=all_headers, transports=["websocket"],
                         wait_timeout=10)
    return client


async def _refused(live, token: str, origin: str, headers: dict | None = None, transport: str = "websocket") -> None:
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live.url, auth={"token": token}, headers={**(headers or {}), "Origin": origin},
                             transports=[transport], wait_timeout=10)
    assert not client.connected


async def test_socketio_accepts_its_own_origin_and_the_allowed_ones_only(world, settings):
    live, token = world.live, world.tokens["daibieu01"]
    own = live.url  # the origin the pages are served from
    for origin in (own, None):  # a page of ours; a client that is no browser page (no Origin)
        client = await _connect(live, token, origin)
        assert client.connected
        await client.disconnect()
    for origin in ("http://evil.example", "null", own.replace("127.0.0.1", "localhost"), own + ".evil.example",
                   "https://127.0.0.1:" + own.rsplit(":", 1)[1]):
        await _refused(live, token, origin)
    await _refused(live, token, "http://evil.example", transport="polling")
    # A client cannot name its own origin as the host through X-Forwarded-Host: no proxy is trusted here.
    await _refused(live, token, "http://evil.example", {"X-Forwarded-Host": "evil.example"})
    # Another origin named by the deployment is let in; behind a trusted proxy the forwarded host counts.
    async with serving(replace(settings, allowed_origins=("https://hop.tinhuy.example",),
                               trusted_proxies=("127.0.0.1",))) as other:
        client = await _connect(other, token, "https://hop.tinhuy.example")
        assert client.connected
        await client.disconnect()
        client = await _connect(other, token, "https://hop.proxy.example",
                                {"X-Forwarded-Host": "hop.proxy.example", "X-Forwarded-Proto": "https"})
        assert client.connected
        await client.disconnect()
        await _refused(other, token, "http://evil.example")


async def _raw_socket(live) -> aiohttp.ClientWebSocketResponse:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(live.url + "/socket.io/?EIO=4&transport=websocket")
    ws._test_http = http
    opened = await ws.receive(timeout=10)
    assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0{")
    return ws


async def _closed(ws: aiohttp.ClientWebSocketResponse) -> bool:
    """Whether the server closes the connection (pings aside) within a few seconds."""
    try:
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return True
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "1":  # engine.io's close packet
                return True
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                await ws.send_str("3")
    except TimeoutError:
        return False
    finally:
        await ws.close()
        await ws._test_http.close()


async def _signed_in(live, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await _raw_socket(live)
    await ws.send_str("40" + json.dumps({"token": token}))
    answer = await ws.receive(timeout=10)
    assert answer.data.startswith("40{"), answer.data
    return ws


async def _ack(ws) -> str:
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("43"):
            return msg.data


BINARY_COMMAND = '451-1["command",{"name":"attendance.check_in","data":{"_placeholder":true,"num":0}}]'


async def test_binary_packets_only_after_sign_in(world):
    live, token = world.live, world.tokens["daibieu01"]
    # Before any sign-in: a binary packet, or a stray attachment, closes the connection.
    ws = await _raw_socket(live)
    await ws.send_str(BINARY_COMMAND)
    assert await _closed(ws)
    ws = await _raw_socket(live)
    await ws.send_bytes(b"\x00" * 1000)
    assert await _closed(ws)
    # A refused sign-in is no sign-in.
    ws = await _raw_socket(live)
    await ws.send_str('40{"token":"' + "x" * 43 + '"}')
    assert (await ws.receive(timeout=10)).data.startswith("44")
    await ws.send_str(BINARY_COMMAND)
    assert await _closed(ws)
    # Signed in: a binary packet is read (and its data judged like any other).
    ws = await _signed_in(live, token)
    await ws.send_str(BINARY_COMMAND)
    await ws.send_bytes(b"\x01\x02")
    answer = json.loads((await _ack(ws))[3:])[0]
    assert answer["ok"] is False and answer["error"]["code"] == "invalid"
    assert not await _closed(ws)
    # ...but not one that announces more attachments than any message of ours could need.
    ws = await _signed_in(live, token)
    await ws.send_str(BINARY_COMMAND.replace("451-", "45500-"))  # 500 attachments
    assert await _closed(ws)


async def test_messages_per_connection_are_limited(settings, tmp_path):
    async with serving(replace(settings, socket_burst=5, socket_rate=1.0)) as live:
        from tests.conftest import build_world

        world = await build_world(live)
        client = await live.socket(world.tokens["vanphong"])
        other = await live.socket(world.tokens["thuky"])
        try:
            answers = [await client.call("leave", {"meeting_id": world.meeting_id}, timeout=10) for _ in range(6)]
            assert [a["ok"] for a in answers] == [True] * 5 + [False]
            error = answers[-1]["error"]
            assert error["code"] == "rate_limited" and 0 < error["details"]["retry_after"] <= 2
            # The connection stays open, another connection is not slowed down, and the bucket refills.
            assert client.connected
            assert (await other.call("leave", {"meeting_id": world.meeting_id}, timeout=10))["ok"]
            await asyncio.sleep(error["details"]["retry_after"])
            ack = await client.call("command", {"name": "agenda.add", "key": new_key(),
                                                "data": {"meeting_id": world.meeting_id, "title": "Sau khi chờ"}},
                                    timeout=10)
            assert ack["ok"] is True, ack
        finally:
            await client.disconnect()
            await other.disconnect()


def test_the_default_bucket_lets_a_hall_and_a_console_through():
    """A tablet votes once and joins once; a console sends bursts of a few dozen commands
    (test_realtime sends 25 at once from one connection): all within the default bucket."""
    from server.auth.limits import Buckets
    from server.config import Settings

    defaults = Settings()
    buckets = Buckets(defaults.socket_rate, defaults.socket_burst)
    assert all(buckets.take("console") == 0 for _ in range(50))
    assert all(buckets.take(f"tablet-{n}") == 0 for n in range(1000) for _ in range(3))


async def test_refusals_are_logged_without_secrets(world, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    live, token = world.live, world.tokens["daibieu01"]
    secret_password = "mat-khau-sai-rat-rieng"
    assert (await live.request("GET", "/api/users", token=token))[0] == 403
    assert (await live.request("GET", "/api/auth/me", token="z" * 43))[0] == 401
    assert (await live.request("POST", "/api/auth/login",
                               json={"username": "daibieu01", "password": secret_password}))[0] == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "phonghop.security"]
    assert any("/api/users" in line and "403 forbidden" in line for line in lines), lines
    assert any("/api/auth/me" in line and "401 unauthorized" in line for line in lines), lines
    assert any("/api/auth/login" in line and "401" in line for line in lines), lines
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything and "z" * 43 not in everything and secret_password not in everything
