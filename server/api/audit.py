"""GET /api/audit: the audit log for the administrator, newest first, filtered and paged
(SECURITY.md, "Audit log"); GET /api/audit/verify checks its hash chain."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from server.domain.errors import Forbidden, Invalid
from server.domain.permissions import Role
from server.domain.times import aware
from server.store import audit
from server.store.tables import AuditRecord

MAX_LIMIT = 500


async def _admin(request: web.Request):
    from server.api.rest import caller

    who = await caller(request)
    if Role.ADMIN not in who.roles:
        raise Forbidden("only the administrator reads the audit log")
    return who


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and int(raw) < 2**31):
        raise Invalid(f"{name} must be a whole number")
    return int(raw)


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return aware(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time, e.g. 2026-12-10T08:00:00+07:00") from None


async def records(request: web.Request) -> web.Response:
    """?action= (exact, or a prefix ending in '.': `auth.`), actor_user_id=, target=,
    meeting_id=, since=, until= (ISO 8601), before_id= (the `next` of the previous page), limit= (≤ 500)."""
    await _admin(request)
    limit = _int(request, "limit") or 100
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit is 1 to {MAX_LIMIT}")
    query = select(AuditRecord)
    action = request.query.get("action")
    if action:
        if len(action) > 64:
            raise Invalid("action is at most 64 characters")
        if action.endswith("."):
            escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditRecord.action.like(escaped + "%", escape="\\"))
        else:
            query = query.where(AuditRecord.action == action)
    target = request.query.get("target")
    if target:
        query = query.where(AuditRecord.target == target[:200])
    for name, column in (("actor_user_id", AuditRecord.actor_user_id), ("meeting_id", AuditRecord.meeting_id)):
        value = _int(request, name)
        if value is not None:
            query = query.where(column == value)
    since, until = _time(request, "since"), _time(request, "until")
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    if until is not None:
        query = query.where(AuditRecord.at < until)
    before = _int(request, "before_id")
    if before is not None:
        query = query.where(AuditRecord.id < before)
    async with request.app["db"].read() as db:
        rows = (await db.scalars(query.order_by(AuditRecord.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return web.json_response({"records": [audit.record_dict(r) for r in rows],
                              "next": rows[-1].id if more else None})


async def check(request: web.Request) -> web.Response:
    await _admin(request)
    async with request.app["db"].read() as db:
        verdict = await audit.verify(db)
    return web.json_response(verdict.as_dict())


def routes(Route) -> list:
    return [
        Route("GET", "/api/audit", records,
              "The audit log, newest first (administrator): ?action= (or a prefix such as auth.), actor_user_id=, "
              "target=, meeting_id=, since=, until=, before_id= (the previous page's next), limit= (at most 500)"),
        Route("GET", "/api/audit/verify", check,
              "Check the audit log's hash chain (administrator): {ok, count, head} or the first broken record"),
    ]
