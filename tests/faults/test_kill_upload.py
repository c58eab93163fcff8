"""SIGKILL of the server while a large upload streams in (issue 8, "Faults survived").

What must be kept: every document stored before, byte for byte (its file and its page images
by SHA-256); nothing of the interrupted upload, neither a blob nor a row naming one; no partial
file left in the data folder once the server is back; and the same upload sent again succeeds
and becomes a document.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pymupdf
from sqlalchemy import select

from server.config import Settings
from server.store.db import Database
from server.store.tables import Upload
from tests.conftest import start_server
from tests.faults.helpers import Api, file_sha256, sha256, wait_until
from tests.samples import make_pdf

CHUNK = 256 * 1024
HELD_AFTER = 12 * 2**20  # the client sends this much, then holds the rest until the kill


def large_pdf(size: int) -> bytes:
    """A valid one-page PDF of about `size` bytes: random bytes, which do not compress, as an
    attached file."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "Phụ lục số liệu (tệp đính kèm lớn)")
    doc.embfile_add("so-lieu.bin", os.urandom(size))
    return doc.tobytes()


async def _wait_ready(api: Api, document_id: int) -> dict:
    listing: dict = {}

    async def ready() -> bool:
        nonlocal listing
        listing = await api.ok("GET", f"/api/documents/{document_id}/pages")
        return listing["status"] != "rendering"

    await wait_until(ready, 120, f"document {document_id} to finish rendering", interval=0.2)
    assert listing["status"] == "ready", listing
    return listing


async def _page_hashes(api: Api, listing: dict) -> dict[str, str]:
    """Each page image of a listing, fetched and hashed: {url: sha256 of the bytes}."""
    out = {}
    for page in listing["pages"]:
        for url in sorted(v for v in page.values() if isinstance(v, str) and v.startswith("/api/pages/")):
            async with api.http.get(api.url + url, headers={"Authorization": f"Bearer {api.token}"}) as resp:
                assert resp.status == 200, (url, resp.status)
                out[url] = sha256(await resp.read())
    assert out, listing
    return out


async def _uploads(data_dir: Path) -> list[tuple[str, int]]:
    db = Database(Settings(data_dir=data_dir))
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(select(Upload.sha256, Upload.size))).all()]
    finally:
        await db.close()


async def test_a_server_killed_mid_upload_keeps_what_it_stored_and_takes_the_upload_again(tmp_path):
    files = tmp_path / "files"
    server = start_server(tmp_path)
    try:
        async with Api(server.url) as api:
            api.token = await api.login("thuky", server.password)
            meeting = next(m for m in (await api.ok("GET", "/api/meetings"))["meetings"]
                           if m["code"] == "DEMO-SAP-TOI")
            m = meeting["id"]

            # 1. A document stored before the kill: its file and its page images, hashed.
            small = make_pdf(["Tờ trình số 12", "Trang hai của tờ trình"])
            up = await api.ok("POST", f"/api/meetings/{m}/uploads?filename={quote('Tờ trình.pdf')}", raw=small)
            assert up["upload"]["sha256"] == sha256(small)
            added = (await api.ok("POST", "/api/commands/document.add",
                                  {"meeting_id": m, "upload_id": up["upload"]["id"]}))["result"]["document"]
            before_listing = await _wait_ready(api, added["id"])
            before_pages = await _page_hashes(api, before_listing)
            blobs_before = {p.name: file_sha256(p) for p in (files / "blobs").rglob("*") if p.is_file()}
            assert blobs_before[sha256(small)] == sha256(small)

            # 2. A large upload streaming in: the client holds back the rest after HELD_AFTER
            # bytes, the server has written part of it to disk, and the server is killed.
            big = large_pdf(40 * 2**20)
            release = asyncio.Event()

            async def body():
                for start in range(0, len(big), CHUNK):
                    if start >= HELD_AFTER:
                        await release.wait()
                    yield big[start:start + CHUNK]

            async def send() -> BaseException | tuple:
                try:
                    async with api.http.post(f"{server.url}/api/meetings/{m}/uploads?filename=so-lieu.pdf",
                                             data=body(), headers={"Authorization": f"Bearer {api.token}"}) as resp:
                        return resp.status, await resp.text()
                except (aiohttp.ClientError, ConnectionError) as exc:
                    return exc

            sending = asyncio.create_task(send())

            def partial_on_disk() -> bool:
                return any(p.stat().st_size >= 8 * 2**20 for p in (files / "tmp").glob("*.part"))

            await wait_until(partial_on_disk, 60, "the upload's partial file under files/tmp")
            server.stop(signal.SIGKILL)
            release.set()
            outcome = await sending
            assert isinstance(outcome, BaseException), f"the killed server answered the upload: {outcome}"
            left = list((files / "tmp").glob("*.part"))
            assert left, "the kill left no partial file: the test did not kill mid-stream"

        # 3. Restarted on the same data folder.
        server = start_server(tmp_path, port=server.port)
        assert list((files / "tmp").iterdir()) == [], "partial files survived the restart"
        # No blob of the interrupted upload, and every blob is exactly the bytes its name says.
        blobs = {p.name: file_sha256(p) for p in (files / "blobs").rglob("*") if p.is_file()}
        assert all(name == digest for name, digest in blobs.items()), blobs
        assert sha256(big) not in blobs
        assert blobs.items() >= blobs_before.items()
        # No row names a file that is not stored whole.
        rows = await _uploads(tmp_path)
        assert sha256(big) not in {sha for sha, _ in rows}
        assert all(sha in blobs for sha, _ in rows), (rows, sorted(blobs))

        async with Api(server.url) as api:
            api.token = await api.login("thuky", server.password)
            # The document stored before: the same pages, the same bytes.
            after_listing = await api.ok("GET", f"/api/documents/{added['id']}/pages")
            assert after_listing == before_listing
            assert await _page_hashes(api, after_listing) == before_pages

            # 4. The same upload again, whole: accepted, stored, and made a document.
            again = await api.ok("POST", f"/api/meetings/{m}/uploads?filename=so-lieu.pdf", raw=big)
            assert again["upload"]["sha256"] == sha256(big) and again["upload"]["size"] == len(big)
            document = (await api.ok("POST", "/api/commands/document.add",
                                     {"meeting_id": m, "upload_id": again["upload"]["id"]}))["result"]["document"]
            listing = await _wait_ready(api, document["id"])
            assert listing["pages_total"] == 1
        assert file_sha256(files / "blobs" / sha256(big)[:2] / sha256(big)) == sha256(big)
        assert list((files / "tmp").glob("*.part")) == []
    finally:
        server.stop()


def test_only_orphaned_partial_files_are_removed_at_start(tmp_path):
    """Several processes may share the data folder: a start removes what dead writers left,
    never the file a live upload is writing."""
    from agendas.storage import Files

    first = Files(tmp_path)
    live_path, live = first._open_part()  # an upload being received by a live process
    live.write(b"%PDF-1.7 partial")
    orphan = first.tmp / "0123456789abcdef.part"  # what a killed process left: nobody holds it
    orphan.write_bytes(b"%PDF-1.7 partial, abandoned")
    try:
        second = Files(tmp_path)  # another process starts on the same folder
        assert not orphan.exists()
        assert live_path.exists()
        assert second.clean_tmp() == 0
    finally:
        live.close()
    assert Files(tmp_path).clean_tmp() == 0 and not live_path.exists()
