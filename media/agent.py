"""The bridge agent: a bridge point without a screen (`phonghop bridge-agent`).

It runs the connection test, then joins as a point: sends a synthetic source (a coloured
picture and a tone) or a media file, receives the main feed, and prints what it measures
as JSON lines, one object each: `{"event": "verdict", ...}`, `{"event": "joined", ...}`,
`{"event": "stats", ...}` every `--report-every` seconds, and `{"event": "summary", ...}`
at the end. For kiosks, tests and load.

Signalling. Through the coordination server (`--server URL --meeting ID --token T |
--pair-code C`, `ServerSignalling`: socket.io, docs/conference.md), as a point's operator: the
connection test is recorded on the live board, the seated count reported (`--seated N`), the
floor asked for (`--request-floor TOPIC`). Or straight to a media node's control API
(`--node URL --secret S`, docs/media.md), for the media plane alone. Anything with `accept`,
`verdict` and `close_peer` will do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time

from media.settings import NodeSettings
from server.domain.errors import DomainError


class ServerSignalling:
    """Offers through the coordination server's socket.io (docs/conference.md, "Media").

    `start()` signs in (a session token, or a one-time pairing code redeemed at
    `POST /api/auth/pair`), connects, joins the meeting and watches its own point. Then the
    node's methods go through the server: `accept` is `media.offer` (role `probe` for the
    connection test, `point` to join), `verdict` is `media.verdict` (recorded on the board as
    the point's test), `close_peer` is `media.close`. `report` sends `point.report` (the
    seated count), `request_floor` a `speaker.request`. The socket reconnects by itself and
    joins the meeting again; the agent offers again when its media drops.

    Re-homing. The server names the media node that serves the point (`node` in the
    answer to `media.offer` and on the board). When the node dies, the server moves the
    point to another node and says so in `conference.my_point`; the agent then asks the
    server (`conference.watch`) which node serves it now and, if it is another, offers again
    (the server sends the offer to the new node). `wake` is set at such a notice so the
    agent need not wait for its next report.
    """

    def __init__(self, url: str, *, token: str | None = None, pair_code: str | None = None,
                 meeting_id: int | None = None, device_name: str = "phonghop bridge-agent",
                 timeout: float = 20.0) -> None:
        if meeting_id is None:
            raise DomainError("--server needs --meeting ID", code="invalid", status=422)
        if not token and not pair_code:
            raise DomainError("--server needs --token T or --pair-code C", code="invalid", status=422)
        self.url = url.rstrip("/")
        self.token = token
        self.pair_code = pair_code
        self.meeting_id = meeting_id
        self.device_name = device_name
        self.timeout = timeout
        self.sio = None
        self.point: dict | None = None  # this point as the board last showed it
        self.node: str | None = None  # the media node of the current point connection
        self.wake: asyncio.Event | None = None  # set when the board names another node
        self.reconnects = 0
        self._roles: dict[str, str] = {}
        self._joined_once = False
        self._rejoin: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        import aiohttp
        import socketio

        if self.token is None:
            async with aiohttp.ClientSession() as http, http.post(
                    f"{self.url}/api/auth/pair", json={"code": self.pair_code, "device_name": self.device_name}) as resp:
                body = await resp.json(content_type=None)
                if resp.status != 200:
                    error = (body or {}).get("error") or {}
                    raise DomainError(f"pairing refused: {error.get('message', resp.status)}",
                                      code=error.get("code", "unauthorized"), status=resp.status)
            self.token = body["token"]
            _out("paired", device=body.get("device"), user=(body.get("user") or {}).get("username"))
        sio = self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)

        @sio.on("conference.my_point")
        def my_point(message):
            if isinstance(message, dict) and message.get("meeting_id") == self.meeting_id:
                self.point = message.get("point")
                if self.elsewhere() and self.wake is not None:
                    self.wake.set()

        @sio.event
        def connect():
            if self._joined_once:  # a reconnection: join the meeting again
                self.reconnects += 1
                self._rejoin = asyncio.ensure_future(self._join())

        @sio.event
        def disconnect(*_):
            if self._joined_once and not self._stopping:
                _out("socket_lost")

        try:
            await sio.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                              wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectionError(f"the server refused or did not answer: {exc}") from None
        await self._join()
        self._joined_once = True

    async def _join(self) -> None:
        await self._call("join", {"meeting_id": self.meeting_id, "since": None})
        ack = await self._call("conference.watch", {"meeting_id": self.meeting_id})
        board = ack.get("board") or {}
        points = board.get("points") or []
        if points:
            self.point = points[0]
        _out("joined_meeting", meeting_id=self.meeting_id, reconnects=self.reconnects,
             point=_brief(self.point))

    async def _call(self, event: str, data: dict, timeout: float | None = None) -> dict:
        import socketio

        try:
            ack = await self.sio.call(event, data, timeout=timeout or self.timeout)
        except socketio.exceptions.TimeoutError:
            raise TimeoutError(f"the server did not answer {event}") from None
        except socketio.exceptions.BadNamespaceError:
            raise ConnectionError("not connected to the server") from None
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = (ack or {}).get("error") or {} if isinstance(ack, dict) else {}
            raise DomainError(f"{event}: {error.get('message', 'refused')}", code=error.get("code", "conflict"),
                              details=error.get("details"))
        return ack

    async def command(self, name: str, **data) -> dict:
        import secrets

        ack = await self._call("command", {"name": name, "key": secrets.token_hex(8),
                                           "data": {"meeting_id": self.meeting_id, **data}})
        return ack.get("result") or {}

    async def accept(self, peer_id: str, sdp: str, *, role: str = "point", layers=None, audio: bool = True) -> str:
        self._roles[peer_id] = role
        data = {"meeting_id": self.meeting_id, "sdp": sdp, "role": role}
        if layers:
            data["layers"] = list(layers)
        ack = await self._call("media.offer", data)
        if role == "point":
            self.node = ack.get("node")
        return ack["sdp"]

    def elsewhere(self) -> bool:
        """The board last named another node than the one the point's media is on."""
        named = (self.point or {}).get("node")
        return self.node is not None and named is not None and named != self.node

    async def served_by(self) -> str | None:
        """Ask the server which node serves the point now; that node if it is not the one
        the point's media is on, else None."""
        ack = await self._call("conference.watch", {"meeting_id": self.meeting_id})
        points = (ack.get("board") or {}).get("points") or []
        if points:
            self.point = points[0]
        named = (self.point or {}).get("node")
        return named if self.node is not None and named is not None and named != self.node else None

    async def verdict(self, peer_id: str) -> dict:
        import secrets

        ack = await self._call("media.verdict", {"meeting_id": self.meeting_id, "key": secrets.token_hex(8)})
        return dict((ack.get("result") or {}).get("test") or {})

    async def close_peer(self, peer_id: str) -> None:
        role = self._roles.pop(peer_id, "point")
        if self.sio is not None and self.sio.connected:
            with contextlib.suppress(Exception):
                await self._call("media.close", {"meeting_id": self.meeting_id, "role": role}, timeout=5)

    async def report(self, seated: int) -> dict:
        result = await self.command("point.report", seated=seated)
        return {"seated": seated, "quorum": (result.get("quorum") or {}).get("by_point")}

    async def request_floor(self, topic: str) -> dict:
        result = await self.command("speaker.request", topic=topic)
        return {"request_id": result.get("request_id")}

    async def stop(self) -> None:
        self._stopping = True
        if self._rejoin is not None:
            self._rejoin.cancel()
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()


def _brief(point: dict | None) -> dict | None:
    if not point:
        return None
    keys = ("unit_id", "code", "state", "link", "seated", "floor", "node", "loss", "bitrate_kbps")
    out = {k: point.get(k) for k in keys}
    test = point.get("test")
    out["test_passed"] = test.get("passed") if isinstance(test, dict) else None
    return out


def _out(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}, ensure_ascii=False), flush=True)


def _sources(source: str, color: tuple[int, int, int], fps: int, size: tuple[int, int]):
    from media.sources import SyntheticVideo, Tone, file_tracks

    if source == "synthetic":
        return SyntheticVideo(*size, fps=fps, color=color), Tone()
    return file_tracks(source)


async def run(*, signalling, peer_id: str, source: str = "synthetic", duration: float = 10.0,
              connection_test: bool = True, test_seconds: float = 4.0, layer: str | None = None,
              report_every: float = 2.0, color: tuple[int, int, int] = (200, 120, 30), fps: int = 15,
              size: tuple[int, int] = (640, 360), ice_addresses: tuple[str, ...] = (),
              seated: int | None = None, request_floor: str | None = None) -> int:
    from media.point import Point
    from media.point import connection_test as run_test

    settings = NodeSettings(ice_addresses=ice_addresses)
    stop = asyncio.Event()
    wake = asyncio.Event()  # stop, or the server moved the point to another node

    def stopping() -> None:
        stop.set()
        wake.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping)
    if hasattr(signalling, "wake"):
        signalling.wake = wake

    verdict = None
    point = None
    media_reconnects = 0
    frames_before = 0  # main-feed frames of the connections the agent left behind
    try:
        start = getattr(signalling, "start", None)
        if start is not None:
            await start()
        if connection_test:
            video, audio = _sources(source, color, fps, size)
            verdict = await run_test(signalling, f"{peer_id}:test", seconds=test_seconds, video=video, audio=audio,
                                     settings=settings)
            _out("verdict", **verdict)

        async def join() -> Point:
            video, audio = _sources(source, color, fps, size)
            p = Point(peer_id, video=video, audio=audio, layers=[layer] if layer else None, settings=settings,
                      color_every=15)
            try:
                await p.connect(signalling)
            except BaseException:
                await p.close()
                raise
            return p

        started = time.monotonic()
        point = await join()
        _out("joined", peer_id=peer_id, seconds=round(time.monotonic() - started, 3), **_node_of(signalling))
        if seated is not None and hasattr(signalling, "report"):
            _out("reported", **(await signalling.report(seated)))
        if request_floor and hasattr(signalling, "request_floor"):
            _out("floor_requested", **(await signalling.request_floor(request_floor)))
        end = time.monotonic() + duration if duration > 0 else None
        backoff = 0.5
        while not stop.is_set() and (end is None or time.monotonic() < end):
            wait = report_every if end is None else max(0.0, min(report_every, end - time.monotonic()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
            wake.clear()
            if stop.is_set():
                break
            if point is not None and getattr(signalling, "elsewhere", lambda: False)():
                # The server moved the point (its node died, or came back): ask which node
                # serves it now, and offer there. Its old connection may look alive for
                # another half minute (ICE gives up slowly), so it is not waited for.
                try:
                    target = await signalling.served_by()
                except (DomainError, ConnectionError, TimeoutError, OSError) as exc:
                    _out("rehome_unknown", error=str(exc) or type(exc).__name__)
                    target = None
                if target is not None:
                    _out("node_changed", old=signalling.node, new=target)
                    frames_before += point.received.video_frames
                    await point.close()
                    point = None
            if point is not None and point.pc is not None and point.pc.connectionState in ("failed", "closed"):
                # The media dropped (the node went, the network): offer again, with a growing pause.
                _out("media_lost", state=point.pc.connectionState)
                frames_before += point.received.video_frames
                await point.close()
                point = None
            if point is None:
                try:
                    point = await join()
                    media_reconnects += 1
                    backoff = 0.5
                    _out("rejoined", peer_id=peer_id, media_reconnects=media_reconnects, **_node_of(signalling))
                except (DomainError, ConnectionError, TimeoutError, OSError) as exc:
                    _out("rejoin_failed", error=str(exc) or type(exc).__name__, retry_in=backoff)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
            _out("stats", **(await point.stats()), **_server_view(signalling))
        summary = await point.stats() if point is not None else {"peer_id": peer_id}
        frames = frames_before + (point.received.video_frames if point is not None else 0)
        summary["main_feed_frames_here"] = point.received.video_frames if point is not None else 0
        _out("summary", **summary, main_feed_frames=frames, media_reconnects=media_reconnects, verdict=verdict,
             seconds=round(time.monotonic() - started, 2), **_server_view(signalling))
    finally:
        if point is not None:
            await point.close()
        with contextlib.suppress(Exception):
            await signalling.close_peer(peer_id)
        stop_signalling = getattr(signalling, "stop", None)
        if stop_signalling is not None:
            await stop_signalling()
    return 0


def _server_view(signalling) -> dict:
    """What the server's board last said of this point (with --server)."""
    if not isinstance(signalling, ServerSignalling):
        return {}
    return {"point": _brief(signalling.point), "socket_reconnects": signalling.reconnects,
            **_node_of(signalling)}


def _node_of(signalling) -> dict:
    node = getattr(signalling, "node", None)
    return {"node": node} if isinstance(node, str) else {}


def main(args) -> int:
    """`phonghop bridge-agent` (flags parsed in server/cli.py)."""
    from media.control import NodeClient

    try:
        if args.node:
            signalling = NodeClient(args.node, args.secret)
        elif args.server:
            signalling = ServerSignalling(args.server, token=args.token, pair_code=args.pair_code,
                                          meeting_id=args.meeting, device_name=args.device_name)
        else:
            print("phonghop bridge-agent: give --server URL --meeting ID (--token T | --pair-code C), "
                  "or --node URL --secret S", file=sys.stderr)
            return 2
    except DomainError as exc:
        print(f"phonghop bridge-agent: {exc.message}", file=sys.stderr)
        return 2
    width, _, height = (args.size or "640x360").partition("x")
    try:
        color = tuple(int(c) for c in (getattr(args, "color", None) or "200,120,30").split(","))
        if len(color) != 3 or not all(0 <= c <= 255 for c in color):
            raise ValueError
    except ValueError:
        print("phonghop bridge-agent: --color is R,G,B, each 0 to 255", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(
            signalling=signalling, peer_id=args.peer_id, source=args.source, duration=args.duration,
            connection_test=not args.no_connection_test, test_seconds=args.test_seconds, layer=args.layer,
            report_every=args.report_every, fps=args.fps, size=(int(width), int(height)), color=color,
            ice_addresses=tuple(a for a in (args.ice_address or []) if a),
            seated=args.seated, request_floor=args.request_floor,
        ))
    except DomainError as exc:
        print(f"phonghop bridge-agent: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except (ConnectionError, TimeoutError, OSError) as exc:
        where = "the server" if args.server and not args.node else "the media node"
        print(f"phonghop bridge-agent: cannot reach {where}: {exc or type(exc).__name__}", file=sys.stderr)
        return 3
