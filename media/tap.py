"""Receiving encoded frames from an aiortc receiver without decoding them.

A media node must not decode what it only forwards: the sound and picture of every point
that does not hold the floor, the parent's main feed at a child node, the echo of a
connection test. `tap()` puts a `media.reassembly.FrameAssembler` in the receiver's path
before it starts, which hands each whole frame to a callback on the event loop; aiortc's
decoder thread then idles until the receiver stops. Everything else of the receiver stays
as aiortc made it: RTCP receiver reports, NACKs, statistics.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCRtpReceiver

from media.reassembly import FrameAssembler, attach

Deliver = Callable[[bytes, int], None]  # (the frame's bytes, its RTP timestamp from 0)


def tap(receiver: RTCRtpReceiver, deliver: Deliver, **options) -> FrameAssembler:
    """From now on, `deliver(data, timestamp)` gets the receiver's encoded frames, undecoded.

    Call before the receiver starts (right after `setRemoteDescription` or `addTransceiver`).
    options: as `media.reassembly.attach` (the connection's `rtt`).
    """
    return attach(receiver, deliver, **options)


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the sender behind `receiver` for a keyframe (RTCP PLI). False when nothing arrived yet.

    The PLI goes to every source seen in the last seconds: the media SSRC and, harmlessly,
    its retransmission SSRC, which the sender ignores.
    """
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)
