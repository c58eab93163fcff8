"""Rules of polls: majorities, quorum, elections, ballots, lifecycle, publication."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.domain.polls import (
    ABSTAIN,
    NO,
    YES,
    Ballot,
    BallotError,
    BallotStatus,
    Base,
    CountError,
    Majority,
    Option,
    Outcome,
    Participant,
    Poll,
    PollDefinitionError,
    PollError,
    PollKind,
    PollPolicy,
    PollPolicyError,
    PollState,
    PollStateError,
    QuorumOf,
    ReasonCode,
    classify_paper_ballot,
    close_poll,
    count_votes,
    entitled_voters,
    evaluate,
    expired,
    format_receipt,
    more_than_half,
    normalise_receipt,
    open_poll,
    percent,
    publication_list,
    publish_poll,
    two_thirds,
    validate_ballot,
    validate_definition,
)

T0 = datetime(2025, 7, 1, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội

bases = st.sampled_from(list(Base))
thresholds = st.fractions(min_value=Fraction(1, 12), max_value=1, max_denominator=12)


def delegates(n: int, present: int | None = None) -> list[Participant]:
    present = n if present is None else present
    return [Participant(f"d{i:03d}", voting=True, checked_in=i < present) for i in range(n)]


def motion(**kw) -> Poll:
    return Poll(id="p1", kind=PollKind.MOTION, title="Thông qua Nghị quyết", **kw)


def cast_motion(poll: Poll, yes: int, no: int, abstain: int) -> list[Ballot]:
    voters = sorted(poll.entitled)
    choices = [YES] * yes + [NO] * no + [ABSTAIN] * abstain
    assert len(choices) <= len(voters)
    return [validate_ballot(poll, v, {"choice": c}, T0) for v, c in zip(voters, choices, strict=False)]


# --- majorities ---------------------------------------------------------------------


@settings(deadline=None)
@given(bases, thresholds, st.booleans(), st.integers(0, 500), st.integers(1, 500))
def test_required_is_the_least_count_that_meets(base, t, strict, count, n):
    assume(not (strict and t == 1))
    m = Majority(base, t, strict)
    assert m.met(count, n) == (count >= m.required(n))
    assert m.met(m.required(n), n)
    assert not m.met(m.required(n) - 1, n)


@settings(deadline=None)
@given(bases, thresholds, thresholds, st.booleans(), st.integers(0, 500), st.integers(1, 500))
def test_a_higher_threshold_is_never_easier(base, t1, t2, strict, count, n):
    low, high = sorted((t1, t2))
    assume(not (strict and high == 1))
    if Majority(base, high, strict).met(count, n):
        assert Majority(base, low, strict).met(count, n)
    assert Majority(base, low, strict).required(n) <= Majority(base, high, strict).required(n)


@settings(deadline=None)
@given(bases, thresholds, st.integers(0, 500), st.integers(1, 500))
def test_more_than_is_at_least_plus_equality(base, t, count, n):
    assume(t < 1)
    strict, loose = Majority(base, t, True), Majority(base, t, False)
    if strict.met(count, n):
        assert loose.met(count, n)
    # They differ exactly when the count sits on the threshold.
    assert (loose.met(count, n) and not strict.met(count, n)) == (count == n * t)


@settings(deadline=None)
@given(bases, thresholds, st.booleans(), st.integers(0, 500), st.integers(1, 500))
def test_more_votes_never_hurt(base, t, strict, count, n):
    assume(not (strict and t == 1))
    m = Majority(base, t, strict)
    if m.met(count, n):
        assert m.met(count + 1, n)


@settings(deadline=None)
@given(st.integers(1, 1000))
def test_a_tie_fails_more_than_half(half):
    assert not more_than_half(Base.VALID).met(half, 2 * half)
    assert more_than_half(Base.VALID).met(half + 1, 2 * half)
    assert Majority(Base.VALID, Fraction(1, 2), strict=False).met(half, 2 * half)


@pytest.mark.parametrize(
    ("majority", "base", "required"),
    [
        (two_thirds(Base.MEMBERS), 61, 41),  # 2/3 of 61 = 40.67
        (two_thirds(Base.MEMBERS), 60, 40),
        (Majority(Base.MEMBERS, Fraction(2, 3), strict=True), 60, 41),  # more than 40
        (Majority(Base.MEMBERS, Fraction(2, 3), strict=True), 61, 41),
        (more_than_half(Base.MEMBERS), 60, 31),
        (more_than_half(Base.MEMBERS), 61, 31),
        (Majority(Base.MEMBERS, Fraction(1, 2), strict=False), 60, 30),
        (Majority(Base.MEMBERS, Fraction(1, 2), strict=False), 61, 31),
        (more_than_half(Base.PRESENT), 1, 1),
    ],
)
def test_exact_boundaries(majority, base, required):
    assert majority.required(base) == required
    assert majority.met(required, base) and not majority.met(required - 1, base)


def test_thresholds_are_fractions_not_floats():
    with pytest.raises(PollDefinitionError):
        Majority(Base.MEMBERS, 0.5, strict=True)  # type: ignore[arg-type]
    with pytest.raises(PollDefinitionError):
        Majority(Base.MEMBERS, Fraction(1), strict=True)  # more than all: impossible
    with pytest.raises(PollDefinitionError):
        Majority(Base.MEMBERS, Fraction(3, 2), strict=False)
    assert Majority.parse("valid", "2/3", strict=False) == two_thirds(Base.VALID)
    with pytest.raises(PollDefinitionError):
        Majority.parse("everyone", "1/2", strict=True)


@pytest.mark.parametrize(
    ("count", "base", "text"),
    [(2, 3, "66.67"), (1, 3, "33.33"), (41, 61, "67.21"), (1, 8, "12.50"), (0, 5, "0.00"), (5, 5, "100.00")],
)
def test_percent_strings(count, base, text):
    assert percent(count, base) == text


def test_percent_of_nothing_is_none():
    assert percent(0, 0) is None


# --- definitions and policy ---------------------------------------------------------


def test_policy_can_forbid_secret_polls():
    poll = motion(secret=True)
    validate_definition(poll)
    with pytest.raises(PollPolicyError) as err:
        validate_definition(poll, PollPolicy(allow_secret=False))
    assert err.value.reason == "secret_forbidden"
    with pytest.raises(PollPolicyError):
        open_poll(poll, delegates(5), T0, policy=PollPolicy(allow_secret=False))


@pytest.mark.parametrize(
    ("poll", "code"),
    [
        (Poll("p", PollKind.MOTION, "  "), "title_required"),
        (Poll("p", PollKind.MOTION, "X", options=(Option("a", "A"),)), "motion_options_fixed"),
        (Poll("p", PollKind.CHOICE, "X", options=(Option("a", "A"),)), "too_few_options"),
        (Poll("p", PollKind.CHOICE, "X", options=(Option("a", "A"), Option("a", "B"))), "duplicate_option"),
        (
            Poll("p", PollKind.CHOICE, "X", options=(Option("a", "A"), Option("b", "B")), max_selections=3),
            "bad_selection_range",
        ),
        (Poll("p", PollKind.ELECTION, "X", options=(Option("a", "A"),), seats=2), "bad_seats"),
        (Poll("p", PollKind.MOTION, "X", secret=True, may_change_vote=True), "secret_vote_change"),
        (Poll("p", PollKind.MOTION, "X", duration=0), "bad_duration"),
    ],
)
def test_bad_definitions_are_refused(poll, code):
    with pytest.raises(PollDefinitionError) as err:
        validate_definition(poll)
    assert err.value.reason == code


# --- lifecycle and entitlement ------------------------------------------------------


def test_errors_carry_the_wire_code_and_the_precise_reason():
    with pytest.raises(PollPolicyError) as err:
        validate_definition(motion(secret=True), PollPolicy(allow_secret=False))
    assert (err.value.code, err.value.status) == ("forbidden", 403)
    poll = open_poll(election(2, 3), delegates(1), T0)
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", {"kept": ["c0", "c1", "c2"]}, T0)
    assert err.value.as_dict() == {
        "code": "conflict",
        "message": "too_many_kept (kept=3, seats=2)",
        "details": {"reason": "too_many_kept", "kept": 3, "seats": 2},
    }


def test_lifecycle_goes_forward_one_step_at_a_time():
    poll = motion(duration=60)
    with pytest.raises(PollStateError):
        close_poll(poll, T0)
    opened = open_poll(poll, delegates(3), T0)
    assert opened.state is PollState.OPEN and opened.deadline == T0 + timedelta(seconds=60)
    with pytest.raises(PollStateError):
        open_poll(opened, delegates(3), T0)
    with pytest.raises(PollStateError):
        publish_poll(opened, T0)
    closed = close_poll(opened, T0 + timedelta(seconds=10))
    with pytest.raises(PollStateError):
        close_poll(closed, T0)
    published = publish_poll(closed, T0 + timedelta(seconds=20))
    assert published.state is PollState.PUBLISHED
    for step in (close_poll, publish_poll):
        with pytest.raises(PollStateError):
            step(published, T0)


@settings(deadline=None)
@given(st.lists(st.sampled_from(["open", "close", "publish"]), max_size=6))
def test_any_sequence_of_steps_only_moves_forward(steps):
    poll = motion()
    order = list(PollState)
    for s in steps:
        before = poll.state
        try:
            if s == "open":
                poll = open_poll(poll, delegates(2), T0)
            elif s == "close":
                poll = close_poll(poll, T0)
            else:
                poll = publish_poll(poll, T0)
        except PollStateError:
            assert poll.state is before
        else:
            assert order.index(poll.state) == order.index(before) + 1


def test_timer_expires_and_refuses_late_ballots():
    poll = open_poll(motion(duration=30), delegates(3), T0)
    assert not expired(poll, T0 + timedelta(seconds=29))
    assert expired(poll, T0 + timedelta(seconds=30))
    validate_ballot(poll, "d000", {"choice": YES}, T0 + timedelta(seconds=29))
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", {"choice": YES}, T0 + timedelta(seconds=30))
    assert err.value.reason == "deadline_passed"


@settings(deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=30))
def test_entitled_are_checked_in_voting_members(flags):
    people = [Participant(f"x{i}", voting=v, checked_in=c) for i, (v, c) in enumerate(flags)]
    assert entitled_voters(people) == {p.id for p in people if p.voting and p.checked_in}


def test_entitled_list_is_frozen_at_opening():
    people = delegates(5, present=3) + [Participant("khach", voting=False, checked_in=True)]
    poll = open_poll(motion(), people, T0)
    assert poll.entitled == {"d000", "d001", "d002"}
    assert poll.members == 5 and poll.present == 3
    # d004 checks in after the opening: too late for this poll.
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d004", {"choice": YES}, T0)
    assert err.value.reason == "not_entitled"
    with pytest.raises(BallotError):
        validate_ballot(poll, "khach", {"choice": YES}, T0)


def test_change_of_vote_only_when_allowed():
    poll = open_poll(motion(), delegates(3), T0)
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", {"choice": NO}, T0, already_voted=True)
    assert err.value.reason == "already_voted"
    poll = open_poll(motion(may_change_vote=True), delegates(3), T0)
    assert validate_ballot(poll, "d000", {"choice": NO}, T0, already_voted=True).selections == (NO,)


def test_ballot_on_a_closed_poll_is_refused():
    poll = close_poll(open_poll(motion(), delegates(3), T0), T0)
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", {"choice": YES}, T0)
    assert err.value.reason == "poll_not_open"


# --- ballot validation --------------------------------------------------------------

CHOICE_IDS = ["a", "b", "c", "d", "e"]


@settings(deadline=None)
@given(
    st.integers(0, 5),
    st.integers(1, 5),
    st.lists(st.sampled_from([*CHOICE_IDS, "zzz"]), max_size=7),
)
def test_choice_ballot_accepted_iff_within_the_rules(lo, hi, selected):
    assume(lo <= hi)
    poll = Poll(
        "c",
        PollKind.CHOICE,
        "Chọn phương án",
        options=tuple(Option(i, i.upper()) for i in CHOICE_IDS),
        min_selections=lo,
        max_selections=hi,
    )
    poll = open_poll(poll, delegates(2), T0)
    ok = (
        set(selected) <= set(CHOICE_IDS) and len(set(selected)) == len(selected) and lo <= len(selected) <= hi
    )
    try:
        ballot = validate_ballot(poll, "d000", {"selected": selected}, T0)
    except BallotError as err:
        assert not ok
        assert err.reason in {
            "unknown_option",
            "duplicate_selection",
            "too_few_selections",
            "too_many_selections",
        }
    else:
        assert ok
        assert set(ballot.selections) == set(selected)
        assert list(ballot.selections) == [i for i in CHOICE_IDS if i in selected]  # option order
        assert ballot.status is (BallotStatus.BLANK if not selected else BallotStatus.VALID)


@settings(deadline=None)
@given(st.integers(1, 5), st.lists(st.sampled_from(CHOICE_IDS), unique=True), st.booleans())
def test_election_ballot_over_k_is_refused_and_secret_has_no_voter(seats, kept, secret):
    poll = Poll(
        "e",
        PollKind.ELECTION,
        "Bầu Ban Thường vụ",
        options=tuple(Option(i, i) for i in CHOICE_IDS),
        seats=seats,
        secret=secret,
    )
    poll = open_poll(poll, delegates(2), T0)
    try:
        ballot = validate_ballot(poll, "d001", {"kept": kept}, T0, receipt="R")
    except BallotError as err:
        assert err.reason == ("too_many_kept" if len(kept) > seats else "all_struck")
    else:
        assert 1 <= len(kept) <= seats
        assert ballot.voter_id == (None if secret else "d001")


@pytest.mark.parametrize("payload", [{}, {"choice": 1}, {"choice": ["yes"]}, {"kept": ["yes"]}, "yes"])
def test_malformed_motion_ballots(payload):
    poll = open_poll(motion(), delegates(1), T0)
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", payload, T0)
    assert err.value.reason == "malformed_ballot"


def test_unknown_motion_choice():
    poll = open_poll(motion(), delegates(1), T0)
    with pytest.raises(BallotError) as err:
        validate_ballot(poll, "d000", {"choice": "maybe"}, T0)
    assert err.value.reason == "unknown_option"


def test_election_may_count_all_struck_as_blank():
    opts = (Option("a", "A"), Option("b", "B"))
    poll = open_poll(
        Poll("e", PollKind.ELECTION, "Bầu", options=opts, struck_all=BallotStatus.BLANK), delegates(1), T0
    )
    assert validate_ballot(poll, "d000", {"kept": []}, T0).status is BallotStatus.BLANK


@settings(deadline=None)
@given(st.integers(1, 4), st.lists(st.sampled_from(["a", "b", "c", "d", "viết thêm"]), max_size=6))
def test_paper_ballots_are_classified_never_refused(seats, marked):
    poll = Poll("e", PollKind.ELECTION, "Bầu", options=tuple(Option(i, i) for i in "abcd"), seats=seats)
    poll = open_poll(poll, delegates(1), T0)
    ballot = classify_paper_ballot(poll, marked)
    valid = set(marked) <= set("abcd") and len(set(marked)) == len(marked) and 1 <= len(marked) <= seats
    assert (ballot.status is BallotStatus.VALID) == valid
    if not valid:
        assert ballot.selections == ()


# --- counting and results -----------------------------------------------------------


@settings(deadline=None)
@given(st.integers(1, 80), st.data())
def test_quorum_decides_before_the_majority(members, data):
    present = data.draw(st.integers(0, members))
    q = data.draw(st.fractions(min_value=Fraction(1, 10), max_value=1, max_denominator=10))
    poll = close_poll(open_poll(motion(quorum=q), delegates(members, present), T0), T0)
    result = evaluate(poll, count_votes(poll, []))
    reached = present * q.denominator >= members * q.numerator  # present >= q * members, exactly
    assert result.quorum.reached == reached
    assert (result.outcome is Outcome.NO_QUORUM) == (not reached)


def test_quorum_can_count_those_voting():
    poll = open_poll(motion(quorum_of=QuorumOf.VOTING, majority=more_than_half(Base.VALID)), delegates(9), T0)
    ballots = cast_motion(poll, 5, 0, 0)  # 5 of 9 voted, 2/3 of 9 is 6
    result = evaluate(poll, count_votes(close_poll(poll, T0), ballots))
    assert result.outcome is Outcome.NO_QUORUM and result.reason.params["counted"] == 5


@settings(deadline=None)
@given(st.integers(1, 61), st.data())
def test_motion_passes_iff_yes_meets_the_majority(n, data):
    yes = data.draw(st.integers(0, n))
    no = data.draw(st.integers(0, n - yes))
    abstain = data.draw(st.integers(0, n - yes - no))
    majority = data.draw(
        st.sampled_from(
            [
                more_than_half(Base.MEMBERS),
                more_than_half(Base.PRESENT),
                more_than_half(Base.VALID),
                two_thirds(Base.MEMBERS),
                two_thirds(Base.PRESENT),
                two_thirds(Base.VALID),
            ]
        )
    )
    poll = open_poll(motion(majority=majority, quorum=Fraction(1, 100)), delegates(n), T0)
    result = evaluate(poll, count_votes(poll, cast_motion(poll, yes, no, abstain)))
    base = {Base.MEMBERS: n, Base.PRESENT: n, Base.VALID: yes + no + abstain}[majority.base]
    assert result.base == base
    if base == 0:
        assert result.reason.code is ReasonCode.EMPTY_BASE
        return
    assert (result.outcome is Outcome.PASSED) == majority.met(yes, base)
    if yes == no and yes + no == base:
        assert result.outcome is Outcome.FAILED  # a tie on a "more than half" or 2/3 rule fails
    assert result.reason.params["tie"] == (yes == no)


def test_tie_fails_and_says_why():
    poll = open_poll(motion(majority=more_than_half(Base.VALID)), delegates(61), T0)
    result = evaluate(poll, count_votes(poll, cast_motion(poll, 30, 30, 0)))
    assert result.outcome is Outcome.FAILED
    assert result.reason.code is ReasonCode.EXACTLY_AT_THRESHOLD
    assert result.reason.params["required"] == 31 and result.reason.params["base"] == 60


def test_two_thirds_of_61_members_party_committee():
    """A Đảng ủy of 61 members; 58 present; the statute needs at least 2/3 of all members."""
    poll = open_poll(motion(majority=two_thirds(Base.MEMBERS)), delegates(61, present=58), T0)
    for yes, outcome in [(40, Outcome.FAILED), (41, Outcome.PASSED)]:
        ballots = cast_motion(poll, yes, 58 - yes - 2, 2)
        result = evaluate(poll, count_votes(poll, ballots))
        assert result.outcome is outcome
        assert result.required == 41 and result.base == 61
        yes_row = next(o for o in result.options if o.option_id == YES)
        assert yes_row.share.base_kind is Base.MEMBERS
    assert result.as_dict()["options"][0] == {
        "option_id": YES,
        "count": 41,
        "base": 61,
        "base_kind": "members",
        "percent": "67.21",
        "meets": True,
    }


def test_show_of_hands_at_bridge_points_add_up_and_stay_visible():
    poll = open_poll(
        motion(majority=more_than_half(Base.PRESENT)),
        delegates(10),
        T0,
        members=130,
        points_present={"xa-tan-lap": 60, "phuong-ba-dinh": 55},
    )
    assert poll.present == 125
    hands = {"xa-tan-lap": {YES: 50, NO: 8, ABSTAIN: 2}, "phuong-ba-dinh": {YES: 40, NO: 15}}
    tally = count_votes(poll, cast_motion(poll, 7, 3, 0), hands)
    assert tally.counts == {YES: 97, NO: 26, ABSTAIN: 2}
    assert tally.by_point["phuong-ba-dinh"] == {YES: 40, NO: 15, ABSTAIN: 0}
    assert tally.hands == 115 and tally.valid == 125 and tally.ballots == 10
    result = evaluate(poll, tally)
    assert result.outcome is Outcome.PASSED and result.required == 63
    with pytest.raises(CountError) as err:
        count_votes(poll, [], {"xa-tan-lap": {YES: 61}})
    assert err.value.reason == "hands_exceed_present"
    with pytest.raises(CountError) as err:
        count_votes(poll, [], {"xa-khac": {YES: 1}})
    assert err.value.reason == "unknown_point"


def test_count_refuses_inconsistent_ballots():
    poll = open_poll(motion(), delegates(3), T0)
    b = validate_ballot(poll, "d000", {"choice": YES}, T0)
    with pytest.raises(CountError) as err:
        count_votes(poll, [b, b])
    assert err.value.reason == "duplicate_ballot"
    secret = open_poll(motion(secret=True), delegates(3), T0)
    with pytest.raises(CountError) as err:
        count_votes(secret, [])
    assert err.value.reason == "secret_count_while_open"
    with pytest.raises(CountError) as err:
        count_votes(close_poll(secret, T0), [b])
    assert err.value.reason in {"wrong_poll", "voter_on_secret_ballot"}


def test_single_choice_tie_at_top():
    opts = tuple(
        Option(i, label) for i, label in [("a", "Phương án 1"), ("b", "Phương án 2"), ("c", "Phương án 3")]
    )
    poll = Poll(
        "p1",
        PollKind.CHOICE,
        "Chọn địa điểm",
        options=opts,
        majority=Majority(Base.VALID, Fraction(1, 3), strict=False),
    )
    poll = open_poll(poll, delegates(10), T0)
    picks = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    ballots = [validate_ballot(poll, f"d{i:03d}", {"selected": [p]}, T0) for i, p in enumerate(picks)]
    result = evaluate(poll, count_votes(poll, ballots))
    assert result.outcome is Outcome.TIE and result.tied == ("a", "b") and result.winners == ()


# --- elections ----------------------------------------------------------------------

CANDIDATES = (
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Lê Văn Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Em",
    "Đỗ Thị Giang",
)


def election(seats: int, n_candidates: int, **kw) -> Poll:
    opts = tuple(Option(f"c{i}", CANDIDATES[i]) for i in range(n_candidates))
    return Poll(
        "bau",
        PollKind.ELECTION,
        "Bầu Ban Chấp hành",
        options=opts,
        seats=seats,
        secret=True,
        majority=more_than_half(Base.VALID),
        **kw,
    )


@settings(deadline=None)
@given(st.integers(1, 5), st.integers(0, 6), st.data())
def test_election_never_elects_more_than_k_and_reports_ties(seats, extra, data):
    n_cand = min(6, seats + extra)
    assume(n_cand >= seats)
    voters = data.draw(st.integers(1, 40))
    poll = open_poll(election(seats, n_cand, quorum=Fraction(1, 100)), delegates(voters), T0)
    ids = poll.option_ids
    ballots = [
        validate_ballot(
            poll,
            v,
            {"kept": data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=seats, unique=True))},
            T0,
        )
        for v in sorted(poll.entitled)
    ]
    random.Random(0).shuffle(ballots)
    result = evaluate(poll, count_votes(close_poll(poll, T0), ballots))
    votes = result.tally.counts
    assert len(result.winners) <= seats
    assert all(votes[w] * 2 > result.tally.valid for w in result.winners)  # more than half of valid
    losers = [c for c in ids if c not in result.winners]
    for w in result.winners:
        assert all(votes[w] >= votes[c] for c in losers)
        assert all(votes[w] > votes[t] for t in result.tied)
    if result.outcome is Outcome.TIE:
        assert len({votes[t] for t in result.tied}) == 1
        assert len(result.tied) > result.seats_in_runoff >= 1
        assert len(result.winners) + result.seats_in_runoff == seats
    else:
        assert result.tied == ()
        # Without a tie nobody qualified and not elected has as many votes as the last elected.
        qualified = [c for c in ids if votes[c] * 2 > result.tally.valid]
        assert set(result.winners) == set(qualified) or len(result.winners) == seats


def test_election_tie_at_the_last_seat_goes_to_a_runoff():
    poll = open_poll(election(3, 5), delegates(20), T0)
    kept = [["c0", "c1", "c2"]] * 9 + [["c0", "c1", "c3"]] * 9 + [["c0", "c1"]] * 2
    ballots = [validate_ballot(poll, f"d{i:03d}", {"kept": k}, T0) for i, k in enumerate(kept)]
    result = evaluate(poll, count_votes(close_poll(poll, T0), ballots))
    # c2 and c3 each have 9 of 20 valid: not more than half, so no tie is needed: a seat stays vacant.
    assert result.outcome is Outcome.PARTIAL and result.winners == ("c0", "c1")
    assert result.reason.code is ReasonCode.SEATS_UNFILLED

    kept = [["c0", "c2", "c3"]] * 11 + [["c1", "c2", "c3"]] * 9
    ballots = [validate_ballot(poll, f"d{i:03d}", {"kept": k}, T0) for i, k in enumerate(kept)]
    result = evaluate(poll, count_votes(close_poll(poll, T0), ballots))
    # c2 and c3: 20 each; c0 11; c1 9. Seats 3: c2, c3, c0.
    assert result.outcome is Outcome.PASSED and result.winners == ("c2", "c3", "c0")

    poll2 = open_poll(election(2, 4), delegates(10), T0)
    kept = [["c0", "c1"]] * 3 + [["c0", "c2"]] * 3 + [["c1", "c2"]] * 3 + [["c0"]]
    ballots = [validate_ballot(poll2, f"d{i:03d}", {"kept": k}, T0) for i, k in enumerate(kept)]
    result = evaluate(poll2, count_votes(close_poll(poll2, T0), ballots))
    # c0: 7, c1: 6, c2: 6 (of 10 valid): c0 elected, c1 and c2 tied for the last seat.
    assert result.outcome is Outcome.TIE
    assert result.winners == ("c0",) and result.tied == ("c1", "c2") and result.seats_in_runoff == 1
    assert result.reason.params["votes"] == 6


def test_election_with_invalid_paper_ballots():
    poll = close_poll(open_poll(election(2, 3), delegates(12), T0), T0)
    marks = [["c0", "c1"]] * 6 + [["c0"]] * 3 + [["c0", "c1", "c2"]] + [[]] + [["c0", "Ông X"]]
    ballots = [classify_paper_ballot(poll, m) for m in marks]
    tally = count_votes(poll, ballots)
    assert (tally.valid, tally.blank, tally.invalid) == (9, 0, 3)
    result = evaluate(poll, tally)
    assert result.base == 9 and result.winners == ("c0", "c1")


# --- receipts and publication -------------------------------------------------------


def test_receipt_codes():
    code = format_receipt(bytes(range(10)))
    assert len(code) == 19 and code.count("-") == 3
    assert normalise_receipt(code.lower().replace("-", " ")) == code
    assert normalise_receipt("o1l-") == "011"
    with pytest.raises(PollError) as err:
        format_receipt(b"short")
    assert err.value.reason == "weak_receipt"


@settings(deadline=None)
@given(st.lists(st.binary(min_size=10, max_size=10), min_size=1, max_size=30, unique=True), st.randoms())
def test_publication_list_is_sorted_by_receipt_whatever_the_arrival(raws, rnd):
    poll = open_poll(motion(secret=True), delegates(len(raws)), T0)
    voters = sorted(poll.entitled)
    ballots = [
        validate_ballot(poll, v, {"choice": rnd.choice([YES, NO, ABSTAIN])}, T0, receipt=format_receipt(r))
        for v, r in zip(voters, raws, strict=True)
    ]
    published = publish_poll(close_poll(poll, T0), T0)
    a = publication_list(published, ballots)
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert publication_list(published, shuffled) == a
    assert [line.receipt for line in a] == sorted(format_receipt(r) for r in raws)
    assert all(b.voter_id is None for b in ballots)


def test_publication_needs_a_published_secret_poll():
    poll = close_poll(open_poll(motion(secret=True), delegates(2), T0), T0)
    with pytest.raises(PollStateError):
        publication_list(poll, [])
    named = publish_poll(close_poll(open_poll(motion(), delegates(2), T0), T0), T0)
    with pytest.raises(PollStateError):
        publication_list(named, [])
