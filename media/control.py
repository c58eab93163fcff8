"""The control API of a media node (HTTP/JSON), and its client.

`phonghop media-node` serves it on loopback (or the node's own network); the server,
and child nodes, speak to it. Every request carries the node's shared secret as
`Authorization: Bearer <secret>`; a missing or wrong secret gets 401. Errors are
`{"error": {"code", "message"}}` as everywhere in Phonghop.

| method and path | body | answer |
| --- | --- | --- |
| `GET /health` | | `{"node_id", "status", "peers", "mode"}` |
| `POST /peers` | `{"peer_id", "sdp", "role"?, "layers"?, "audio"?}` | `{"peer_id", "type": "answer", "sdp"}` |
| `DELETE /peers/{peer_id}` | | `{"ok": true}` |
| `GET /peers/{peer_id}/stats` | | the peer's figures |
| `POST /peers/{peer_id}/verdict` | | the connection test's verdict (a probe peer is closed) |
| `POST /peers/{peer_id}/layer` | `{"layer"}` | `{"ok": true}` |
| `POST /floor` | `{"peer_id": str or null}` | `{"floor"}` |
| `POST /uplink` | `{"peer_id": str or null}` | `{"uplink"}` |
| `POST /parent` | `{"url": str or null, "secret"?}` | `{"parent"}` |
| `POST /keyframe` | `{"layer"?}` | `{"ok": true}` |
| `GET /stats` | | the node's figures, every peer's |

`NodeClient` has the same methods as `MediaNode` (`accept`, `close_peer`, `set_floor`,
`set_uplink`, `set_parent`, `set_layer`, `request_keyframe`, `stats`, `peer_stats`,
`verdict`, `health`), so whoever drives a node need not know where it runs.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import quote

import aiohttp
from aiohttp import web

from server.api.errors import error_response, errors_as_json, json_body
from server.domain.errors import DomainError, Invalid

log = logging.getLogger("phonghop.media")
security = logging.getLogger("phonghop.security")

MAX_BODY = 256 * 1024  # an SDP offer is a few kilobytes


def _authorized(request: web.Request, secret: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), secret.encode())


def _optional_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{key} is a string or null", details=[{"field": key}])
    return value


def routes(node, secret: str) -> list[web.RouteDef]:
    """The control routes of `node`, guarded by `secret` (mounted by `control_app` or the server)."""
    if not secret:
        raise ValueError("a media node's control API needs a secret")

    def guarded(handler):
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not _authorized(request, secret):
                security.info("media control %s %s from %s: 401", request.method, request.path, request.remote)
                return error_response(401, "unauthorized", "this media node needs its secret (Authorization: Bearer)")
            return await handler(request)
        return wrapper

    async def health(request: web.Request) -> web.Response:
        return web.json_response(await node.health())

    async def accept(request: web.Request) -> web.Response:
        body = await json_body(request)
        layers = body.get("layers")
        if layers is not None and (not isinstance(layers, list) or not all(isinstance(x, str) for x in layers)):
            raise Invalid("layers is a list of quality names", details=[{"field": "layers"}])
        audio = body.get("audio", True)
        if not isinstance(audio, bool):
            raise Invalid("audio is true or false", details=[{"field": "audio"}])
        peer_id = body.get("peer_id")
        answer = await node.accept(peer_id, body.get("sdp"), role=body.get("role", "point"), layers=layers, audio=audio)
        return web.json_response({"peer_id": peer_id, "type": "answer", "sdp": answer})

    async def close_peer(request: web.Request) -> web.Response:
        await node.close_peer(request.match_info["peer_id"])
        return web.json_response({"ok": True})

    async def peer_stats(request: web.Request) -> web.Response:
        return web.json_response(await node.peer_stats(request.match_info["peer_id"]))

    async def verdict(request: web.Request) -> web.Response:
        return web.json_response(await node.verdict(request.match_info["peer_id"]))

    async def set_layer(request: web.Request) -> web.Response:
        body = await json_body(request)
        layer = body.get("layer")
        if not isinstance(layer, str):
            raise Invalid("layer is a quality name", details=[{"field": "layer"}])
        await node.set_layer(request.match_info["peer_id"], layer)
        return web.json_response({"ok": True})

    async def set_floor(request: web.Request) -> web.Response:
        peer_id = _optional_str(await json_body(request), "peer_id")
        await node.set_floor(peer_id)
        return web.json_response({"floor": peer_id})

    async def set_uplink(request: web.Request) -> web.Response:
        peer_id = _optional_str(await json_body(request), "peer_id")
        await node.set_uplink(peer_id)
        return web.json_response({"uplink": peer_id})

    async def set_parent(request: web.Request) -> web.Response:
        body = await json_body(request)
        url = _optional_str(body, "url")
        parent_secret = _optional_str(body, "secret") or secret
        if url is not None and not url.startswith(("http://", "https://")):
            raise Invalid("url is the parent's control API, http://host:port", details=[{"field": "url"}])
        try:
            await node.set_parent(url, parent_secret)
        except (ConnectionError, TimeoutError, aiohttp.ClientError) as exc:
            raise DomainError(f"the parent node could not be reached: {exc or type(exc).__name__}",
                              code="unreachable", status=502) from None
        return web.json_response({"parent": url})

    async def keyframe(request: web.Request) -> web.Response:
        layer = _optional_str(await json_body(request, empty_ok=True), "layer")
        await node.request_keyframe(layer)
        return web.json_response({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(await node.stats())

    table = [
        ("GET", "/health", health),
        ("POST", "/peers", accept),
        ("DELETE", "/peers/{peer_id}", close_peer),
        ("GET", "/peers/{peer_id}/stats", peer_stats),
        ("POST", "/peers/{peer_id}/verdict", verdict),
        ("POST", "/peers/{peer_id}/layer", set_layer),
        ("POST", "/floor", set_floor),
        ("POST", "/uplink", set_uplink),
        ("POST", "/parent", set_parent),
        ("POST", "/keyframe", keyframe),
        ("GET", "/stats", stats),
    ]
    return [web.route(method, path, guarded(handler)) for method, path, handler in table]


def control_app(node, secret: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors_as_json])
    app.add_routes(routes(node, secret))
    return app


class NodeClient:
    """A media node in another process, through its control API; the same methods as MediaNode."""

    def __init__(self, url: str, secret: str | None, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.secret = secret or ""
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.secret}"}
        async with aiohttp.ClientSession(timeout=self.timeout) as http, http.request(
            method, self.url + path, json=body, headers=headers
        ) as resp:
            try:
                answer = await resp.json(content_type=None)
            except ValueError:
                answer = None
            if resp.status >= 400:
                error = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
                raise DomainError(error.get("message") or f"media node answered {resp.status}",
                                  code=error.get("code") or "media_node", status=resp.status)
            return answer

    async def health(self) -> dict:
        return await self._call("GET", "/health")

    async def accept(self, peer_id: str, sdp: str, *, role: str = "point", layers: list[str] | None = None,
                     audio: bool = True) -> str:
        body = {"peer_id": peer_id, "sdp": sdp, "role": role, "audio": audio}
        if layers is not None:
            body["layers"] = layers
        return (await self._call("POST", "/peers", body))["sdp"]

    async def close_peer(self, peer_id: str) -> None:
        await self._call("DELETE", f"/peers/{quote(peer_id, safe='')}")

    async def peer_stats(self, peer_id: str) -> dict:
        return await self._call("GET", f"/peers/{quote(peer_id, safe='')}/stats")

    async def verdict(self, peer_id: str) -> dict:
        return await self._call("POST", f"/peers/{quote(peer_id, safe='')}/verdict")

    async def set_layer(self, peer_id: str, layer: str) -> None:
        await self._call("POST", f"/peers/{quote(peer_id, safe='')}/layer", {"layer": layer})

    async def set_floor(self, peer_id: str | None) -> None:
        await self._call("POST", "/floor", {"peer_id": peer_id})

    async def set_uplink(self, peer_id: str | None) -> None:
        await self._call("POST", "/uplink", {"peer_id": peer_id})

    async def set_parent(self, url: str | None, secret: str | None = None) -> None:
        body = {"url": url}
        if secret:
            body["secret"] = secret
        await self._call("POST", "/parent", body)

    async def request_keyframe(self, layer: str | None = None) -> None:
        await self._call("POST", "/keyframe", {"layer": layer})

    async def stats(self) -> dict:
        return await self._call("GET", "/stats")


__all__ = ["NodeClient", "control_app", "routes"]
