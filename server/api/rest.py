"""REST under /api: every command's route, sign-in and pairing, and the read side."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta

import qrcode
import qrcode.image.svg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlalchemy import select

from server.api.errors import json_body
from server.auth import access as access_rules
from server.auth import limits, sessions
from server.auth.passwords import verify_password
from server.commands import dispatch
from server.commands.registry import REGISTRY, Spec
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound, Unauthorized
from server.domain.text import nfc
from server.domain.times import iso
from server.realtime.resync import catch_up
from server.store import audit, views
from server.store.tables import Device, Session, Unit, User, utcnow


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: object
    summary: str
    body: type[BaseModel] | None = None
    public: bool = False  # reachable without a session


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=4, max_length=20)
    device_name: str = Field(min_length=1, max_length=200)


class LogoutAll(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_current: StrictBool = False  # true: every other session ends, this one stays


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PairingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int


def parse(model: type[BaseModel], body: dict) -> BaseModel:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise Invalid("the request is not valid", details=dispatch.validation_details(exc)) from None


async def caller(request: web.Request) -> sessions.Caller:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else None
    async with request.app["db"].read() as db:
        who = await sessions.resolve(db, token)
    return replace(who, address=limits.request_address(request))


def _path_ints(request: web.Request) -> dict:
    out = {}
    for name, value in request.match_info.items():
        if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**31):
            raise NotFound(f"{name} must be a whole number of an existing record")
        out[name] = int(value)
    return out


def command_handler(spec: Spec):
    async def handle(request: web.Request) -> web.Response:
        who = await caller(request)
        body = await json_body(request, empty_ok=True)
        overlap = set(body) & set(request.match_info)
        if overlap:
            raise Invalid(f"{', '.join(sorted(overlap))} belongs in the path, not the body")
        answer = await dispatch.execute(
            request.app, who, spec.name, request.headers.get("Idempotency-Key"), {**body, **_path_ints(request)}
        )
        return web.json_response(answer)

    return handle


async def generic_command(request: web.Request) -> web.Response:
    who = await caller(request)
    body = await json_body(request)
    answer = await dispatch.execute(
        request.app, who, request.match_info["name"], request.headers.get("Idempotency-Key"), body
    )
    return web.json_response(answer)


async def login(request: web.Request) -> web.Response:
    """Sign in. Failures are counted per account and per address (server/auth/limits.py):
    past either limit the answer is 429 with Retry-After, and the lockout is audited."""
    data = parse(Login, await json_body(request))
    settings = request.app["settings"]
    limiter: limits.LoginLimiter = request.app["login_limits"]
    address = limits.request_address(request)
    username = nfc(data.username).lower()
    async with limiter.one_at_a_time(username):
        await limiter.check(username, address)
        async with request.app["db"].read() as db:
            user = await db.scalar(select(User).where(User.username == username))
        # Verified outside any transaction: argon2 is slow on purpose and must not hold
        # SQLite's single writer while it works.
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, data.password)
        if not ok or user is None or not user.active:
            failure = await limiter.failed(username, address)
            await _failed_login(request, user, address, failure)
            raise Unauthorized("wrong username or password")
        await limiter.succeeded(username)
        async with request.app["db"].write() as db:
            notice = await audit.failed_since_last_login(db, user.id)
            answer = await sessions.open_session(db, user, settings.session_hours)
            session_id = await db.scalar(select(Session.id).where(Session.token_hash == sessions.digest(answer["token"])))
            await audit.append(db, audit.Entry(
                "auth.login", f"user:{user.id}", {"notice": notice} if notice else {}, actor=user.username,
                actor_user_id=user.id, actor_session_id=session_id, address=address))
    if notice:
        answer["notice"] = notice
    return web.json_response(answer)


async def _failed_login(request: web.Request, user: User | None, address: str, failure: limits.Failure) -> None:
    """A failed sign-in in the audit log, and the lockout it caused. A name that is no
    account is not written down: it may be a password typed in the wrong field."""
    target = f"user:{user.id}" if user is not None else ""
    entries = [audit.Entry("auth.login_failed", target,
                           {"reason": "no_account" if user is None else "inactive" if not user.active
                            else "wrong_password"}, address=address)]
    if failure.locked_account and user is not None:
        until = utcnow() + timedelta(seconds=failure.locked_account)
        entries.append(audit.Entry("auth.lockout", target, {"until": iso(until)}, address=address))
    if failure.locked_address:
        until = utcnow() + timedelta(seconds=failure.locked_address)
        entries.append(audit.Entry("auth.address_locked", f"address:{address}", {"until": iso(until)},
                                   address=address))
    async with request.app["db"].write() as db:
        await audit.append(db, entries)


async def pair(request: web.Request) -> web.Response:
    data = parse(Pair, await json_body(request))
    settings = request.app["settings"]
    limiter: limits.LoginLimiter = request.app["login_limits"]
    address = limits.request_address(request)
    await limiter.check(None, address)
    try:
        async with request.app["db"].write() as db:
            user, device = await sessions.redeem_pairing_code(db, data.code, nfc(data.device_name))
            answer = await sessions.open_session(db, user, settings.session_hours, device_id=device.id)
            session_id = await db.scalar(select(Session.id).where(Session.token_hash == sessions.digest(answer["token"])))
            await audit.append(db, audit.Entry(
                "auth.pair", f"device:{device.id}", {"device_name": device.name}, actor=user.username,
                actor_user_id=user.id, actor_session_id=session_id, actor_device_id=device.id, address=address))
    except Unauthorized:
        failure = await limiter.failed(None, address)
        if failure.locked_address:
            async with request.app["db"].write() as db:
                await audit.append(db, audit.Entry("auth.address_locked", f"address:{address}", {
                    "until": iso(utcnow() + timedelta(seconds=failure.locked_address))}, address=address))
        raise
    answer["device"] = {"id": device.id, "name": device.name}
    return web.json_response(answer)


async def logout(request: web.Request) -> web.Response:
    who = await caller(request)
    async with request.app["db"].write() as db:
        await sessions.revoke(db, who.session_id)
        await audit.append(db, audit.by(who, "auth.logout", f"user:{who.user_id}"))
    # The caller's own session, ended by its own client: its socket stops at its next message
    # (answered `unauthorized`, then closed). Sessions ended for someone else (below) are
    # closed at once, everywhere: server/auth/revocation.py.
    request.app["ended_sessions"].add(who.session_id)
    return web.json_response({"ok": True})


async def logout_all(request: web.Request) -> web.Response:
    """Sign out everywhere: every session of the caller's account ends, on every device and
    paired tablet (and their sockets close, in every process), except the calling one when
    `keep_current` is true."""
    who = await caller(request)
    data = parse(LogoutAll, await json_body(request, empty_ok=True))
    async with request.app["db"].write() as db:
        ended = await sessions.revoke_all(db, who.user_id, keep=who.session_id if data.keep_current else None)
        await audit.append(db, audit.by(who, "auth.logout_all", f"user:{who.user_id}",
                                        {"ended_sessions": ended, "kept_current": data.keep_current}))
    await request.app["session_ends"].ended_now(who.user_id, ended)
    return web.json_response({"ok": True, "ended_sessions": len(ended)})


async def end_user_sessions(request: web.Request) -> web.Response:
    """The administrator ends every session of an account (a lost tablet, a person who left),
    on every device; the account itself stays (its password still signs in)."""
    who = await caller(request)
    if permissions.Role.ADMIN not in who.roles:
        raise Forbidden("only the administrator ends another account's sessions")
    user_id = _path_ints(request)["user_id"]
    parse(EmptyBody, await json_body(request, empty_ok=True))
    async with request.app["db"].write() as db:
        if await db.get(User, user_id) is None:
            raise NotFound(f"account {user_id} does not exist")
        ended = await sessions.revoke_all(db, user_id)
        await audit.append(db, audit.by(who, "user.sessions_end", f"user:{user_id}", {"ended_sessions": ended}))
    await request.app["session_ends"].ended_now(user_id, ended)
    return web.json_response({"ok": True, "ended_sessions": len(ended)})


async def me(request: web.Request) -> web.Response:
    who = await caller(request)
    async with request.app["db"].read() as db:
        return web.json_response({"user": sessions.user_dict(await db.get(User, who.user_id))})


async def pairing_code(request: web.Request) -> web.Response:
    who = await caller(request)
    if not permissions.allowed("device.pairing_code", who.roles):
        raise Forbidden("your role may not pair devices")
    data = parse(PairingRequest, await json_body(request))
    settings = request.app["settings"]
    async with request.app["db"].write() as db:
        if await db.get(User, data.user_id) is None:
            raise NotFound(f"account {data.user_id} does not exist")
        code, expires = await sessions.new_pairing_code(db, data.user_id, who.user_id, settings.pairing_minutes)
        await audit.append(db, audit.by(who, "device.pairing_code", f"user:{data.user_id}", {"expires_at": iso(expires)}))
    svg = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    return web.json_response({"code": code, "expires_at": iso(expires), "qr_svg": svg})


async def devices(request: web.Request) -> web.Response:
    who = await caller(request)
    if not permissions.allowed("device.pairing_code", who.roles):
        raise Forbidden("only the secretariat lists devices")
    async with request.app["db"].read() as db:
        rows = (await db.scalars(select(Device).order_by(Device.id))).all()
    return web.json_response({"devices": [sessions.device_dict(d) for d in rows]})


async def revoke_device(request: web.Request) -> web.Response:
    """A lost tablet: the device and every session it holds end at once."""
    who = await caller(request)
    if not permissions.allowed("device.pairing_code", who.roles):
        raise Forbidden("only the secretariat revokes devices")
    async with request.app["db"].write() as db:
        device, ended = await sessions.revoke_device(db, _path_ints(request)["device_id"])
        await audit.append(db, audit.by(who, "device.revoke", f"device:{device.id}",
                                        {"user_id": device.user_id, "ended_sessions": ended}))
    await request.app["session_ends"].ended_now(device.user_id, ended)
    return web.json_response({"device": sessions.device_dict(device)})


async def users(request: web.Request) -> web.Response:
    who = await caller(request)
    if not who.roles & {permissions.Role.ADMIN, permissions.Role.SECRETARIAT}:
        raise Forbidden("only the secretariat lists accounts")
    async with request.app["db"].read() as db:
        rows = (await db.scalars(select(User).order_by(User.username))).all()
    return web.json_response({"users": [sessions.user_dict(u) for u in rows]})


async def units(request: web.Request) -> web.Response:
    await caller(request)
    async with request.app["db"].read() as db:
        rows = (await db.scalars(select(Unit).order_by(Unit.id))).all()
    return web.json_response({"units": [views.unit_dict(u) for u in rows]})


async def meetings(request: web.Request) -> web.Response:
    who = await caller(request)
    async with request.app["db"].read() as db:
        rows = await access_rules.visible_meetings(db, who)
    return web.json_response({"meetings": [views.meeting_dict(m) for m in rows]})


async def meeting(request: web.Request) -> web.Response:
    who = await caller(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
        return web.json_response(await views.snapshot(db, access.meeting, access.me, access.sees_secretariat))


async def meeting_events(request: web.Request) -> web.Response:
    who = await caller(request)
    since = request.query.get("since")
    if since is not None and not (since.isascii() and since.isdigit() and int(since) < 2**31):
        raise Invalid("since must be a whole number")
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
        answer = await catch_up(
            db, who, access, int(since) if since is not None else None, request.app["settings"].resync_window
        )
    return web.json_response(answer)


async def import_meeting(request: web.Request) -> web.Response:
    """A meeting pack in YAML as the body; the meeting arrives as a draft."""
    from agendas import packs

    who = await caller(request)
    if not permissions.allowed("meeting.import", who.roles):
        raise Forbidden("your role may not import meetings")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > packs.MAX_BYTES:
            raise DomainError(f"a meeting pack is at most {packs.MAX_BYTES // 2**20} MB", code="too_large", status=413)
    # Parsing a large pack takes seconds: keep it off the event loop.
    pack = await asyncio.to_thread(packs.load, bytes(body))
    async with request.app["db"].write() as db:
        summary = await packs.import_pack(db, pack)
        # A pack may create accounts: who brought them in is on the record.
        await audit.append(db, audit.by(who, "meeting.import", f"meeting:{summary['meeting_id']}", {
            k: summary[k] for k in ("units", "accounts", "participants") if k in summary},
            meeting_id=summary["meeting_id"]))
    await request.app["fanout"].publish([], lists_changed=True)
    return web.json_response(summary)


async def export_meeting(request: web.Request) -> web.Response:
    from agendas import packs

    who = await caller(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
        if not access.roles & permissions.STAFF:
            raise Forbidden("only the meeting's staff exports it")
        text = await packs.export_pack(db, access.meeting.id)
    name = access.meeting.code or f"meeting-{access.meeting.id}"
    return web.Response(
        text=text,
        content_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'},
    )


async def poll_receipts(request: web.Request) -> web.Response:
    """A published secret poll's receipt list, sorted by code (docs/deliberation.md)."""
    from server.store import poll_views

    who = await caller(request)
    ids = _path_ints(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, ids["meeting_id"])
        return web.json_response(await poll_views.receipts(db, access.meeting, ids["poll_id"]))


def routes() -> list[Route]:
    fixed = [
        Route("POST", "/api/auth/login", login, "Sign in with a username and password", Login, public=True),
        Route("POST", "/api/auth/pair", pair, "Pair a device with a one-time code", Pair, public=True),
        Route("POST", "/api/auth/logout", logout, "End the calling session"),
        Route("POST", "/api/auth/logout-all", logout_all,
              "Sign out everywhere: end every session of the caller's account (optionally keeping this one)",
              LogoutAll),
        Route("GET", "/api/auth/me", me, "The signed-in account"),
        Route("POST", "/api/devices/pairing", pairing_code, "Make a one-time pairing code (and its QR code)",
              PairingRequest),
        Route("GET", "/api/devices", devices, "Paired devices (secretariat)"),
        Route("POST", "/api/devices/{device_id}/revoke", revoke_device, "Revoke a device and end its sessions"),
        Route("GET", "/api/users", users, "Accounts (secretariat)"),
        Route("POST", "/api/users/{user_id}/sessions/end", end_user_sessions,
              "End every session of an account, on every device (administrator)"),
        Route("GET", "/api/units", units, "The organisation tree, flat"),
        Route("GET", "/api/meetings", meetings, "Meetings the caller may see"),
        Route("GET", "/api/meetings/{meeting_id}", meeting, "A meeting's snapshot"),
        Route("GET", "/api/meetings/{meeting_id}/events", meeting_events, "Events after `since`, or a snapshot"),
        Route("POST", "/api/meetings/import", import_meeting, "Import a meeting pack (YAML body)"),
        Route("GET", "/api/meetings/{meeting_id}/export", export_meeting, "Export a meeting as a YAML pack"),
        Route("GET", "/api/meetings/{meeting_id}/polls/{poll_id}/receipts", poll_receipts,
              "Receipts of a published secret poll, sorted by code"),
        Route("POST", "/api/commands/{name}", generic_command, "Run any command by its wire name"),
    ]
    from server.api import documents
    from server.exports import http as exports  # deliberation: the summary table of comments

    fixed += documents.routes(Route)
    from server.api import records  # after the meeting: the minutes and the conclusion notice

    fixed += records.routes(Route)
    from server.api import audit as audit_api  # the audit log (SECURITY.md)

    fixed += audit_api.routes(Route)
    from server.api import programmes  # work programmes, the weekly schedule, calendar feeds

    fixed += programmes.routes(Route)
    from server.api import directives  # after the meeting: the follow-up of directives

    fixed += directives.routes(Route)
    from server.api import conference  # the online conference: its live board and link history

    fixed += conference.routes(Route)

    fixed += [
        Route("GET", f"/api/meetings/{{meeting_id}}/comments/summary.{kind}", exports.summary(kind),
              f"The summary table of comments as {kind.upper()} (staff); ?group=section|unit|delegate&round=<id>")
        for kind in ("docx", "xlsx")
    ]
    for spec in REGISTRY.values():
        if spec.route:
            method, path = spec.route
            fixed.append(Route(method, path, command_handler(spec), spec.summary, spec.schema))
    return fixed
