"""REST for the minutes and the conclusion notice (docs/records.md): the document as JSON,
and its DOCX and PDF. The changes themselves are the commands of server/commands/records.py.

A final document is served from the stored files (the bytes whose SHA-256 the record
holds); a draft is rendered on request from its content; before any draft, the staff get
a preview drawn from the session's record. The same functions serve `phonghop export`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from agendas.storage import Files
from server.auth import access as access_rules
from server.domain import permissions
from server.domain import records as rules
from server.domain.errors import DomainError, NotFound
from server.exports import pdf as pdfs
from server.exports import records as export
from server.store.record_views import read_record, record_dict, record_row, visible_record
from server.store.tables import Meeting

PATHS = {rules.MINUTES: "minutes", rules.NOTICE: "conclusion-notice"}
TYPES = {"docx": export.DOCX_TYPE, "pdf": export.PDF_TYPE}


@dataclass(frozen=True)
class Source:
    """What a document file is made from: the stored final, or content to render."""

    kind: str
    title: str  # the meeting's, for the file name
    sha256: dict[str, str] | None  # a final's files by extension
    content: dict | None
    draft: bool


async def source(db, meeting: Meeting, kind: str, *, staff: bool) -> Source:
    """The document of `kind` as this reader may have it: the final for anyone who reads the
    meeting; the draft, or a preview drawn from the record, for the staff and the chair."""
    row = await record_row(db, meeting.id, kind)
    if row is not None and row.state == rules.FINAL:
        return Source(kind, meeting.title, {"docx": row.docx_sha256, "pdf": row.pdf_sha256}, None, False)
    if not staff:
        what = "minutes are" if kind == rules.MINUTES else "conclusion notice is"
        raise NotFound(f"the {what} not final yet")
    content = row.content if row is not None else rules.draft(kind, await read_record(db, meeting))
    return Source(kind, meeting.title, None, content, True)


async def produce(src: Source, ext: str, files: Files) -> bytes:
    """The file's bytes; a draft's are made now (its PDF by LibreOffice)."""
    if src.sha256 is not None:
        path = files.blob(src.sha256[ext])
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise DomainError(f"the stored {ext.upper()} ({src.sha256[ext]}) is missing from the data folder",
                              code="internal", status=500) from None
    docx = await asyncio.to_thread(export.docx, src.kind, src.content, draft=src.draft)
    return docx if ext == "docx" else await pdfs.docx_to_pdf(docx)


def _staff(roles: frozenset[str]) -> bool:
    return bool(roles & permissions.READ_DRAFT)


def document(kind: str):
    async def handle(request: web.Request) -> web.Response:
        from server.api.rest import _path_ints, caller

        who = await caller(request)
        async with request.app["db"].read() as db:
            access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
            row = visible_record(await record_row(db, access.meeting.id, kind), _staff(access.roles))
        return web.json_response({"record": record_dict(row) if row is not None else None},
                                 headers={"Cache-Control": "no-store"})

    handle.__name__ = f"{kind}_document"
    return handle


def file(kind: str, ext: str):
    async def handle(request: web.Request) -> web.Response:
        from server.api.rest import _path_ints, caller

        who = await caller(request)
        async with request.app["db"].read() as db:
            access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
            src = await source(db, access.meeting, kind, staff=_staff(access.roles))
        body = await produce(src, ext, request.app["files"])
        headers = {"Content-Disposition": export.content_disposition(kind, src.title, ext), "Cache-Control": "no-store"}
        if src.sha256 is not None:
            headers["ETag"] = f'"{src.sha256[ext]}"'
            headers["X-Content-SHA256"] = src.sha256[ext]
        return web.Response(body=body, content_type=TYPES[ext], headers=headers)

    handle.__name__ = f"{kind}_{ext}"
    return handle


def routes(Route) -> list:
    out = []
    for kind, path in PATHS.items():
        name = "The minutes" if kind == rules.MINUTES else "The conclusion notice"
        out.append(Route("GET", f"/api/meetings/{{meeting_id}}/{path}", document(kind),
                         f"{name} as JSON: the draft (staff, chair) or the final (participants); null if none"))
        for ext in ("docx", "pdf"):
            out.append(Route("GET", f"/api/meetings/{{meeting_id}}/{path}.{ext}", file(kind, ext),
                             f"{name} as {ext.upper()}: the final's stored file, else the draft or a preview "
                             "(staff, chair)"))
    return out
