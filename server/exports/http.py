"""GET /api/meetings/{id}/comments/summary.docx|.xlsx?group=section|unit|delegate&round=<id> (staff)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from server.auth import access as access_rules
from server.domain import comments as rules
from server.domain.errors import Forbidden, Invalid, NotFound
from server.domain.permissions import STAFF
from server.exports import comments as export
from server.store.comment_views import authors, domain_comment, meeting_comments
from server.store.tables import CommentRound, Meeting

BUILDERS = {
    "docx": (export.summary_docx, export.DOCX_TYPE),
    "xlsx": (export.summary_xlsx, export.XLSX_TYPE),
}


def _query(request: web.Request) -> tuple[rules.GroupBy, int | None]:
    group = request.query.get("group", "section")
    if group not in {g.value for g in rules.GroupBy}:
        raise Invalid("group is one of section, unit, delegate",
                      details=[{"field": "group", "problem": "section, unit or delegate"}])
    round_id = request.query.get("round")
    if round_id is not None and not (round_id.isascii() and round_id.isdigit() and 0 < int(round_id) < 2**31):
        raise Invalid("round must be a round's id", details=[{"field": "round", "problem": "a whole number"}])
    return rules.GroupBy(group), int(round_id) if round_id is not None else None


async def summary_bytes(db, meeting: Meeting, kind: str, group: rules.GroupBy = rules.GroupBy.SECTION,
                        round_id: int | None = None) -> tuple[bytes, str]:
    """The summary table of the meeting's comments (or one round's) as `kind`, and its title.
    Also what `phonghop export comments` writes."""
    build, _ = BUILDERS[kind]
    title = meeting.title
    subtitle = ""
    if round_id is not None:
        rnd = await db.get(CommentRound, round_id)
        if rnd is None or rnd.meeting_id != meeting.id:
            raise NotFound(f"comment round {round_id} is not in this meeting")
        title, subtitle = rnd.title, meeting.title
    rows = await meeting_comments(db, meeting.id, round_id)
    who_wrote = await authors(db, rows)
    groups = rules.group_comments([domain_comment(c, who_wrote[c.id]) for c in rows], group)
    sections = export.table(groups, group)
    body = await asyncio.to_thread(build, sections, title=title, subtitle=subtitle, group_by=group)
    return body, title


def summary(kind: str):
    _, content_type = BUILDERS[kind]

    async def handle(request: web.Request) -> web.Response:
        from server.api.rest import _path_ints, caller

        who = await caller(request)
        group, round_id = _query(request)
        async with request.app["db"].read() as db:
            access = await access_rules.meeting_access(db, who, _path_ints(request)["meeting_id"])
            if not access.roles & STAFF:
                raise Forbidden("only the meeting's staff prints the summary table")
            body, title = await summary_bytes(db, access.meeting, kind, group, round_id)
        return web.Response(
            body=body,
            content_type=content_type,
            headers={
                "Content-Disposition": export.content_disposition(title, kind),
                "Cache-Control": "no-store",
            },
        )

    handle.__name__ = f"comments_summary_{kind}"
    return handle
