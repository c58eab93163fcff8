"""The permission matrix of every route and every socket.io event (SECURITY.md).

Every (method, path) of the mounted route table must have an entry here, or be a
command's route (every command × every role is tried by tests/test_permissions.py, over
its own route, the generic route and socket.io): a route added without one fails
`test_every_route_and_event_has_an_entry`, naming it. Each entry says which accounts of
the world (tests/conftest.py) get a success, and what the others get: 403 `forbidden`
when they may know the thing exists, 404 `not_found` when they may not. Every route is
then tried by every caller: no token at all, and each account, from the outsider who
takes part in nothing to the administrator. socket.io events likewise.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import pytest
import socketio
import yaml

from server.commands.registry import REGISTRY
from server.domain import permissions
from server.store.tables import utcnow
from tests.conftest import TEST_PASSWORD, WORLD_ACCOUNTS, World, add_document, new_key
from tests.samples import make_pdf
from tests.test_packs_api import SAMPLE

ANONYMOUS = "anonymous"
EVERYONE = frozenset(WORLD_ACCOUNTS)
OFFICE = frozenset({"admin", "vanphong"})  # global roles: administrator, secretariat
STAFF = OFFICE | {"thuky"}  # and the meeting's secretary
READERS = EVERYONE - {"nguoingoai"}  # everyone in the (published) meeting, and the office
DRAFTERS = STAFF | {"chutri"}  # who reads drafts of the minutes (permissions.READ_DRAFT)
OPERATOR = frozenset({"kythuat"})  # the operator of the conference's (host) point
BOARD = DRAFTERS | OPERATOR  # the conference's live board: the secretariat's side, and a point's own operator
CALLERS = [ANONYMOUS, *reversed(list(WORLD_ACCOUNTS))]

Call = tuple[str, dict, str | None]  # (path with its query, request keyword arguments, token or None: the caller's)
Builder = Callable[["Stage", str], Awaitable[Call]]


@dataclass(frozen=True)
class Case:
    ok: frozenset[str]  # accounts that succeed
    others: int = 403  # what the other accounts get
    outsider: int | None = None  # what nguoingoai gets, when not `others` (404: the meeting is not theirs)
    build: Builder | None = None  # the request; default: the path with the stage's ids, no body
    public: bool = False  # no session needed: every caller, the anonymous one too, gets a success
    success: tuple[int, ...] = (200,)
    special: dict[str, int] = field(default_factory=dict)  # accounts whose refusal differs from `others`

    def expected(self, who: str) -> int | None:
        """None: a success; otherwise the status."""
        if self.public:
            return None
        if who == ANONYMOUS:
            return 401
        if who in self.ok:
            return None
        if who in self.special:
            return self.special[who]
        if who == "nguoingoai" and self.outsider is not None:
            return self.outsider
        return self.others


@dataclass
class Stage:
    """The world's meeting, published and in session, with a published secret poll, a
    rendered open document, a directive, evidence, a draft programme, a published schedule
    week and a calendar feed; ids for the paths."""

    world: World
    ids: dict[str, int | str] = field(default_factory=dict)
    serial: int = 0

    @property
    def live(self):
        return self.world.live

    def token(self, who: str) -> str | None:
        return None if who == ANONYMOUS else self.world.tokens[who]

    async def staff(self, name: str, who: str = "vanphong", **data) -> dict:
        status, body = await self.live.command(self.world.tokens[who], name, key=new_key(), **data)
        assert status == 200, (name, body)
        return body["result"]

    def path(self, template: str) -> str:
        return re.sub(r"{(\w+)}", lambda m: str(self.ids[m.group(1)]), template)

    def next(self) -> int:
        self.serial += 1
        return self.serial


async def stage(world: World) -> Stage:
    s = Stage(world)
    m = world.meeting_id
    s.ids.update(meeting_id=m)
    await s.staff("meeting.publish", meeting_id=m)
    await s.staff("meeting.start", "chutri", meeting_id=m)
    poll = (await s.staff("poll.create", meeting_id=m, kind="motion", title="Bỏ phiếu kín", secret=True))["poll_id"]
    for step in ("open", "close", "publish"):
        await s.staff(f"poll.{step}", meeting_id=m, poll_id=poll)
    document = await add_document(world, ["Tài liệu hội nghị", "Trang hai"], title="Tài liệu")
    await s.staff("document.publish", meeting_id=m)
    status, pages = await s.live.request("GET", f"/api/documents/{document['id']}/pages", token=world.tokens["vanphong"])
    assert status == 200, pages
    s.ids.update(poll_id=poll, document_id=document["id"], version_id=pages["version_id"],
                 name=pages["pages"][0]["tablet"].rsplit("/", 1)[1], zoom="0.jpg")
    directive = await s.staff("directive.create", meeting_id=m, title="Rà soát quy hoạch cán bộ",
                              responsible_user_ids=[world.users["daibieu01"]])
    s.ids["directive_id"] = directive["directive"]["id"]
    status, body = await s.live.request(
        "POST", f"/api/meetings/{m}/directives/{s.ids['directive_id']}/evidence?filename=bao-cao.pdf",
        token=world.tokens["vanphong"], data=make_pdf(["Báo cáo tiến độ"]))
    assert status == 201, body
    s.ids["evidence_id"] = body["evidence"]["id"]
    programme = await s.staff("programme.create", unit_id=world.unit_id, kind="annual", year=2027)
    s.ids["programme_id"] = programme["programme"]["id"] if "programme" in programme else programme["programme_id"]
    when = utcnow() + timedelta(days=1)
    await s.staff("schedule.entry_add", unit_id=world.unit_id, starts_at=when.isoformat(), content="Giao ban")
    year, week, _ = (when + timedelta(hours=7)).isocalendar()
    await s.staff("schedule.publish", unit_id=world.unit_id, year=year, week=week)
    s.ids.update(year=year, week=week)
    # An online conference hosted by the province: its operator (kythuat) runs the host point.
    await s.staff("conference.schedule", meeting_id=m, host_unit_id=world.unit_id)
    s.ids["unit_id"] = world.unit_id
    status, feed = await s.live.request("POST", "/api/me/calendar", token=world.tokens["daibieu01"])
    assert status == 200, feed
    s.ids["token"] = feed["path"].rsplit("/", 1)[1].removesuffix(".ics")
    return s


# --- request builders for routes that need a body, a query or something fresh -------------


def query(template: str, q: str) -> Builder:
    async def build(s: Stage, who: str) -> Call:
        return s.path(template) + q, {}, None

    return build


async def _login(s: Stage, who: str) -> Call:
    username = "daibieu01" if who == ANONYMOUS else who
    return "/api/auth/login", {"json": {"username": username, "password": TEST_PASSWORD}}, None


async def _pairing_code(s: Stage) -> str:
    status, body = await s.live.request("POST", "/api/devices/pairing", token=s.world.tokens["vanphong"],
                                        json={"user_id": s.world.users["daibieu02"]})
    assert status == 200, body
    return body["code"]


async def _pair(s: Stage, who: str) -> Call:
    return "/api/auth/pair", {"json": {"code": await _pairing_code(s), "device_name": f"Máy {s.next()}"}}, None


async def _logout(s: Stage, who: str) -> Call:
    """A session of this caller's own, made for the purpose: the one the matrix uses lives on."""
    if who == ANONYMOUS:
        return "/api/auth/logout", {}, None
    from server.auth.sessions import open_session
    from server.store.tables import User

    async with s.live.app["db"].write() as db:
        user = await db.get(User, s.world.users[who])
        token = (await open_session(db, user, hours=1))["token"]
    return "/api/auth/logout", {}, token


async def _revoke(s: Stage, who: str) -> Call:
    status, paired = await s.live.request("POST", "/api/auth/pair",
                                          json={"code": await _pairing_code(s), "device_name": f"Máy {s.next()}"})
    assert status == 200, paired
    return f"/api/devices/{paired['device']['id']}/revoke", {}, None


async def _end_sessions(s: Stage, who: str) -> Call:
    """A throwaway account with a session of its own: the world's accounts keep theirs."""
    from server.auth.sessions import open_session
    from server.store.tables import User

    async with s.live.app["db"].write() as db:
        user = User(username=f"matran{s.next():04d}", full_name="Tài khoản thử", password_hash="!", roles=[])
        db.add(user)
        await db.flush()
        await open_session(db, user, hours=1)
        return f"/api/users/{user.id}/sessions/end", {}, None


async def _pairing(s: Stage, who: str) -> Call:
    return "/api/devices/pairing", {"json": {"user_id": s.world.users["daibieu02"]}}, None


async def _import(s: Stage, who: str) -> Call:
    pack = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    pack["meeting"]["code"] = f"MATRIX-{s.next()}"
    body = yaml.safe_dump(pack, allow_unicode=True).encode()
    return "/api/meetings/import", {"data": body, "headers": {"Content-Type": "application/yaml"}}, None


async def _upload(s: Stage, who: str) -> Call:
    return (f"/api/meetings/{s.ids['meeting_id']}/uploads?filename=thu-{s.next()}.pdf",
            {"data": make_pdf([f"Tệp {s.serial}"])}, None)


async def _evidence(s: Stage, who: str) -> Call:
    return (s.path("/api/meetings/{meeting_id}/directives/{directive_id}/evidence") + f"?filename=mc-{s.next()}.pdf",
            {"data": make_pdf(["Minh chứng"])}, None)


def _note_body(s: Stage) -> dict:
    return {"document_id": s.ids["document_id"], "version_id": s.ids["version_id"], "page": 0, "kind": "text",
            "data": {"text": "Ghi chú", "x": 0.5, "y": 0.5}}


async def _put_note(s: Stage, who: str) -> Call:
    return f"/api/notes/note-{who}-{s.next():04d}", {"json": _note_body(s)}, None


async def _delete_note(s: Stage, who: str) -> Call:
    """The caller's own note, made first when the caller may make one."""
    note = f"note-{who}-{s.next():04d}"
    if who != ANONYMOUS:
        await s.live.request("PUT", f"/api/notes/{note}", token=s.world.tokens[who], json=_note_body(s))
    return f"/api/notes/{note}", {}, None


async def _heartbeat(s: Stage, who: str) -> Call:
    return "/media-nodes/heartbeat", {"json": {"node_id": "xa-1", "url": "http://127.0.0.1:9/"}}, None


# --- the matrix ---------------------------------------------------------------------------

PUBLIC = Case(EVERYONE, public=True)
MEETING = Case(READERS, outsider=404)  # what the meeting's people read
MEETING_STAFF = Case(STAFF, others=403, outsider=404)

ROUTES: dict[tuple[str, str], Case] = {
    # The pages, their files, health and the API's description: public.
    **{("GET", p): PUBLIC for p in ("/", "/console", "/projector", "/bridge", "/ops", "/healthz", "/metrics",
                                     "/api/openapi.json")},
    ("GET", "/static/{path}"): Case(EVERYONE, public=True, build=query("/static/app.css", "")),
    ("GET", "/vendor"): Case(EVERYONE, public=True, build=query("/vendor/preact/package.json", "")),
    # Signing in and out, devices.
    ("POST", "/api/auth/login"): Case(EVERYONE, public=True, build=_login),
    ("POST", "/api/auth/pair"): Case(EVERYONE, public=True, build=_pair),
    ("POST", "/api/auth/logout"): Case(EVERYONE, build=_logout),
    # Ends every session of the caller's account, the world's token too: run last (LAST).
    ("POST", "/api/auth/logout-all"): Case(EVERYONE),
    ("GET", "/api/auth/me"): Case(EVERYONE),
    ("POST", "/api/devices/pairing"): Case(OFFICE, build=_pairing),
    ("GET", "/api/devices"): Case(OFFICE),
    ("POST", "/api/devices/{device_id}/revoke"): Case(OFFICE, build=_revoke),
    ("GET", "/api/users"): Case(OFFICE),
    ("POST", "/api/users/{user_id}/sessions/end"): Case(frozenset({"admin"}), build=_end_sessions),
    ("GET", "/api/units"): Case(EVERYONE),
    ("GET", "/api/audit"): Case(frozenset({"admin"})),
    ("GET", "/api/audit/verify"): Case(frozenset({"admin"})),
    # Meetings.
    ("GET", "/api/meetings"): Case(EVERYONE),
    ("GET", "/api/meetings/{meeting_id}"): MEETING,
    ("GET", "/api/meetings/{meeting_id}/events"): Case(READERS, outsider=404, build=query(
        "/api/meetings/{meeting_id}/events", "?since=0")),
    ("POST", "/api/meetings/import"): Case(OFFICE, build=_import),
    ("GET", "/api/meetings/{meeting_id}/export"): MEETING_STAFF,
    ("GET", "/api/meetings/{meeting_id}/polls/{poll_id}/receipts"): MEETING,
    # Documents (docs/documents.md).
    ("POST", "/api/meetings/{meeting_id}/uploads"): Case(STAFF, outsider=404, build=_upload, success=(201,)),
    ("GET", "/api/documents/{document_id}/pages"): MEETING,
    ("GET", "/api/pages/{version_id}/{name}"): MEETING,
    ("GET", "/api/pages/{version_id}/zoom/{name}"): Case(READERS, outsider=404, build=query(
        "/api/pages/{version_id}/zoom/{zoom}", "")),
    ("GET", "/api/meetings/{meeting_id}/manifest"): MEETING,
    ("GET", "/api/meetings/{meeting_id}/search"): Case(READERS, outsider=404, build=query(
        "/api/meetings/{meeting_id}/search", "?q=tai%20lieu")),
    ("GET", "/api/documents/{document_id}/reader-codes"): MEETING_STAFF,
    ("GET", "/api/meetings/{meeting_id}/recalls"): MEETING_STAFF,
    ("GET", "/api/meetings/{meeting_id}/notes"): MEETING,
    ("PUT", "/api/notes/{note_id}"): Case(READERS, outsider=404, build=_put_note),
    ("DELETE", "/api/notes/{note_id}"): Case(READERS, outsider=404, build=_delete_note),
    # After the meeting (docs/records.md): drafts for the staff and the chair, finals for all its people.
    ("GET", "/api/meetings/{meeting_id}/minutes"): MEETING,
    ("GET", "/api/meetings/{meeting_id}/conclusion-notice"): MEETING,
    **{("GET", f"/api/meetings/{{meeting_id}}/{doc}.{ext}"): Case(DRAFTERS, others=404, success=(200, 503))
       for doc in ("minutes", "conclusion-notice") for ext in ("docx", "pdf")},
    ("GET", "/api/meetings/{meeting_id}/comments/summary.docx"): MEETING_STAFF,
    ("GET", "/api/meetings/{meeting_id}/comments/summary.xlsx"): MEETING_STAFF,
    # Directives (their lists are filtered to what each caller may see).
    **{("GET", p): Case(EVERYONE) for p in ("/api/directives", "/api/directives/dashboard", "/api/directives/mine",
                                            "/api/directives.xlsx")},
    # One directive: its keepers (the office, the meeting's secretary), its chair and whoever answers for it.
    ("GET", "/api/directives/{directive_id}"): Case(STAFF | {"chutri", "daibieu01"}, others=404),
    ("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/evidence"): Case(
        STAFF | {"daibieu01"}, others=404, build=_evidence, success=(201,), special={"chutri": 403}),
    # Evidence not yet in a report: its uploader (vanphong) and the keepers.
    ("GET", "/api/directives/{directive_id}/evidence/{evidence_id}"): Case(STAFF, others=404),
    ("GET", "/api/meetings/{meeting_id}/offered-directives"): MEETING_STAFF,
    # Programmes and the weekly schedule: the office writes and reads drafts; everyone reads what is published.
    ("GET", "/api/programmes"): Case(EVERYONE),
    ("GET", "/api/programmes/{programme_id}"): Case(OFFICE, others=404),  # a draft
    ("GET", "/api/programmes/{programme_id}/export.xlsx"): Case(OFFICE, others=404),
    ("GET", "/api/schedule/current"): Case(EVERYONE),
    ("GET", "/api/schedule/{year}/{week}"): Case(EVERYONE),
    ("GET", "/api/schedule/{year}/{week}/export.docx"): Case(EVERYONE),  # published
    ("GET", "/api/me/calendar"): Case(EVERYONE),
    ("POST", "/api/me/calendar"): Case(EVERYONE),
    ("DELETE", "/api/me/calendar"): Case(EVERYONE),
    # A calendar feed's secret URL is its key (for calendar apps): no session, the token decides.
    ("GET", "/api/calendar/{token}.ics"): Case(EVERYONE, public=True),
    # The online conference (docs/conference.md): the live board and a point's link history are for
    # those who see the secretariat's side (staff, chair) and for a point's own operator.
    ("GET", "/api/meetings/{meeting_id}/conference"): Case(BOARD, outsider=404),
    ("GET", "/api/meetings/{meeting_id}/conference/points/{unit_id}/links"): Case(BOARD, outsider=404),
    # The media nodes' registry (server/conference/nodes.py) takes the media secret, never a session:
    # no account's token opens it, the administrator's neither.
    ("GET", "/media-nodes"): Case(frozenset(), others=401),
    ("POST", "/media-nodes/heartbeat"): Case(frozenset(), others=401, build=_heartbeat),
}
# Tried last: they rotate and revoke the calendar feed the .ics route serves; logout-all ends the
# caller's sessions, the token every other route of the matrix uses.
LAST = [("POST", "/api/me/calendar"), ("DELETE", "/api/me/calendar"), ("POST", "/api/auth/logout-all")]

@dataclass(frozen=True)
class Event:
    """A socket.io event: who gets `ok: true`, what the others' ack says. An allowed caller
    may meet one of `refusals` (a rule of the domain: the point's media is not connected),
    never a permission refusal."""

    ok: frozenset[str]
    others: str = "forbidden"
    outsider: str = "not_found"
    data: dict = field(default_factory=dict)
    refusals: tuple[str, ...] = ()


# socket.io events (no token: no connection at all). `None`: tried elsewhere.
EVENTS: dict[str, Event | None] = {
    "join": Event(READERS, others="not_found"),
    "resync": Event(READERS, others="not_found", data={"since": 0}),
    "leave": Event(EVERYONE),
    "command": None,  # every command × every role: tests/test_permissions.py::test_matrix_over_socketio
    # The conference (server/conference/sockets.py): the live board, and a point operator's own media.
    "conference.watch": Event(BOARD),
    "point.link": Event(OPERATOR, data={"loss": 0.01}, refusals=("conflict",)),
    "media.offer": Event(OPERATOR, data={"role": "probe", "sdp": "v=0\r\n"},
                         refusals=("conflict", "invalid_transition", "unavailable", "invalid")),
    "media.verdict": Event(OPERATOR, refusals=("conflict", "invalid_transition", "unavailable", "not_found")),
    "media.close": Event(OPERATOR, refusals=("conflict", "unavailable")),
}
LIFECYCLE = {"connect", "disconnect"}  # not messages: connect is tried with every caller below


def table(app) -> list[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        if route.method in ("HEAD", "*"):
            continue
        out.add((route.method, path.replace("{path:.+}", "{path}")))
    return sorted(out)


COMMAND_ROUTES = {spec.route: name for name, spec in REGISTRY.items() if spec.route}


def test_every_route_and_event_has_an_entry(live):
    """A route or socket.io event added without a row in this matrix (or, for a command, in
    permissions.MATRIX and tests/test_permissions.py) fails here, by name."""
    missing = []
    for method, path in table(live.app):
        if path.startswith("/socket.io"):
            continue  # engine.io's transport: its events are below
        if (method, path) in ROUTES:
            continue
        if (method, path) in COMMAND_ROUTES or path == "/api/commands/{name}":
            name = COMMAND_ROUTES.get((method, path))
            if name is not None and name not in permissions.MATRIX:
                missing.append(f"{method} {path}: command {name} is not in server/domain/permissions.py MATRIX")
            continue
        missing.append(f"{method} {path}: no entry in tests/test_route_matrix.py ROUTES")
    events = set(live.app["sio"].handlers["/"])
    missing += [f"socket.io event {e!r}: no entry in tests/test_route_matrix.py EVENTS"
                for e in sorted(events - set(EVENTS) - LIFECYCLE)]
    assert missing == [], "\n".join(missing)
    stale = [f"{m} {p}" for m, p in ROUTES if (m, p) not in set(table(live.app))]
    assert stale == [], f"entries for routes that are not mounted: {stale}"


async def _call(s: Stage, method: str, template: str, case: Case, who: str) -> tuple[int, object]:
    if case.build is not None:
        path, kwargs, token = await case.build(s, who)
    else:
        path, kwargs, token = s.path(template), {}, None
    headers = dict(kwargs.pop("headers", {}))
    token = token or s.token(who)
    if token and not (case.public and template.startswith("/api/calendar")):
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.request(method, s.live.url + path, headers=headers,
                                                             **kwargs) as resp:
        body = await resp.read()
        is_json = resp.content_type == "application/json"
        return resp.status, (__import__("json").loads(body) if is_json and body else None)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_every_route_answers_every_caller_as_the_matrix_says(world):
    s = await stage(world)
    mounted = set(table(world.live.app))
    order = [k for k in ROUTES if k not in LAST and k in mounted] + [k for k in LAST if k in mounted]
    problems = []
    for method, template in order:
        case = ROUTES[(method, template)]
        for who in CALLERS:
            status, body = await _call(s, method, template, case, who)
            wanted = case.expected(who)
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            if wanted is None:
                if status not in case.success:
                    problems.append((method, template, who, "should succeed", status, body))
            elif status != wanted or code != {401: "unauthorized", 403: "forbidden", 404: "not_found"}[wanted]:
                problems.append((method, template, who, f"should be {wanted}", status, body))
    assert problems == [], "\n".join(map(str, problems))


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_every_socketio_event_answers_every_caller_as_the_matrix_says(world):
    s = await stage(world)
    problems = []
    # No token, no connection.
    anonymous = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect(world.live.url, transports=["websocket"], wait_timeout=10)
    for who in CALLERS[1:]:
        client = await world.live.socket(world.tokens[who])
        try:
            for name, event in EVENTS.items():
                if event is None:
                    continue
                ack = await client.call(name, {"meeting_id": s.ids["meeting_id"], **event.data}, timeout=15)
                code = None if ack.get("ok") else ack.get("error", {}).get("code")
                if who in event.ok:
                    if code is not None and code not in event.refusals:
                        problems.append((name, who, "should succeed", ack))
                else:
                    wanted = event.outsider if who == "nguoingoai" else event.others
                    if code != wanted:
                        problems.append((name, who, f"should be {wanted}", ack))
        finally:
            await client.disconnect()
    assert problems == [], "\n".join(map(str, problems))
