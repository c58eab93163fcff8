"""The list of speakers (đăng ký phát biểu) of one agenda item.

A pure state machine: every function takes a `SpeakerList` and returns a new one,
or raises `SpeakerError`. Times are passed in; nothing here reads a clock.

Order of the queue: points of order (kiến nghị về thủ tục) come first, first come
first served among themselves; ordinary requests follow in the order they were made,
unless the chair moves them. The chair approves a request before it can start, and
only one person holds the floor at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.text import nfc


class SpeakerError(DomainError):
    """A rule refused the step: wire `code` "conflict"; `reason` and `params` (in `details`) say which."""

    def __init__(self, reason: str, **params: object) -> None:
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{reason} ({shown})" if shown else reason, details={"reason": reason, **params})
        self.reason = reason
        self.params = params


class RequesterKind(StrEnum):
    DELEGATE = "delegate"
    POINT = "point"  # a bridge point asking for the floor for someone sitting there


class RequestKind(StrEnum):
    ORDINARY = "ordinary"
    POINT_OF_ORDER = "point_of_order"


class TimeState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    OVER = "over"


@dataclass(frozen=True)
class Requester:
    kind: RequesterKind
    id: str


@dataclass(frozen=True)
class SpeechRequest:
    id: str
    requester: Requester
    item_id: str
    topic: str
    requested_at: datetime
    kind: RequestKind = RequestKind.ORDINARY
    approved: bool = False


@dataclass(frozen=True)
class Speech:
    request: SpeechRequest
    started_at: datetime
    limit: int | None  # seconds; None: no limit
    ended_at: datetime | None = None

    @property
    def seconds(self) -> int | None:
        """Whole seconds spoken, once the speech is over."""
        if self.ended_at is None:
            return None
        return math.floor((self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class SpeakerList:
    item_id: str
    queue: tuple[SpeechRequest, ...] = ()  # waiting, in the order they will be called
    current: Speech | None = None
    finished: tuple[Speech, ...] = ()  # in the order they spoke, with their durations
    limit: int | None = None  # default speaking time of an ordinary speech, seconds
    point_of_order_limit: int | None = None  # points of order are meant to be short

    def find(self, request_id: str) -> SpeechRequest:
        for r in self.queue:
            if r.id == request_id:
                return r
        raise SpeakerError("unknown_request", request=request_id)


def _points_of_order(queue: tuple[SpeechRequest, ...]) -> int:
    """How many requests at the head are points of order (the queue keeps them there)."""
    return sum(1 for r in queue if r.kind is RequestKind.POINT_OF_ORDER)


def request_floor(lst: SpeakerList, request: SpeechRequest) -> SpeakerList:
    """Add a request: a point of order after the other points of order, an ordinary one last."""
    if request.item_id != lst.item_id:
        raise SpeakerError("wrong_item", item=request.item_id)
    if any(r.id == request.id for r in lst.queue) or (lst.current and lst.current.request.id == request.id):
        raise SpeakerError("duplicate_request", request=request.id)
    # One waiting request of each kind per requester: a second tap on the tablet must
    # not put the same delegate twice in the queue.
    if any(r.requester == request.requester and r.kind is request.kind for r in lst.queue):
        raise SpeakerError("already_waiting", requester=request.requester.id)
    request = replace(request, topic=nfc(request.topic).strip(), approved=False)
    if request.kind is RequestKind.POINT_OF_ORDER:
        at = _points_of_order(lst.queue)
        return replace(lst, queue=lst.queue[:at] + (request,) + lst.queue[at:])
    return replace(lst, queue=lst.queue + (request,))


def withdraw(lst: SpeakerList, request_id: str) -> SpeakerList:
    """The requester (or the chair, declining) takes a waiting request off the list."""
    if lst.current and lst.current.request.id == request_id:
        raise SpeakerError("already_speaking", request=request_id)
    lst.find(request_id)
    return replace(lst, queue=tuple(r for r in lst.queue if r.id != request_id))


def move(lst: SpeakerList, request_id: str, position: int) -> SpeakerList:
    """The chair puts a waiting request at `position` (0 = next) of the whole queue.

    The chair orders within each group; an ordinary request cannot be put ahead of a
    point of order, nor a point of order behind an ordinary request.
    """
    request = lst.find(request_id)
    rest = tuple(r for r in lst.queue if r.id != request_id)
    heads = _points_of_order(rest)
    if request.kind is RequestKind.POINT_OF_ORDER:
        low, high = 0, heads
    else:
        low, high = heads, len(rest)
    if not low <= position <= high:
        raise SpeakerError("bad_position", position=position, min=low, max=high)
    return replace(lst, queue=rest[:position] + (request,) + rest[position:])


def approve(lst: SpeakerList, request_id: str) -> SpeakerList:
    """The chair accepts the request; only approved requests can be given the floor."""
    lst.find(request_id)
    return replace(
        lst, queue=tuple(replace(r, approved=True) if r.id == request_id else r for r in lst.queue)
    )


def next_request(lst: SpeakerList) -> SpeechRequest | None:
    """The first approved request in queue order: who is called when the chair says "next"."""
    return next((r for r in lst.queue if r.approved), None)


def start(
    lst: SpeakerList, now: datetime, request_id: str | None = None, *, limit: int | None = None
) -> SpeakerList:
    """Give the floor to `request_id` (default: the next approved request).

    The limit is the list's default for the kind of request unless `limit` is given.
    """
    if lst.current is not None:
        raise SpeakerError("speech_in_progress", request=lst.current.request.id)
    if request_id is None:
        request = next_request(lst)
        if request is None:
            raise SpeakerError("nobody_approved")
    else:
        request = lst.find(request_id)
        if not request.approved:
            raise SpeakerError("not_approved", request=request_id)
    if limit is None:
        limit = lst.point_of_order_limit if request.kind is RequestKind.POINT_OF_ORDER else lst.limit
    if limit is not None and limit <= 0:
        raise SpeakerError("bad_limit", limit=limit)
    return replace(
        lst,
        queue=tuple(r for r in lst.queue if r.id != request.id),
        current=Speech(request=request, started_at=now, limit=limit),
    )


def stop(lst: SpeakerList, now: datetime) -> SpeakerList:
    """End the current speech and keep it, with its duration, among the finished ones."""
    if lst.current is None:
        raise SpeakerError("no_speech")
    if now < lst.current.started_at:
        raise SpeakerError("time_went_back")
    done = replace(lst.current, ended_at=now)
    return replace(lst, current=None, finished=lst.finished + (done,))


@dataclass(frozen=True)
class Clock:
    """What the speaker's timer shows."""

    state: TimeState
    elapsed: int  # whole seconds since the start
    remaining: int | None  # seconds left, negative once over; None without a limit


def time_state(started_at: datetime, now: datetime, limit: int | None, warn_before: int = 30) -> Clock:
    """ok / warning (within `warn_before` seconds of the limit) / over (the limit is reached).

    The warning starts no earlier than half of the speech, so a 40-second point of
    order is not yellow from its first second.
    """
    elapsed = max(0, math.floor((now - started_at).total_seconds()))
    if limit is None:
        return Clock(TimeState.OK, elapsed, None)
    remaining = limit - elapsed
    if remaining <= 0:
        return Clock(TimeState.OVER, elapsed, remaining)
    if remaining <= min(warn_before, limit // 2):
        return Clock(TimeState.WARNING, elapsed, remaining)
    return Clock(TimeState.OK, elapsed, remaining)
