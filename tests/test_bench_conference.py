"""`phonghop bench conference` at a tiny size: the cascade's figures, and Janus's beside them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

FIGURES = ("points", "levels", "points_receiving", "join_ms_p50", "join_ms_p95", "switch_ms_p50", "switch_ms_p95",
           "node_cpu_percent", "node_cpu_percent_per_point", "forward_cpu_percent_per_stream", "load_avg_start",
           "load_avg_end", "peer")


def run_bench(*flags: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "bench", "conference", "--json", "--no-report", "--points", "6",
         "--provinces", "2", "--switches", "1", "--seconds", "2", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cascade_bench_reaches_every_point_and_switches_the_floor():
    out = run_bench("--no-peer")
    assert set(FIGURES) <= set(out)
    assert out["points"] == 6 and out["levels"] == 3
    assert out["points_receiving"] == out["points"] == out["points_receiving_end"]
    assert out["join_failed"] == 0
    assert out["switches"] == 1 and out["switches_refused"] == out["switch_missed"] == 0
    assert len(out["switch_ms_all"]) == 1
    assert set(out["node_cpu_percent"]) == {"central", "province-1", "province-2"}
    assert out["peer"] is None


def test_janus_forwards_the_same_feed_to_as_many_receivers():
    out = run_bench()
    peer = out["peer"]
    assert peer is not None and peer.get("peer", "").startswith("janus"), peer
    assert peer["receivers"] == peer["points_receiving"] == 6
    assert peer["cpu_percent_per_stream"] > 0 and out["cpu_ratio_to_peer"] > 0
