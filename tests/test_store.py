"""The schema: Alembic builds what the code declares, and concurrent upgrades are safe."""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import select

from server.config import Settings
from server.store.migrate import upgrade
from tests.conftest import ROOT, postgres_available, postgres_database, require


async def test_migrations_match_the_models(settings):
    """The schema Alembic builds is the one the code declares (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.store.tables import Base

    engine = create_async_engine(settings.db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
            tables = await conn.run_sync(lambda c: c.execute(select(1)).scalar())
    finally:
        await engine.dispose()
    assert tables == 1
    assert diff == [], diff


async def test_processes_starting_together_migrate_once(tmp_path):
    """Every `serve` migrates at start; three processes at once must neither fail nor race."""
    require(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    async with postgres_database() as url:
        env = {**os.environ, "PHONGHOP_DATABASE_URL": url}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server.cli", "migrate", "--data-dir", str(tmp_path), cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [await p.communicate() for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        await asyncio.to_thread(upgrade, Settings(data_dir=tmp_path, database_url=url))
