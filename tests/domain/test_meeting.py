"""The meeting lifecycle: every (state, step) pair."""

from __future__ import annotations

import pytest

from server.domain.errors import DomainError
from server.domain.meeting import STEPS, Status, agenda_editable, attendance_open, next_status

# The documented lifecycle: draft → published → in session ⇄ adjourned → closed.
ALLOWED = {
    (Status.DRAFT, "publish"): Status.PUBLISHED,
    (Status.PUBLISHED, "start"): Status.IN_SESSION,
    (Status.IN_SESSION, "adjourn"): Status.ADJOURNED,
    (Status.ADJOURNED, "resume"): Status.IN_SESSION,
    (Status.IN_SESSION, "close"): Status.CLOSED,
    (Status.ADJOURNED, "close"): Status.CLOSED,
}
STEP_NAMES = ["publish", "start", "adjourn", "resume", "close"]


def test_the_steps_are_the_documented_ones():
    assert sorted(STEPS) == sorted(STEP_NAMES)
    assert {s.value for s in Status} == {"draft", "published", "in_session", "adjourned", "closed"}


@pytest.mark.parametrize("state", list(Status))
@pytest.mark.parametrize("step", STEP_NAMES)
def test_every_state_and_step(state, step):
    expected = ALLOWED.get((state, step))
    if expected is not None:
        assert next_status(state.value, step, agenda_items=3, has_chair=True) == expected
    else:
        with pytest.raises(DomainError) as err:
            next_status(state.value, step, agenda_items=3, has_chair=True)
        assert err.value.code == "invalid_transition"
        assert err.value.status == 409
        assert state.value in err.value.message


def test_a_closed_meeting_goes_nowhere():
    for step in STEP_NAMES:
        with pytest.raises(DomainError):
            next_status("closed", step, agenda_items=3, has_chair=True)


def test_publish_needs_an_agenda_item():
    with pytest.raises(DomainError) as err:
        next_status("draft", "publish", agenda_items=0, has_chair=True)
    assert err.value.code == "conflict"
    assert "agenda" in err.value.message


def test_publish_needs_a_chair():
    with pytest.raises(DomainError) as err:
        next_status("draft", "publish", agenda_items=1, has_chair=False)
    assert err.value.code == "conflict"
    assert "chair" in err.value.message


def test_the_other_steps_need_neither():
    assert next_status("published", "start", agenda_items=0, has_chair=False) == Status.IN_SESSION
    assert next_status("in_session", "close", agenda_items=0, has_chair=False) == Status.CLOSED


def test_the_state_check_comes_before_the_content_check():
    with pytest.raises(DomainError) as err:
        next_status("published", "publish", agenda_items=0, has_chair=False)
    assert err.value.code == "invalid_transition"


def test_unknown_states_and_steps():
    with pytest.raises(ValueError):
        next_status("archived", "start", agenda_items=1, has_chair=True)
    with pytest.raises(KeyError):
        next_status("draft", "explode", agenda_items=1, has_chair=True)


@pytest.mark.parametrize("state", list(Status))
def test_agenda_and_attendance_windows(state):
    assert agenda_editable(state.value) == (state != Status.CLOSED)
    assert attendance_open(state.value) == (state in {Status.PUBLISHED, Status.IN_SESSION, Status.ADJOURNED})


def test_every_path_from_draft_ends_closed():
    """Walk every sequence of allowed steps: each ends in closed or can still reach it."""
    seen = set()
    frontier = [Status.DRAFT]
    while frontier:
        state = frontier.pop()
        if state in seen:
            continue
        seen.add(state)
        for step in STEP_NAMES:
            try:
                frontier.append(next_status(state.value, step, agenda_items=1, has_chair=True))
            except DomainError:
                pass
    assert seen == set(Status)
