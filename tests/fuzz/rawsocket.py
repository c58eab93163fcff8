"""A socket.io client at the level of its packets (Engine.IO 4 over a websocket), so that a
test can send what no well-behaved client library would: malformed JSON, nesting deeper than
any encoder allows, lone surrogates, binary attachments that do not match their packet.

    raw = await RawSocket.open(url, auth)      # raises Refused with the server's connect_error
    answer = await raw.call("join", {...})     # the ack's first value
    await raw.send_text('42' + ...)            # anything at all
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json

import aiohttp


class Refused(Exception):
    """The server refused the namespace connection (`44` + its error)."""

    def __init__(self, data) -> None:
        super().__init__(data)
        self.data = data


class Closed(Exception):
    """The server closed the connection."""


class RawSocket:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self.ids = itertools.count(1)
        self.acks: dict[int, asyncio.Future] = {}
        self.answers: dict[int, object] = {}  # every ack received, by id, also those nobody waited for
        self.events: list[str] = []
        self.closed = asyncio.Event()
        self.connected: asyncio.Future = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, auth: object = None, *, raw_auth: str | None = None, timeout: float = 30) -> RawSocket:
        http = aiohttp.ClientSession()
        try:
            ws = await http.ws_connect(url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
                                       max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5))
            handshake = await asyncio.wait_for(ws.receive(), timeout)
            if handshake.type != aiohttp.WSMsgType.TEXT or not handshake.data.startswith("0"):
                raise Closed(f"no engine.io handshake: {handshake!r}")
            raw = cls(http, ws)
            await ws.send_str("40" + (raw_auth if raw_auth is not None else json.dumps(auth) if auth is not None else ""))
            done, _ = await asyncio.wait({raw.connected, asyncio.ensure_future(raw.closed.wait())}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not raw.connected.done():
                await raw.close()
                raise Closed("the server closed the connection before the namespace answered")
            if raw.connected.exception() is not None:
                await raw.close()
                raise raw.connected.exception()
            return raw
        except BaseException:
            await http.close()
            raise

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                text = message.data
                if text == "2":  # engine.io ping
                    await self.ws.send_str("3")
                elif text.startswith("40"):
                    if not self.connected.done():
                        self.connected.set_result(json.loads(text[2:] or "null"))
                elif text.startswith("44"):
                    if not self.connected.done():
                        self.connected.set_exception(Refused(json.loads(text[2:])))
                elif text.startswith("43"):
                    body = text[2:]
                    head = len(body) - len(body.lstrip("0123456789"))
                    ack_id, values = int(body[:head]), json.loads(body[head:])
                    self.answers[ack_id] = values[0] if values else None
                    future = self.acks.pop(ack_id, None)
                    if future is not None and not future.done():
                        future.set_result(self.answers[ack_id])
                elif text.startswith("42"):
                    self.events.append(text)
                elif text.startswith("41") or text == "1":  # namespace disconnect, engine.io close
                    break
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for future in self.acks.values():
                if not future.done():
                    future.set_exception(Closed("the server closed the connection"))

    def next_id(self) -> int:
        return next(self.ids)

    def expect(self, ack_id: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if ack_id in self.answers:
            future.set_result(self.answers[ack_id])
        else:
            self.acks[ack_id] = future
        return future

    async def send_text(self, text: str) -> None:
        if self.closed.is_set():
            raise Closed("the connection is closed")
        await self.ws.send_str(text)

    async def send_bytes(self, data: bytes) -> None:
        if self.closed.is_set():
            raise Closed("the connection is closed")
        await self.ws.send_bytes(data)

    async def call(self, event: str, data: object, timeout: float = 60) -> object:
        ack_id = self.next_id()
        future = self.expect(ack_id)
        await self.send_text(f"42{ack_id}" + json.dumps([event, data]))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(BaseException):
            await self.reader
        await self.http.close()
