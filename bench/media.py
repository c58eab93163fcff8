"""Media plane benchmark: what fanning out the main feed costs a node, beside peers, in the same run.

    python bench/media.py [--receivers 1,4,8] [--seconds 6] [--json] [--no-write]

One source point (640x360 VP8, 15 frames/s, and a tone) holds the floor; N receive-only
points take the picture and the sound. Each node runs as its own process and its CPU
seconds (utime + stime, all threads, from /proc) are counted over the same window:

- **phonghop**: `phonghop media-node`, one quality (360p, the source's size, so every node
  does comparable work): decodes the source once, encodes once, hands the same packets to
  every receiver's sender.
- **aiortc default**: the usual aiortc server (the source's track through `MediaRelay` to
  every receiver's sender), which encodes once per receiver. This is what media/ avoids.
No SFU peer runs beside them. Janus is installable from Debian (1.1.2), but its ICE
(libnice) offers no loopback candidate: with `ice_enforce_list = "lo"` it still offered only
the machine's interface addresses, and this machine allows media traffic to loopback
addresses only. docs/media.md says more.

Also measured for phonghop: the time from giving the floor (the control API call) to the
first frame of the new speaker's colour at a receiver, over several switches; and the
connection test's figures on loopback. Prints one JSON object as the last line and adds a
row under "## Media fan-out" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import secrets
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402

SECTION = "## Media fan-out"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
ENV = {**os.environ, "PHONGHOP_MEDIA_ICE_ADDRESSES": "127.0.0.1"}
RED, BLUE = (210, 40, 40), (40, 60, 210)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (all threads)


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@contextlib.asynccontextmanager
async def process(*args: str, port: int, env: dict | None = None):
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env or ENV, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    try:
        await wait_port(port)
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# --- the aiortc default: one encoder per receiver ------------------------------------------------


class RelayNode:
    """The usual aiortc server: the source's decoded track relayed to every sender, each encoding."""

    def __init__(self) -> None:
        from aiortc.contrib.media import MediaRelay

        self.relay = MediaRelay()
        self.sources: dict[str, dict] = {}
        self.pcs: dict[str, object] = {}
        self.node_id = "aiortc-default"

    async def health(self) -> dict:
        return {"node_id": self.node_id, "status": "ok", "peers": len(self.pcs), "mode": "root"}

    async def accept(self, peer_id, sdp, *, role="point", layers=None, audio=True) -> str:
        from aiortc import RTCSessionDescription
        from aiortc.contrib.media import MediaBlackhole

        from media import ice

        pc = ice.peer_connection()
        self.pcs[peer_id] = pc
        tracks: dict[str, object] = {}

        @pc.on("track")
        def on_track(track) -> None:
            tracks[track.kind] = track

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        source = next(iter(self.sources.values()), None)
        if not tracks and source is not None:  # a receiver: one relayed track per kind, each encoded by its sender
            for kind in {t.kind for t in pc.getTransceivers()} & set(source):
                pc.addTrack(self.relay.subscribe(source[kind]))
        if tracks:  # a source: its tracks are read by the relay's subscribers
            self.sources[peer_id] = tracks
            if len(self.sources) > 1:
                hole = MediaBlackhole()
                for track in tracks.values():
                    hole.addTrack(track)
                await hole.start()
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def close_peer(self, peer_id) -> None:
        pc = self.pcs.pop(peer_id, None)
        if pc is not None:
            await pc.close()

    async def set_floor(self, peer_id) -> None:
        return None

    async def stats(self) -> dict:
        return {}


def serve_relay(port: int, secret: str) -> None:
    from aiohttp import web

    from media import ice
    from media.control import control_app

    ice.restrict_host_addresses(["127.0.0.1"])
    web.run_app(control_app(RelayNode(), secret), host="127.0.0.1", port=port, print=None, access_log=None)


# --- measuring --------------------------------------------------------------------------------------


async def measure(pid: int, points, seconds: float) -> dict:
    frames = [p.received.video_frames for p in points]
    cpu, wall = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = cpu_seconds(pid) - cpu, time.monotonic() - wall
    received = sum(p.received.video_frames for p in points) - sum(frames)
    return {
        "cpu_percent": round(cpu / wall * 100, 1),
        "fps_per_receiver": round(received / len(points) / wall, 1),
        "receivers_served": sum(1 for p, f in zip(points, frames, strict=True) if p.received.video_frames > f),
    }


async def run_node(kind: str, receivers: int, seconds: float) -> dict:
    from media.control import NodeClient
    from media.point import Point
    from media.sources import SyntheticVideo, Tone

    port, secret = free_port(), secrets.token_hex(8)
    if kind == "phonghop":
        args = (sys.executable, "-m", "server.cli", "media-node", "--listen", f"127.0.0.1:{port}",
                "--secret", secret, "--layers", "360p:640x360@500")
    else:
        args = (sys.executable, str(Path(__file__).resolve()), "--serve-relay", str(port), secret)
    async with process(*args, port=port) as proc:
        node = NodeClient(f"http://127.0.0.1:{port}", secret)
        source = Point("A", video=SyntheticVideo(640, 360, fps=15, color=RED), audio=Tone(), receive=False)
        await source.connect(node)
        await node.set_floor("A")
        points = [Point(f"R{i}", color_every=30) for i in range(receivers)]
        try:
            for point in points:
                await point.connect(node)
            for point in points:
                await point.wait_until(lambda p=point: p.received.video_frames >= 5, timeout=20)
            return await measure(proc.pid, points, seconds)
        finally:
            for point in (*points, source):
                await point.close()


async def floor_switches(switches: int = 6) -> dict:
    """Time from the floor call to the first frame of the new speaker's colour at a receiver."""
    from media.control import NodeClient
    from media.point import Point
    from media.sources import SyntheticVideo, Tone, closest, mean_rgb

    palette = {"A": RED, "B": BLUE}
    port, secret = free_port(), secrets.token_hex(8)
    args = (sys.executable, "-m", "server.cli", "media-node", "--listen", f"127.0.0.1:{port}", "--secret", secret,
            "--layers", "360p:640x360@500")
    async with process(*args, port=port):
        node = NodeClient(f"http://127.0.0.1:{port}", secret)
        a = Point("A", video=SyntheticVideo(640, 360, fps=15, color=RED), audio=Tone(), receive=False)
        b = Point("B", video=SyntheticVideo(640, 360, fps=15, color=BLUE), audio=Tone(), receive=False)
        seen: dict[str, float] = {}

        def on_frame(frame) -> None:
            name = closest(mean_rgb(frame), palette)
            seen.setdefault(name, time.monotonic())

        receiver = Point("R", color_every=1000, on_video_frame=on_frame)
        times, node_ms = [], []
        try:
            for p in (a, b, receiver):
                await p.connect(node)
            current = "A"
            await node.set_floor("A")
            await receiver.wait_until(lambda: "A" in seen, timeout=20)
            for _ in range(switches):
                await asyncio.sleep(1.0)
                current = "B" if current == "A" else "A"
                seen.pop(current, None)
                started = time.monotonic()
                await node.set_floor(current)
                await receiver.wait_until(lambda c=current: c in seen, timeout=20)
                times.append((seen[current] - started) * 1000)
                node_ms.append((await node.stats())["program"]["first_frame_after_switch_ms"])
                seen.clear()
                seen[current] = 0
        finally:
            for p in (a, b, receiver):
                await p.close()
    # node_ms: from the switch to the node's first encode of the new speaker (the rest is the
    # way to the receiver and its decoder).
    return {"switches": len(times), "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1), "all_ms": [round(t, 1) for t in times],
            "node_median_ms": statistics.median(x for x in node_ms if x is not None) if any(node_ms) else None}


async def connection_test_figures() -> dict:
    from media.control import NodeClient
    from media.point import connection_test

    port, secret = free_port(), secrets.token_hex(8)
    args = (sys.executable, "-m", "server.cli", "media-node", "--listen", f"127.0.0.1:{port}", "--secret", secret)
    async with process(*args, port=port):
        verdict = await connection_test(NodeClient(f"http://127.0.0.1:{port}", secret), "probe", seconds=4)
    return {k: verdict[k] for k in ("bitrate_kbps", "loss", "rtt_ms", "jitter_ms", "quality", "passed")}


async def main_async(args) -> dict:
    from media import ice

    ice.restrict_host_addresses(["127.0.0.1"])
    counts = [int(x) for x in args.receivers.split(",")]
    results: dict = {"receivers": counts, "phonghop": {}, "aiortc_default": {}}
    for n in counts:  # interleaved: each count measures both nodes back to back
        results["phonghop"][n] = await run_node("phonghop", n, args.seconds)
        results["aiortc_default"][n] = await run_node("relay", n, args.seconds)
        print(json.dumps({n: {k: results[k].get(n) for k in ("phonghop", "aiortc_default")}}), flush=True)
    results["floor_switch"] = await floor_switches()
    results["connection_test"] = await connection_test_figures()
    with contextlib.suppress(OSError):
        results["load_avg"] = os.getloadavg()[0]
    return results


def write_row(results: dict) -> None:
    def cell(kind: str) -> str:
        parts = []
        for n in results["receivers"]:
            r = results[kind].get(n) if isinstance(results[kind], dict) else None
            if not r or "cpu_percent" not in r:
                parts.append("—")
            else:
                parts.append(f"{r['cpu_percent']}% ({r['fps_per_receiver']} fps)")
        return " · ".join(parts)

    fs, ct = results["floor_switch"], results["connection_test"]
    intro = (
        "Reproduce: `python bench/media.py`.\n"
        "One source point (640x360 VP8, 15 fps, and a tone) holds the floor; N receive-only points on loopback. "
        "Each node is its own process; its CPU (utime + stime, all threads, /proc) over the same window, as % of one "
        "core, and the frames per second each receiver decoded. phonghop: `phonghop media-node` with one quality "
        "(360p): decode once, encode once, the same packets to every sender. aiortc default: the source's track "
        "through MediaRelay to every sender, one encoder per receiver (what media/ avoids). No SFU peer (Janus "
        "offers no loopback ICE candidate; this machine allows loopback traffic only: docs/media.md). Floor switch: "
        "from the control API call to the first frame of the new speaker's colour at a receiver (phonghop; in brackets "
        "the node's part: to its first encode of the new speaker). "
        "Connection test: a 4 s probe on loopback.\n\n"
        "| date | machine | load avg | receivers | phonghop CPU (fps) | aiortc default CPU (fps) "
        "| floor switch median / max | connection test (kbit/s, loss, RTT, jitter) |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    row = (
        f"| {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC | {report.machine()} | "
        f"{results.get('load_avg', 0):.2f} | {' · '.join(map(str, results['receivers']))} | {cell('phonghop')} | "
        f"{cell('aiortc_default')} | {fs['median_ms']} / {fs['max_ms']} ms (node {fs['node_median_ms']} ms) | "
        f"{ct['bitrate_kbps']}, {ct['loss']}, {ct['rtt_ms']} ms, {ct['jitter_ms']} ms |\n"
    )
    report.add_row(SECTION, intro, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", default="1,4,8")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--serve-relay", nargs=2, metavar=("PORT", "SECRET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_relay:
        serve_relay(int(args.serve_relay[0]), args.serve_relay[1])
        return 0
    results = asyncio.run(main_async(args))
    if not args.no_write:
        write_row(results)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
