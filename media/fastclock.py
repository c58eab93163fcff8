"""aiortc's clock without datetime objects on the per-packet path.

aiortc's sender reads the NTP time twice for every RTP packet it sends (the abs-send-time
header extension, the sender report's reference), and its DTLS transport reads the time in
milliseconds for every packet it receives, each through a timezone-aware `datetime` and a
`timedelta`. py-spy put that at 7 % of a province node's CPU in the conference benchmark,
where a node sends some 3,000 packets a second. `install()` replaces the two functions with
the same values computed from `time.time()`; the `datetime` ones stay aiortc's.
"""

from __future__ import annotations

import time

from aiortc import clock

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)


def current_ntp_time() -> int:
    """64-bit NTP time: seconds since 1900 in the high 32 bits, the fraction in the low."""
    now = time.time() + NTP_UNIX_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * (1 << 32))


def current_ms() -> int:
    """Milliseconds since 1900, as aiortc's `clock.current_ms`."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


def install() -> None:
    clock.current_ntp_time = current_ntp_time
    clock.current_ms = current_ms
