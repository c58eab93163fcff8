"""Browser fixtures: Debian's Chromium driven by Playwright, and a TCP proxy whose link we can cut.

The server comes from `live_server` (tests/conftest.py): a real `phonghop serve --demo`
process on a loopback port. Pages are served by it from clients/web, so clients/web/node_modules
must exist (`npm ci` in clients/web).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PHONGHOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB = Path(__file__).resolve().parents[2] / "clients" / "web"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip when the browser cannot run here; under CI that is a failure, not a skip."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests, but: {reason}")
        pytest.skip(reason)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# --- a TCP proxy that can drop the network ------------------------------------------------


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a dropped link looks to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # shutdown wakes a pump thread blocked in recv (close alone would not, on Linux).
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forwards 127.0.0.1:port to a target port. `cut()` resets every connection and refuses
    new ones (each is reset as soon as it is accepted); `restore()` forwards again."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)  # so that close() ends the accept loop
        self.port = self.listener.getsockname()[1]
        self.cut_off = False
        self.closed = False
        self.lock = threading.Lock()
        self.pairs: dict[int, tuple[socket.socket, socket.socket]] = {}
        self.ended: dict[int, int] = {}
        self.next_id = 0
        self.thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.cut_off or self.closed:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self.lock:
                pair_id = self.next_id
                self.next_id += 1
                self.pairs[pair_id] = (client, upstream)
                self.ended[pair_id] = 0
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair_id, src, dst), daemon=True).start()

    def _pump(self, pair_id: int, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with self.lock:
            if pair_id not in self.pairs:
                return  # cut: already reset
            self.ended[pair_id] += 1
            if self.ended[pair_id] < 2:
                return
            del self.pairs[pair_id], self.ended[pair_id]
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def cut(self) -> None:
        self.cut_off = True
        with self.lock:
            pairs = list(self.pairs.values())
            self.pairs.clear()
            self.ended.clear()
        for pair in pairs:
            for s in pair:
                _reset(s)

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.thread.join(2)
        with contextlib.suppress(OSError):
            self.listener.close()


@pytest.fixture
def tcp_proxy():
    """Factory: `proxy = tcp_proxy(target_port)`, with `.port`, `.url`, `.cut()`, `.restore()`."""
    made: list[TcpProxy] = []

    def make(target_port: int) -> TcpProxy:
        proxy = TcpProxy(target_port)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    require(Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None, f"no Chromium at {CHROMIUM}")
    require(
        (WEB / "node_modules" / "preact").is_dir(),
        "clients/web/node_modules is missing: run `npm ci` in clients/web",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser):
    """Factory: a page in its own context (own localStorage), failing the test on a page error."""
    contexts = []
    errors: list[str] = []

    def make(viewport=None):
        ctx = browser.new_context(viewport=viewport or {"width": 1280, "height": 800}, locale="vi-VN")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The pages run under the server's Content-Security-Policy (SECURITY.md): anything it
        # blocks (an inline script or style, an outside origin) fails the test too.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and (
            "Content Security Policy" in m.text or "Content-Security-Policy" in m.text) else None)
        return page

    yield make
    for ctx in contexts:
        with contextlib.suppress(Exception):
            ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


# --- talking to the server directly (to know the truth the page must show) -----------------------


@dataclass
class Rest:
    url: str

    def call(self, method: str, path: str, body=None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=15) as res:
            return json.loads(res.read() or b"null")

    def login(self, username: str, password: str) -> str:
        return self.call("POST", "/api/auth/login", {"username": username, "password": password})["token"]


@pytest.fixture
def rest(live_server) -> Rest:
    return Rest(live_server.url)
