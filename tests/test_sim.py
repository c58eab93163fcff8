"""`phonghop sim` against a real `phonghop serve --demo` process: a whole session with a few
tablets and points reports no failure, and the server holds what the sim did."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import aiohttp
import pytest

from tests.conftest import ROOT, TEST_PASSWORD, start_server


@pytest.fixture
def demo_server(tmp_path):
    server = start_server(tmp_path)
    yield server
    server.stop()


async def _get(url: str, path: str, token: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(url + path, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_the_session_scenario_runs_clean_and_the_server_counted_it(demo_server):
    from clients.sim.session import session

    tablets = [{"username": f"daibieu{i:02d}", "password": TEST_PASSWORD} for i in range(1, 11)]
    points = [{"username": f"diemcau{i:02d}", "password": TEST_PASSWORD} for i in range(1, 3)]
    out = await session(demo_server.url, secretariat={"username": "thuky", "password": TEST_PASSWORD},
                        tablets=tablets, points=points, meeting_id=None, processes=2, seed=7, spread=0.5,
                        vote_window=0.5, step_timeout=60, progress=lambda *_: None)
    assert out["failures"] == 0, out["failure_examples"]
    checks = out["checks"]
    assert checks["ballots_acknowledged"] == checks["ballots_counted"] == 10
    assert checks["duplicates_applied"] == 0
    assert checks["pages_fetched"] == 20
    for op in ("login", "join", "check_in", "vote", "hands", "page_image", "rejoin", "speaker_request", "comment"):
        assert out["ops"][op]["n"] > 0 and out["ops"][op]["errors"] == 0, op

    # What the server holds: the sim's meeting, closed, with its ten check-ins and its poll of ten ballots.
    async with aiohttp.ClientSession() as http, http.post(f"{demo_server.url}/api/auth/login",
                                                          json={"username": "thuky", "password": TEST_PASSWORD}) as r:
        token = (await r.json())["token"]
    snap = await _get(demo_server.url, f"/api/meetings/{checks['meeting_id']}", token)
    assert snap["meeting"]["status"] == "closed"
    delegates = {p["id"] for p in snap["participants"] if p["role"] == "delegate"}
    assert len(delegates) == 10
    assert sum(1 for pid in delegates if snap["attendance"][str(pid)]["status"] == "present") == 10
    assert set(snap["quorum"]["by_point"]) and len(snap["quorum"]["by_point"]) == 2
    poll = next(p for p in snap["polls"] if p["id"] == checks["poll_id"])
    assert poll["voted_count"] == 10 and poll["state"] == "published"
    assert len(poll["point_counts"]) == 2
    assert len([s for s in snap["speakers"]]) >= 2
    assert any(c["text"].startswith("Đề nghị bổ sung") for c in snap["comments"])


def test_the_command_exits_non_zero_on_a_failure(demo_server):
    """A wrong password is a failed sign-in: reported, and the exit code says so."""
    done = subprocess.run([sys.executable, "-m", "server.cli", "sim", "--url", demo_server.url, "--demo", "--password",
                           "not-the-password", "--tablets", "2", "--points", "0", "--processes", "1", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "wrong" in done.stdout + done.stderr or "401" in done.stdout + done.stderr


async def test_the_command_prints_its_summary_last(demo_server):
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "server.cli", "sim", "--url", demo_server.url, "--demo", "--password",
                         TEST_PASSWORD, "--tablets", "3", "--points", "1", "--processes", "1", "--seed", "3",
                         "--spread", "0.2", "--vote-window", "0.2", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["failures"] == 0 and out["tablets"] == 3 and out["points"] == 1
    assert out["checks"]["ballots_counted"] == 3
