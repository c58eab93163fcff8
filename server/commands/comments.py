"""comment_round.*, comment.*: comments on drafts (góp ý) and their triage (tiếp thu, giải trình).

The rules are the domain's (server/domain/comments.py). Who may comment: a participant
of the meeting (not an observer), and, in a round addressed to units, any account of
those units or of the units below them (a round sent to a province reaches its communes).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select

from server.commands.registry import Context, Id, MeetingPayload, Moment, command
from server.domain import comments as rules
from server.domain import orgtree
from server.domain.errors import DomainError, Forbidden, Invalid, NotFound
from server.domain.meeting import Status
from server.domain.permissions import READ_DRAFT, Role
from server.domain.text import entered
from server.store.comment_views import (
    authors,
    comment_dict,
    domain_anchor,
    domain_comment,
    domain_round,
    meeting_comments,
    round_dict,
)
from server.store.tables import (
    AgendaItem,
    Comment,
    CommentRound,
    Document,
    DocumentVersion,
    Unit,
    User,
    utcnow,
)

# A field for each of the domain's reasons, so that a refusal points at what to fix.
FIELDS = {
    "bad_region": "anchor.region",
    "bad_page": "anchor.page",
    "empty_quote": "anchor.quote",
    "empty_comment": "text",
    "explanation_required": "explanation",
}


def _invalid(exc: rules.CommentInvalid) -> Invalid:
    return Invalid(exc.message, details=[{"field": FIELDS.get(exc.reason, exc.reason), "problem": exc.reason}])


class _Part(BaseModel):
    """Parts of an anchor: the payload's rules, with the tag `kind` left alone for the union."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=5000)

    @field_validator("quote", mode="after", check_fields=False)
    @classmethod
    def _nfc(cls, value):
        return entered(value) if isinstance(value, str) else value


class RegionIn(_Part):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _on_the_page(self):
        try:
            rules.Region(self.x, self.y, self.w, self.h)
        except rules.CommentInvalid:
            raise ValueError("the region must lie on the page: x + w and y + h at most 1") from None
        return self


class PageAnchorIn(_Part):
    kind: Literal["page"]
    document_id: Id  # a document of the meeting (checked by the handler)
    page: int = Field(strict=True, ge=1, le=100_000)
    region: RegionIn | None = None


class PassageAnchorIn(_Part):
    kind: Literal["passage"]
    quote: str = Field(min_length=1, max_length=5000)
    document_id: Id | None = None
    page: int | None = Field(default=None, strict=True, ge=1, le=100_000)


class ItemAnchorIn(_Part):
    kind: Literal["item"]
    agenda_item_id: Id


AnchorIn = Annotated[PageAnchorIn | PassageAnchorIn | ItemAnchorIn, Field(discriminator="kind")]


class RoundOpen(MeetingPayload):
    title: str = Field(min_length=1, max_length=500)
    document_id: Id | None = None  # the draft, a document of the meeting
    deadline: Moment | None = None
    units: list[Id] = Field(default_factory=list, max_length=5000)


class RoundRef(MeetingPayload):
    round_id: Id


class CommentAdd(MeetingPayload):
    round_id: Id | None = None
    anchor: AnchorIn
    section: str = Field(default="", max_length=300)
    text: str = Field(default="", max_length=5000)
    proposed_text: str = Field(default="", max_length=5000)
    visibility: Literal["secretariat", "all"] = "secretariat"


class CommentTriage(MeetingPayload):
    comment_id: Id
    decision: Literal["accepted", "explained", "noted"]
    explanation: str = Field(default="", max_length=5000)


def _emit_comment(ctx: Context, c: Comment, wire: dict) -> None:
    ctx.emit("comment.updated", {"comment": wire}, audience="secretariat")
    if c.visibility == rules.Visibility.ALL:
        ctx.emit("comment.updated", {"comment": wire}, audience="meeting")
    ctx.emit("comment.updated", {"comment": wire}, audience=f"user:{c.author_user_id}")


async def _round(ctx: Context, round_id: int) -> CommentRound:
    r = await ctx.db.get(CommentRound, round_id)
    if r is None or r.meeting_id != ctx.meeting.id:
        raise NotFound(f"comment round {round_id} is not in this meeting")
    return r


async def _reach(ctx: Context, unit_ids: list[int]) -> set[int]:
    """The addressed units and every unit below them."""
    rows = (await ctx.db.execute(select(Unit.id, Unit.parent_id))).all()
    nodes = {i: orgtree.Node(i, p) for i, p in rows}
    out: set[int] = set()
    for u in unit_ids:
        if u in nodes:
            out.add(u)
            out.update(orgtree.descendants(nodes, u))
    return out


async def _document(ctx: Context, document_id: int, field: str, page: int | None = None) -> None:
    """A comment points into a document of this meeting, at a page it has (1-based here)."""
    document = await ctx.db.get(Document, document_id)
    if document is None or document.meeting_id != ctx.meeting.id or document.removed_at is not None:
        raise Invalid("the document is not one of this meeting's documents",
                      details=[{"field": field, "problem": "not a document of this meeting"}])
    version = await ctx.db.get(DocumentVersion, document.current_version_id) if document.current_version_id else None
    if page is not None and version is not None and version.pages_total is not None and page > version.pages_total:
        raise Invalid(f"the document has {version.pages_total} pages",
                      details=[{"field": "anchor.page", "problem": f"at most {version.pages_total}"}])


@command("comment_round.open", RoundOpen, "Open a round of comments on a draft",
         ("POST", "/api/meetings/{meeting_id}/comment-rounds"))
async def open_round(ctx: Context, data: RoundOpen) -> dict:
    if ctx.meeting.status == Status.CLOSED:
        raise DomainError("the meeting is closed", code="invalid_transition")
    if data.deadline is not None and data.deadline <= utcnow():
        raise Invalid("the deadline has already passed",
                      details=[{"field": "deadline", "problem": "a time in the future"}])
    if data.document_id is not None:
        await _document(ctx, data.document_id, "document_id")
    units = list(dict.fromkeys(data.units))
    if units:
        known = set((await ctx.db.scalars(select(Unit.id).where(Unit.id.in_(units)))).all())
        missing = [u for u in units if u not in known]
        if missing:
            raise NotFound(f"unit {missing[0]} does not exist")
    r = CommentRound(
        meeting_id=ctx.meeting.id, title=data.title, document_id=data.document_id, deadline=data.deadline,
        units=units, state="open", created_at=utcnow(),
    )
    ctx.db.add(r)
    await ctx.db.flush()
    ctx.emit("comment_round.updated", {"round": round_dict(r)})
    return {"round": round_dict(r)}


@command("comment_round.close", RoundRef, "Close a round once every comment has its answer",
         ("POST", "/api/meetings/{meeting_id}/comment-rounds/{round_id}/close"))
async def close_round(ctx: Context, data: RoundRef) -> dict:
    r = await _round(ctx, data.round_id)
    rows = await meeting_comments(ctx.db, ctx.meeting.id, r.id)
    who = await authors(ctx.db, rows)
    rules.close_round(domain_round(r), [domain_comment(c, who[c.id]) for c in rows], utcnow())
    r.state = "closed"
    await ctx.db.flush()
    ctx.emit("comment_round.updated", {"round": round_dict(r)})
    return {"round": round_dict(r)}


@command("comment.add", CommentAdd, "Comment on a draft",
         ("POST", "/api/meetings/{meeting_id}/comments"))
async def add(ctx: Context, data: CommentAdd) -> dict:
    r = await _round(ctx, data.round_id) if data.round_id is not None else None
    user = await ctx.db.get(User, ctx.caller.user_id)
    me = ctx.me
    # A participant comments on what they can read: drafts are for the staff and the chair.
    as_participant = (
        me is not None and me.role != Role.OBSERVER
        and (ctx.meeting.status != Status.DRAFT or bool(ctx.roles & READ_DRAFT))
    )
    reach: set[int] = await _reach(ctx, list(r.units)) if r is not None and r.units else set()
    as_unit = user is not None and user.unit_id is not None and user.unit_id in reach
    if not (as_participant or as_unit):
        if r is not None and r.units:
            raise Forbidden("this round asks the participants and the accounts of its units only")
        raise Forbidden("only a participant of this meeting (not an observer) comments here")
    if r is None and ctx.meeting.status not in (Status.PUBLISHED, Status.IN_SESSION, Status.ADJOURNED):
        raise DomainError(f"comments outside a round are taken while the meeting runs, not {ctx.meeting.status}")

    anchor = data.anchor.model_dump()
    item_id = None
    section = data.section
    if anchor["kind"] == "item":
        item = await ctx.db.get(AgendaItem, anchor["agenda_item_id"])
        if item is None or item.meeting_id != ctx.meeting.id:
            raise Invalid("the anchor's agenda item is not on this meeting's agenda",
                          details=[{"field": "anchor.agenda_item_id", "problem": "not an item of this meeting"}])
        item_id = item.id
        section = section or item.title  # the summary table groups by the item's title
    elif r is not None and r.document_id is not None and anchor.get("document_id") is None:
        anchor["document_id"] = r.document_id
    if anchor.get("document_id") is not None:
        await _document(ctx, anchor["document_id"], "anchor.document_id", anchor.get("page"))
    if anchor["kind"] == "page" and anchor["region"] is None:
        anchor.pop("region")

    unit_id = (me.unit_id or user.unit_id) if as_participant else user.unit_id
    author = rules.Author(id=str(user.id), name=me.full_name if me else user.full_name,
                          unit_id=str(unit_id or ""), unit_name="")
    # As a participant the round's addressees do not matter; as an account of a unit the
    # domain checks the author's unit against the (widened) addressed units.
    rnd = domain_round(r, None if as_participant else frozenset(str(u) for u in reach))
    now = utcnow()
    try:
        draft = rules.Comment(
            id="new", round_id=rnd.id, author=author, anchor=domain_anchor(anchor, section), text=data.text,
            submitted_at=now, proposed_text=data.proposed_text or None, visibility=rules.Visibility(data.visibility),
        )
        accepted = rules.submit_comment(rnd, draft, now)
    except rules.CommentInvalid as exc:
        raise _invalid(exc) from None
    if isinstance(accepted.anchor, rules.PassageAnchor):
        anchor["quote"] = accepted.anchor.quote
    c = Comment(
        meeting_id=ctx.meeting.id, round_id=r.id if r else None, agenda_item_id=item_id, author_user_id=user.id,
        participant_id=me.id if me else None, unit_id=unit_id, anchor=anchor, section=section,
        text=accepted.text, proposed_text=accepted.proposed_text or "", visibility=str(accepted.visibility),
        created_at=now,
    )
    ctx.db.add(c)
    await ctx.db.flush()
    wire = comment_dict(c, (await authors(ctx.db, [c]))[c.id])
    _emit_comment(ctx, c, wire)
    return {"comment": wire}


@command("comment.triage", CommentTriage, "Answer a comment: accepted, explained or noted",
         ("POST", "/api/meetings/{meeting_id}/comments/{comment_id}/triage"))
async def triage(ctx: Context, data: CommentTriage) -> dict:
    c = await ctx.db.get(Comment, data.comment_id)
    if c is None or c.meeting_id != ctx.meeting.id:
        raise NotFound(f"comment {data.comment_id} is not in this meeting")
    r = await _round(ctx, c.round_id) if c.round_id is not None else None
    who = await authors(ctx.db, [c])
    now = utcnow()
    try:
        answered = rules.triage(domain_round(r), domain_comment(c, who[c.id]), rules.Decision(data.decision),
                                str(ctx.caller.user_id), now, data.explanation)
    except rules.CommentInvalid as exc:
        raise _invalid(exc) from None
    c.decision = str(answered.triage.decision)
    c.explanation = answered.triage.explanation
    c.triaged_by, c.triaged_at = ctx.caller.user_id, now
    await ctx.db.flush()
    wire = comment_dict(c, who[c.id])
    _emit_comment(ctx, c, wire)
    return {"comment": wire}

