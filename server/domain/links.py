"""Link quality of a bridge point (or of a media node's link to its parent).

The operations screen shows every link as normal, degraded or critical, and the
connection test (kiểm tra kết nối) gives each point a verdict before the start. Both
use the rules below, which are pure: the media plane measures (loss, round-trip time,
jitter, bitrate), and this module decides.

Packet loss sets the class:

- **normal**   below 1 % loss;
- **degraded** from 1 % up to and including 5 %;
- **critical** above 5 %.

A link getting worse changes class at once. A link getting better must clear the
threshold by a margin before it changes back (hysteresis), so a link that hovers
around 1 % does not flicker between normal and degraded on the operations screen:
with the defaults a degraded link becomes normal again below 0.5 %, and a critical one
becomes degraded again at 4 % or less.

The connection test passes when the link is not critical, its round-trip time and
jitter stay within bounds, and media actually arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkState(StrEnum):
    NORMAL = "normal"
    DEGRADED = "degraded"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {LinkState.NORMAL: 0, LinkState.DEGRADED: 1, LinkState.CRITICAL: 2}


@dataclass(frozen=True)
class LinkThresholds:
    """Loss is a fraction (0.01 is 1 %); times are milliseconds."""

    degraded_loss: float = 0.01  # at or above: degraded
    critical_loss: float = 0.05  # above: critical
    recover_normal_below: float = 0.005  # a degraded or critical link is normal again below this
    recover_degraded_at_most: float = 0.04  # a critical link is degraded again at or below this
    max_rtt_ms: float = 400.0  # the connection test fails above this round-trip time
    max_jitter_ms: float = 60.0  # ... or above this jitter

    def __post_init__(self) -> None:
        if not 0 <= self.recover_normal_below <= self.degraded_loss <= self.critical_loss <= 1:
            raise ValueError("loss thresholds must satisfy 0 <= recover_normal <= degraded <= critical <= 1")
        if not self.degraded_loss <= self.recover_degraded_at_most <= self.critical_loss:
            raise ValueError("a critical link recovers to degraded between the degraded and critical thresholds")


DEFAULT_THRESHOLDS = LinkThresholds()


def classify_fresh(loss: float, thresholds: LinkThresholds = DEFAULT_THRESHOLDS) -> LinkState:
    """The class of a link seen for the first time (no history, no hysteresis)."""
    if loss > thresholds.critical_loss:
        return LinkState.CRITICAL
    if loss >= thresholds.degraded_loss:
        return LinkState.DEGRADED
    return LinkState.NORMAL


def classify(
    loss: float, previous: LinkState | None = None, thresholds: LinkThresholds = DEFAULT_THRESHOLDS
) -> LinkState:
    """The class of a link whose loss over the last interval is `loss` (0..1), given its previous class.

    Worse at once; better only past the recovery margins.
    """
    if not 0 <= loss <= 1:
        raise ValueError(f"loss is a fraction between 0 and 1, not {loss!r}")
    fresh = classify_fresh(loss, thresholds)
    if previous is None or fresh.rank >= previous.rank:
        return fresh
    # Getting better: step down only as far as the recovery margins allow.
    if loss < thresholds.recover_normal_below:
        return LinkState.NORMAL
    if previous is LinkState.CRITICAL and loss <= thresholds.recover_degraded_at_most:
        return LinkState.DEGRADED
    return previous


@dataclass(frozen=True)
class Verdict:
    """The connection test's answer for one point."""

    state: LinkState
    passed: bool
    reasons: tuple[str, ...]  # codes, empty when passed: no_media, loss, rtt, jitter

    def as_dict(self) -> dict:
        return {"quality": self.state.value, "passed": self.passed, "reasons": list(self.reasons)}


def verdict(
    *,
    loss: float,
    rtt_ms: float | None,
    jitter_ms: float | None,
    packets_received: int,
    thresholds: LinkThresholds = DEFAULT_THRESHOLDS,
) -> Verdict:
    """Pass or fail a connection test from what it measured.

    An unknown round-trip time or jitter (no report arrived in time) does not fail the
    test on its own: no media at all does.
    """
    state = classify_fresh(loss, thresholds)
    reasons = []
    if packets_received <= 0:
        reasons.append("no_media")
    if state is LinkState.CRITICAL:
        reasons.append("loss")
    if rtt_ms is not None and rtt_ms > thresholds.max_rtt_ms:
        reasons.append("rtt")
    if jitter_ms is not None and jitter_ms > thresholds.max_jitter_ms:
        reasons.append("jitter")
    return Verdict(state=state, passed=not reasons, reasons=tuple(reasons))
