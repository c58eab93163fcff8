"""The server's log while PostgreSQL is away (issue 8, "Faults survived").

A `phonghop serve` process on a PostgreSQL cluster of this test alone. The cluster is stopped
at once (as in a crash) for some seconds and started again. The server's background work
(the poll deadline closer, which reads the database every second) must keep trying, and
say so in its log once when it starts failing (one line: the error's class and message) and
once when it works again: not a stack trace per second, which would bury every other line
of a long outage.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil

from tests.conftest import start_server
from tests.faults.helpers import Api, wait_until
from tests.faults.services import PostgresCluster, postgres_bin, require_tool

ROUNDS = 5  # seconds of outage observed: the closer tries once a second


async def test_a_database_outage_is_logged_once_not_a_trace_per_second(tmp_path):
    require_tool(postgres_bin() is not None, "PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    require_tool(os.geteuid() != 0 or shutil.which("runuser") is not None, "runuser is missing (util-linux)")
    pg = await asyncio.to_thread(PostgresCluster)
    server = None
    try:
        await asyncio.to_thread(pg.start)
        await asyncio.to_thread(pg.create_database)
        server = await asyncio.to_thread(start_server, tmp_path, env={"PHONGHOP_DATABASE_URL": pg.url})
        log_file = tmp_path / f"server-{server.port}.log"

        def polls_records() -> list[str]:
            """The log records of phonghop.polls, each with whatever lines follow its first (a trace)."""
            text = log_file.read_text(errors="replace")
            records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )", text)
            return [r.rstrip("\n") for r in records if re.match(r"\S+ \S+ \w+ phonghop\.polls: ", r)]

        def polls_lines() -> list[str]:
            return [r.splitlines()[0] for r in polls_records()]

        async with Api(server.url) as api:
            await wait_until(lambda: _health(api, 200), 60, "the server to be healthy")
            assert polls_lines() == [], polls_lines()

            await asyncio.to_thread(pg.stop, "immediate")
            await wait_until(lambda: len(polls_lines()) >= 1, 30, "the closer to log that it is failing")
            # Let the closer fail round after round: the old code wrote a trace each second.
            await asyncio.sleep(ROUNDS)
            await wait_until(lambda: _health(api, 503), 30, "/healthz to say the database is failing")
            lines = polls_lines()
            assert len(lines) == 1, lines
            assert "WARNING" in lines[0] and "unreachable" in lines[0], lines[0]
            assert re.search(r"\((\w+\.)*\w+(Error|Exception)\w*: ", lines[0]), lines[0]  # the error's class, then its message
            # One line, no stack trace under it. (Other parts' lines are theirs to keep short.)
            assert [r for r in polls_records() if "\n" in r] == [], polls_records()
            assert server.process.poll() is None

            await asyncio.to_thread(pg.start)
            await wait_until(lambda: any("works again" in line for line in polls_lines()), 60,
                             "the closer to log that it works again")
            await wait_until(lambda: _health(api, 200), 60, "/healthz to say the database is back")
            lines = polls_lines()
            assert len(lines) == 2 and "works again" in lines[1], lines
            assert server.process.poll() is None
    finally:
        if server is not None:
            server.stop()
        await asyncio.to_thread(pg.close)


async def _health(api: Api, status: int) -> bool:
    got, _ = await api.call("GET", "/healthz")
    return got == status
