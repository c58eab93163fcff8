"""After the meeting (docs/records.md): the chair's conclusions, the minutes (biên bản) and
the conclusion notice (thông báo kết luận).

`conclusion.set` records the chair's conclusion on an agenda item. `minutes.draft` and
`conclusion_notice.draft` build a document from the session's record (remade from it
when a draft exists, keeping what the secretary typed); `.update` edits it;
`minutes.finalise` and `conclusion_notice.issue` freeze it: the DOCX and the PDF are made
before the transaction (LibreOffice is slow; see `Spec.prepare`), stored by SHA-256 and,
when a certificate is configured, the PDF is signed (PAdES).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date as Date

from pydantic import Field

from agendas.storage import Files
from server.commands.registry import Context, Id, MeetingPayload, Moment, Payload, command
from server.domain import records as rules
from server.domain.errors import DomainError, NotFound
from server.domain.meeting import Status
from server.domain.times import iso
from server.exports import pdf as pdfs
from server.exports import records as export
from server.store.record_views import conclusion_dict, read_record, record_dict, record_meta, record_row
from server.store.tables import AgendaItem, Conclusion, MeetingRecord, utcnow

# The chair concludes in the session; the secretary may type a conclusion in afterwards.
CONCLUDING = frozenset({Status.IN_SESSION, Status.ADJOURNED, Status.CLOSED})
# The minutes are drafted during the session and read out before it ends, or after.
RECORDING = frozenset({Status.IN_SESSION, Status.ADJOURNED, Status.CLOSED})


def _status(ctx: Context, allowed: frozenset[Status], what: str) -> None:
    if ctx.meeting.status not in allowed:
        raise DomainError(f"{what} is not possible while the meeting is {ctx.meeting.status}",
                          code="invalid_transition")


# --- the chair's conclusions --------------------------------------------------------


class ConclusionSet(MeetingPayload):
    item_id: Id
    text: str = Field(max_length=5000)


@command("conclusion.set", ConclusionSet, "Write the chair's conclusion on an agenda item (empty text: none)",
         ("POST", "/api/meetings/{meeting_id}/agenda/{item_id}/conclusion"))
async def set_conclusion(ctx: Context, data: ConclusionSet) -> dict:
    _status(ctx, CONCLUDING, "writing a conclusion")
    item = await ctx.db.get(AgendaItem, data.item_id)
    if item is None or item.meeting_id != ctx.meeting.id:
        raise NotFound(f"agenda item {data.item_id} is not on this meeting's agenda")
    row = await ctx.db.get(Conclusion, data.item_id)
    if row is None:
        row = Conclusion(agenda_item_id=item.id, meeting_id=ctx.meeting.id)
        ctx.db.add(row)
    row.text, row.by_user_id, row.at = data.text, ctx.caller.user_id or None, utcnow()
    await ctx.db.flush()
    conclusion = conclusion_dict(row)
    ctx.emit("conclusion.updated", {"conclusion": conclusion})
    return {"conclusion": conclusion}


# --- drafts -------------------------------------------------------------------------


class RecordFinal(MeetingPayload):
    # The revision the secretary read: finalising something else is refused (conflict).
    revision: int | None = Field(default=None, strict=True, ge=1, le=2**31 - 1)


class RecordPerson(Payload):
    name: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=300)


class SpeechSummaryEdit(Payload):
    request_id: Id
    summary: str = Field(max_length=5000)


class MinutesItemEdit(Payload):
    item_id: Id | None = None  # None: the section of remarks on no item
    notes: str | None = Field(default=None, max_length=5000)
    conclusion: str | None = Field(default=None, max_length=5000)
    speeches: list[SpeechSummaryEdit] | None = Field(default=None, max_length=1000)


class MinutesUpdate(RecordFinal):
    issuer: str | None = Field(default=None, max_length=500)
    number: str | None = Field(default=None, max_length=20)
    symbol: str | None = Field(default=None, max_length=40)
    place_name: str | None = Field(default=None, max_length=100)
    date: Date | None = None
    title: str | None = Field(default=None, max_length=500)
    started_at: Moment | None = None
    ended_at: Moment | None = None
    place: str | None = Field(default=None, max_length=300)
    chair: RecordPerson | None = None
    minute_taker: RecordPerson | None = None
    opening: str | None = Field(default=None, max_length=5000)
    closing: str | None = Field(default=None, max_length=5000)
    items: list[MinutesItemEdit] | None = Field(default=None, max_length=1000)


class NoticeSection(Payload):
    item_id: Id | None = None
    title: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=5000)


class NoticeUpdate(RecordFinal):
    issuer: str | None = Field(default=None, max_length=500)
    number: str | None = Field(default=None, max_length=20)
    symbol: str | None = Field(default=None, max_length=40)
    place_name: str | None = Field(default=None, max_length=100)
    date: Date | None = None
    subject: str | None = Field(default=None, max_length=1000)
    intro: str | None = Field(default=None, max_length=5000)
    sections: list[NoticeSection] | None = Field(default=None, max_length=200)
    closing: str | None = Field(default=None, max_length=5000)
    authority: str | None = Field(default=None, max_length=200)
    signer_title: str | None = Field(default=None, max_length=200)
    signer_name: str | None = Field(default=None, max_length=200)
    recipients: list[str] | None = Field(default=None, max_length=50)


# May be left out, never null: null would erase what the document must have.
_NOT_NULL = {"issuer", "number", "symbol", "place_name", "title", "place", "chair", "minute_taker", "opening",
             "closing", "items", "subject", "intro", "sections", "authority", "signer_title", "signer_name",
             "recipients"}


def _emit(ctx: Context, row: MeetingRecord) -> None:
    # Drafts are the secretariat's (and the chair's); the final is the meeting's.
    audience = "meeting" if row.state == rules.FINAL else "secretariat"
    ctx.emit("record.updated", {"record": record_meta(row)}, audience=audience)


async def _row(ctx: Context, kind: str) -> MeetingRecord:
    row = await record_row(ctx.db, ctx.meeting.id, kind)
    if row is None:
        raise NotFound(f"this meeting has no {'minutes' if kind == rules.MINUTES else 'conclusion notice'} yet: "
                       f"make the draft first ({kind}.draft)")
    return row


def _revision(row: MeetingRecord, revision: int | None) -> None:
    if revision is not None and revision != row.revision:
        raise DomainError(f"the document changed meanwhile (revision {row.revision}, not {revision}): "
                          "read it again", code="conflict", details={"revision": row.revision})


async def _draft(ctx: Context, kind: str) -> dict:
    _status(ctx, RECORDING, "drafting the record")
    row = await record_row(ctx.db, ctx.meeting.id, kind)
    if row is not None:
        rules.frozen(row.state, kind)
    content = rules.draft(kind, await read_record(ctx.db, ctx.meeting), row.content if row else None)
    now = utcnow()
    if row is None:
        row = MeetingRecord(meeting_id=ctx.meeting.id, kind=kind, state=rules.DRAFT, revision=1, content=content,
                            updated_at=now, updated_by=ctx.caller.user_id or None)
        ctx.db.add(row)
    else:
        row.content, row.revision, row.updated_at, row.updated_by = content, row.revision + 1, now, \
            ctx.caller.user_id or None
    await ctx.db.flush()
    _emit(ctx, row)
    return {"record": record_dict(row)}


async def _update(ctx: Context, kind: str, data: RecordFinal) -> dict:
    _status(ctx, RECORDING, "editing the record")
    row = await _row(ctx, kind)
    rules.frozen(row.state, kind)
    _revision(row, data.revision)
    data.changes(keep={"meeting_id", "revision"}, required=_NOT_NULL)  # refuses nulls
    changes = data.model_dump(exclude_unset=True, exclude={"meeting_id", "revision"})
    for name in ("started_at", "ended_at"):
        if name in changes:
            changes[name] = iso(changes[name])
    if "date" in changes:
        changes["date"] = changes["date"].isoformat() if changes["date"] else None
    row.content = rules.apply(kind, row.content, changes)
    row.revision += 1
    row.updated_at, row.updated_by = utcnow(), ctx.caller.user_id or None
    await ctx.db.flush()
    _emit(ctx, row)
    return {"record": record_dict(row)}


# --- the final ----------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    revision: int
    docx_sha256: str
    docx_size: int
    pdf_sha256: str
    pdf_size: int
    signed_by: str | None


def files_of(ctx: Context) -> Files:
    app = ctx.app
    if app is not None and "files" in app:
        return app["files"]
    return Files(ctx.settings.data_dir)


def _final_prepare(kind: str):
    async def prepare(ctx: Context, data: RecordFinal):
        _status(ctx, RECORDING, "finalising the record")
        row = await _row(ctx, kind)
        rules.frozen(row.state, kind)
        _revision(row, data.revision)
        content, revision, settings, files = row.content, row.revision, ctx.settings, files_of(ctx)

        async def work() -> Made:
            docx = await asyncio.to_thread(export.docx, kind, content, draft=False)
            pdf = await pdfs.docx_to_pdf(docx)
            signed_by = None
            if settings.signing_cert is not None:
                pdf, signed_by = await pdfs.sign(pdf, settings.signing_cert, settings.signing_password,
                                                 reason=export.NAMES[kind], location=content.get("place_name", ""))
            return Made(revision, await files.put(docx), len(docx), await files.put(pdf), len(pdf), signed_by)

        return work

    return prepare


async def _finalise(ctx: Context, kind: str) -> dict:
    row = await _row(ctx, kind)
    rules.frozen(row.state, kind)
    made: Made = ctx.prepared
    if made is None or made.revision != row.revision:
        raise DomainError("the draft changed while its documents were being made: read it again and finalise",
                          code="conflict", details={"revision": row.revision})
    now = utcnow()
    row.state, row.final_at, row.final_by = rules.FINAL, now, ctx.caller.user_id or None
    row.docx_sha256, row.docx_size, row.pdf_sha256, row.pdf_size = (made.docx_sha256, made.docx_size,
                                                                     made.pdf_sha256, made.pdf_size)
    row.signed_by = made.signed_by
    row.revision += 1
    row.updated_at = now
    await ctx.db.flush()
    _emit(ctx, row)
    return {"record": record_dict(row)}


# --- the commands -------------------------------------------------------------------


@command("minutes.draft", MeetingPayload, "Draw the minutes from the session's record (again: typed fields kept)",
         ("POST", "/api/meetings/{meeting_id}/minutes/draft"))
async def minutes_draft(ctx: Context, data: MeetingPayload) -> dict:
    return await _draft(ctx, rules.MINUTES)


@command("minutes.update", MinutesUpdate, "Edit the draft minutes", ("PATCH", "/api/meetings/{meeting_id}/minutes"))
async def minutes_update(ctx: Context, data: MinutesUpdate) -> dict:
    return await _update(ctx, rules.MINUTES, data)


@command("minutes.finalise", RecordFinal, "Finalise the minutes: frozen, DOCX and PDF stored (and signed)",
         ("POST", "/api/meetings/{meeting_id}/minutes/finalise"), prepare=_final_prepare(rules.MINUTES))
async def minutes_finalise(ctx: Context, data: RecordFinal) -> dict:
    return await _finalise(ctx, rules.MINUTES)


@command("conclusion_notice.draft", MeetingPayload,
         "Draw the conclusion notice from the chair's conclusions (again: typed fields kept)",
         ("POST", "/api/meetings/{meeting_id}/conclusion-notice/draft"))
async def notice_draft(ctx: Context, data: MeetingPayload) -> dict:
    return await _draft(ctx, rules.NOTICE)


@command("conclusion_notice.update", NoticeUpdate, "Edit the draft conclusion notice",
         ("PATCH", "/api/meetings/{meeting_id}/conclusion-notice"))
async def notice_update(ctx: Context, data: NoticeUpdate) -> dict:
    return await _update(ctx, rules.NOTICE, data)


@command("conclusion_notice.issue", RecordFinal, "Issue the conclusion notice: frozen, DOCX and PDF stored (and signed)",
         ("POST", "/api/meetings/{meeting_id}/conclusion-notice/issue"), prepare=_final_prepare(rules.NOTICE))
async def notice_issue(ctx: Context, data: RecordFinal) -> dict:
    return await _finalise(ctx, rules.NOTICE)
