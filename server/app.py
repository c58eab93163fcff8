"""The aiohttp application: REST, socket.io, the web pages, health and metrics."""

from __future__ import annotations

import logging
import string
from pathlib import Path

import socketio
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

import server.commands  # noqa: F401  (registers every command)
from agendas.ingest import Renderer
from agendas.storage import Files
from server.api import openapi, rest, security
from server.api.documents import secret_key
from server.api.errors import errors_as_json
from server.api.pages import Pages
from server.auth import limits, revocation
from server.commands.attendance_batch import CheckInWriter
from server.config import Settings
from server.realtime import guard, sockets, wire
from server.realtime.fanout import Fanout
from server.realtime.poll_progress import PollProgress
from server.store.audit import AuditWriter
from server.store.ballots import BallotWriter
from server.store.db import Database

log = logging.getLogger("phonghop")

WEB_ROOT = Path(__file__).resolve().parent.parent / "clients" / "web"
# path -> (the app module under clients/web/apps/, the page title); every page is the
# same shell (clients/web/page.html) around its own app.
PAGES = {
    "/": ("tablet", "Đại biểu"),
    "/console": ("console", "Văn phòng"),
    "/projector": ("projector", "Màn chiếu"),
    "/bridge": ("bridge", "Điểm cầu"),
    "/ops": ("ops", "Kỹ thuật"),
}


def _page(app_name: str, title: str):
    html = string.Template((WEB_ROOT / "page.html").read_text(encoding="utf-8")).substitute(app=app_name, title=title)

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})

    return handle


async def static_file(request: web.Request) -> web.FileResponse:
    """Our own scripts and styles; node_modules is served separately under /vendor."""
    relative = request.match_info["path"]
    if "\x00" in relative or "\\" in relative:  # no NUL, no Windows separators: 404, not a 500
        raise web.HTTPNotFound()
    target = (WEB_ROOT / relative).resolve()
    if (
        not target.is_relative_to(WEB_ROOT)
        or "node_modules" in target.relative_to(WEB_ROOT).parts
        or not target.is_file()
    ):
        raise web.HTTPNotFound()
    return web.FileResponse(target, headers={"Cache-Control": "no-cache"})


async def healthz(request: web.Request) -> web.Response:
    checks = {}
    try:
        async with request.app["db"].read() as db:
            await db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # health reports, it does not raise
        checks["database"] = f"failing: {type(exc).__name__}"
    if request.app["settings"].redis_url:
        try:
            # Its own connection: socket.io's manager connects only at its first message.
            import redis.asyncio

            async with redis.asyncio.from_url(request.app["settings"].redis_url, socket_timeout=5) as client:
                await client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failing: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[errors_as_json])
    app["settings"] = settings
    app["db"] = Database(settings)
    # Sessions ended through this process: socket.io connections holding one stop at
    # their next message instead of after their cached check expires.
    app["ended_sessions"] = set()
    # Security (SECURITY.md): headers and body limits, sign-in limits, the audit log.
    security.install(app, WEB_ROOT / "page.html")
    app["trusted_proxies"] = limits.parse_networks(settings.trusted_proxies)
    app["login_limits"] = limits.LoginLimiter(settings.login_account_limit, settings.login_address_limit,
                                              settings.redis_url)
    app["audit"] = AuditWriter(app["db"])
    manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
    sio = guard.Server(
        async_mode="aiohttp",
        client_manager=manager,
        # The server's own origin and PHONGHOP_ALLOWED_ORIGINS; clients without an Origin too.
        cors_allowed_origins=guard.origin_check(settings.allowed_origins, app["trusted_proxies"]),
        max_http_buffer_size=settings.max_body_bytes,
        ping_interval=10,
        ping_timeout=10,
        serializer=wire.Packet,  # orjson, and shared parts encoded once (server/realtime/wire.py)
    )
    wire.set_compression(sio, settings.ws_compression)
    sio.attach(app)
    app["sio"] = sio
    app["fanout"] = Fanout(sio)
    app["checkins"] = CheckInWriter(app)  # check-ins group-committed, one event per batch
    sockets.register(sio, app)
    revocation.attach(app)  # ended sessions close their sockets, in every process

    table = rest.routes()
    for route in table:
        app.router.add_route(route.method, route.path, route.handler)
    extra = {
        "/healthz": {"get": {"summary": "Health of the server and what it depends on",
                             "responses": {"200": {"description": "healthy"}, "503": {"description": "degraded"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics"}}}},
    }
    extra["/api/openapi.json"] = {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}}
    # Media nodes talk to the server here with the media secret as a Bearer token
    # (server/conference/nodes.py, docs/conference.md); not for people's clients.
    media_auth = {"401": {"description": "the media secret is needed"}}
    extra["/media-nodes"] = {"get": {"summary": "The registered media nodes, alive or not, and their parents",
                                     "responses": {"200": {"description": "nodes"}, **media_auth}}}
    extra["/media-nodes/heartbeat"] = {"post": {"summary": "A media node says it is alive; the answer names its parent",
                                                "responses": {"200": {"description": "its parent"}, **media_auth}}}
    spec = openapi.document(table, extra)

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(spec)

    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    for path, (app_name, title) in PAGES.items():
        app.router.add_get(path, _page(app_name, title))
    app.router.add_get("/static/{path:.+}", static_file)
    if (WEB_ROOT / "node_modules").is_dir():
        app.router.add_static("/vendor/", WEB_ROOT / "node_modules", show_index=False, follow_symlinks=False)
    else:
        log.warning("clients/web/node_modules is missing: run `npm ci` in clients/web for the web pages")

    # Polls: the ballot writer (group commit) and the live counts / deadline closer.
    app["poll_progress"] = PollProgress(app)
    app["ballots"] = BallotWriter(app["db"], on_commit=app["poll_progress"].touch)

    # Documents: files under the data folder, the render pool, page permissions.
    app["files"] = Files(settings.data_dir)
    app["files_secret"] = secret_key(app["files"])
    app["pages"] = Pages(app, settings.page_cache_mb * 2**20)
    app["renderer"] = Renderer(app, app["files"], settings.render_workers)

    # Conference media: the embedded media node, app["media"] (media/, docs/media.md).
    if settings.media_embedded:
        from media.service import attach_embedded

        attach_embedded(app, settings)
    # The media nodes of the tree: external nodes' heartbeats, each point's node (docs/conference.md).
    from server.conference import nodes as media_nodes

    media_nodes.attach(app, settings)

    # The online conference: the live board of its points' presence and links (docs/conference.md).
    from server.conference.board import Board

    app["conference"] = Board(app)

    async def start_conference(app: web.Application) -> None:
        app["conference"].start()

    async def stop_conference(app: web.Application) -> None:
        await app["conference"].stop()

    app.on_startup.append(start_conference)
    app.on_cleanup.append(stop_conference)

    async def start_polls(app: web.Application) -> None:
        app["ballots"].start()
        app["poll_progress"].start()
        await app["renderer"].start()

    async def stop_polls(app: web.Application) -> None:
        await app["renderer"].stop()
        await app["poll_progress"].stop()
        await app["ballots"].stop()

    async def close(app: web.Application) -> None:
        await app["audit"].stop()
        await app["login_limits"].close()
        await app["db"].close()

    app.on_startup.append(start_polls)
    app.on_cleanup.append(stop_polls)
    app.on_cleanup.append(close)
    return app
