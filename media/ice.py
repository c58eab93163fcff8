"""ICE without the outside world: no public STUN server, host candidates we choose.

aiortc falls back to a public STUN server when a peer connection is made without
ice servers (`RTCIceGatherer.getDefaultIceServers`). Phonghop runs on isolated
networks, so importing this module replaces that default with an empty list, and
every peer connection of the media plane is made by `peer_connection`, which passes
the deployment's own TURN server or nothing.

aioice offers every address of the machine except loopback as a host candidate.
`restrict_host_addresses(["127.0.0.1"])` offers exactly the given addresses instead
(loopback included): tests and single-machine set-ups stay on 127.0.0.1, and a node
with several interfaces can offer only the one its points reach.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

import aioice.ice
import aioice.stun
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

from media import fastclock
from media.settings import NodeSettings, TurnServer

fastclock.install()  # every peer connection of the media plane is made here


def _no_default_ice_servers(cls) -> list[RTCIceServer]:
    return []


RTCIceGatherer.getDefaultIceServers = classmethod(_no_default_ice_servers)

_original_host_addresses = aioice.ice.get_host_addresses
_restricted: tuple[str, ...] = ()


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _restricted:
        return _original_host_addresses(use_ipv4, use_ipv6)
    return [a for a in _restricted if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


aioice.ice.get_host_addresses = _host_addresses

# Consent freshness (RFC 7675) on slow links. aioice checks consent every 5 s with a STUN
# request sent once (`retransmissions=0`), so an answer later than its first timeout (0.5 s)
# counts as a failure, and six in a row close the connection: a bridge point behind a link
# with a round-trip time above half a second (300 ms each way: a satellite hop, a congested
# commune line) lost its picture every 30 s. Its consent check is the only request aioice
# sends without retransmissions; it is sent again at 0.5 s and 1.5 s instead, so an answer
# within 3.5 s keeps the consent (the same transaction accepts the answer to any copy).
CONSENT_RETRANSMISSIONS = 2
_original_transaction_init = aioice.stun.Transaction.__init__


def _transaction_init(self, request, addr, protocol, retransmissions=None, *args, **kwargs) -> None:
    if retransmissions == 0:
        retransmissions = CONSENT_RETRANSMISSIONS
    _original_transaction_init(self, request, addr, protocol, retransmissions, *args, **kwargs)


aioice.stun.Transaction.__init__ = _transaction_init


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Offer only these addresses as host candidates (process-wide); empty: all but loopback."""
    global _restricted
    _restricted = tuple(a.strip() for a in addresses if a.strip())


def host_addresses() -> tuple[str, ...]:
    return _restricted


def ice_servers(turn: TurnServer | None) -> list[RTCIceServer]:
    if turn is None:
        return []
    if not turn.url.startswith(("turn:", "turns:")):
        raise ValueError(f"only a TURN server of the deployment may be configured, not {turn.url!r}")
    return [RTCIceServer(urls=turn.url, username=turn.username, credential=turn.password)]


def peer_connection(settings: NodeSettings | None = None, *, turn: TurnServer | None = None) -> RTCPeerConnection:
    """A peer connection with no public STUN server: the configured TURN server or none."""
    if settings is not None:
        if settings.ice_addresses and settings.ice_addresses != _restricted:
            restrict_host_addresses(settings.ice_addresses)
        turn = turn or settings.turn
    return RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(turn)))


def turn_credentials(urls: Sequence[str], secret: str, *, user: str, ttl: int = 12 * 3600,
                     now: float | None = None) -> dict:
    """Short-lived TURN credentials for a client (coturn's use-auth-secret, the "TURN REST API").

    PHONGHOP_TURN_URLS and PHONGHOP_TURN_SECRET (deploy/phonghop.env.example) feed this; the
    answer is an RTCIceServer as a browser's RTCPeerConnection takes it.
    """
    if not secret:
        raise ValueError("a TURN secret is needed to mint credentials")
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise ValueError(f"only TURN servers of the deployment, not {url!r}")
    expires = int((time.time() if now is None else now) + ttl)
    username = f"{expires}:{user}"
    credential = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return {"urls": list(urls), "username": username, "credential": credential}
