"""Configuration from `PHONGHOP_*` environment variables, overridable by command flags.

The defaults run on one machine with no other service: SQLite and files under the
data folder, the in-process socket.io manager, no TURN server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PHONGHOP_{name}")
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None  # None: SQLite under data_dir
    redis_url: str | None = None  # None: in-process socket.io manager
    session_hours: int = 12
    pairing_minutes: int = 10
    max_body_bytes: int = 1024 * 1024  # JSON bodies; uploads have their own limit
    resync_window: int = 1000  # beyond this many missed events a client gets a snapshot
    demo_password: str | None = None
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)  # empty: same origin only
    # Security (SECURITY.md). Failed sign-ins allowed per account and per client address in a
    # sliding window (`limits` notation); past either, sign-ins answer 429 until the window moves.
    login_account_limit: str = "5 per 15 minutes"
    login_address_limit: str = "100 per 15 minutes"
    # Proxies (addresses or networks) whose X-Forwarded-For names the client; none: the peer is the client.
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    # socket.io messages per connection: a bucket of `socket_burst`, refilled at `socket_rate` a second.
    socket_rate: float = 20.0
    socket_burst: int = 100
    secret_polls: str = "allow"  # "forbid": secret electronic polls are refused (held on paper)
    max_upload_mb: int = 200  # one uploaded document
    offline_lease_hours: int = 72  # a tablet's offline copy of a meeting's documents lives this long
    render_workers: int | None = None  # render child processes at once; None: one per core
    page_cache_mb: int = 256  # page images kept in memory for the tablets (their files never change)
    # Behind nginx (deploy/nginx.conf): page images of documents that are not confidential are
    # answered with X-Accel-Redirect to this internal prefix after the permission check, and
    # nginx sends the file. None: the server sends every image itself. Watermarked pages never.
    accel_redirect: str | None = None
    # permessage-deflate on socket.io's websockets, when the client offers it (browsers do):
    # less to carry over a weak link, more CPU per message and per recipient of a broadcast.
    ws_compression: bool = False
    # The event loop of `phonghop serve`: "uvloop" (libuv, when installed), "asyncio", or
    # "auto" (uvloop when it is there). Page images are served from memory, not by
    # sendfile, so uvloop costs them nothing.
    event_loop: str = "auto"
    # The final minutes and conclusion notices are signed (PAdES) with this PKCS#12 file, when set.
    signing_cert: Path | None = None
    signing_password: str | None = None
    # The media plane (media/, docs/media.md). The server runs one media node in its own
    # process unless media_embedded is off; with a secret its control API is also served
    # under /media for child nodes (`phonghop media-node --parent`).
    media_embedded: bool = True
    media_secret: str | None = None
    media_layers: str | None = None  # "720p:1280x720@1200,360p:640x360@400" (kbit/s); None: those
    media_ice_addresses: tuple[str, ...] = field(default_factory=tuple)  # host candidates; empty: all
    media_audio_packet_ms: int = 60  # sound per main-feed packet: 20, 40 or 60 (media.settings)
    # External media nodes send a heartbeat this often (the server tells them in its answer),
    # and one that missed this many in a row is dead: its points and child nodes move.
    media_heartbeat_s: float = 2.0
    media_heartbeat_missed: int = 3
    # A point holding the floor whose media has been down this long gives it back to the host
    # (server/domain/conference.py, `floor_falls_back`): a reload or a short cut keeps it.
    floor_grace_s: float = 10.0

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 2**20

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the plain URL operators write and pick the async driver ourselves.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'phonghop.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def with_overrides(self, **values) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def _accel_prefix(value: str | None) -> str | None:
    """PHONGHOP_ACCEL_REDIRECT: an absolute URL path, kept with one trailing slash."""
    if not value or value.lower() in ("off", "0", "no", "false"):
        return None
    if not value.startswith("/") or any(c in value for c in " ?#\r\n\\") or ".." in value:
        raise ValueError(f"PHONGHOP_ACCEL_REDIRECT is an internal path such as /_protected/, not {value!r}")
    return value.rstrip("/") + "/"


def _bounded(name: str, kind, default: str, low: float, high: float):
    """A number setting within [low, high]; anything else stops the start with a clear message."""
    text = _env(name, default)
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"PHONGHOP_{name} is a {'whole ' if kind is int else ''}number, not {text!r}") from None
    if not low <= value <= high:
        raise ValueError(f"PHONGHOP_{name} is between {low:g} and {high:g}, not {text}")
    return value


def _audio_packet_ms() -> int:
    value = _bounded("MEDIA_AUDIO_PACKET_MS", int, "60", 20, 60)
    if value not in (20, 40, 60):
        raise ValueError(f"PHONGHOP_MEDIA_AUDIO_PACKET_MS is 20, 40 or 60 (Opus packets), not {value}")
    return value


def from_env() -> Settings:
    origins = _env("ALLOWED_ORIGINS")
    return Settings(
        data_dir=Path(_env("DATA_DIR", "data")),
        host=_env("HOST", "127.0.0.1"),
        port=int(_env("PORT", "8080")),
        database_url=_env("DATABASE_URL"),
        redis_url=_env("REDIS_URL"),
        session_hours=int(_env("SESSION_HOURS", "12")),
        demo_password=_env("DEMO_PASSWORD"),
        allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()) if origins else (),
        max_body_bytes=int(_env("MAX_BODY_KB", "1024")) * 1024,
        login_account_limit=_env("LOGIN_ACCOUNT_LIMIT", "5 per 15 minutes"),
        login_address_limit=_env("LOGIN_ADDRESS_LIMIT", "100 per 15 minutes"),
        trusted_proxies=tuple(p.strip() for p in (_env("TRUSTED_PROXIES") or "").split(",") if p.strip()),
        socket_rate=float(_env("SOCKET_RATE", "20")),
        socket_burst=int(_env("SOCKET_BURST", "100")),
        secret_polls=_env("SECRET_POLLS", "allow"),
        max_upload_mb=int(_env("MAX_UPLOAD_MB", "200")),
        offline_lease_hours=int(_env("OFFLINE_LEASE_HOURS", "72")),
        render_workers=int(_env("RENDER_WORKERS", "0")) or None,
        page_cache_mb=int(_env("PAGE_CACHE_MB", "256")),
        accel_redirect=_accel_prefix(_env("ACCEL_REDIRECT")),
        ws_compression=_env("WS_COMPRESSION", "off").lower() in ("on", "1", "true", "yes"),
        event_loop=_env("EVENT_LOOP", "auto").lower(),
        signing_cert=Path(cert) if (cert := _env("SIGNING_CERT")) else None,
        signing_password=_env("SIGNING_PASSWORD"),
        media_embedded=(_env("MEDIA_EMBEDDED", "1").lower() not in ("0", "false", "no", "off")),
        media_secret=_env("MEDIA_SECRET"),
        media_layers=_env("MEDIA_LAYERS"),
        media_ice_addresses=tuple(a.strip() for a in (_env("MEDIA_ICE_ADDRESSES") or "").split(",") if a.strip()),
        media_audio_packet_ms=_audio_packet_ms(),
        media_heartbeat_s=_bounded("MEDIA_HEARTBEAT_S", float, "2", 0.1, 60),
        media_heartbeat_missed=_bounded("MEDIA_HEARTBEAT_MISSED", int, "3", 1, 100),
        floor_grace_s=_bounded("FLOOR_GRACE_S", float, "10", 0, 3600),
    )
