"""The `session` scenario: a whole sitting, as a hall and its bridge points live it.

The coordinator (this process) is the secretariat; worker processes each drive a share of
the devices, phase by phase, and answer what they did:

 1. sign in: every tablet and point (a password, or a given session token);
 2. the meeting: the one named, or a new one the sim makes of these accounts (an agenda
    of three items, a small paper uploaded, the meeting published and started);
 3. connect and join (a snapshot each), then check in; each point reports its head count;
 4. the agenda: the secretariat moves to the first item; every device must see it;
 5. documents: each tablet lists the pages of every paper it may read and fetches some;
 6. a poll: the secretariat opens a motion, every tablet votes (a seeded choice), each
    point enters its show of hands; the poll is closed and must count exactly the
    ballots that were acknowledged;
 7. the floor and comments: some tablets ask to speak (one is given the floor and
    stopped), one point asks for the floor, some tablets comment on an item;
 8. a forced disconnect: every device loses its connection at once (no goodbye) while
    the secretariat moves through the agenda, comes back, joins with `since` and must
    end current, having applied no event twice;
 9. the end: a last event every device must reach; the sim's own meeting is closed.

Every step's failures are counted; the run fails when there is any.
"""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
import random
import secrets
import time
from dataclasses import dataclass, field

import aiohttp

from clients.sim.tablet import Device, Failed, Ops

MOTION = ("yes", "no", "abstain")


# --- workers ------------------------------------------------------------------------------


@dataclass
class Share:
    """The devices one worker drives: credentials of tablets and points."""

    url: str
    tablets: list[dict]  # {"username", "password"} or {"token"}
    points: list[dict]
    seed: int
    index: int
    spread: float = 2.0  # seconds over which a phase's actions start
    check_in_spread: float = 2.0  # ...and the check-ins (in a hall: a quarter of an hour)
    step_timeout: float = 120.0


@dataclass
class Worker:
    share: Share
    http: aiohttp.ClientSession | None = None
    ops: Ops = field(default_factory=Ops)
    tablets: list[Device] = field(default_factory=list)
    points: list[Device] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    codes: dict = field(default_factory=dict)  # a point operator's user id -> the point's unit code

    @property
    def devices(self) -> list[Device]:
        return self.tablets + self.points

    async def each(self, devices: list[Device], work, spread: float | None = None) -> None:
        """`work(device)` for each device, started at a random moment within `spread`
        seconds; a device whose step failed has its failure counted already."""
        spread = self.share.spread if spread is None else spread
        delays = [self.rng.uniform(0, spread) for _ in devices]

        async def one(device: Device, delay: float) -> None:
            await asyncio.sleep(delay)
            try:
                await work(device)
            except Failed:
                pass
            except Exception as exc:  # a bug of the step: counted, the run goes on
                self.ops.failed("step", f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(d, t) for d, t in zip(devices, delays, strict=True)))

    # --- phases (names are the messages of the coordinator) --------------------------------

    async def sign_in(self) -> dict:
        connector = aiohttp.TCPConnector(limit=200)
        self.http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300))
        url = self.share.url
        self.tablets = [Device(url, self.http, self.ops, **c) for c in self.share.tablets]
        self.points = [Device(url, self.http, self.ops, **c) for c in self.share.points]
        await self.each(self.devices, lambda d: d.sign_in(), spread=min(self.share.spread, 1.0))
        return {"tablets": [d.user for d in self.tablets], "points": [d.user for d in self.points]}

    async def connect(self, meeting_id: int) -> dict:
        await self.each(self.devices, lambda d: d.connect(meeting_id) if d.user else _skip())
        return {"joined": sum(1 for d in self.devices if d.heads is not None)}

    async def check_in(self, meeting_id: int) -> dict:
        async def tablet(d: Device) -> None:
            await d.command("check_in", "attendance.check_in", meeting_id=meeting_id)

        async def point(d: Device) -> None:
            await d.command("point_count", "attendance.point_count", meeting_id=meeting_id,
                            point=self.codes[str(d.user["id"])], seated=self.rng.randint(10, 60))

        # The hall first, then the points: every check-in's event carries the quorum, whose
        # list of points grows with each report.
        await self.each(self.joined(self.tablets), tablet, spread=self.share.check_in_spread)
        await self.each(self.joined(self.points), point)
        return {}

    async def see(self, seq: int) -> dict:
        """Every joined device reaches `seq` in the meeting's audience."""
        late = 0

        async def one(d: Device) -> None:
            nonlocal late
            started = time.perf_counter()
            if await d.wait_until(lambda: d.head("meeting") >= seq, self.share.step_timeout):
                self.ops.ok("see_event", started)
            else:
                late += 1
                self.ops.failed("see_event", f"event {seq} not seen within {self.share.step_timeout:g} s "
                                             f"(head {d.head('meeting')})")

        await asyncio.gather(*(one(d) for d in self.joined(self.devices)))
        return {"late": late}

    async def documents(self, pages_each: int) -> dict:
        fetched = 0

        async def tablet(d: Device) -> None:
            nonlocal fetched
            for doc in list(d.documents.values()):
                if doc.get("status") != "published":
                    continue
                listing = None
                deadline = time.monotonic() + self.share.step_timeout
                while time.monotonic() < deadline:  # rendered on upload: wait for its first pages
                    listing = await d.request("page_list", "GET", f"/api/documents/{doc['id']}/pages")
                    if listing["pages"]:
                        break
                    await asyncio.sleep(0.5)
                if not listing or not listing["pages"]:
                    self.ops.failed("page_list", f"document {doc['id']} has no page ready")
                    continue
                for page in self.rng.sample(listing["pages"], min(pages_each, len(listing["pages"]))):
                    body = await d.request("page_image", "GET", page["tablet"], raw=True)
                    if not body.startswith(b"\xff\xd8"):
                        self.ops.failed("page_image", f"{page['tablet']} is not a JPEG")
                    fetched += 1

        await self.each(self.joined(self.tablets), tablet)
        return {"pages": fetched}

    async def vote(self, meeting_id: int, poll_id: int, window: float) -> dict:
        acked = 0

        async def tablet(d: Device) -> None:
            nonlocal acked
            if not await d.wait_until(lambda: d.polls.get(poll_id, {}).get("state") == "open",
                                      self.share.step_timeout):
                self.ops.failed("vote", f"poll {poll_id} never seen open")
                return
            answer = await d.command("vote", "poll.vote", meeting_id=meeting_id, poll_id=poll_id,
                                     choice=self.rng.choice(MOTION))
            if answer["result"].get("accepted") and not answer["result"].get("already_voted"):
                acked += 1
            else:
                self.ops.failed("vote", f"not accepted: {answer['result']}")

        async def point(d: Device) -> None:
            if not await d.wait_until(lambda: d.polls.get(poll_id, {}).get("state") == "open",
                                      self.share.step_timeout):
                self.ops.failed("hands", f"poll {poll_id} never seen open")
                return
            poll = d.polls[poll_id]
            code = self.codes[str(d.user["id"])]
            present = (poll.get("points_present") or {}).get(code, 0)
            yes = self.rng.randint(0, present)
            no = self.rng.randint(0, present - yes)
            await d.command("hands", "poll.hands", meeting_id=meeting_id, poll_id=poll_id, point=code,
                            counts={"yes": yes, "no": no, "abstain": present - yes - no})

        await asyncio.gather(self.each(self.joined(self.tablets), tablet, spread=window),
                             self.each(self.joined(self.points), point, spread=window))
        return {"acked": acked}

    async def floor(self, meeting_id: int, item_id: int, speakers: int, comments: int) -> dict:
        asked: list[int] = []
        tablets = self.joined(self.tablets)

        async def speak(d: Device) -> None:
            answer = await d.command("speaker_request", "speaker.request", meeting_id=meeting_id,
                                     agenda_item_id=item_id, topic="Ý kiến về báo cáo")
            asked.append(answer["result"]["request_id"])

        async def comment(d: Device) -> None:
            await d.command("comment", "comment.add", meeting_id=meeting_id,
                            anchor={"kind": "item", "agenda_item_id": item_id},
                            text="Đề nghị bổ sung số liệu so sánh cùng kỳ.", visibility="all")

        async def point(d: Device) -> None:
            await d.command("speaker_request", "speaker.request", meeting_id=meeting_id, agenda_item_id=item_id,
                            topic="Điểm cầu xin phát biểu")

        await asyncio.gather(self.each(tablets[:speakers], speak), self.each(tablets[speakers:speakers + comments],
                                                                               comment),
                             self.each(self.joined(self.points)[:1], point))
        return {"requests": asked}

    async def drop(self) -> dict:
        await asyncio.gather(*(d.drop() for d in self.joined(self.devices)))
        return {}

    async def rejoin(self, meeting_id: int) -> dict:
        devices = [d for d in self.devices if d.heads is not None]
        await self.each(devices, lambda d: d.connect(meeting_id))
        return {"rejoined": sum(1 for d in devices if d.sio is not None)}

    async def report(self) -> dict:
        duplicates = sum(d.duplicates_applied() for d in self.devices)
        if duplicates:
            self.ops.failed("events", f"{duplicates} events applied twice")
        out = {"ops": self.ops.as_dict(), "duplicates_applied": duplicates,
               "dropped_duplicates": sum(d.dropped_duplicates for d in self.devices),
               "resyncs": sum(d.resyncs for d in self.devices)}
        self.ops = Ops()
        for d in self.devices:
            d.ops = self.ops
        return out

    async def finish(self) -> dict:
        await asyncio.gather(*(d.close() for d in self.devices), return_exceptions=True)
        if self.http is not None:
            await self.http.close()
        return {}

    def joined(self, devices: list[Device]) -> list[Device]:
        return [d for d in devices if d.sio is not None and d.heads is not None]


async def _skip() -> None:
    return None


def worker_main(conn, share: Share) -> None:
    """A worker process: phases in, answers out, over `conn` (a multiprocessing pipe)."""

    # The socket.io client library logs a connection it lost as an error; the sim counts
    # its own failures, and a dropped connection is one of its steps.
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    async def run() -> None:
        worker = Worker(share)
        worker.rng.seed(share.seed * 1_000_003 + share.index)
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            name, args = message["phase"], message.get("args", {})
            if name == "codes":
                worker.codes = args["codes"]
                conn.send({"ok": True})
                continue
            try:
                answer = await getattr(worker, name)(**args)
                conn.send({"ok": True, **answer})
            except Exception as exc:  # the worker itself failed: the coordinator stops the run
                conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            if name == "finish":
                return

    asyncio.run(run())


class Workers:
    def __init__(self, url: str, tablets: list[dict], points: list[dict], *, processes: int, seed: int,
                 spread: float, check_in_spread: float, step_timeout: float) -> None:
        context = multiprocessing.get_context("spawn")
        processes = max(1, min(processes, len(tablets) + len(points)))
        self.pipes, self.procs, self.shares = [], [], []
        for n in range(processes):
            share = Share(url, tablets[n::processes], points[n::processes], seed, n, spread, check_in_spread,
                          step_timeout)
            ours, theirs = context.Pipe()
            proc = context.Process(target=worker_main, args=(theirs, share), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)
            self.shares.append(share)

    async def phase(self, name: str, **args) -> list[dict]:
        for pipe in self.pipes:
            pipe.send({"phase": name, "args": args})
        answers = await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in self.pipes))
        for answer in answers:
            if not answer.get("ok"):
                raise RuntimeError(f"a worker failed in {name}: {answer.get('error')}")
        return answers

    def stop(self) -> None:
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# --- the coordinator: the secretariat --------------------------------------------------------


def sample_pdf(pages: int = 3) -> bytes:
    """A small paper for the meeting (PyMuPDF, a dependency of the server)."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page()
        page.insert_text((72, 100), f"Du thao bao cao - trang {n + 1}", fontsize=20)
        page.insert_text((72, 140), "Phien thu tai cua phonghop sim.", fontsize=12)
    out = io.BytesIO(doc.tobytes())
    doc.close()
    return out.getvalue()


class Secretariat:
    def __init__(self, url: str, http: aiohttp.ClientSession, ops: Ops, creds: dict) -> None:
        self.device = Device(url, http, ops, **creds)

    async def run(self, name: str, **data) -> dict:
        return await self.device.request(f"secretariat:{name}", "POST", f"/api/commands/{name}", json=data,
                                         key=secrets.token_hex(8))


async def session(url: str, *, secretariat: dict, tablets: list[dict], points: list[dict], meeting_id: int | None,
                  processes: int, seed: int, spread: float = 2.0, check_in_spread: float | None = None,
                  vote_window: float = 2.0, pages_each: int = 2, step_timeout: float = 120.0, progress=print,
                  devices=None) -> dict:
    """Run the scenario; the summary (`failures` counts every failed step). `devices` makes the
    devices' workers (default `Workers`, python-socketio; bench/mixed.py passes Node's)."""
    ops = Ops()
    phases: dict[str, float] = {}
    checks: dict = {}
    rng = random.Random(seed)
    workers = (devices or Workers)(url, tablets, points, processes=processes, seed=seed, spread=spread,
                      check_in_spread=spread if check_in_spread is None else check_in_spread,
                      step_timeout=step_timeout)
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))
    started = time.perf_counter()
    own_meeting = meeting_id is None

    async def phase(name: str, label: str | None = None, **args) -> list[dict]:
        label = label or name
        t0 = time.perf_counter()
        answers = await workers.phase(name, **args)
        phases[label] = round(phases.get(label, 0) + time.perf_counter() - t0, 2)
        progress(f"sim: {label} done in {phases[label]:.1f} s")
        return answers

    try:
        staff = Secretariat(url, http, ops, secretariat)
        await staff.device.sign_in()
        signed = await phase("sign_in")
        tablet_users = [u for a in signed for u in a["tablets"] if u]
        point_users = [u for a in signed for u in a["points"] if u]
        units = (await staff.device.request("units", "GET", "/api/units"))["units"]
        code_of = {u["id"]: u["code"] for u in units}
        if own_meeting:
            meeting_id, item_ids = await _make_meeting(staff, tablet_users, point_users, units)
        else:
            snap = await staff.device.request("snapshot", "GET", f"/api/meetings/{meeting_id}")
            item_ids = [i["id"] for i in snap["agenda"]]
            if snap["meeting"]["status"] == "published":
                await staff.run("meeting.start", meeting_id=meeting_id)
        await workers.phase("codes", codes={str(u["id"]): code_of.get(u["unit_id"]) for u in point_users})
        await phase("connect", meeting_id=meeting_id)
        await phase("check_in", meeting_id=meeting_id)
        seq = (await staff.run("agenda.set_current", meeting_id=meeting_id, item_id=item_ids[0]))["seq"]
        await phase("see", label="agenda", seq=seq)
        pages = await phase("documents", pages_each=pages_each)
        checks["pages_fetched"] = sum(a["pages"] for a in pages)

        poll_id = (await staff.run("poll.create", meeting_id=meeting_id, kind="motion",
                                   title="Thông qua chương trình hội nghị", agenda_item_id=item_ids[0]))["result"]["poll_id"]
        await staff.run("poll.open", meeting_id=meeting_id, poll_id=poll_id)
        votes = await phase("vote", meeting_id=meeting_id, poll_id=poll_id, window=vote_window)
        acked = sum(a["acked"] for a in votes)
        closed = (await staff.run("poll.close", meeting_id=meeting_id, poll_id=poll_id))["result"]["poll"]
        checks["ballots_acknowledged"] = acked
        checks["ballots_counted"] = closed["voted_count"]
        if closed["voted_count"] != acked:
            ops.failed("poll", f"the poll counted {closed['voted_count']} ballots, {acked} were acknowledged")
        await staff.run("poll.publish", meeting_id=meeting_id, poll_id=poll_id)

        item = item_ids[min(1, len(item_ids) - 1)]
        await staff.run("agenda.set_current", meeting_id=meeting_id, item_id=item)
        n = len(tablet_users)
        floor = await phase("floor", meeting_id=meeting_id, item_id=item, speakers=max(1, min(20, n // 20)),
                            comments=max(1, min(20, n // 20)))
        requests = [r for a in floor for r in a["requests"]]
        if requests:
            first = rng.choice(requests)
            await staff.run("speaker.approve", meeting_id=meeting_id, request_id=first)
            await staff.run("speaker.start", meeting_id=meeting_id, request_id=first)
            await staff.run("speaker.stop", meeting_id=meeting_id, request_id=first)

        await phase("drop")
        for item in item_ids:  # the hall goes on while the tablets are away
            await staff.run("agenda.set_current", meeting_id=meeting_id, item_id=item)
        await phase("rejoin", meeting_id=meeting_id)
        seq = (await staff.run("agenda.set_current", meeting_id=meeting_id, item_id=item_ids[0]))["seq"]
        await phase("see", label="end", seq=seq)
        reports = await workers.phase("report")
        for r in reports:
            ops.merge(r["ops"])
        checks["duplicates_applied"] = sum(r["duplicates_applied"] for r in reports)
        checks["dropped_duplicates"] = sum(r["dropped_duplicates"] for r in reports)
        checks["gap_resyncs"] = sum(r["resyncs"] for r in reports)
        if own_meeting:
            await staff.run("meeting.close", meeting_id=meeting_id)
        checks["meeting_id"] = meeting_id
        checks["poll_id"] = poll_id
    except Failed:
        pass  # a step of the secretariat failed: counted already; the run stops there
    finally:
        try:
            await workers.phase("finish")
        finally:
            workers.stop()
            await http.close()
    return summary(ops, phases, checks, time.perf_counter() - started, tablets=len(tablets), points=len(points),
                   processes=len(workers.procs), seed=seed)


async def _make_meeting(staff: Secretariat, tablets: list[dict], points: list[dict], units: list[dict]):
    """A meeting of these accounts for the sim alone: the secretariat's account chairs it, its
    delegates vote, its points' operators each at their own unit; three agenda items, a
    paper, published and started."""
    unit_id = staff.device.user.get("unit_id") or units[0]["id"]
    stamp = time.strftime("%Y-%m-%d %H:%M")
    meeting = (await staff.run("meeting.create", title=f"Phiên thử tải (phonghop sim) {stamp}", unit_id=unit_id,
                               quorum="1/2"))["result"]["meeting"]
    mid = meeting["id"]
    await staff.run("participant.add", meeting_id=mid, user_id=staff.device.user["id"], role="chair", voting=False)
    for u in tablets:
        await staff.run("participant.add", meeting_id=mid, user_id=u["id"], role="delegate", voting=True)
    for u in points:
        await staff.run("participant.add", meeting_id=mid, user_id=u["id"], role="operator", voting=False,
                        unit_id=u["unit_id"])
    item_ids = []
    for title in ("Khai mạc", "Báo cáo tình hình", "Bế mạc"):
        answer = await staff.run("agenda.add", meeting_id=mid, title=title)
        item_ids = [i["id"] for i in answer["result"]["agenda"]]
    upload = await _upload(staff, mid, sample_pdf(), "Du-thao-bao-cao.pdf")
    await staff.run("document.add", meeting_id=mid, upload_id=upload, agenda_item_id=item_ids[1],
                    title="Dự thảo báo cáo")
    await staff.run("meeting.publish", meeting_id=mid)
    await staff.run("document.publish", meeting_id=mid)
    await staff.run("meeting.start", meeting_id=mid)
    return mid, item_ids


async def _upload(staff: Secretariat, meeting_id: int, content: bytes, filename: str) -> int:
    d = staff.device
    started = time.perf_counter()
    async with d.http.post(f"{d.url}/api/meetings/{meeting_id}/uploads", params={"filename": filename},
                           data=content, headers={"Authorization": f"Bearer {d.token}"}) as resp:
        body = await resp.json(content_type=None)
        if resp.status >= 400:
            d.ops.failed("secretariat:upload", f"{resp.status} {body}")
            raise Failed(str(body))
    d.ops.ok("secretariat:upload", started)
    return body["upload"]["id"]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(ops: Ops, phases: dict, checks: dict, seconds: float, **about) -> dict:
    table = {}
    for op, values in sorted(ops.latencies.items()):
        table[op] = {"n": len(values), "p50_ms": round(_percentile(values, 50), 1),
                     "p95_ms": round(_percentile(values, 95), 1), "p99_ms": round(_percentile(values, 99), 1),
                     "max_ms": round(max(values), 1), "errors": ops.errors.get(op, 0)}
    for op, n in ops.errors.items():
        table.setdefault(op, {"n": 0, "errors": n})
    failures = sum(ops.errors.values())
    return {**about, "seconds": round(seconds, 1), "operations": sum(len(v) for v in ops.latencies.values()),
            "failures": failures, "ops": table, "phases_s": phases, "checks": checks,
            "failure_examples": ops.examples}
