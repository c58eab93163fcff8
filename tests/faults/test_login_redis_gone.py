"""Sign-in while Redis is configured but gone (issue 8, "Faults survived").

Two server applications share a SQLite database and a Redis of this test alone (a private
`redis-server` on a free port, killed and started again by the test). Failed sign-ins are
counted in Redis, so the two processes share the per-account limit. Redis is killed; then:

- users still sign in (200, not 500 or 503);
- the per-account limit still holds within each process (counted in its memory);
- the fall-back is logged once, not once per request, and with no stack trace;
- Redis comes back: the shared counts are used again (failures through both applications
  add up to a lockout), and that is logged once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from server.config import Settings
from server.store.migrate import upgrade
from tests.conftest import TEST_PASSWORD, serving
from tests.faults.helpers import wait_until
from tests.faults.services import RedisServer, redis_binary, require_tool
from tests.test_login_limits import WRONG, account, sign_in


def _limiter_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "phonghop.security" and r.getMessage().startswith("sign-in limits")]


async def test_sign_in_goes_on_while_redis_is_gone_and_shares_again_when_it_is_back(tmp_path, caplog):
    require_tool(redis_binary() is not None, "redis-server is not installed")
    caplog.set_level(logging.WARNING, logger="phonghop.security")
    redis = RedisServer()
    try:
        redis.start()
        settings = Settings(data_dir=tmp_path)
        await asyncio.to_thread(upgrade, settings)
        shared = replace(settings, redis_url=redis.url, login_account_limit="3 per 15 minutes",
                         login_address_limit="1000 per 15 minutes")
        async with serving(shared) as one, serving(shared) as two:
            limiters = [one.app["login_limits"], two.app["login_limits"]]

            # Redis up: failures through both processes add up to the account's lockout.
            name, _ = await account(one)
            for live in (one, two, one):
                assert (await sign_in(live, name, WRONG))[0] == 401
            status, body, headers = await sign_in(two, name, TEST_PASSWORD)
            assert status == 429 and body["error"]["code"] == "rate_limited" and "Retry-After" in headers, body
            assert _limiter_lines(caplog) == []

            # 1. Redis gone: sign-in works.
            redis.kill()
            someone, _ = await account(one)
            for live in (one, two, one, two):
                status, body, _ = await sign_in(live, someone, TEST_PASSWORD)
                assert status == 200 and body["token"], (status, body)
            # The per-account limit still holds within a process.
            guessed, _ = await account(one)
            for _ in range(3):
                assert (await sign_in(one, guessed, WRONG))[0] == 401
            status, body, headers = await sign_in(one, guessed, TEST_PASSWORD)
            assert status == 429 and body["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) > 0, body
            assert not any(limiter.using_redis for limiter in limiters)
            # One warning per process for the whole outage, with the error's class, no traceback.
            lines = _limiter_lines(caplog)
            assert len(lines) == 2, [r.getMessage() for r in lines]
            assert all("unreachable" in r.getMessage() and r.exc_info is None for r in lines)
            assert all("ConnectionError" in r.getMessage() for r in lines), [r.getMessage() for r in lines]

            # 2. Redis back (empty): each process returns to it at its next sign-in after the retry delay.
            redis.start()
            for limiter in limiters:
                limiter.retry_seconds = 0.2  # the default is seconds; the test need not wait for it
            probe, _ = await account(one)

            async def both_back() -> bool:
                for live in (one, two):
                    await sign_in(live, probe, TEST_PASSWORD)
                return all(limiter.using_redis for limiter in limiters)

            await wait_until(both_back, 30, "both processes to count in Redis again", interval=0.3)
            back = [r for r in _limiter_lines(caplog) if "reachable again" in r.getMessage()]
            assert len(back) == 2 and all(r.exc_info is None for r in back), [r.getMessage() for r in back]
            # Shared again: failures through both processes add up to the lockout, seen by both.
            later, _ = await account(one)
            for live in (two, one, two):
                assert (await sign_in(live, later, WRONG))[0] == 401
            for live in (one, two):
                status, body, _ = await sign_in(live, later, TEST_PASSWORD)
                assert status == 429 and body["error"]["code"] == "rate_limited", body
            assert len(_limiter_lines(caplog)) == 4
    finally:
        redis.close()
