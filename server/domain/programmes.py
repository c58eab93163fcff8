"""Work programmes (chương trình công tác năm / tháng) and the weekly schedule (lịch công tác tuần).

Pure rules, no I/O: the periods a programme covers and when its entries are due; the life of a
programme entry (planned → scheduled → done, or postponed with a reason, or cancelled); the ISO
week of a moment as people in Vietnam count it; the publication of a week and the numbering of
its amendments; and the clashes of a week (one person in two places at once, one hall booked
twice), which are warnings the secretariat weighs, never refusals. docs/programmes.md is the
contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from server.domain.errors import DomainError, Invalid
from server.domain.text import fold
from server.domain.times import LOCAL, local

# --- programmes -------------------------------------------------------------------------------


class ProgrammeKind(StrEnum):
    ANNUAL = "annual"  # chương trình công tác năm
    MONTHLY = "monthly"  # chương trình công tác tháng


class EntryKind(StrEnum):
    """What an entry of a programme is; the words an office uses for its columns."""

    STANDING_COMMITTEE = "standing_committee"  # hội nghị / phiên họp Ban Thường vụ
    EXECUTIVE_COMMITTEE = "executive_committee"  # hội nghị Ban Chấp hành
    STANDING_BOARD = "standing_board"  # Thường trực cấp ủy
    CONFERENCE = "conference"  # hội nghị (sơ kết, tổng kết, quán triệt, chuyên đề)
    INSPECTION = "inspection"  # kiểm tra, giám sát, làm việc với cơ sở
    DOCUMENT = "document"  # xây dựng, ban hành văn bản (đề án, nghị quyết, chỉ thị)
    OTHER = "other"


class EntryState(StrEnum):
    PLANNED = "planned"  # in the programme, no date fixed yet
    SCHEDULED = "scheduled"  # on a weekly schedule, or a meeting was made for it
    DONE = "done"
    POSTPONED = "postponed"  # with a reason; may be planned or scheduled again
    CANCELLED = "cancelled"


# state -> the states it may move to. Done and cancelled are the record of the year.
ENTRY_STEPS: dict[EntryState, frozenset[EntryState]] = {
    EntryState.PLANNED: frozenset({EntryState.SCHEDULED, EntryState.DONE, EntryState.POSTPONED, EntryState.CANCELLED}),
    EntryState.SCHEDULED: frozenset({EntryState.PLANNED, EntryState.DONE, EntryState.POSTPONED,
                                     EntryState.CANCELLED}),
    EntryState.POSTPONED: frozenset({EntryState.PLANNED, EntryState.SCHEDULED, EntryState.CANCELLED}),
    EntryState.DONE: frozenset(),
    EntryState.CANCELLED: frozenset(),
}
# A postponement or a cancellation is explained in the programme's report: it needs a reason.
NEEDS_REASON = frozenset({EntryState.POSTPONED, EntryState.CANCELLED})


def next_entry_state(current: str, target: str, reason: str = "") -> EntryState:
    """The entry's state after moving to `target`, or a refusal saying why not."""
    try:
        wanted = EntryState(target)
    except ValueError:
        raise Invalid(f"unknown state {target!r}; one of: {', '.join(s.value for s in EntryState)}",
                      details=[{"field": "state", "problem": "unknown state"}]) from None
    now = EntryState(current)
    if wanted not in ENTRY_STEPS[now]:
        allowed = ", ".join(sorted(s.value for s in ENTRY_STEPS[now])) or "none: it is final"
        raise DomainError(f"an entry that is {now.value} cannot become {wanted.value} (allowed: {allowed})",
                          code="invalid_transition")
    if wanted in NEEDS_REASON and not reason.strip():
        raise Invalid(f"an entry is {wanted.value} only with a reason",
                      details=[{"field": "reason", "problem": "say why"}])
    return wanted


def may_schedule(current: str) -> bool:
    """Putting an entry on a week's schedule (or making its meeting) marks it scheduled from these."""
    return EntryState(current) in {EntryState.PLANNED, EntryState.POSTPONED}


def period_key(kind: str, year: int, month: int | None) -> str:
    """'2026' for an annual programme, '2026-03' for a monthly one; one programme per unit and period."""
    check_period(kind, year, month)
    return f"{year:04d}" if kind == ProgrammeKind.ANNUAL else f"{year:04d}-{month:02d}"


def check_period(kind: str, year: int, month: int | None) -> None:
    if kind not in {k.value for k in ProgrammeKind}:
        raise Invalid("a programme is annual or monthly", details=[{"field": "kind", "problem": "annual or monthly"}])
    if not 1900 <= year <= 2200:
        raise Invalid("the year is between 1900 and 2200", details=[{"field": "year", "problem": "out of range"}])
    if kind == ProgrammeKind.ANNUAL and month is not None:
        raise Invalid("an annual programme has no month", details=[{"field": "month", "problem": "leave it out"}])
    if kind == ProgrammeKind.MONTHLY and (month is None or not 1 <= month <= 12):
        raise Invalid("a monthly programme needs its month (1 to 12)",
                      details=[{"field": "month", "problem": "1 to 12"}])


def default_title(kind: str, year: int, month: int | None) -> str:
    if kind == ProgrammeKind.ANNUAL:
        return f"Chương trình công tác năm {year}"
    return f"Chương trình công tác tháng {month} năm {year}"


@dataclass(frozen=True)
class Due:
    """When an entry is expected: a month or a quarter of an annual programme, a day of a monthly one."""

    month: int | None = None
    quarter: int | None = None
    day: date | None = None

    def first_day(self, year: int) -> date | None:
        if self.day is not None:
            return self.day
        if self.month is not None:
            return date(year, self.month, 1)
        if self.quarter is not None:
            return date(year, 3 * self.quarter - 2, 1)
        return None

    def label(self) -> str:
        """As the programme prints it: 'Tháng 3', 'Quý II', '15/03/2026'."""
        if self.day is not None:
            return self.day.strftime("%d/%m/%Y")
        if self.month is not None:
            return f"Tháng {self.month}"
        if self.quarter is not None:
            return f"Quý {('I', 'II', 'III', 'IV')[self.quarter - 1]}"
        return ""


def check_due(kind: str, year: int, month: int | None, due: Due) -> None:
    """An annual entry is due in one month or one quarter of its year; a monthly entry on a day of
    its month (or, when the day is not fixed yet, in the month as a whole: no day)."""
    given = [name for name, value in (("due_month", due.month), ("due_quarter", due.quarter), ("due_date", due.day))
             if value is not None]
    if kind == ProgrammeKind.ANNUAL:
        if due.day is not None:
            raise Invalid("an entry of an annual programme is due in a month or a quarter, not on a day",
                          details=[{"field": "due_date", "problem": "use due_month or due_quarter"}])
        if len(given) != 1:
            raise Invalid("an entry of an annual programme needs either due_month or due_quarter",
                          details=[{"field": "due_month", "problem": "give a month or a quarter, one of them"}])
        if due.month is not None and not 1 <= due.month <= 12:
            raise Invalid("due_month is 1 to 12", details=[{"field": "due_month", "problem": "1 to 12"}])
        if due.quarter is not None and not 1 <= due.quarter <= 4:
            raise Invalid("due_quarter is 1 to 4", details=[{"field": "due_quarter", "problem": "1 to 4"}])
        return
    if due.month is not None or due.quarter is not None:
        raise Invalid("an entry of a monthly programme is due on a day of the month (due_date)",
                      details=[{"field": "due_month" if due.month is not None else "due_quarter",
                                "problem": "use due_date"}])
    if due.day is not None and (due.day.year, due.day.month) != (year, month):
        raise Invalid(f"the day is not in {month:02d}/{year}, the programme's month",
                      details=[{"field": "due_date", "problem": "outside the programme's month"}])


def entry_order(year: int, due: Due, position: int, entry_id: int) -> tuple:
    """Entries print in the order they are due (a quarter where its first month begins, after that
    month's own entries); undated ones last; then in the order they were written."""
    first = due.first_day(year)
    return (first is None, first or date.max, due.quarter is not None, position, entry_id)


# --- publication (programmes and weeks) ----------------------------------------------------------


class Publication(StrEnum):
    DRAFT = "draft"  # only the secretariat sees it
    PUBLISHED = "published"  # everyone signed in reads it; changes are numbered amendments


def publish_step(state: str, issue: int, pending_changes: int) -> int:
    """The issue number after publishing: 1 the first time; each reissue of a published week,
    once it has amendments not yet issued, adds one ("điều chỉnh lần issue - 1")."""
    if Publication(state) == Publication.DRAFT:
        return 1
    if pending_changes == 0:
        raise DomainError("the week is published and nothing changed since: there is nothing to reissue",
                          code="invalid_transition")
    return issue + 1


def amendment_number(state: str, issue: int) -> int | None:
    """The number a change to the week gets: none while a draft; once published, the amendment
    the next reissue will carry (issue 1 is the original, amendment 1 comes with issue 2)."""
    return None if Publication(state) == Publication.DRAFT else issue


# --- ISO weeks in Vietnam ------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class IsoWeek:
    """A week Monday to Sunday as ISO 8601 numbers it, of dates in Asia/Ho_Chi_Minh."""

    year: int
    week: int

    def __post_init__(self):
        if not 1900 <= self.year <= 2200:
            raise Invalid("the year is between 1900 and 2200", details=[{"field": "year", "problem": "out of range"}])
        if not 1 <= self.week <= weeks_in(self.year):
            raise Invalid(f"{self.year} has ISO weeks 1 to {weeks_in(self.year)}",
                          details=[{"field": "week", "problem": f"1 to {weeks_in(self.year)}"}])

    @classmethod
    def of_day(cls, day: date) -> IsoWeek:
        y, w, _ = day.isocalendar()
        return cls(y, w)

    @classmethod
    def of(cls, moment: datetime) -> IsoWeek:
        """The week a moment falls in, as a clock in Vietnam shows it (17:30 UTC on Sunday is
        already Monday 00:30 in Hanoi: the next week)."""
        return cls.of_day(local(moment).date())

    @classmethod
    def parse(cls, key: str) -> IsoWeek:
        """'2026-W03' (or '2026-W3')."""
        head, sep, tail = key.strip().upper().partition("-W")
        if not (sep and head.isdigit() and tail.isdigit() and len(head) == 4 and 1 <= len(tail) <= 2):
            raise Invalid(f"{key!r} is not a week like 2026-W03", details=[{"field": "week", "problem": "YYYY-Www"}])
        return cls(int(head), int(tail))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]

    @property
    def starts_at(self) -> datetime:
        """Monday 00:00 in Vietnam (aware; compare it with UTC times freely)."""
        return datetime.combine(self.monday, time(0), tzinfo=LOCAL)

    @property
    def ends_at(self) -> datetime:
        """The next Monday 00:00 in Vietnam: the week is [starts_at, ends_at)."""
        return self.starts_at + timedelta(days=7)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of_day(self.monday + timedelta(weeks=weeks))

    def holds(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


def weeks_in(year: int) -> int:
    """52 or 53: 28 December is always in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar()[1]


def check_entry_times(week: IsoWeek, starts: datetime, ends: datetime | None) -> None:
    """An entry of a week's schedule begins in that week and, when its end is given, ends after it
    begins and before the week is over."""
    if not week.holds(starts):
        raise Invalid(f"the entry begins outside week {week.key} ({week.monday:%d/%m} to {week.sunday:%d/%m/%Y})",
                      details=[{"field": "starts_at", "problem": "outside the week"}])
    if ends is not None:
        if ends <= starts:
            raise Invalid("an entry ends after it begins", details=[{"field": "ends_at", "problem": "before the start"}])
        if ends > week.ends_at:
            raise Invalid("an entry ends within its week (split one that runs past Sunday)",
                          details=[{"field": "ends_at", "problem": "after the week"}])


# --- clashes -------------------------------------------------------------------------------------

# An entry whose end is not written is taken to last this long when looking for clashes: a
# morning's meeting, from 08:00, holds its chair until about 10:00.
ASSUMED_LENGTH = timedelta(hours=2)


@dataclass(frozen=True)
class Slot:
    """What the clash rules need of a schedule entry: when, who (accounts), where."""

    entry_id: int
    starts: datetime
    ends: datetime | None
    people: frozenset[int]  # the presiding person's account and the attendees'
    place: str = ""

    @property
    def until(self) -> datetime:
        return self.ends if self.ends is not None else self.starts + ASSUMED_LENGTH


@dataclass(frozen=True)
class Clash:
    kind: str  # "person" (one account in two entries at once) | "place" (one hall, two entries)
    entry_ids: tuple[int, int]
    user_id: int | None = None
    place: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "entry_ids": list(self.entry_ids), "user_id": self.user_id, "place": self.place}


def clashes(slots: list[Slot]) -> list[Clash]:
    """Every pair of overlapping entries that shares a person or a place (compared without case
    or diacritics: 'Hội trường A' and 'hoi truong a' are one hall). Cancelled entries are not
    passed in. Sorted, so the same week always gives the same list."""
    ordered = sorted(slots, key=lambda s: (s.starts, s.entry_id))
    out: list[Clash] = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.starts >= a.until:
                break  # b begins after a is over, and every later b begins later still
            pair = (a.entry_id, b.entry_id)
            for user_id in sorted(a.people & b.people):
                out.append(Clash("person", pair, user_id=user_id))
            if a.place.strip() and fold(a.place) == fold(b.place):
                out.append(Clash("place", pair, place=a.place))
    return out


def clashes_of(entry_id: int, found: list[Clash]) -> list[Clash]:
    return [c for c in found if entry_id in c.entry_ids]


# --- words for the schedule ----------------------------------------------------------------------

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
# The fields of an entry, as a notice of amendment names them.
FIELD_WORDS = {
    "starts_at": "Thời gian",
    "ends_at": "Kết thúc",
    "content": "Nội dung",
    "place": "Địa điểm",
    "presiding": "Chủ trì",
    "attendees": "Thành phần",
    "attendees_note": "Thành phần (ghi chú)",
    "preparing_unit": "Đơn vị chuẩn bị",
}


def day_label(day: date) -> str:
    """'Thứ Ba, 13/01/2026', as the day column of a schedule prints it."""
    return f"{WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"


def moment_label(moment: datetime | None) -> str:
    """'08:00 Thứ Ba 13/01/2026' in Vietnam time; '' for none."""
    if moment is None:
        return ""
    at = local(moment)
    return f"{at:%H:%M} {WEEKDAYS[at.weekday()]} {at:%d/%m/%Y}"


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    """What changed, in the words of an amendment notice: 'Địa điểm: Phòng họp số 1 → Hội trường A'.
    Both sides are the fields as printed; unchanged fields are left out."""
    parts = []
    for name, word in FIELD_WORDS.items():
        old, new = before.get(name, ""), after.get(name, "")
        if old != new:
            parts.append(f"{word}: {old or '(trống)'} → {new or '(trống)'}")
    return "; ".join(parts)
