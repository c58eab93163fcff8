"""Documents as the wire shows them (docs/documents.md), and who may read them.

The rule is the domain's (`server.domain.documents.may_read`); here it is applied to
rows: the list a caller sees, the audiences of a document's events, the page list.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.sessions import Caller
from server.domain import documents as rules
from server.domain.errors import NotFound
from server.domain.permissions import SECRETARIAT_AUDIENCE
from server.domain.text import name_key
from server.domain.times import iso
from server.store.eventlog import Pending
from server.store.tables import (
    AgendaItem,
    Device,
    Document,
    DocumentHolder,
    DocumentPage,
    DocumentVersion,
    Meeting,
    Participant,
    PurgeReceipt,
    Recall,
    User,
    utcnow,
)


def page_url(version_id: int, sha256: str) -> str:
    return f"/api/pages/{version_id}/{sha256}.jpg"


def zoom_url(version_id: int, index: int) -> str:
    """A page's zoom image, made on its first request (server/api/pages.py); a version's
    page never changes, so this URL is as immutable as a hash URL."""
    return f"/api/pages/{version_id}/zoom/{index}.jpg"


def version_dict(v: DocumentVersion | None) -> dict | None:
    if v is None:
        return None
    return {
        "id": v.id,
        "number": v.number,
        "filename": v.filename,
        "kind": v.kind,
        "size": v.size,
        "sha256": v.sha256,
        "status": v.status,
        "pages_ready": v.pages_ready,
        "pages_total": v.pages_total,
        "error": {"code": v.error_code, "message": v.error_message} if v.error_code else None,
        "uploaded_at": iso(v.uploaded_at),
    }


def status(d: Document) -> str:
    if d.recalled_at is not None:
        return "recalled"
    return "published" if d.published_at is not None else "draft"


def document_dict(d: Document, versions: list[DocumentVersion], *, staff: bool) -> dict:
    """`versions`: the document's versions, any order. Readers get the current one only."""
    by_id = {v.id: v for v in versions}
    out = {
        "id": d.id,
        "meeting_id": d.meeting_id,
        "agenda_item_id": d.agenda_item_id,
        "title": d.title,
        "position": d.position,
        "access": d.access,
        "classification": d.classification,
        "readers": rules.Readers.from_dict(d.readers).as_dict(),
        "status": status(d),
        "published_at": iso(d.published_at),
        "recalled_at": iso(d.recalled_at),
        "version": version_dict(by_id.get(d.current_version_id)),
    }
    if staff:
        out["latest"] = version_dict(max(versions, key=lambda v: v.number)) if versions else None
    return out


def readable(d: Document, roles: frozenset[str], me: Participant | None) -> bool:
    return rules.may_read(
        access=d.access,
        readers=rules.Readers.from_dict(d.readers),
        published=d.published_at is not None,
        recalled=d.recalled_at is not None,
        roles=roles,
        participant_id=me.id if me else None,
        role=me.role if me else None,
    )


async def versions_of(db: AsyncSession, document_ids: list[int]) -> dict[int, list[DocumentVersion]]:
    out: dict[int, list[DocumentVersion]] = {i: [] for i in document_ids}
    if document_ids:
        rows = await db.scalars(select(DocumentVersion).where(DocumentVersion.document_id.in_(document_ids)))
        for v in rows.all():
            out[v.document_id].append(v)
    return out


async def visible(db: AsyncSession, meeting: Meeting, roles: frozenset[str], me: Participant | None) -> list[Document]:
    """The meeting's documents the caller may read, in agenda order, then by position."""
    docs = (
        await db.scalars(select(Document).where(Document.meeting_id == meeting.id, Document.removed_at.is_(None)))
    ).all()
    staff = bool(roles & rules.ALL_READERS)
    # Staff keep recalled documents in their list (the record); readers lose them.
    docs = [d for d in docs if readable(d, roles, me) or (staff and d.recalled_at is not None)]
    from server.store.views import agenda_items, agenda_list

    order = {item["id"]: n for n, item in enumerate(agenda_list(await agenda_items(db, meeting.id)))}
    return sorted(docs, key=lambda d: (order.get(d.agenda_item_id, -1), d.position, d.id))


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    roles = frozenset({*({me.role} if me else ()), *(("secretariat",) if staff else ())})
    docs = await visible(db, meeting, roles, me)
    versions = await versions_of(db, [d.id for d in docs])
    return {
        "documents": [document_dict(d, versions[d.id], staff=staff) for d in docs],
        "presenting": meeting.presenting,
    }


async def audiences(db: AsyncSession, d: Document) -> list[str]:
    """Where a document's events go: its readers' audiences, and always the secretariat
    (who reads everything). A draft reaches the secretariat only."""
    if d.published_at is None or d.recalled_at is not None:
        return ["secretariat"]
    readers = rules.Readers.from_dict(d.readers)
    if d.access == "open" or (d.access == "confidential" and not readers.anyone):
        return ["meeting"]
    people = (await db.scalars(select(Participant).where(Participant.meeting_id == d.meeting_id))).all()
    named = sorted(
        {
            p.user_id
            for p in people
            if p.user_id is not None
            and p.role not in SECRETARIAT_AUDIENCE  # they read it through the secretariat audience
            and rules.is_reader(d.access, readers, p.id, p.role)
        }
    )
    return ["secretariat", *(f"user:{uid}" for uid in named)]


async def load(db: AsyncSession, meeting_id: int, document_id: int) -> Document:
    d = await db.get(Document, document_id)
    if d is None or d.meeting_id != meeting_id or d.removed_at is not None:
        raise NotFound(f"document {document_id} does not exist in this meeting")
    return d


async def pages(db: AsyncSession, version_id: int) -> list[DocumentPage]:
    rows = await db.scalars(
        select(DocumentPage).where(DocumentPage.version_id == version_id).order_by(DocumentPage.index)
    )
    return list(rows.all())


def page_dict(p: DocumentPage) -> dict:
    return {
        "index": p.index,
        "tablet": page_url(p.version_id, p.tablet),
        "zoom": page_url(p.version_id, p.zoom) if p.zoom else zoom_url(p.version_id, p.index),
        "thumb": page_url(p.version_id, p.thumb),
    }


async def item_exists(db: AsyncSession, meeting_id: int, item_id: int) -> None:
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise NotFound(f"agenda item {item_id} does not exist in this meeting")


async def changed_events(db: AsyncSession, d: Document, *, revised: bool = False, hidden: bool = False) -> list[Pending]:
    """The events that tell every reader (and only readers) the document's new state.

    Readers get the reader's view first, the secretariat the staff view last, so a
    staff client that sees both ends with the staff view. `hidden` first tells the whole
    meeting to drop the document: some readers may have lost it.
    """
    versions = (await versions_of(db, [d.id]))[d.id]
    extra = {"revised": True} if revised else {}
    out = [Pending("document.hidden", {"document_id": d.id})] if hidden else []
    reader_view = {"document": document_dict(d, versions, staff=False), **extra}
    for audience in await audiences(db, d):
        if audience != "secretariat":
            out.append(Pending("document.changed", reader_view, audience))
    out.append(Pending("document.changed", {"document": document_dict(d, versions, staff=True), **extra}, "secretariat"))
    return out


def client_of(caller: Caller) -> str:
    """The tablet behind a call: its paired device, or else its browser session."""
    return f"device:{caller.device_id}" if caller.device_id else f"session:{caller.session_id}"


async def record_holder(db: AsyncSession, caller: Caller, document_ids: list[int]) -> None:
    """The caller's tablet now holds these documents: after a recall it owes a receipt."""
    client = client_of(caller)
    have = set(
        (
            await db.scalars(
                select(DocumentHolder.document_id).where(
                    DocumentHolder.client == client, DocumentHolder.document_id.in_(document_ids)
                )
            )
        ).all()
    )
    for document_id in sorted(set(document_ids) - have):
        db.add(DocumentHolder(document_id=document_id, client=client, user_id=caller.user_id, first_at=utcnow()))


async def holder_dict(db: AsyncSession, client: str, user_id: int, confirmed_at) -> dict:
    user = await db.get(User, user_id)
    device_name = ""
    if client.startswith("device:"):
        device = await db.get(Device, int(client.split(":", 1)[1]))
        device_name = device.name if device else ""
    return {"client": client, "user_id": user_id, "full_name": user.full_name if user else "",
            "device_name": device_name, "confirmed_at": iso(confirmed_at)}


async def recalls(db: AsyncSession, meeting_id: int) -> list[dict]:
    """Every recall of the meeting with every tablet that held one of its documents."""
    rows = (await db.scalars(select(Recall).where(Recall.meeting_id == meeting_id).order_by(Recall.id))).all()
    out = []
    for r in rows:
        holders = (
            await db.execute(
                select(DocumentHolder.client, DocumentHolder.user_id)
                .where(DocumentHolder.document_id.in_(r.document_ids), DocumentHolder.first_at <= r.at)
                .distinct()
            )
        ).all()
        receipts = {
            p.client: p for p in (await db.scalars(select(PurgeReceipt).where(PurgeReceipt.recall_id == r.id))).all()
        }
        clients = {client: user_id for client, user_id in holders}
        for client, p in receipts.items():  # a tablet may confirm before it was seen holding (an offline copy)
            clients.setdefault(client, p.user_id)
        listed = [
            await holder_dict(db, client, user_id, receipts[client].confirmed_at if client in receipts else None)
            for client, user_id in clients.items()
        ]
        listed.sort(key=lambda h: (h["confirmed_at"] is not None, name_key(h["full_name"]), h["client"]))
        out.append({"id": r.id, "at": iso(r.at), "by": r.by_user_id, "document_ids": list(r.document_ids),
                    "holders": listed})
    return out
