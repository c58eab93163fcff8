"""Programme and schedule rules alone: ISO weeks in Vietnam, entry states, due times, clashes,
publication and amendment numbers (server/domain/programmes.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import programmes as rules
from server.domain.errors import DomainError, Invalid
from server.domain.programmes import Due, EntryState, IsoWeek, Slot
from server.domain.times import LOCAL

# --- ISO weeks -------------------------------------------------------------------------------------


def test_midnight_in_hanoi_decides_the_week_not_utc():
    # Sunday 11 January 2026, 23:59 in Hanoi is week 2; one minute later it is Monday, week 3,
    # although in UTC both are still Sunday afternoon.
    sunday_night = datetime(2026, 1, 11, 16, 59, tzinfo=UTC)
    monday_start = datetime(2026, 1, 11, 17, 0, tzinfo=UTC)
    assert sunday_night.date() == monday_start.date() == date(2026, 1, 11)
    assert IsoWeek.of(sunday_night) == IsoWeek(2026, 2)
    assert IsoWeek.of(monday_start) == IsoWeek(2026, 3)
    assert IsoWeek(2026, 3).starts_at == monday_start
    assert IsoWeek(2026, 2).ends_at == monday_start
    assert IsoWeek(2026, 2).holds(sunday_night) and not IsoWeek(2026, 2).holds(monday_start)


def test_weeks_across_the_new_year():
    # 29 December 2025 (a Monday) begins ISO week 1 of 2026; 1 January 2021 (a Friday) is in
    # week 53 of 2020; 2026 has 53 weeks, 2025 has 52.
    assert IsoWeek.of_day(date(2025, 12, 29)) == IsoWeek(2026, 1)
    assert IsoWeek.of_day(date(2025, 12, 28)) == IsoWeek(2025, 52)
    assert IsoWeek.of_day(date(2021, 1, 1)) == IsoWeek(2020, 53)
    assert IsoWeek.of_day(date(2027, 1, 3)) == IsoWeek(2026, 53)
    assert rules.weeks_in(2026) == 53 and rules.weeks_in(2025) == 52
    assert IsoWeek(2026, 53).shift(1) == IsoWeek(2027, 1)
    assert IsoWeek(2026, 1).shift(-1) == IsoWeek(2025, 52)
    assert IsoWeek(2026, 1).monday == date(2025, 12, 29) and IsoWeek(2026, 1).sunday == date(2026, 1, 4)
    # New Year's Eve 2025 at 23:30 in Hanoi is 16:30 UTC: week 1 of 2026 either way.
    assert IsoWeek.of(datetime(2025, 12, 31, 16, 30, tzinfo=UTC)) == IsoWeek(2026, 1)
    # Sunday 4 January 2026 at 17:00 UTC is Monday 5 January in Hanoi: week 2.
    assert IsoWeek.of(datetime(2026, 1, 4, 17, 0, tzinfo=UTC)) == IsoWeek(2026, 2)


def test_a_week_that_does_not_exist_is_refused():
    with pytest.raises(Invalid):
        IsoWeek(2025, 53)
    with pytest.raises(Invalid):
        IsoWeek(2026, 0)
    assert IsoWeek(2026, 53).key == "2026-W53"


@pytest.mark.parametrize("key, week", [("2026-W03", IsoWeek(2026, 3)), ("2026-w3", IsoWeek(2026, 3)),
                                       (" 2020-W53 ", IsoWeek(2020, 53))])
def test_week_keys(key, week):
    assert IsoWeek.parse(key) == week
    assert IsoWeek.parse(week.key) == week


@pytest.mark.parametrize("key", ["2026-03", "W03-2026", "2026-W", "26-W03", "2026-W100", "2025-W53", ""])
def test_bad_week_keys(key):
    with pytest.raises(Invalid):
        IsoWeek.parse(key)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC)))
def test_every_moment_is_in_exactly_the_week_that_holds_it(moment):
    week = IsoWeek.of(moment)
    assert week.holds(moment)
    assert not week.shift(1).holds(moment) and not week.shift(-1).holds(moment)
    assert week.ends_at - week.starts_at == timedelta(days=7)
    assert week.starts_at.astimezone(LOCAL).weekday() == 0 and week.starts_at.astimezone(LOCAL).hour == 0
    assert week.shift(1).shift(-1) == week


def test_entry_times_stay_in_their_week():
    week = IsoWeek(2026, 3)
    monday_8 = datetime(2026, 1, 12, 8, tzinfo=LOCAL)
    rules.check_entry_times(week, monday_8, monday_8 + timedelta(hours=2))
    rules.check_entry_times(week, monday_8, None)
    rules.check_entry_times(week, datetime(2026, 1, 18, 22, tzinfo=LOCAL), week.ends_at)  # until midnight Sunday
    for starts, ends, field in [
        (monday_8 - timedelta(days=1), None, "starts_at"),
        (monday_8, monday_8, "ends_at"),
        (monday_8, monday_8 - timedelta(minutes=1), "ends_at"),
        (datetime(2026, 1, 18, 22, tzinfo=LOCAL), datetime(2026, 1, 19, 1, tzinfo=LOCAL), "ends_at"),
    ]:
        with pytest.raises(Invalid) as err:
            rules.check_entry_times(week, starts, ends)
        assert err.value.details[0]["field"] == field


# --- programme entries -----------------------------------------------------------------------------

ALLOWED = {
    ("planned", "scheduled"), ("planned", "done"), ("planned", "postponed"), ("planned", "cancelled"),
    ("scheduled", "planned"), ("scheduled", "done"), ("scheduled", "postponed"), ("scheduled", "cancelled"),
    ("postponed", "planned"), ("postponed", "scheduled"), ("postponed", "cancelled"),
}


@pytest.mark.parametrize("current", [s.value for s in EntryState])
@pytest.mark.parametrize("target", [s.value for s in EntryState])
def test_every_entry_state_and_step(current, target):
    if (current, target) in ALLOWED:
        assert rules.next_entry_state(current, target, "Trùng lịch làm việc với Trung ương") == target
    else:
        with pytest.raises(DomainError) as err:
            rules.next_entry_state(current, target, "lý do")
        assert err.value.code == "invalid_transition" and current in err.value.message


@pytest.mark.parametrize("target", ["postponed", "cancelled"])
def test_postponing_or_cancelling_needs_a_reason(target):
    with pytest.raises(Invalid) as err:
        rules.next_entry_state("planned", target, "   ")
    assert err.value.details[0]["field"] == "reason"


def test_an_unknown_state_is_invalid_not_a_crash():
    with pytest.raises(Invalid):
        rules.next_entry_state("planned", "maybe")


def test_which_states_a_schedule_or_meeting_moves_to_scheduled():
    assert rules.may_schedule("planned") and rules.may_schedule("postponed")
    assert not any(rules.may_schedule(s) for s in ("scheduled", "done", "cancelled"))


def test_periods_and_their_keys():
    assert rules.period_key("annual", 2026, None) == "2026"
    assert rules.period_key("monthly", 2026, 3) == "2026-03"
    for kind, month in (("annual", 3), ("monthly", None), ("monthly", 13), ("weekly", None)):
        with pytest.raises(Invalid):
            rules.period_key(kind, 2026, month)
    assert rules.default_title("monthly", 2026, 3) == "Chương trình công tác tháng 3 năm 2026"


def test_when_entries_are_due():
    rules.check_due("annual", 2026, None, Due(month=3))
    rules.check_due("annual", 2026, None, Due(quarter=2))
    rules.check_due("monthly", 2026, 3, Due(day=date(2026, 3, 15)))
    rules.check_due("monthly", 2026, 3, Due())  # the day is not fixed yet
    for kind, month, due in [
        ("annual", None, Due()),
        ("annual", None, Due(month=3, quarter=1)),
        ("annual", None, Due(day=date(2026, 3, 1))),
        ("annual", None, Due(quarter=5)),
        ("monthly", 3, Due(month=3)),
        ("monthly", 3, Due(day=date(2026, 4, 1))),
        ("monthly", 3, Due(day=date(2025, 3, 15))),
    ]:
        with pytest.raises(Invalid):
            rules.check_due(kind, 2026, month, due)
    assert Due(quarter=2).label() == "Quý II" and Due(month=11).label() == "Tháng 11"
    assert Due(day=date(2026, 3, 5)).label() == "05/03/2026"


def test_entries_sort_by_when_they_are_due():
    entries = {
        "q2": (Due(quarter=2), 1, 1),
        "april": (Due(month=4), 2, 2),
        "march": (Due(month=3), 3, 3),
        "january-late": (Due(month=1), 9, 4),
        "january": (Due(month=1), 4, 5),
    }
    order = sorted(entries, key=lambda k: rules.entry_order(2026, *entries[k]))
    # April begins the second quarter: its own entries first, then the quarter's.
    assert order == ["january", "january-late", "march", "april", "q2"]


# --- publication ---------------------------------------------------------------------------------


def test_publication_and_amendment_numbers():
    assert rules.amendment_number("draft", 0) is None
    assert rules.publish_step("draft", 0, 0) == 1
    assert rules.amendment_number("published", 1) == 1  # changes after the first issue: amendment 1
    assert rules.publish_step("published", 1, 3) == 2  # reissued as "điều chỉnh lần 1"
    assert rules.amendment_number("published", 2) == 2
    with pytest.raises(DomainError) as err:
        rules.publish_step("published", 2, 0)
    assert err.value.code == "invalid_transition"


# --- clashes -------------------------------------------------------------------------------------


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=LOCAL)


def test_one_person_in_two_places_at_once():
    slots = [
        Slot(1, at(13, 8), at(13, 11), frozenset({7, 8}), "Hội trường Tỉnh ủy"),
        Slot(2, at(13, 9, 30), at(13, 10, 30), frozenset({8, 9}), "Xã Tiên Du"),
        Slot(3, at(13, 11), at(13, 12), frozenset({7}), "Phòng họp số 2"),  # starts as 1 ends: no clash
        Slot(4, at(13, 14), None, frozenset({9}), "UBND tỉnh"),
        Slot(5, at(13, 15, 30), at(13, 16), frozenset({9}), "Sở Tài chính"),  # within 4's assumed two hours
    ]
    found = rules.clashes(slots)
    assert [c.as_dict() for c in found] == [
        {"kind": "person", "entry_ids": [1, 2], "user_id": 8, "place": ""},
        {"kind": "person", "entry_ids": [4, 5], "user_id": 9, "place": ""},
    ]
    assert rules.clashes_of(3, found) == []
    assert [c.entry_ids for c in rules.clashes_of(5, found)] == [(4, 5)]


def test_one_hall_booked_twice_is_found_whatever_the_typing():
    slots = [
        Slot(1, at(14, 8), at(14, 10), frozenset({1}), "Hội trường A"),
        Slot(2, at(14, 9), at(14, 11), frozenset({2}), "hoi truong  a"),
        Slot(3, at(14, 9), at(14, 11), frozenset({3}), ""),  # no place written: nothing to compare
    ]
    assert [(c.kind, c.entry_ids) for c in rules.clashes(slots)] == [("place", (1, 2))]


def test_no_clash_on_different_days_or_without_shared_people():
    slots = [
        Slot(1, at(12, 8), at(12, 17), frozenset({1}), "Phòng 1"),
        Slot(2, at(13, 8), at(13, 17), frozenset({1}), "Phòng 1"),
        Slot(3, at(12, 8), at(12, 17), frozenset({2}), "Phòng 2"),
    ]
    assert rules.clashes(slots) == []


@given(st.lists(st.tuples(st.integers(0, 6 * 24 * 4), st.integers(1, 16), st.frozensets(st.integers(1, 4))),
                max_size=12))
def test_clashes_match_the_definition(raw):
    """Against the plain definition: two entries clash on a person when their times overlap and
    they share that person."""
    base = at(12, 0)
    slots = [Slot(i + 1, base + timedelta(minutes=15 * s), base + timedelta(minutes=15 * (s + d)), people)
             for i, (s, d, people) in enumerate(raw)]
    expected = set()
    for a in slots:
        for b in slots:
            if a.entry_id < b.entry_id and a.starts < b.until and b.starts < a.until:
                for person in a.people & b.people:
                    expected.add((frozenset({a.entry_id, b.entry_id}), person))
    got = {(frozenset(c.entry_ids), c.user_id) for c in rules.clashes(slots)}
    assert got == expected


def test_amendments_are_described_field_by_field():
    before = {"starts_at": rules.moment_label(at(13, 8)), "place": "Phòng họp số 1", "content": "Họp Ban Thường vụ"}
    after = {**before, "starts_at": rules.moment_label(at(13, 14)), "place": "Hội trường A"}
    assert rules.describe_change(before, after) == (
        "Thời gian: 08:00 Thứ Ba 13/01/2026 → 14:00 Thứ Ba 13/01/2026; Địa điểm: Phòng họp số 1 → Hội trường A"
    )
    assert rules.describe_change(before, before) == ""
    assert rules.day_label(date(2026, 1, 18)) == "Chủ nhật, 18/01/2026"
