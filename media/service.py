"""Where a media node runs: embedded in the server process, or on its own (`phonghop media-node`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal

from aiohttp import web

from media.settings import DEFAULT_LAYERS, NodeSettings, parse_layers

log = logging.getLogger("phonghop.media")

PARENT_RETRY_SECONDS = 2.0


def node_settings(settings, *, node_id: str = "central", ice_addresses: tuple[str, ...] | None = None) -> NodeSettings:
    """A node's settings from the server's (`server.config.Settings`, PHONGHOP_MEDIA_* variables)."""
    return NodeSettings(
        node_id=node_id,
        layers=parse_layers(settings.media_layers) if settings.media_layers else DEFAULT_LAYERS,
        ice_addresses=tuple(ice_addresses if ice_addresses is not None else settings.media_ice_addresses),
        audio_packet_ms=settings.media_audio_packet_ms,
    )


def attach_embedded(app: web.Application, settings) -> None:
    """The server's own media node: `app["media"]`, started and stopped with the app.

    With PHONGHOP_MEDIA_SECRET set, its control API is served under /media too, so that
    `phonghop media-node --parent http://server:8080/media` nodes can hang below it.
    """
    from media.control import routes
    from media.node import MediaNode

    node = MediaNode(node_settings(settings))
    app["media"] = node
    if settings.media_secret:
        control = web.Application()
        control.add_routes(routes(node, settings.media_secret))
        app.add_subapp("/media", control)

    async def start(app: web.Application) -> None:
        await node.start()

    async def stop(app: web.Application) -> None:
        await node.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


async def keep_parent(node, url: str, secret: str | None) -> None:
    """Join the parent node, and join it again whenever the link is lost (it may start later)."""
    while True:
        if node.parent is None or node.parent.state in ("failed", "closed"):
            try:
                await node.set_parent(url, secret)
                log.info("media: node %s is a child of %s", node.node_id, url)
            except Exception as exc:
                log.warning("media: node %s could not join its parent %s: %s", node.node_id, url, exc)
        await asyncio.sleep(PARENT_RETRY_SECONDS)


async def point_figures(node) -> dict[str, dict]:
    """What a heartbeat tells the server of the node's points: each point peer's state and
    link figures (loss, RTT, jitter, bitrate over the interval since the last heartbeat),
    the figures the server's embedded node gives its board (docs/conference.md)."""
    out = {}
    for peer_id, peer in list(node.peers.items()):
        if peer.role != "point":
            continue
        link = (await peer.figures()).get("link") if peer.state == "connected" else None
        out[peer_id] = {"role": peer.role, "state": peer.state, "link": link and {
            k: link.get(k) for k in ("loss", "rtt_ms", "jitter_ms", "bitrate_in_kbps", "bitrate_out_kbps",
                                     "quality")}}
    return out


async def keep_registered(node, server: str, secret: str, *, url: str, serves: int | None) -> None:
    """Register with the coordination server and send it a heartbeat, every few seconds as it
    says, with its points' figures; its answer names this node's parent, which the node joins
    (re-homing) when it changes."""
    import aiohttp

    server = server.rstrip("/")
    every = 2.0
    joined: str | None = None
    refused: str | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        while True:
            try:
                async with http.post(f"{server}/media-nodes/heartbeat", headers={"Authorization": f"Bearer {secret}"},
                                     json={"node_id": node.node_id, "url": url, "serves": serves,
                                           "secret": secret, "peers": await point_figures(node)}) as resp:
                    body = await resp.json(content_type=None)
                if resp.status != 200:
                    error = (body or {}).get("error") or {} if isinstance(body, dict) else {}
                    message = error.get("message") or f"HTTP {resp.status}"
                    if message != refused:  # said once, not at every beat; it keeps trying
                        refused = message
                        log.error("media: the server refused node %s: %s", node.node_id, message)
                        print(json.dumps({"event": "refused", "node_id": node.node_id, "status": resp.status,
                                          "error": error}, ensure_ascii=False), flush=True)
                else:
                    refused = None
                    every = float(body.get("every") or every)
                    parent = body.get("parent")
                    want = None if parent is None else (parent.get("url") or f"{server}/media")
                    lost = node.parent is not None and node.parent.state in ("failed", "closed")
                    if want != joined or lost:
                        await node.set_parent(want, (parent or {}).get("secret") or secret)
                        joined = want
                        log.info("media: node %s now relays from %s", node.node_id, want or "nobody (root)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("media: node %s could not reach the server %s: %s", node.node_id, server, exc)
            await asyncio.sleep(every)


def run_node(*, host: str, port: int, secret: str, settings: NodeSettings, parent: str | None = None,
             parent_secret: str | None = None, server: str | None = None, serves: int | None = None,
             advertise: str | None = None) -> int:
    """Serve one media node's control API until SIGTERM or SIGINT."""
    return asyncio.run(_serve_node(host, port, secret, settings, parent, parent_secret, server, serves, advertise))


async def _serve_node(host: str, port: int, secret: str, settings: NodeSettings, parent: str | None,
                      parent_secret: str | None, server: str | None = None, serves: int | None = None,
                      advertise: str | None = None) -> int:
    from media.control import control_app
    from media.node import MediaNode

    node = MediaNode(settings)
    runner = web.AppRunner(control_app(node, secret), access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    keeper = None
    try:
        await node.start()
        site = web.TCPSite(runner, host, port)
        await site.start()
        if server:
            keeper = asyncio.create_task(keep_registered(node, server, secret, serves=serves,
                                                         url=advertise or f"http://{host}:{port}"))
        elif parent:
            keeper = asyncio.create_task(keep_parent(node, parent, parent_secret or secret))
        # One line when the control API answers: whoever started the process may go on.
        print(json.dumps({"event": "ready", "node_id": settings.node_id, "listen": f"{host}:{port}",
                          "parent": parent, "server": server, "serves": serves}), flush=True)
        await stop.wait()
    finally:
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await node.stop()
        await runner.cleanup()
    return 0


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen is HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


__all__ = ["attach_embedded", "keep_parent", "node_settings", "parse_listen", "run_node"]
