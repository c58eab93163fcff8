"""document.*: a meeting's documents from upload to recall (docs/documents.md).

Uploading is not a command (a file is not JSON): `POST .../uploads` stores the file and
answers an upload id, which `document.add` and `document.revise` turn into a document
or a new version. Rendering starts after the commit, in the render pool
(agendas/ingest.py), and reports its progress as events of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, select

from server.commands.registry import Context, Id, MeetingPayload, command
from server.domain import documents as rules
from server.domain.errors import DomainError, NotFound
from server.domain.meeting import Status
from server.domain.permissions import MEETING_ROLES
from server.domain.times import iso
from server.store import document_views as views
from server.store.tables import Document, DocumentVersion, Participant, PurgeReceipt, Recall, Upload, utcnow

Access = Literal["open", "restricted", "confidential"]


class ReadersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    participant_ids: list[Id] = Field(default_factory=list, max_length=5000)
    roles: list[Literal[tuple(sorted(str(r) for r in MEETING_ROLES))]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(MEETING_ROLES)
    )


class DocumentAdd(MeetingPayload):
    upload_id: Id
    agenda_item_id: Id | None = None
    title: str | None = Field(default=None, min_length=1, max_length=500)
    access: Access = "open"
    readers: ReadersIn = Field(default_factory=ReadersIn)
    classification: str = Field(default="", max_length=100)


class DocumentUpdate(MeetingPayload):
    document_id: Id
    title: str | None = Field(default=None, min_length=1, max_length=500)
    agenda_item_id: Id | None = None
    access: Access | None = None
    readers: ReadersIn | None = None
    classification: str | None = Field(default=None, max_length=100)


class DocumentMove(MeetingPayload):
    document_id: Id
    position: int = Field(strict=True, ge=0, le=100_000)


class DocumentRevise(MeetingPayload):
    document_id: Id
    upload_id: Id


class DocumentRef(MeetingPayload):
    document_id: Id


class DocumentMany(MeetingPayload):
    document_ids: list[Id] = Field(default_factory=list, max_length=1000)


class DocumentPresent(MeetingPayload):
    document_id: Id | None
    page: int = Field(default=0, strict=True, ge=0, le=100_000)


class PurgeConfirm(MeetingPayload):
    recall_id: Id


def _open_meeting(ctx: Context) -> None:
    if ctx.meeting.status == Status.CLOSED:
        raise DomainError("the meeting is closed: its documents can only be recalled", code="invalid_transition")


async def _upload(ctx: Context, upload_id: int) -> Upload:
    upload = await ctx.db.get(Upload, upload_id)
    if upload is None or upload.meeting_id != ctx.meeting.id:
        raise NotFound(f"upload {upload_id} does not exist in this meeting")
    return upload


async def _readers(ctx: Context, readers: ReadersIn) -> rules.Readers:
    ids = set(readers.participant_ids)
    if ids:
        found = set(
            (
                await ctx.db.scalars(
                    select(Participant.id).where(Participant.meeting_id == ctx.meeting.id, Participant.id.in_(ids))
                )
            ).all()
        )
        missing = sorted(ids - found)
        if missing:
            raise NotFound(f"participant(s) {', '.join(map(str, missing))} are not in this meeting")
    return rules.Readers(frozenset(ids), frozenset(readers.roles))


def _render_after_commit(ctx: Context, version: DocumentVersion) -> None:
    version_id = version.id
    ctx.after_commit.append(lambda: ctx.app["renderer"].submit(version_id))


def _new_version(ctx: Context, document: Document, upload: Upload, number: int) -> DocumentVersion:
    version = DocumentVersion(
        document_id=document.id, number=number, sha256=upload.sha256, filename=upload.filename, kind=upload.kind,
        size=upload.size, status="rendering", pages_ready=0, warnings=[], uploaded_by=ctx.caller.user_id,
        uploaded_at=utcnow(),
    )
    ctx.db.add(version)
    return version


def _touched(ctx: Context) -> None:
    """Page permissions are cached for a moment (api/pages.py); drop them now."""
    ctx.after_commit.append(lambda: ctx.app["pages"].clear())


@command("document.add", DocumentAdd, "Add an uploaded file to the meeting as a (draft) document",
         ("POST", "/api/meetings/{meeting_id}/documents"))
async def add(ctx: Context, data: DocumentAdd) -> dict:
    _open_meeting(ctx)
    upload = await _upload(ctx, data.upload_id)
    if data.agenda_item_id is not None:
        await views.item_exists(ctx.db, ctx.meeting.id, data.agenda_item_id)
    readers = await _readers(ctx, data.readers)
    classification = rules.check_access(data.access, readers, data.classification)
    position = await ctx.db.scalar(
        select(func.count()).select_from(Document).where(
            Document.meeting_id == ctx.meeting.id, _same_item(data.agenda_item_id)
        )
    )
    document = Document(
        meeting_id=ctx.meeting.id, agenda_item_id=data.agenda_item_id,
        title=data.title or Path(upload.filename).stem or upload.filename, position=position or 0,
        access=data.access, readers=readers.as_dict(), classification=classification, created_at=utcnow(),
    )
    ctx.db.add(document)
    await ctx.db.flush()
    version = _new_version(ctx, document, upload, 1)
    await ctx.db.flush()
    ctx.events += await views.changed_events(ctx.db, document)
    _render_after_commit(ctx, version)
    return {"document": views.document_dict(document, [version], staff=True)}


def _same_item(item_id: int | None):
    """The documents listed with `item_id` (None: the general papers), for positions."""
    item = Document.agenda_item_id.is_(None) if item_id is None else Document.agenda_item_id == item_id
    return and_(item, Document.removed_at.is_(None))


@command("document.update", DocumentUpdate, "Rename a document, move it to another item, or change who reads it",
         ("PATCH", "/api/meetings/{meeting_id}/documents/{document_id}"))
async def update(ctx: Context, data: DocumentUpdate) -> dict:
    document = await views.load(ctx.db, ctx.meeting.id, data.document_id)
    if document.recalled_at is not None:
        raise DomainError("the document was recalled", code="invalid_transition")
    fields = data.changes(keep={"meeting_id", "document_id"}, required={"title", "access", "readers"})
    if "agenda_item_id" in fields and fields["agenda_item_id"] is not None:
        await views.item_exists(ctx.db, ctx.meeting.id, fields["agenda_item_id"])
    access = fields.get("access", document.access)
    readers = await _readers(ctx, data.readers) if data.readers is not None else rules.Readers.from_dict(document.readers)
    wanted = (fields["classification"] or "") if "classification" in fields else document.classification
    classification = rules.check_access(access, readers, wanted)
    if (access, readers.as_dict(), classification) != (document.access, document.readers, document.classification):
        # Who may read it changed: a permission change, on the audit log.
        ctx.audit("document.access", f"document:{document.id}", {
            "access": access, "readers": readers.as_dict(), "classification": classification,
            "was": {"access": document.access, "readers": document.readers,
                    "classification": document.classification}})
    # Some readers may lose it: everyone drops it, then its readers are sent it again.
    readers_changed = document.published_at is not None and (
        access != document.access or readers.as_dict() != rules.Readers.from_dict(document.readers).as_dict()
    )
    if "title" in fields:
        document.title = fields["title"]
    if "agenda_item_id" in fields and fields["agenda_item_id"] != document.agenda_item_id:
        document.agenda_item_id = fields["agenda_item_id"]
        document.position = await ctx.db.scalar(
            select(func.count()).select_from(Document).where(
                Document.meeting_id == ctx.meeting.id, _same_item(document.agenda_item_id), Document.id != document.id
            )
        ) or 0
    document.access, document.readers, document.classification = access, readers.as_dict(), classification
    await ctx.db.flush()
    ctx.events += await views.changed_events(ctx.db, document, hidden=readers_changed)
    _touched(ctx)
    return {"document_id": document.id}


@command("document.move", DocumentMove, "Place a document among the documents of its agenda item",
         ("POST", "/api/meetings/{meeting_id}/documents/{document_id}/move"))
async def move(ctx: Context, data: DocumentMove) -> dict:
    document = await views.load(ctx.db, ctx.meeting.id, data.document_id)
    siblings = list(
        (
            await ctx.db.scalars(
                select(Document)
                .where(Document.meeting_id == ctx.meeting.id, _same_item(document.agenda_item_id))
                .order_by(Document.position, Document.id)
            )
        ).all()
    )
    siblings.remove(document)
    siblings.insert(min(data.position, len(siblings)), document)
    for n, d in enumerate(siblings):
        if d.position != n:
            d.position = n
            ctx.events += await views.changed_events(ctx.db, d)
    return {"document_id": document.id, "position": document.position}


@command("document.revise", DocumentRevise, "Add a new version of a document from an upload",
         ("POST", "/api/meetings/{meeting_id}/documents/{document_id}/versions"))
async def revise(ctx: Context, data: DocumentRevise) -> dict:
    _open_meeting(ctx)
    document = await views.load(ctx.db, ctx.meeting.id, data.document_id)
    if document.recalled_at is not None:
        raise DomainError("the document was recalled", code="invalid_transition")
    upload = await _upload(ctx, data.upload_id)
    number = (await ctx.db.scalar(
        select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)
    ) or 0) + 1
    version = _new_version(ctx, document, upload, number)
    await ctx.db.flush()
    ctx.events += await views.changed_events(ctx.db, document)
    _render_after_commit(ctx, version)
    return {"document_id": document.id, "version_id": version.id, "number": number}


@command("document.remove", DocumentRef, "Remove a draft document (a published one is recalled instead)",
         ("DELETE", "/api/meetings/{meeting_id}/documents/{document_id}"))
async def remove(ctx: Context, data: DocumentRef) -> dict:
    document = await views.load(ctx.db, ctx.meeting.id, data.document_id)
    if document.published_at is not None:
        raise DomainError("a published document is recalled, not removed: it stays in the record",
                          code="invalid_transition")
    # A draft was never read: it leaves the meeting's lists; its rows stay (a render may
    # still be writing pages) and its pages answer 404.
    document.removed_at = utcnow()
    ctx.emit("document.removed", {"document_id": document.id}, "secretariat")
    _touched(ctx)
    return {"document_id": document.id}


async def _chosen(ctx: Context, ids: list[int], state: str, *conditions) -> list[Document]:
    """The meeting's documents meeting `conditions`: those named, or all of them when none
    is; a named one that does not meet them is refused by its id."""
    query = select(Document).where(Document.meeting_id == ctx.meeting.id, Document.removed_at.is_(None), *conditions)
    if ids:
        query = query.where(Document.id.in_(ids))
    docs = list((await ctx.db.scalars(query.order_by(Document.id))).all())
    missing = sorted(set(ids) - {d.id for d in docs})
    if missing:
        raise NotFound(f"document(s) {', '.join(map(str, missing))} are not {state} in this meeting")
    return docs


@command("document.publish", DocumentMany, "Publish draft documents to their readers (all drafts when none named)",
         ("POST", "/api/meetings/{meeting_id}/documents/publish"))
async def publish(ctx: Context, data: DocumentMany) -> dict:
    _open_meeting(ctx)
    drafts = await _chosen(ctx, data.document_ids, "drafts", Document.published_at.is_(None),
                           Document.recalled_at.is_(None))
    now = utcnow()
    for d in drafts:
        d.published_at = now
        ctx.events += await views.changed_events(ctx.db, d)
    _touched(ctx)
    return {"document_ids": [d.id for d in drafts]}


@command("document.recall", DocumentMany, "Recall published documents from every tablet (all when none named)",
         ("POST", "/api/meetings/{meeting_id}/documents/recall"))
async def recall(ctx: Context, data: DocumentMany) -> dict:
    docs = await _chosen(ctx, data.document_ids, "published", Document.published_at.is_not(None),
                         Document.recalled_at.is_(None))
    if not docs:
        raise DomainError("there is no published document to recall", code="invalid_transition")
    now = utcnow()
    ids = [d.id for d in docs]
    for d in docs:
        d.recalled_at = now
    row = Recall(meeting_id=ctx.meeting.id, document_ids=ids, by_user_id=ctx.caller.user_id, at=now)
    ctx.db.add(row)
    await ctx.db.flush()
    ctx.emit("document.recalled", {"recall_id": row.id, "document_ids": ids})
    ctx.audit("document.recall", f"recall:{row.id}", {"document_ids": ids})
    for d in docs:
        ctx.events += await views.changed_events(ctx.db, d)
    if ctx.meeting.presenting and ctx.meeting.presenting.get("document_id") in ids:
        ctx.meeting.presenting = None
        ctx.emit("document.presented", {"document_id": None, "version_id": None, "page": None})
    _touched(ctx)
    return {"recall_id": row.id, "document_ids": ids}


@command("document.present", DocumentPresent, "Show a document's page on the projector (null: stop)",
         ("POST", "/api/meetings/{meeting_id}/present"))
async def present(ctx: Context, data: DocumentPresent) -> dict:
    if data.document_id is None:
        ctx.meeting.presenting = None
        ctx.emit("document.presented", {"document_id": None, "version_id": None, "page": None})
        return {"presenting": None}
    document = await views.load(ctx.db, ctx.meeting.id, data.document_id)
    if document.published_at is None or document.recalled_at is not None:
        raise DomainError("only a published document can be shown to the hall", code="invalid_transition")
    version = await ctx.db.get(DocumentVersion, document.current_version_id) if document.current_version_id else None
    if version is None:
        raise DomainError("the document has no page ready yet", code="invalid_transition")
    if version.pages_total is not None and data.page >= version.pages_total:
        raise NotFound(f"the document has {version.pages_total} pages (numbered from 0)")
    ctx.meeting.presenting = {"document_id": document.id, "version_id": version.id, "page": data.page}
    ctx.emit("document.presented", dict(ctx.meeting.presenting))
    return {"presenting": ctx.meeting.presenting}


@command("document.purge_confirm", PurgeConfirm, "A tablet confirms it deleted its copy of recalled documents",
         ("POST", "/api/meetings/{meeting_id}/recalls/{recall_id}/receipts"))
async def purge_confirm(ctx: Context, data: PurgeConfirm) -> dict:
    row = await ctx.db.get(Recall, data.recall_id)
    if row is None or row.meeting_id != ctx.meeting.id:
        raise NotFound(f"recall {data.recall_id} does not exist in this meeting")
    client = views.client_of(ctx.caller)
    receipt = await ctx.db.get(PurgeReceipt, (row.id, client))
    if receipt is None:
        receipt = PurgeReceipt(recall_id=row.id, client=client, user_id=ctx.caller.user_id, confirmed_at=utcnow())
        ctx.db.add(receipt)
        await ctx.db.flush()
        holder = await views.holder_dict(ctx.db, client, ctx.caller.user_id, receipt.confirmed_at)
        ctx.emit("document.purge_confirmed", {"recall_id": row.id, "holder": holder}, "secretariat")
    return {"recall_id": row.id, "client": client, "confirmed_at": iso(receipt.confirmed_at)}
