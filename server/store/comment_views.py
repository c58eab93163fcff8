"""Comment rounds and comments as the wire shows them (docs/deliberation.md).

Rows are also read into the domain's objects (server/domain/comments.py) for its
rules: submitting, triage, closing a round and grouping the summary table.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import comments as rules
from server.domain.times import iso
from server.store.tables import Comment, CommentRound, Meeting, Participant, Unit, User, utcnow

NO_ROUND = "-"  # comments made in the hall outside any round: the domain still wants a round


def round_dict(r: CommentRound) -> dict:
    return {
        "id": r.id,
        "title": r.title,
        "document_id": r.document_id,
        "deadline": iso(r.deadline),
        "units": list(r.units or []),
        "state": r.state,
    }


def domain_round(r: CommentRound | None, units: frozenset[str] | None = None) -> rules.CommentRound:
    """The domain's round. `units` is the set of unit ids whose accounts may comment
    (already widened to sub-units), or None when the caller comments as a participant."""
    if r is None:
        return rules.CommentRound(id=NO_ROUND, title="")
    # The table keeps only the state; the domain needs only to know that it is closed.
    closed_at = utcnow() if r.state == "closed" else None
    return rules.CommentRound(id=str(r.id), title=r.title, deadline=r.deadline, units=units, closed_at=closed_at)


def domain_anchor(anchor: dict, section: str) -> rules.Anchor:
    section = section or None
    if anchor["kind"] == "page":
        region = anchor.get("region")
        return rules.PageAnchor(
            document_id=str(anchor["document_id"]), page=anchor["page"],
            region=rules.Region(**region) if region else None, section=section,
        )
    if anchor["kind"] == "passage":
        return rules.PassageAnchor(
            document_id=str(anchor.get("document_id") or ""), quote=anchor["quote"], page=anchor.get("page"),
            section=section,
        )
    return rules.ItemAnchor(item_id=str(anchor["agenda_item_id"]), section=section)


def domain_comment(c: Comment, author: rules.Author) -> rules.Comment:
    triage = None
    if c.decision:
        triage = rules.Triage(rules.Decision(c.decision), c.explanation, str(c.triaged_by or ""),
                              c.triaged_at or c.created_at)
    return rules.Comment(
        id=str(c.id),
        round_id=str(c.round_id) if c.round_id is not None else NO_ROUND,
        author=author,
        anchor=domain_anchor(c.anchor, c.section),
        text=c.text,
        submitted_at=c.created_at,
        proposed_text=c.proposed_text or None,
        visibility=rules.Visibility(c.visibility),
        triage=triage,
    )


async def authors(db: AsyncSession, rows: list[Comment]) -> dict[int, rules.Author]:
    """Each comment's author as the table prints them: the name on the list of delegates
    when they take part in the meeting, else the account's; and their unit's name."""
    users = {c.author_user_id for c in rows}
    people = {c.participant_id for c in rows if c.participant_id is not None}
    units = {c.unit_id for c in rows if c.unit_id is not None}
    user_names = dict((await db.execute(select(User.id, User.full_name).where(User.id.in_(users)))).all()) if users else {}
    names = dict((await db.execute(
        select(Participant.id, Participant.full_name).where(Participant.id.in_(people))
    )).all()) if people else {}
    unit_names = dict((await db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(units)))).all()) if units else {}
    out = {}
    for c in rows:
        name = names.get(c.participant_id) or user_names.get(c.author_user_id, "")
        out[c.id] = rules.Author(
            id=str(c.author_user_id), name=name, unit_id=str(c.unit_id or ""), unit_name=unit_names.get(c.unit_id, ""),
        )
    return out


def comment_dict(c: Comment, author: rules.Author) -> dict:
    return {
        "id": c.id,
        "round_id": c.round_id,
        "agenda_item_id": c.agenda_item_id,
        "author": {"user_id": c.author_user_id, "name": author.name, "unit_id": c.unit_id},
        "anchor": c.anchor,
        "section": c.section,
        "text": c.text,
        "proposed_text": c.proposed_text,
        "visibility": c.visibility,
        "decision": c.decision,
        "explanation": c.explanation,
        "created_at": iso(c.created_at),
    }


async def comment_list(db: AsyncSession, rows: list[Comment]) -> list[dict]:
    who = await authors(db, rows)
    return [comment_dict(c, who[c.id]) for c in rows]


async def rounds(db: AsyncSession, meeting_id: int) -> list[CommentRound]:
    rows = await db.scalars(select(CommentRound).where(CommentRound.meeting_id == meeting_id).order_by(CommentRound.id))
    return list(rows.all())


async def meeting_comments(db: AsyncSession, meeting_id: int, round_id: int | None = None) -> list[Comment]:
    query = select(Comment).where(Comment.meeting_id == meeting_id).order_by(Comment.id)
    if round_id is not None:
        query = query.where(Comment.round_id == round_id)
    return list((await db.scalars(query)).all())


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    query = select(Comment).where(Comment.meeting_id == meeting.id).order_by(Comment.id)
    if not staff:
        # rules.visible_to, in SQL: the author's own comments and those shown to all.
        mine = Comment.author_user_id == me.user_id if me is not None and me.user_id is not None else false()
        query = query.where(or_(mine, Comment.visibility == rules.Visibility.ALL.value))
    rows = list((await db.scalars(query)).all())
    return {
        "comment_rounds": [round_dict(r) for r in await rounds(db, meeting.id)],
        "comments": await comment_list(db, rows),
    }
