"""Directive rules: overdue and due soon by the calendar in Vietnam, the status transitions,
who answers for a directive, and the dashboard's counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import directives as rules
from server.domain.directives import Status
from server.domain.errors import DomainError, Invalid

DEADLINE = date(2026, 12, 10)


# ---------------------------------------------------------------- today, in Vietnam


def test_the_day_changes_at_midnight_in_vietnam_not_in_utc():
    # 16:59:59 UTC on the 10th is 23:59:59 in Hanoi: still the 10th there.
    assert rules.today_in_vietnam(datetime(2026, 12, 10, 16, 59, 59, tzinfo=UTC)) == date(2026, 12, 10)
    # One second later it is midnight in Hanoi, while UTC still says the 10th.
    assert rules.today_in_vietnam(datetime(2026, 12, 10, 17, 0, 0, tzinfo=UTC)) == date(2026, 12, 11)
    # Early morning in Hanoi is the evening before in UTC.
    assert rules.today_in_vietnam(datetime(2026, 12, 9, 23, 30, tzinfo=UTC)) == date(2026, 12, 10)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        rules.today_in_vietnam(datetime(2026, 12, 10, 12, 0))


def test_overdue_starts_at_midnight_after_the_deadline_day_in_hanoi():
    last_second = rules.today_in_vietnam(datetime(2026, 12, 10, 16, 59, 59, tzinfo=UTC))
    first_second = rules.today_in_vietnam(datetime(2026, 12, 10, 17, 0, 0, tzinfo=UTC))
    on_the_day = rules.timeliness(Status.IN_PROGRESS, DEADLINE, last_second)
    after = rules.timeliness(Status.IN_PROGRESS, DEADLINE, first_second)
    assert not on_the_day.overdue and on_the_day.due_soon and on_the_day.days_left == 0
    assert after.overdue and not after.due_soon and after.days_left == -1


def test_due_soon_is_the_coming_week():
    assert rules.timeliness(Status.NEW, DEADLINE, DEADLINE - timedelta(days=rules.DUE_SOON_DAYS)).due_soon
    too_far = rules.timeliness(Status.NEW, DEADLINE, DEADLINE - timedelta(days=rules.DUE_SOON_DAYS + 1))
    assert not too_far.due_soon and not too_far.overdue and too_far.days_left == rules.DUE_SOON_DAYS + 1


@pytest.mark.parametrize("status", [Status.REPORTED, Status.COMPLETED, Status.CANCELLED])
def test_only_work_still_to_do_falls_behind(status):
    late = rules.timeliness(status, DEADLINE, DEADLINE + timedelta(days=30))
    assert not late.overdue and not late.due_soon
    assert not rules.timeliness(status, DEADLINE, DEADLINE - timedelta(days=1)).due_soon


def test_without_a_deadline_nothing_is_late():
    when = rules.timeliness(Status.IN_PROGRESS, None, date(2030, 1, 1))
    assert when == rules.Timeliness(False, False, None, False)


def test_completed_after_the_deadline_is_late_on_the_record():
    assert rules.timeliness(Status.COMPLETED, DEADLINE, date(2027, 1, 1), completed_on=DEADLINE).late is False
    assert rules.timeliness(Status.COMPLETED, DEADLINE, date(2027, 1, 1),
                            completed_on=DEADLINE + timedelta(days=1)).late is True


@given(st.sampled_from(list(Status)), st.dates(date(2020, 1, 1), date(2030, 12, 31)),
       st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_overdue_and_due_soon_never_together_and_only_when_running(status, deadline, today):
    when = rules.timeliness(status, deadline, today)
    assert not (when.overdue and when.due_soon)
    assert when.days_left == (deadline - today).days
    if when.overdue or when.due_soon:
        assert status in rules.RUNNING
    assert when.overdue == (status in rules.RUNNING and today > deadline)


# ---------------------------------------------------------------- the life of a directive


def test_a_report_below_100_percent_means_in_progress_and_100_means_reported():
    assert rules.after_report(Status.NEW, 0) == Status.IN_PROGRESS
    assert rules.after_report(Status.NEW, 40) == Status.IN_PROGRESS
    assert rules.after_report(Status.IN_PROGRESS, 100) == Status.REPORTED
    # A premature "done" is taken back by a later report below 100 %.
    assert rules.after_report(Status.REPORTED, 80) == Status.IN_PROGRESS


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_a_finished_directive_takes_no_report(status):
    with pytest.raises(DomainError) as refused:
        rules.after_report(status, 50)
    assert refused.value.code == "invalid_transition"


def test_a_report_is_a_percentage():
    with pytest.raises(Invalid):
        rules.after_report(Status.NEW, 101)


def test_accept_cancel_reopen():
    for status in (Status.NEW, Status.IN_PROGRESS, Status.REPORTED):
        assert rules.accept(status) == Status.COMPLETED
        assert rules.cancel(status) == Status.CANCELLED
    for status in (Status.COMPLETED, Status.CANCELLED):
        for step in (rules.accept, rules.cancel):
            with pytest.raises(DomainError):
                step(status)
    assert rules.reopen(Status.REPORTED, reported_before=True) == Status.IN_PROGRESS
    assert rules.reopen(Status.COMPLETED, reported_before=True) == Status.IN_PROGRESS
    assert rules.reopen(Status.CANCELLED, reported_before=False) == Status.NEW
    for status in (Status.NEW, Status.IN_PROGRESS):
        with pytest.raises(DomainError) as refused:
            rules.reopen(status, reported_before=False)
        assert refused.value.code == "invalid_transition"


def test_a_finished_directive_is_reopened_before_it_is_edited():
    rules.check_editable(Status.REPORTED)
    for status in (Status.COMPLETED, Status.CANCELLED):
        with pytest.raises(DomainError):
            rules.check_editable(status)


STEPS = {
    "report": lambda s: rules.after_report(s, 50),
    "report done": lambda s: rules.after_report(s, 100),
    "accept": rules.accept,
    "cancel": rules.cancel,
    "reopen": lambda s: rules.reopen(s, True),
}


@given(st.lists(st.sampled_from(sorted(STEPS)), max_size=30))
def test_any_sequence_of_steps_stays_in_the_lifecycle(steps):
    status = Status.NEW
    for step in steps:
        try:
            after = STEPS[step](status)
        except DomainError:
            continue
        # Finished states are left only by reopening; reports never finish a directive.
        if status in rules.FINISHED:
            assert step == "reopen"
        if step.startswith("report"):
            assert after in rules.OPEN
        status = after
    assert status in set(Status)


# ---------------------------------------------------------------- who answers for it


def test_an_assignment_needs_someone_and_a_lead_unit_is_not_also_coordinating():
    with pytest.raises(Invalid):
        rules.assignment(None, [5], [])
    with pytest.raises(Invalid):
        rules.assignment(5, [5, 6], [])
    given_ = rules.assignment(None, [], [7, 7, 8])
    assert given_.responsible_user_ids == (7, 8)
    assert rules.assignment(5, [6, 6], []).unit_ids == {5, 6}


def test_a_unit_member_and_the_units_below_answer_for_it_but_not_the_units_beside():
    commune, province, other = 20, 1, 21
    given_ = rules.assignment(province, [], [99])
    # An account of a commune under the province: its line reaches the province.
    below = rules.Viewer(user_id=3, unit_line=frozenset({commune, province}))
    assert rules.answers_for(below, given_) and rules.may_report(below, 1, given_)
    # Given to the commune: an account of the province (above it) does not answer for it.
    to_commune = rules.assignment(commune, [], [])
    above = rules.Viewer(user_id=4, unit_line=frozenset({province}))
    beside = rules.Viewer(user_id=5, unit_line=frozenset({other, province}))
    assert not rules.answers_for(above, to_commune) and not rules.answers_for(beside, to_commune)
    assert not rules.may_see(beside, 1, to_commune)
    # The responsible person, whatever their unit.
    assert rules.answers_for(rules.Viewer(user_id=99), given_)


def test_the_secretariat_keeps_and_the_chair_follows():
    given_ = rules.assignment(30, [], [])
    secretariat = rules.Viewer(user_id=1, global_roles=frozenset({"secretariat"}))
    secretary = rules.Viewer(user_id=2, staffed_meetings=frozenset({7}))
    chair = rules.Viewer(user_id=3, chaired_meetings=frozenset({7}))
    assert rules.keeps(secretariat, 7) and rules.may_report(secretariat, 7, given_)
    assert rules.keeps(secretary, 7) and not rules.keeps(secretary, 8)
    assert rules.may_see(chair, 7, given_) and not rules.may_report(chair, 7, given_)
    assert not rules.may_see(chair, 8, given_)


# ---------------------------------------------------------------- the dashboard


def test_counts_add_up_and_overdue_sorts_first():
    today = date(2026, 12, 15)
    rows = [
        (1, Status.IN_PROGRESS, date(2026, 12, 1), None),  # overdue, 14 days
        (2, Status.NEW, date(2026, 12, 14), None),  # overdue, 1 day
        (3, Status.NEW, date(2026, 12, 18), None),  # due soon
        (4, Status.REPORTED, date(2026, 12, 1), None),  # waiting for acceptance: not overdue
        (5, Status.COMPLETED, date(2026, 12, 1), date(2026, 12, 3)),  # done late
        (6, Status.COMPLETED, None, date(2026, 12, 3)),
        (7, Status.CANCELLED, date(2026, 11, 1), None),
        (8, Status.IN_PROGRESS, None, None),
    ]
    counts = rules.Counts()
    for _, status, deadline, done_on in rows:
        counts.add(status, deadline, today, done_on)
    assert counts.as_dict() == {"total": 7, "done": 2, "done_late": 1, "in_progress": 3, "reported": 1,
                                "overdue": 2, "due_soon": 1, "cancelled": 1}
    assert counts.total == counts.done + counts.in_progress + counts.overdue
    order = sorted(rows, key=lambda r: rules.sort_key(r[1], r[2], today, r[0]))
    assert [r[0] for r in order] == [1, 2, 3, 8, 4, 5, 6, 7]


def test_history_changes():
    assert rules.changes({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": [2, 3]}
