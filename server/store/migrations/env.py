"""Alembic environment: runs the migrations over the server's own async engine."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    )
    with context.begin_transaction():
        context.run_migrations()


# Several server processes may start together and each runs `upgrade`: on PostgreSQL an
# advisory lock lets one migrate while the others wait and then find nothing to do.
_LOCK = 0x70686F6E  # "phon"


async def _main() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text(f"SELECT pg_advisory_lock({_LOCK})"))
            await connection.commit()
        try:
            await connection.run_sync(_run)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(text(f"SELECT pg_advisory_unlock({_LOCK})"))
                await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_main())
