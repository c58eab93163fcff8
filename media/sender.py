"""A node's senders without a task each: a frame goes out to every receiver as its feed publishes it.

aiortc runs one task per sender that waits on its track (`recv()`), packetizes the frame,
and sends each packet down through its DTLS and ICE transports, several coroutines deep.
At a node every receiver has two such senders, so each frame of the main feed woke 2 × N
tasks and walked those layers once per packet. py-spy on a province node with 50 points
put most of its CPU outside the `sendto` system call and SRTP in that Python.

`DirectSender` takes the place of the sender's RTP task (`install`, before aiortc starts it):
its `FeedTrack` hands it each frame as the feed publishes it, and it packetizes with the
sender's own aiortc encoder (`pack`), stamps and protects each packet (SRTP) and writes it
on the ICE pair's socket, on the spot. What the rest of aiortc reads stays as aiortc keeps
it: the counts and timestamps of the sender reports, the transport's statistics; NACKs
are answered (`_retransmit`, RTX as aiortc does) from a history of the packets as sent.
Each packet's header is the sender's own, serialized once by aiortc with its header
extensions (mid, abs-send-time) and then only stamped (sequence number, timestamp, marker,
send time), not rebuilt as an object per packet. A pair through a TURN server is written
to through aioice as before. A frame that comes before the connection is up is dropped
(the receiver asks for a keyframe when it starts).

This reaches into private attributes of aiortc's RTCRtpSender and RTCDtlsTransport and
aioice's Connection; pyproject.toml pins both and the media tests fail if they move.
"""

from __future__ import annotations

import asyncio
import logging
import struct

import aioice.ice
from aiortc import RTCRtpCodecParameters, RTCRtpSender
from aiortc.codecs import get_encoder
from aiortc.rtcdtlstransport import State
from aiortc.rtp import RTP_HISTORY_SIZE, RtpPacket, wrap_rtx
from aiortc.utils import random16, random32, uint16_add, uint32_add

from media import fastclock

log = logging.getLogger("phonghop.media")


class DirectSender:
    def __init__(self, sender: RTCRtpSender) -> None:
        self.sender = sender
        self.codec: RTCRtpCodecParameters | None = None
        self._encoder = None
        self._sequence = random16()
        self._origin = random32()
        self._on_ready = None
        self._pair = None  # the ICE pair `_write` goes to
        self._write = None
        self._header: bytes | None = None  # the sender's RTP header, as aiortc serializes it
        self._send_time_at: int | None = None  # where the abs-send-time bytes are in it
        self._history: dict[int, bytes] = {}
        self.packets = 0
        self.dropped = 0  # frames that came before the connection was up

    def install(self, on_ready) -> None:
        """From now on aiortc starts this instead of its RTP task; `on_ready()` once it may send."""
        self._on_ready = on_ready
        self.sender._run_rtp = self._run
        self.sender._retransmit = self._retransmit

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        """What aiortc runs as the sender's RTP task: note the codec, then wait to be stopped."""
        sender = self.sender
        sender._RTCRtpSender__rtp_started.set()
        self._encoder = sender._RTCRtpSender__encoder = get_encoder(codec)
        self.codec = codec
        try:
            if self._on_ready is not None:
                self._on_ready()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        finally:
            self.codec = None
            track = sender.track
            if track is not None:
                track.stop()
            sender._RTCRtpSender__rtp_exited.set()

    def send(self, frame) -> None:
        """Packetize one encoded frame (bytes(), .pts, .time_base) and send its packets now."""
        sender = self.sender
        dtls = sender.transport
        if self.codec is None or dtls._state != State.CONNECTED:
            self.dropped += 1
            return
        payloads, timestamp = self._encoder.pack(frame)
        if not payloads:
            return
        timestamp = uint32_add(self._origin, timestamp)
        if self._header is None:
            self._make_header()
        now = fastclock.current_ntp_time()
        send_time = ((now >> 14) & 0x00FFFFFF).to_bytes(3, "big")
        protect = dtls._tx_srtp.protect
        ice = dtls.transport
        pair = ice._connection._nominated.get(1)
        if pair is not self._pair or self._write is None:
            self._pair, self._write = pair, self._writer(ice, pair)
        write = self._write
        header = bytearray(self._header)
        at = self._send_time_at
        if at is not None:
            header[at:at + 3] = send_time
        payload_type = self.codec.payloadType
        last = len(payloads) - 1
        octets = 0
        for i, payload in enumerate(payloads):
            struct.pack_into("!BHI", header, 1, (0x80 if i == last else 0) | payload_type, self._sequence, timestamp)
            data = bytes(header) + payload
            self._history[self._sequence % RTP_HISTORY_SIZE] = data
            data = protect(data)
            write(data)
            dtls._RTCDtlsTransport__tx_bytes += len(data)
            dtls._RTCDtlsTransport__tx_packets += 1
            octets += len(payload)
            self._sequence = uint16_add(self._sequence, 1)
        self.packets += len(payloads)
        sender._RTCRtpSender__ntp_timestamp = now
        sender._RTCRtpSender__rtp_timestamp = timestamp
        sender._RTCRtpSender__octet_count += octets
        sender._RTCRtpSender__packet_count += len(payloads)

    def _make_header(self) -> None:
        """The sender's header as aiortc serializes it; twice, to find where the send time goes."""
        sender = self.sender
        extensions = sender._RTCRtpSender__rtp_header_extensions_map
        made = []
        for send_time in (0, 0xFFFFFF):
            packet = RtpPacket(payload_type=self.codec.payloadType, ssrc=sender._ssrc)
            packet.extensions.mid = sender._RTCRtpSender__mid
            packet.extensions.abs_send_time = send_time
            made.append(packet.serialize(extensions))
        differ = [i for i, (a, b) in enumerate(zip(*made, strict=True)) if a != b]
        self._send_time_at = differ[0] if len(differ) == 3 and differ[2] - differ[0] == 2 else None
        self._header = made[0]

    async def _retransmit(self, sequence_number: int) -> None:
        """A NACK: the packet again, from the history, as RTX when negotiated (as aiortc does)."""
        sender = self.sender
        data = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        if data is None:
            return
        extensions = sender._RTCRtpSender__rtp_header_extensions_map
        packet = RtpPacket.parse(data, extensions)
        if packet.sequence_number != sequence_number:
            return
        rtx = sender._RTCRtpSender__rtx_payload_type
        if rtx is not None:
            packet = wrap_rtx(packet, payload_type=rtx, sequence_number=sender._RTCRtpSender__rtx_sequence_number,
                              ssrc=sender._rtx_ssrc)
            sender._RTCRtpSender__rtx_sequence_number = uint16_add(sender._RTCRtpSender__rtx_sequence_number, 1)
        await sender.transport._send_rtp(packet.serialize(extensions))

    @staticmethod
    def _writer(ice, pair):
        """The way to the peer: the nominated pair's socket, or aioice's own path for a relayed pair."""
        if pair is not None and type(pair.protocol) is aioice.ice.StunProtocol and pair.protocol.transport is not None:
            transport, address = pair.protocol.transport, pair.remote_addr
            return lambda data: transport.sendto(data, address)

        def through_aioice(data: bytes) -> None:
            task = asyncio.ensure_future(ice._send(data))
            task.add_done_callback(_quiet)
        return through_aioice


def _quiet(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("media: a packet through the relay was not sent: %s", task.exception())
