"""REST for documents (docs/documents.md): uploads, pages, the offline manifest, search,
recall receipts and private notes. The changes themselves are `document.*` commands.

Page images, the hot path, have their own module: `server/api/pages.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agendas.rendering import RenderError, sanitize_filename
from agendas.rendering import check as sniff_type
from agendas.storage import Files
from server.api import pages
from server.api.errors import json_body
from server.auth import access as access_rules
from server.auth.sessions import Caller
from server.domain import documents as rules
from server.domain import permissions
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.domain.text import entered, fold, name_key, nfc
from server.domain.times import iso
from server.realtime.fanout import user_room
from server.store import document_views as views
from server.store.tables import (
    Document,
    DocumentPage,
    DocumentVersion,
    Note,
    Participant,
    Session,
    Upload,
    utcnow,
)

MAX_NOTE_BYTES = 64 * 1024
MAX_HITS = 50
IMMUTABLE = "private, max-age=31536000, immutable"


def _ids(request: web.Request) -> dict[str, int]:
    from server.api.rest import _path_ints

    return _path_ints(request)


async def _caller(request: web.Request) -> Caller:
    from server.api.rest import caller

    return await caller(request)


# --- uploads -------------------------------------------------------------------------

async def upload(request: web.Request) -> web.Response:
    who = await _caller(request)
    meeting_id = _ids(request)["meeting_id"]
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, meeting_id)
    if not permissions.allowed("document.add", access.roles):
        raise Forbidden("only the meeting's staff uploads documents")
    filename = sanitize_filename(request.query.get("filename", ""))
    files: Files = request.app["files"]
    settings = request.app["settings"]
    if request.content_length is not None and request.content_length > settings.max_upload_bytes:
        raise DomainError(f"a file is at most {settings.max_upload_bytes // 2**20} MB", code="too_large", status=413)
    sha, size = await files.receive(request.content.iter_chunked(256 * 1024), settings.max_upload_bytes)
    try:
        kind = await asyncio.to_thread(sniff_type, files.blob(sha), filename)
    except RenderError as e:
        await _forget_blob(request, sha)
        raise DomainError(e.message, code=e.code, status=415) from None
    if "." not in filename:  # the name came without an extension: give it the one its content has
        filename += {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png"}.get(kind, "")
    async with request.app["db"].write() as db:
        row = Upload(meeting_id=meeting_id, sha256=sha, filename=filename, kind=kind, size=size,
                     by_user_id=who.user_id, at=utcnow())
        db.add(row)
        await db.flush()
        answer = {"id": row.id, "sha256": sha, "size": size, "filename": filename, "kind": kind}
    return web.json_response({"upload": answer}, status=201)


async def _forget_blob(request: web.Request, sha: str) -> None:
    """A refused file is deleted, unless the same bytes were accepted before."""
    async with request.app["db"].read() as db:
        used = await db.scalar(select(Upload.id).where(Upload.sha256 == sha).limit(1))
    if used is None:
        request.app["files"].blob(sha).unlink(missing_ok=True)


# --- the page list, the manifest, search ---------------------------------------------

async def _readable_document(db, who: Caller, document_id: int):
    document = await db.get(Document, document_id)
    if document is None or document.removed_at is not None:
        raise NotFound(f"document {document_id} does not exist")
    access = await access_rules.meeting_access(db, who, document.meeting_id)
    if not views.readable(document, access.roles, access.me):
        raise NotFound(f"document {document_id} does not exist")
    return document, access


async def page_list(request: web.Request) -> web.Response:
    who = await _caller(request)
    document_id = _ids(request)["document_id"]
    wanted = request.query.get("version_id")
    async with request.app["db"].write() as db:
        document, access = await _readable_document(db, who, document_id)
        if document.recalled_at is not None:
            raise DomainError("the document was recalled", code="recalled", status=410)
        staff = bool(access.roles & rules.ALL_READERS)
        version_id = document.current_version_id
        if wanted is not None:
            if not (wanted.isascii() and wanted.isdigit()) or int(wanted) >= 2**31:
                raise Invalid("version_id must be a whole number")
            version_id = int(wanted)
            if not staff and version_id != document.current_version_id:
                raise NotFound("readers read the current version only")
        version = await db.get(DocumentVersion, version_id) if version_id else None
        if version_id is not None and (version is None or version.document_id != document.id):
            raise NotFound(f"version {version_id} is not a version of this document")
        pages = await views.pages(db, version.id) if version else []
        await views.record_holder(db, who, [document.id])
        answer = {
            "document_id": document.id,
            "version_id": version.id if version else None,
            "status": version.status if version else "rendering",
            "pages_ready": version.pages_ready if version else 0,
            "pages_total": version.pages_total if version else None,
            "pages": [views.page_dict(p) for p in pages],
        }
    return web.json_response(answer)


async def manifest(request: web.Request) -> web.Response:
    who = await _caller(request)
    settings = request.app["settings"]
    async with request.app["db"].write() as db:
        access = await access_rules.meeting_access(db, who, _ids(request)["meeting_id"])
        docs = await views.visible(db, access.meeting, access.roles, access.me)
        listed, recalled = [], []
        for d in docs:
            if d.recalled_at is not None:
                recalled.append(d.id)
                continue
            if d.current_version_id is None:
                continue
            version = await db.get(DocumentVersion, d.current_version_id)
            pages = await views.pages(db, version.id)
            listed.append({
                "id": d.id, "title": d.title, "version_id": version.id, "number": version.number,
                "classification": d.classification, "status": version.status, "pages_total": version.pages_total,
                "pages": [{k: v for k, v in views.page_dict(p).items() if k != "zoom"} for p in pages],
            })
        if not access.roles & rules.ALL_READERS:
            recalled = await _recalled_for_reader(db, access)
        await views.record_holder(db, who, [d["id"] for d in listed])
        session_ends = await db.scalar(select(Session.expires_at).where(Session.id == who.session_id))
    now = utcnow()
    # The offline copy lives no longer than the session that fetched it (SECURITY.md): a
    # session that ends, or a device revoked, takes the tablet's lease with it.
    lease = now + timedelta(hours=settings.offline_lease_hours)
    return web.json_response({
        "meeting_id": access.meeting.id,
        "generated_at": iso(now),
        "lease_until": iso(min(lease, session_ends) if session_ends else lease),
        "documents": listed,
        "recalled_document_ids": recalled,
    })


async def _recalled_for_reader(db, access) -> list[int]:
    """Recalled documents this reader could read: a tablet that missed the recall purges them."""
    rows = (await db.scalars(select(Document).where(
        Document.meeting_id == access.meeting.id, Document.recalled_at.is_not(None)))).all()
    me = access.me
    return [d.id for d in rows if me is not None and rules.is_reader(
        d.access, rules.Readers.from_dict(d.readers), me.id, me.role)]


async def search(request: web.Request) -> web.Response:
    who = await _caller(request)
    query = nfc(request.query.get("q", "")).strip()
    if not 1 <= len(query) <= 200:
        raise Invalid("q is 1 to 200 characters")
    folded = fold(query)
    if len(folded) < 2:
        raise Invalid("search for at least two letters")
    pattern = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _ids(request)["meeting_id"])
        docs = {d.id: d for d in await views.visible(db, access.meeting, access.roles, access.me)
                if d.recalled_at is None and d.current_version_id is not None}
        current = {d.current_version_id: d for d in docs.values()}
        rows = (await db.execute(
            select(DocumentPage.version_id, DocumentPage.index, DocumentPage.text)
            .where(DocumentPage.version_id.in_(list(current)), DocumentPage.folded.like(pattern, escape="\\"))
            .order_by(DocumentPage.version_id, DocumentPage.index)
            .limit(MAX_HITS)
        )).all() if current else []
    order = {d.id: n for n, d in enumerate(docs.values())}
    hits = [
        {"document_id": current[v].id, "title": current[v].title, "version_id": v, "page": index,
         "snippet": rules.snippet(text, folded) or ""}
        for v, index, text in rows
    ]
    hits.sort(key=lambda h: (order[h["document_id"]], h["page"]))
    return web.json_response({"query": query, "hits": hits})


async def reader_codes(request: web.Request) -> web.Response:
    """The code printed in each reader's watermark of a confidential document: from a
    photo of a leaked page, the staff find whose copy it was."""
    who = await _caller(request)
    async with request.app["db"].read() as db:
        document, access = await _readable_document(db, who, _ids(request)["document_id"])
        if not access.roles & permissions.STAFF:
            raise Forbidden("only the meeting's staff sees the reader codes")
        people = (await db.scalars(select(Participant).where(
            Participant.meeting_id == document.meeting_id, Participant.user_id.is_not(None)))).all()
    readers = rules.Readers.from_dict(document.readers)
    secret = request.app["files_secret"]
    codes = [
        {"user_id": p.user_id, "full_name": p.full_name, "role": p.role,
         "code": rules.reader_code(secret, p.user_id, document.id)}
        for p in sorted(people, key=lambda p: (name_key(p.full_name), p.id))
        if p.role in rules.ALL_READERS or rules.is_reader(document.access, readers, p.id, p.role)
    ]
    return web.json_response({"document_id": document.id, "confidential": document.access == "confidential",
                              "readers": codes})


async def recalls(request: web.Request) -> web.Response:
    who = await _caller(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _ids(request)["meeting_id"])
        if not access.roles & permissions.STAFF:
            raise Forbidden("only the meeting's staff sees the recall receipts")
        return web.json_response({"recalls": await views.recalls(db, access.meeting.id)})


# --- private notes -------------------------------------------------------------------

class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document_id: int = Field(strict=True, ge=1, lt=2**31)
    version_id: int = Field(strict=True, ge=1, lt=2**31)
    page: int = Field(strict=True, ge=0, le=100_000)
    kind: str
    data: dict


def note_dict(n: Note) -> dict:
    return {"id": n.id, "document_id": n.document_id, "version_id": n.version_id, "page": n.page,
            "kind": n.kind, "data": n.data, "updated_at": iso(n.updated_at)}


def _note_id(request: web.Request) -> str:
    note_id = request.match_info["note_id"]
    if not rules.NOTE_ID.fullmatch(note_id):
        raise Invalid("a note id is 8 to 64 characters of A-Z, a-z, 0-9, _ and -")
    return note_id


async def notes(request: web.Request) -> web.Response:
    who = await _caller(request)
    async with request.app["db"].read() as db:
        access = await access_rules.meeting_access(db, who, _ids(request)["meeting_id"])
        readable = {d.id for d in await views.visible(db, access.meeting, access.roles, access.me)}
        rows = (await db.scalars(select(Note).where(
            Note.user_id == who.user_id, Note.meeting_id == access.meeting.id).order_by(Note.updated_at))).all()
    # A recalled document's notes stay stored (they are the reader's) but are not shown.
    return web.json_response({"notes": [note_dict(n) for n in rows if n.document_id in readable]})


async def put_note(request: web.Request) -> web.Response:
    from server.api.rest import parse

    who = await _caller(request)
    note_id = _note_id(request)
    if request.content_length and request.content_length > MAX_NOTE_BYTES:
        raise DomainError("a note is at most 64 KB", code="too_large", status=413)
    body = await json_body(request)
    if len(json.dumps(body)) > MAX_NOTE_BYTES:
        raise DomainError("a note is at most 64 KB", code="too_large", status=413)
    data: NoteIn = parse(NoteIn, body)
    rules.check_note(data.kind, data.data)
    content = _nfc_tree(data.data)
    async with request.app["db"].write() as db:
        document, _ = await _readable_document(db, who, data.document_id)
        version = await db.get(DocumentVersion, data.version_id)
        if version is None or version.document_id != document.id:
            raise NotFound(f"version {data.version_id} is not a version of document {document.id}")
        if version.pages_total is not None and data.page >= version.pages_total:
            raise Invalid(f"the document has {version.pages_total} pages, numbered from 0")
        note = await db.get(Note, (who.user_id, note_id))
        if note is None:
            note = Note(user_id=who.user_id, id=note_id, meeting_id=document.meeting_id)
            db.add(note)
        note.document_id, note.version_id, note.page = document.id, version.id, data.page
        note.kind, note.data, note.updated_at = data.kind, content, utcnow()
        await db.flush()
        answer = note_dict(note)
    await request.app["sio"].emit("note", {"note": answer, "deleted": False}, room=user_room(who.user_id))
    return web.json_response({"note": answer})


async def delete_note(request: web.Request) -> web.Response:
    who = await _caller(request)
    note_id = _note_id(request)
    async with request.app["db"].write() as db:
        note = await db.get(Note, (who.user_id, note_id))
        if note is None:
            raise NotFound("you have no note with this id")
        answer = note_dict(note)
        await db.delete(note)
    await request.app["sio"].emit("note", {"note": answer, "deleted": True}, room=user_room(who.user_id))
    return web.json_response({"ok": True})


def _nfc_tree(value):
    if isinstance(value, str):
        try:
            return entered(value)
        except ValueError as e:
            raise Invalid(str(e)) from None
    if isinstance(value, list):
        return [_nfc_tree(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _nfc_tree(v) for k, v in value.items()}
    return value


def secret_key(files: Files) -> bytes:
    """The server's key for reader codes, made once and kept in the data folder."""
    path = files.blobs.parent / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def routes(Route) -> list:
    return [
        Route("POST", "/api/meetings/{meeting_id}/uploads", upload,
              "Upload a file (the body; ?filename=) for a document of the meeting (staff)"),
        Route("GET", "/api/documents/{document_id}/pages", page_list, "A document's pages (?version_id= for staff)"),
        Route("GET", "/api/pages/{version_id}/{name}", pages.page_image, "A page image (immutable; ETag, Range)"),
        Route("GET", "/api/pages/{version_id}/zoom/{name}", pages.zoom_image,
              "A page's zoom image, {index}.jpg, made on first request (immutable; ETag, Range)"),
        Route("GET", "/api/meetings/{meeting_id}/manifest", manifest, "Everything a tablet downloads to read offline"),
        Route("GET", "/api/meetings/{meeting_id}/search", search, "Search the text of the meeting's documents (?q=)"),
        Route("GET", "/api/documents/{document_id}/reader-codes", reader_codes,
              "Each reader's watermark code of a document (staff)"),
        Route("GET", "/api/meetings/{meeting_id}/recalls", recalls, "Recalls and each tablet's purge receipt (staff)"),
        Route("GET", "/api/meetings/{meeting_id}/notes", notes, "The caller's private notes in the meeting"),
        Route("PUT", "/api/notes/{note_id}", put_note, "Create or replace a private note", NoteIn),
        Route("DELETE", "/api/notes/{note_id}", delete_note, "Delete a private note"),
    ]

