"""The upgrade path (docs/deployment.md, "Upgrading"): a database left at any older revision,
holding a site's data, is brought to the newest schema by the migrations, and the server
then works on it: people sign in, the meeting, its agenda, documents and event log are
there, and the log goes on from where it was.

Written over Alembic's list of revisions, so each new migration is tested from every
revision before it without touching this file. The data is written with plain SQL into
the tables as they were at that revision (read from the database itself), with real
values for what a site holds; a NOT NULL column the seed does not know gets a neutral
value of its type.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from alembic import command
from alembic.script import ScriptDirectory
from PIL import Image
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    create_engine,
    func,
    select,
)

from server.app import create_app
from server.config import Settings
from server.domain import polls as poll_rules
from server.store.migrate import alembic_config, upgrade
from tests.conftest import TEST_PASSWORD, postgres_available, postgres_database, require

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(Settings()))
    assert len(script.get_heads()) == 1, f"the migrations have several heads: {script.get_heads()}"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


REVISIONS = revisions()
OLDER = REVISIONS[:-1]


def page_image() -> tuple[str, bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (250, 250, 245)).save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest(), data


PAGE_SHA, PAGE_BYTES = page_image()
UPLOAD_SHA = hashlib.sha256(b"%PDF-1.7 bao cao").hexdigest()


def seed_rows(password_hash: str) -> list[tuple[str, dict]]:
    """(table, row) in the order they go in; tables the revision does not have are passed over."""
    return [
        ("units", {"id": 1, "code": "BN", "name": "Tỉnh Bắc Ninh", "level": "Tỉnh", "parent_id": None}),
        ("users", {"id": 1, "username": "thuky", "full_name": "Trần Thị Hoa", "password_hash": password_hash,
                   "roles": ["secretariat"], "unit_id": 1, "active": True, "created_at": NOW}),
        ("users", {"id": 2, "username": "daibieu01", "full_name": "Phạm Thị Bình", "password_hash": password_hash,
                   "roles": [], "unit_id": 1, "active": True, "created_at": NOW}),
        ("meetings", {"id": 1, "code": "NANG-CAP", "title": "Hội nghị trước khi nâng cấp", "unit_id": 1,
                      "place": "Hội trường Tỉnh ủy", "starts_at": NOW + timedelta(days=7), "ends_at": None,
                      "status": "published", "quorum": "2/3", "current_item_id": None, "presenting": None,
                      "last_seq": 2, "created_at": NOW}),
        ("agenda_items", {"id": 1, "meeting_id": 1, "parent_id": None, "position": 1, "title": "Khai mạc hội nghị",
                          "presenter": "Đồng chí Bí thư", "planned_minutes": 10, "unit_id": None}),
        ("participants", {"id": 1, "meeting_id": 1, "user_id": 1, "full_name": "Trần Thị Hoa", "title": "Thư ký",
                          "unit_id": 1, "role": "secretary", "voting": False}),
        ("participants", {"id": 2, "meeting_id": 1, "user_id": 2, "full_name": "Phạm Thị Bình",
                          "title": "Ủy viên Ban Chấp hành", "unit_id": 1, "role": "delegate", "voting": True}),
        ("attendance", {"participant_id": 2, "meeting_id": 1, "status": "excused", "reason": "Đi công tác",
                        "at": NOW, "by_user_id": 1}),
        ("events", {"meeting_id": 1, "seq": 1, "prev": 0, "audience": "meeting", "type": "meeting.updated",
                    "data": {"status": "published"}, "at": NOW}),
        ("events", {"meeting_id": 1, "seq": 2, "prev": 1, "audience": "meeting", "type": "agenda.updated",
                    "data": {"agenda": [{"id": 1, "title": "Khai mạc hội nghị"}]}, "at": NOW}),
        ("polls", {"id": 1, "meeting_id": 1, "agenda_item_id": 1, "kind": "motion", "title": "Thông qua chương trình",
                   "options": [], "secret": False, "min_selections": 1, "max_selections": 1, "seats": 1,
                   "majority": poll_rules.more_than_half(poll_rules.Base.MEMBERS).as_dict(), "quorum": "2/3",
                   "quorum_of": "present", "may_change_vote": False, "duration": None, "state": "draft",
                   "entitled": [], "points_present": {}, "members": 0, "result": None, "created_at": NOW}),
        ("uploads", {"id": 1, "meeting_id": 1, "sha256": UPLOAD_SHA, "filename": "bao-cao.pdf", "kind": "pdf",
                     "size": 16, "by_user_id": 1, "at": NOW}),
        ("documents", {"id": 1, "meeting_id": 1, "agenda_item_id": 1, "title": "Báo cáo chính trị", "position": 1,
                       "access": "open", "readers": {}, "classification": "", "current_version_id": None,
                       "published_at": NOW, "recalled_at": None, "removed_at": None, "created_at": NOW}),
        ("document_versions", {"id": 1, "document_id": 1, "number": 1, "sha256": UPLOAD_SHA,
                               "filename": "bao-cao.pdf", "kind": "pdf", "size": 16, "status": "ready",
                               "pages_ready": 1, "pages_total": 1, "error_code": None, "error_message": None,
                               "warnings": [], "seconds": 0.4, "uploaded_by": 1, "uploaded_at": NOW}),
        ("document_pages", {"version_id": 1, "index": 0, "tablet": PAGE_SHA, "zoom": "", "thumb": PAGE_SHA,
                            "text": "Báo cáo chính trị", "folded": "bao cao chinh tri"}),
    ]


def neutral(column):
    """A value for a NOT NULL column the seed does not know."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Numeric | Float):
        return 0
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, Date):
        return NOW.date()
    if isinstance(kind, JSON):
        return {}
    return ""


def sync_url(settings: Settings) -> str:
    url = settings.db_url
    if url.startswith("sqlite+aiosqlite"):
        return "sqlite" + url[len("sqlite+aiosqlite"):]
    return "postgresql+psycopg" + url[len("postgresql+asyncpg"):]


def seed(settings: Settings, password_hash: str) -> dict[str, int]:
    """The site's data, as the tables were at the database's revision; rows per table."""
    engine = create_engine(sync_url(settings))
    counts: dict[str, int] = {}
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.begin() as connection:
            for name, row in seed_rows(password_hash):
                table = metadata.tables.get(name)
                if table is None:
                    continue
                values = {k: v for k, v in row.items() if k in table.c}
                for column in table.c:
                    if (column.name not in values and not column.nullable and column.server_default is None
                            and not (column.primary_key and isinstance(column.type, Integer))):
                        values[column.name] = neutral(column)
                connection.execute(table.insert().values(**values))
                counts[name] = counts.get(name, 0) + 1
            if "documents" in metadata.tables:
                documents = metadata.tables["documents"]
                connection.execute(documents.update().where(documents.c.id == 1).values(current_version_id=1))
            if engine.dialect.name == "postgresql":
                # Rows went in with their ids: move each id sequence past them, as a site's are.
                for table in metadata.tables.values():
                    if "id" in table.c and isinstance(table.c.id.type, Integer) and table.c.id.primary_key:
                        top = connection.execute(select(func.max(table.c.id))).scalar()
                        if top:
                            connection.exec_driver_sql(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {top})")
    finally:
        engine.dispose()
    return counts


def current_revision(settings: Settings) -> str:
    engine = create_engine(sync_url(settings))
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_settings(request, tmp_path):
    if request.param == "postgres":
        require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
        async with postgres_database() as url:
            yield Settings(data_dir=tmp_path, database_url=url)
    else:
        yield Settings(data_dir=tmp_path)


def test_the_revisions_form_one_line_from_0001():
    assert REVISIONS[0] == "0001"
    assert len(set(REVISIONS)) == len(REVISIONS) >= 2


@pytest.mark.parametrize("revision", OLDER)
async def test_a_site_at_an_older_revision_upgrades_with_its_data(empty_settings, revision):
    from server.auth.passwords import hash_password

    settings = empty_settings
    await asyncio.to_thread(command.upgrade, alembic_config(settings), revision)
    assert await asyncio.to_thread(current_revision, settings) == revision
    counts = await asyncio.to_thread(seed, settings, await asyncio.to_thread(hash_password, TEST_PASSWORD))
    assert counts["meetings"] == 1 and counts["events"] == 2
    with_documents = "document_pages" in counts
    if with_documents:
        pages = settings.data_dir / "files" / "pages"
        pages.mkdir(parents=True)
        (pages / f"{PAGE_SHA}.jpg").write_bytes(PAGE_BYTES)

    await asyncio.to_thread(upgrade, settings)  # what `phonghop migrate` and `serve` do
    assert await asyncio.to_thread(current_revision, settings) == REVISIONS[-1]

    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        async with aiohttp.ClientSession() as http:
            tokens = {}
            for username in ("thuky", "daibieu01"):
                async with http.post(f"{url}/api/auth/login",
                                     json={"username": username, "password": TEST_PASSWORD}) as resp:
                    assert resp.status == 200, await resp.text()
                    tokens[username] = (await resp.json())["token"]
            delegate = {"Authorization": f"Bearer {tokens['daibieu01']}"}
            secretary = {"Authorization": f"Bearer {tokens['thuky']}"}

            async with http.get(f"{url}/api/meetings", headers=delegate) as resp:
                assert resp.status == 200, await resp.text()
                meetings = (await resp.json())["meetings"]
            assert [(m["id"], m["title"]) for m in meetings] == [(1, "Hội nghị trước khi nâng cấp")]
            async with http.get(f"{url}/api/meetings/1", headers=secretary) as resp:
                assert resp.status == 200, await resp.text()
                snapshot = await resp.json()
            text = json.dumps(snapshot, ensure_ascii=False)
            assert [i["title"] for i in snapshot["agenda"]] == ["Khai mạc hội nghị"]
            assert "Phạm Thị Bình" in text
            if "polls" in counts:
                assert "Thông qua chương trình" in text, "the draft poll is in the secretariat's snapshot"
            async with http.get(f"{url}/api/meetings/1/events?since=0", headers=delegate) as resp:
                assert resp.status == 200, await resp.text()
                log = await resp.json()
            assert [e["seq"] for e in log["events"]] == [1, 2] and log["head"] == 2

            if with_documents:
                async with http.get(f"{url}/api/meetings/1/manifest", headers=delegate) as resp:
                    assert resp.status == 200, await resp.text()
                    documents = (await resp.json())["documents"]
                assert [d["title"] for d in documents] == ["Báo cáo chính trị"]
                async with http.get(url + documents[0]["pages"][0]["tablet"], headers=delegate) as resp:
                    assert resp.status == 200
                    assert await resp.read() == PAGE_BYTES

            # The log goes on from where the old version left it.
            async with http.post(f"{url}/api/meetings/1/agenda", json={"title": "Bế mạc"},
                                 headers={**secretary, "Idempotency-Key": f"upgrade-{revision}"}) as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["seq"] == 3
            async with http.get(f"{url}/api/meetings/1/events?since=2", headers=delegate) as resp:
                added = (await resp.json())["events"]
            assert [e["seq"] for e in added] == [3]
    finally:
        await runner.cleanup()
