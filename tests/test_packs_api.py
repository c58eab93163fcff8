"""Meeting packs over REST: the secretariat imports YAML and exports it back."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import yaml

SAMPLE = Path(__file__).resolve().parent.parent / "agendas" / "examples" / "hoi-nghi-bch-tinh.yaml"


async def _post_yaml(live, token: str, body: bytes):
    async with aiohttp.ClientSession() as http, http.post(
        live.url + "/api/meetings/import", data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
    ) as resp:
        return resp.status, await resp.json()


async def test_import_then_export_round_trip(world):
    live = world.live
    status, summary = await _post_yaml(live, world.tokens["vanphong"], SAMPLE.read_bytes())
    assert status == 200, summary
    meeting_id = summary["meeting_id"]
    async with aiohttp.ClientSession() as http, http.get(
        f"{live.url}/api/meetings/{meeting_id}/export", headers={"Authorization": f"Bearer {world.tokens['vanphong']}"}
    ) as resp:
        assert resp.status == 200 and resp.content_type == "application/yaml"
        exported = yaml.safe_load(await resp.text())
    original = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    assert exported["meeting"]["title"] == original["meeting"]["title"]
    assert len(exported["meeting"]["participants"]) == len(original["meeting"]["participants"])
    status, snap = await live.request("GET", f"/api/meetings/{meeting_id}", token=world.tokens["vanphong"])
    assert snap["meeting"]["status"] == "draft" and len(snap["participants"]) == summary["participants"]


async def test_delegates_cannot_import_and_bad_yaml_is_refused(world):
    status, body = await _post_yaml(world.live, world.tokens["daibieu01"], SAMPLE.read_bytes())
    assert status == 403
    status, body = await _post_yaml(world.live, world.tokens["vanphong"], b"meeting: [\n")
    assert status == 422 and body["error"]["code"] == "invalid"
