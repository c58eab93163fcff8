"""Each `phonghop bench` in its smallest mode, through the command, as a smoke test of its
plumbing: the server and client processes start, the figures come back as the last JSON
line, and the checks that must hold whatever the machine (nothing lost, nothing twice,
no failure) hold. No timing is asserted: the figures belong in BENCHMARKS.md."""

from __future__ import annotations

import json
import shutil

import pytest

from bench import hall
from server.cli import main


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _needs_node() -> None:
    if not hall.node_ready():
        pytest.skip(f"the Node tablets need {hall.NODE_HELP}")


def test_bench_fanout_smoke(capsys):
    _needs_node()
    assert main(["bench", "fanout", "--tablets", "4", "--rounds", "2", "--client-processes", "2", "--no-write",
                 "--json"]) == 0
    out = _last_json(capsys)
    run = out["runs"][0]
    assert run["tablets"] == 4 and run["delivered"] == 8 and run["missing"] == 0
    assert run["kb_per_connection"] is not None and run["cpu_us_per_delivery"] is not None
    if hall.peer_ready():  # Node's socket.io server, when its package is installed
        assert run["peer"]["delivered"] == 8 and run["peer"]["missing"] == 0


def test_bench_reconnect_smoke(capsys):
    _needs_node()
    assert main(["bench", "reconnect", "--tablets", "5", "--rate", "5", "--down", "0.2", "--jitter", "0.3",
                 "--client-processes", "2", "--no-write", "--json"]) == 0
    out = _last_json(capsys)
    assert out["tablets"] == 5 and out["events"] > 0
    assert out["lost_events"] == 0 and out["duplicate_events"] == 0 and out["behind_at_end"] == 0


def test_bench_mixed_smoke(capsys):
    assert main(["bench", "mixed", "--tablets", "4", "--points", "1", "--devices", "python", "--processes", "1",
                 "--spread", "0.3", "--paper-pages", "2", "--paper-every", "3", "--no-write", "--json"]) == 0
    out = _last_json(capsys)
    assert out["sim_failures"] == 0, out["sim_failure_examples"]
    assert out["sim_checks"]["ballots_counted"] == 4
    assert out["loop_lag_p99_ms"] is not None and out["loop_lag_p99_ms_session"] is not None
    assert out["papers"] >= 2


def test_bench_mixed_node_devices_smoke(capsys):
    """The session scenario with its devices in Node (bench/node/session.cjs), two processes:
    every step answered, the ballots counted as acknowledged, the JSON's keys as with the
    python devices."""
    _needs_node()
    assert main(["bench", "mixed", "--tablets", "20", "--points", "4", "--devices", "node", "--processes", "2",
                 "--spread", "0.3", "--paper-pages", "2", "--paper-every", "3", "--no-write", "--json"]) == 0
    out = _last_json(capsys)
    assert out["devices"] == "node" and out["processes"] == 2
    assert out["sim_failures"] == 0, out["sim_failure_examples"]
    checks = out["sim_checks"]
    assert checks["ballots_acknowledged"] == checks["ballots_counted"] == 20
    assert checks["duplicates_applied"] == 0 and checks["pages_fetched"] > 0
    assert {"join", "check_in", "vote", "hands", "page_image", "rejoin", "see_event"} <= set(out["p99_ms"])
    assert out["loop_lag_p99_ms"] is not None and out["loop_lag_p99_ms_session"] is not None


def test_bench_pages_smoke(capsys):
    if not (shutil.which("wrk") and shutil.which("nginx")):
        pytest.skip("the page benchmark needs wrk and nginx (apt-get install wrk nginx-light)")
    assert main(["bench", "pages", "--pages", "2", "--connections", "2", "--duration", "1", "--no-write",
                 "--json"]) == 0
    out = _last_json(capsys)
    assert out["pages"] == 2 and out["ours_one"]["rps"] > 0 and out["nginx_one"]["rps"] > 0


def test_bench_histogram_quantile():
    """The p99 the mixed benchmark reads from the server's lag histogram: Prometheus's way."""
    name = "phonghop_loop_lag_seconds"
    before = {f'{name}_bucket{{le="0.01"}}': 10.0, f'{name}_bucket{{le="0.02"}}': 10.0,
              f'{name}_bucket{{le="+Inf"}}': 10.0}
    after = {f'{name}_bucket{{le="0.01"}}': 108.0, f'{name}_bucket{{le="0.02"}}': 110.0,
             f'{name}_bucket{{le="+Inf"}}': 110.0}
    assert hall.histogram_quantile(before, after, name, 0.5) == pytest.approx(0.01 * 50 / 98)
    assert 0.01 < hall.histogram_quantile(before, after, name, 0.99) <= 0.02
    assert hall.histogram_quantile(after, after, name, 0.99) is None
