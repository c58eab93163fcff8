"""What a media node is configured with: its qualities, keyframe pacing, ICE."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.domain.links import DEFAULT_THRESHOLDS, LinkThresholds


@dataclass(frozen=True)
class Layer:
    """One quality of the main picture, encoded once per frame for every receiver."""

    name: str
    width: int
    height: int
    bitrate: int  # bits per second

    def as_dict(self) -> dict:
        return {"name": self.name, "width": self.width, "height": self.height, "bitrate": self.bitrate}


DEFAULT_LAYERS = (Layer("720p", 1280, 720, 1_200_000), Layer("360p", 640, 360, 400_000))

_LAYER = re.compile(r"^\s*(?P<name>[A-Za-z0-9_-]+)\s*:\s*(?P<w>\d+)x(?P<h>\d+)\s*@\s*(?P<kbps>\d+)\s*$")


def parse_layers(text: str) -> tuple[Layer, ...]:
    """'720p:1280x720@1200,360p:640x360@400' (kbit/s) -> layers, best first."""
    layers = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = _LAYER.match(part)
        if not m:
            raise ValueError(f"a layer is NAME:WIDTHxHEIGHT@KBPS, not {part.strip()!r}")
        width, height = int(m["w"]), int(m["h"])
        if width % 2 or height % 2 or not (16 <= width <= 3840 and 16 <= height <= 2160):
            raise ValueError(f"layer {m['name']}: even width and height between 16 and 3840x2160")
        layers.append(Layer(m["name"], width, height, int(m["kbps"]) * 1000))
    if not layers:
        raise ValueError("at least one layer")
    if len({layer.name for layer in layers}) != len(layers):
        raise ValueError("layer names must differ")
    return tuple(layers)


@dataclass(frozen=True)
class TurnServer:
    """A TURN server of the deployment (never a public one)."""

    url: str  # turn:host:port?transport=udp
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class NodeSettings:
    node_id: str = "central"
    layers: tuple[Layer, ...] = DEFAULT_LAYERS
    max_fps: int = 30  # frames per second encoded at most (the source sets the pace below that)
    audio_bitrate: int = 32_000  # Opus, mono, for speech
    # Milliseconds of sound per main-feed packet (Opus: 20, 40 or 60). Sound is most of a
    # node's packets (50 a second per receiver at 20 ms, against about 45 for a 400 kbit/s
    # picture), and a node's cost goes by packets, not bytes: 60 ms sends a third as many
    # for 40 ms more delay on a one-way feed. The conference benchmark measured it (BENCHMARKS.md).
    audio_packet_ms: int = 60
    keyframe_interval: float = 0.5  # seconds: at most one keyframe per quality per interval
    # Addresses offered as ICE host candidates; empty: every address of the machine.
    # 127.0.0.1 keeps everything on loopback (tests, one machine).
    ice_addresses: tuple[str, ...] = ()
    turn: TurnServer | None = None
    thresholds: LinkThresholds = field(default=DEFAULT_THRESHOLDS)

    def __post_init__(self) -> None:
        if self.audio_packet_ms not in (20, 40, 60):
            raise ValueError("audio_packet_ms is 20, 40 or 60")

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)
