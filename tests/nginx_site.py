"""deploy/nginx.conf on this machine: the shipped template with only its addresses, ports
and paths changed, run by Debian's nginx (tests/test_nginx_site.py, bench/).

Each change names what it replaces and how many times it must match, so a template whose
shape moves on fails here loudly instead of quietly testing something else.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
# The names the compose file gives the server processes, as the template's upstreams name them.
SERVER_NAMES = ("server", "server-2")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def envsubst(text: str, env: dict[str, str]) -> str:
    """What the nginx image does to /etc/nginx/templates/*.template with
    NGINX_ENVSUBST_FILTER=PHONGHOP_: ${PHONGHOP_X} and $PHONGHOP_X become the variable's
    value when it is set; everything else (nginx's own $variables) stays."""

    def value(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return env[name] if name in env else m.group(0)

    return re.sub(r"\$\{(PHONGHOP_\w*)\}|\$(PHONGHOP_\w*)", value, text)


@dataclass
class Site:
    """Where the pieces of the site are on this machine."""

    upstreams: list[str]  # host:port of each server process, in the template's order
    http_port: int
    https_port: int
    tls_dir: Path  # fullchain.pem, privkey.pem
    web_dir: Path  # the web volume: holds current/ (deploy/publish-web.sh)
    data_dir: Path  # the servers' data folder (files/pages, files/zoom)
    work_dir: Path  # nginx's temporary files, pid and logs
    env: dict[str, str] = field(default_factory=dict)


def render(site: Site, template: str | None = None) -> str:
    text = envsubst(template if template is not None else TEMPLATE.read_text(encoding="utf-8"), site.env)
    unset = re.findall(r"\$\{?PHONGHOP_\w*", text)
    assert not unset, f"deploy/nginx.conf uses variables the site does not set: {unset}"
    rules: list[tuple[str, str, int]] = []
    for name, address in zip(SERVER_NAMES, site.upstreams, strict=True):
        # once in the upstream for every request, once in the one for socket.io
        rules.append((rf"(\bserver ){re.escape(name)}:8080\b", rf"\g<1>{address}", 2))
    rules += [
        (r"\blisten 80 default_server;", f"listen 127.0.0.1:{site.http_port} default_server;", 1),
        (r"\blisten 443 ssl http2 default_server;", f"listen 127.0.0.1:{site.https_port} ssl http2 default_server;", 1),
        (r"/etc/nginx/tls/", f"{site.tls_dir}/", 2),
        (r"/srv/phonghop/web/", f"{site.web_dir}/", 2),
        (r"/var/lib/phonghop/files/", f"{site.data_dir}/files/", 2),
        # nginx's temporary files: Debian's are under /var/lib/nginx, the image's elsewhere
        (r"\nhttp \{\n", "\nhttp {\n" + "".join(
            f"    {kind}_temp_path {site.work_dir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")), 1),
    ]
    for pattern, replacement, count in rules:
        text, made = re.subn(pattern, replacement, text)
        assert made == count, f"deploy/nginx.conf: {pattern!r} matched {made} times, not {count}"
    return text


def create_database() -> str:
    """A fresh PostgreSQL database (as conftest.postgres_database makes), for a fixture that
    lives longer than one event loop; its URL. drop_database() when done."""
    import asyncpg

    from tests.conftest import POSTGRES_URL

    name = f"phonghop_t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    import asyncpg

    from tests.conftest import POSTGRES_URL

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Nginx:
    """nginx in the foreground with the rendered config; stop() when done."""

    def __init__(self, site: Site) -> None:
        self.site = site
        site.work_dir.mkdir(parents=True, exist_ok=True)
        self.conf = site.work_dir / "nginx.conf"
        self.conf.write_text(render(site), encoding="utf-8")
        self.log = site.work_dir / "nginx.log"
        main = [f"pid {site.work_dir}/nginx.pid;", "daemon off;"]
        if os.geteuid() == 0:
            # Without a `user` line nginx's workers run as nobody, who cannot read a test's
            # private temporary folders; the image's master reads its volumes as root too.
            main.append("user root;")
        check = subprocess.run([NGINX, "-t", "-q", "-c", str(self.conf), "-e", str(self.log), "-g", " ".join(main)],
                               capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused the config: {check.stderr}{self._log_tail()}"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [NGINX, "-c", str(self.conf), "-e", str(self.log), "-g", " ".join(main)],
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (_reachable(site.https_port) and _reachable(site.http_port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not start: {self._log_tail()}")
            time.sleep(0.05)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: what `docker stop` sends it
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
