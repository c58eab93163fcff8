"""socket.io at the door (SECURITY.md): which origins may connect, and no binary packet
before the connection has signed in.

- Origins: a browser's connection is accepted from the server's own origin (the one its
  pages are served from) and from PHONGHOP_ALLOWED_ORIGINS; any other origin is refused
  before the handshake. A client that sends no Origin (the Python bridge agent, a native
  app) is not a browser page another site could drive, and is let through to sign in.
  X-Forwarded-Proto/-Host name the origin only when a trusted proxy sent them.
- Binary: a binary packet (and its attachments) is buffered by python-socketio until the
  last attachment arrives; before sign-in that would be memory for anyone who asks. The
  connection is closed at the first binary packet or stray attachment unless the namespace
  connection has signed in, and a packet may announce at most MAX_ATTACHMENTS attachments
  (and at least one); a text message where an attachment is due closes it too.
  Text packets cost one character test here.
- Malformed: a packet that does not parse closes its connection, with one log line.
  (An engine.io packet of no known type, or one that does not parse, too: server/realtime/lean.py.)
- Size: engine.io refuses any message larger than `max_http_buffer_size` (the server
  passes Settings.max_body_bytes): the websocket is closed, a polling POST answered 413.
"""

from __future__ import annotations

import logging

import socketio

from server.auth.limits import Network, is_trusted
from server.realtime import lean

log = logging.getLogger("phonghop.security")

SIGNED_IN = "phonghop.user_id"  # set in the engine.io environ by the connect handler
MAX_ATTACHMENTS = 16


def origin_check(allowed: tuple[str, ...], trusted: tuple[Network, ...]):
    """engine.io's `cors_allowed_origins` as a function of (origin, environ)."""
    extra = {o.rstrip("/") for o in allowed}

    def check(origin: str | None, environ: dict) -> bool:
        if not origin:
            return True
        origin = origin.rstrip("/")
        if origin in extra:
            return True
        request = environ.get("aiohttp.request")
        host = environ.get("HTTP_HOST", "")
        scheme = "https" if request is not None and request.secure else "http"
        if request is not None and is_trusted(request.remote, trusted):
            # The peer is a trusted proxy: it says how the browser reached it.
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip() or scheme
            host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip() or host
        ok = bool(host) and origin == f"{scheme}://{host}"
        if not ok:
            log.info("socket.io connection from origin %s refused (host %s)", origin, host)
        return ok

    return check


class Server(socketio.AsyncServer):
    """python-socketio's server, with binary packets only after sign-in, over engine.io
    connections that hold no idle tasks (server/realtime/lean.py)."""

    def _engineio_server_class(self):
        return lean.Engine

    async def _handle_eio_message(self, eio_sid, data):
        if eio_sid not in self._binary_packet:
            if isinstance(data, bytes | bytearray):
                return await self._refuse(eio_sid, "a binary attachment without its packet")
            if data[:1] in ("5", "6"):  # BINARY_EVENT, BINARY_ACK
                if not self.environ.get(eio_sid, {}).get(SIGNED_IN):
                    return await self._refuse(eio_sid, "a binary packet before sign-in")
                head = data[1:data.find("-")] if "-" in data[:12] else ""
                # None at all: python-socketio would wait for the first one for ever, taking
                # every later message of the connection for an attachment (issue 8, fuzzing).
                if not head.isdigit() or not 0 < int(head) <= MAX_ATTACHMENTS:
                    return await self._refuse(eio_sid, f"a binary packet announcing {head or '?'} attachments")
        elif not isinstance(data, bytes | bytearray):
            return await self._refuse(eio_sid, "a text message where an attachment was due")
        try:
            return await super()._handle_eio_message(eio_sid, data)
        except (ValueError, RecursionError, KeyError, IndexError) as exc:
            # A packet that does not parse (bad JSON, nesting past the decoder's depth, numbers
            # past 64 bits, a bad ack id, an event that is not a list): the client is broken or
            # hostile. One log line and the connection closed, rather than engine.io's stack
            # trace for each such message on a connection left open. (Event handlers run in
            # tasks of their own: their failures do not come here.)
            return await self._refuse(eio_sid, f"a malformed packet ({type(exc).__name__}: {str(exc)[:80]})")

    async def _refuse(self, eio_sid, why: str) -> None:
        environ = self.environ.get(eio_sid, {})
        request = environ.get("aiohttp.request")
        log.info("socket.io connection from %s closed: %s", request.remote if request is not None else "?", why)
        await self.eio.disconnect(eio_sid)
