"""The site of docker-compose.yml, as processes on this machine: nginx with deploy/nginx.conf
(tests/nginx_site.py changes only addresses, ports and paths) and TLS from
deploy/tls/make-cert.sh, in front of two `phonghop serve` processes sharing PostgreSQL,
Redis and one data folder, with the web clients published by deploy/publish-web.sh.

Clients reach the site only through nginx, over HTTPS, and trust it through the site CA
the script made, as a tablet would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.conftest import (
    REDIS_URL,
    ServerProcess,
    free_port,
    postgres_available,
    redis_available,
    require,
    start_server,
    wait_for,
)
from tests.nginx_site import NGINX, Nginx, Site, create_database, drop_database
from tests.samples import make_pdf

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MB = 1  # PHONGHOP_MAX_UPLOAD_MB of this site, for nginx and the servers alike


@dataclass
class Running:
    url: str  # https://127.0.0.1:PORT, through nginx
    http_url: str  # http://127.0.0.1:PORT, nginx's plain listener
    servers: list[ServerProcess]
    data_dir: Path
    web_dir: Path
    ca: Path
    password: str

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.tls()))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require(os.path.exists(NGINX), "nginx is not installed (apt-get install nginx-light; ./dev test does it as root)")
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    tmp = tmp_path_factory.mktemp("site")
    tls, web, data = tmp / "tls", tmp / "web", tmp / "data"
    web.mkdir()
    data.mkdir()
    made = subprocess.run([ROOT / "deploy" / "tls" / "make-cert.sh", "127.0.0.1", "localhost"],
                          env={**os.environ, "TLS_DIR": str(tls)}, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    published = subprocess.run([ROOT / "deploy" / "publish-web.sh"], capture_output=True, text=True,
                               env={**os.environ, "WEB_SOURCE": str(ROOT / "clients" / "web"), "WEB_TARGET": str(web)})
    assert published.returncode == 0, published.stderr

    database_url = create_database()
    servers: list[ServerProcess] = []
    nginx = None
    try:
        https_port, http_port = free_port(), free_port()
        env = {
            "PHONGHOP_DATABASE_URL": database_url,
            "PHONGHOP_REDIS_URL": REDIS_URL,
            # What docker-compose.yml gives the server processes behind nginx.
            "PHONGHOP_ACCEL_REDIRECT": "/_protected/",
            "PHONGHOP_TRUSTED_PROXIES": "127.0.0.1",
            "PHONGHOP_MAX_UPLOAD_MB": str(LIMIT_MB),
            "PHONGHOP_RENDER_WORKERS": "1",
        }
        # One after the other: the first seeds the demo, the second finds it seeded.
        for _ in range(2):
            servers.append(start_server(data, env=env))
        nginx = Nginx(Site(
            upstreams=[f"127.0.0.1:{s.port}" for s in servers], http_port=http_port, https_port=https_port,
            tls_dir=tls, web_dir=web, data_dir=data, work_dir=tmp / "nginx",
            env={"PHONGHOP_MAX_UPLOAD_MB": str(LIMIT_MB)},
        ))
        yield Running(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", servers, data, web,
                      tls / "ca.pem", servers[0].password)
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()
        drop_database(database_url)


async def login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> str:
    async with http.post(f"{url}/api/auth/login", json={"username": username, "password": password}) as resp:
        assert resp.status == 200, await resp.text()
        return (await resp.json())["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upcoming_meeting(http: aiohttp.ClientSession, url: str, token: str) -> dict:
    async with http.get(f"{url}/api/meetings", headers=bearer(token)) as resp:
        assert resp.status == 200, await resp.text()
        return next(m for m in (await resp.json())["meetings"] if m["status"] == "published")


async def rendered_manifest(http: aiohttp.ClientSession, url: str, token: str, meeting_id: int) -> dict:
    """The meeting's documents once the servers have rendered them all (the demo's papers are
    rendered when a server starts)."""
    for _ in range(600):
        async with http.get(f"{url}/api/meetings/{meeting_id}/manifest", headers=bearer(token)) as resp:
            assert resp.status == 200, await resp.text()
            manifest = await resp.json()
        if manifest["documents"] and all(d["status"] == "ready" for d in manifest["documents"]):
            return manifest
        assert not any(d["status"] == "failed" for d in manifest["documents"]), manifest
        await asyncio.sleep(0.2)
    raise AssertionError(f"the demo's documents were not rendered: {manifest}")


def sha_of(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".jpg")


def test_the_offload_setting_is_an_internal_path():
    from server.config import _accel_prefix

    assert _accel_prefix(None) is None and _accel_prefix("") is None and _accel_prefix("off") is None
    assert _accel_prefix("/_protected") == _accel_prefix("/_protected/") == "/_protected/"
    for bad in ("_protected/", "http://nginx/_protected/", "/_protected/../files/", "/a b/", "/x?y"):
        with pytest.raises(ValueError, match="PHONGHOP_ACCEL_REDIRECT"):
            _accel_prefix(bad)


# --- HTTPS, headers, static files --------------------------------------------------------------


async def test_plain_http_only_redirects_to_https(site):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.http_url}/console?x=1", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "https://127.0.0.1/console?x=1"
        async with http.get(f"{site.http_url}/api/meetings", allow_redirects=False) as resp:
            assert resp.status == 301, "nothing but the redirect is served over plain HTTP"


async def test_pages_come_from_the_servers_with_their_security_headers_and_hsts(site):
    async with site.session() as http, http.get(f"{site.url}/console") as resp:
        assert resp.status == 200
        assert "Văn phòng" in await resp.text()
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        # The server's own headers pass through nginx untouched.
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Server"] == "nginx", "no version, and not the server's own"


async def test_scripts_styles_and_npm_packages_are_served_by_nginx(site):
    web = site.web_dir / "current"
    async with site.session() as http:
        for path, file in (
            ("/static/app.css", web / "app.css"),
            ("/static/lib/live.js", web / "lib" / "live.js"),
            ("/vendor/preact/dist/preact.mjs", web / "node_modules" / "preact" / "dist" / "preact.mjs"),
            ("/vendor/socket.io-client/dist/socket.io.esm.min.js",
             web / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"),
        ):
            async with http.get(site.url + path) as resp:
                assert resp.status == 200, path
                assert await resp.read() == file.read_bytes(), path
                # Every answer of the servers carries their Content-Security-Policy: this one
                # has none, so nginx sent it from the web volume.
                assert "Content-Security-Policy" not in resp.headers, path
                assert resp.headers["Cache-Control"] == "no-cache"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
                etag = resp.headers["ETag"]
            async with http.get(site.url + path, headers={"If-None-Match": etag}) as resp:
                assert resp.status == 304, path
        async with http.get(f"{site.url}/static/node_modules/preact/package.json") as resp:
            assert resp.status == 404, "npm packages only under /vendor/, as the server does"


async def test_metrics_stay_inside_and_health_answers(site):
    async with site.session() as http:
        async with http.get(f"{site.url}/metrics") as resp:
            assert resp.status == 404
        async with http.get(f"{site.url}/healthz") as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            assert body["database"] == "ok" and body["redis"] == "ok"
    # Each process on its own, as compose's healthcheck and a monitoring system ask it, also
    # before any socket.io client has made it talk to Redis.
    async with aiohttp.ClientSession() as direct:
        for server in site.servers:
            async with direct.get(f"{server.url}/healthz") as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["redis"] == "ok"


# --- socket.io through nginx -------------------------------------------------------------------


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["polling", "websocket"]],
                         ids=["websocket", "long-polling", "polling-then-upgrade"])
async def test_events_committed_through_either_process_reach_a_client_behind_nginx(site, transports):
    """The client attaches through nginx (to one process, by its address); the commands go to
    each process directly, so one of the two events crosses between processes through Redis."""
    async with site.session() as http:
        delegate = await login(http, site.url, "daibieu02", site.password)
        meeting = await upcoming_meeting(http, site.url, delegate)
        secretary = await login(http, site.url, "thuky", site.password)

        tablet = socketio.AsyncClient(reconnection=False, http_session=site.session())
        received: asyncio.Queue = asyncio.Queue()
        tablet.on("event", received.put_nowait)
        try:
            # A browser sends its page's origin; the servers accept it because nginx, a
            # trusted proxy, says the page was reached over https at this host and port.
            await tablet.connect(site.url, auth={"token": delegate}, transports=transports,
                                 headers={"Origin": site.url}, wait_timeout=15)
            if len(transports) == 1:
                assert tablet.transport() == transports[0]
            joined = await tablet.call("join", {"meeting_id": meeting["id"], "since": None}, timeout=15)
            assert joined["ok"], joined
            head = joined["head"]
            titles = []
            async with aiohttp.ClientSession() as direct:
                for n, server in enumerate(site.servers):
                    title = f"Nội dung qua máy chủ {n + 1} ({'+'.join(transports)})"
                    async with direct.post(
                        f"{server.url}/api/meetings/{meeting['id']}/agenda", json={"title": title},
                        headers={**bearer(secretary), "Idempotency-Key": f"nginx-{'-'.join(transports)}-{n}"},
                    ) as resp:
                        assert resp.status == 200, await resp.text()
                    titles.append(title)
            seen = []
            while len(seen) < 2:
                event = await asyncio.wait_for(received.get(), 20)
                if event["seq"] > head and event["data"].get("agenda"):
                    seen.append(event)
            assert [e["seq"] for e in seen] == [head + 1, head + 2]
            assert seen[-1]["data"]["agenda"][-1]["title"] == titles[-1]
            assert seen[0]["data"]["agenda"][-1]["title"] == titles[0]
            if len(transports) == 2:
                # The upgrade request carries the session's sid: only its own process knows it.
                await wait_for(lambda: tablet.transport() == "websocket", 20)
        finally:
            await tablet.disconnect()
            await tablet.eio.http.close()


async def test_a_socket_from_a_foreign_origin_is_refused(site):
    async with site.session() as http:
        token = await login(http, site.url, "daibieu03", site.password)
    tablet = socketio.AsyncClient(reconnection=False, http_session=site.session())
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await tablet.connect(site.url, auth={"token": token}, transports=["websocket"],
                                 headers={"Origin": "https://evil.example"}, wait_timeout=15)
    finally:
        with contextlib.suppress(Exception):
            await tablet.disconnect()
        await tablet.eio.http.close()


# --- page images -------------------------------------------------------------------------------


async def test_page_images_are_sent_by_nginx_after_the_servers_permission_check(site):
    async with site.session() as http:
        token = await login(http, site.url, "daibieu04", site.password)
        meeting = await upcoming_meeting(http, site.url, token)
        manifest = await rendered_manifest(http, site.url, token, meeting["id"])
        plain = next(d for d in manifest["documents"] if not d["classification"])
        page = plain["pages"][0]
        sha = sha_of(page["tablet"])
        stored = (site.data_dir / "files" / "pages" / f"{sha}.jpg").read_bytes()

        async with http.get(site.url + page["tablet"], headers=bearer(token)) as resp:
            assert resp.status == 200
            assert await resp.read() == stored
            assert resp.headers["Content-Type"] == "image/jpeg"
            assert resp.headers["ETag"] == f'"{sha}"', "the server's ETag, not nginx's"
            assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"
            assert "X-Accel-Redirect" not in resp.headers
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        async with http.get(site.url + page["tablet"], headers={**bearer(token), "Range": "bytes=100-299"}) as resp:
            assert resp.status == 206
            assert await resp.read() == stored[100:300]
            assert resp.headers["Content-Range"] == f"bytes 100-299/{len(stored)}"
        async with http.get(site.url + page["tablet"], headers={**bearer(token), "If-None-Match": f'"{sha}"'}) as resp:
            assert resp.status == 304

        # Asked directly, a server answers with the redirect alone: the bytes came from nginx.
        async with aiohttp.ClientSession() as direct, direct.get(
                site.servers[1].url + page["tablet"], headers=bearer(token)) as resp:
            assert resp.status == 200
            assert resp.headers["X-Accel-Redirect"] == f"/_protected/pages/{sha}.jpg"
            assert await resp.read() == b""

        # A zoom image, made on its first request, is offloaded the same way.
        async with http.get(f"{site.url}/api/documents/{plain['id']}/pages", headers=bearer(token)) as resp:
            assert resp.status == 200, await resp.text()
            zoom_url = (await resp.json())["pages"][0]["zoom"]
        async with http.get(site.url + zoom_url, headers=bearer(token)) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.read()
        zooms = list((site.data_dir / "files" / "zoom").glob(f"*-{page['index']}.jpg"))
        assert body in [z.read_bytes() for z in zooms] and body[:2] == b"\xff\xd8"


async def test_watermarked_pages_are_made_and_sent_by_the_server(site):
    async with site.session() as http:
        token = await login(http, site.url, "daibieu05", site.password)
        meeting = await upcoming_meeting(http, site.url, token)
        manifest = await rendered_manifest(http, site.url, token, meeting["id"])
        secret = next(d for d in manifest["documents"] if d["classification"])
        page = secret["pages"][0]
        stored = (site.data_dir / "files" / "pages" / f"{sha_of(page['tablet'])}.jpg").read_bytes()
        async with http.get(site.url + page["tablet"], headers=bearer(token)) as resp:
            assert resp.status == 200
            body = await resp.read()
        assert body[:2] == b"\xff\xd8" and body != stored, "the reader's own copy, with the watermark"
        async with aiohttp.ClientSession() as direct, direct.get(
                site.servers[0].url + page["tablet"], headers=bearer(token)) as resp:
            assert "X-Accel-Redirect" not in resp.headers
            assert await resp.read() == body, "served by the server itself"


async def test_no_file_without_the_servers_permission(site):
    async with site.session() as http:
        token = await login(http, site.url, "daibieu06", site.password)
        meeting = await upcoming_meeting(http, site.url, token)
        manifest = await rendered_manifest(http, site.url, token, meeting["id"])
        page = next(d for d in manifest["documents"] if not d["classification"])["pages"][0]
        sha = sha_of(page["tablet"])
        stored = (site.data_dir / "files" / "pages" / f"{sha}.jpg").read_bytes()
        blob = next(p for p in (site.data_dir / "files" / "blobs").rglob("*") if p.is_file())
        for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic ZGFpYmlldTA2Og=="}):
            async with http.get(site.url + page["tablet"], headers=headers) as resp:
                assert resp.status == 401, headers
                body = await resp.read()
                assert body != stored and not body.startswith(b"\xff\xd8")
                assert resp.headers["Content-Type"].startswith("application/json")
        for path in (f"/_protected/pages/{sha}.jpg", f"/_protected/zoom/{sha}.jpg",
                     f"/_protected/blobs/{blob.parent.name}/{blob.name}", "/_protected/secret.key",
                     f"/_protected/pages/../blobs/{blob.parent.name}/{blob.name}"):
            async with http.get(site.url + path, headers=bearer(token)) as resp:
                assert resp.status == 404, path
                body = await resp.read()
                assert body != stored and body != blob.read_bytes(), path
        # An image of another version is not this version's: no file either.
        other = hashlib.sha256(b"not a page").hexdigest()
        async with http.get(site.url + page["tablet"].replace(sha, other), headers=bearer(token)) as resp:
            assert resp.status == 404


# --- request bodies ----------------------------------------------------------------------------


async def test_uploads_over_the_limit_are_refused_by_nginx(site):
    async with site.session() as http:
        token = await login(http, site.url, "thuky", site.password)
        meeting = await upcoming_meeting(http, site.url, token)
        url = f"{site.url}/api/meetings/{meeting['id']}/uploads?filename=lon.pdf"
        async with http.post(url, data=b"%PDF" + b"0" * (LIMIT_MB * 2**20), headers=bearer(token)) as resp:
            assert resp.status == 413
            body = await resp.text()
            assert "413 Request Entity Too Large" in body and "nginx" in body, "nginx answered, not a server"
        # At the limit the upload reaches a server, which takes it.
        pdf = make_pdf(["Trang một"])
        async with http.post(url, data=pdf + b"%" * (LIMIT_MB * 2**20 - len(pdf)), headers=bearer(token)) as resp:
            assert resp.status == 201, await resp.text()
            assert (await resp.json())["upload"]["size"] == LIMIT_MB * 2**20
