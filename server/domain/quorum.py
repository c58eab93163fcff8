"""Quorum of a meeting: how many members with a voting right must be present.

Party rules usually demand "at least two thirds of the members"; a meeting may set
another fraction. The figure is recomputed from attendance on every change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_QUORUM = Fraction(2, 3)


@dataclass(frozen=True)
class Quorum:
    members: int  # participants with a voting right
    present: int  # of those, checked in
    required: int  # the least number present for the quorum
    fraction: Fraction

    @property
    def reached(self) -> bool:
        return self.members > 0 and self.present >= self.required

    def as_dict(self) -> dict:
        return {
            "members": self.members,
            "present": self.present,
            "required": self.required,
            "fraction": f"{self.fraction.numerator}/{self.fraction.denominator}",
            "reached": self.reached,
        }


def parse_fraction(text: str) -> Fraction:
    """'2/3' -> Fraction(2, 3); refuses anything outside (0, 1]."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"not a fraction: {text!r}") from exc
    if not 0 < value <= 1:
        raise ValueError(f"a quorum fraction lies in (0, 1]: {text!r}")
    return value


def compute(members: int, present: int, fraction: Fraction = DEFAULT_QUORUM) -> Quorum:
    """At least `fraction` of `members`, rounded up: 2/3 of 60 is 40, 2/3 of 61 is 41."""
    required = math.ceil(members * fraction) if members else 0
    return Quorum(members=members, present=present, required=required, fraction=fraction)
