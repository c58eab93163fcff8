"""Comments on drafts (góp ý) and the secretariat's answers (tiếp thu, giải trình).

A comment is anchored to a region of a document page, to a quoted passage, or to an
agenda item, and may propose replacement text. Comments belong to a round (đợt lấy
ý kiến) with an optional deadline, possibly held before the meeting and addressed to
a set of units. The secretariat triages each comment until the round is closed, then
the summary table (bảng tổng hợp ý kiến) groups them by section, unit or delegate.

Pure rules: times are passed in, nothing is stored here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.text import name_key, nfc, text_key


class CommentError(DomainError):
    """A rule refused the step: wire `code` "conflict"; `reason` and `params` (in `details`) say which."""

    def __init__(self, reason: str, **params: object) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{reason} ({shown})" if shown else reason, details={"reason": reason, **params})
        self.reason = reason
        self.params = params


class CommentInvalid(CommentError):
    """The comment itself is malformed (a region off the page, no text...): wire `invalid`."""

    code = "invalid"
    status = 422


class Visibility(StrEnum):
    SECRETARIAT = "secretariat"  # the default: a remark on a draft is not a public statement
    ALL = "all"


class Decision(StrEnum):
    ACCEPTED = "accepted"  # tiếp thu: the draft is changed
    EXPLAINED = "explained"  # giải trình: not taken, and the reason is written down
    NOTED = "noted"  # ghi nhận


class GroupBy(StrEnum):
    SECTION = "section"
    UNIT = "unit"
    DELEGATE = "delegate"


# --- anchors ------------------------------------------------------------------------

_EPS = 1e-9  # tablets send floats; 0.7 + 0.3 must still fit on the page


@dataclass(frozen=True)
class Region:
    """A rectangle on a page in page-relative coordinates, origin top left, 0..1."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        inside = (
            0 <= self.x <= 1
            and 0 <= self.y <= 1
            and self.w > 0
            and self.h > 0
            and self.x + self.w <= 1 + _EPS
            and self.y + self.h <= 1 + _EPS
        )
        if not inside:
            raise CommentInvalid("bad_region", x=self.x, y=self.y, w=self.w, h=self.h)


@dataclass(frozen=True)
class PageAnchor:
    document_id: str
    page: int  # 1-based, as printed in the viewer
    region: Region | None = None  # None: the whole page
    section: str | None = None  # the heading the page falls under ("Điều 5"), from the outline

    def __post_init__(self) -> None:
        if self.page < 1:
            raise CommentInvalid("bad_page", page=self.page)


@dataclass(frozen=True)
class PassageAnchor:
    document_id: str
    quote: str  # the passage as the delegate selected it
    page: int | None = None
    section: str | None = None

    def __post_init__(self) -> None:
        if not nfc(self.quote).strip():
            raise CommentInvalid("empty_quote")
        if self.page is not None and self.page < 1:
            raise CommentInvalid("bad_page", page=self.page)


@dataclass(frozen=True)
class ItemAnchor:
    item_id: str
    section: str | None = None  # for the summary table, usually the item's title


Anchor = PageAnchor | PassageAnchor | ItemAnchor


@dataclass(frozen=True)
class Author:
    id: str
    name: str  # full name, as on the list of delegates
    unit_id: str
    unit_name: str


@dataclass(frozen=True)
class Triage:
    decision: Decision
    explanation: str  # required for `explained`; may say how an accepted remark was worked in
    by: str
    at: datetime


@dataclass(frozen=True)
class Comment:
    id: str
    round_id: str
    author: Author
    anchor: Anchor
    text: str
    submitted_at: datetime
    proposed_text: str | None = None  # replacement wording offered for the anchored passage
    visibility: Visibility = Visibility.SECRETARIAT
    triage: Triage | None = None


@dataclass(frozen=True)
class CommentRound:
    id: str
    title: str
    deadline: datetime | None = None  # comments at or after it are refused
    units: frozenset[str] | None = None  # addressed units; None: the meeting's own participants
    closed_at: datetime | None = None  # triage is final from here on

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


# --- submitting ---------------------------------------------------------------------


def submit_comment(rnd: CommentRound, comment: Comment, now: datetime) -> Comment:
    """Accept a comment into its round, normalised, or raise CommentError."""
    if comment.round_id != rnd.id:
        raise CommentError("wrong_round", round=comment.round_id)
    if rnd.closed:
        raise CommentError("round_closed")
    if rnd.deadline is not None and now >= rnd.deadline:
        raise CommentError("deadline_passed", deadline=rnd.deadline.isoformat())
    if rnd.units is not None and comment.author.unit_id not in rnd.units:
        raise CommentError("unit_not_addressed", unit=comment.author.unit_id)
    text = nfc(comment.text).strip()
    proposed = nfc(comment.proposed_text).strip() if comment.proposed_text is not None else None
    if not text and not proposed:
        raise CommentInvalid("empty_comment")
    anchor = comment.anchor
    if isinstance(anchor, PassageAnchor):
        anchor = replace(anchor, quote=nfc(anchor.quote).strip())
    return replace(
        comment,
        text=text,
        proposed_text=proposed or None,
        anchor=anchor,
        submitted_at=now,
        visibility=Visibility(comment.visibility),
        triage=None,
    )


def visible_to(comment: Comment, viewer_id: str, *, secretariat: bool) -> bool:
    """The secretariat sees every comment, the author their own, others only `all` ones."""
    return secretariat or comment.author.id == viewer_id or comment.visibility is Visibility.ALL


# --- triage -------------------------------------------------------------------------


def triage(
    rnd: CommentRound,
    comment: Comment,
    decision: Decision,
    by: str,
    at: datetime,
    explanation: str = "",
) -> Comment:
    """Record (or replace) the secretariat's answer; allowed until the round is closed."""
    if comment.round_id != rnd.id:
        raise CommentError("wrong_round", round=comment.round_id)
    if rnd.closed:
        raise CommentError("round_closed")
    decision = Decision(decision)
    explanation = nfc(explanation).strip()
    if decision is Decision.EXPLAINED and not explanation:
        raise CommentInvalid("explanation_required")
    return replace(comment, triage=Triage(decision, explanation, by, at))


def close_round(rnd: CommentRound, comments: Iterable[Comment], now: datetime) -> CommentRound:
    """Close the round once every comment has an answer: the summary table has no blanks."""
    if rnd.closed:
        raise CommentError("round_closed")
    pending = sum(1 for c in comments if c.round_id == rnd.id and c.triage is None)
    if pending:
        raise CommentError("untriaged_comments", pending=pending)
    return replace(rnd, closed_at=now)


# --- summary table ------------------------------------------------------------------


def _page(anchor: Anchor) -> int | None:
    return getattr(anchor, "page", None)


def _position(c: Comment) -> tuple:
    """Where a comment sits in the document, so a group reads in the draft's order."""
    a = c.anchor
    page = _page(a)
    region = a.region if isinstance(a, PageAnchor) else None
    return (
        page is None,
        page or 0,
        region.y if region else 0.0,
        region.x if region else 0.0,
        c.submitted_at,
        c.id,
    )


@dataclass(frozen=True)
class Group:
    key: str  # section title, unit id or author id; "" for comments with no section
    label: str  # what the table prints
    comments: tuple[Comment, ...]
    decisions: dict[str, int] = field(default_factory=dict)  # decision (or "pending") -> count


def group_comments(comments: Iterable[Comment], by: GroupBy) -> list[Group]:
    """Rows of the summary table, in a stable order.

    Sections follow the draft: by the first page commented on, then by Vietnamese
    collation of the heading (collation alone would put "Điều 10" before "Điều 2").
    Units sort by name and delegates by given name, both with Vietnamese collation;
    ids break ties, so two "Nguyễn Văn An" never swap places between two prints.
    Comments without a section come last.
    """
    buckets: dict[str, list[Comment]] = {}
    labels: dict[str, str] = {}
    for c in comments:
        if by is GroupBy.SECTION:
            key = label = nfc(c.anchor.section or "").strip()
        elif by is GroupBy.UNIT:
            key, label = c.author.unit_id, c.author.unit_name
        else:
            key, label = c.author.id, c.author.name
        buckets.setdefault(key, []).append(c)
        labels.setdefault(key, nfc(label))

    def order(key: str) -> tuple:
        label = labels[key]
        if by is GroupBy.SECTION:
            pages = [p for p in (_page(c.anchor) for c in buckets[key]) if p is not None]
            return (key == "", min(pages) if pages else 0, text_key(label), key)
        if by is GroupBy.UNIT:
            return (text_key(label), key)
        return (name_key(label), key)

    groups = []
    for key in sorted(buckets, key=order):
        members = tuple(sorted(buckets[key], key=_position))
        tally = Counter(str(c.triage.decision) if c.triage else "pending" for c in members)
        groups.append(Group(key, labels[key], members, dict(tally)))
    return groups
