"""engine.io connections that hold less while idle: no task, queue or timer that waits for nothing.

python-engineio (4.x) gives every websocket connection, for as long as it is open, a writer
task waiting on an asyncio.Queue (its `get` wrapped in a task of its own by `wait_for`), a
task per incoming message waiting on the socket (with another `wait_for` timer), and a task
that sleeps until the next ping: four tasks, their coroutines and contexts, a queue of three
deques and an Event, some 160 Python objects per idle tablet beside aiohttp's own
(`python bench/conn_memory.py`: tracemalloc and live objects by type, per connection).
A hall of a thousand tablets holds a thousand of each, doing nothing.

Here, once a connection is on its websocket:
- a packet is written at once, as a whole websocket frame, to the connection's transport
  (asyncio's `write` never blocks: it buffers what the kernel does not take). Only when the
  connection cannot take it now (its buffer past HIGH_WATER: a slow reader; or per-message
  deflate on, which must go through aiohttp's compressor in order) does it wait in a
  deque, and a short-lived task writes the backlog through aiohttp as it drains, in order;
- incoming messages are read with `WebSocketResponse.receive(timeout)` in the request's own
  task (aiohttp's timeout is a timer handle, not a task);
- the next ping is a `call_later` handle, not a sleeping task;
- the queue exists only while it is needed: long-polling, or the moments before a
  websocket takes over (the open packet, what an upgrade finds waiting).
What a connection sends and in what order, the pings and their timeouts, the upgrade from
long-polling: as the library does them (its code is the reference; LIBRARY_SOURCES below
pins the versions of it this was checked against, and tests/test_realtime_lean.py fails
when the library changes, so that this is read again rather than silently diverging).

And a packet that does not parse or names no engine.io type ("9", "", "x…") gets one
warning line and its connection closed, as engine.io's JavaScript server does ("parse
error"), instead of a stack trace per packet from the library (its `receive` indexes the
packet names with the unknown type).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import engineio
from aiohttp import WSMsgType
from engineio import async_socket, exceptions, packet

from server.realtime import wire

log = logging.getLogger("phonghop.realtime")

HIGH_WATER = 64 * 1024  # bytes waiting in a transport past which it is not written to directly (asyncio's own mark)
KNOWN_TYPES = range(len(packet.packet_names))  # OPEN … NOOP

# The library code this module re-implements (sha256 of `inspect.getsource`, first 16 hex
# digits), for tests/test_realtime_lean.py: a change there must be read against this file.
LIBRARY_VERSION = "4.15.1"
LIBRARY_SOURCES = {
    "engineio.base_socket.BaseSocket.__init__": "8532b631a4dc815f",
    "engineio.async_socket.AsyncSocket.send": "0437276ccba7ab09",
    "engineio.async_socket.AsyncSocket.close": "faa2e93902543244",
    "engineio.async_socket.AsyncSocket.schedule_ping": "fe316639159cd70d",
    "engineio.async_socket.AsyncSocket._send_ping": "67db82a704ea49d0",
    "engineio.async_socket.AsyncSocket.receive": "a91ae36ec2fb5340",
    "engineio.async_socket.AsyncSocket._websocket_handler": "27f120df4d717a24",
    "engineio.async_server.AsyncServer._handle_connect": "5bd7edc1d1ae115a",
}


class Socket(async_socket.AsyncSocket):
    """An engine.io connection without idle tasks (see the module's docstring)."""

    def __init__(self, server, sid):
        # BaseSocket.__init__ without its eager queue.
        self.server = server
        self.sid = sid
        self._queue: asyncio.Queue | None = None
        self.last_ping = time.time()
        self.connected = False
        self.upgrading = False
        self.upgraded = False
        self.closing = False
        self.closed = False
        self.session = {}
        self._ws = None  # the aiohttp WebSocketResponse, once the websocket carries the packets
        self._transport = None
        self._raw = False  # frames written straight to the transport (no per-message deflate)
        self._backlog: collections.deque | None = None  # engine.io-encoded packets waiting to be written, in order
        self._flusher: asyncio.Task | None = None
        self._ping: asyncio.TimerHandle | None = None

    @property
    def queue(self) -> asyncio.Queue:
        """The library's packet queue, for long-polling: made when first used."""
        if self._queue is None:
            self._queue = self.server.create_queue()
        return self._queue

    @queue.setter
    def queue(self, value: asyncio.Queue) -> None:
        self._queue = value

    @property
    def on_websocket(self) -> bool:
        """Packets go straight to the websocket (not through the queue)."""
        return self._ws is not None

    # --- sending ------------------------------------------------------------------------------

    async def send(self, pkt):
        if not await self.check_ping_timeout():
            return
        self.send_now(pkt)

    def send_now(self, pkt) -> None:
        """`pkt` written, or queued behind what waits, without waiting."""
        if self._ws is None:
            self.queue.put_nowait(pkt)  # long-polling (the queue is unbounded: `put` never waits)
            return
        self.write(pkt.encode())

    def write(self, encoded: str | bytes, frame: bytes | None = None) -> bool:
        """An engine.io-encoded packet (`frame`: the websocket frame carrying it, when the
        caller built it once for many connections) to this connection's websocket: at once
        when nothing waits before it and the transport takes it, else behind the backlog.
        False when the connection is not on its websocket (or has closed): the caller
        sends through engine.io."""
        if self._ws is None or self.closed:
            return False
        transport = self._transport
        if transport.is_closing():
            return True  # the connection is going: what it was sent is lost with it, as through the library
        if self._raw and self._backlog is None and transport.get_write_buffer_size() <= HIGH_WATER:
            if frame is None:
                frame = wire.text_frame(encoded) if isinstance(encoded, str) else wire.binary_frame(encoded)
            transport.write(frame)
            return True
        if self._backlog is None:
            self._backlog = collections.deque()
        self._backlog.append(encoded)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name=f"engineio-flush-{self.sid}")
        return True

    async def _flush(self) -> None:
        """The backlog, in order, through aiohttp (which waits for the transport to drain
        and compresses when deflate is on); gone once the backlog is empty."""
        ws = self._ws
        try:
            while self._backlog:
                encoded = self._backlog.popleft()
                if isinstance(encoded, str):
                    await ws.send_str(encoded)
                else:
                    await ws.send_bytes(encoded)
        except Exception:  # the connection broke: the receive loop sees it and closes
            pass
        finally:
            self._backlog = None
            self._flusher = None

    # --- pings ----------------------------------------------------------------------------------

    def schedule_ping(self):
        # Only schedule a new ping if the previous ping wait cycle completed (as the library).
        if self.last_ping:
            self.last_ping = None
            self._ping = asyncio.get_running_loop().call_later(self.server.ping_interval, self._send_ping_now)

    def _send_ping_now(self) -> None:
        self._ping = None
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.send_now(packet.Packet(packet.PING))

    # --- receiving ------------------------------------------------------------------------------

    async def receive(self, pkt):
        if pkt.packet_type not in KNOWN_TYPES:  # the library would fail indexing the names with it
            raise exceptions.UnknownPacketError()
        await super().receive(pkt)

    def _decode(self, data: str | bytes):
        """The packet, or None (one warning line) when it does not parse or names no type."""
        try:
            pkt = packet.Packet(encoded_packet=data)
        except (ValueError, TypeError, IndexError) as exc:
            why = f"does not parse ({type(exc).__name__})"
        else:
            if pkt.packet_type in KNOWN_TYPES:
                return pkt
            why = f"has an unknown type {pkt.packet_type}"
        log.warning("engine.io connection %s closed: a packet %s: %r", self.sid, why, data[:40])
        return None

    async def close(self, wait=True, abort=False, reason=None):
        if self._ws is None:
            await super().close(wait=wait, abort=abort, reason=reason)
            self._cancel_ping()
            return
        # As the library, with the packets written rather than queued.
        if not self.closed and not self.closing:
            self.closing = True
            self._cancel_ping()
            await self.server._trigger_event('disconnect', self.sid, reason or self.server.reason.SERVER_DISCONNECT,
                                             run_async=False)
            if not abort:
                self.send_now(packet.Packet(packet.CLOSE))
            self.closed = True
            if wait and self._flusher is not None:
                await asyncio.shield(self._flusher)

    def _cancel_ping(self) -> None:
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None

    def _take_over(self, response, transport) -> None:
        """From now on packets go to the websocket: first what waits in the queue, in order."""
        self._ws = response
        self._transport = transport
        self._raw = not response.compress
        queue, self._queue = self._queue, None
        while queue is not None and not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is not None:  # None: the library's "writer, stop"
                self.send_now(pkt)

    async def _websocket_handler(self, ws):
        """The library's websocket transport (async_socket.AsyncSocket._websocket_handler),
        reading in this task and writing as packets come (see the module's docstring)."""
        response = ws.response
        limit = self.server.max_http_buffer_size

        async def next_message(timeout=None):
            msg = await response.receive(timeout)
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                raise OSError("the websocket closed")
            if len(msg.data) > limit:
                raise ValueError("packet is too large")
            return msg.data

        if self.connected:
            # The socket was already connected (long-polling), so this is an upgrade.
            self.upgrading = True  # hold packet sends during the upgrade
            try:
                pkt = self._decode(await next_message())
            except (OSError, ValueError):
                self.upgrading = False
                return
            if pkt is None or pkt.packet_type != packet.PING or pkt.data != 'probe':
                self.server.logger.info('%s: Failed websocket upgrade, no PING packet', self.sid)
                self.upgrading = False
                return
            await ws.send(packet.Packet(packet.PONG, data='probe').encode())
            self.queue.put_nowait(packet.Packet(packet.NOOP))  # end poll
            try:
                pkt = self._decode(await next_message())
            except (OSError, ValueError):
                self.upgrading = False
                return
            if pkt is None or pkt.packet_type != packet.UPGRADE:
                self.upgraded = False
                self.server.logger.info('%s: Failed websocket upgrade, expected UPGRADE packet', self.sid)
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        self._take_over(response, ws.environ["aiohttp.request"].transport)
        self.server.logger.info('%s: Upgrade to websocket successful', self.sid)
        timeout = self.server.ping_interval + self.server.ping_timeout
        while not self.closed:
            try:
                data = await next_message(timeout)
            except Exception:  # closed, broken, silent past the ping timeout, or too large
                break
            pkt = self._decode(data)
            if pkt is None:
                break  # a parse error: the connection is closed (engine.io's JavaScript server does the same)
            try:
                await self.receive(pkt)
            except exceptions.UnknownPacketError:
                pass  # a type a client does not send (OPEN, PING, NOOP): ignored, as the library does
            except exceptions.SocketIsClosedError:
                self.server.logger.info('Receive error -- socket is closed')
                break
            except Exception:
                # An unexpected failure: logged, and the connection goes on (as the library).
                self.server.logger.exception('Unknown receive error')

        # What was sent before the end is written first (the library's writer drains its
        # queue before closing the websocket), then the socket is closed.
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        await response.close()
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)


class Engine(engineio.AsyncServer):
    """python-engineio's server, with connections of the class above."""

    async def _handle_connect(self, environ, transport, jsonp_index=None):
        """The library's (async_server.AsyncServer._handle_connect), making a `Socket`."""
        if self.start_service_task:
            # start the service task to monitor connected clients
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)

        sid = self.generate_id()
        s = Socket(self, sid)
        self.sockets[sid] = s

        pkt = packet.Packet(packet.OPEN, {
            'sid': sid,
            'upgrades': self._upgrades(sid, transport),
            'pingTimeout': int(self.ping_timeout * 1000),
            'pingInterval': int(self.ping_interval + self.ping_interval_grace_period) * 1000,
            'maxPayload': self.max_http_buffer_size,
        })
        await s.send(pkt)

        ret = await self._trigger_event('connect', sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning('Application rejected connection')
            return self._unauthorized(ret or None)

        s.schedule_ping()

        if transport == 'websocket':
            ret = await s.handle_get_request(environ)
            if s.closed and sid in self.sockets:
                # websocket connection ended, so we are done
                del self.sockets[sid]
            return ret
        s.connected = True
        headers = None
        if self.cookie:
            if isinstance(self.cookie, dict):
                headers = [('Set-Cookie', self._generate_sid_cookie(sid, self.cookie))]
            else:
                headers = [('Set-Cookie', self._generate_sid_cookie(
                    sid, {'name': self.cookie, 'path': '/', 'SameSite': 'Lax'}))]
        try:
            return self._ok(await s.poll(), headers=headers, jsonp_index=jsonp_index)
        except exceptions.QueueEmpty:
            return self._bad_request()
