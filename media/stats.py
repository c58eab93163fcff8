"""Figures of one link from aiortc's RTCP bookkeeping: bitrate, loss, round-trip time, jitter.

What a node receives from a peer is measured by the node's own receivers (sequence
gaps before any retransmission, interarrival jitter per RFC 3550). What the node sends
is measured by the peer, whose receiver reports (RTCP RR) give the loss, the jitter and,
against the node's sender reports, the round-trip time.

aiortc's `RTCRtpReceiver.getStats()` keeps one entry per receiver, overwritten by each
SSRC it saw (the retransmission SSRC included), so the inbound figures here are read
from its per-SSRC statistics directly, the retransmission streams left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiortc import RTCRtpReceiver, RTCRtpSender

from server.domain.links import LinkState, LinkThresholds, classify


@dataclass
class Inbound:
    packets: int = 0  # received (first transmissions)
    lost: int = 0  # never received (before retransmissions)
    jitter_ms: float | None = None

    @property
    def expected(self) -> int:
        return self.packets + self.lost


def inbound(receiver: RTCRtpReceiver | None) -> Inbound:
    figures = Inbound()
    if receiver is None:
        return figures
    streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", {})
    rtx = set(getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {}))
    for ssrc, stream in list(streams.items()):
        if ssrc in rtx or stream.max_seq is None:
            continue
        figures.packets += stream.packets_received
        figures.lost += max(0, stream.packets_lost)
        jitter = stream.jitter * 1000 / stream._clockrate
        figures.jitter_ms = jitter if figures.jitter_ms is None else max(figures.jitter_ms, jitter)
    return figures


@dataclass
class Outbound:
    packets: int = 0
    bytes: int = 0
    lost: int = 0  # as the peer reported it
    fraction_lost: float | None = None  # over the peer's last report interval
    jitter_ms: float | None = None
    rtt_ms: float | None = None


async def outbound(sender: RTCRtpSender, clock_rate: int) -> Outbound:
    figures = Outbound()
    report = await sender.getStats()
    for stat in report.values():
        if stat.type == "outbound-rtp":
            figures.packets += stat.packetsSent
            figures.bytes += stat.bytesSent
        elif stat.type == "remote-inbound-rtp":
            figures.lost += max(0, stat.packetsLost)
            figures.fraction_lost = stat.fractionLost / 256
            figures.jitter_ms = stat.jitter * 1000 / clock_rate
            if stat.roundTripTime is not None:
                figures.rtt_ms = stat.roundTripTime * 1000
    return figures


def _max(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


@dataclass
class LinkMeter:
    """Turns running totals into figures over the last interval, and a class with hysteresis."""

    thresholds: LinkThresholds
    started: float = field(default_factory=time.monotonic)
    state: LinkState | None = None
    _last_at: float | None = None
    _last: dict = field(default_factory=dict)

    def update(self, *, bytes_in: int, bytes_out: int, in_packets: int, in_lost: int,
               out_packets: int, out_lost: int, out_fraction_lost: float | None,
               rtt_ms: float | None, jitter_ms: float | None) -> dict:
        now = time.monotonic()
        since = self._last_at if self._last_at is not None else self.started
        seconds = max(now - since, 1e-6)
        last = self._last or {"bytes_in": 0, "bytes_out": 0, "in_packets": 0, "in_lost": 0,
                              "out_packets": 0, "out_lost": 0}
        d_in_expected = (in_packets + in_lost) - (last["in_packets"] + last["in_lost"])
        d_in_lost = in_lost - last["in_lost"]
        loss_in = d_in_lost / d_in_expected if d_in_expected > 0 else 0.0
        d_out = out_packets - last["out_packets"]
        d_out_lost = out_lost - last["out_lost"]
        loss_out = d_out_lost / d_out if d_out > 0 and d_out_lost > 0 else (out_fraction_lost or 0.0)
        loss = min(1.0, max(0.0, loss_in, loss_out))
        total_expected = in_packets + in_lost
        loss_total = max(in_lost / total_expected if total_expected else 0.0,
                         out_lost / out_packets if out_packets else 0.0)
        self.state = classify(loss, self.state, self.thresholds)
        figures = {
            "bitrate_in_kbps": round((bytes_in - last["bytes_in"]) * 8 / seconds / 1000, 1),
            "bitrate_out_kbps": round((bytes_out - last["bytes_out"]) * 8 / seconds / 1000, 1),
            "loss": round(loss, 4),
            "loss_in": round(loss_in, 4),
            "loss_out": round(loss_out, 4),
            "loss_total": round(min(1.0, loss_total), 4),
            "rtt_ms": round(rtt_ms, 1) if rtt_ms is not None else None,
            "jitter_ms": round(jitter_ms, 1) if jitter_ms is not None else None,
            "quality": self.state.value,
            "interval_s": round(seconds, 2),
        }
        self._last_at = now
        self._last = {"bytes_in": bytes_in, "bytes_out": bytes_out, "in_packets": in_packets, "in_lost": in_lost,
                      "out_packets": out_packets, "out_lost": out_lost}
        return figures


__all__ = ["Inbound", "LinkMeter", "Outbound", "_max", "inbound", "outbound"]
