"""Signing in, pairing a tablet with a one-time code, signing out."""

from __future__ import annotations

import asyncio
import re

import pytest
import socketio

from tests.conftest import TEST_PASSWORD


async def test_login_gives_a_token_that_works_and_logout_ends_it(world):
    live = world.live
    status, body = await live.request("POST", "/api/auth/login", json={"username": "daibieu01", "password": TEST_PASSWORD})
    assert status == 200
    token = body["token"]
    assert body["user"]["username"] == "daibieu01" and body["expires_at"].endswith("Z")
    status, me = await live.request("GET", "/api/auth/me", token=token)
    assert status == 200 and me["user"]["full_name"] == "Phạm Thị Bình"
    assert (await live.request("POST", "/api/auth/logout", token=token))[0] == 200
    status, body = await live.request("GET", "/api/auth/me", token=token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_wrong_password_and_unknown_account_answer_alike(world):
    live = world.live
    wrong = await live.request("POST", "/api/auth/login", json={"username": "daibieu01", "password": "sai-mat-khau"})
    unknown = await live.request("POST", "/api/auth/login", json={"username": "khongcoai", "password": "sai-mat-khau"})
    assert wrong == unknown == (401, {"error": {"code": "unauthorized", "message": "wrong username or password"}})


async def test_tokens_are_stored_hashed(world):
    from sqlalchemy import select

    from server.store.tables import Session

    async with world.live.app["db"].read() as db:
        stored = (await db.scalars(select(Session.token_hash))).all()
    assert stored and not set(stored) & set(world.tokens.values())
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


async def test_pairing_code_binds_a_device_once(world):
    live = world.live
    status, body = await live.request(
        "POST", "/api/devices/pairing", token=world.tokens["vanphong"], json={"user_id": world.users["daibieu02"]}
    )
    assert status == 200, body
    code = body["code"]
    assert len(code) == 8 and body["qr_svg"].lstrip().startswith("<")
    # Typed on a tablet: lower case and a space still pair.
    typed = code[:4].lower() + " " + code[4:]
    status, paired = await live.request("POST", "/api/auth/pair", json={"code": typed, "device_name": "Máy tính bảng 07"})
    assert status == 200, paired
    assert paired["user"]["username"] == "daibieu02" and paired["device"]["name"] == "Máy tính bảng 07"
    status, me = await live.request("GET", "/api/auth/me", token=paired["token"])
    assert status == 200 and me["user"]["username"] == "daibieu02"
    # A one-time code: the second use is refused.
    status, again = await live.request("POST", "/api/auth/pair", json={"code": code, "device_name": "Máy khác"})
    assert status == 401 and again["error"]["code"] == "unauthorized"


async def test_only_the_secretariat_makes_pairing_codes(world):
    status, body = await world.live.request(
        "POST", "/api/devices/pairing", token=world.tokens["daibieu01"], json={"user_id": world.users["daibieu01"]}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"


async def test_revoking_a_lost_tablet_ends_its_sessions_and_its_socket(world):
    live = world.live
    _, body = await live.request("POST", "/api/devices/pairing", token=world.tokens["vanphong"],
                                 json={"user_id": world.users["daibieu03"]})
    _, paired = await live.request("POST", "/api/auth/pair", json={"code": body["code"], "device_name": "Bị mất"})
    socket = await live.socket(paired["token"])
    try:
        status, listed = await live.request("GET", "/api/devices", token=world.tokens["vanphong"])
        assert [d["name"] for d in listed["devices"]] == ["Bị mất"]
        status, revoked = await live.request(
            "POST", f"/api/devices/{paired['device']['id']}/revoke", token=world.tokens["vanphong"]
        )
        assert status == 200 and revoked["device"]["revoked_at"]
        assert (await live.request("GET", "/api/auth/me", token=paired["token"]))[0] == 401
        # Its open socket is closed by the server at once, before it sends anything (issue 8):
        # it would otherwise go on receiving its meetings' events.
        await _closed(socket)
    finally:
        await socket.disconnect()


# --- signing out everywhere (issue 8) ---------------------------------------------------

async def _audit(live, action: str) -> list:
    from sqlalchemy import select

    from server.store.tables import AuditRecord

    async with live.app["db"].read() as db:
        return list((await db.scalars(select(AuditRecord).where(AuditRecord.action == action)
                                      .order_by(AuditRecord.id))).all())


async def _closed(socket, timeout: float = 10) -> None:
    """The server closed this connection by itself: no message was sent on it."""
    from tests.conftest import wait_for

    await wait_for(lambda: not socket.connected, timeout)


async def _paired(world, username: str, name: str) -> dict:
    live = world.live
    _, body = await live.request("POST", "/api/devices/pairing", token=world.tokens["vanphong"],
                                 json={"user_id": world.users[username]})
    status, paired = await live.request("POST", "/api/auth/pair", json={"code": body["code"], "device_name": name})
    assert status == 200, paired
    return paired


async def test_signing_out_everywhere_ends_every_session_and_closes_their_sockets(world):
    live = world.live
    here = await live.login("daibieu03", TEST_PASSWORD)
    laptop = await live.login("daibieu03", TEST_PASSWORD)
    tablet = await _paired(world, "daibieu03", "Máy tính bảng ở nhà")
    someone_else = world.tokens["daibieu02"]
    sockets = {"laptop": await live.socket(laptop), "tablet": await live.socket(tablet["token"]),
               "here": await live.socket(here), "someone_else": await live.socket(someone_else)}
    try:
        # A bad body is refused, and ends nothing.
        status, body = await live.request("POST", "/api/auth/logout-all", token=here, json={"keep_current": "yes"})
        assert status == 422 and body["error"]["code"] == "invalid", body
        assert (await live.request("GET", "/api/auth/me", token=laptop))[0] == 200

        status, body = await live.request("POST", "/api/auth/logout-all", token=here, json={"keep_current": True})
        assert status == 200 and body["ended_sessions"] >= 3, body  # the world's own session of daibieu03 too
        # The other sessions, the paired tablet's included, are gone: REST says 401 ...
        for token in (laptop, tablet["token"], world.tokens["daibieu03"]):
            status, body = await live.request("GET", "/api/auth/me", token=token)
            assert status == 401 and body["error"]["code"] == "unauthorized", body
        # ... and their open sockets were closed by the server, without waiting for a message.
        await _closed(sockets["laptop"])
        await _closed(sockets["tablet"])
        # The calling session, and everyone else's, live on.
        assert (await live.request("GET", "/api/auth/me", token=here))[0] == 200
        assert sockets["here"].connected and sockets["someone_else"].connected
        answer = await sockets["someone_else"].call("leave", {"meeting_id": world.meeting_id}, timeout=10)
        assert answer["ok"] is True, answer
        # A closed socket cannot come back with its token.
        again = socketio_client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await again.connect(live.url, auth={"token": laptop}, transports=["websocket"], wait_timeout=10)

        # Without keep_current, the calling session ends as well.
        status, body = await live.request("POST", "/api/auth/logout-all", token=here)
        assert status == 200 and body["ended_sessions"] == 1, body
        assert (await live.request("GET", "/api/auth/me", token=here))[0] == 401
        await _closed(sockets["here"])
        assert sockets["someone_else"].connected

        records = await _audit(live, "auth.logout_all")
        assert [r.details["kept_current"] for r in records] == [True, False]
        assert records[0].actor == "daibieu03" and records[0].target == f"user:{world.users['daibieu03']}"
        assert len(records[0].details["ended_sessions"]) >= 3
    finally:
        for socket in sockets.values():
            await socket.disconnect()


async def test_the_administrator_ends_an_accounts_sessions(world):
    live = world.live
    target = world.users["khach"]
    tablet = await _paired(world, "khach", "Máy tính bảng bị mất")
    socket = await live.socket(tablet["token"])
    try:
        # Not the administrator: 403, even the secretariat; the account's own owner too.
        for who in ("vanphong", "chutri", "khach"):
            status, body = await live.request("POST", f"/api/users/{target}/sessions/end", token=world.tokens[who])
            assert status == 403 and body["error"]["code"] == "forbidden", (who, body)
        assert (await live.request("GET", "/api/auth/me", token=tablet["token"]))[0] == 200
        # An account that does not exist: 404.
        for missing in ("987654", "0", "abc"):
            status, body = await live.request("POST", f"/api/users/{missing}/sessions/end", token=world.tokens["admin"])
            assert status == 404 and body["error"]["code"] == "not_found", (missing, body)

        status, body = await live.request("POST", f"/api/users/{target}/sessions/end", token=world.tokens["admin"])
        assert status == 200 and body["ended_sessions"] == 2, body  # the world's session and the tablet's
        for token in (tablet["token"], world.tokens["khach"]):
            status, body = await live.request("GET", "/api/auth/me", token=token)
            assert status == 401 and body["error"]["code"] == "unauthorized", body
        await _closed(socket)
        # The administrator's own session is untouched, and the account still signs in.
        assert (await live.request("GET", "/api/auth/me", token=world.tokens["admin"]))[0] == 200
        assert await live.login("khach", TEST_PASSWORD)

        [record] = await _audit(live, "user.sessions_end")
        assert record.actor == "admin" and record.target == f"user:{target}"
        assert len(record.details["ended_sessions"]) == 2
        status, verified = await live.request("GET", "/api/audit/verify", token=world.tokens["admin"])
        assert status == 200 and verified.get("ok", True) is not False, verified
    finally:
        await socket.disconnect()


def socketio_client():
    import socketio as sio

    return sio.AsyncClient(reconnection=False)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_sessions_ended_through_one_process_close_sockets_on_another(settings):
    """Two server processes sharing Redis (a private redis-server): a socket held by one is
    closed when its session is ended through the other, before it sends anything."""
    from dataclasses import replace

    from tests.conftest import serving
    from tests.faults.helpers import wait_until
    from tests.faults.services import RedisServer, redis_binary, require_tool
    from tests.test_login_limits import account

    require_tool(redis_binary() is not None, "redis-server is not installed")
    redis = RedisServer()
    sockets = []
    try:
        redis.start()
        shared = replace(settings, redis_url=redis.url)
        async with serving(shared) as one, serving(shared) as two:
            for live in (one, two):
                await asyncio.wait_for(live.app["session_ends"].subscribed.wait(), 30)
            name, _ = await account(one)
            on_one = await one.login(name, TEST_PASSWORD)
            on_two = await two.login(name, TEST_PASSWORD)
            second = await two.login(name, TEST_PASSWORD)
            sockets += [await two.socket(on_two), await two.socket(second), await one.socket(on_one)]
            status, body = await one.request("POST", "/api/auth/logout-all", token=on_one, json={"keep_current": True})
            assert status == 200 and body["ended_sessions"] == 2, body
            await wait_until(lambda: not sockets[0].connected and not sockets[1].connected, 15,
                             "the other process to close the ended sessions' sockets")
            assert sockets[2].connected
            assert (await two.request("GET", "/api/auth/me", token=on_two))[0] == 401
    finally:
        for socket in sockets:
            await socket.disconnect()
        redis.close()
