"""Directives (ý kiến chỉ đạo, nhiệm vụ): follow-up work assigned after a meeting.

Pure rules, no I/O. A directive comes from the chair's conclusion on an agenda item (or is
added to a meeting by the secretariat), is assigned to a lead unit (đơn vị chủ trì), some
coordinating units (phối hợp) and responsible people, with a deadline: a calendar day in
Vietnam. Its life:

    new ──report──▶ in_progress ──report 100 %──▶ reported ──accept──▶ completed
     │                  │                            │                    │
     └──────────────────┴────────cancel──────────────┴──▶ cancelled       │
                        ▲                                                 │
                        └──────────── reopen (reported, completed, cancelled)

Whether a directive is overdue or due soon is never stored: it is read from the deadline
and today's date in Asia/Ho_Chi_Minh each time (`timeliness`), so it cannot go stale
overnight. docs/directives.md is the contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from server.domain.errors import DomainError, Invalid
from server.domain.times import local

# "Sắp đến hạn": the deadline falls within this many days from today (today included).
DUE_SOON_DAYS = 7
# The agenda item that brings the open directives back before the next meeting.
REVIEW_TITLE = "Kiểm điểm việc thực hiện các nhiệm vụ"
MAX_UNITS = 50
MAX_PEOPLE = 50
MAX_EVIDENCE_PER_REPORT = 20


class Status(StrEnum):
    NEW = "new"  # mới giao
    IN_PROGRESS = "in_progress"  # đang thực hiện
    REPORTED = "reported"  # đã báo cáo hoàn thành, chờ văn phòng xác nhận
    COMPLETED = "completed"  # văn phòng xác nhận hoàn thành
    CANCELLED = "cancelled"  # hủy (không còn phải thực hiện)


OPEN = frozenset({Status.NEW, Status.IN_PROGRESS, Status.REPORTED})
# The ones still waiting for the responsible units' work: only these can fall behind.
RUNNING = frozenset({Status.NEW, Status.IN_PROGRESS})
FINISHED = frozenset({Status.COMPLETED, Status.CANCELLED})

STATUS_NAMES = {
    Status.NEW: "Mới giao",
    Status.IN_PROGRESS: "Đang thực hiện",
    Status.REPORTED: "Đã báo cáo hoàn thành",
    Status.COMPLETED: "Đã hoàn thành",
    Status.CANCELLED: "Đã hủy",
}


def today_in_vietnam(now: datetime) -> date:
    """The calendar day it is in Vietnam at `now` (an aware time): 17:00 UTC is midnight there."""
    if now.tzinfo is None:
        raise ValueError("an aware time is needed to know which day it is in Vietnam")
    return local(now).date()


# --- overdue, due soon ----------------------------------------------------------------


@dataclass(frozen=True)
class Timeliness:
    overdue: bool  # still to do and the deadline day has passed
    due_soon: bool  # still to do and the deadline is today or within DUE_SOON_DAYS
    days_left: int | None  # deadline minus today (negative: days late); None without a deadline
    late: bool  # completed after its deadline day

    def as_dict(self) -> dict:
        return {"overdue": self.overdue, "due_soon": self.due_soon, "days_left": self.days_left, "late": self.late}


def timeliness(status: str, deadline: date | None, today: date, completed_on: date | None = None) -> Timeliness:
    """The deadline day itself is still on time: a directive due on 10 December is overdue
    from 00:00 on 11 December in Vietnam. A directive reported done waits for the secretariat,
    not for the unit, so it is not counted overdue while it waits."""
    if deadline is None:
        return Timeliness(False, False, None, False)
    left = (deadline - today).days
    running = Status(status) in RUNNING
    late = Status(status) == Status.COMPLETED and completed_on is not None and completed_on > deadline
    return Timeliness(running and left < 0, running and 0 <= left <= DUE_SOON_DAYS, left, late)


def bucket(status: str, deadline: date | None, today: date) -> str:
    """The dashboard's column: done, overdue, in_progress (on time, incl. new and reported), cancelled."""
    s = Status(status)
    if s == Status.CANCELLED:
        return "cancelled"
    if s == Status.COMPLETED:
        return "done"
    return "overdue" if timeliness(s, deadline, today).overdue else "in_progress"


@dataclass
class Counts:
    """One dashboard row. total = done + in_progress + overdue (cancelled ones apart);
    due_soon and reported are parts of in_progress, done_late a part of done."""

    total: int = 0
    done: int = 0
    done_late: int = 0
    in_progress: int = 0
    reported: int = 0
    overdue: int = 0
    due_soon: int = 0
    cancelled: int = 0

    def add(self, status: str, deadline: date | None, today: date, completed_on: date | None = None) -> None:
        column = bucket(status, deadline, today)
        if column == "cancelled":
            self.cancelled += 1
            return
        self.total += 1
        setattr(self, column, getattr(self, column) + 1)
        when = timeliness(status, deadline, today, completed_on)
        self.due_soon += when.due_soon
        self.done_late += when.late
        self.reported += Status(status) == Status.REPORTED

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def sort_key(status: str, deadline: date | None, today: date, ident: int) -> tuple:
    """Overdue first (the longest overdue at the top), then what is still to do by deadline,
    then what waits for acceptance, then the finished ones; no deadline after a deadline."""
    s = Status(status)
    when = timeliness(s, deadline, today)
    rank = 0 if when.overdue else 1 if s in RUNNING else 2 if s == Status.REPORTED else 3 if s == Status.COMPLETED else 4
    return (rank, deadline or date.max, ident)


# --- the life of a directive ------------------------------------------------------------


def _refuse(action: str, status: str) -> DomainError:
    return DomainError(f"a directive that is {status} cannot be {action}", code="invalid_transition")


def after_report(status: str, percent: int) -> Status:
    """A progress report: 100 % is the unit's report that the work is done, which the
    secretariat then accepts; anything less keeps it in progress (and takes back an earlier
    'done' that turned out premature)."""
    if Status(status) not in OPEN:
        raise _refuse("reported on (reopen it first)", status)
    if not 0 <= percent <= 100:
        raise Invalid("the progress is a percentage from 0 to 100")
    return Status.REPORTED if percent == 100 else Status.IN_PROGRESS


def accept(status: str) -> Status:
    """The secretariat confirms the work is done. A unit may report by official letter rather
    than here, so a directive still in progress may be accepted too."""
    if Status(status) not in OPEN:
        raise _refuse("accepted", status)
    return Status.COMPLETED


def cancel(status: str) -> Status:
    if Status(status) not in OPEN:
        raise _refuse("cancelled", status)
    return Status.CANCELLED


def reopen(status: str, reported_before: bool) -> Status:
    """Back to work: a report not accepted, a completion found wanting, a cancellation undone."""
    if Status(status) not in {Status.REPORTED, Status.COMPLETED, Status.CANCELLED}:
        raise _refuse("reopened", status)
    return Status.IN_PROGRESS if reported_before else Status.NEW


def check_editable(status: str) -> None:
    if Status(status) in FINISHED:
        raise _refuse("edited (reopen it first)", status)


# --- who answers for it -------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    lead_unit_id: int | None
    coordinating_unit_ids: tuple[int, ...] = ()
    responsible_user_ids: tuple[int, ...] = ()

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset({*self.coordinating_unit_ids, *([self.lead_unit_id] if self.lead_unit_id else [])})


def assignment(lead_unit_id: int | None, coordinating: Iterable[int], responsible: Iterable[int]) -> Assignment:
    """The assignment as given, duplicates dropped (order kept); someone must answer for it."""
    coordinating = tuple(dict.fromkeys(coordinating))
    responsible = tuple(dict.fromkeys(responsible))
    if lead_unit_id is None and not responsible:
        raise Invalid("a directive needs a lead unit or a responsible person",
                      details=[{"field": "lead_unit_id", "problem": "a lead unit or responsible people"}])
    if lead_unit_id is not None and lead_unit_id in coordinating:
        raise Invalid("the lead unit cannot also be a coordinating unit",
                      details=[{"field": "coordinating_unit_ids", "problem": "without the lead unit"}])
    if len(coordinating) > MAX_UNITS or len(responsible) > MAX_PEOPLE:
        raise Invalid(f"at most {MAX_UNITS} units and {MAX_PEOPLE} people")
    return Assignment(lead_unit_id, coordinating, responsible)


@dataclass(frozen=True)
class Viewer:
    """Who is asking. `unit_line` is the account's unit and every unit above it: a directive
    given to a unit is answered for by the accounts of that unit and of the units below it."""

    user_id: int
    global_roles: frozenset[str] = frozenset()
    unit_line: frozenset[int] = frozenset()
    # The meetings where the viewer is the secretary (staff of that meeting) or the chair: the
    # chair follows the meeting's directives, the secretary also keeps them.
    staffed_meetings: frozenset[int] = field(default_factory=frozenset)
    chaired_meetings: frozenset[int] = field(default_factory=frozenset)


OVERSEERS = frozenset({"admin", "secretariat"})


def answers_for(viewer: Viewer, given: Assignment) -> bool:
    """The viewer is responsible in person, or belongs to a responsible unit (or a unit below one)."""
    return viewer.user_id in given.responsible_user_ids or bool(viewer.unit_line & given.unit_ids)


def keeps(viewer: Viewer, meeting_id: int) -> bool:
    """The secretariat (global) or the meeting's secretary: they assign, accept and cancel."""
    return bool(viewer.global_roles & OVERSEERS) or meeting_id in viewer.staffed_meetings


def may_see(viewer: Viewer, meeting_id: int, given: Assignment) -> bool:
    return keeps(viewer, meeting_id) or meeting_id in viewer.chaired_meetings or answers_for(viewer, given)


def may_report(viewer: Viewer, meeting_id: int, given: Assignment) -> bool:
    """The responsible people and units report; the secretariat may enter a report sent on paper."""
    return answers_for(viewer, given) or keeps(viewer, meeting_id)


def changes(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that changed: the directive's history."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
