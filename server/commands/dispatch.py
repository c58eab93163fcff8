"""Run a command: rules → one transaction (state + events + idempotency record) → fan-out.

The caller's acknowledgement is built only after the commit, so an acknowledged
command is durable; the committed events go out to socket.io rooms afterwards.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.auth.sessions import Caller
from server.commands.registry import REGISTRY, Context
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.store import audit, eventlog
from server.store.tables import CommandResult, Meeting, Participant

log = logging.getLogger("phonghop.commands")

COMMANDS = Counter("phonghop_commands_total", "Commands run", ["name", "outcome"])
LATENCY = Histogram("phonghop_command_seconds", "Command latency until the commit", ["name"])

MAX_KEY = 100


def validation_details(exc: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]


async def execute(app, caller: Caller, name: str, key: str | None, payload: object) -> dict:
    """The result of a command as `{"result", "seq"}`; raises DomainError on refusal."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise DomainError(f"there is no command named {name!r}", code="unknown_command", status=404)
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY):
        raise Invalid(f"an idempotency key is a string of 1 to {MAX_KEY} characters")
    if not isinstance(payload, dict):
        raise Invalid("the command's data must be a JSON object")
    try:
        data = spec.schema.model_validate(payload)
    except ValidationError as exc:
        raise Invalid(f"the data of {name} is not valid", details=validation_details(exc)) from None

    if spec.direct:
        # poll.vote: one transaction per ballot would be one fsync per ballot; the
        # command checks, writes and answers through the ballot writer's group commit.
        answer = await spec.handler(app, caller, key, data)
        COMMANDS.labels(name, "ok").inc()
        return answer

    started = time.perf_counter()
    db = app["db"]
    prepared = None
    if spec.prepare is not None:
        try:
            if key is not None:
                async with db.read() as session:
                    done = await _stored(session, caller, key, name)
                if done is not None:
                    COMMANDS.labels(name, "replayed").inc()
                    return done
            async with db.read() as session:
                ctx = Context(db=session, caller=caller, settings=app["settings"], roles=caller.roles, app=app)
                if spec.meeting_scoped:
                    await _load_meeting(ctx, data.meeting_id, lock=False)
                if not permissions.allowed(name, ctx.roles):
                    raise Forbidden(f"your role may not run {name}")
                work = await spec.prepare(ctx, data)
            prepared = await work()
        except DomainError as exc:
            COMMANDS.labels(name, "refused").inc()
            log.info("command %s by %s refused: %s %s", name, caller.username, exc.code, exc.message)
            raise
    try:
        async with db.write() as session:
            if key is not None:
                done = await _stored(session, caller, key, name)
                if done is not None:
                    COMMANDS.labels(name, "replayed").inc()
                    return done
                # Claim the key first: a concurrent retry on PostgreSQL waits on this row
                # and then fails on the unique constraint instead of running twice.
                record = CommandResult(user_id=caller.user_id, key=key, name=name, result={})
                session.add(record)
                await session.flush()
            ctx = Context(db=session, caller=caller, settings=app["settings"], roles=caller.roles, app=app,
                          prepared=prepared)
            if spec.meeting_scoped:
                await _load_meeting(ctx, data.meeting_id)
            if not permissions.allowed(name, ctx.roles):
                raise Forbidden(f"your role may not run {name}")
            result = await spec.handler(ctx, data)
            written = await eventlog.append(session, ctx.meeting, ctx.events) if ctx.events else []
            if ctx.audited:  # last: the audit lock is held for the rest of the transaction only
                await audit.append(session, ctx.audited)
            answer = {"result": result, "seq": written[-1].seq if written else None}
            if key is not None:
                record.result = answer
    except IntegrityError:
        # Either a concurrent retry of the same key won the race, or the data broke a
        # constraint (a duplicate participant); the transaction left nothing behind.
        if key is not None:
            async with db.read() as session:
                done = await _stored(session, caller, key, name)
            if done is not None:
                COMMANDS.labels(name, "replayed").inc()
                return done
        COMMANDS.labels(name, "refused").inc()
        raise DomainError("the change conflicts with existing data (a duplicate?)") from None
    except DomainError as exc:
        COMMANDS.labels(name, "refused").inc()
        log.info("command %s by %s refused: %s %s", name, caller.username, exc.code, exc.message)
        raise
    LATENCY.labels(name).observe(time.perf_counter() - started)
    COMMANDS.labels(name, "ok").inc()
    await app["fanout"].publish([eventlog.wire(e) for e in written], lists_changed=ctx.lists_changed)
    for then in ctx.after_commit:
        then()
    return answer


async def _stored(session, caller: Caller, key: str, name: str) -> dict | None:
    row = await session.scalar(
        select(CommandResult).where(CommandResult.user_id == caller.user_id, CommandResult.key == key)
    )
    if row is None:
        return None
    if row.name != name:
        raise DomainError(
            f"the idempotency key was already used for {row.name}", code="idempotency_conflict", status=409
        )
    return row.result


async def _load_meeting(ctx: Context, meeting_id: int, *, lock: bool = True) -> None:
    # FOR UPDATE: on PostgreSQL this row lock orders every writer of the meeting's log.
    query = select(Meeting).where(Meeting.id == meeting_id)
    meeting = await ctx.db.scalar(query.with_for_update() if lock else query)
    if meeting is None:
        raise NotFound(f"meeting {meeting_id} does not exist")
    me = await ctx.db.scalar(
        select(Participant).where(Participant.meeting_id == meeting_id, Participant.user_id == ctx.caller.user_id)
    )
    ctx.meeting = meeting
    ctx.me = me
    ctx.roles = ctx.caller.roles | ({me.role} if me else set())
