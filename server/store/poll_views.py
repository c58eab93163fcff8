"""Polls as the wire shows them (docs/deliberation.md), and rows <-> domain polls.

The rules live in `server.domain.polls`; this module only translates: a `polls` row
into a `polls.Poll` (voter ids become strings there), ballots into `polls.Ballot`,
and a poll into its wire shape for one reader (the result hidden until published
from whoever is not staff or the chair).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import polls as rules
from server.domain.quorum import parse_fraction
from server.domain.times import iso
from server.store.tables import Meeting, NamedBallot, Participant, PointCount, PollVoter, SecretBallot
from server.store.tables import Poll as PollRow


def domain_poll(row: PollRow) -> rules.Poll:
    majority = row.majority or {}
    return rules.Poll(
        id=str(row.id),
        kind=rules.PollKind(row.kind),
        title=row.title,
        options=tuple(rules.Option(o["id"], o["label"]) for o in row.options or []),
        secret=row.secret,
        min_selections=row.min_selections,
        max_selections=row.max_selections,
        seats=row.seats,
        majority=rules.Majority.parse(
            majority.get("base", "members"), majority.get("threshold", "1/2"), majority.get("strict", True)
        ),
        quorum=parse_fraction(row.quorum),
        quorum_of=rules.QuorumOf(row.quorum_of),
        may_change_vote=row.may_change_vote,
        duration=row.duration,
        state=rules.PollState(row.state),
        opened_at=row.opened_at,
        deadline=row.deadline,
        closed_at=row.closed_at,
        published_at=row.published_at,
        entitled=frozenset(str(i) for i in row.entitled or []),
        points_present=dict(row.points_present or {}),
        members=row.members,
    )


async def ballots_of(db: AsyncSession, row: PollRow) -> list[rules.Ballot]:
    """Every stored ballot of the poll, as the domain counts them."""
    pid = str(row.id)
    if row.secret:
        rows = (await db.scalars(select(SecretBallot).where(SecretBallot.poll_id == row.id))).all()
        return [rules.Ballot(pid, None, tuple(b.selections), rules.BallotStatus(b.status), b.receipt) for b in rows]
    rows = (await db.scalars(select(NamedBallot).where(NamedBallot.poll_id == row.id))).all()
    return [
        rules.Ballot(pid, str(b.participant_id), tuple(b.selections), rules.BallotStatus(b.status)) for b in rows
    ]


async def point_counts(db: AsyncSession, poll_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    out: dict[int, dict[str, dict[str, int]]] = {i: {} for i in poll_ids}
    if poll_ids:
        for pc in (await db.scalars(select(PointCount).where(PointCount.poll_id.in_(poll_ids)))).all():
            out[pc.poll_id][pc.point] = dict(pc.counts)
    return out


async def voted_counts(db: AsyncSession, poll_ids: list[int]) -> dict[int, int]:
    out = dict.fromkeys(poll_ids, 0)
    if poll_ids:
        rows = await db.execute(
            select(PollVoter.poll_id, func.count()).where(PollVoter.poll_id.in_(poll_ids)).group_by(PollVoter.poll_id)
        )
        out.update({pid: n for pid, n in rows.all()})
    return out


def poll_dict(row: PollRow, *, voted: int, hands: dict[str, dict[str, int]], show_result: bool) -> dict:
    options = row.options or [{"id": o, "label": o} for o in rules.MOTION_OPTIONS]
    points = dict(row.points_present or {})
    return {
        "id": row.id,
        "meeting_id": row.meeting_id,
        "agenda_item_id": row.agenda_item_id,
        "kind": row.kind,
        "title": row.title,
        "options": options,
        "secret": row.secret,
        "min_selections": row.min_selections,
        "max_selections": row.max_selections,
        "seats": row.seats,
        "majority": row.majority,
        "quorum": row.quorum,
        "quorum_of": row.quorum_of,
        "may_change_vote": row.may_change_vote,
        "duration": row.duration,
        "state": row.state,
        "opened_at": iso(row.opened_at),
        "deadline": iso(row.deadline),
        "closed_at": iso(row.closed_at),
        "published_at": iso(row.published_at),
        "members": row.members,
        "present": len(row.entitled or []) + sum(points.values()),
        "entitled_count": len(row.entitled or []),
        "voted_count": voted,
        "points_present": points,
        "point_counts": hands,
        "result": row.result if show_result or row.state == rules.PollState.PUBLISHED else None,
    }


async def wire(db: AsyncSession, row: PollRow, *, show_result: bool) -> dict:
    voted = (await voted_counts(db, [row.id]))[row.id]
    hands = (await point_counts(db, [row.id]))[row.id]
    return poll_dict(row, voted=voted, hands=hands, show_result=show_result)


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    query = select(PollRow).where(PollRow.meeting_id == meeting.id).order_by(PollRow.id)
    if not staff:
        query = query.where(PollRow.state != rules.PollState.DRAFT)
    rows = list((await db.scalars(query)).all())
    ids = [r.id for r in rows]
    voted = await voted_counts(db, ids)
    hands = await point_counts(db, ids)
    mine: list[int] = []
    if me is not None and ids:
        mine = list(
            (
                await db.scalars(
                    select(PollVoter.poll_id)
                    .where(PollVoter.participant_id == me.id, PollVoter.poll_id.in_(ids))
                    .order_by(PollVoter.poll_id)
                )
            ).all()
        )
    return {
        "polls": [poll_dict(r, voted=voted[r.id], hands=hands[r.id], show_result=staff) for r in rows],
        "my_votes": mine,
    }


async def receipts(db: AsyncSession, meeting: Meeting, poll_id: int) -> dict:
    """The published list of a secret poll: `publication_list` sorts it by receipt code."""
    from server.domain.errors import NotFound

    row = await db.get(PollRow, poll_id)
    if row is None or row.meeting_id != meeting.id or row.state == rules.PollState.DRAFT:
        raise NotFound(f"poll {poll_id} is not in this meeting")
    lines = rules.publication_list(domain_poll(row), await ballots_of(db, row))
    return {
        "receipts": [
            {"receipt": line.receipt, "selections": list(line.selections), "status": str(line.status)}
            for line in lines
        ]
    }
