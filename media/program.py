"""The main feed of a root node: the floor's picture and sound, decoded once, encoded once per quality.

The program reads the encoded frames of whichever point holds the floor (a `FeedTrack`
on that point's feed, so changing the floor is moving one track, never renegotiating a
receiver). It decodes each frame once, scales it to every quality and encodes it once
per quality with libvpx; the sound is decoded once and encoded once with Opus. The
encoded frames are published on the node's main feeds, whose tracks hand them to every
receiver's sender and every child node unchanged.

Codec work runs in one thread per medium so the event loop never waits on it. When the
thread falls behind the source, frames are still decoded (the next ones depend on them)
but only the newest is encoded.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import av
from av.video.frame import PictureType

from media.feed import VIDEO_CLOCK, Feed, FeedTrack, vp8_is_keyframe
from media.settings import Layer, NodeSettings

log = logging.getLogger("phonghop.media")

VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
OPUS_RATE = 48_000


def _vp8_encoder(layer: Layer, fps: int) -> av.CodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = layer.width
    codec.height = layer.height
    codec.pix_fmt = "yuv420p"
    codec.bit_rate = layer.bitrate
    codec.time_base = VIDEO_TIME_BASE
    codec.framerate = fractions.Fraction(fps, 1)
    codec.gop_size = fps * 10  # a keyframe at least every ten seconds, besides the ones asked for
    codec.qmin = 2
    codec.qmax = 56
    codec.thread_count = 2 if layer.width * layer.height > 640 * 480 else 1
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "static-thresh": "1",
        "noise-sensitivity": "0",
        "undershoot-pct": "100",
        "overshoot-pct": "15",
        "bufsize": str(layer.bitrate),
        "minrate": str(layer.bitrate),
        "maxrate": str(layer.bitrate),
        "partitions": "0",
    }
    return codec


class Program:
    def __init__(self, settings: NodeSettings, video: dict[str, Feed], audio: Feed) -> None:
        self.settings = settings
        self.video_feeds = video
        self.audio_feed = audio
        self._video_in = FeedTrack("video", queue_size=60)
        self._audio_in = FeedTrack("audio", queue_size=100)
        self._video_thread: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task] = []
        self._video_decoder: av.CodecContext | None = None
        self._encoders: dict[str, av.CodecContext] = {}
        self._audio_decoder = None
        self._audio_resampler = None
        self._audio_encoder = None
        self._origin = time.monotonic()
        self._audio_pts = 0
        self._opus_frame = OPUS_RATE * settings.audio_packet_ms // 1000  # samples per packet
        self._last_encode = 0.0
        # What the tests and the benchmark count: one encode per frame per quality, whatever
        # the number of receivers.
        self.decoded = Counter()  # "video", "audio": frames decoded
        self.encoded = Counter()  # layer name or "audio": encoder calls
        self.forced_keyframes = Counter()  # layer name: keyframes forced on request
        self.skipped = 0  # frames decoded but not encoded (behind, or above max_fps)
        self.decode_errors = 0
        self.switches = 0
        self.switched_at: float | None = None
        self.first_frame_after_switch: float | None = None  # seconds from the switch to the first encode

    # -------------------------------------------------------------- control

    def start(self) -> None:
        if self._video_thread is None:
            self._video_thread = ThreadPoolExecutor(1, thread_name_prefix="program-video")
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._run_video(), name="program-video"),
                           asyncio.create_task(self._run_audio(), name="program-audio")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        self._video_in.switch(None)
        self._audio_in.switch(None)
        if self._video_thread is not None:
            self._video_thread.shutdown(wait=True, cancel_futures=True)
            self._video_thread = None

    def set_source(self, video: Feed | None, audio: Feed | None) -> None:
        """The floor changes: read from these feeds from their next keyframe; nothing if None."""
        changed = video is not self._video_in.feed
        self._video_in.switch(video, reason="floor")
        self._audio_in.switch(audio, reason="floor")
        if changed:
            self.switches += 1
            self.switched_at = time.monotonic()
            self.first_frame_after_switch = None
            self._video_decoder = None
            self._audio_decoder = None
            if video is not None:
                for feed in self.video_feeds.values():
                    feed.request_keyframe("floor")

    @property
    def source(self) -> Feed | None:
        return self._video_in.feed

    # -------------------------------------------------------------- video

    async def _run_video(self) -> None:
        loop = asyncio.get_running_loop()
        min_gap = 0.8 / max(1, self.settings.max_fps)
        while True:
            packet = await self._video_in.recv()
            if self._video_decoder is None:
                self._video_decoder = av.CodecContext.create("vp8", "r")
            now = time.monotonic()
            encode = self._video_in.backlog == 0 and now - self._last_encode >= min_gap
            forced = {name: feed.keyframe_due() for name, feed in self.video_feeds.items()} if encode else {}
            pts = int((now - self._origin) * VIDEO_CLOCK)
            decoder = self._video_decoder
            generation = self.switches
            try:
                out = await loop.run_in_executor(self._video_thread, self._process_video, decoder, packet.data,
                                                 encode, forced, pts)
            except av.FFmpegError as exc:
                self.decode_errors += 1
                log.warning("media: the floor's picture did not decode (%s); asking for a keyframe", exc)
                self._video_decoder = None
                self._video_in.resync("loss")
                for name, due in forced.items():  # the keyframes it was about to make are still owed
                    if due:
                        self.video_feeds[name].request_keyframe("floor")
                continue
            if generation != self.switches:
                continue  # the floor changed while this frame of the old speaker was in the codec thread
            if encode:
                self._last_encode = now
            else:
                self.skipped += 1
            for name, data, keyframe in out:
                self.video_feeds[name].publish(data, pts, keyframe)
            if out and self.switched_at is not None and self.first_frame_after_switch is None:
                self.first_frame_after_switch = time.monotonic() - self.switched_at

    def _process_video(self, decoder, data: bytes, encode: bool, forced: dict[str, bool],
                       pts: int) -> list[tuple[str, bytes, bool]]:
        frames = decoder.decode(av.Packet(data))
        self.decoded["video"] += len(frames)
        if not encode or not frames:
            return []
        source = frames[-1]
        out = []
        for layer in self.settings.layers:
            encoder = self._encoders.get(layer.name)
            if encoder is None:
                encoder = self._encoders[layer.name] = _vp8_encoder(layer, self.settings.max_fps)
            frame = source.reformat(width=layer.width, height=layer.height, format="yuv420p")
            frame.pts = pts
            frame.time_base = VIDEO_TIME_BASE
            frame.pict_type = PictureType.I if forced.get(layer.name) else PictureType.NONE
            encoded = b"".join(bytes(p) for p in encoder.encode(frame))
            self.encoded[layer.name] += 1
            if forced.get(layer.name):
                self.forced_keyframes[layer.name] += 1
            if encoded:
                out.append((layer.name, encoded, vp8_is_keyframe(encoded)))
        return out

    # -------------------------------------------------------------- sound

    def _new_audio_codecs(self) -> None:
        decoder = av.CodecContext.create("libopus", "r")
        decoder.format = "s16"
        decoder.layout = "stereo"
        decoder.sample_rate = OPUS_RATE
        self._audio_decoder = decoder
        self._audio_resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE,
                                                  frame_size=self._opus_frame)
        if self._audio_encoder is None:
            encoder = av.CodecContext.create("libopus", "w")
            encoder.bit_rate = self.settings.audio_bitrate
            encoder.format = "s16"
            encoder.layout = "mono"
            encoder.sample_rate = OPUS_RATE
            encoder.time_base = fractions.Fraction(1, OPUS_RATE)
            encoder.options = {"application": "voip", "frame_duration": str(self.settings.audio_packet_ms)}
            self._audio_encoder = encoder

    async def _run_audio(self) -> None:
        while True:
            packet = await self._audio_in.recv()
            if self._audio_decoder is None:
                self._new_audio_codecs()
            try:
                frames = self._audio_decoder.decode(av.Packet(packet.data))
            except av.FFmpegError:
                self.decode_errors += 1
                continue
            # Opus is cheap (a fraction of a millisecond per 20 ms frame): done on the loop.
            for frame in frames:
                self.decoded["audio"] += 1
                frame.pts = None
                for chunk in self._audio_resampler.resample(frame):
                    chunk.pts = None
                    for encoded in self._audio_encoder.encode(chunk):
                        self._publish_audio(bytes(encoded))
                    self.encoded["audio"] += 1

    def _publish_audio(self, data: bytes) -> None:
        now_pts = int((time.monotonic() - self._origin) * OPUS_RATE)
        if now_pts - self._audio_pts > OPUS_RATE // 5:  # the sound paused (no floor): jump with the clock
            self._audio_pts = now_pts
        self.audio_feed.publish(data, self._audio_pts, True)
        self._audio_pts += self._opus_frame

    # -------------------------------------------------------------- figures

    def as_dict(self) -> dict:
        return {
            "source": self.source.name if self.source else None,
            "decoded": dict(self.decoded),
            "encoded": dict(self.encoded),
            "forced_keyframes": dict(self.forced_keyframes),
            "skipped": self.skipped,
            "decode_errors": self.decode_errors,
            "switches": self.switches,
            "first_frame_after_switch_ms": (round(self.first_frame_after_switch * 1000, 1)
                                            if self.first_frame_after_switch is not None else None),
        }
