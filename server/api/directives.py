"""REST for directives (docs/directives.md): the lists and the dashboard, "my tasks", one
directive with its reports and history, evidence files (upload, download), the directives
offered for a meeting's agenda, and the follow-up table as XLSX. The changes themselves are
the `directive.*` commands of server/commands/directives.py.

What a caller sees is decided by server/domain/directives.py: the secretariat everything; a
meeting's secretary and chair that meeting's directives; anyone else the directives they, or
their unit (or a unit above theirs), answer for.
"""

from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from agendas.rendering import RenderError, sanitize_filename
from agendas.rendering import check as sniff_type
from agendas.storage import Files
from server.auth import access as access_rules
from server.auth.sessions import Caller
from server.domain import directives as rules
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.domain.text import fold, nfc
from server.exports import directives as export
from server.store import directive_views as views
from server.store.tables import (
    Directive,
    DirectiveAgendaLink,
    DirectiveEvidence,
    DocumentVersion,
    Meeting,
    Upload,
    utcnow,
)

MIME = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
OFFICE_MIME = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
_FLAGS = {"1": True, "true": True, "0": False, "false": False, "": False}


def _ids(request: web.Request) -> dict[str, int]:
    from server.api.rest import _path_ints

    return _path_ints(request)


async def _caller(request: web.Request) -> Caller:
    from server.api.rest import caller

    return await caller(request)


def today() -> date:
    return rules.today_in_vietnam(utcnow())


# --- query parameters ----------------------------------------------------------------------


def _int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**31):
        raise Invalid(f"{name} must be an id", details=[{"field": name, "problem": "a whole number"}])
    return int(value)


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "").lower()
    if value not in _FLAGS:
        raise Invalid(f"{name} is 1 or 0", details=[{"field": name, "problem": "1, 0, true or false"}])
    return _FLAGS[value]


def filters(request: web.Request) -> views.Filters:
    status = request.query.get("status") or None
    if status is not None and status != "open" and status not in {s.value for s in rules.Status}:
        raise Invalid("status is open, new, in_progress, reported, completed or cancelled",
                      details=[{"field": "status", "problem": "one of the statuses, or open"}])
    q = nfc(request.query.get("q", "")).strip()
    if len(q) > 200:
        raise Invalid("q is at most 200 characters", details=[{"field": "q", "problem": "at most 200 characters"}])
    return views.Filters(
        meeting_id=_int_param(request, "meeting_id"), unit_id=_int_param(request, "unit_id"), status=status,
        overdue=_flag(request, "overdue"), due_soon=_flag(request, "due_soon"),
        user_id=_int_param(request, "user_id"), q=fold(q),
    )


async def _found(db, who: Caller, chosen: views.Filters) -> tuple[list[views.Loaded], dict[int, str], date]:
    nodes = await views.unit_nodes(db)
    if chosen.unit_id is not None and chosen.unit_id not in nodes:
        raise NotFound(f"unit {chosen.unit_id} does not exist")
    day = today()
    loaded = await views.find(db, await views.viewer(db, who, nodes), chosen, nodes, day)
    return loaded, await views.unit_names(db, loaded), day


# --- lists, dashboard, my tasks ------------------------------------------------------------


async def directive_list(request: web.Request) -> web.Response:
    who = await _caller(request)
    chosen = filters(request)
    async with request.app["db"].read() as db:
        loaded, names, day = await _found(db, who, chosen)
    return web.json_response({"today": day.isoformat(),
                              "directives": [views.directive_dict(x, names, day) for x in loaded]})


async def dashboard(request: web.Request) -> web.Response:
    who = await _caller(request)
    chosen = filters(request)
    async with request.app["db"].read() as db:
        loaded, names, day = await _found(db, who, chosen)
    board = views.dashboard(loaded, names, day)
    board["overdue"] = [views.directive_dict(x, names, day) for x in loaded
                        if views.timeliness_of(x, day).overdue]
    return web.json_response(board)


async def mine(request: web.Request) -> web.Response:
    """The directives the caller answers for, in person or through their unit."""
    who = await _caller(request)
    chosen = filters(request)
    async with request.app["db"].read() as db:
        nodes = await views.unit_nodes(db)
        me = rules.Viewer(who.user_id, unit_line=views.unit_line(nodes, who.unit_id))
        day = today()
        loaded = [x for x in await views.find(db, me, chosen, nodes, day) if rules.answers_for(me, x.assignment)]
        names = await views.unit_names(db, loaded)
    return web.json_response({"today": day.isoformat(),
                              "directives": [views.directive_dict(x, names, day) for x in loaded]})


async def xlsx(request: web.Request) -> web.Response:
    who = await _caller(request)
    chosen = filters(request)
    async with request.app["db"].read() as db:
        loaded, names, day = await _found(db, who, chosen)
        subtitle = ""
        if chosen.meeting_id is not None:
            meeting = await db.get(Meeting, chosen.meeting_id)
            subtitle = meeting.title if meeting is not None else ""
    rows = [views.directive_dict(x, names, day) for x in loaded]
    body = await asyncio.to_thread(export.directives_xlsx, rows, views.dashboard(loaded, names, day),
                                   subtitle=subtitle)
    return web.Response(body=body, content_type=export.XLSX_TYPE,
                        headers={"Content-Disposition": export.content_disposition("xlsx"),
                                 "Cache-Control": "no-store"})


# --- one directive -------------------------------------------------------------------------


async def _visible(db, who: Caller, directive_id: int) -> tuple[views.Loaded, rules.Viewer]:
    """The directive, if the caller may see it; otherwise it does not exist for them."""
    row = await db.get(Directive, directive_id)
    if row is None:
        raise NotFound(f"directive {directive_id} does not exist")
    (loaded,) = await views.load(db, [row])
    me = await views.viewer(db, who)
    if not rules.may_see(me, row.meeting_id, loaded.assignment):
        raise NotFound(f"directive {directive_id} does not exist")
    return loaded, me


async def one(request: web.Request) -> web.Response:
    who = await _caller(request)
    directive_id = _ids(request)["directive_id"]
    async with request.app["db"].read() as db:
        loaded, me = await _visible(db, who, directive_id)
        names = await views.unit_names(db, [loaded])
        day = today()
        answer = {
            "directive": views.directive_dict(loaded, names, day),
            "reports": await views.reports(db, directive_id),
            "history": await views.history(db, directive_id),
            "pending_evidence": await views.pending_evidence(db, directive_id, who.user_id),
            "may": {
                "report": loaded.row.status in rules.OPEN and rules.may_report(me, loaded.row.meeting_id,
                                                                                loaded.assignment),
                "manage": rules.keeps(me, loaded.row.meeting_id),
            },
        }
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


# --- evidence ------------------------------------------------------------------------------


async def upload_evidence(request: web.Request) -> web.Response:
    """A file for a coming progress report: stored by its SHA-256, its type read from its bytes."""
    who = await _caller(request)
    ids = _ids(request)
    async with request.app["db"].read() as db:
        row = await db.get(Directive, ids["directive_id"])
        if row is None or row.meeting_id != ids["meeting_id"]:
            raise NotFound(f"directive {ids['directive_id']} is not a directive of this meeting")
        loaded, me = await _visible(db, who, row.id)
        if not rules.may_report(me, row.meeting_id, loaded.assignment):
            raise Forbidden("only the people and units responsible for this directive (or the secretariat) "
                            "attach evidence")
        if row.status not in rules.OPEN:
            raise DomainError(f"a directive that is {row.status} takes no more evidence (reopen it first)",
                              code="invalid_transition")
    filename = sanitize_filename(request.query.get("filename", ""), default="minh-chung")
    files: Files = request.app["files"]
    limit = request.app["settings"].max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise DomainError(f"a file is at most {limit // 2**20} MB", code="too_large", status=413)
    sha, size = await files.receive(request.content.iter_chunked(256 * 1024), limit)
    try:
        kind = await asyncio.to_thread(sniff_type, files.blob(sha), filename)
    except RenderError as e:
        await _forget_blob(request, sha)
        raise DomainError(e.message, code=e.code, status=415) from None
    if "." not in filename:  # a name without an extension gets the one its content has
        filename += {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}.get(kind, "")
    async with request.app["db"].write() as db:
        evidence = DirectiveEvidence(directive_id=row.id, sha256=sha, filename=filename, kind=kind, size=size,
                                     by_user_id=who.user_id, at=utcnow())
        db.add(evidence)
        await db.flush()
        answer = views.evidence_dict(evidence)
    return web.json_response({"evidence": answer}, status=201)


async def _forget_blob(request: web.Request, sha: str) -> None:
    """A refused file is deleted, unless the same bytes are stored for something else."""
    async with request.app["db"].read() as db:
        used = (await db.scalar(select(DirectiveEvidence.id).where(DirectiveEvidence.sha256 == sha).limit(1))
                or await db.scalar(select(Upload.id).where(Upload.sha256 == sha).limit(1))
                or await db.scalar(select(DocumentVersion.id).where(DocumentVersion.sha256 == sha).limit(1)))
    if used is None:
        request.app["files"].blob(sha).unlink(missing_ok=True)


async def download_evidence(request: web.Request) -> web.Response:
    who = await _caller(request)
    ids = _ids(request)
    async with request.app["db"].read() as db:
        loaded, me = await _visible(db, who, ids["directive_id"])
        evidence = await db.get(DirectiveEvidence, ids["evidence_id"])
        if evidence is None or evidence.directive_id != loaded.row.id:
            raise NotFound(f"evidence {ids['evidence_id']} is not attached to this directive")
        # An upload not yet attached to a report is its uploader's (and the secretariat's) only.
        if evidence.report_id is None and evidence.by_user_id != who.user_id and not rules.keeps(
                me, loaded.row.meeting_id):
            raise NotFound(f"evidence {ids['evidence_id']} is not attached to this directive")
    path = request.app["files"].blob(evidence.sha256)
    if not path.exists():
        raise DomainError("the stored file is missing from the data folder", code="internal", status=500)
    content_type = MIME.get(evidence.kind) or OFFICE_MIME.get(
        "." + evidence.filename.rsplit(".", 1)[-1].lower() if "." in evidence.filename else "",
        "application/octet-stream")
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "-" for ch in
                         fold(evidence.filename)) or "minh-chung"
    return web.FileResponse(path, headers={
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(evidence.filename)}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{evidence.sha256}"',
        "X-Content-SHA256": evidence.sha256,
        "Cache-Control": "private, no-cache",
    })


# --- the next meeting's agenda -------------------------------------------------------------


async def offered(request: web.Request) -> web.Response:
    """For the staff preparing a meeting: the open directives of the same body's earlier meetings
    not yet on this agenda (`offered`), and those already on it (`scheduled`)."""
    who = await _caller(request)
    meeting_id = _ids(request)["meeting_id"]
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, meeting_id)
        if not access.roles & permissions.STAFF:
            raise Forbidden("only the meeting's staff prepares its agenda")
        meeting = access.meeting
        earlier = select(Meeting.id).where(Meeting.unit_id == meeting.unit_id, Meeting.id != meeting.id)
        if meeting.starts_at is not None:
            earlier = earlier.where((Meeting.starts_at < meeting.starts_at) | Meeting.starts_at.is_(None))
        rows = (await db.scalars(select(Directive).where(
            Directive.meeting_id.in_(earlier), Directive.status.in_([s.value for s in rules.OPEN])))).all()
        linked_ids = set((await db.scalars(select(DirectiveAgendaLink.directive_id).where(
            DirectiveAgendaLink.meeting_id == meeting.id))).all())
        linked = (await db.scalars(select(Directive).where(Directive.id.in_(linked_ids)))).all() if linked_ids else []
        day = today()
        candidates = views.ordered(await views.load(db, [r for r in rows if r.id not in linked_ids]), day)
        scheduled = views.ordered(await views.load(db, list(linked)), day)
        names = await views.unit_names(db, candidates + scheduled)
    return web.json_response({
        "today": day.isoformat(),
        "title": rules.REVIEW_TITLE,
        "offered": [views.directive_dict(x, names, day) for x in candidates],
        "scheduled": [views.directive_dict(x, names, day) for x in scheduled],
    })


def routes(Route) -> list:
    # The fixed paths first: /api/directives/mine is not directive "mine".
    return [
        Route("GET", "/api/directives", directive_list,
              "Directives the caller may see, overdue first (?meeting_id, unit_id with its sub-units, status, "
              "overdue, due_soon, user_id, q)"),
        Route("GET", "/api/directives/dashboard", dashboard,
              "Counts by lead unit and by meeting (total, done, in progress, overdue, due soon), same filters"),
        Route("GET", "/api/directives/mine", mine, "The directives the caller answers for, in person or by unit"),
        Route("GET", "/api/directives.xlsx", xlsx, "The follow-up table as XLSX (list, by unit, by meeting)"),
        Route("GET", "/api/directives/{directive_id}", one, "One directive with its reports, evidence and history"),
        Route("GET", "/api/directives/{directive_id}/evidence/{evidence_id}", download_evidence,
              "An evidence file"),
        Route("POST", "/api/meetings/{meeting_id}/directives/{directive_id}/evidence", upload_evidence,
              "Upload an evidence file (the body; ?filename=) for a progress report"),
        Route("GET", "/api/meetings/{meeting_id}/offered-directives", offered,
              "Open directives of the same body's earlier meetings, offered for this agenda (staff)"),
    ]
