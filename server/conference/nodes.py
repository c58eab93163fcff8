"""The registry of media nodes (docs/conference.md, "Media nodes").

External nodes (`phonghop media-node --server URL --serves UNIT_ID`) register themselves and
send a heartbeat every `every` seconds to `POST /media-nodes/heartbeat` (the server's media
secret, `Authorization: Bearer`); a node that misses `missed` heartbeats is dead. The server's
embedded node is the central node (it serves the whole tree) and is always alive. The pure
rules (server/domain/topology.py) choose each point's node and each node's parent: the
heartbeat's answer tells a node its parent (it calls `set_parent` itself), `media.offer`
sends a point's offer to its node, and every point on the board shows its `node`. When a node
dies, the sweep moves its points to their new node on the board (their media is down there
until they offer again; a bridge agent does so when its `conference.my_point` names another
node).

A node's heartbeat also carries its points' peers (`peers`: state and link figures, as its
`stats()` gives them): the states bring their media up or down on the board and the figures
become their link samples, through the same `Board.apply_peer_figures` the embedded node's
figures go through. The floor's route through the nodes (`chain_to`, `Board.apply_floor`) is
applied again when a point's peer moves to another node. A node id belongs to one URL: another URL under the same id is refused (409) while
the first node is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from server.conference.media_port import media_of
from server.domain import topology
from server.store.db import unreachable
from server.store.tables import Unit

log = logging.getLogger("phonghop.media")

TREE_REFRESH = 30.0
MAX_PEERS = 20_000  # peers one heartbeat may report (a node serves a few hundred points)


class NodeIdTaken(Exception):
    """Another node, alive, already registered under this id from another URL."""


def _number(value: object, high: float) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                             and 0 <= value <= high)


def check_figures(peers: object) -> dict[str, dict]:
    """The `peers` of a heartbeat: `{peer_id: {"role", "state", "link": {"loss", "rtt_ms",
    "jitter_ms", "bitrate_in_kbps", ...}}}`. Raises ValueError saying what is wrong."""
    if not isinstance(peers, dict) or len(peers) > MAX_PEERS:
        raise ValueError(f"peers is an object of at most {MAX_PEERS} peers")
    for peer, fig in peers.items():
        if not isinstance(fig, dict) or not isinstance(fig.get("state"), str):
            raise ValueError(f"peers.{peer}: an object with a state")
        link = fig.get("link")
        if link is None:
            continue
        if not isinstance(link, dict) or not _number(link.get("loss"), 1.0) or not all(
                _number(link.get(k), 10_000_000) for k in ("rtt_ms", "jitter_ms", "bitrate_in_kbps")):
            raise ValueError(f"peers.{peer}.link: loss from 0 to 1, rtt_ms, jitter_ms, bitrate_in_kbps numbers")
    return peers


@dataclass
class Registered:
    node_id: str
    url: str
    secret: str | None
    serves: int | None
    last_seen: float
    client: object = None

    def port(self):
        if self.client is None:
            from media.control import NodeClient

            self.client = NodeClient(self.url, self.secret)
        return self.client


class NodeRegistry:
    def __init__(self, app, *, every: float = 2.0, missed: int = 3) -> None:
        self.app = app
        self.every = every
        self.missed = missed
        self.nodes: dict[str, Registered] = {}
        self.peer_nodes: dict[str, str] = {}  # media peer -> the node that holds it
        self._tree: dict[int, int | None] = {}
        self._tree_at = 0.0
        self._task: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()

    # ---------------------------------------------------------------- who is who

    @property
    def central_id(self) -> str | None:
        node = media_of(self.app)
        return getattr(node, "node_id", "central") if node is not None else None

    def topology_nodes(self, now: float | None = None) -> list[topology.Node]:
        now = time.monotonic() if now is None else now
        out = [topology.Node(r.node_id, r.serves, topology.alive(r.last_seen, now, every=self.every,
                                                                  missed=self.missed))
               for r in self.nodes.values()]
        if self.central_id is not None:
            out.append(topology.Node(self.central_id, topology.CENTRAL))
        return out

    async def tree(self) -> dict[int, int | None]:
        if time.monotonic() - self._tree_at > TREE_REFRESH or not self._tree:
            async with self.app["db"].read() as db:
                self._tree = {u: p for u, p in (await db.execute(select(Unit.id, Unit.parent_id))).all()}
            self._tree_at = time.monotonic()
        return self._tree

    def port_of(self, node_id: str | None):
        """The node's methods (the embedded node, or a NodeClient over its control API)."""
        if node_id is None:
            return None
        if node_id == self.central_id:
            return media_of(self.app)
        r = self.nodes.get(node_id)
        return r.port() if r is not None else None

    async def node_for(self, unit_id: int) -> str | None:
        return topology.node_for_unit(unit_id, await self.tree(), self.topology_nodes())

    async def chain_to(self, node_id: str) -> list[str]:
        """The nodes from the root down to this one, each the parent of the next, as the rules
        link them now (the floor's route, `Board.apply_floor`)."""
        tree = await self.tree()
        nodes = self.topology_nodes()
        by_id = {n.node_id: n for n in nodes}
        chain = [node_id]
        while (node := by_id.get(chain[0])) is not None:
            parent = topology.parent_of(node, tree, nodes)
            if parent is None or parent in chain:
                break
            chain.insert(0, parent)
        return chain

    # ---------------------------------------------------------------- heartbeats

    def alive(self, node_id: str, now: float | None = None) -> bool:
        if node_id == self.central_id:
            return True
        r = self.nodes.get(node_id)
        now = time.monotonic() if now is None else now
        return r is not None and topology.alive(r.last_seen, now, every=self.every, missed=self.missed)

    async def heartbeat(self, node_id: str, url: str, secret: str | None, serves: int | None,
                        peers: dict[str, dict] | None = None) -> dict:
        r = self.nodes.get(node_id)
        if r is not None and r.url != url and self.alive(node_id):
            # Two processes under one name would steal each other's points at every beat.
            raise NodeIdTaken(f"media node id {node_id!r} is already used by the live node at {r.url}; "
                              f"give this one another --node-id, or stop the other")
        if r is None or r.url != url or r.serves != serves or r.secret != secret:
            if r is not None:
                log.warning("media: node %s re-registered from %s (was %s, serving %s; now %s)",
                            node_id, url, r.url, r.serves, serves)
            self.nodes[node_id] = r = Registered(node_id, url, secret, serves, time.monotonic())
            self._tree_at = 0.0  # a new node may serve a unit just added
            log.info("media: node %s (%s) registered, serving unit %s", node_id, url, serves)
        r.last_seen = time.monotonic()
        if peers is not None:
            self.apply_figures(node_id, peers)
        tree = await self.tree()
        nodes = self.topology_nodes()
        me = next(n for n in nodes if n.node_id == node_id)
        parent = topology.parent_of(me, tree, nodes)
        await self.rehome()
        return {"node_id": node_id, "every": self.every, "parent": self._describe(parent)}

    def _describe(self, node_id: str | None) -> dict | None:
        if node_id is None:
            return None
        if node_id == self.central_id:
            return {"node_id": node_id, "url": None}  # the server's own /media (the node knows the URL)
        r = self.nodes[node_id]
        return {"node_id": node_id, "url": r.url, "secret": r.secret}

    # ---------------------------------------------------------------- re-homing

    async def rehome(self) -> None:
        """Every loaded conference's points on the node the rules give them now; the points of
        a node that died lose their media there (they offer again to their new node)."""
        board = self.app["conference"]
        tree = await self.tree()
        nodes = self.topology_nodes()
        moved: set[int] = set()
        for conf in list(board.conferences.values()):
            for p in conf.points.values():
                node = topology.node_for_unit(p.unit_id, tree, nodes)
                old = getattr(p, "node", None)
                if node == old:
                    continue
                p.node = node
                conf.changed.add(p.unit_id)
                moved.add(conf.meeting_id)
                if old is not None:
                    peer = board.peer_of(conf.meeting_id, p.unit_id)
                    if peer is not None and self.peer_nodes.get(peer) == old:
                        board.forget_peer(peer)
                        self.peer_nodes.pop(peer, None)
                        board.media_now(conf.meeting_id, p.unit_id, False)
                        if self.alive(old):
                            # The old node lives (a node came back and took its points): free
                            # the peer there now rather than when its ICE gives up.
                            self._close_later(old, peer)
        # The floor's route may have run through a node that died (its peer is forgotten: the
        # host's picture meanwhile), or a node returned below it.
        board.reroute(moved)

    def _close_later(self, node_id: str, peer: str) -> None:
        port = self.port_of(node_id)
        if port is None:
            return

        async def close() -> None:
            try:
                await port.close_peer(peer)
            except Exception as exc:  # gone already (the point left first): nothing held
                log.debug("media: peer %s on node %s: %s", peer, node_id, exc)

        task = asyncio.get_running_loop().create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def apply_figures(self, node_id: str, peers: dict[str, dict]) -> None:
        """An external node's figures of its points' peers, applied as the embedded node's are
        (`Board.apply_peer_figures`); a peer the node no longer has is closed."""
        board = self.app["conference"]
        for peer, (meeting_id, unit_id, role) in list(board.peers.items()):
            if role != "point" or self.peer_nodes.get(peer) != node_id:
                continue
            fig = peers.get(peer)
            if fig is not None:
                board.apply_peer_figures(peer, fig)
                continue
            conf = board.conferences.get(meeting_id)
            p = conf.points.get(unit_id) if conf is not None else None
            # Not on the node any more (closed). Only a peer seen up before can be told gone:
            # one just offered may be younger than the figures.
            if p is not None and p.presence.media:
                board.forget_peer(peer)
                self.peer_nodes.pop(peer, None)
                board.media_now(meeting_id, unit_id, False)

    async def _sweep(self) -> None:
        failing = False  # while the database is down: one line when it starts, one when it ends
        while True:
            await asyncio.sleep(self.every / 2)
            try:
                await self.rehome()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    if unreachable(exc):
                        log.warning("media: the node registry's sweep fails (%s: %s); it keeps trying",
                                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                    else:
                        log.exception("media: the node registry's sweep failed")
                failing = True
            else:
                if failing:
                    log.warning("media: the node registry's sweep works again")
                failing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sweep(), name="media-nodes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._closing):
            task.cancel()
        for r in self.nodes.values():
            if r.client is not None and hasattr(r.client, "close"):
                with contextlib.suppress(Exception):
                    await r.client.close()


def attach(app: web.Application, settings) -> None:
    """`app["media_nodes"]`, and with a media secret the heartbeat route for external nodes."""
    registry = app["media_nodes"] = NodeRegistry(app, every=settings.media_heartbeat_s,
                                                 missed=settings.media_heartbeat_missed)

    async def heartbeat(request: web.Request) -> web.Response:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not settings.media_secret or scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), settings.media_secret.encode()):
            return web.json_response({"error": {"code": "unauthorized", "message": "the media secret is needed"}},
                                     status=401)
        try:
            body = await request.json()
            node_id, url = body["node_id"], body["url"]
            serves = body.get("serves")
            assert isinstance(node_id, str) and 0 < len(node_id) <= 64 and isinstance(url, str)
            assert serves is None or (isinstance(serves, int) and not isinstance(serves, bool))
            secret = body.get("secret")
            assert secret is None or isinstance(secret, str)
        except Exception:
            return web.json_response({"error": {"code": "invalid",
                                                "message": "node_id, url, serves?, secret?, peers?"}}, status=422)
        try:
            peers = check_figures(body["peers"]) if body.get("peers") is not None else None
        except ValueError as exc:
            return web.json_response({"error": {"code": "invalid", "message": str(exc)}}, status=422)
        if node_id == registry.central_id:
            return web.json_response({"error": {"code": "conflict", "message": "that is the central node's id"}},
                                     status=409)
        try:
            return web.json_response(await registry.heartbeat(node_id, url, secret, serves, peers))
        except NodeIdTaken as exc:
            log.warning("media: %s", exc)
            return web.json_response({"error": {"code": "conflict", "message": str(exc),
                                                "details": {"reason": "node_id_taken"}}}, status=409)

    async def listing(request: web.Request) -> web.Response:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not settings.media_secret or not hmac.compare_digest(given.strip().encode(), settings.media_secret.encode()):
            return web.json_response({"error": {"code": "unauthorized", "message": "the media secret is needed"}},
                                     status=401)
        tree = await registry.tree()
        nodes = registry.topology_nodes()
        return web.json_response({"nodes": [{"node_id": n.node_id, "serves": n.serves, "alive": n.alive,
                                             "parent": topology.parent_of(n, tree, nodes) if n.alive else None}
                                            for n in nodes]})

    app.router.add_post("/media-nodes/heartbeat", heartbeat)
    app.router.add_get("/media-nodes", listing)

    async def start(app):
        registry.start()

    async def stop(app):
        await registry.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
