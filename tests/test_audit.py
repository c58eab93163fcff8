"""The audit log (SECURITY.md): every security-relevant act is on it, with who, from where
and when; it is append-only (the database refuses UPDATE and DELETE) and hash-chained
(`phonghop audit verify` finds an edited, removed or inserted record); appends from two
server processes on one PostgreSQL keep one chain."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from server.store import audit
from server.store.tables import AuditRecord
from tests.conftest import (
    ROOT,
    TEST_PASSWORD,
    World,
    add_document,
    new_key,
    postgres_available,
    postgres_database,
    require,
    start_server,
)


async def _ok(world: World, who: str, name: str, **data) -> dict:
    status, body = await world.live.command(world.tokens[who], name, key=new_key(), meeting_id=world.meeting_id,
                                            **data)
    assert status == 200, (name, who, body)
    return body["result"]


async def _fetch(world: World, who: str, url: str, headers: dict | None = None) -> int:
    async with aiohttp.ClientSession() as http, http.get(
        world.live.url + url, headers={"Authorization": f"Bearer {world.tokens[who]}", **(headers or {})}
    ) as resp:
        await resp.read()
        return resp.status


async def _records(world: World, **query) -> dict:
    status, body = await world.live.request("GET", "/api/audit", token=world.tokens["admin"], params=query)
    assert status == 200, body
    return body


def phonghop_audit(settings) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "server.cli", "audit", "verify", "--data-dir", str(settings.data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    env = {k: v for k, v in os.environ.items() if k != "PHONGHOP_DATABASE_URL"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_security_acts_are_on_the_chain_with_who_where_and_when(world):
    live = world.live
    # Sign-ins, a failure, a sign-out.
    status, signed = await live.request("POST", "/api/auth/login",
                                        json={"username": "daibieu01", "password": TEST_PASSWORD})
    assert status == 200
    assert (await live.request("POST", "/api/auth/login", json={"username": "daibieu02", "password": "sai"}))[0] == 401
    assert (await live.request("POST", "/api/auth/logout", token=signed["token"]))[0] == 200
    # Roles in the meeting given and changed; an account made.
    await _ok(world, "vanphong", "participant.update", participant_id=world.participants["khach"], role="delegate")
    await _ok(world, "vanphong", "participant.update", participant_id=world.participants["khach"], title="Khách mời")
    await _ok(world, "vanphong", "participant.add", full_name="Đại biểu mời", role="guest")
    status, _ = await live.command(world.tokens["admin"], "user.create", username="moi.tao", full_name="Mới Tạo",
                                   password="mat-khau-du-dai", roles=["secretariat"])
    assert status == 200
    # A poll opened and closed by the chair.
    await _ok(world, "vanphong", "meeting.publish")
    await _ok(world, "chutri", "meeting.start")
    poll = (await _ok(world, "vanphong", "poll.create", kind="motion", title="Thông qua chương trình"))["poll_id"]
    await _ok(world, "chutri", "poll.open", poll_id=poll)
    await _ok(world, "chutri", "poll.close", poll_id=poll)
    # A confidential paper read, page by page; an open one read too; who reads it changed; a recall.
    secret = await add_document(world, ["Trang một", "Trang hai"], title="Đề án nhân sự", access="confidential")
    plain = await add_document(world, ["Thường"], title="Thường")
    await _ok(world, "vanphong", "document.publish")
    status, listing = await live.request("GET", f"/api/documents/{secret['id']}/pages", token=world.tokens["daibieu01"])
    assert status == 200
    first, second = (p["tablet"] for p in listing["pages"])
    async with aiohttp.ClientSession() as http, http.get(
            live.url + first, headers={"Authorization": f"Bearer {world.tokens['daibieu01']}"}) as resp:
        assert resp.status == 200
        etag = resp.headers["ETag"]
    assert await _fetch(world, "daibieu01", second) == 200
    assert await _fetch(world, "daibieu02", first) == 200
    assert await _fetch(world, "daibieu01", first, {"If-None-Match": etag}) == 304  # not served again: no record
    status, plain_pages = await live.request("GET", f"/api/documents/{plain['id']}/pages", token=world.tokens["daibieu01"])
    assert await _fetch(world, "daibieu01", plain_pages["pages"][0]["tablet"]) == 200  # not confidential: no record
    await _ok(world, "vanphong", "document.update", document_id=secret["id"], readers={"roles": ["chair"]})
    await _ok(world, "vanphong", "document.recall", document_ids=[plain["id"]])
    # A tablet paired, then revoked as lost.
    status, code = await live.request("POST", "/api/devices/pairing", token=world.tokens["vanphong"],
                                      json={"user_id": world.users["daibieu03"]})
    status, paired = await live.request("POST", "/api/auth/pair", json={"code": code["code"], "device_name": "Máy 7"})
    assert status == 200
    status, _ = await live.request("POST", f"/api/devices/{paired['device']['id']}/revoke", token=world.tokens["admin"])
    assert status == 200

    body = await _records(world, limit=500)
    rows = list(reversed(body["records"]))
    actions = [r["action"] for r in rows]
    for wanted in ("auth.login", "auth.login_failed", "auth.logout", "participant.update", "participant.add",
                   "user.create", "poll.open", "poll.close", "document.page_view", "document.access",
                   "document.recall", "device.pairing_code", "auth.pair", "device.revoke"):
        assert wanted in actions, wanted
    by_action = {}
    for r in rows:
        by_action.setdefault(r["action"], []).append(r)
    login = by_action["auth.login"][0]
    assert (login["actor"], login["actor_user_id"], login["target"], login["address"]) == (
        "daibieu01", world.users["daibieu01"], f"user:{world.users['daibieu01']}", "127.0.0.1")
    assert login["actor_session_id"] and login["at"].endswith("Z")
    assert by_action["auth.login_failed"][0]["target"] == f"user:{world.users['daibieu02']}"
    # A role change is recorded; a title change alone is not a permission change.
    [role] = by_action["participant.update"]
    assert role["details"]["role"] == "delegate" and role["details"]["was"]["role"] == "guest"
    assert role["actor"] == "vanphong" and role["meeting_id"] == world.meeting_id
    assert by_action["user.create"][0]["details"]["roles"] == ["secretariat"]
    opened, closed = by_action["poll.open"][0], by_action["poll.close"][0]
    assert opened["actor"] == closed["actor"] == "chutri" and opened["target"] == closed["target"] == f"poll:{poll}"
    assert "outcome" in closed["details"]
    # One record per confidential page image served, naming reader, document and page.
    views = [(r["actor"], r["details"]["index"], r["details"]["kind"]) for r in by_action["document.page_view"]]
    assert views == [("daibieu01", 0, "tablet"), ("daibieu01", 1, "tablet"), ("daibieu02", 0, "tablet")]
    assert {r["target"] for r in by_action["document.page_view"]} == {f"document:{secret['id']}"}
    assert by_action["document.access"][-1]["details"]["readers"]["roles"] == ["chair"]
    assert by_action["document.recall"][0]["details"]["document_ids"] == [plain["id"]]
    revoke = by_action["device.revoke"][0]
    assert revoke["actor"] == "admin" and revoke["target"] == f"device:{paired['device']['id']}"
    assert by_action["auth.pair"][0]["actor_device_id"] == paired["device"]["id"]

    # Filters and pages.
    polls = await _records(world, action="poll.")
    assert {r["action"] for r in polls["records"]} == {"poll.open", "poll.close"}
    mine = await _records(world, actor_user_id=world.users["chutri"], meeting_id=world.meeting_id)
    assert mine["records"] and all(r["actor"] == "chutri" for r in mine["records"])
    page_one = await _records(world, limit=3)
    page_two = await _records(world, limit=3, before_id=page_one["next"])
    ids = [r["id"] for r in page_one["records"] + page_two["records"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6 and ids[0] == rows[-1]["id"]
    status, body = await live.request("GET", "/api/audit?since=not-a-time", token=world.tokens["admin"])
    assert status == 422
    # Only the administrator reads it.
    for who in ("vanphong", "thuky", "chutri", "daibieu01", "nguoingoai"):
        assert (await live.request("GET", "/api/audit", token=world.tokens[who]))[0] == 403, who
        assert (await live.request("GET", "/api/audit/verify", token=world.tokens[who]))[0] == 403, who
    # The chain holds, through the API and through the command.
    status, verdict = await live.request("GET", "/api/audit/verify", token=world.tokens["admin"])
    assert verdict == {"ok": True, "count": len(rows), "head": rows[-1]["hash"]}
    result = await asyncio.to_thread(phonghop_audit, live.settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rows)} records" in result.stdout


async def _seed(live, n: int = 5) -> list[AuditRecord]:
    async with live.app["db"].write() as db:
        await audit.append(db, [audit.Entry("test.act", f"thing:{k}", {"k": k, "tên": "Bình"}) for k in range(n)])
    async with live.app["db"].read() as db:
        return list((await db.scalars(select(AuditRecord).order_by(AuditRecord.id))).all())


async def _raw(live, *statements: str) -> None:
    async with live.app["db"].engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


def _drop_guards(live) -> list[str]:
    if live.settings.is_sqlite:
        return ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
    return ["DROP TRIGGER audit_log_no_change ON audit_log"]


async def _verdict(live) -> audit.Verdict:
    async with live.app["db"].read() as db:
        return await audit.verify(db)


async def test_the_database_refuses_to_change_or_remove_a_record(live):
    await _seed(live)
    for statement in ("UPDATE audit_log SET details = '{}' WHERE id = 2", "DELETE FROM audit_log WHERE id = 5",
                      "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            await _raw(live, statement)
    if not live.settings.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            await _raw(live, "TRUNCATE audit_log")
    assert (await _verdict(live)).as_dict()["count"] == 5


async def test_an_edit_behind_the_triggers_is_found(live):
    rows = await _seed(live)
    assert (await _verdict(live)).ok
    # The database's owner drops the guard and edits a record's details.
    await _raw(live, *_drop_guards(live), "UPDATE audit_log SET details = '{\"k\": 99}' WHERE id = 2")
    verdict = await _verdict(live)
    assert (verdict.ok, verdict.broken_id, verdict.count, verdict.head) == (False, 2, 1, rows[0].hash)
    assert "edited" in verdict.problem
    result = await asyncio.to_thread(phonghop_audit, live.settings)
    assert result.returncode == 1 and "record 2" in result.stdout, result.stdout + result.stderr


async def test_a_rehashed_edit_breaks_the_next_link(live):
    rows = await _seed(live)
    forged = {**audit.record_values(rows[2]), "details": {"k": 2, "tên": "Cường"}}
    await _raw(live, *_drop_guards(live),
               f"UPDATE audit_log SET details = '{{\"k\": 2, \"tên\": \"Cường\"}}', hash = '{audit.digest(forged)}' "
               f"WHERE id = 3")
    verdict = await _verdict(live)
    assert (verdict.ok, verdict.broken_id) == (False, 4) and "prev_hash" in verdict.problem


async def test_a_removed_record_is_found(live):
    await _seed(live)
    await _raw(live, *_drop_guards(live), "DELETE FROM audit_log WHERE id = 3")
    verdict = await _verdict(live)
    assert (verdict.ok, verdict.broken_id, verdict.count) == (False, 4, 2) and "missing" in verdict.problem
    result = await asyncio.to_thread(phonghop_audit, live.settings)
    assert result.returncode == 1 and "record 4" in result.stdout


async def test_concurrent_acts_in_one_process_keep_one_chain(world):
    live = world.live
    attempts = [live.request("POST", "/api/auth/login", json={"username": f"daibieu0{n % 3 + 1}", "password": "sai"})
                for n in range(6)]
    attempts += [live.command(world.tokens["vanphong"], "participant.add", key=new_key(), meeting_id=world.meeting_id,
                              full_name=f"Khách {n}", role="guest") for n in range(10)]
    answers = await asyncio.gather(*attempts)
    assert sorted(status for status, _ in answers) == [200] * 10 + [401] * 6
    verdict = await _verdict(live)
    assert verdict.ok and verdict.count >= 16


async def test_two_server_processes_on_postgresql_keep_one_chain(tmp_path):
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    async with postgres_database() as database_url:
        env = {"PHONGHOP_DATABASE_URL": database_url}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = await asyncio.to_thread(start_server, tmp_path / "a", env=env)
        b = await asyncio.to_thread(start_server, tmp_path / "b", env=env, demo=False)
        try:
            async def attempt(server, username: str, password: str) -> int:
                async with aiohttp.ClientSession() as http, http.post(
                        f"{server.url}/api/auth/login", json={"username": username, "password": password}) as resp:
                    return resp.status

            calls = []
            for n in range(24):
                server = (a, b)[n % 2]
                who = f"daibieu{n % 12 + 1:02d}"
                calls.append(attempt(server, who, a.password if n % 3 else "sai-mat-khau"))
            statuses = await asyncio.gather(*calls)
            assert sorted(statuses) == [200] * 16 + [401] * 8
        finally:
            a.stop()
            b.stop()
        from server.config import Settings

        settings = Settings(data_dir=tmp_path / "a", database_url=database_url)
        result = await asyncio.to_thread(phonghop_audit, settings)
        assert result.returncode == 0, result.stdout + result.stderr
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            total = await conn.fetchval("SELECT count(*) FROM audit_log")
            logins = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'auth.login%'")
        finally:
            await conn.close()
        assert logins == 24
        assert f"{total} records" in result.stdout
