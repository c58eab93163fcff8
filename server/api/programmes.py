"""REST reads of the work programmes and the weekly schedule, their exports, and the calendar
feeds (docs/programmes.md). The changes are the commands of server/commands/programmes.py.

Everyone signed in reads what is published; drafts are the office's (admin, secretariat).
A person's calendar feed is reached without signing in, by a secret URL: its token is an HMAC
of the server's key, the account and a nonce, so the owner can be shown the link again while the
database holds only the token's SHA-256; a new nonce rotates it and the old URL answers 404.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select

from server.auth import access as access_rules
from server.auth.sessions import Caller
from server.domain import permissions
from server.domain import programmes as rules
from server.domain.errors import Invalid, NotFound
from server.domain.times import iso, local
from server.exports import calendar as ical
from server.exports import programmes as export
from server.store import programme_views as views
from server.store.tables import CalendarFeed, Event, Meeting, Participant, Programme, Unit, User, utcnow

# How far back a feed reaches: a calendar keeps what it already has; a feed of every meeting
# since the installation would grow without end.
FEED_DAYS_BACK = 180
ROLE_WORDS = {"chair": "Chủ trì", "secretary": "Thư ký", "delegate": "Đại biểu", "guest": "Khách mời",
              "observer": "Dự thính", "operator": "Kỹ thuật điểm cầu"}
STATUS_WORDS = {"draft": "Bản nháp", "published": "Đã phát hành", "in_session": "Đang họp",
                "adjourned": "Tạm nghỉ", "closed": "Đã bế mạc"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _office(who: Caller) -> bool:
    return bool(who.roles & permissions.OFFICE)


def _query_int(request: web.Request, name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise Invalid(f"{name} must be a whole number from {low} to {high}",
                      details=[{"field": name, "problem": "a whole number"}])
    return int(value)


async def _unit_for(db, request: web.Request, who: Caller) -> Unit:
    unit_id = _query_int(request, "unit_id")
    if unit_id is not None:
        unit = await db.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} does not exist")
        return unit
    unit = await views.default_unit(db, who.unit_id)
    if unit is None:
        raise NotFound("there is no unit yet: the administrator creates the organisation tree first")
    return unit


def _week(request: web.Request) -> rules.IsoWeek:
    from server.api.rest import _path_ints

    ids = _path_ints(request)
    return rules.IsoWeek(ids["year"], ids["week"])


# --- programmes ----------------------------------------------------------------------------------


async def programme_list(request: web.Request) -> web.Response:
    from server.api.rest import caller

    who = await caller(request)
    unit_id = _query_int(request, "unit_id")
    year = _query_int(request, "year", 1900, 2200)
    async with request.app["db"].read() as db:
        rows = await views.programme_list(db, unit_id, year, office=_office(who))
    return web.json_response({"programmes": rows})


async def _readable_programme(db, request: web.Request, who: Caller) -> Programme:
    from server.api.rest import _path_ints

    programme_id = _path_ints(request)["programme_id"]
    p = await db.get(Programme, programme_id)
    # A draft is not there for a reader, as a meeting's draft is not.
    if p is None or (p.state != rules.Publication.PUBLISHED and not _office(who)):
        raise NotFound(f"programme {programme_id} does not exist")
    return p


async def programme(request: web.Request) -> web.Response:
    from server.api.rest import caller

    who = await caller(request)
    async with request.app["db"].read() as db:
        view = await views.programme_view(db, await _readable_programme(db, request, who))
    return web.json_response(view, headers={"Cache-Control": "no-store"})


async def programme_xlsx(request: web.Request) -> web.Response:
    from server.api.rest import caller

    who = await caller(request)
    async with request.app["db"].read() as db:
        view = await views.programme_view(db, await _readable_programme(db, request, who))
    body = await asyncio.to_thread(export.programme_xlsx, view)
    return web.Response(body=body, content_type=export.XLSX_TYPE, headers={
        "Content-Disposition": export.content_disposition(export.programme_stem(view), "xlsx"),
        "Cache-Control": "no-store"})


# --- the weekly schedule -------------------------------------------------------------------------


async def _week_view(request: web.Request, which) -> dict:
    """The week `which()` names, read once the session is known (a stranger learns nothing, not
    even which weeks exist)."""
    from server.api.rest import caller

    who = await caller(request)
    week = which()
    async with request.app["db"].read() as db:
        unit = await _unit_for(db, request, who)
        data = await views.week_data(db, unit, week, office=_office(who))
    view = data.as_dict()
    view["this_week"] = rules.IsoWeek.of(utcnow()).key
    return view


async def schedule_week(request: web.Request) -> web.Response:
    return web.json_response(await _week_view(request, lambda: _week(request)), headers={"Cache-Control": "no-store"})


async def schedule_current(request: web.Request) -> web.Response:
    """This week as a clock in Vietnam counts it (the server's, not the device's)."""
    return web.json_response(await _week_view(request, lambda: rules.IsoWeek.of(utcnow())),
                             headers={"Cache-Control": "no-store"})


async def schedule_docx(request: web.Request) -> web.Response:
    view = await _week_view(request, lambda: _week(request))
    if view["week"]["state"] == "none":
        raise NotFound(f"week {view['week']['key']} of {view['unit']['name']} has no published schedule")
    body = await asyncio.to_thread(export.schedule_docx, view)
    return web.Response(body=body, content_type=export.DOCX_TYPE, headers={
        "Content-Disposition": export.content_disposition(export.schedule_stem(view), "docx"),
        "Cache-Control": "no-store"})


# --- calendar feeds ------------------------------------------------------------------------------


def feed_token(secret: bytes, user_id: int, nonce: str) -> str:
    mac = hmac.new(secret, f"calendar-feed:{user_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def installation(secret: bytes) -> str:
    """A short name of this installation for UIDs: two servers' meeting 12 are not one event."""
    return hashlib.sha256(b"phonghop-installation:" + secret).hexdigest()[:12]


def _feed_answer(request: web.Request, row: CalendarFeed | None) -> dict:
    if row is None:
        return {"active": False, "url": None, "webcal_url": None, "path": None, "created_at": None}
    path = f"/api/calendar/{feed_token(request.app['files_secret'], row.user_id, row.nonce)}.ics"
    # Behind a reverse proxy the scheme the person uses is the proxy's.
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip() or request.scheme
    return {"active": True, "path": path, "url": f"{scheme}://{request.host}{path}",
            "webcal_url": f"webcal://{request.host}{path}", "created_at": iso(row.created_at)}


async def my_calendar(request: web.Request) -> web.Response:
    from server.api.rest import caller

    who = await caller(request)
    async with request.app["db"].read() as db:
        row = await db.get(CalendarFeed, who.user_id)
    return web.json_response(_feed_answer(request, row), headers={"Cache-Control": "no-store"})


async def rotate_calendar(request: web.Request) -> web.Response:
    """Make the caller's feed URL, or a new one: the previous URL stops working at once."""
    from server.api.rest import caller

    who = await caller(request)
    nonce = secrets.token_urlsafe(24)
    digest = token_hash(feed_token(request.app["files_secret"], who.user_id, nonce))
    async with request.app["db"].write() as db:
        row = await db.get(CalendarFeed, who.user_id)
        if row is None:
            row = CalendarFeed(user_id=who.user_id, nonce=nonce, token_hash=digest, created_at=utcnow())
            db.add(row)
        else:
            row.nonce, row.token_hash, row.created_at = nonce, digest, utcnow()
        await db.flush()
        answer = _feed_answer(request, row)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


async def revoke_calendar(request: web.Request) -> web.Response:
    from server.api.rest import caller

    who = await caller(request)
    async with request.app["db"].write() as db:
        row = await db.get(CalendarFeed, who.user_id)
        if row is not None:
            await db.delete(row)
    return web.json_response(_feed_answer(request, None), headers={"Cache-Control": "no-store"})


async def feed_items(db, user: User, secret: bytes) -> list[ical.Item]:
    """The meetings the person takes part in (those they may read) and the published schedule
    entries they preside or attend; an entry whose meeting is already there is left out."""
    since = utcnow() - timedelta(days=FEED_DAYS_BACK)
    suffix = f"{installation(secret)}@phonghop"
    own_roles = frozenset(user.roles or [])
    rows = (await db.execute(
        select(Meeting, Participant.role).join(Participant, Participant.meeting_id == Meeting.id)
        .where(Participant.user_id == user.id, Meeting.starts_at.is_not(None), Meeting.starts_at >= since)
    )).all()
    meetings = [(m, role) for m, role in rows if access_rules.may_read(m, own_roles | {role})]
    changes: dict[int, tuple[int, object]] = {}
    if meetings:
        changes = {mid: (n, at) for mid, n, at in (await db.execute(
            select(Event.meeting_id, func.count(), func.max(Event.at))
            .where(Event.type == "meeting.updated", Event.meeting_id.in_([m.id for m, _ in meetings]))
            .group_by(Event.meeting_id)
        )).all()}
    units = {u.id: u.name for u in (await db.scalars(select(Unit))).all()}
    items = []
    for m, role in meetings:
        count, last = changes.get(m.id, (1, m.created_at))
        lines = [f"Vai trò: {ROLE_WORDS.get(role, role)}", f"Trạng thái: {STATUS_WORDS.get(m.status, m.status)}"]
        if m.unit_id in units:
            lines.append(f"Đơn vị: {units[m.unit_id]}")
        items.append(ical.Item(
            uid=f"meeting-{m.id}.{suffix}", summary=m.title, starts=m.starts_at, ends=m.ends_at,
            stamp=last or m.created_at, sequence=max(count - 1, 0), location=m.place, description="\n".join(lines),
            tentative=m.status == "draft", categories=("Cuộc họp",),
        ))
    shown = {m.id for m, _ in meetings}
    entries = [(e, unit) for e, unit in await views.schedule_entries_for(db, user.id, since)
               if e.meeting_id not in shown]
    attendees = await views.attendees_of(db, [e.id for e, _ in entries])
    for e, unit_name in entries:
        names = ", ".join(u.full_name for u in attendees[e.id])
        week = rules.IsoWeek.of(e.starts_at)
        lines = [
            f"Chủ trì: {e.presiding}" if e.presiding else "",
            f"Thành phần: {'; '.join(p for p in (names, e.attendees_note) if p)}" if names or e.attendees_note else "",
            f"Đơn vị chuẩn bị: {e.preparing_unit}" if e.preparing_unit else "",
            f"Lịch công tác tuần {week.week} ({local(e.starts_at):%Y}) - {unit_name}",
            f"Điều chỉnh lần {e.amendment}" if e.amendment else "",
            f"Hoãn: {e.reason}" if e.status == "cancelled" else "",
        ]
        items.append(ical.Item(
            uid=f"schedule-{e.id}.{suffix}", summary=e.content, starts=e.starts_at, ends=e.ends_at,
            stamp=e.updated_at, sequence=e.sequence, location=e.place,
            description="\n".join(line for line in lines if line), cancelled=e.status == "cancelled",
            categories=("Lịch công tác",),
        ))
    return items


async def calendar_feed(request: web.Request) -> web.Response:
    """GET /api/calendar/{token}.ics: no session; the token is the key. Unknown, rotated or
    revoked tokens, and accounts that were closed, answer 404."""
    token = request.match_info["token"]
    if not _TOKEN.match(token):
        raise NotFound("there is no such calendar")
    secret = request.app["files_secret"]
    async with request.app["db"].read() as db:
        row = await db.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token)))
        user = await db.get(User, row.user_id) if row is not None else None
        if row is None or user is None or not user.active:
            raise NotFound("there is no such calendar")
        items = await feed_items(db, user, secret)
    body = await asyncio.to_thread(ical.feed, f"Lịch họp - {user.full_name}", items)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Content-Disposition": 'inline; filename="lich-hop.ics"',
               "X-Robots-Tag": "noindex"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=ical.CONTENT_TYPE, charset="utf-8", headers=headers)


def routes(Route) -> list:
    return [
        Route("GET", "/api/programmes", programme_list,
              "Work programmes (?unit_id=&year=); drafts only for the office"),
        Route("GET", "/api/programmes/{programme_id}", programme, "A work programme with its entries"),
        Route("GET", "/api/programmes/{programme_id}/export.xlsx", programme_xlsx, "A work programme as XLSX"),
        Route("GET", "/api/schedule/current", schedule_current,
              "This week's schedule of a unit (?unit_id=, default: the caller's unit)"),
        Route("GET", "/api/schedule/{year}/{week}", schedule_week,
              "A unit's schedule for ISO week {week} of {year} (?unit_id=), with clashes and amendments"),
        Route("GET", "/api/schedule/{year}/{week}/export.docx", schedule_docx,
              "A unit's weekly schedule as DOCX, landscape (?unit_id=)"),
        Route("GET", "/api/me/calendar", my_calendar, "The caller's calendar feed URL, if one was made"),
        Route("POST", "/api/me/calendar", rotate_calendar,
              "Make the caller's calendar feed URL, or a new one (the old URL stops working)"),
        Route("DELETE", "/api/me/calendar", revoke_calendar, "Revoke the caller's calendar feed URL"),
        Route("GET", "/api/calendar/{token}.ics", calendar_feed,
              "A person's meetings and schedule entries as iCalendar (the secret URL is the key)", public=True),
    ]
