"""Rate limits: failed sign-ins per account and per client address, and socket.io messages
per connection (SECURITY.md).

Sign-ins use the `limits` library's moving window (a sliding log): in Redis when
PHONGHOP_REDIS_URL is set, so that every server process behind the proxy counts the same
failures, in this process's memory otherwise. When Redis is configured but unreachable, sign-in
goes on with this process's memory (each process then counts on its own) and Redis is tried
again every few seconds; one warning when that starts, one when Redis is back (issue 8).
Only failures count: a hall of tablets
signing in from one address is never slowed down, a password guesser is. Past the
account's limit the account is locked (every attempt, right or wrong, answers 429) until
the oldest failure leaves the window; the lockout is written to the audit log, and the
next successful sign-in tells the user about the failures.

socket.io messages go through a token bucket per connection, in this process: a dict
lookup and a little arithmetic per message, no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from server.domain.errors import DomainError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
log = logging.getLogger("phonghop.security")
T = TypeVar("T")


class RateLimited(DomainError):
    """429, with the seconds after which the client may try again (the Retry-After header)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: float, **kwargs):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, details={"retry_after": self.retry_after}, **kwargs)


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def login_refused(retry_after: float, *, account: bool) -> RateLimited:
    n = _minutes(retry_after)
    if account:
        text = (f"Tài khoản tạm bị khóa vì đăng nhập sai quá nhiều lần; vui lòng thử lại sau {n} phút. / "
                f"This account is locked after too many failed sign-ins; try again in {n} minutes.")
    else:
        text = (f"Có quá nhiều lần đăng nhập sai từ địa chỉ này; vui lòng thử lại sau {n} phút. / "
                f"Too many failed sign-ins from this address; try again in {n} minutes.")
    return RateLimited(text, retry_after)


# --- the client's address --------------------------------------------------------------

def parse_networks(values: tuple[str, ...] | list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None


def is_trusted(peer: str | None, trusted: tuple[Network, ...]) -> bool:
    here = _address(peer or "")
    return here is not None and any(here in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the
    right-most address of X-Forwarded-For that is not itself a trusted proxy. Addresses a
    client wrote to the left of that are not believed."""
    peer = peer or ""
    if not is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer  # a garbled header: the proxy itself is all we know
        if not any(address in net for net in trusted):
            return str(address)
    return peer


def request_address(request) -> str:
    """`client_address` for an aiohttp request, with the app's trusted proxies."""
    trusted = request.app.get("trusted_proxies", ())
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)


# --- sign-ins --------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """What one more failed sign-in did: whether it locked the account or the address."""

    locked_account: float | None  # seconds until the account opens again, when this failure locked it
    locked_address: float | None


class LoginLimiter:
    """Failed sign-ins per account and per address, in a moving window.

    With a Redis URL the counts are shared by every process; while Redis cannot be reached
    the counts live in this process (limits' MemoryStorage) so that users can still sign
    in, and the per-account limit still holds against a guesser talking to this process.
    The `limits` library (5.x) has no fallback of its own (that is Flask-Limiter's), so it
    is done here, around each whole operation: an operation that fails half-way on Redis
    is done again, whole, in memory.
    """

    RETRY_SECONDS = 5.0  # while Redis is away, how often a sign-in tries it again
    REDIS_TIMEOUT = 2.0  # seconds: a Redis that hangs must not hold a sign-in longer

    def __init__(self, account_limit: str, address_limit: str, redis_url: str | None = None) -> None:
        self.account: RateLimitItem = parse(account_limit)
        self.address: RateLimitItem = parse(address_limit)
        self.redis_url = redis_url
        self.retry_seconds = self.RETRY_SECONDS
        self._shared: RedisStorage | None = None
        self._shared_limiter: MovingWindowRateLimiter | None = None
        self._memory: MemoryStorage | None = None
        self._memory_limiter: MovingWindowRateLimiter | None = None
        self._redis_down_since: float | None = None  # monotonic time Redis was found unreachable
        self._next_try = 0.0
        self._locks: dict[str, list] = {}  # username -> [lock, holders and waiters]

    @property
    def using_redis(self) -> bool:
        """True while the counts go to Redis (configured and, last time it was asked, reachable)."""
        return self.redis_url is not None and self._redis_down_since is None

    def _shared_one(self) -> MovingWindowRateLimiter:
        if self._shared_limiter is None:
            self._shared = RedisStorage("async+" + self.redis_url, implementation="redispy",
                                        key_prefix="phonghop-login", socket_timeout=self.REDIS_TIMEOUT,
                                        socket_connect_timeout=self.REDIS_TIMEOUT)
            self._shared_limiter = MovingWindowRateLimiter(self._shared)
        return self._shared_limiter

    def _memory_one(self) -> MovingWindowRateLimiter:
        if self._memory_limiter is None:
            self._memory = MemoryStorage()
            self._memory_limiter = MovingWindowRateLimiter(self._memory)
        return self._memory_limiter

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        """The limiter the next operation would try first."""
        return self._shared_one() if self.using_redis else self._memory_one()

    async def _run(self, operation: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """`operation` on Redis when it is configured and reachable, else in this process."""
        if self.redis_url and (self._redis_down_since is None or time.monotonic() >= self._next_try):
            shared = self._shared_one()
            assert self._shared is not None
            try:
                result = await operation(shared)
            except Exception as exc:
                if not isinstance(exc, (self._shared.base_exceptions, OSError, asyncio.TimeoutError)):
                    raise
                self._next_try = time.monotonic() + self.retry_seconds
                if self._redis_down_since is None:
                    self._redis_down_since = time.monotonic()
                    # One line for the whole outage, not a stack trace per sign-in.
                    log.warning("sign-in limits: Redis is unreachable (%s: %s); counting failed sign-ins in this "
                                "process until it is back", type(exc).__name__, exc)
            else:
                if self._redis_down_since is not None:
                    log.warning("sign-in limits: Redis is reachable again after %.0f s; failed sign-ins are "
                                "counted in Redis again", time.monotonic() - self._redis_down_since)
                    self._redis_down_since = None
                return result
        return await operation(self._memory_one())

    @staticmethod
    async def _wait(limiter: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> float:
        """Seconds until `key` may fail once more; 0 when it may now."""
        stats = await limiter.get_window_stats(item, key)
        return 0.0 if stats.remaining > 0 else max(1.0, stats.reset_time - time.time())

    async def check(self, username: str | None, address: str) -> None:
        """Raises RateLimited while the account or the address is locked (username None:
        an attempt that names no account, a pairing code)."""

        async def waits(limiter: MovingWindowRateLimiter) -> tuple[float, float]:
            account = await self._wait(limiter, self.account, "account:" + username) if username is not None else 0.0
            return account, await self._wait(limiter, self.address, "address:" + address)

        account, by_address = await self._run(waits)
        if account:
            raise login_refused(account, account=True)
        if by_address:
            raise login_refused(by_address, account=False)

    async def failed(self, username: str | None, address: str) -> Failure:
        async def hit(limiter: MovingWindowRateLimiter) -> Failure:
            if username is not None:
                await limiter.hit(self.account, "account:" + username)
            await limiter.hit(self.address, "address:" + address)
            account = await self._wait(limiter, self.account, "account:" + username) if username is not None else 0.0
            return Failure(account or None, await self._wait(limiter, self.address, "address:" + address) or None)

        return await self._run(hit)

    async def succeeded(self, username: str) -> None:
        """A right password clears the account's failures (not the address's)."""

        async def clear(limiter: MovingWindowRateLimiter) -> None:
            await limiter.clear(self.account, "account:" + username)

        await self._run(clear)

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, username: str) -> AsyncIterator[None]:
        """Attempts on one account run one after the other in this process, so that a burst
        of guesses sent at once cannot all pass the check before the first failure counts."""
        entry = self._locks.setdefault(username, [asyncio.Lock(), 0])
        entry[1] += 1  # callers holding or waiting for this lock: it is dropped with the last one
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._locks.get(username) is entry:
                del self._locks[username]

    async def close(self) -> None:
        if self._shared is not None:
            with contextlib.suppress(Exception):
                await self._shared.bridge.storage.aclose()
        if self._memory is not None and self._memory.timer is not None:
            self._memory.timer.cancel()


# --- socket.io messages ----------------------------------------------------------------

class Buckets:
    """A token bucket per connection: `burst` messages at once, `rate` a second after that."""

    __slots__ = ("rate", "burst", "_state")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._state: dict[str, tuple[float, float]] = {}  # sid -> (tokens, when)

    def take(self, sid: str) -> float:
        """0 when the message may go; otherwise the seconds until it could."""
        now = time.monotonic()
        tokens, then = self._state.get(sid, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._state[sid] = (tokens - 1, now)
            return 0.0
        self._state[sid] = (tokens, now)
        return (1 - tokens) / self.rate if self.rate > 0 else 60.0

    def forget(self, sid: str) -> None:
        self._state.pop(sid, None)


def messages_refused(retry_after: float) -> RateLimited:
    return RateLimited("Gửi quá nhiều thao tác trong thời gian ngắn; vui lòng chờ giây lát. / "
                       "Too many messages at once on this connection; wait a moment.", retry_after)
