"""Receiving encoded frames from an aiortc receiver without decoding them.

aiortc's `RTCRtpReceiver` reassembles each frame in its jitter buffer (after NACKs,
RTX and reordering) and puts it on a queue that a decoder thread reads. A media node
must not decode what it only forwards: the sound and picture of every point that does
not hold the floor, the parent's main feed at a child node, the echo of a connection
test. `tap()` replaces that queue, before the receiver starts, with one that hands each
reassembled frame to a callback on the event loop; the decoder thread then idles until
the receiver stops. Everything else of the receiver stays as aiortc made it: RTCP
receiver reports, NACKs, PLIs when the jitter buffer gives up, statistics.

This reaches into one private attribute of aiortc (`_RTCRtpReceiver__decoder_queue`);
pyproject.toml pins aiortc below 2 and the media tests fail if it moves.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from aiortc import RTCRtpReceiver

log = logging.getLogger("phonghop.media")

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"

Deliver = Callable[[bytes, int], None]  # (the frame's bytes, its RTP timestamp from 0)


class _TapQueue(queue.Queue):
    def __init__(self, deliver: Deliver) -> None:
        super().__init__()
        self._deliver = deliver

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stops: let its idle decoder thread end
            super().put(None, block, timeout)
            return
        _codec, frame = item
        try:
            self._deliver(frame.data, frame.timestamp)
        except Exception:  # one bad frame must not stop the receiver
            log.exception("media: a tapped frame could not be delivered")


def tap(receiver: RTCRtpReceiver, deliver: Deliver) -> None:
    """From now on, `deliver(data, timestamp)` gets the receiver's encoded frames, undecoded.

    Call before the receiver starts (right after `setRemoteDescription` or `addTransceiver`).
    """
    if not hasattr(receiver, _QUEUE_ATTRIBUTE):
        raise RuntimeError("this aiortc has no decoder queue on RTCRtpReceiver: media.tap needs updating")
    current = getattr(receiver, _QUEUE_ATTRIBUTE)
    if isinstance(current, _TapQueue):
        current._deliver = deliver
        return
    setattr(receiver, _QUEUE_ATTRIBUTE, _TapQueue(deliver))


def is_tapped(receiver: RTCRtpReceiver) -> bool:
    return isinstance(getattr(receiver, _QUEUE_ATTRIBUTE, None), _TapQueue)


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the sender behind `receiver` for a keyframe (RTCP PLI). False when nothing arrived yet.

    The PLI goes to every source seen in the last seconds: the media SSRC and, harmlessly,
    its retransmission SSRC, which the sender ignores.
    """
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)
