"""The offline installation bundle (deploy/make-offline-bundle.sh): made from the virtual
environment these tests run in (the versions tested), then installed by its own install.sh
into a fresh environment with no package index to reach, and served from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_PASSWORD, free_port

NOWHERE = "http://127.0.0.1:9/simple/"  # the discard port: any attempt to use an index fails


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    if sys.prefix == sys.base_prefix:
        pytest.fail("the tests run in a virtual environment (./dev test): the bundle is repacked from it")
    out = tmp_path_factory.mktemp("bundle") / "phonghop-offline"
    made = subprocess.run([str(ROOT / "deploy" / "make-offline-bundle.sh"), "--from-venv", sys.prefix, str(out)],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHON": sys.executable})
    assert made.returncode == 0, made.stderr[-3000:]
    return out


def test_the_bundle_holds_every_locked_package_and_its_checksums(bundle):
    pins = (bundle / "requirements.txt").read_text().split()
    names = {p.split("==")[0] for p in pins}
    assert "phonghop" in names
    for needed in ("aiohttp", "python-socketio", "sqlalchemy", "alembic", "asyncpg", "pymupdf", "aiortc"):
        assert needed in names, needed
    wheels = list((bundle / "wheels").glob("*.whl"))
    assert len(wheels) == len(pins), "one wheel per pinned package"

    lock = json.loads((ROOT / "clients" / "web" / "package-lock.json").read_text())
    locked = {k: v["version"] for k, v in lock["packages"].items() if k.startswith("node_modules/") and not v.get("dev")}
    with tarfile.open(bundle / "web" / "node_modules.tar.gz") as tar:
        versions = {
            member.name.rsplit("/package.json", 1)[0]: json.load(tar.extractfile(member))["version"]
            for member in tar.getmembers()
            if member.name.endswith("/package.json") and member.name.rsplit("/package.json", 1)[0] in locked
        }
    assert versions == locked

    listed = dict(reversed(line.split("  ", 1)) for line in (bundle / "SHA256SUMS").read_text().splitlines())
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest, name
    for name in ("install.sh", "debian-packages.txt", "docs/deployment.md", "deploy/nginx.conf",
                 "deploy/tls/make-cert.sh", "deploy/docker-compose.yml"):
        assert (bundle / name).is_file(), name


def test_a_damaged_bundle_is_not_installed(bundle, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(bundle), str(copy)], check=True)
    with open(copy / "requirements.txt", "a") as f:
        f.write("# changed\n")
    done = subprocess.run([str(copy / "install.sh"), str(tmp_path / "prefix")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHON": python311()})
    assert done.returncode != 0 and "damaged" in done.stderr
    assert not (tmp_path / "prefix").exists()


def python311() -> str:
    """A Python 3.11 that is not this virtual environment."""
    base = Path(sys.base_prefix) / "bin" / "python3.11"
    return str(base if base.exists() else Path(sys.base_prefix) / "bin" / "python3")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback)
        return resp.status, resp.read()


def test_installed_without_an_index_it_serves(bundle, tmp_path):
    prefix = tmp_path / "opt" / "phonghop"
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV")) and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(PIP_INDEX_URL=NOWHERE, PIP_EXTRA_INDEX_URL="", PIP_CONFIG_FILE=os.devnull, PYTHON=python311(),
               HOME=str(tmp_path))
    done = subprocess.run([str(bundle / "install.sh"), str(prefix)], capture_output=True, text=True, timeout=1200,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    phonghop = prefix / "venv" / "bin" / "phonghop"
    assert phonghop.exists()

    # The installed code, not this checkout's.
    where = subprocess.run([str(prefix / "venv" / "bin" / "python"), "-c", "import server, clients; "
                            "print(server.__file__); print(clients.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(prefix)) for line in where.stdout.split()), where.stdout

    data = tmp_path / "data"
    migrated = subprocess.run([str(phonghop), "migrate", "--data-dir", str(data)], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    port = free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen([str(phonghop), "serve", "--demo", "--port", str(port), "--data-dir", str(data)],
                              cwd=tmp_path, env={**env, "PHONGHOP_DEMO_PASSWORD": TEST_PASSWORD,
                                                 "PHONGHOP_RENDER_WORKERS": "1"},
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the installed server did not start"
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        assert _get(f"{url}/healthz")[0] == 200
        status, page = _get(f"{url}/console")
        assert status == 200 and "Văn phòng".encode() in page
        for path in ("/static/app.css", "/vendor/preact/dist/preact.mjs",
                     "/vendor/socket.io-client/dist/socket.io.esm.min.js"):
            assert _get(url + path)[0] == 200, path
        request = urllib.request.Request(f"{url}/api/auth/login", method="POST",
                                         data=json.dumps({"username": "thuky", "password": TEST_PASSWORD}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (loopback)
            token = json.loads(resp.read())["token"]
        listing = urllib.request.Request(f"{url}/api/meetings", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(listing, timeout=10) as resp:  # noqa: S310 (loopback)
            assert len(json.loads(resp.read())["meetings"]) == 3, "the demo's sample packs came with the wheel"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()
