"""The meeting lifecycle: draft → published → in session ⇄ adjourned → closed."""

from __future__ import annotations

from enum import StrEnum

from server.domain.errors import DomainError


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    IN_SESSION = "in_session"
    ADJOURNED = "adjourned"
    CLOSED = "closed"


# step name -> (the states it may start from, the state it leads to)
STEPS: dict[str, tuple[frozenset[Status], Status]] = {
    "publish": (frozenset({Status.DRAFT}), Status.PUBLISHED),
    "start": (frozenset({Status.PUBLISHED}), Status.IN_SESSION),
    "adjourn": (frozenset({Status.IN_SESSION}), Status.ADJOURNED),
    "resume": (frozenset({Status.ADJOURNED}), Status.IN_SESSION),
    "close": (frozenset({Status.IN_SESSION, Status.ADJOURNED}), Status.CLOSED),
}


def next_status(current: str, step: str, *, agenda_items: int, has_chair: bool) -> Status:
    """The state after `step`, or a DomainError saying why the step is refused."""
    sources, target = STEPS[step]
    status = Status(current)
    if status not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise DomainError(
            f"cannot {step} a meeting that is {status.value} (only from: {allowed})",
            code="invalid_transition",
        )
    if step == "publish":
        if agenda_items == 0:
            raise DomainError("a meeting needs at least one agenda item before it is published")
        if not has_chair:
            raise DomainError("a meeting needs a chair before it is published")
    return target


def agenda_editable(status: str) -> bool:
    """The agenda may change until the meeting is closed; a closed meeting is the record."""
    return Status(status) != Status.CLOSED


def attendance_open(status: str) -> bool:
    """Check-in opens with publication (delegates arrive before the start) and ends at close."""
    return Status(status) in {Status.PUBLISHED, Status.IN_SESSION, Status.ADJOURNED}
