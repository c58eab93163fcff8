"""Quorum: at least a fraction of the voting members, rounded up."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.quorum import DEFAULT_QUORUM, compute, parse_fraction


@pytest.mark.parametrize(
    ("members", "required"),
    [(60, 40), (61, 41), (62, 42), (63, 42), (3, 2), (2, 2), (1, 1), (0, 0), (45, 30), (47, 32)],
)
def test_two_thirds(members, required):
    assert DEFAULT_QUORUM == Fraction(2, 3)
    assert compute(members, 0).required == required


def test_reached_at_the_line_and_not_below():
    assert compute(60, 40).reached
    assert not compute(60, 39).reached
    assert compute(61, 41).reached
    assert not compute(61, 40).reached


def test_no_members_no_quorum():
    q = compute(0, 0)
    assert q.required == 0 and not q.reached


def test_other_fractions():
    assert compute(60, 31, Fraction(1, 2)).required == 30
    assert compute(61, 31, Fraction(1, 2)).required == 31
    assert compute(7, 7, Fraction(1)).required == 7
    assert not compute(7, 6, Fraction(1)).reached


def test_as_dict():
    assert compute(61, 41).as_dict() == {
        "members": 61, "present": 41, "required": 41, "fraction": "2/3", "reached": True,
    }
    assert compute(10, 5, parse_fraction("4/6")).as_dict()["fraction"] == "2/3"


fractions = st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100).filter(lambda f: f > 0)


@given(st.integers(0, 5000), st.integers(0, 5000), fractions)
def test_required_is_the_ceiling_and_reached_iff_enough_present(members, present, fraction):
    q = compute(members, present, fraction)
    assert q.required == math.ceil(members * fraction)
    # The least whole number of people that is at least the fraction of the members.
    assert q.required >= members * fraction
    assert q.required - 1 < members * fraction or members == 0
    assert q.reached == (members > 0 and present >= q.required)


@given(st.integers(1, 5000), fractions)
def test_reached_is_monotone_in_present(members, fraction):
    q = compute(members, 0, fraction)
    assert compute(members, q.required, fraction).reached
    assert not compute(members, q.required - 1, fraction).reached


@pytest.mark.parametrize(
    ("text", "value"),
    [("2/3", Fraction(2, 3)), ("1/2", Fraction(1, 2)), ("1", Fraction(1)), (" 3/4 ", Fraction(3, 4)),
     ("0.5", Fraction(1, 2)), ("4/6", Fraction(2, 3))],
)
def test_parse_fraction(text, value):
    assert parse_fraction(text) == value


@pytest.mark.parametrize(
    "text", ["0", "0/3", "-1/2", "4/3", "2", "1.5", "1/0", "0/0", "", "   ", "hai phần ba", "2/3/4", "nan", "inf", "½"]
)
def test_parse_fraction_refuses(text):
    with pytest.raises(ValueError):
        parse_fraction(text)


@given(st.text(max_size=12))
def test_parse_fraction_accepts_only_fractions_in_range(text):
    try:
        value = parse_fraction(text)
    except ValueError:
        return
    assert 0 < value <= 1
