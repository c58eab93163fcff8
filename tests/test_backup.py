"""`phonghop backup` and `phonghop restore` (server/backup.py), as an administrator runs them:
a backup of a serving site while it takes commands, restored into a new data folder and
database, and a server started on it; damaged archives refused before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import aiohttp
import pytest

from server.backup import MANIFEST
from tests.conftest import (
    ROOT,
    TEST_PASSWORD,
    postgres_available,
    postgres_database,
    require,
    start_server,
)
from tests.test_upgrade import OLDER, REVISIONS, current_revision, seed


def phonghop(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


async def phonghop_async(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args, cwd=ROOT, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def databases(kind: str):
    """(source URL, target URL): None for SQLite under each data folder."""
    if kind == "sqlite":
        yield None, None
        return
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    async with postgres_database() as source, postgres_database() as target:
        yield source, target


def db_args(url: str | None) -> list[str]:
    return ["--database-url", url] if url else []


async def login(http: aiohttp.ClientSession, url: str, username: str) -> dict[str, str]:
    async with http.post(f"{url}/api/auth/login", json={"username": username, "password": TEST_PASSWORD}) as resp:
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def get_json(http: aiohttp.ClientSession, url: str, headers: dict) -> dict:
    async with http.get(url, headers=headers) as resp:
        assert resp.status == 200, f"{url}: {await resp.text()}"
        return await resp.json()


async def site_state(url: str) -> dict:
    """What an administrator checks after a restore: meetings, each meeting's event log and
    snapshot, every document's pages (bytes of those served the same to everyone), the
    watermark codes of a confidential document, the polls and their results."""
    async with aiohttp.ClientSession() as http:
        staff = await login(http, url, "thuky")
        reader = await login(http, url, "daibieu01")
        meetings = (await get_json(http, f"{url}/api/meetings", staff))["meetings"]
        state: dict = {"meetings": sorted((m["id"], m["title"], m["status"]) for m in meetings), "events": {},
                       "polls": {}, "pages": {}, "codes": {}}
        for m in meetings:
            log = await get_json(http, f"{url}/api/meetings/{m['id']}/events?since=0", staff)
            state["events"][m["id"]] = [(e["seq"], e["type"], e["data"]) for e in log["events"]]
            snapshot = await get_json(http, f"{url}/api/meetings/{m['id']}", staff)
            state["polls"][m["id"]] = [(p["id"], p["title"], p["state"], p.get("result")) for p in snapshot["polls"]]
            if m["status"] != "published":
                continue
            manifest = await get_json(http, f"{url}/api/meetings/{m['id']}/manifest", reader)
            for d in manifest["documents"]:
                if d["classification"]:
                    codes = await get_json(http, f"{url}/api/documents/{d['id']}/reader-codes", staff)
                    state["codes"][d["id"]] = codes
                    continue
                for page in d["pages"]:
                    for kind in ("tablet", "thumb"):
                        async with http.get(url + page[kind], headers=reader) as resp:
                            assert resp.status == 200
                            state["pages"][page[kind]] = await resp.read()
        return state


async def rendered(url: str) -> None:
    """Until the demo's documents are rendered (the server renders them when it starts)."""
    async with aiohttp.ClientSession() as http:
        reader = await login(http, url, "daibieu01")
        meetings = (await get_json(http, f"{url}/api/meetings", reader))["meetings"]
        upcoming = next(m for m in meetings if m["status"] == "published")
        for _ in range(600):
            documents = (await get_json(http, f"{url}/api/meetings/{upcoming['id']}/manifest", reader))["documents"]
            if documents and all(d["status"] == "ready" for d in documents):
                return
            assert not any(d["status"] == "failed" for d in documents), documents
            await asyncio.sleep(0.2)
        raise AssertionError(f"the demo's documents were not rendered: {documents}")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_serving_site_backed_up_while_it_works_comes_back_whole(tmp_path, kind):
    async with databases(kind) as (source_url, target_url):
        source_dir, target_dir = tmp_path / "site", tmp_path / "restored"
        source_dir.mkdir()
        env = {"PHONGHOP_DATABASE_URL": source_url} if source_url else {}
        server = await asyncio.to_thread(start_server, source_dir, env=env)
        restored = None
        try:
            await rendered(server.url)
            before = await site_state(server.url)
            assert before["pages"] and before["codes"] and any(before["polls"].values())
            upcoming = next(m for m in before["meetings"] if m[2] == "published")[0]

            # The secretariat keeps working while the backup is made.
            stop = asyncio.Event()
            added: list[int] = []

            async def keep_working() -> None:
                async with aiohttp.ClientSession() as http:
                    staff = await login(http, server.url, "thuky")
                    n = 0
                    while not stop.is_set() or n < 3:
                        n += 1
                        async with http.post(f"{server.url}/api/meetings/{upcoming}/agenda",
                                             json={"title": f"Nội dung bổ sung {n}"},
                                             headers={**staff, "Idempotency-Key": f"backup-{kind}-{n}"}) as resp:
                            assert resp.status == 200, await resp.text()
                            added.append((await resp.json())["seq"])

            worker = asyncio.create_task(keep_working())
            archive = tmp_path / "sao-luu.tar"
            code, out, err = await phonghop_async("backup", "--out", str(archive), "--data-dir", str(source_dir),
                                                  *db_args(source_url), "--json")
            stop.set()
            await worker
            assert code == 0, err
            summary = json.loads(out)
            assert summary["database"]["revision"] == REVISIONS[-1] and summary["left_out"] == []
            assert summary["files"] >= len(before["pages"]) // 2
            assert archive.stat().st_mode & 0o777 == 0o600, "the archive holds everything: owner only"
            live_events = (await site_state(server.url))["events"][upcoming]
        finally:
            server.stop()

        target_dir.mkdir()
        done = await asyncio.to_thread(phonghop, "restore", str(archive), "--data-dir", str(target_dir),
                                       *db_args(target_url), "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["revision"] == {"backup": REVISIONS[-1], "now": REVISIONS[-1]}

        env = {"PHONGHOP_DATABASE_URL": target_url} if target_url else {}
        restored = await asyncio.to_thread(start_server, target_dir, demo=False, env=env)
        try:
            after = await site_state(restored.url)
        finally:
            restored.stop()

    assert after["meetings"] == before["meetings"]
    assert after["pages"] == before["pages"], "every page image, byte for byte"
    assert after["codes"] == before["codes"], "the same secret key: the same reader codes in watermarks"
    assert after["polls"] == before["polls"]
    for meeting_id, events in before["events"].items():
        if meeting_id != upcoming:
            assert after["events"][meeting_id] == events
    # The meeting written to during the backup: its log as it stood at one moment, with no
    # gap, and at least up to where it was when the backup began.
    restored_log = after["events"][upcoming]
    assert [seq for seq, _, _ in restored_log] == list(range(1, len(restored_log) + 1))
    assert restored_log == live_events[:len(restored_log)]
    assert len(restored_log) >= len(before["events"][upcoming])
    assert any(seq > len(restored_log) for seq in added), "some commands came after the snapshot"


# --- damaged archives, targets, versions -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_backup(tmp_path_factory) -> Path:
    """A backup of the demo, seeded offline (SQLite): its uploads, no page images yet."""
    site = tmp_path_factory.mktemp("demo")
    seeded = phonghop("demo", "--data-dir", str(site), env={"PHONGHOP_DEMO_PASSWORD": TEST_PASSWORD})
    assert seeded.returncode == 0, seeded.stderr
    archive = site.parent / "demo.tar"
    made = phonghop("backup", "--out", str(archive), "--data-dir", str(site))
    assert made.returncode == 0, made.stderr
    return archive


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {m.name: m for m in tar.getmembers()}


def nothing_restored(target: Path) -> bool:
    return not (target / "phonghop.db").exists() and not [p for p in target.rglob("*") if p.is_file()]


def test_the_archive_lists_every_member_with_its_hash(demo_backup):
    with tarfile.open(demo_backup) as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read())
        names = [m.name for m in tar.getmembers()]
    assert names[-1] == MANIFEST and names[0] == "database/phonghop.sqlite"
    assert set(manifest["members"]) == set(names) - {MANIFEST}
    assert "files/secret.key" not in names or manifest["members"]["files/secret.key"]["size"] == 32
    blobs = [n for n in names if n.startswith("files/blobs/")]
    assert len(blobs) == 3 and all(manifest["members"][n]["sha256"] == n.rsplit("/", 1)[1] for n in blobs)
    assert not [n for n in names if n.startswith(("files/tmp/", "files/marked/"))]


def test_a_changed_byte_is_found_and_nothing_is_restored(demo_backup, tmp_path):
    damaged = tmp_path / "damaged.tar"
    data = bytearray(demo_backup.read_bytes())
    blob = next(m for name, m in members(demo_backup).items() if name.startswith("files/blobs/"))
    data[blob.offset_data + blob.size // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    target = tmp_path / "target"
    done = phonghop("restore", str(damaged), "--data-dir", str(target))
    assert done.returncode == 2
    assert f"{blob.name} does not match its SHA-256 in the manifest" in done.stderr
    assert "Nothing was restored" in done.stderr
    assert nothing_restored(target)


@pytest.mark.parametrize("how", ["truncated", "not a tar", "no manifest", "extra member"])
def test_a_broken_archive_is_refused_with_a_clear_message(demo_backup, tmp_path, how):
    broken = tmp_path / "broken.tar"
    data = demo_backup.read_bytes()
    if how == "truncated":
        broken.write_bytes(data[: len(data) // 2])
    elif how == "not a tar":
        broken.write_bytes(b"PK\x03\x04 this is something else" * 100)
    else:
        with tarfile.open(demo_backup) as source, tarfile.open(broken, "w") as out:
            for member in source.getmembers():
                if how == "no manifest" and member.name == MANIFEST:
                    continue
                out.addfile(member, source.extractfile(member))
                if how == "extra member" and member.name.startswith("files/blobs/"):
                    info = tarfile.TarInfo("files/pages/" + "0" * 64 + ".jpg")
                    info.size = 4
                    out.addfile(info, io.BytesIO(b"\xff\xd8\xff\xd9"))
    target = tmp_path / "target"
    done = phonghop("restore", str(broken), "--data-dir", str(target))
    assert done.returncode == 2, done.stdout
    assert "phonghop: backup_corrupt: the backup is damaged or not a Phonghop backup" in done.stderr
    assert {"truncated": "cannot be read", "not a tar": "cannot be read", "no manifest": "no manifest.json",
            "extra member": "is not in the manifest"}[how] in done.stderr
    assert nothing_restored(target)


def test_a_target_with_data_is_kept_unless_forced(demo_backup, tmp_path):
    target = tmp_path / "target"
    assert phonghop("restore", str(demo_backup), "--data-dir", str(target)).returncode == 0
    marker = target / "files" / "blobs" / "ab" / ("ab" + "0" * 62)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_bytes(b"a file of the site restored into")
    again = phonghop("restore", str(demo_backup), "--data-dir", str(target))
    assert again.returncode == 2 and "phonghop: not_empty: the target is not empty" in again.stderr
    assert marker.exists()
    forced = phonghop("restore", str(demo_backup), "--data-dir", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not marker.exists(), "--force replaces the store with the backup's"
    listed = phonghop("meetings", "--data-dir", str(target), "--json")
    assert len(json.loads(listed.stdout)) == 3


def test_a_backup_of_a_newer_version_is_refused(demo_backup, tmp_path):
    newer = tmp_path / "newer.tar"
    with tarfile.open(demo_backup) as source, tarfile.open(newer, "w") as out:
        for member in source.getmembers():
            body = source.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(body)
                manifest["database"]["revision"] = "9999"
                body = json.dumps(manifest).encode()
                member.size = len(body)
            out.addfile(member, io.BytesIO(body))
    target = tmp_path / "target"
    done = phonghop("restore", str(newer), "--data-dir", str(target))
    assert done.returncode == 2 and "phonghop: backup_too_new:" in done.stderr and "9999" in done.stderr
    assert nothing_restored(target)


def test_a_backup_holds_one_kind_of_database(demo_backup, tmp_path):
    done = phonghop("restore", str(demo_backup), "--data-dir", str(tmp_path / "target"),
                    "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert done.returncode == 2 and "holds a sqlite database and the target is postgresql" in done.stderr


def test_a_damaged_store_file_is_left_out_and_reported(tmp_path):
    site = tmp_path / "site"
    seeded = phonghop("demo", "--data-dir", str(site), env={"PHONGHOP_DEMO_PASSWORD": TEST_PASSWORD})
    assert seeded.returncode == 0, seeded.stderr
    blob = next(p for p in (site / "files" / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(b"not what its name promises")
    done = phonghop("backup", "--out", str(tmp_path / "b.tar"), "--data-dir", str(site), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["left_out"] == [
        {"path": f"files/blobs/{blob.parent.name}/{blob.name}", "reason": "its bytes do not match its name"}]
    assert "left out" in done.stderr
    restored = tmp_path / "restored"
    again = phonghop("restore", str(tmp_path / "b.tar"), "--data-dir", str(restored))
    assert again.returncode == 0, again.stderr
    assert not (restored / "files" / "blobs" / blob.parent.name / blob.name).exists(), "never served as the real one"
    assert len([p for p in (restored / "files" / "blobs").rglob("*") if p.is_file()]) == 2


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_backup_from_an_older_version_is_migrated_when_restored(tmp_path, kind):
    from alembic import command

    from server.auth.passwords import hash_password
    from server.config import Settings
    from server.store.migrate import alembic_config

    oldest = OLDER[0]
    async with databases(kind) as (source_url, target_url):
        source = Settings(data_dir=tmp_path / "old", database_url=source_url)
        source.data_dir.mkdir()
        await asyncio.to_thread(command.upgrade, alembic_config(source), oldest)
        await asyncio.to_thread(seed, source, await asyncio.to_thread(hash_password, TEST_PASSWORD))
        archive = tmp_path / "old.tar"
        code, _, err = await phonghop_async("backup", "--out", str(archive), "--data-dir", str(source.data_dir),
                                            *db_args(source_url))
        assert code == 0, err
        target = Settings(data_dir=tmp_path / "new", database_url=target_url)
        code, out, err = await phonghop_async("restore", str(archive), "--data-dir", str(target.data_dir),
                                              *db_args(target_url), "--json")
        assert code == 0, err
        assert json.loads(out)["revision"] == {"backup": oldest, "now": REVISIONS[-1]}
        assert await asyncio.to_thread(current_revision, target) == REVISIONS[-1]
        code, out, err = await phonghop_async("meetings", "--data-dir", str(target.data_dir), "--json",
                                              env={"PHONGHOP_DATABASE_URL": target_url} if target_url else {})
        assert code == 0, err
        assert [m["title"] for m in json.loads(out)] == ["Hội nghị trước khi nâng cấp"]


def test_the_archive_can_go_to_standard_output(demo_backup, tmp_path):
    site = tmp_path / "restored"
    assert phonghop("restore", str(demo_backup), "--data-dir", str(site)).returncode == 0
    streamed = subprocess.run([sys.executable, "-m", "server.cli", "backup", "--out", "-", "--data-dir", str(site)],
                              cwd=ROOT, capture_output=True, timeout=300)
    assert streamed.returncode == 0, streamed.stderr
    (tmp_path / "streamed.tar").write_bytes(streamed.stdout)
    again = phonghop("restore", str(tmp_path / "streamed.tar"), "--data-dir", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
