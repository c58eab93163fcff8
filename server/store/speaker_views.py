"""The list of speakers as the wire shows it (docs/deliberation.md).

The rows of `speaker_requests` are read into the domain's `SpeakerList`
(server/domain/speakers.py), the commands step it, and `store_list` writes the
outcome back. One list per meeting: the floor is the hall's, so only one person
speaks at a time whatever the item; `agenda_item_id` tags each request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import speakers as rules
from server.domain.times import iso
from server.store.tables import Meeting, Participant, SpeakerRequest, Unit

# The domain checks that each request belongs to the list's item; the meeting has one list.
LIST_KEY = "meeting"
DEFAULT_LIMIT = 300  # seconds, when the chair gives none at the start

QUEUED = ("waiting", "approved")


async def speaker_rows(db: AsyncSession, meeting_id: int) -> list[SpeakerRequest]:
    rows = await db.scalars(select(SpeakerRequest).where(SpeakerRequest.meeting_id == meeting_id))
    return list(rows.all())


def requester(row: SpeakerRequest) -> rules.Requester:
    if row.point:
        return rules.Requester(rules.RequesterKind.POINT, row.point)
    return rules.Requester(rules.RequesterKind.DELEGATE, str(row.participant_id))


def _request(row: SpeakerRequest) -> rules.SpeechRequest:
    return rules.SpeechRequest(
        id=str(row.id),
        requester=requester(row),
        item_id=LIST_KEY,
        topic=row.topic,
        requested_at=row.requested_at,
        kind=rules.RequestKind(row.kind),
        approved=row.state == "approved",
    )


def load_list(rows: list[SpeakerRequest]) -> rules.SpeakerList:
    queue = sorted((r for r in rows if r.state in QUEUED), key=lambda r: (r.position, r.id))
    speaking = [r for r in rows if r.state == "speaking"]
    done = sorted((r for r in rows if r.state == "done"), key=lambda r: (r.started_at, r.id))
    current = None
    if speaking:
        r = speaking[0]
        current = rules.Speech(_request(r), r.started_at, r.limit_seconds)
    return rules.SpeakerList(
        item_id=LIST_KEY,
        queue=tuple(_request(r) for r in queue),
        current=current,
        finished=tuple(rules.Speech(_request(r), r.started_at, r.limit_seconds, r.ended_at) for r in done),
        limit=DEFAULT_LIMIT,
        point_of_order_limit=DEFAULT_LIMIT,
    )


def store_list(rows: list[SpeakerRequest], before: rules.SpeakerList, after: rules.SpeakerList) -> None:
    """Write the domain's new list back; a request that left the list was withdrawn."""
    by_id = {str(r.id): r for r in rows}
    kept: set[str] = set()
    for i, req in enumerate(after.queue):
        row = by_id[req.id]
        row.state, row.position = ("approved" if req.approved else "waiting"), i
        kept.add(req.id)
    if after.current is not None:
        row = by_id[after.current.request.id]
        row.state, row.started_at, row.limit_seconds = "speaking", after.current.started_at, after.current.limit
        kept.add(after.current.request.id)
    for speech in after.finished:
        row = by_id[speech.request.id]
        row.state, row.started_at, row.ended_at = "done", speech.started_at, speech.ended_at
        kept.add(speech.request.id)
    was = {r.id for r in before.queue}
    for gone in was - kept:
        by_id[gone].state = "withdrawn"


async def _names(db: AsyncSession, rows: list[SpeakerRequest]) -> tuple[dict[int, str], dict[str, str]]:
    people = {r.participant_id for r in rows if r.participant_id is not None}
    points = {r.point for r in rows if r.point}
    names: dict[int, str] = {}
    if people:
        names = dict((await db.execute(
            select(Participant.id, Participant.full_name).where(Participant.id.in_(people))
        )).all())
    units: dict[str, str] = {}
    if points:
        units = dict((await db.execute(select(Unit.code, Unit.name).where(Unit.code.in_(points)))).all())
    return names, units


def _speaker(row: SpeakerRequest, names: dict, units: dict, position: int | None, seconds: int | None) -> dict:
    name = units.get(row.point, row.point) if row.point else names.get(row.participant_id, "")
    return {
        "id": row.id,
        "agenda_item_id": row.agenda_item_id,
        "participant_id": row.participant_id,
        "point": row.point,
        "name": name,
        "topic": row.topic,
        "kind": row.kind,
        "state": row.state,
        "position": position,
        "limit_seconds": row.limit_seconds,
        "requested_at": iso(row.requested_at),
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "seconds": seconds,
        "summary": row.summary,
    }


async def speaker_list(db: AsyncSession, rows: list[SpeakerRequest]) -> list[dict]:
    """The whole list in order: the current speech, the queue (points of order first), the
    finished speeches in the order they were given, then the withdrawn requests."""
    names, units = await _names(db, rows)
    lst = load_list(rows)
    by_id = {str(r.id): r for r in rows}
    out = []
    if lst.current is not None:
        out.append(_speaker(by_id[lst.current.request.id], names, units, None, None))
    for i, req in enumerate(lst.queue):
        out.append(_speaker(by_id[req.id], names, units, i, None))
    for speech in lst.finished:
        out.append(_speaker(by_id[speech.request.id], names, units, None, speech.seconds))
    for row in sorted((r for r in rows if r.state == "withdrawn"), key=lambda r: r.id):
        out.append(_speaker(row, names, units, None, None))
    return out


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    return {"speakers": await speaker_list(db, await speaker_rows(db, meeting.id))}
