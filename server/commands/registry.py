"""The command registry: each command is registered under its wire name with its schema.

A message on the wire (`"name": "agenda.add"`) leads to its handler in one hop:
`REGISTRY["agenda.add"]`. The permission for each name lives in
`server.domain.permissions.MATRIX`; the REST route, if any, is declared here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.sessions import Caller
from server.domain.text import nfc
from server.store.eventlog import Pending
from server.store.tables import Meeting, Participant


class Payload(BaseModel):
    """Base of every command schema: unknown fields are refused, text arrives as NFC."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=5000)

    @field_validator("*", mode="before")
    @classmethod
    def _nfc(cls, value):
        if isinstance(value, str):
            return nfc(value)
        if isinstance(value, list):
            return [nfc(v) if isinstance(v, str) else v for v in value]
        return value


class MeetingPayload(Payload):
    meeting_id: int


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

    def emit(self, type: str, data: dict, audience: str = "meeting") -> None:
        self.events.append(Pending(type, data, audience))


Handler = Callable[[Context, Payload], Awaitable[dict]]


@dataclass(frozen=True)
class Spec:
    name: str
    schema: type[Payload]
    handler: Handler
    summary: str
    route: tuple[str, str] | None  # (method, path); path params fill the payload

    @property
    def meeting_scoped(self) -> bool:
        return "meeting_id" in self.schema.model_fields


REGISTRY: dict[str, Spec] = {}


def command(name: str, schema: type[Payload], summary: str, route: tuple[str, str] | None = None):
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"command {name} registered twice")
        REGISTRY[name] = Spec(name, schema, handler, summary, route)
        return handler

    return register
