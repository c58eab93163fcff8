"""Link quality: normal below 1 % loss, degraded 1–5 %, critical above 5 %, with hysteresis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.links import (
    DEFAULT_THRESHOLDS,
    LinkState,
    LinkThresholds,
    classify,
    classify_fresh,
    verdict,
)

N, D, C = LinkState.NORMAL, LinkState.DEGRADED, LinkState.CRITICAL
loss = st.floats(min_value=0, max_value=1, allow_nan=False)
state = st.sampled_from([None, N, D, C])


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, N), (0.0099, N), (0.01, D), (0.03, D), (0.05, D), (0.0501, C), (0.2, C), (1.0, C),
])
def test_the_bands_of_the_issue(value, expected):
    assert classify_fresh(value) is expected
    assert classify(value) is expected


def test_getting_better_needs_a_margin():
    assert classify(0.008, D) is D  # below 1 % but not below 0.5 %: stays degraded
    assert classify(0.004, D) is N
    assert classify(0.045, C) is C  # below 5 % but above 4 %: stays critical
    assert classify(0.04, C) is D
    assert classify(0.002, C) is N


def test_a_link_hovering_at_the_threshold_does_not_flicker():
    states = []
    previous = None
    for value in [0.011, 0.009, 0.012, 0.008, 0.0105, 0.009]:
        previous = classify(value, previous)
        states.append(previous)
    assert states == [D] * 6


@given(loss, state)
def test_worse_at_once(value, previous):
    """The class is never better than the fresh class of the loss measured."""
    assert classify(value, previous).rank >= classify_fresh(value).rank


@given(loss, state)
def test_never_worse_than_the_loss_or_the_past_warrants(value, previous):
    got = classify(value, previous)
    assert got.rank <= max(classify_fresh(value).rank, previous.rank if previous else 0)


@given(loss, loss, state)
def test_monotonic_in_loss(a, b, previous):
    low, high = sorted((a, b))
    assert classify(low, previous).rank <= classify(high, previous).rank


@given(loss)
def test_a_steady_loss_settles_in_one_step(value):
    for previous in (None, N, D, C):
        once = classify(value, previous)
        assert classify(value, once) is once


def test_refuses_nonsense():
    with pytest.raises(ValueError):
        classify(-0.1)
    with pytest.raises(ValueError):
        classify(1.5)
    with pytest.raises(ValueError):
        LinkThresholds(degraded_loss=0.06, critical_loss=0.05)


def test_the_connection_test_verdict():
    good = verdict(loss=0.0, rtt_ms=12, jitter_ms=3, packets_received=400)
    assert good.passed and good.state is N and good.reasons == ()
    assert verdict(loss=0.03, rtt_ms=12, jitter_ms=3, packets_received=400).as_dict() == {
        "quality": "degraded", "passed": True, "reasons": []}
    bad = verdict(loss=0.08, rtt_ms=900, jitter_ms=90, packets_received=400)
    assert not bad.passed and bad.state is C and bad.reasons == ("loss", "rtt", "jitter")
    assert verdict(loss=0.0, rtt_ms=None, jitter_ms=None, packets_received=0).reasons == ("no_media",)
    assert verdict(loss=0.0, rtt_ms=None, jitter_ms=None, packets_received=10).passed
    assert DEFAULT_THRESHOLDS.max_rtt_ms == 400
