"""The web client's own unit tests (clients/web/tests, node's test runner), run under pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"


def test_web_client_units():
    node = shutil.which("node")
    ready = node is not None and (WEB / "node_modules" / "socket.io-client").is_dir()
    if not ready:
        reason = "node or clients/web/node_modules is missing (run `npm ci` in clients/web)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    run = subprocess.run(
        [node, "--test", "tests/"], cwd=WEB, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
