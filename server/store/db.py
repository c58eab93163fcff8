"""The database engine: SQLite in WAL mode by default, PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.config import Settings

SQLITE_POOL = 15  # SQLite connections kept for reads (one writer at a time in any case)


class Database:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.is_sqlite = settings.is_sqlite
        if self.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            # Connections kept open (each is a thread of aiosqlite's): beyond the pool's size a
            # connection is closed when given back, and a hall joining at once paid a new
            # thread, connection and pragmas per read (py-spy through `phonghop bench votes`).
            pool = SQLITE_POOL
            self.engine: AsyncEngine = create_async_engine(settings.db_url, pool_size=pool, max_overflow=5)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            pool = 10
            self.engine = create_async_engine(settings.db_url, pool_size=pool, max_overflow=20, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Pooled connections one kind of long read (a socket.io catch-up) may hold at once:
        # half the pool's own size, so that commands and session checks always find one.
        self.pool_share = max(2, pool // 2)
        # SQLite has one writer at a time; queueing writers here instead of in SQLite's
        # busy loop keeps them fair and avoids "database is locked" under load.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits on success, rolls back on any exception."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.sessions() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def unreachable(exc: BaseException | None) -> bool:
    """Whether `exc` (or an exception it was raised from) says that a service could not be
    reached: PostgreSQL down, restarting or its connection cut (its SQLSTATE classes 08
    "connection exception" and 57 "operator intervention", or no connection at all), or
    Redis gone. The REST and socket.io layers answer these with `unavailable` (503) instead
    of `internal`: the client sends the same command again with the same key (issue 8,
    "PostgreSQL restarted under load")."""
    import socket

    import asyncpg
    import psycopg
    import redis.exceptions
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    seen: set[int] = set()
    todo = [exc]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        todo += [exc.__cause__, exc.__context__]
        if isinstance(exc, PoolTimeout):
            return True  # every pooled connection busy past the wait (a rejoin storm): retry later
        if isinstance(exc, DBAPIError):
            if exc.connection_invalidated:
                return True
            todo.append(exc.orig)
        if isinstance(exc, ConnectionError | socket.gaierror | redis.exceptions.ConnectionError
                      | redis.exceptions.TimeoutError | asyncpg.exceptions.ConnectionDoesNotExistError
                      | asyncpg.exceptions.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError):
            return True
        if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection" in str(exc).lower():
            return True  # "cannot perform operation: connection is closed" and its kind
        if isinstance(exc, psycopg.OperationalError):
            state = getattr(exc, "sqlstate", None)
            if state is None or state[:2] in ("08", "57"):
                return True
    return False


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged command survives a power cut, not only a crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
