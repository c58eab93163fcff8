"""Conference cascade benchmark: a 3-level media cascade to ≥ 100 points, beside Janus's VideoRoom.

    phonghop bench conference [--points 100] [--provinces 2] [--switches 6] [--seconds 10]
                              [--workers N] [--video-only] [--json] [--no-peer] [--no-report]

Topology (every node is a `phonghop media-node` process on loopback, one quality 360p):
a central node with the host point (a red picture and a tone), K province nodes whose
parent is the central node, N receiving points spread over the provinces, and one
speaker point under each of the first two provinces (blue, green) to give the floor to.
The bench drives the nodes over their control API (no coordination server); the floor
goes to a speaker by `media.cascade.floor_route` (root set_floor(province), province
set_uplink(speaker)).

Receivers are aiortc peer connections, 25 or so per worker process, that never decode:
`media.tap` hands them each reassembled frame undecoded. A receiver counts frames and
notes the time of its first main-feed frame (join: from the start of its offer). A
keyframe's colour is decoded once per worker (the same bytes reach every receiver; a
cache keyed by the bytes), so each receiver knows the colour of every keyframe it got:
switch time is from the first floor_route call until a receiver's first keyframe of the
new speaker's colour (the central node's first frame of a new speaker is a keyframe).

Node CPU: utime + stime of each node process (all threads, /proc) over a steady window
with the host on the floor. The peer: Janus (Debian package `janus`) with its VideoRoom,
HTTP transport on loopback, ICE on a port-less bridge interface's address (10.77.0.1: Janus offers no
loopback candidate). Its publisher relays the central node's own encoded main feed
(tapped, not re-encoded), so Janus forwards the same packets to as many receivers, from
the same worker processes, measured over a window of the same length, after the
cascade's receivers have left.

Prints one JSON object as its last line; without --no-report adds a row under
"## Conference cascade" in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import json
import logging
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.media import ENV, cpu_seconds, free_port, process  # noqa: E402

SECTION = "## Conference cascade"
LAYERS = "360p:640x360@400"
PALETTE = {"red": (210, 40, 40), "blue": (40, 60, 210), "green": (40, 190, 60)}
JANUS_ADDRESS = "10.77.0.1"
JANUS_LINK = "phb0"
JANUS_ROOM = 4242
JOIN_TIMEOUT = 60.0
SWITCH_TIMEOUT = 20.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return round(ordered[rank], 1)


def loadavg() -> float | None:
    with contextlib.suppress(OSError):
        return round(os.getloadavg()[0], 2)
    return None


# --- the receiving side: many points per worker process, none decoding ----------------------------


class KeyframeColours:
    """The colour of a keyframe, decoded once per distinct frame in this process."""

    def __init__(self) -> None:
        import av

        self._decoder = av.CodecContext.create("vp8", "r")
        self._known: dict[bytes, str | None] = {}

    def __call__(self, data: bytes) -> str | None:
        if data in self._known:
            return self._known[data]
        import av

        from media.sources import closest, mean_rgb

        colour = None
        with contextlib.suppress(Exception):
            for frame in self._decoder.decode(av.Packet(data)):
                colour = closest(mean_rgb(frame), PALETTE)
        if len(self._known) > 64:
            self._known.clear()
        self._known[data] = colour
        return colour


class Receiver:
    """A point that only receives the main feed, counting frames via the undecoded tap."""

    def __init__(self, peer_id: str, colours: KeyframeColours) -> None:
        self.peer_id = peer_id
        self.colours = colours
        self.pc = None
        self.started_at = 0.0
        self.first_frame_at: float | None = None
        self.frames = 0
        self.keyframes: list[tuple[float, str | None]] = []

    def on_video(self, data: bytes, timestamp: int) -> None:
        from media.feed import vp8_is_keyframe

        now = time.monotonic()
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        if vp8_is_keyframe(data):
            self.keyframes.append((now, self.colours(data)))

    def first_of(self, colour: str, after: float) -> float | None:
        return next((t for t, c in self.keyframes if t >= after and c == colour), None)

    async def _connected(self) -> None:
        done = asyncio.Event()

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc.connectionState in ("connected", "failed", "closed"):
                done.set()

        if self.pc.connectionState not in ("connected", "failed", "closed"):
            await asyncio.wait_for(done.wait(), JOIN_TIMEOUT)
        if self.pc.connectionState != "connected":
            raise ConnectionError(f"{self.peer_id}: the connection ended as {self.pc.connectionState}")

    async def join_node(self, node, audio: bool = True) -> None:
        """Offer to a media node: receive its picture (and its sound)."""
        from aiortc import RTCSessionDescription

        from media import ice
        from media.cascade import vp8_preferences
        from media.tap import tap

        self.started_at = time.monotonic()
        pc = self.pc = ice.peer_connection()
        video = pc.addTransceiver("video", direction="recvonly")
        video.setCodecPreferences(vp8_preferences())
        tap(video.receiver, self.on_video)
        if audio:
            tap(pc.addTransceiver("audio", direction="recvonly").receiver, _ignore)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await node.accept(self.peer_id, pc.localDescription.sdp, role="point", audio=audio)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await self._connected()
        await self._first_frame()

    async def join_janus(self, janus: JanusSession, publisher: int) -> None:
        """Subscribe to the publisher of the VideoRoom: Janus offers, the receiver answers."""
        from aiortc import RTCSessionDescription

        from media import ice
        from media.tap import tap

        self.started_at = time.monotonic()
        handle = await janus.attach()
        join = {"request": "join", "ptype": "subscriber", "room": JANUS_ROOM, "streams": [{"feed": publisher}]}
        for attempt in range(10):
            try:
                event = await janus.message(handle, join)
                break
            except RuntimeError as exc:  # "No such feed" until the publisher's media is up there
                if "No such feed" not in str(exc) or attempt == 9:
                    raise
                await asyncio.sleep(0.5)
        pc = self.pc = ice.peer_connection()
        await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
        # The receivers start on the next await: tap them first.
        for transceiver in pc.getTransceivers():
            tap(transceiver.receiver, self.on_video if transceiver.kind == "video" else _ignore)
        await pc.setLocalDescription(await pc.createAnswer())
        await janus.message(handle, {"request": "start", "room": JANUS_ROOM},
                            jsep={"type": "answer", "sdp": pc.localDescription.sdp})
        await self._connected()
        await self._first_frame()

    async def _first_frame(self) -> None:
        deadline = time.monotonic() + JOIN_TIMEOUT
        while self.first_frame_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()


def _ignore(data: bytes, timestamp: int) -> None:
    pass


class Worker:
    """One worker process: its receivers, driven by JSON lines on stdin, answering on stdout."""

    def __init__(self) -> None:
        self.colours = KeyframeColours()
        self.receivers: list[Receiver] = []

    async def join(self, points: list[str], join, concurrency: int) -> dict:
        self.receivers = [Receiver(peer_id, self.colours) for peer_id in points]
        gate = asyncio.Semaphore(concurrency)
        failures: list[str] = []

        async def one(receiver: Receiver) -> None:
            async with gate:
                try:
                    await join(receiver)
                except Exception as exc:  # counted: a point that does not receive is a finding
                    failures.append(f"{receiver.peer_id}: {exc or type(exc).__name__}")

        await asyncio.gather(*(one(r) for r in self.receivers))
        return {"join_ms": {r.peer_id: round((r.first_frame_at - r.started_at) * 1000, 1)
                            for r in self.receivers if r.first_frame_at is not None},
                "failures": failures[:5], "failed": len(failures)}

    async def handle(self, command: dict) -> dict:
        from media import ice

        kind = command["cmd"]
        if kind == "join_nodes":
            from media.control import NodeClient

            ice.restrict_host_addresses(["127.0.0.1"])
            nodes = {url: NodeClient(url, command["secret"]) for url in set(command["nodes"].values())}
            return await self.join(list(command["nodes"]),
                                   lambda r: r.join_node(nodes[command["nodes"][r.peer_id]], command["audio"]),
                                   command["concurrency"])
        if kind == "join_janus":
            ice.restrict_host_addresses([JANUS_ADDRESS])
            janus = JanusSession(command["url"])
            await janus.start()
            self._janus = janus
            return await self.join(command["points"], lambda r: r.join_janus(janus, command["publisher"]),
                                   command["concurrency"])
        if kind == "frames":
            return {"frames": {r.peer_id: r.frames for r in self.receivers}}
        if kind == "first":
            after, colour = command["after"], command["colour"]
            deadline = time.monotonic() + SWITCH_TIMEOUT
            while time.monotonic() < deadline and not all(r.first_of(colour, after) for r in self.receivers):
                await asyncio.sleep(0.02)
            return {"seen": {r.peer_id: r.first_of(colour, after) for r in self.receivers}}
        if kind == "close":
            await asyncio.gather(*(r.close() for r in self.receivers), return_exceptions=True)
            if getattr(self, "_janus", None) is not None:
                await self._janus.stop()
                self._janus = None
            self.receivers = []
            return {"closed": True}
        raise ValueError(kind)


async def worker_main() -> None:
    worker = Worker()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "quit":
            await worker.handle({"cmd": "close"})
            break
        try:
            answer = await worker.handle(command)
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


class WorkerProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--worker", cwd=ROOT, env=ENV,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24)
        worker = cls(proc)
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        assert ready.get("ready"), ready
        return worker

    async def ask(self, command: dict) -> dict:
        async with self.lock:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            await self.proc.stdin.drain()
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a receiver worker died")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"a receiver worker failed: {answer['error']}")
        return answer

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 20)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def ask_all(workers: list[WorkerProcess], commands) -> list[dict]:
    return await asyncio.gather(*(w.ask(c) for w, c in zip(workers, commands, strict=True)))


def merged(answers: list[dict], key: str) -> dict:
    return {k: v for a in answers for k, v in a[key].items()}


# --- the peer: Janus's VideoRoom ---------------------------------------------------------------------


class JanusSession:
    """A Janus session over its HTTP API: handles, messages, and their events by long poll."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = None
        self.session = None
        self._waiting: dict[str, asyncio.Future] = {}
        self._poller: asyncio.Task | None = None

    async def start(self) -> None:
        import aiohttp

        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self.session = (await self._post(self.url, {"janus": "create"}))["data"]["id"]
        self._poller = asyncio.ensure_future(self._poll())

    async def _post(self, url: str, body: dict) -> dict:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(6)}
        async with self.http.post(url, json=body) as resp:
            answer = await resp.json(content_type=None)
        if answer.get("janus") == "error":
            raise RuntimeError(f"janus: {answer['error']}")
        return answer

    async def _poll(self) -> None:
        while True:
            try:
                async with self.http.get(f"{self.url}/{self.session}?maxev=20") as resp:
                    events = await resp.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self._waiting.pop(event.get("transaction") or "", None)
                if waiter is not None and not waiter.done() and event.get("janus") == "event":
                    waiter.set_result(event)

    async def attach(self) -> int:
        answer = await self._post(f"{self.url}/{self.session}",
                                  {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return answer["data"]["id"]

    async def message(self, handle: int, body: dict, jsep: dict | None = None, *, sync: bool = False) -> dict:
        transaction = secrets.token_hex(6)
        request = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            request["jsep"] = jsep
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        answer = await self._post(f"{self.url}/{self.session}/{handle}", request)
        if sync or answer.get("janus") == "success":
            self._waiting.pop(transaction, None)
            return answer
        event = await asyncio.wait_for(waiter, JOIN_TIMEOUT)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise RuntimeError(f"janus videoroom: {data['error']}")
        return event

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(BaseException):
                await self._poller
        if self.http is not None:
            with contextlib.suppress(Exception):
                await self._post(f"{self.url}/{self.session}", {"janus": "destroy"})
            await self.http.close()


def janus_config(folder: Path, http_port: int) -> None:
    """Janus in a folder of its own: only the VideoRoom plugin and the HTTP transport, ICE on one address."""
    lib = Path("/usr/lib/x86_64-linux-gnu/janus")
    for kind, name in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        (folder / kind).mkdir()
        (folder / kind / name).symlink_to(lib / kind / name)
    (folder / "janus.jcfg").write_text(f"""
general: {{
    configs_folder = "{folder}"
    plugins_folder = "{folder}/plugins"
    transports_folder = "{folder}/transports"
    events_folder = "{folder}/none"
    loggers_folder = "{folder}/none"
    debug_level = 3
    session_timeout = 0
}}
certificates: {{}}
media: {{
    rtp_port_range = "40000-49999"
}}
nat: {{
    ice_enforce_list = "{JANUS_LINK}"
    nice_debug = false
}}
plugins: {{}}
transports: {{}}
events: {{}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""
general: {{
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_base_path = "/admin"
    admin_http = false
}}
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {}\n")


@contextlib.contextmanager
def dummy_address():
    """A local, non-loopback address for Janus's ICE; removed afterwards if this bench added it.

    A bridge with no ports (this kernel has no dummy interfaces): its address is the
    machine's own, so the traffic stays on the loopback device.
    """
    added = False
    shows = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    if f" {JANUS_ADDRESS}/" not in shows:
        # A link left half-made by a run killed between these steps would refuse the first one.
        subprocess.run(["ip", "link", "del", JANUS_LINK], capture_output=True, check=False)
        for step in (["ip", "link", "add", JANUS_LINK, "type", "bridge"],
                     ["ip", "addr", "add", f"{JANUS_ADDRESS}/24", "dev", JANUS_LINK],
                     ["ip", "link", "set", JANUS_LINK, "up"]):
            subprocess.run(step, capture_output=True, text=True, check=True)
        added = True
    try:
        yield
    finally:
        if added:
            subprocess.run(["ip", "link", "del", JANUS_LINK], capture_output=True, check=False)


class RelayPublisher:
    """The central node's encoded main feed, received undecoded and sent on as it is to Janus."""

    def __init__(self, audio: bool = True) -> None:
        from media.feed import Feed

        self.with_audio = audio
        self.video = Feed("relay:video", "video", on_keyframe_request=self._ask_keyframe)
        self.audio = Feed("relay:audio", "audio")
        self.from_node = None
        self.to_janus = None
        self._video_receiver = None
        self._tasks: set[asyncio.Task] = set()

    def _ask_keyframe(self) -> None:
        from media.tap import send_pli

        if self._video_receiver is not None:
            task = asyncio.ensure_future(send_pli(self._video_receiver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def receive(self, node, peer_id: str) -> None:
        from aiortc import RTCSessionDescription

        from media import ice
        from media.cascade import vp8_preferences
        from media.peer import deliver_to
        from media.tap import tap

        pc = self.from_node = ice.peer_connection()
        video = pc.addTransceiver("video", direction="recvonly")
        video.setCodecPreferences(vp8_preferences())
        tap(video.receiver, deliver_to(self.video))
        self._video_receiver = video.receiver
        if self.with_audio:
            tap(pc.addTransceiver("audio", direction="recvonly").receiver, deliver_to(self.audio))
        await pc.setLocalDescription(await pc.createOffer())
        answer = await node.accept(peer_id, pc.localDescription.sdp, role="point", audio=self.with_audio)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def publish(self, janus: JanusSession) -> int:
        from aiortc import RTCSessionDescription

        from media import ice
        from media.cascade import vp8_preferences
        from media.feed import FeedTrack
        from media.peer import hook_keyframe_requests

        pc = self.to_janus = ice.peer_connection()
        video = pc.addTransceiver(FeedTrack("video", self.video, lazy=True), direction="sendonly")
        video.setCodecPreferences(vp8_preferences())
        hook_keyframe_requests(video)
        if self.with_audio:
            pc.addTransceiver(FeedTrack("audio", self.audio, lazy=True), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        handle = await janus.attach()
        event = await janus.message(handle, {"request": "joinandconfigure", "ptype": "publisher", "room": JANUS_ROOM,
                                             "display": "main feed"},
                                    jsep={"type": "offer", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
        # Janus lists a publisher's feed to subscribers once its media is up.
        deadline = time.monotonic() + JOIN_TIMEOUT
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
                raise ConnectionError(f"the publisher's connection to Janus ended as {pc.connectionState}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # DTLS done at Janus's end too, and its first packets in
        return event["plugindata"]["data"]["id"]

    async def close(self) -> None:
        for pc in (self.to_janus, self.from_node):
            if pc is not None:
                await pc.close()


async def run_peer(args, central, workers: list[WorkerProcess], groups: list[list[str]]) -> dict:
    """Janus's VideoRoom forwarding the central node's main feed to as many receivers."""
    from media import ice

    janus_bin = shutil.which("janus")
    if janus_bin is None:
        return {"peer": None, "reason": "janus is not installed (Debian package janus)"}
    relay = RelayPublisher(audio=not args.video_only)
    ice.restrict_host_addresses(["127.0.0.1"])
    await relay.receive(central, "janus-relay")
    with dummy_address(), tempfile.TemporaryDirectory(prefix="phonghop-janus-") as folder:
        port = free_port()
        janus_config(Path(folder), port)
        log = Path(folder) / "janus.log"
        async with process(janus_bin, "-C", f"{folder}/janus.jcfg", "-F", folder, "-L", str(log), "-N",
                           port=port) as proc:
            janus = JanusSession(f"http://127.0.0.1:{port}/janus")
            await janus.start()
            try:
                admin = await janus.attach()
                await janus.message(admin, {"request": "create", "room": JANUS_ROOM, "publishers": 1,
                                            "videocodec": "vp8", "audiocodec": "opus", "bitrate": 0,
                                            "fir_freq": 0}, sync=True)
                ice.restrict_host_addresses([JANUS_ADDRESS])
                publisher = await relay.publish(janus)
                answers = await ask_all(workers, [
                    {"cmd": "join_janus", "url": janus.url, "publisher": publisher, "points": g,
                     "concurrency": args.concurrency} for g in groups])
                joins = list(merged(answers, "join_ms").values())
                await asyncio.sleep(2)
                window = await steady_window(args.seconds, {"janus": proc.pid}, workers)
                await ask_all(workers, [{"cmd": "close"}] * len(workers))
            finally:
                await janus.stop()
                await relay.close()
    janus_cpu = window["cpu_percent"]["janus"]
    receiving = window["points_receiving"]
    failures = [f for a in answers for f in a["failures"]]
    if not receiving:
        return {"peer": None, "reason": f"no receiver got Janus's frames: {failures[:3]}"}
    return {"peer": "janus-videoroom 1.1.2", "receivers": sum(map(len, groups)), "points_receiving": receiving,
            "join_ms_p50": percentile(joins, 50), "join_ms_p95": percentile(joins, 95),
            "cpu_percent": janus_cpu, "fps_per_point": window["fps_per_point"],
            "cpu_percent_per_stream": round(janus_cpu / max(1, receiving), 3),
            "cpu_us_per_frame": us_per_frame(janus_cpu, window),
            "failed": sum(a["failed"] for a in answers), "failures": failures[:3]}


# --- the cascade ----------------------------------------------------------------------------------


async def steady_window(seconds: float, pids: dict[str, int], workers: list[WorkerProcess]) -> dict:
    before = merged(await ask_all(workers, [{"cmd": "frames"}] * len(workers)), "frames")
    pids = {**pids, "bench": os.getpid(), **{f"receivers-{i + 1}": w.proc.pid for i, w in enumerate(workers)}}
    cpu, wall = {name: cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
    await asyncio.sleep(seconds)
    cpu = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
    wall = time.monotonic() - wall
    after = merged(await ask_all(workers, [{"cmd": "frames"}] * len(workers)), "frames")
    received = {p: after[p] - before.get(p, 0) for p in after}
    percent = {name: round(c / wall * 100, 2) for name, c in cpu.items()}
    ours = [name for name in percent if name == "bench" or name.startswith("receivers-")]
    return {"cpu_percent": {name: v for name, v in percent.items() if name not in ours},
            "bench_cpu_percent": {name: percent[name] for name in ours},
            "points_receiving": sum(1 for n in received.values() if n > 0),
            "frames": sum(received.values()), "seconds": wall,
            "fps_per_point": round(sum(received.values()) / max(1, len(received)) / wall, 1)}


def us_per_frame(cpu_percent: float, window: dict) -> float | None:
    """CPU µs per frame delivered to a receiver: fair when a starved machine delivers fewer frames."""
    if not window["frames"]:
        return None
    return round(cpu_percent / 100 * window["seconds"] * 1e6 / window["frames"], 1)


async def apply_route(nodes: dict, path: list[tuple[str, str]]) -> None:
    from media.cascade import floor_route

    for node_id, action, peer_id in reversed(floor_route(path)):  # from the point up: the root last
        await getattr(nodes[node_id], action)(peer_id)


async def run(args) -> dict:
    from media import ice
    from media.control import NodeClient
    from media.point import Point
    from media.sources import SyntheticVideo, Tone
    from server.domain.errors import DomainError

    ice.restrict_host_addresses(["127.0.0.1"])
    out: dict = {"points": args.points, "levels": 3, "provinces": args.provinces,
                 "streams": "picture" if args.video_only else "picture and sound", "load_avg_start": loadavg()}
    secret = secrets.token_hex(12)
    ids = ["central", *(f"province-{i + 1}" for i in range(args.provinces))]
    ports = {node_id: free_port() for node_id in ids}
    urls = {node_id: f"http://127.0.0.1:{port}" for node_id, port in ports.items()}
    async with contextlib.AsyncExitStack() as stack:
        procs = {}
        for node_id in ids:
            procs[node_id] = await stack.enter_async_context(process(
                sys.executable, "-m", "server.cli", "media-node", "--listen", f"127.0.0.1:{ports[node_id]}",
                "--secret", secret, "--node-id", node_id, "--layers", LAYERS, port=ports[node_id]))
        nodes = {node_id: NodeClient(url, secret, timeout=60) for node_id, url in urls.items()}
        for node_id in ids[1:]:
            await nodes[node_id].set_parent(urls["central"], secret)

        # The host on the central node, a speaker under each of the first two provinces.
        colours = iter(PALETTE.items())
        speakers = []  # (name, colour, route from the root)
        for node_id, peer_id in [("central", "host"), *((f"province-{i + 1}", f"speaker-{i + 1}")
                                                         for i in range(min(2, args.provinces)))]:
            name, rgb = next(colours)
            point = Point(peer_id, video=SyntheticVideo(320, 180, fps=15, color=rgb), audio=Tone(), receive=False)
            stack.push_async_callback(point.close)
            await point.connect(nodes[node_id])
            route = [("central", peer_id)] if node_id == "central" else [("central", node_id), (node_id, peer_id)]
            speakers.append((peer_id, name, route))
        await apply_route(nodes, speakers[0][2])

        count = args.workers or max(1, min(4, math.ceil(args.points / 25)))
        workers = await asyncio.gather(*(WorkerProcess.start() for _ in range(count)))
        for w in workers:
            stack.push_async_callback(w.stop)
        points = [f"xa-{i + 1}" for i in range(args.points)]
        home = {p: urls[ids[1 + i % args.provinces]] for i, p in enumerate(points)}
        groups = [points[i::count] for i in range(count)]

        started = time.monotonic()
        answers = await ask_all(workers, [{"cmd": "join_nodes", "secret": secret, "concurrency": args.concurrency,
                                           "audio": not args.video_only,
                                           "nodes": {p: home[p] for p in g}} for g in groups])
        joins = list(merged(answers, "join_ms").values())
        out.update({"join_all_s": round(time.monotonic() - started, 1), "join_ms_p50": percentile(joins, 50),
                    "join_ms_p95": percentile(joins, 95), "join_failed": sum(a["failed"] for a in answers),
                    "join_failures": [f for a in answers for f in a["failures"]][:5]})

        await asyncio.sleep(2)
        window = await steady_window(args.seconds, {n: procs[n].pid for n in ids}, workers)
        cpu = window["cpu_percent"]
        receiving = window["points_receiving"]
        province_cpu = sum(cpu[n] for n in ids[1:])
        out.update({
            "points_receiving": receiving, "fps_per_point": window["fps_per_point"], "window_s": args.seconds,
            "node_cpu_percent": cpu, "bench_cpu_percent": window["bench_cpu_percent"],
            "node_cpu_percent_per_point": round(sum(cpu.values()) / max(1, receiving), 3),
            # A province node receives the main feed once and forwards it: what an SFU does.
            "forward_cpu_percent_per_stream": round(province_cpu / max(1, receiving), 3),
            "forward_cpu_us_per_frame": us_per_frame(province_cpu, window),
        })

        # Floor switches: from the host to a speaker under a province and back, in turn.
        turns = itertools.chain.from_iterable(zip(itertools.cycle(speakers[1:] or speakers), itertools.repeat(speakers[0])))
        targets = list(itertools.islice(turns, args.switches))
        all_ms, every_ms, missing, refused = [], [], 0, []
        for _speaker, colour, route in targets:
            await asyncio.sleep(1.5)
            began = time.monotonic()
            try:
                await apply_route(nodes, route)
            except DomainError as exc:  # a node lost the speaker (or a child): a finding, not a crash
                refused.append(exc.message)
                continue
            seen = merged(await ask_all(workers, [{"cmd": "first", "colour": colour, "after": began}] * count), "seen")
            times = [(t - began) * 1000 for t in seen.values() if t is not None]
            missing += sum(1 for t in seen.values() if t is None)
            every_ms.extend(times)
            if times and len(times) == len(seen):
                all_ms.append(max(times))
        out.update({"switches": len(targets), "switch_ms_p50": percentile(all_ms, 50),
                    "switch_ms_p95": percentile(all_ms, 95), "switch_ms_all": [round(t, 1) for t in all_ms],
                    "switch_point_ms_p50": percentile(every_ms, 50), "switch_point_ms_p95": percentile(every_ms, 95),
                    "switch_missed": missing, "switch_refused": refused[:3], "switches_refused": len(refused)})
        with contextlib.suppress(DomainError):
            await apply_route(nodes, speakers[0][2])
        final = merged(await ask_all(workers, [{"cmd": "frames"}] * count), "frames")
        out["points_receiving_end"] = sum(1 for n in final.values() if n > 0)
        await ask_all(workers, [{"cmd": "close"}] * count)

        if args.no_peer:
            out["peer"] = None
            out["peer_reason"] = "--no-peer"
        else:
            try:
                peer = await run_peer(args, nodes["central"], workers, groups)
            except Exception as exc:
                peer = {"peer": None, "reason": f"{type(exc).__name__}: {exc}"}
            out["peer"] = peer
            if peer.get("cpu_percent_per_stream"):
                out["cpu_ratio_to_peer"] = round(out["forward_cpu_percent_per_stream"] / peer["cpu_percent_per_stream"], 2)
                out["cpu_ratio_to_peer_per_frame"] = round(out["forward_cpu_us_per_frame"] / peer["cpu_us_per_frame"], 2)
    out["load_avg_end"] = loadavg()
    return out


# --- the row --------------------------------------------------------------------------------------


INTRO = (
    "Reproduce: `phonghop bench conference --json`.\n"
    "Targets (issue 5): ≥ 100 points in a 3-level cascade, all receiving; switch_ms_p95 ≤ 1,000 ms; join_ms_p95 "
    "≤ 2,000 ms; the node's CPU per forwarded stream within 2× of Janus's VideoRoom in the same run.\n"
    "A central `phonghop media-node` process (one quality, 360p VP8 at 400 kbit/s, and Opus) with the host point, K "
    "province node processes whose parent it is, N receiving points spread over the provinces, a speaker point under "
    "each of the first two provinces; the bench drives the nodes over their control API (`floor_route`: root "
    "set_floor(province), province set_uplink(speaker)). Receivers: aiortc peer connections in worker processes, "
    "never decoding (media.tap hands them each reassembled frame); each keyframe's colour is decoded once per "
    "worker. join: from a point's offer to its first main-feed frame (points join 4 at a time per worker). switch: "
    "from the first floor call until every point has a keyframe of the new speaker's colour (p50 / p95 over the "
    "switches; in brackets over every point and switch). CPU: utime + stime of the node processes over a steady "
    "window (host on the floor), % of one core; per point = all nodes over the receiving points; per stream = the "
    "province nodes (receive once, forward: an SFU's work) over the streams they forward (picture and sound to a "
    "point); also as CPU µs per frame delivered to a receiver, which stays fair when a starved machine delivers "
    "fewer frames (fps: frames per second each receiver got). Peer: Janus 1.1.2 (Debian `janus`) VideoRoom, HTTP transport, ICE on a port-less bridge interface's 10.77.0.1; "
    "its publisher relays the central node's encoded main feed as it is, the same receivers subscribe, Janus's CPU "
    "over a window as long, after the cascade's receivers left. Load avg: the machine's at start → end (2 cores, "
"shared with the receivers). A run whose fps is far below the source's 15 was starved by the machine: its "
    "node CPU is then capped by the scheduler's share (each node is one event loop; Janus has a thread per "
    "handle), not set by the work, and its ratio means little.\n\n"
    "| date | machine | command | streams | points (receiving) | fps | join p50 / p95 | switch p50 / p95 (every "
    "point) | node CPU (central · provinces) | CPU / point | CPU / stream (µs / frame) | Janus CPU / stream "
    "(µs / frame; receiving, fps) | ratio (per frame) | load avg |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
)


def record(out: dict, command: str) -> None:
    cpu = out["node_cpu_percent"]
    provinces = " + ".join(str(v) for k, v in cpu.items() if k != "central")
    peer = out.get("peer") or {}
    switches = (f"{out['switch_ms_p50']} / **{out['switch_ms_p95']}** ms ({out['switch_point_ms_p50']} / "
                f"{out['switch_point_ms_p95']})" if out["switch_ms_p95"] is not None else "—")
    if out["switch_missed"] or out["switches_refused"]:
        switches += (f"; of {out['switches']}: {out['switches_refused']} refused (a node lost the speaker), "
                     f"{out['switch_missed']} point-switches not seen in {SWITCH_TIMEOUT:.0f} s")
    janus = (f"{peer['cpu_percent_per_stream']}% ({peer['cpu_us_per_frame']} µs; {peer['points_receiving']}, "
             f"{peer['fps_per_point']} fps)" if peer.get("cpu_percent_per_stream")
             else f"— ({peer.get('reason') or out.get('peer_reason') or 'none'})")
    row = (
        f"| {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC | {report.machine()} | `{command}` | "
        f"{out['streams']} | {out['points']} ({out['points_receiving']}) | {out['fps_per_point']} | "
        f"{out['join_ms_p50']} / **{out['join_ms_p95']}** ms | "
        f"{switches} | {cpu['central']}% · {provinces}% | {out['node_cpu_percent_per_point']}% | "
        f"{out['forward_cpu_percent_per_stream']}% ({out['forward_cpu_us_per_frame']} µs) | {janus} | "
        f"**{out.get('cpu_ratio_to_peer', '—')}** ({out.get('cpu_ratio_to_peer_per_frame', '—')}) | "
        f"{out['load_avg_start']} → {out['load_avg_end']} |\n"
    )
    report.add_row(SECTION, INTRO, row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--provinces", type=int, default=2)
    parser.add_argument("--switches", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0, help="the steady window for CPU")
    parser.add_argument("--workers", type=int, default=0, help="receiver processes (default: one per 25 points, ≤ 4)")
    parser.add_argument("--concurrency", type=int, default=4, help="points joining at once per worker")
    parser.add_argument("--video-only", action="store_true",
                        help="receivers (and Janus's) take the picture only: half the packets on a busy machine")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-report", dest="no_write", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for noisy in ("aioice", "aiortc"):  # a line per ICE check of a hundred connections drowns the figures
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.worker:
        asyncio.run(worker_main())
        return 0
    if args.points < 1 or args.provinces < 1:
        parser.error("--points and --provinces are at least 1")
    out = asyncio.run(run(args))
    report.finish("conference", out, args, argv, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
