"""`phonghop sim`: the flags, the credentials, the summary.

    phonghop sim --url http://127.0.0.1:8080 --demo [--password PW] --tablets 40 --points 12
    phonghop sim --url URL --accounts accounts.json --tablets 200 --points 20 --processes 4 --seed 7
    phonghop sim --url URL --tokens pack.json --meeting 12 --tablets 1000 --points 200

Credentials: `--demo` uses the demo's accounts (thuky, daibieu01…40, diemcau01…12) with
`--password` or $PHONGHOP_DEMO_PASSWORD; `--accounts FILE` is a JSON object
`{"secretariat": {"username", "password"}, "tablets": [...], "points": [...]}`; `--tokens
FILE` is a pack of session tokens `{"secretariat": token, "tablets": [token...],
"points": [token...]}` (no sign-in, as the benchmarks use). Without `--meeting` the sim
makes its own meeting of these accounts and closes it at the end; with it, the accounts
must be that meeting's participants (points: its operators). Prints what it did (the
latency of each kind of operation, the failures) and, last, one JSON line; the exit code
is 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

SCENARIOS = ("session",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default: %(default)s)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--demo", action="store_true", help="the demo's accounts (`phonghop serve --demo`)")
    who.add_argument("--accounts", type=Path, help="a JSON file of usernames and passwords")
    who.add_argument("--tokens", type=Path, help="a JSON pack of session tokens")
    p.add_argument("--password", help="the demo accounts' password (default: $PHONGHOP_DEMO_PASSWORD)")
    p.add_argument("--meeting", type=int, help="drive this meeting (default: the sim makes its own)")
    p.add_argument("--tablets", type=int, default=10, help="simulated tablets (default: %(default)s)")
    p.add_argument("--points", type=int, default=2, help="simulated bridge points (default: %(default)s)")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="the seed of every random choice (default: %(default)s)")
    p.add_argument("--scenario", choices=SCENARIOS, default="session")
    p.add_argument("--spread", type=float, default=2.0, help="seconds over which each step's actions start")
    p.add_argument("--check-in-spread", type=float, help="seconds over which the hall checks in (default: --spread)")
    p.add_argument("--vote-window", type=float, default=2.0, help="seconds within which every tablet votes")
    p.add_argument("--step-timeout", type=float, default=120.0, help="seconds a device waits for what it expects")
    p.add_argument("--json", action="store_true", help="print only the JSON line")


def credentials(args: argparse.Namespace) -> tuple[dict, list[dict], list[dict]]:
    """(secretariat, tablets, points), each a device's credentials: {"username", "password"} or {"token"}."""
    if args.demo:
        password = args.password or os.environ.get("PHONGHOP_DEMO_PASSWORD")
        if not password:
            raise SystemExit("phonghop sim --demo: give --password or set PHONGHOP_DEMO_PASSWORD")
        secretariat = {"username": "thuky", "password": password}
        tablets = [{"username": f"daibieu{i:02d}", "password": password} for i in range(1, 41)]
        points = [{"username": f"diemcau{i:02d}", "password": password} for i in range(1, 13)]
    elif args.accounts:
        pack = json.loads(args.accounts.read_text(encoding="utf-8"))
        secretariat, tablets, points = pack["secretariat"], pack.get("tablets", []), pack.get("points", [])
    else:
        pack = json.loads(args.tokens.read_text(encoding="utf-8"))

        def token(t):
            return {"token": t["token"] if isinstance(t, dict) else t}

        secretariat = token(pack["secretariat"])
        tablets = [token(t) for t in pack.get("tablets", [])]
        points = [token(t) for t in pack.get("points", [])]
    if args.tablets > len(tablets) or args.points > len(points):
        raise SystemExit(f"phonghop sim: {args.tablets} tablets and {args.points} points asked for, but the "
                         f"credentials have {len(tablets)} tablets and {len(points)} points")
    return secretariat, tablets[: args.tablets], points[: args.points]


def print_summary(out: dict) -> None:
    print(f"{out['tablets']} tablets, {out['points']} points, {out['processes']} processes, seed {out['seed']}: "
          f"{out['operations']} operations in {out['seconds']} s, {out['failures']} failed")
    print(f"{'operation':<28} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'errors':>7}  (ms)")
    for op, row in out["ops"].items():
        if row.get("n"):
            print(f"{op:<28} {row['n']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} "
                  f"{row['max_ms']:>8} {row['errors']:>7}")
        else:
            print(f"{op:<28} {0:>6} {'':>8} {'':>8} {'':>8} {'':>8} {row['errors']:>7}")
    print("checks: " + ", ".join(f"{k} {v}" for k, v in out["checks"].items()))
    for example in out["failure_examples"]:
        print(f"  failed: {example}")


def run(args: argparse.Namespace) -> int:
    from clients.sim.session import session

    secretariat, tablets, points = credentials(args)
    progress = (lambda *_: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    out = asyncio.run(session(args.url.rstrip("/"), secretariat=secretariat, tablets=tablets, points=points,
                              meeting_id=args.meeting, processes=args.processes, seed=args.seed,
                              spread=args.spread, check_in_spread=args.check_in_spread,
                              vote_window=args.vote_window, step_timeout=args.step_timeout,
                              progress=progress))
    out["scenario"] = args.scenario
    if not args.json:
        print_summary(out)
    print(json.dumps(out, ensure_ascii=False))
    return 1 if out["failures"] else 0
