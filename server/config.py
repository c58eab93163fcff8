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
    secret_polls: str = "allow"  # "forbid": secret electronic polls are refused (held on paper)
    max_upload_mb: int = 200  # one uploaded document
    offline_lease_hours: int = 72  # a tablet's offline copy of a meeting's documents lives this long
    render_workers: int | None = None  # render child processes at once; None: one per core
    page_cache_mb: int = 256  # page images kept in memory for the tablets (their files never change)
    # The final minutes and conclusion notices are signed (PAdES) with this PKCS#12 file, when set.
    signing_cert: Path | None = None
    signing_password: str | None = None

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
        secret_polls=_env("SECRET_POLLS", "allow"),
        max_upload_mb=int(_env("MAX_UPLOAD_MB", "200")),
        offline_lease_hours=int(_env("OFFLINE_LEASE_HOURS", "72")),
        render_workers=int(_env("RENDER_WORKERS", "0")) or None,
        page_cache_mb=int(_env("PAGE_CACHE_MB", "256")),
        signing_cert=Path(cert) if (cert := _env("SIGNING_CERT")) else None,
        signing_password=_env("SIGNING_PASSWORD"),
    )
