"""Page serving benchmark: our page-image route beside nginx serving the same files, in the same run.

    phonghop bench pages [--pages 20] [--connections 50] [--duration 10] [--json] [--no-write]
                          [--profile OUT.txt]

A real `phonghop serve` process on a fresh data folder (SQLite): a staff account signs
in, creates a meeting with a delegate, uploads a PDF of photo pages (tablet JPEGs of
about 300 KB, the size the target names), adds and publishes it; the delegate lists
the pages. nginx (one worker, access_log off, sendfile on, run in the foreground with
its own config) serves the same files of the data folder under the same URLs.
wrk (one thread, on the other core) then loads each server in turn, same connections,
same duration, same Authorization header: (a) one page, again and again; (b) a mix
over every tablet page. For each: requests/s, latency p50/p99, and the CPU seconds of
the server's processes from /proc (utime + stime, all threads), so
`per core` = requests/s ÷ (CPU seconds ÷ wall seconds) is fair on a 2-core machine
where wrk takes a core: it is what the server would do with a whole core of its own.
Prints one JSON object as the last line and records a row under "## Page serving" in
BENCHMARKS.md. `--profile OUT` samples our server with py-spy during (a) and writes
the collapsed stacks (needs `py-spy` on PATH or in PY_SPY).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402  (after the path: run as a script or imported)

SECTION = "## Page serving"
TARGETS = "≥ 2,500 requests/s per core for 300 KB images, measured beside nginx serving the same files"
PASSWORD = "matkhau-do-tai-trang"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- a document of photo pages --------------------------------------------------------------


def _photo(width: int, height: int, seed: int):
    """A photo-like image: smooth random colour fields. At 1280 px wide and JPEG quality 80
    it weighs about 300 KB, like a scanned page or a slide with a photograph."""
    from PIL import Image

    random.seed(seed)  # effect_noise draws from C's rand(); vary the bands by seed instead
    bands = []
    for n in range(3):
        small = Image.effect_noise((max(2, width // 20) + (seed + n) % 3, max(2, height // 20) + n), 80)
        bands.append(small.resize((width, height), Image.Resampling.BICUBIC))
    random.shuffle(bands)
    return Image.merge("RGB", bands)


def make_pdf(path: Path, pages: int) -> Path:
    """A4 pages, each a full-page photo with a caption (the text layer of a real scan)."""
    from agendas.rendering.worker import pymupdf

    fonts = sorted(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"))
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        buf = io.BytesIO()
        _photo(1280, 1811, i).save(buf, "JPEG", quality=92)
        page.insert_image(page.rect, stream=buf.getvalue())
        if fonts:
            page.insert_font(fontname="vn", fontfile=str(fonts[0]))
        page.insert_text((40, 40), f"Ảnh hiện trường, trang {i + 1}", fontname="vn" if fonts else "helv",
                         fontsize=14, color=(1, 1, 1))
    doc.save(path, garbage=3, deflate=True)
    return path


# --- our server, with a meeting and a published document ----------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _seed_accounts(data_dir: Path) -> dict:
    """A unit, a secretariat account, a delegate and a chair, written before the server starts."""
    from server.auth.passwords import hash_password
    from server.config import Settings
    from server.store.db import Database
    from server.store.migrate import upgrade
    from server.store.tables import Unit, User

    settings = Settings(data_dir=data_dir)
    await asyncio.to_thread(upgrade, settings)
    db = Database(settings)
    digest = await asyncio.to_thread(hash_password, PASSWORD)
    try:
        async with db.write() as s:
            unit = Unit(code=f"B{uuid.uuid4().hex[:6]}", name="Văn phòng Tỉnh ủy", level="Tỉnh")
            s.add(unit)
            await s.flush()
            staff = User(username="vanphong", full_name="Lê Văn Phòng", password_hash=digest,
                         roles=["secretariat"], unit_id=unit.id)
            reader = User(username="daibieu", full_name="Nguyễn Văn An", password_hash=digest, roles=[],
                          unit_id=unit.id)
            chair = User(username="chutri", full_name="Trần Văn Bình", password_hash=digest, roles=[],
                         unit_id=unit.id)
            s.add_all([staff, reader, chair])
            await s.flush()
            return {"unit_id": unit.id, "reader_id": reader.id, "chair_id": chair.id}
    finally:
        await db.close()


class Api:
    def __init__(self, http, url: str) -> None:
        self.http, self.url = http, url

    async def call(self, method: str, path: str, token: str | None = None, **kwargs) -> dict:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {body}")
            return body

    async def login(self, username: str) -> str:
        return (await self.call("POST", "/api/auth/login", json={"username": username, "password": PASSWORD}))["token"]

    async def command(self, token: str, name: str, **data) -> dict:
        return (await self.call("POST", f"/api/commands/{name}", token, json=data,
                                headers={"Idempotency-Key": uuid.uuid4().hex}))["result"]


async def _publish_document(url: str, seeded: dict, pdf: Path) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        api = Api(http, url)
        staff = await api.login("vanphong")
        reader = await api.login("daibieu")
        meeting = (await api.command(staff, "meeting.create", title="Hội nghị đo tải trang",
                                     unit_id=seeded["unit_id"]))["meeting"]
        await api.command(staff, "participant.add", meeting_id=meeting["id"], user_id=seeded["reader_id"],
                          role="delegate")
        await api.command(staff, "participant.add", meeting_id=meeting["id"], user_id=seeded["chair_id"],
                          role="chair")
        await api.command(staff, "agenda.add", meeting_id=meeting["id"], title="Báo cáo tình hình")
        await api.command(staff, "meeting.publish", meeting_id=meeting["id"])
        started = time.monotonic()
        upload = (await api.call("POST", f"/api/meetings/{meeting['id']}/uploads?filename={quote(pdf.name)}",
                                 staff, data=pdf.read_bytes()))["upload"]
        document = (await api.command(staff, "document.add", meeting_id=meeting["id"], upload_id=upload["id"],
                                      title="Ảnh hiện trường"))["document"]
        while True:
            listing = await api.call("GET", f"/api/documents/{document['id']}/pages", staff)
            if listing["status"] == "ready":
                break
            if listing["status"] == "failed" or time.monotonic() - started > 300:
                raise RuntimeError(f"rendering did not finish: {listing}")
            await asyncio.sleep(0.2)
        rendered = time.monotonic() - started
        await api.command(staff, "document.publish", meeting_id=meeting["id"], document_ids=[document["id"]])
        listing = await api.call("GET", f"/api/documents/{document['id']}/pages", reader)
        return {"token": reader, "pages": listing["pages"], "version_id": listing["version_id"],
                "render_seconds": round(rendered, 2)}


def _start_server(data_dir: Path, port: int) -> subprocess.Popen:
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115  (the process keeps it)
    return subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                             "--data-dir", str(data_dir)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _wait_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-3000:] if log.exists() else ''}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within 60 s")


# --- nginx, serving the same files under the same URLs ------------------------------------

NGINX_CONF = """\
worker_processes 1;
{user}
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ image/jpeg jpg; }}
    server {{
        listen 127.0.0.1:{port};
        location ~ "^/api/pages/[0-9]+/([0-9a-f]{{64}}\\.jpg)$" {{
            alias {pages}/$1;
            add_header Cache-Control "private, max-age=31536000, immutable";
        }}
    }}
}}
"""


def _start_nginx(workdir: Path, pages: Path, port: int) -> subprocess.Popen:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: apt-get install nginx-light (or nginx)")
    workdir.mkdir(parents=True, exist_ok=True)
    # As root, the worker would run as nobody and could not enter the private temp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, dir=workdir, port=port, pages=pages))
    log = workdir / "stderr.log"
    process = subprocess.Popen([binary, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=open(log, "ab"))  # noqa: SIM115
    _wait_port(port, process, "nginx", log)
    return process


# --- measuring --------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """pid and its descendants (nginx's worker; our render pool's fork server, idle)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    return total / _CLK_TCK


def _wrk_script(workdir: Path, paths: list[str]) -> Path:
    script = workdir / "mix.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)
    script.write_text(
        "local paths = {\n" + listed + "\n}\n"
        "math.randomseed(7)\n"
        "request = function()\n"
        "  return wrk.format(nil, paths[math.random(#paths)])\n"
        "end\n")
    return script


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _parse_wrk(out: str) -> dict:
    def number(pattern: str) -> float | None:
        m = re.search(pattern, out)
        return float(m.group(1)) if m else None

    def latency(label: str) -> float | None:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return round(float(m.group(1)) * _UNITS[m.group(2)], 2) if m else None

    requests = number(r"(\d+) requests in")
    bad = number(r"Non-2xx or 3xx responses: (\d+)") or 0
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out.split("Socket errors:")[1])) \
        if "Socket errors:" in out else 0
    return {"requests": int(requests or 0), "rps": number(r"Requests/sec:\s+([\d.]+)") or 0.0,
            "p50_ms": latency("50"), "p99_ms": latency("99"), "non_2xx": int(bad), "socket_errors": errors}


def run_wrk(url: str, token: str, pids: list[int], *, connections: int, duration: float, script: Path | None,
            profile: Path | None = None, server_pid: int | None = None) -> dict:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        args += ["-s", str(script)]
    # Warm up (connections, caches, the permission cache), then measure.
    subprocess.run([*args[:3], "-d2s", *args[4:], url], capture_output=True, text=True, check=True)
    spy = None
    if profile and server_pid:
        spy = subprocess.Popen([os.environ.get("PY_SPY", "py-spy"), "record", "-p", str(server_pid), "-r", "200",
                                "-d", f"{int(duration)}", "--format", "raw", "-o", str(profile), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu0, t0 = _cpu_seconds(pids), time.monotonic()
    done = subprocess.run([*args, url], capture_output=True, text=True, check=True)
    wall, cpu = time.monotonic() - t0, _cpu_seconds(pids) - cpu0
    if spy:
        spy.wait(duration + 30)
    figures = _parse_wrk(done.stdout)
    utilisation = cpu / wall if wall else 0.0
    figures.update(cpu_s=round(cpu, 2), wall_s=round(wall, 2), cpu_util=round(utilisation, 3),
                   rps_per_core=round(figures["rps"] / utilisation) if utilisation else None,
                   cpu_us_per_request=round(cpu / figures["requests"] * 1e6) if figures["requests"] else None)
    figures["rps"] = round(figures["rps"])
    return figures


# --- the run ---------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict:
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is not installed (apt-get install wrk)")
    out: dict = {"date": datetime.date.today().isoformat(), "machine": report.machine(),
                 "load_avg": round(os.getloadavg()[0], 2), "connections": args.connections,
                 "duration_s": args.duration}
    with tempfile.TemporaryDirectory(prefix="phonghop-bench-pages-") as tmp:
        tmp = Path(tmp)
        data_dir = tmp / "data"
        data_dir.mkdir()
        pdf = make_pdf(tmp / "anh-hien-truong.pdf", args.pages)
        seeded = await _seed_accounts(data_dir)
        port, nginx_port = _free_port(), _free_port()
        server = _start_server(data_dir, port)
        nginx = None
        try:
            _wait_port(port, server, "phonghop serve", data_dir / "server.log")
            url = f"http://127.0.0.1:{port}"
            doc = await _publish_document(url, seeded, pdf)
            from agendas.storage import Files

            files = Files(data_dir)
            tablet = [p["tablet"] for p in doc["pages"]]
            sizes = sorted(files.page(u.rsplit("/", 1)[1][:-4]).stat().st_size for u in tablet)
            one = tablet[0]
            out.update(pages=len(tablet), render_seconds=doc["render_seconds"],
                       one_page_kb=round(files.page(one.rsplit("/", 1)[1][:-4]).stat().st_size / 1024),
                       tablet_kb_min=round(sizes[0] / 1024), tablet_kb_median=round(sizes[len(sizes) // 2] / 1024),
                       tablet_kb_max=round(sizes[-1] / 1024))
            nginx = _start_nginx(tmp / "nginx", files.pages, nginx_port)
            script = _wrk_script(tmp, tablet)
            targets = {"ours": (url, _tree(server.pid)), "nginx": (f"http://127.0.0.1:{nginx_port}", _tree(nginx.pid))}
            # A check before measuring: both answer the same bytes for the same URL.
            import aiohttp

            async with aiohttp.ClientSession() as http:
                bodies = []
                for base, _ in targets.values():
                    async with http.get(base + one, headers={"Authorization": f"Bearer {doc['token']}"}) as r:
                        assert r.status == 200, (base, r.status)
                        bodies.append(await r.read())
                assert bodies[0] == bodies[1], "nginx and our server answer different bytes"
            for case, script_path in (("one", None), ("mix", script)):
                for name, (base, pids) in targets.items():
                    profile = args.profile if (name == "ours" and case == "one") else None
                    out[f"{name}_{case}"] = run_wrk(base + one, doc["token"], pids, connections=args.connections,
                                                    duration=args.duration, script=script_path, profile=profile,
                                                    server_pid=server.pid)
        finally:
            for process in (nginx, server):
                if process is not None and process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(20)
                    except subprocess.TimeoutExpired:
                        process.kill()
    ours, peer = out["ours_one"], out["nginx_one"]
    out.update(rps_per_core=ours["rps_per_core"], nginx_rps_per_core=peer["rps_per_core"],
               share_of_nginx=round(ours["rps_per_core"] / peer["rps_per_core"], 3)
               if ours["rps_per_core"] and peer["rps_per_core"] else None)
    return out


def record(out: dict, command: str) -> None:
    header = (
        f"Reproduce: `{command}` (needs wrk and nginx: `apt-get install wrk nginx-light`).\n"
        f"Targets: {TARGETS}.\n"
        "A `phonghop serve` process (SQLite) serves `/api/pages/{version_id}/{sha256}.jpg` to a signed-in delegate "
        "(Bearer token, permission check, page bytes from memory); nginx (1 worker, access_log off, sendfile on) serves the same "
        "files under the same URLs, in the same run. wrk: 1 thread, the same connections, duration and "
        "Authorization header for both; \"one\" requests one page again and again, \"mix\" picks among every "
        "tablet page. req/s per core = req/s ÷ (server CPU seconds ÷ wall seconds), CPU from /proc (all threads "
        "and child processes of the server): on 2 cores wrk takes one, so this is what the server does with a "
        "core of its own; CPU µs / request is the same figure the other way up. The load average is the machine's when "
        "the run started: other work on the machine lowers req/s, much less the CPU figures.\n\n"
        "| date | machine | load avg | pages (tablet KB min / median / max) | connections × s | ours: req/s, CPU util, "
        "req/s per core (one) | ours (mix) | nginx: req/s, CPU util, req/s per core (one) | nginx (mix) | ours p50 / "
        "p99 (one) | nginx p50 / p99 (one) | CPU µs / request, ours / nginx (one) | ours ÷ nginx per core |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")

    def cell(f: dict) -> str:
        return f"{f['rps']:,} · {f['cpu_util']:.2f} · **{f['rps_per_core']:,}**"

    row = (f"| {out['date']} | {out['machine']} | {out['load_avg']} | {out['pages']} ({out['tablet_kb_min']} / "
           f"{out['tablet_kb_median']} / {out['tablet_kb_max']}) | {out['connections']} × {out['duration_s']:g} | "
           f"{cell(out['ours_one'])} | {cell(out['ours_mix'])} | {cell(out['nginx_one'])} | "
           f"{cell(out['nginx_mix'])} | {out['ours_one']['p50_ms']} / {out['ours_one']['p99_ms']} ms | "
           f"{out['nginx_one']['p50_ms']} / {out['nginx_one']['p99_ms']} ms | "
           f"{out['ours_one']['cpu_us_per_request']} / {out['nginx_one']['cpu_us_per_request']} | "
           f"{out['share_of_nginx']} |\n")
    report.add_row(SECTION, header, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phonghop bench pages", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--no-write", action="store_true", help="do not record the row in BENCHMARKS.md")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of our server during 'one'")
    args = parser.parse_args(argv)
    out = asyncio.run(run(args))
    report.finish("pages", out, args, argv, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
