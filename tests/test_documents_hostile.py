"""Hostile files through the server: every one ends rendered or with a typed error, the
server keeps serving everyone else, and a server killed mid-render finishes the job."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import aiohttp
import docx
import pymupdf
import pytest
from PIL import Image

from agendas.rendering import CODES
from tests.conftest import World, add_document, new_key, require, start_server, upload
from tests.samples import many_pages_pdf, png_bomb

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdf"


# The files, not the database, are under test here.
sqlite_only = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


@sqlite_only
async def test_every_corpus_pdf_ends_rendered_or_refused_and_the_server_keeps_serving(world: World):
    files = sorted(CORPUS.glob("*.pdf"))
    require(len(files) == 72, f"the shared corpus of 72 PDFs is missing at {CORPUS}")
    await world.live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    good = await add_document(world, ["Tài liệu bình thường"])
    await world.live.command(world.tokens["vanphong"], "document.publish", meeting_id=world.meeting_id)
    status, listing = await world.live.request("GET", f"/api/documents/{good['id']}/pages",
                                               token=world.tokens["daibieu01"])
    page = listing["pages"][0]["tablet"]

    versions: dict[int, str] = {}
    refused: dict[str, str] = {}
    for path in files:
        status, body = await upload(world, path.read_bytes(), path.name)
        if status != 201:  # refused at the door: not a PDF at all
            assert status == 415 and body["error"]["code"] in CODES, (path.name, body)
            refused[path.name] = body["error"]["code"]
            continue
        status, body = await world.live.command(world.tokens["vanphong"], "document.add", key=new_key(),
                                                meeting_id=world.meeting_id, upload_id=body["upload"]["id"])
        assert status == 200, (path.name, body)
        versions[body["result"]["document"]["latest"]["id"]] = path.name

    # While the pool chews on them, everyone else is still served.
    for _ in range(5):
        status, _ = await world.live.request("GET", "/healthz")
        assert status == 200
        assert await _image_status(world, page) == 200
        await asyncio.sleep(0.2)
    for version_id in versions:
        await world.live.app["renderer"].wait(version_id)

    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}",
                                            token=world.tokens["vanphong"])
    outcome = {}
    for d in snap["documents"]:
        latest = d["latest"]
        if latest["id"] not in versions:
            continue
        assert latest["status"] in ("ready", "failed"), latest
        if latest["status"] == "failed":
            assert latest["error"]["code"] in CODES
            outcome[versions[latest["id"]]] = latest["error"]["code"]
        else:
            assert latest["pages_ready"] == latest["pages_total"] >= 1
            outcome[versions[latest["id"]]] = "ready"
    assert len(outcome) + len(refused) == 72
    assert sum(1 for v in outcome.values() if v == "ready") >= 55
    assert await _image_status(world, page) == 200


async def _image_status(world: World, url: str) -> int:
    headers = {"Authorization": f"Bearer {world.tokens['daibieu01']}"}
    async with aiohttp.ClientSession() as http, http.get(world.live.url + url, headers=headers) as resp:
        await resp.read()
        return resp.status


@sqlite_only
async def test_twenty_thousand_pages_are_refused_with_a_typed_error(world: World, tmp_path):
    status, body = await upload(world, many_pages_pdf(20_000), "hai-muoi-nghin-trang.pdf")
    assert status == 201
    status, body = await world.live.command(world.tokens["vanphong"], "document.add", meeting_id=world.meeting_id,
                                            upload_id=body["upload"]["id"])
    version_id = body["result"]["document"]["latest"]["id"]
    await world.live.app["renderer"].wait(version_id)
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}",
                                            token=world.tokens["vanphong"])
    [latest] = [d["latest"] for d in snap["documents"]]
    assert latest["status"] == "failed" and latest["error"]["code"] == "too_many_pages"


@sqlite_only
async def test_images_become_one_page_documents_and_bombs_are_refused(world: World):
    photo = io.BytesIO()
    Image.new("RGB", (1600, 1200), "#2a6").save(photo, "JPEG")
    results = {}
    for name, content in (("anh-hoi-truong.jpg", photo.getvalue()), ("bom.png", png_bomb())):
        status, body = await upload(world, content, name)
        assert status == 201, body
        status, body = await world.live.command(world.tokens["vanphong"], "document.add",
                                                meeting_id=world.meeting_id, upload_id=body["upload"]["id"])
        results[name] = body["result"]["document"]
        await world.live.app["renderer"].wait(results[name]["latest"]["id"])
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}",
                                            token=world.tokens["vanphong"])
    latest = {d["title"]: d["latest"] for d in snap["documents"]}
    assert latest["anh-hoi-truong"]["status"] == "ready" and latest["anh-hoi-truong"]["pages_total"] == 1
    assert latest["bom"]["status"] == "failed" and latest["bom"]["error"]["code"] == "image_bomb"


@sqlite_only
async def test_a_word_file_is_converted_and_searchable(world: World):
    from agendas import office

    require(office.available(), "LibreOffice is not installed (./dev test installs it as root)")
    draft = docx.Document()
    draft.add_heading("Dự thảo Nghị quyết", 1)
    draft.add_paragraph("Phấn đấu tốc độ tăng trưởng kinh tế từ 8,5% trở lên.")
    content = io.BytesIO()
    draft.save(content)
    await world.live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    status, body = await upload(world, content.getvalue(), "Dự thảo Nghị quyết.docx")
    assert status == 201 and body["upload"]["kind"] == "office"
    status, body = await world.live.command(world.tokens["vanphong"], "document.add", meeting_id=world.meeting_id,
                                            upload_id=body["upload"]["id"])
    document = body["result"]["document"]
    await world.live.app["renderer"].wait(document["latest"]["id"])
    await world.live.command(world.tokens["vanphong"], "document.publish", meeting_id=world.meeting_id)
    status, found = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/search?q=tang truong kinh te",
                                             token=world.tokens["daibieu01"])
    assert [(h["document_id"], h["page"]) for h in found["hits"]] == [(document["id"], 0)]


def _call(server, method: str, path: str, token: str | None = None, body: bytes | dict | None = None) -> dict:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_a_server_killed_mid_render_finishes_the_document_after_restart(tmp_path):
    """Also: the demo's papers, seeded offline, are rendered once the server runs."""
    # Long enough that the kill lands while pages are still rendering.
    doc = pymupdf.open()
    for n in range(150):
        page = doc.new_page()
        for line in range(10):
            page.insert_text((40, 40 + 18 * line), f"Trang {n + 1}, dòng {line + 1}: nội dung dự thảo nghị quyết")
    pdf = doc.tobytes()
    server = start_server(tmp_path)
    try:
        token = _call(server, "POST", "/api/auth/login", body={"username": "thuky", "password": server.password})["token"]
        meeting = next(m for m in _call(server, "GET", "/api/meetings", token)["meetings"] if m["code"] == "DEMO-SAP-TOI")
        up = _call(server, "POST", f"/api/meetings/{meeting['id']}/uploads?filename={quote('Dự thảo.pdf')}", token, pdf)
        added = _call(server, "POST", "/api/commands/document.add", token,
                      {"meeting_id": meeting["id"], "upload_id": up["upload"]["id"]})["result"]["document"]
        deadline = time.monotonic() + 60
        while True:  # wait for the first pages, then kill the server without warning
            listing = _call(server, "GET", f"/api/documents/{added['id']}/pages", token)
            if listing["pages_ready"] >= 1:
                break
            assert time.monotonic() < deadline, "no page rendered within 60 s"
            time.sleep(0.05)
        assert listing["status"] == "rendering"
        server.stop(signal.SIGKILL)
        server = start_server(tmp_path, port=server.port)
        deadline = time.monotonic() + 120
        while True:
            listing = _call(server, "GET", f"/api/documents/{added['id']}/pages", token)
            if listing["status"] != "rendering":
                break
            assert time.monotonic() < deadline, "the render did not resume after the restart"
            time.sleep(0.2)
        assert listing["status"] == "ready" and listing["pages_total"] == 150
        assert [p["index"] for p in listing["pages"]] == list(range(150))
        # The demo's own papers, seeded before the server first started, were rendered too.
        demo = [d for d in _call(server, "GET", f"/api/meetings/{meeting['id']}", token)["documents"]
                if d["id"] != added["id"]]
        assert [(d["title"], d["status"], d["version"]["status"]) for d in demo] == [
            ("Chương trình hội nghị", "published", "ready"),
            ("Dự thảo Báo cáo chính trị", "published", "ready"),
            ("Phương án nhân sự", "published", "ready"),
        ]
        assert demo[2]["access"] == "confidential" and demo[2]["classification"] == "Mật"
    finally:
        server.stop()
