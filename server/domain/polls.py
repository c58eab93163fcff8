"""Polls (biểu quyết): definitions, lifecycle, ballots, counting and the rules that decide.

Pure rules, no I/O and no clock: every time is passed in. Thresholds are `Fraction`s,
never floats, because "more than half of 61" and "two thirds of 61" must be decided
exactly; percentages exist only as display strings beside the base they are of.

Three kinds of poll:

* `motion`   yes / no / abstain on one question (tán thành / không tán thành / không
  biểu quyết);
* `choice`   one or several options, between `min_selections` and `max_selections`;
* `election` candidates for `seats` seats. The voter keeps or strikes each name
  (gạch tên); a ballot keeping more than `seats` names is invalid, fewer is fine.

A poll is named (open) or secret. A secret ballot leaves this module without the
voter's id: whoever stores it cannot link it back (see docs/ballot-secrecy.md).

Results carry a reason *code* and the numbers behind it, not sentences: the
interface translates (Vietnamese first, English second) and shows every percentage
with its base.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from server.domain.errors import DomainError
from server.domain.quorum import DEFAULT_QUORUM, Quorum, parse_fraction
from server.domain.quorum import compute as compute_quorum
from server.domain.text import nfc

# --- errors -------------------------------------------------------------------------


class PollError(DomainError):
    """A rule of polls refused the step.

    `code`/`status` are the wire's (`conflict` 409 unless a subclass says otherwise);
    `reason` is this module's precise cause ("too_many_kept") and `params` the
    numbers the translated message quotes. Both travel in `details`.
    """

    def __init__(self, reason: str, **params: object) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{reason} ({shown})" if shown else reason, details={"reason": reason, **params})
        self.reason = reason
        self.params = params


class PollDefinitionError(PollError):
    """The poll as defined cannot be run (no options, seats out of range...)."""

    code = "invalid"
    status = 422


class PollPolicyError(PollError):
    """The deployment's policy forbids this poll (e.g. secret electronic ballots)."""

    code = "forbidden"
    status = 403


class PollStateError(PollError):
    """The step does not fit the poll's state (opening a closed poll...)."""


class BallotError(PollError):
    """A ballot was refused: not open, not entitled, unknown option, too many..."""


class ReceiptError(PollError):
    """A receipt code that cannot be one (mistyped by a voter, or drawn too short)."""

    code = "invalid"
    status = 422


class CountError(PollError):
    """The inputs of a count do not add up (a duplicate ballot, too many hands...)."""

    code = "invalid"
    status = 422


# --- vocabulary ---------------------------------------------------------------------


class PollKind(StrEnum):
    MOTION = "motion"
    CHOICE = "choice"
    ELECTION = "election"


class PollState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


# Only forward, one step at a time: a closed poll is never reopened, because the
# entitled list and the ballots of the first opening would no longer mean anything.
_NEXT_STATE: dict[PollState, PollState | None] = {
    PollState.DRAFT: PollState.OPEN,
    PollState.OPEN: PollState.CLOSED,
    PollState.CLOSED: PollState.PUBLISHED,
    PollState.PUBLISHED: None,
}


class Base(StrEnum):
    """What a majority or a percentage is counted against."""

    MEMBERS = "members"  # every member of the body with a voting right (tổng số thành viên)
    PRESENT = "present"  # those present when the poll opened (số có mặt)
    VALID = "valid"  # valid votes cast (số phiếu hợp lệ); blank and invalid ballots excluded


class QuorumOf(StrEnum):
    """Whom the quorum counts: those present at the opening, or those who actually voted."""

    PRESENT = "present"
    VOTING = "voting"


class BallotStatus(StrEnum):
    VALID = "valid"
    BLANK = "blank"
    INVALID = "invalid"


class Outcome(StrEnum):
    PASSED = "passed"  # motion adopted, choice decided, every seat filled
    FAILED = "failed"  # the threshold was not reached
    NO_QUORUM = "no_quorum"  # too few present (or voting) for the result to count
    TIE = "tie"  # a tie at the top (choice) or at the last seat (election): vote again
    PARTIAL = "partial"  # election: some seats filled, the others stay vacant


class ReasonCode(StrEnum):
    NO_QUORUM = "no_quorum"  # params: counted, required, members, fraction
    EMPTY_BASE = "empty_base"  # the base of the majority is zero
    REACHED = "reached"  # motion: yes >= required
    EXACTLY_AT_THRESHOLD = "exactly_at_threshold"  # strict rule met with equality: exactly half fails
    BELOW_THRESHOLD = "below_threshold"  # motion: yes < required
    WINNER = "winner"  # choice: one option ahead and over the threshold
    OPTIONS_ADOPTED = "options_adopted"  # multi-select choice: these options reached it
    NO_OPTION_REACHED = "no_option_reached"
    TIE_AT_TOP = "tie_at_top"  # single choice: leaders tied, all over the threshold
    SEATS_FILLED = "seats_filled"
    TIE_AT_CUTOFF = "tie_at_cutoff"  # election: runoff among `tied` for `seats_in_runoff`
    SEATS_UNFILLED = "seats_unfilled"  # election: fewer than `seats` over the threshold


YES, NO, ABSTAIN = "yes", "no", "abstain"
MOTION_OPTIONS: tuple[str, ...] = (YES, NO, ABSTAIN)

# The payload key a ballot of each kind carries.
_PAYLOAD_KEY = {PollKind.MOTION: "choice", PollKind.CHOICE: "selected", PollKind.ELECTION: "kept"}


# --- majorities ---------------------------------------------------------------------


@dataclass(frozen=True)
class Majority:
    """base + threshold + strict: "more than 1/2 of members", "at least 2/3 of valid votes".

    `strict` means *more than* (quá): exactly the threshold fails, so a tie fails
    under "more than half". Otherwise *at least* (từ ... trở lên).
    """

    base: Base
    threshold: Fraction
    strict: bool

    def __post_init__(self) -> None:
        # Floats would make 2/3 of 61 a matter of rounding; refuse them outright.
        if isinstance(self.threshold, float) or not isinstance(self.threshold, Fraction | int):
            raise PollDefinitionError("bad_threshold", threshold=repr(self.threshold))
        object.__setattr__(self, "threshold", Fraction(self.threshold))
        object.__setattr__(self, "base", Base(self.base))
        if not 0 < self.threshold <= 1:
            raise PollDefinitionError("bad_threshold", threshold=str(self.threshold))
        if self.strict and self.threshold == 1:
            # "More than all of them" can never be met.
            raise PollDefinitionError("bad_threshold", threshold="1", strict=True)

    @classmethod
    def parse(cls, base: str, threshold: str, strict: bool) -> Majority:
        """From wire values: `Majority.parse("members", "2/3", strict=False)`."""
        try:
            value = parse_fraction(threshold)
            kind = Base(base)
        except ValueError as exc:
            raise PollDefinitionError("bad_threshold", threshold=threshold, base=base) from exc
        return cls(kind, value, strict)

    def required(self, base_count: int) -> int:
        """The fewest votes that meet the rule: more than 1/2 of 60 is 31, at least 2/3 of 61 is 41."""
        exact = base_count * self.threshold
        return math.floor(exact) + 1 if self.strict else math.ceil(exact)

    def met(self, count: int, base_count: int) -> bool:
        if base_count <= 0:
            return False  # nothing to have a majority of
        exact = base_count * self.threshold
        return count > exact if self.strict else count >= exact

    def as_dict(self) -> dict:
        return {"base": str(self.base), "threshold": _fraction_str(self.threshold), "strict": self.strict}


def more_than_half(base: Base) -> Majority:
    return Majority(base, Fraction(1, 2), strict=True)


def two_thirds(base: Base) -> Majority:
    """At least two thirds (từ hai phần ba trở lên), the usual wording of qualified majorities."""
    return Majority(base, Fraction(2, 3), strict=False)


def percent(count: int, base: int) -> str | None:
    """'66.67' for 2 of 3, rounded half up, for display only; None when the base is 0.

    Never decide on this string: 50.00 can be shown for a count just over half.
    The client puts in the decimal comma and the base ("66,67% số đại biểu có mặt").
    """
    if base <= 0:
        return None
    hundredths = math.floor(Fraction(10000 * count, base) + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _fraction_str(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# --- definitions and policy ---------------------------------------------------------


@dataclass(frozen=True)
class PollPolicy:
    """What a deployment allows. Some offices keep secret votes on paper only."""

    allow_secret: bool = True


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Participant:
    """The part of a participant that entitlement looks at."""

    id: str
    voting: bool  # has a voting right (đại biểu chính thức), not a guest or observer
    checked_in: bool


@dataclass(frozen=True)
class Poll:
    id: str
    kind: PollKind
    title: str
    options: tuple[Option, ...] = ()  # choice options or election candidates; empty for a motion
    secret: bool = False
    min_selections: int = 1  # choice only
    max_selections: int = 1  # choice only
    seats: int = 1  # election only
    majority: Majority = field(default_factory=lambda: more_than_half(Base.MEMBERS))
    quorum: Fraction = DEFAULT_QUORUM
    quorum_of: QuorumOf = QuorumOf.PRESENT
    may_change_vote: bool = False  # the voter may replace the ballot until the close
    duration: int | None = None  # seconds the poll stays open; None: until the chair closes it
    # An election ballot with every name struck: invalid under the election rules we
    # know of (Law on Elections of NA deputies 2015, art. 74), a deployment may say blank.
    struck_all: BallotStatus = BallotStatus.INVALID
    # Set by the lifecycle, not by the author of the poll:
    state: PollState = PollState.DRAFT
    opened_at: datetime | None = None
    deadline: datetime | None = None
    closed_at: datetime | None = None
    published_at: datetime | None = None
    entitled: frozenset[str] = frozenset()  # frozen at the opening
    points_present: Mapping[str, int] = field(default_factory=dict)  # bridge point -> people there
    members: int = 0  # voting members of the body, frozen at the opening

    @property
    def option_ids(self) -> tuple[str, ...]:
        return MOTION_OPTIONS if self.kind is PollKind.MOTION else tuple(o.id for o in self.options)

    @property
    def present(self) -> int:
        """Voters present at the opening: checked-in tablets plus the people at bridge points."""
        return len(self.entitled) + sum(self.points_present.values())


def validate_definition(poll: Poll, policy: PollPolicy = PollPolicy()) -> None:
    """Raise PollDefinitionError / PollPolicyError if the poll cannot be run as defined."""
    if not nfc(poll.title).strip():
        raise PollDefinitionError("title_required")
    kind = PollKind(poll.kind)
    ids = [o.id for o in poll.options]
    if any(not i.strip() for i in ids):
        raise PollDefinitionError("blank_option")
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise PollDefinitionError("duplicate_option", options=dupes)
    if kind is PollKind.MOTION and poll.options:
        raise PollDefinitionError("motion_options_fixed")
    if kind is PollKind.CHOICE:
        if len(ids) < 2:
            raise PollDefinitionError("too_few_options", options=len(ids))
        if not (0 <= poll.min_selections <= poll.max_selections <= len(ids) and poll.max_selections >= 1):
            raise PollDefinitionError(
                "bad_selection_range", min=poll.min_selections, max=poll.max_selections, options=len(ids)
            )
    if kind is PollKind.ELECTION:
        if not ids:
            raise PollDefinitionError("too_few_options", options=0)
        if not 1 <= poll.seats <= len(ids):
            raise PollDefinitionError("bad_seats", seats=poll.seats, candidates=len(ids))
        if poll.struck_all not in (BallotStatus.INVALID, BallotStatus.BLANK):
            raise PollDefinitionError("bad_struck_all", value=str(poll.struck_all))
    if not isinstance(poll.quorum, Fraction | int) or not 0 < poll.quorum <= 1:
        raise PollDefinitionError("bad_quorum", quorum=str(poll.quorum))
    if poll.duration is not None and poll.duration <= 0:
        raise PollDefinitionError("bad_duration", duration=poll.duration)
    if poll.secret and poll.may_change_vote:
        # Replacing a secret ballot means finding it again, which means linking it to
        # the voter: the two cannot go together.
        raise PollDefinitionError("secret_vote_change")
    if poll.secret and not policy.allow_secret:
        raise PollPolicyError("secret_forbidden")


# --- lifecycle ----------------------------------------------------------------------


def _step(poll: Poll, target: PollState) -> None:
    if _NEXT_STATE[poll.state] is not target:
        raise PollStateError("bad_transition", state=str(poll.state), target=str(target))


def entitled_voters(participants: Iterable[Participant]) -> frozenset[str]:
    """Who may vote: participants with a voting right who are checked in."""
    return frozenset(p.id for p in participants if p.voting and p.checked_in)


def open_poll(
    poll: Poll,
    participants: Iterable[Participant],
    now: datetime,
    *,
    policy: PollPolicy = PollPolicy(),
    members: int | None = None,
    points_present: Mapping[str, int] | None = None,
) -> Poll:
    """draft -> open. Freezes who may vote, how many are present and how many are members.

    Freezing matters: someone checking in after the opening does not vote, and the
    bases of the majority cannot move while ballots come in. `members` defaults to
    the participants with a voting right; pass it when bridge points hold members.
    """
    _step(poll, PollState.OPEN)
    validate_definition(poll, policy)
    people = list(participants)
    points = dict(points_present or {})
    if any(n < 0 for n in points.values()):
        raise PollDefinitionError("bad_point_count")
    if points and poll.secret:
        # A show of hands cannot be secret, and a paper vote at a point is not counted here.
        raise PollDefinitionError("hands_on_secret_poll")
    entitled = entitled_voters(people)
    if members is None:
        members = sum(1 for p in people if p.voting) + sum(points.values())
    opened = replace(
        poll,
        state=PollState.OPEN,
        opened_at=now,
        deadline=now + timedelta(seconds=poll.duration) if poll.duration else None,
        entitled=entitled,
        points_present=points,
        members=members,
    )
    if opened.present > members:
        raise PollDefinitionError("present_exceeds_members", present=opened.present, members=members)
    return opened


def expired(poll: Poll, now: datetime) -> bool:
    """The timer ran out: the server closes the poll when this turns true."""
    return poll.state is PollState.OPEN and poll.deadline is not None and now >= poll.deadline


def close_poll(poll: Poll, now: datetime) -> Poll:
    """open -> closed. No ballot is taken after this."""
    _step(poll, PollState.CLOSED)
    return replace(poll, state=PollState.CLOSED, closed_at=now)


def publish_poll(poll: Poll, now: datetime) -> Poll:
    """closed -> published: the result (and for secret polls the receipt list) goes out."""
    _step(poll, PollState.PUBLISHED)
    return replace(poll, state=PollState.PUBLISHED, published_at=now)


# --- ballots ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    poll_id: str
    voter_id: str | None  # always None on a secret poll
    selections: tuple[str, ...]  # in the poll's option order; election: the names kept
    status: BallotStatus = BallotStatus.VALID
    receipt: str | None = None  # secret polls: the code the voter checks after publication


def _read_selections(poll: Poll, payload: Mapping[str, object]) -> list[str]:
    key = _PAYLOAD_KEY[poll.kind]
    if not isinstance(payload, Mapping) or key not in payload:
        raise BallotError("malformed_ballot", expected=key)
    raw = payload[key]
    if poll.kind is PollKind.MOTION:
        if not isinstance(raw, str):
            raise BallotError("malformed_ballot", expected=key)
        return [raw]
    if isinstance(raw, str) or not isinstance(raw, list | tuple) or not all(isinstance(s, str) for s in raw):
        raise BallotError("malformed_ballot", expected=key)
    return list(raw)


def _in_option_order(poll: Poll, chosen: Iterable[str]) -> tuple[str, ...]:
    wanted = set(chosen)
    return tuple(i for i in poll.option_ids if i in wanted)


def validate_ballot(
    poll: Poll,
    voter_id: str,
    payload: Mapping[str, object],
    now: datetime,
    *,
    already_voted: bool = False,
    receipt: str | None = None,
) -> Ballot:
    """Check an electronic ballot and return it normalised, or raise BallotError.

    Payloads: motion `{"choice": "yes"}`, choice `{"selected": [...]}`, election
    `{"kept": [...]}` (every candidate not kept is struck). The tablet cannot send
    an invalid ballot: what a paper ballot would make invalid is refused here, so
    the voter can correct it. On a secret poll the result carries no voter id.
    """
    if poll.state is not PollState.OPEN:
        raise BallotError("poll_not_open", state=str(poll.state))
    if poll.deadline is not None and now >= poll.deadline:
        raise BallotError("deadline_passed")
    if voter_id not in poll.entitled:
        raise BallotError("not_entitled")
    if already_voted and not poll.may_change_vote:
        raise BallotError("already_voted")
    chosen = _read_selections(poll, payload)
    known = set(poll.option_ids)
    for s in chosen:
        if s not in known:
            raise BallotError("unknown_option", option=s)
    if len(set(chosen)) != len(chosen):
        raise BallotError("duplicate_selection")
    status = BallotStatus.VALID
    if poll.kind is PollKind.CHOICE:
        if len(chosen) < poll.min_selections:
            raise BallotError("too_few_selections", selected=len(chosen), min=poll.min_selections)
        if len(chosen) > poll.max_selections:
            raise BallotError("too_many_selections", selected=len(chosen), max=poll.max_selections)
        if not chosen:
            status = BallotStatus.BLANK
    elif poll.kind is PollKind.ELECTION:
        if len(chosen) > poll.seats:
            raise BallotError("too_many_kept", kept=len(chosen), seats=poll.seats)
        if not chosen:
            if poll.struck_all is BallotStatus.INVALID:
                raise BallotError("all_struck")
            status = BallotStatus.BLANK
    return Ballot(
        poll_id=poll.id,
        voter_id=None if poll.secret else voter_id,
        selections=_in_option_order(poll, chosen),
        status=status,
        receipt=receipt,
    )


def classify_paper_ballot(poll: Poll, marked: Iterable[str], *, receipt: str | None = None) -> Ballot:
    """A paper ballot as the tellers (ban kiểm phiếu) read it: never refused, only classified.

    Unlike a tablet, paper lets a voter keep too many names, write one in or tick
    two boxes; such a ballot is counted as invalid rather than rejected.
    """
    if poll.state not in (PollState.OPEN, PollState.CLOSED):
        raise PollStateError("bad_state_for_count", state=str(poll.state))
    chosen = list(marked)
    known = set(poll.option_ids)
    empty = Ballot(poll.id, None, (), BallotStatus.INVALID, receipt)
    if any(s not in known for s in chosen) or len(set(chosen)) != len(chosen):
        return empty
    if poll.kind is PollKind.MOTION:
        ok = len(chosen) == 1
        status = BallotStatus.VALID if ok else BallotStatus.INVALID
    elif poll.kind is PollKind.CHOICE:
        if not chosen and poll.min_selections == 0:
            status = BallotStatus.BLANK
        else:
            ok = poll.min_selections <= len(chosen) <= poll.max_selections
            status = BallotStatus.VALID if ok else BallotStatus.INVALID
    else:
        if len(chosen) > poll.seats:
            status = BallotStatus.INVALID
        elif not chosen:
            status = poll.struck_all
        else:
            status = BallotStatus.VALID
    if status is BallotStatus.INVALID:
        return empty  # what was marked on an invalid ballot counts for nobody
    return Ballot(poll.id, None, _in_option_order(poll, chosen), status, receipt)


# --- counting -----------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    poll_id: str
    counts: Mapping[str, int]  # option -> ballots + hands; every option present, zeros too
    by_point: Mapping[str, Mapping[str, int]]  # bridge point -> option -> hands, kept visible
    ballots: int  # ballots received (electronic or paper), any status
    hands: int  # people counted by a show of hands at bridge points
    valid: int  # valid ballots + hands
    blank: int
    invalid: int

    @property
    def cast(self) -> int:
        """Everyone who took part, valid or not: what a "voting" quorum counts."""
        return self.valid + self.blank + self.invalid

    def as_dict(self) -> dict:
        return {
            "counts": dict(self.counts),
            "by_point": {p: dict(c) for p, c in self.by_point.items()},
            "ballots": self.ballots,
            "hands": self.hands,
            "valid": self.valid,
            "blank": self.blank,
            "invalid": self.invalid,
            "cast": self.cast,
        }


def count_votes(
    poll: Poll,
    ballots: Iterable[Ballot],
    point_counts: Mapping[str, Mapping[str, int]] | None = None,
) -> Tally:
    """Totals from ballots plus show-of-hands counts per bridge point.

    Hands are one person, one choice, so they are taken for motions and
    single-choice polls only. A secret poll is counted only once closed: a running
    total that moves after each "has voted" mark would give the choices away.
    """
    if poll.state is PollState.DRAFT:
        raise PollStateError("bad_state_for_count", state=str(poll.state))
    if poll.secret and poll.state is PollState.OPEN:
        raise CountError("secret_count_while_open")
    ids = poll.option_ids
    counts: Counter[str] = Counter({i: 0 for i in ids})
    status_counts: Counter[BallotStatus] = Counter()
    seen_voters: set[str] = set()
    n_ballots = 0
    for b in ballots:
        n_ballots += 1
        if b.poll_id != poll.id:
            raise CountError("wrong_poll", ballot_poll=b.poll_id)
        if poll.secret and b.voter_id is not None:
            raise CountError("voter_on_secret_ballot")
        if b.voter_id is not None:
            if b.voter_id in seen_voters:
                raise CountError("duplicate_ballot", voter=b.voter_id)
            if b.voter_id not in poll.entitled:
                raise CountError("not_entitled", voter=b.voter_id)
            seen_voters.add(b.voter_id)
        status_counts[b.status] += 1
        if b.status is BallotStatus.VALID:
            for s in b.selections:
                if s not in counts:
                    raise CountError("unknown_option", option=s)
                counts[s] += 1
    if n_ballots > len(poll.entitled):
        raise CountError("too_many_ballots", ballots=n_ballots, entitled=len(poll.entitled))

    by_point: dict[str, dict[str, int]] = {}
    hands = 0
    for point, per_choice in (point_counts or {}).items():
        if poll.secret:
            raise CountError("hands_on_secret_poll")
        if poll.kind is PollKind.ELECTION or (poll.kind is PollKind.CHOICE and poll.max_selections != 1):
            raise CountError("hands_not_supported", kind=str(poll.kind))
        if point not in poll.points_present:
            raise CountError("unknown_point", point=point)
        row = {i: 0 for i in ids}
        for choice, n in per_choice.items():
            if choice not in row:
                raise CountError("unknown_option", option=choice, point=point)
            if n < 0:
                raise CountError("bad_point_count", point=point)
            row[choice] = n
        if sum(row.values()) > poll.points_present[point]:
            raise CountError(
                "hands_exceed_present",
                point=point,
                hands=sum(row.values()),
                present=poll.points_present[point],
            )
        by_point[point] = row
        hands += sum(row.values())
        counts.update(row)

    return Tally(
        poll_id=poll.id,
        counts={i: counts[i] for i in ids},
        by_point=by_point,
        ballots=n_ballots,
        hands=hands,
        valid=status_counts[BallotStatus.VALID] + hands,
        blank=status_counts[BallotStatus.BLANK],
        invalid=status_counts[BallotStatus.INVALID],
    )


# --- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A count with the base it is a share of; the percentage is for display only."""

    count: int
    base: int
    base_kind: Base

    @property
    def percent(self) -> str | None:
        return percent(self.count, self.base)

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "base": self.base,
            "base_kind": str(self.base_kind),
            "percent": self.percent,
        }


@dataclass(frozen=True)
class Reason:
    """Why the outcome: a code the interface translates, and the numbers it quotes."""

    code: ReasonCode
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OptionResult:
    option_id: str
    share: Share
    meets: bool  # reaches the poll's majority on its own


@dataclass(frozen=True)
class Result:
    poll_id: str
    kind: PollKind
    outcome: Outcome
    reason: Reason
    quorum: Quorum
    majority: Majority
    base: int  # the number the majority is counted against
    required: int  # the fewest votes that meet the majority on that base
    tally: Tally
    options: tuple[OptionResult, ...]  # ranked: most votes first, then the poll's order
    winners: tuple[str, ...] = ()  # choice: the decided option(s); election: the elected
    tied: tuple[str, ...] = ()  # options or candidates tied where a line had to be drawn
    seats_in_runoff: int = 0  # election: seats the runoff among `tied` must fill

    def as_dict(self) -> dict:
        return {
            "poll_id": self.poll_id,
            "kind": str(self.kind),
            "outcome": str(self.outcome),
            "reason": {"code": str(self.reason.code), "params": dict(self.reason.params)},
            "quorum": self.quorum.as_dict(),
            "majority": self.majority.as_dict(),
            "base": self.base,
            "required": self.required,
            "tally": self.tally.as_dict(),
            "options": [
                {"option_id": o.option_id, **o.share.as_dict(), "meets": o.meets} for o in self.options
            ],
            "winners": list(self.winners),
            "tied": list(self.tied),
            "seats_in_runoff": self.seats_in_runoff,
        }


def _base_count(poll: Poll, tally: Tally) -> int:
    kind = poll.majority.base
    if kind is Base.MEMBERS:
        return poll.members
    if kind is Base.PRESENT:
        return poll.present
    return tally.valid


def evaluate(poll: Poll, tally: Tally) -> Result:
    """Decide the poll from its tally: quorum first, then the majority, ties spelled out."""
    if tally.poll_id != poll.id:
        raise CountError("wrong_poll", ballot_poll=tally.poll_id)
    m = poll.majority
    base = _base_count(poll, tally)
    required = m.required(base)
    order = {i: n for n, i in enumerate(poll.option_ids)}
    ranked = sorted(poll.option_ids, key=lambda i: (-tally.counts[i], order[i]))
    # A motion's abstentions are not a proposal, so they never "meet" anything.
    options = tuple(
        OptionResult(
            i,
            Share(tally.counts[i], base, m.base),
            m.met(tally.counts[i], base) and not (poll.kind is PollKind.MOTION and i != YES),
        )
        for i in ranked
    )
    counted = poll.present if poll.quorum_of is QuorumOf.PRESENT else tally.cast
    quorum = compute_quorum(poll.members, counted, poll.quorum)
    common = {
        "poll_id": poll.id,
        "kind": poll.kind,
        "quorum": quorum,
        "majority": m,
        "base": base,
        "required": required,
        "tally": tally,
        "options": options,
    }
    numbers: dict[str, object] = {
        "base": base,
        "base_kind": str(m.base),
        "required": required,
        "threshold": _fraction_str(m.threshold),
        "strict": m.strict,
    }

    if not quorum.reached:
        return Result(
            outcome=Outcome.NO_QUORUM,
            reason=Reason(
                ReasonCode.NO_QUORUM,
                {
                    "counted": counted,
                    "quorum_of": str(poll.quorum_of),
                    "required": quorum.required,
                    "members": quorum.members,
                    "fraction": _fraction_str(quorum.fraction),
                },
            ),
            **common,
        )
    if base <= 0:
        return Result(outcome=Outcome.FAILED, reason=Reason(ReasonCode.EMPTY_BASE, numbers), **common)

    if poll.kind is PollKind.MOTION:
        return _motion(poll, tally, numbers, common)
    if poll.kind is PollKind.CHOICE:
        return _choice(poll, tally, options, numbers, common)
    return _election(poll, tally, options, numbers, common)


def _motion(poll: Poll, tally: Tally, numbers: dict, common: dict) -> Result:
    yes, no = tally.counts[YES], tally.counts[NO]
    params = {**numbers, "yes": yes, "no": no, "abstain": tally.counts[ABSTAIN], "tie": yes == no}
    m, base = poll.majority, common["base"]
    if m.met(yes, base):
        return Result(outcome=Outcome.PASSED, reason=Reason(ReasonCode.REACHED, params), **common)
    if m.strict and yes == base * m.threshold:
        # The classic case: exactly half under "more than half" is a tie, and a tie fails.
        return Result(
            outcome=Outcome.FAILED, reason=Reason(ReasonCode.EXACTLY_AT_THRESHOLD, params), **common
        )
    return Result(outcome=Outcome.FAILED, reason=Reason(ReasonCode.BELOW_THRESHOLD, params), **common)


def _choice(
    poll: Poll, tally: Tally, options: tuple[OptionResult, ...], numbers: dict, common: dict
) -> Result:
    meeting = [o for o in options if o.meets]
    if not meeting:
        return Result(outcome=Outcome.FAILED, reason=Reason(ReasonCode.NO_OPTION_REACHED, numbers), **common)
    if poll.max_selections > 1:
        winners = tuple(o.option_id for o in meeting)
        return Result(
            outcome=Outcome.PASSED,
            reason=Reason(ReasonCode.OPTIONS_ADOPTED, {**numbers, "adopted": len(winners)}),
            winners=winners,
            **common,
        )
    top = meeting[0].share.count
    leaders = tuple(o.option_id for o in meeting if o.share.count == top)
    if len(leaders) > 1:
        return Result(
            outcome=Outcome.TIE,
            reason=Reason(ReasonCode.TIE_AT_TOP, {**numbers, "votes": top}),
            tied=leaders,
            **common,
        )
    return Result(
        outcome=Outcome.PASSED,
        reason=Reason(ReasonCode.WINNER, {**numbers, "votes": top}),
        winners=leaders,
        **common,
    )


def _election(
    poll: Poll, tally: Tally, options: tuple[OptionResult, ...], numbers: dict, common: dict
) -> Result:
    """Elected: over the threshold, by votes, up to `seats`. A tie at the last seat is never
    broken here (not by name, not by list order): it goes to a runoff."""
    seats = poll.seats
    qualified = [o for o in options if o.meets]  # already ranked by votes
    params = {**numbers, "seats": seats, "qualified": len(qualified)}
    if len(qualified) <= seats:
        elected = tuple(o.option_id for o in qualified)
        if len(elected) == seats:
            return Result(
                outcome=Outcome.PASSED,
                reason=Reason(ReasonCode.SEATS_FILLED, params),
                winners=elected,
                **common,
            )
        return Result(
            outcome=Outcome.PARTIAL if elected else Outcome.FAILED,
            reason=Reason(ReasonCode.SEATS_UNFILLED, {**params, "elected": len(elected)}),
            winners=elected,
            **common,
        )
    cutoff = qualified[seats - 1].share.count
    above = tuple(o.option_id for o in qualified if o.share.count > cutoff)
    at_cut = tuple(o.option_id for o in qualified if o.share.count == cutoff)
    if len(above) + len(at_cut) == seats:
        return Result(
            outcome=Outcome.PASSED,
            reason=Reason(ReasonCode.SEATS_FILLED, params),
            winners=above + at_cut,
            **common,
        )
    left = seats - len(above)
    return Result(
        outcome=Outcome.TIE,
        reason=Reason(
            ReasonCode.TIE_AT_CUTOFF,
            {**params, "votes": cutoff, "tied": len(at_cut), "seats_in_runoff": left, "elected": len(above)},
        ),
        winners=above,
        tied=at_cut,
        seats_in_runoff=left,
        **common,
    )


# --- receipts and publication (secret polls) ----------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: nothing to misread
_CROCKFORD_READ = {c: c for c in _CROCKFORD} | {"O": "0", "I": "1", "L": "1"}
RECEIPT_MIN_BYTES = 10  # 80 bits: guessing someone else's code is hopeless


def format_receipt(raw: bytes) -> str:
    """Random bytes (the caller draws them from `secrets`) -> 'K7QM-2XRD-9A4F-TB03'."""
    if len(raw) < RECEIPT_MIN_BYTES:
        raise ReceiptError("weak_receipt", bytes=len(raw))
    bits = int.from_bytes(raw, "big")
    n = (len(raw) * 8 + 4) // 5
    chars = [_CROCKFORD[(bits >> (5 * (n - 1 - i))) & 31] for i in range(n)]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, n, 4))


def normalise_receipt(text: str) -> str:
    """What a voter typed -> the printed form: case, spaces, O/0 and I/L/1 forgiven."""
    cleaned = [ch for ch in text.upper() if ch not in " -"]
    try:
        chars = [_CROCKFORD_READ[ch] for ch in cleaned]
    except KeyError as exc:
        raise ReceiptError("bad_receipt") from exc
    return "-".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4))


@dataclass(frozen=True)
class ReceiptLine:
    receipt: str
    selections: tuple[str, ...]
    status: BallotStatus


def publication_list(poll: Poll, ballots: Iterable[Ballot]) -> list[ReceiptLine]:
    """The list each voter checks their receipt against, sorted by receipt code.

    Sorted by code, never by arrival: the order of the list must not echo the
    order in which people were seen voting.
    """
    if not poll.secret:
        raise PollStateError("not_secret")
    if poll.state is not PollState.PUBLISHED:
        raise PollStateError("not_published", state=str(poll.state))
    lines: list[ReceiptLine] = []
    seen: set[str] = set()
    for b in ballots:
        if b.poll_id != poll.id:
            raise CountError("wrong_poll", ballot_poll=b.poll_id)
        if b.voter_id is not None:
            raise CountError("voter_on_secret_ballot")
        if not b.receipt:
            raise CountError("missing_receipt")
        if b.receipt in seen:
            raise CountError("duplicate_receipt")
        seen.add(b.receipt)
        lines.append(ReceiptLine(b.receipt, b.selections, b.status))
    return sorted(lines, key=lambda line: line.receipt)
