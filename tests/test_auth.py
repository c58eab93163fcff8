"""Signing in, pairing a tablet with a one-time code, signing out."""

from __future__ import annotations

import re

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
        answer = await socket.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert answer["ok"] is False and answer["error"]["code"] == "unauthorized"
    finally:
        await socket.disconnect()
