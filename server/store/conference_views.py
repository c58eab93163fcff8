"""The conference as the wire shows it (docs/conference.md): the conference itself (in every
snapshot), and the rows its points and link history are read from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain import conference as rules
from server.domain.times import iso
from server.store.tables import (
    Conference,
    ConferencePoint,
    LinkSample,
    Meeting,
    Participant,
    PointAttendance,
    Unit,
    User,
)


def unit_brief(unit: Unit | None) -> dict | None:
    if unit is None:
        return None
    return {"unit_id": unit.id, "code": unit.code, "name": unit.name, "level": unit.level}


async def conference_of(db: AsyncSession, meeting_id: int, *, lock: bool = False) -> Conference | None:
    query = select(Conference).where(Conference.meeting_id == meeting_id)
    return await db.scalar(query.with_for_update() if lock else query)


async def conference_dict(db: AsyncSession, conf: Conference) -> dict:
    ids = {conf.host_unit_id, *([conf.floor_unit_id] if conf.floor_unit_id else [])}
    units = {u.id: u for u in (await db.scalars(select(Unit).where(Unit.id.in_(ids)))).all()}
    invited = len((await db.scalars(select(ConferencePoint.unit_id)
                                    .where(ConferencePoint.conference_id == conf.id))).all())
    floor = None
    if conf.floor_unit_id is not None:
        floor = {**unit_brief(units.get(conf.floor_unit_id)), "request_id": conf.floor_request_id}
    return {
        "id": conf.id,
        "meeting_id": conf.meeting_id,
        "state": conf.state,
        "live": rules.is_live(conf.state),
        "host": unit_brief(units.get(conf.host_unit_id)),
        "starts_at": iso(conf.starts_at),
        "floor": floor,
        "mute_all": conf.mute_all,
        "opened_at": iso(conf.opened_at),
        "ended_at": iso(conf.ended_at),
        "invited": invited,
    }


async def snapshot_part(db: AsyncSession, meeting: Meeting, me: Participant | None, staff: bool) -> dict:
    """Every reader learns the conference's state, host and floor; the points themselves are
    a live view (`conference.watch`), not part of the snapshot."""
    conf = await conference_of(db, meeting.id)
    return {"conference": await conference_dict(db, conf) if conf is not None else None}


async def point_rows(db: AsyncSession, conf: Conference) -> list[tuple[ConferencePoint, Unit, str | None, int | None]]:
    """Each invited point with its unit, its operator's name and the people seated there."""
    rows = (await db.execute(
        select(ConferencePoint, Unit, User.full_name)
        .join(Unit, Unit.id == ConferencePoint.unit_id)
        .outerjoin(User, User.id == ConferencePoint.operator_user_id)
        .where(ConferencePoint.conference_id == conf.id)
    )).all()
    seated = dict((await db.execute(
        select(PointAttendance.unit_id, PointAttendance.seated).where(PointAttendance.meeting_id == conf.meeting_id)
    )).all())
    return [(p, u, name, seated.get(u.id)) for p, u, name in rows]


async def tree_units(db: AsyncSession) -> dict[int, rules.TreeUnit]:
    rows = (await db.scalars(select(Unit))).all()
    return {u.id: rules.TreeUnit(u.id, u.parent_id, u.level, u.name, u.code, u.valid_from, u.valid_to) for u in rows}


def sample_dict(s: LinkSample) -> dict:
    return {"at": iso(s.at), "span": s.span, "loss": s.loss, "rtt_ms": s.rtt_ms, "jitter_ms": s.jitter_ms,
            "bitrate_kbps": s.bitrate_kbps, "quality": s.quality}


async def link_history(db: AsyncSession, conf: Conference, unit_id: int, since: datetime | None = None,
                       limit: int = 2000) -> list[dict]:
    """A point's link samples, oldest first (the newest `limit` of them)."""
    query = select(LinkSample).where(LinkSample.conference_id == conf.id, LinkSample.unit_id == unit_id)
    if since is not None:
        query = query.where(LinkSample.at >= since)
    rows = (await db.scalars(query.order_by(LinkSample.at.desc(), LinkSample.id.desc()).limit(limit))).all()
    return [sample_dict(s) for s in reversed(rows)]
