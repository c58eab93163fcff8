"""schemathesis against the live server's /api/openapi.json (issue 8, "Fuzzing").

Every operation of the document is called with generated requests, valid and invalid
(wrong types, missing and extra fields, boundary values, odd strings), each with a
secretariat session or an administrator's (both over an operation's cases), on a real `phonghop serve --demo`
process. Each answer must be no 5xx, and must match the document: a declared status code,
a declared content type, a body that validates against its schema, declared headers.

The run is finite and the same on every machine: a fixed seed, derandomized generation, a
few examples per operation (PHONGHOP_FUZZ_EXAMPLES, 4 by default) besides schemathesis's
deterministic coverage cases.

The fuzzer may end its own sessions (`/api/auth/logout`), deactivate the accounts it uses
or take their roles: on a 401 the accounts are put back and a new session is opened, so
every operation is reached with a signed-in caller.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import urllib.request
import zlib
from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from sqlalchemy import update

from server.config import Settings
from server.store.db import Database
from server.store.tables import User
from tests.conftest import start_server

EXAMPLES = int(os.environ.get("PHONGHOP_FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
ACCOUNTS = {"secretariat": ("thuky", ["secretariat"]), "admin": ("admin", ["admin"])}

CONFIG = SchemathesisConfig.from_dict({
    "seed": 8,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "allow-x00": True},
    "phases": {"stateful": {"enabled": False},
               "coverage": {"enabled": os.environ.get("PHONGHOP_FUZZ_COVERAGE", "1") == "1"}},
})


class Sessions:
    """A session per role, minted in the database; put back when the fuzzer ends it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens: dict[str, str] = {}
        for role in ACCOUNTS:
            self.renew(role)

    def renew(self, role: str) -> str:
        self.tokens[role] = asyncio.run(self._renew(*ACCOUNTS[role]))
        return self.tokens[role]

    async def _renew(self, username: str, roles: list[str]) -> str:
        from server.auth.sessions import open_session

        db = Database(self.settings)
        try:
            async with db.write() as s:
                await s.execute(update(User).where(User.username == username).values(active=True, roles=roles))
                user = await s.scalar(User.__table__.select().where(User.username == username).with_only_columns(User.id))
                return (await open_session(s, await s.get(User, user), hours=4))["token"]
        finally:
            await db.close()


async def known_ids(url: str, token: str) -> dict[str, list]:
    """Ids of records the demo holds, by path parameter name: generated ids are almost never
    real, and a request for a record that exists goes further into the server."""
    from tests.faults.helpers import Api

    async with Api(url, token) as api:
        meetings = (await api.ok("GET", "/api/meetings"))["meetings"]
        ids: dict[str, list] = {"meeting_id": [m["id"] for m in meetings]}
        for m in meetings:
            snapshot = await api.ok("GET", f"/api/meetings/{m['id']}")
            ids.setdefault("document_id", []).extend(d["id"] for d in snapshot.get("documents", []))
            ids.setdefault("version_id", []).extend(d["version"]["id"] for d in snapshot.get("documents", [])
                                                    if d.get("version"))
            ids.setdefault("poll_id", []).extend(p["id"] for p in snapshot.get("polls", []))
            ids.setdefault("item_id", []).extend(i["id"] for i in snapshot.get("agenda", []))
            ids.setdefault("participant_id", []).extend(p["id"] for p in snapshot.get("participants", []))
        ids["unit_id"] = [u["id"] for u in (await api.ok("GET", "/api/units"))["units"]][:5]
        ids["user_id"] = [u["id"] for u in (await api.ok("GET", "/api/users"))["users"]][:5]
        ids["directive_id"] = [d["id"] for d in (await api.ok("GET", "/api/directives"))["directives"]]
        ids["programme_id"] = [p["id"] for p in (await api.ok("GET", "/api/programmes"))["programmes"]]
        today = datetime.date.today().isocalendar()  # the demo publishes this week's schedule and the next
        ids["year"], ids["week"] = [today.year], [today.week, today.week + 1]
    return {name: values for name, values in ids.items() if values}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz")
    server = start_server(data)
    try:
        sessions = Sessions(Settings(data_dir=data))
        yield server, sessions, asyncio.run(known_ids(server.url, sessions.tokens["secretariat"]))
    finally:
        server.stop()


def aim(case, ids: dict[str, list]) -> None:
    """Two cases in three get real ids in their path (chosen from the case itself: the same on
    every run); the third keeps what was generated."""
    params = case.path_parameters or {}
    pick = zlib.crc32(repr(sorted(params.items())).encode())
    if pick % 3 == 0:
        return
    for name in params:
        if name in ids:
            params[name] = ids[name][pick % len(ids[name])]


def served_document() -> dict:
    """The document the server serves at /api/openapi.json, from an application built here
    (nothing is started): the tests are made from it when they are collected, and
    `test_the_fuzzed_document_is_the_served_one` checks that the live server serves the same."""
    import tempfile

    from server.app import create_app

    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(data_dir=Path(data)))
        route = next(r for r in app.router.routes() if r.resource.canonical == "/api/openapi.json")
        return json.loads(asyncio.run(route.handler(None)).body)


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
if os.environ.get("PHONGHOP_FUZZ_ONLY"):  # a regular expression of paths, to look at a few operations
    schema = schema.include(path_regex=os.environ["PHONGHOP_FUZZ_ONLY"])


def test_the_fuzzed_document_is_the_served_one(fuzz_server):
    server, _, _ = fuzz_server
    with urllib.request.urlopen(f"{server.url}/api/openapi.json", timeout=30) as resp:
        assert json.loads(resp.read()) == DOCUMENT


@schema.parametrize()
def test_every_operation_answers_within_its_document(case, fuzz_server):
    server, sessions, ids = fuzz_server
    aim(case, ids)
    # One role per case, chosen from the case itself (the same on every run): every operation
    # meets both over its cases, at half the requests.
    role = sorted(ACCOUNTS)[zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % len(ACCOUNTS)]
    headers = {"Authorization": f"Bearer {sessions.tokens[role]}"}
    response = case.call(base_url=server.url, headers=headers, timeout=60)
    if response.status_code == 401:  # the fuzzer ended this session, or disabled its account
        headers = {"Authorization": f"Bearer {sessions.renew(role)}"}
        response = case.call(base_url=server.url, headers=headers, timeout=60)
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert server.process.poll() is None, "the server died"
