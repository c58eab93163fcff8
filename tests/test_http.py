"""The HTTP surface: OpenAPI lists every route, health, metrics, the pages, static files."""

from __future__ import annotations

import aiohttp
import pytest


async def test_openapi_lists_every_route(live):
    status, spec = await live.request("GET", "/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    mounted = set()
    for resource in live.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path is None or path.startswith(("/socket.io", "/static", "/vendor")) or path in (
            "/", "/console", "/projector", "/bridge", "/ops"
        ):
            continue
        for route in resource:
            if route.method != "HEAD":
                mounted.add((path.replace("{path:.+}", "{path}"), route.method))
    assert mounted <= documented, mounted - documented
    # Every command's body schema is there, with the fields a client must send.
    schema = spec["components"]["schemas"]["ItemAdd"]
    assert "title" in schema["properties"] and "meeting_id" not in schema["properties"]


async def test_health_and_metrics(live):
    status, body = await live.request("GET", "/healthz")
    assert status == 200 and body["status"] == "ok" and body["database"] == "ok"
    async with aiohttp.ClientSession() as http, http.get(live.url + "/metrics") as resp:
        text = await resp.text()
    assert resp.status == 200 and "phonghop_commands_total" in text and "phonghop_socket_connections" in text


@pytest.mark.parametrize("path", ["/", "/console", "/projector", "/bridge", "/ops"])
async def test_pages_are_served(live, path):
    async with aiohttp.ClientSession() as http, http.get(live.url + path) as resp:
        assert resp.status == 200
        assert "<html" in (await resp.text()).lower()


@pytest.mark.parametrize(
    "path",
    ["/static/../../server/config.py", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/node_modules/preact/package.json",
     "/vendor/", "/static/", "/vendor/../package.json"],
)
async def test_no_traversal_or_listing(live, path):
    async with aiohttp.ClientSession() as http, http.get(live.url + path) as resp:
        assert resp.status in (403, 404), (path, resp.status)
