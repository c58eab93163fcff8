"""Test sources for points without a camera: a coloured picture with a moving bar, and a tone.

Each source has its own colour, so whoever receives the main feed can tell whose picture
it is (`mean_rgb`): that is how the tests, the bridge agent and the benchmark see the
floor change. Numpy is not needed: planes are filled from bytes.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020


def _yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.169 * r - 0.331 * g + 0.5 * b + 128
    v = 0.5 * r - 0.419 * g - 0.081 * b + 128
    return tuple(max(0, min(255, round(c))) for c in (y, u, v))  # type: ignore[return-value]


class SyntheticVideo(MediaStreamTrack):
    """A solid colour with a bright bar moving down, at `fps` frames per second."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 360, fps: int = 15,
                 color: tuple[int, int, int] = (200, 30, 30)) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.color = color
        self.frames = 0
        self._start: float | None = None
        self._planes: list[bytes] | None = None
        self._bar = max(2, height // 12)

    def _template(self, frame: av.VideoFrame) -> None:
        y, u, v = _yuv(self.color)
        self._y = y
        self._planes = [bytes([value]) * plane.buffer_size for plane, value in zip(frame.planes, (y, u, v), strict=True)]
        self._line = frame.planes[0].line_size

    def set_color(self, color: tuple[int, int, int]) -> None:
        self.color = color
        self._planes = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.frames / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        if self._planes is None:
            self._template(frame)
        luma = bytearray(self._planes[0])
        top = (self.frames * 4) % max(1, self.height - self._bar)
        bright = bytes([min(255, self._y + 70)]) * (self._line * self._bar)
        luma[top * self._line:(top + self._bar) * self._line] = bright
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(self._planes[1])
        frame.planes[2].update(self._planes[2])
        frame.pts = int(self.frames * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames += 1
        return frame


class Tone(MediaStreamTrack):
    """A sine tone, 20 ms frames of 16-bit mono at 48 kHz."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, level: float = 0.2) -> None:
        super().__init__()
        samples = array.array("h", (int(level * 32767 * math.sin(2 * math.pi * frequency * i / AUDIO_RATE))
                                    for i in range(AUDIO_RATE)))
        self._second = samples.tobytes()
        self._per_frame = int(AUDIO_RATE * AUDIO_PTIME)
        self._start: float | None = None
        self.frames = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.frames * AUDIO_PTIME
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        offset = (self.frames * self._per_frame) % AUDIO_RATE
        chunk = self._second[offset * 2:(offset + self._per_frame) * 2]
        if len(chunk) < self._per_frame * 2:
            chunk += self._second[:self._per_frame * 2 - len(chunk)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._per_frame)
        frame.planes[0].update(chunk)
        frame.sample_rate = AUDIO_RATE
        frame.pts = self.frames * self._per_frame
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        self.frames += 1
        return frame


def mean_rgb(frame: av.VideoFrame) -> tuple[int, int, int]:
    """The average colour of a decoded picture (on a 16x16 thumbnail)."""
    small = frame.reformat(width=16, height=16, format="rgb24")
    plane = small.planes[0]
    data = bytes(plane)
    totals = [0, 0, 0]
    for row in range(16):
        line = data[row * plane.line_size: row * plane.line_size + 48]
        for i in range(0, 48, 3):
            totals[0] += line[i]
            totals[1] += line[i + 1]
            totals[2] += line[i + 2]
    return tuple(round(t / 256) for t in totals)  # type: ignore[return-value]


def closest(rgb: tuple[int, int, int], palette: dict[str, tuple[int, int, int]]) -> str:
    """The name of the palette colour nearest to `rgb`."""
    return min(palette, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, palette[name], strict=True)))


def file_tracks(path: str, *, loop: bool = True) -> tuple[MediaStreamTrack | None, MediaStreamTrack | None]:
    """The picture and sound of a media file (anything FFmpeg reads), played in real time."""
    from aiortc.contrib.media import MediaPlayer

    player = MediaPlayer(path, loop=loop)
    return player.video, player.audio
