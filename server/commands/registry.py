"""The command registry: each command is registered under its wire name with its schema.

A message on the wire (`"name": "agenda.add"`) leads to its handler in one hop:
`REGISTRY["agenda.add"]`. The permission for each name lives in
`server.domain.permissions.MATRIX`; the REST route, if any, is declared here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.sessions import Caller
from server.domain.errors import Invalid
from server.domain.text import entered
from server.domain.times import aware
from server.store.eventlog import Pending
from server.store.tables import Meeting, Participant

# Row ids: whole JSON numbers only (not true, not "5"), within PostgreSQL's integer.
Id = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]


def _moment(value: datetime) -> datetime:
    # A time typed without a zone was meant in Vietnam; years far out are typing errors
    # (and 0001-01-01 would not survive the conversion to UTC).
    if not 1900 <= value.year <= 2200:
        raise ValueError("a date between the years 1900 and 2200")
    return aware(value)


Moment = Annotated[datetime, AfterValidator(_moment)]


class Payload(BaseModel):
    """Base of every command schema: unknown fields are refused, text arrives as NFC."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=5000)

    @field_validator("*", mode="before")
    @classmethod
    def _nfc(cls, value):
        if isinstance(value, str):
            return entered(value)
        if isinstance(value, list):
            return [entered(v) if isinstance(v, str) else v for v in value]
        return value

    def changes(self, *, keep: set[str], required: set[str] = frozenset()) -> dict:
        """The fields the client sent, except `keep` (the ids that name the target).

        `required` fields may be left out but not set to null: null would mean
        "erase", and these cannot be empty.
        """
        fields = self.model_dump(exclude_unset=True, exclude=keep)
        nulls = sorted(name for name in required if name in fields and fields[name] is None)
        if nulls:
            raise Invalid(
                "these fields cannot be null",
                details=[{"field": n, "problem": "leave it out to keep the current value"} for n in nulls],
            )
        return fields


class MeetingPayload(Payload):
    meeting_id: Id


@dataclass
class Context:
    db: AsyncSession
    caller: Caller
    settings: object
    meeting: Meeting | None = None
    me: Participant | None = None  # the caller's participant row in this meeting
    roles: frozenset[str] = frozenset()
    events: list[Pending] = field(default_factory=list)
    # The list of meetings changed (created, published, renamed): every client gets a
    # `meetings_changed` hint and refetches the list it may see. Meetings change rarely.
    lists_changed: bool = False
    app: object = None  # the running application, for commands that use its services (the ballot writer)
    # Work that must wait for the commit (start rendering an upload); run after the fan-out.
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # What the command's `prepare` made before the transaction (a rendered document), or None.
    prepared: object = None
    # Audit records of this command (server/store/audit.py), appended as its transaction's last write.
    audited: list = field(default_factory=list)

    def emit(self, type: str, data: dict, audience: str = "meeting") -> None:
        self.events.append(Pending(type, data, audience))

    def audit(self, action: str, target: str, details: dict | None = None) -> None:
        """Put a security-relevant act of this command on the audit log, with its commit."""
        from server.store.audit import by

        self.audited.append(by(self.caller, action, target, details,
                               meeting_id=self.meeting.id if self.meeting is not None else None))


Handler = Callable[[Context, Payload], Awaitable[dict]]


@dataclass(frozen=True)
class Spec:
    name: str
    schema: type[Payload]
    handler: Handler
    summary: str
    route: tuple[str, str] | None  # (method, path); path params fill the payload
    # A direct command is called as `handler(app, caller, key, data)` and runs its own
    # transactions (poll.vote: the ballot writer's group commit, see server/store/ballots.py).
    direct: bool = False
    # Slow work that must not hold the write transaction (rendering a document with
    # LibreOffice): `prepare(ctx, data)` runs in a read transaction once the caller's
    # permission is checked, and returns an async function; dispatch awaits it outside any
    # transaction, then runs the handler, which finds its result in `ctx.prepared` and
    # checks that what it was made from has not changed meanwhile.
    prepare: Callable[[Context, Payload], Awaitable[Callable[[], Awaitable[object]]]] | None = None

    @property
    def meeting_scoped(self) -> bool:
        return "meeting_id" in self.schema.model_fields


REGISTRY: dict[str, Spec] = {}


def command(name: str, schema: type[Payload], summary: str, route: tuple[str, str] | None = None, *,
            direct: bool = False, prepare=None):
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"command {name} registered twice")
        REGISTRY[name] = Spec(name, schema, handler, summary, route, direct, prepare)
        return handler

    return register
