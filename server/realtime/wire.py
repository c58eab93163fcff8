"""How socket.io messages are written: orjson, and parts encoded once for many readers.

python-socketio encodes each packet with the `json` module of its packet class: the
standard library's, and before that it walks the whole payload looking for bytes. A
snapshot of a hall of a thousand (some 250 KB) answered to a thousand tablets joining at
once was encoded, and walked, a thousand times (seen with py-spy through `phonghop bench
votes`: `Packet.data_is_binary` and `JSONEncoder.iterencode` among the top frames of the
joins). Here the server's packets are written by orjson, and a value that many answers
share (`encoded(value)`: the participants, the attendance of a snapshot) is encoded once
and spliced into each answer as it is (`orjson.Fragment`). Incoming messages are still
read by engine.io's own `loads` (it refuses absurdly long integers).

Only this server's packet class is changed: the python-socketio clients of the tests and
the simulator, in the same process, keep the default one.
"""

from __future__ import annotations

import json as stdlib_json

import orjson
import socketio
from engineio import json as engineio_json

Fragment = orjson.Fragment


def encoded(value: object) -> orjson.Fragment:
    """`value` as JSON once, to be embedded as it is in many messages."""
    return orjson.Fragment(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def dumps(value: object, **_ignored) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # Something orjson refuses (an integer beyond 64 bits): the standard library's
        # answer, or its error, as before. A Fragment never gets here.
        return stdlib_json.dumps(value, separators=(",", ":"))


loads = engineio_json.loads


class _Json:
    """The module-like object python-socketio calls `dumps` and `loads` on."""

    dumps = staticmethod(dumps)
    loads = staticmethod(loads)


def _has_bytes(data: object) -> bool:
    # The library's check, without building a list at every level of a large payload.
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (bytes, bytearray)):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Packet(socketio.packet.Packet):
    json = _Json

    @classmethod
    def data_is_binary(cls, data) -> bool:
        return _has_bytes(data)


def set_compression(sio: socketio.AsyncServer, enabled: bool) -> None:
    """Whether this server's websockets accept permessage-deflate (aiohttp's default: yes).

    Deflate runs per connection: a broadcast to a thousand tablets is compressed a
    thousand times, and each connection keeps its compressor's state. Measured with
    `phonghop bench fanout` (1,000 tablets): 144 KB of server memory per idle connection
    with it, 49 KB without; 188 against 147 µs of CPU per delivery. On a hall's Wi-Fi
    the messages are small and the CPU is the limit, so it is off unless
    PHONGHOP_WS_COMPRESSION turns it on (a deployment whose links are the limit)."""
    from aiohttp.web import WebSocketResponse

    driver = sio.eio._async
    base = driver.get("websocket")
    if base is None:
        return

    class WebSocket(base):
        async def __call__(self, environ):
            response = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=enabled)
            await response.prepare(environ["aiohttp.request"])
            # The 101 answer's headers (the security headers of every answer among them) are
            # sent: nothing reads them again, and a hall would keep a thousand copies.
            response.headers.clear()
            self._sock = self.response = response  # `response`: for server/realtime/lean.py
            self.environ = environ
            await self.handler(self)
            return response

    # A copy: the driver's table is shared by every server of the process.
    sio.eio._async = {**driver, "websocket": WebSocket}


def _frame(first: int, body: bytes) -> bytes:
    n = len(body)
    if n < 126:
        header = bytes((first, n))
    elif n < 65536:
        header = bytes((first, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, 127)) + n.to_bytes(8, "big")
    return header + body


def text_frame(payload: str) -> bytes:
    """A whole, unmasked websocket text frame (a server's) carrying `payload`."""
    return _frame(0x81, payload.encode())


def binary_frame(payload: bytes) -> bytes:
    """A whole, unmasked websocket binary frame carrying `payload`."""
    return _frame(0x82, bytes(payload))


def event_packet(name: str, data: object) -> str:
    """A socket.io event on the main namespace as engine.io sends it: engine.io message (4),
    socket.io event (2), the JSON array [name, data]."""
    return "42" + dumps([name, data])


def event_frame(name: str, data: object) -> bytes:
    """The websocket frame that carries `event_packet(name, data)`."""
    return text_frame(event_packet(name, data))
