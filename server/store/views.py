"""Rows as the wire shows them (docs/protocol.md), and the meeting snapshot."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import agenda as agenda_rules
from server.domain import quorum as quorum_rules
from server.domain.text import name_key
from server.domain.times import iso
from server.store.tables import AgendaItem, Attendance, Meeting, Participant, PointAttendance, Unit


def meeting_dict(m: Meeting) -> dict:
    return {
        "id": m.id,
        "code": m.code,
        "title": m.title,
        "unit_id": m.unit_id,
        "place": m.place,
        "starts_at": iso(m.starts_at),
        "ends_at": iso(m.ends_at),
        "status": m.status,
        "quorum": m.quorum,
        "current_item_id": m.current_item_id,
    }


def participant_dict(p: Participant) -> dict:
    return {
        "id": p.id,
        "user_id": p.user_id,
        "full_name": p.full_name,
        "title": p.title,
        "unit_id": p.unit_id,
        "role": p.role,
        "voting": p.voting,
    }


def attendance_dict(a: Attendance) -> dict:
    return {"participant_id": a.participant_id, "status": a.status, "reason": a.reason, "at": iso(a.at)}


def unit_dict(u: Unit) -> dict:
    return {
        "id": u.id,
        "code": u.code,
        "name": u.name,
        "level": u.level,
        "parent_id": u.parent_id,
        "valid_from": u.valid_from.isoformat() if u.valid_from else None,
        "valid_to": u.valid_to.isoformat() if u.valid_to else None,
    }


async def agenda_items(db: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return list((await db.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))).all())


def slots(items: list[AgendaItem]) -> list[agenda_rules.Slot]:
    return [agenda_rules.Slot(i.id, i.parent_id, i.position) for i in items]


def agenda_list(items: list[AgendaItem]) -> list[dict]:
    by_id = {i.id: i for i in items}
    out = []
    for slot, number in agenda_rules.display_order(slots(items)):
        i = by_id[slot.id]
        out.append(
            {
                "id": i.id,
                "parent_id": i.parent_id,
                "position": i.position,
                "number": number,
                "title": i.title,
                "presenter": i.presenter,
                "planned_minutes": i.planned_minutes,
                "unit_id": i.unit_id,
            }
        )
    return out


async def quorum(db: AsyncSession, meeting: Meeting, with_points: bool = True) -> dict:
    """The quorum, with counts by role and (`with_points`) the people seated at each bridge point.

    Events leave the points out (docs/deliberation.md): a conference's 200 points made every
    check-in batch's event 18 KB, sent to every device of the hall and replayed on every
    rejoin, for figures that only a point's own report changes (`point_figure`)."""
    rows = (
        await db.execute(
            select(Participant.role, Participant.voting, Attendance.status)
            .outerjoin(Attendance, Attendance.participant_id == Participant.id)
            .where(Participant.meeting_id == meeting.id)
        )
    ).all()
    members = sum(1 for _, voting, _ in rows if voting)
    present = sum(1 for _, voting, status in rows if voting and status == "present")
    by_role: dict[str, dict] = {}
    for role, _, status in rows:
        counts = by_role.setdefault(role, {"invited": 0, "present": 0})
        counts["invited"] += 1
        counts["present"] += status == "present"
    figure = quorum_rules.compute(members, present, quorum_rules.parse_fraction(meeting.quorum)).as_dict()
    figure["by_role"] = by_role
    if with_points:
        points = (
            await db.execute(
                select(Unit.code, Unit.name, PointAttendance.seated, PointAttendance.at)
                .join(PointAttendance, PointAttendance.unit_id == Unit.id)
                .where(PointAttendance.meeting_id == meeting.id)
            )
        ).all()
        figure["by_point"] = {code: point_figure(name, seated, at) for code, name, seated, at in points}
    return figure


async def attendance_update(db: AsyncSession, meeting: Meeting, attendance=None) -> dict:
    """The data of an `attendance.updated` event: the changed rows (or None when only the
    quorum moved) and the quorum without its points."""
    return {"attendance": attendance, "quorum": await quorum(db, meeting, with_points=False)}


def point_figure(name: str, seated: int, at) -> dict:
    """One bridge point's entry in `quorum.by_point` (and in `attendance.updated`'s `points`)."""
    return {"name": name, "seated": seated, "at": iso(at)}


async def participants(db: AsyncSession, meeting_id: int) -> list[Participant]:
    rows = (await db.scalars(select(Participant).where(Participant.meeting_id == meeting_id))).all()
    return sorted(rows, key=lambda p: (name_key(p.full_name), p.id))


# A snapshot has two parts. Shared (`shared_snapshot`): the same for every reader at the
# meeting's head (staff or not), changed only through logged events, so one build serves
# a whole hall (server/realtime/resync.py keeps it). Per reader (`reader_part`): what
# depends on who reads (their documents, their own votes and comments), cut in memory
# from rows that are the same for every reader (`reader_rows`) but include figures that
# move without a logged event (a poll's running count, a document's rendered pages), so
# those rows may be shared only briefly.
SHARED_PARTS = ("speaker_views", "record_views", "conference_views")


def _part_modules(names: tuple[str, ...]) -> list:
    import importlib

    return [importlib.import_module(f"server.store.{name}") for name in names]


async def shared_snapshot(db: AsyncSession, meeting: Meeting, staff: bool = False) -> dict:
    """The part of a snapshot that is the same for every reader (staff or not) at the
    meeting's head: the participants, the attendance, the quorum, the agenda, the speakers,
    the record. For a hall of a thousand it is most of the snapshot's size and cost."""
    people = await participants(db, meeting.id)
    attendance = (await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))).all()
    parts: dict = {}
    for part in _part_modules(SHARED_PARTS):
        parts.update(await part.snapshot_part(db, meeting, None, staff))
    return {
        **parts,
        "meeting": meeting_dict(meeting),
        "agenda": agenda_list(await agenda_items(db, meeting.id)),
        "participants": [participant_dict(p) for p in people],
        "attendance": {str(a.participant_id): attendance_dict(a) for a in attendance},
        "quorum": await quorum(db, meeting),
    }


async def reader_rows(db: AsyncSession, meeting: Meeting, staff: bool = False) -> dict:
    """What the readers' own parts are cut from: the polls (as the wire shows them, with
    their counts) and who voted in which, every comment and round, every document with its
    versions and the agenda's order. The same for every reader, staff or not."""
    from server.domain import polls as poll_rules
    from server.store import comment_views, document_views, poll_views
    from server.store.tables import Document, PollVoter
    from server.store.tables import Poll as PollRow

    query = select(PollRow).where(PollRow.meeting_id == meeting.id).order_by(PollRow.id)
    if not staff:
        query = query.where(PollRow.state != poll_rules.PollState.DRAFT)
    polls = list((await db.scalars(query)).all())
    ids = [r.id for r in polls]
    voted = await poll_views.voted_counts(db, ids)
    hands = await poll_views.point_counts(db, ids)
    voters: dict[int, list[int]] = {}
    if ids:
        rows = await db.execute(select(PollVoter.participant_id, PollVoter.poll_id)
                                .where(PollVoter.poll_id.in_(ids)).order_by(PollVoter.poll_id))
        for participant_id, poll_id in rows.all():
            voters.setdefault(participant_id, []).append(poll_id)
    comments = await comment_views.meeting_comments(db, meeting.id)
    docs = list((await db.scalars(
        select(Document).where(Document.meeting_id == meeting.id, Document.removed_at.is_(None)))).all())
    return {
        "polls": [poll_views.poll_dict(r, voted=voted[r.id], hands=hands[r.id], show_result=staff) for r in polls],
        "voters": voters,
        "comment_rounds": [comment_views.round_dict(r) for r in await comment_views.rounds(db, meeting.id)],
        "comments": await comment_views.comment_list(db, comments),
        "documents": docs,
        "versions": await document_views.versions_of(db, [d.id for d in docs]),
        "agenda_order": {item["id"]: n for n, item in enumerate(agenda_list(await agenda_items(db, meeting.id)))},
    }


def reader_part(rows: dict, meeting: Meeting, me: Participant | None, staff: bool = False) -> dict:
    """This reader's part of the snapshot, with its head, from `reader_rows` (no query):
    the same rules as the REST reads (`document_views.visible`, the comments a delegate
    sees: their own and those shown to all)."""
    from server.domain import comments as comment_rules
    from server.domain import documents as document_rules
    from server.store import document_views

    comments = rows["comments"]
    if not staff:
        me_user = me.user_id if me is not None else None
        comments = [c for c in comments if (me_user is not None and c["author"]["user_id"] == me_user)
                    or c["visibility"] == comment_rules.Visibility.ALL.value]
    roles = frozenset({*({me.role} if me else ()), *(("secretariat",) if staff else ())})
    keeps_recalled = bool(roles & document_rules.ALL_READERS)  # staff keep recalled documents (the record)
    order = rows["agenda_order"]
    docs = sorted((d for d in rows["documents"]
                   if document_views.readable(d, roles, me) or (keeps_recalled and d.recalled_at is not None)),
                  key=lambda d: (order.get(d.agenda_item_id, -1), d.position, d.id))
    return {
        "polls": rows["polls"],
        "my_votes": rows["voters"].get(me.id, []) if me is not None else [],
        "comment_rounds": rows["comment_rounds"],
        "comments": comments,
        "documents": [document_views.document_dict(d, rows["versions"][d.id], staff=staff) for d in docs],
        "presenting": meeting.presenting,
        "me": {"participant_id": me.id if me else None, "role": me.role if me else None},
        "head": meeting.last_seq,
    }


async def snapshot(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool = False) -> dict:
    """Everything a screen needs to show the meeting, as `staff` (who sees the secretariat's
    audience) or as a participant."""
    rows = await reader_rows(db, meeting, staff)
    return {**reader_part(rows, meeting, me, staff), **await shared_snapshot(db, meeting, staff)}
