"""Times are stored in UTC and shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the wire carries every time."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def aware(value: datetime) -> datetime:
    """A time without a zone was written by a person in Vietnam: read it as local time."""
    return value.replace(tzinfo=LOCAL) if value.tzinfo is None else value


def local(value: datetime) -> datetime:
    return value.astimezone(LOCAL)
