"""Sign-in limits (SECURITY.md): failed sign-ins counted per account and per client
address; past either, 429 with Retry-After; the lockout on the audit log; the next
successful sign-in tells the user; X-Forwarded-For believed only from a trusted proxy;
the counts shared by server processes through Redis."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import aiohttp
import pytest
from sqlalchemy import select

from server.auth.limits import client_address, parse_networks
from server.store.tables import AuditRecord
from tests.conftest import TEST_PASSWORD, LiveApp, redis_available, require, serving

WRONG = "khong-dung-mat-khau"


async def account(live: LiveApp, username: str | None = None, roles: list[str] | None = None) -> tuple[str, int]:
    from server.auth.passwords import hash_password
    from server.store.tables import User

    username = username or f"tk{secrets.token_hex(4)}"
    digest = await asyncio.to_thread(hash_password, TEST_PASSWORD)
    async with live.app["db"].write() as db:
        user = User(username=username, full_name="Người Thử", password_hash=digest, roles=roles or [])
        db.add(user)
        await db.flush()
        return username, user.id


async def sign_in(live: LiveApp, username: str, password: str, headers: dict | None = None):
    async with aiohttp.ClientSession() as http, http.post(
        live.url + "/api/auth/login", json={"username": username, "password": password}, headers=headers or {}
    ) as resp:
        return resp.status, await resp.json(), resp.headers


async def audit_rows(live: LiveApp, **where) -> list[AuditRecord]:
    async with live.app["db"].read() as db:
        query = select(AuditRecord).order_by(AuditRecord.id)
        for name, value in where.items():
            query = query.where(getattr(AuditRecord, name) == value)
        return list((await db.scalars(query)).all())


@pytest.fixture
async def strict(settings):
    async with serving(replace(settings, login_account_limit="3 per 15 minutes",
                               login_address_limit="7 per 15 minutes")) as live:
        yield live


async def test_an_account_is_locked_after_its_failures_and_says_when_to_return(strict):
    name, user_id = await account(strict)
    for _ in range(3):
        status, body, _ = await sign_in(strict, name, WRONG)
        assert status == 401 and body["error"]["code"] == "unauthorized"
    # Locked: even the right password is refused now, without a check of it.
    status, body, headers = await sign_in(strict, name, TEST_PASSWORD)
    assert status == 429, body
    assert body["error"]["code"] == "rate_limited"
    assert "khóa" in body["error"]["message"] and "locked" in body["error"]["message"]
    retry = int(headers["Retry-After"])
    assert 0 < retry <= 15 * 60 and body["error"]["details"]["retry_after"] == retry
    # Another account from the same address is not locked by it.
    other, _ = await account(strict)
    status, body, _ = await sign_in(strict, other, TEST_PASSWORD)
    assert status == 200, body
    # The administrator sees the failures and the lockout in the audit log.
    rows = await audit_rows(strict, target=f"user:{user_id}")
    assert [r.action for r in rows] == ["auth.login_failed"] * 3 + ["auth.lockout"]
    assert all(r.address == "127.0.0.1" and r.details.get("reason", "wrong_password") == "wrong_password"
               for r in rows)
    assert rows[-1].details["until"].endswith("Z")


async def test_an_unknown_name_is_locked_alike_and_not_written_down(strict):
    ghost = f"khongco{secrets.token_hex(3)}"
    answers = [(await sign_in(strict, ghost, WRONG))[:2] for _ in range(4)]
    assert [s for s, _ in answers] == [401, 401, 401, 429]
    rows = await audit_rows(strict, action="auth.login_failed")
    assert rows and all(r.target == "" and ghost not in str(r.details) for r in rows)


async def test_failures_from_one_address_lock_the_address(strict):
    names = [(await account(strict))[0] for _ in range(4)]
    statuses = []
    for name in names:  # two failures each: no account reaches its own limit
        for _ in range(2):
            statuses.append((await sign_in(strict, name, WRONG))[0])
    assert statuses == [401] * 7 + [429]
    fresh, _ = await account(strict)
    status, body, headers = await sign_in(strict, fresh, TEST_PASSWORD)
    assert status == 429 and "địa chỉ" in body["error"]["message"] and int(headers["Retry-After"]) > 0
    assert [r.target for r in await audit_rows(strict, action="auth.address_locked")] == ["address:127.0.0.1"]


async def test_the_next_sign_in_tells_the_user_about_failures(strict):
    name, _ = await account(strict)
    for _ in range(2):
        assert (await sign_in(strict, name, WRONG))[0] == 401
    status, body, _ = await sign_in(strict, name, TEST_PASSWORD)
    assert status == 200
    assert body["notice"]["failed_attempts"] == 2 and body["notice"]["lockouts"] == 0
    assert body["notice"]["last_failed_address"] == "127.0.0.1" and body["notice"]["last_failed_at"].endswith("Z")
    # Told once: the sign-in after that is clean, and the failures were cleared.
    status, body, _ = await sign_in(strict, name, TEST_PASSWORD)
    assert status == 200 and "notice" not in body
    for _ in range(2):
        assert (await sign_in(strict, name, WRONG))[0] == 401
    assert (await sign_in(strict, name, TEST_PASSWORD))[0] == 200  # 2 more, not 4: under the limit of 3


async def test_a_lockout_ends_when_the_window_moves_on(settings):
    async with serving(replace(settings, login_account_limit="2 per 2 seconds")) as live:
        name, _ = await account(live)
        for _ in range(2):
            assert (await sign_in(live, name, WRONG))[0] == 401
        status, body, headers = await sign_in(live, name, TEST_PASSWORD)
        assert status == 429
        await asyncio.sleep(int(headers["Retry-After"]) + 0.5)
        status, body, _ = await sign_in(live, name, TEST_PASSWORD)
        assert status == 200, body
        assert body["notice"]["failed_attempts"] == 2 and body["notice"]["lockouts"] == 1


async def test_forwarded_for_counts_only_from_a_trusted_proxy(settings):
    limits = {"login_account_limit": "50 per 15 minutes", "login_address_limit": "2 per 15 minutes"}
    # Not trusted: a client that writes its own X-Forwarded-For is still 127.0.0.1.
    async with serving(replace(settings, **limits)) as live:
        name, _ = await account(live)
        statuses = [(await sign_in(live, name, WRONG, {"X-Forwarded-For": f"10.0.0.{n}"}))[0] for n in range(3)]
        assert statuses == [401, 401, 429]
    # Behind a trusted proxy (127.0.0.1 here), each client address has its own count.
    async with serving(replace(settings, trusted_proxies=("127.0.0.1/32",), **limits)) as live:
        name, user_id = await account(live)
        tablet = {"X-Forwarded-For": "10.0.0.7"}
        statuses = [(await sign_in(live, name, WRONG, tablet))[0] for _ in range(3)]
        assert statuses == [401, 401, 429]
        status, body, _ = await sign_in(live, name, TEST_PASSWORD, {"X-Forwarded-For": "10.0.0.8"})
        assert status == 200, body
        failed = await audit_rows(live, action="auth.login_failed", target=f"user:{user_id}")
        assert [r.address for r in failed] == ["10.0.0.7"] * 2


def test_client_address_rules():
    trusted = parse_networks(["10.1.0.0/16", "::1"])
    assert client_address("192.168.1.5", "1.2.3.4", trusted) == "192.168.1.5"  # not a proxy: header ignored
    assert client_address("10.1.2.3", "192.168.1.5", trusted) == "192.168.1.5"
    # The right-most address that is not a trusted proxy; what the client wrote left of it is not believed.
    assert client_address("10.1.2.3", "6.6.6.6, 192.168.1.5, 10.1.9.9", trusted) == "192.168.1.5"
    assert client_address("::1", "192.168.1.5", trusted) == "192.168.1.5"
    assert client_address("10.1.2.3", "", trusted) == "10.1.2.3"
    assert client_address("10.1.2.3", "not-an-address", trusted) == "10.1.2.3"
    assert client_address("10.1.2.3", "192.168.1.5", ()) == "10.1.2.3"


async def test_pairing_codes_cannot_be_guessed_without_end(strict):
    statuses = [(await strict.request("POST", "/api/auth/pair", json={"code": f"ABCD{n:04d}", "device_name": "Máy"}))[0]
                for n in range(8)]
    assert statuses == [401] * 7 + [429]


async def test_processes_share_the_counts_through_redis(settings):
    require(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    shared = replace(settings, redis_url="redis://127.0.0.1:6379/0", login_account_limit="3 per 15 minutes")
    async with serving(shared) as one, serving(shared) as two:
        name, _ = await account(one)
        assert (await sign_in(one, name, WRONG))[0] == 401
        assert (await sign_in(two, name, WRONG))[0] == 401
        assert (await sign_in(one, name, WRONG))[0] == 401
        status, body, _ = await sign_in(two, name, TEST_PASSWORD)
        assert status == 429, body
