"""Check-ins group-committed (server/commands/attendance_batch.py): a hall checking in at
once gets far fewer `attendance.updated` events than check-ins, each check-in is answered
after its commit, a retry answers the same, the log stays gap-free, and every tablet ends
with the right quorum."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import func, select

from server.auth.sessions import digest
from server.store.tables import Attendance, CommandResult, Event, Participant, Session, User, utcnow
from tests.conftest import new_key, wait_for
from tests.faults.helpers import check_log

HALL = 60


async def _hall(world, n: int) -> list[str]:
    """n more voting delegates in the world's meeting, each with a session token."""
    tokens = []
    async with world.live.app["db"].write() as s:
        users = [User(username=f"hoitruong{i:03d}", full_name=f"Đại biểu {i:03d}", password_hash="x", roles=[],
                      unit_id=world.unit_id) for i in range(n)]
        s.add_all(users)
        await s.flush()
        expires = utcnow().replace(year=utcnow().year + 1)
        for u in users:
            s.add(Participant(meeting_id=world.meeting_id, user_id=u.id, full_name=u.full_name, role="delegate",
                              voting=True, unit_id=world.unit_id))
            token = secrets.token_urlsafe(32)
            s.add(Session(token_hash=digest(token), user_id=u.id, expires_at=expires))
            tokens.append(token)
    return tokens


async def _log(world) -> list[tuple[int, str, int]]:
    async with world.live.app["db"].read() as s:
        rows = await s.execute(select(Event.seq, Event.audience, Event.prev, Event.type)
                               .where(Event.meeting_id == world.meeting_id).order_by(Event.seq))
        return [tuple(r) for r in rows.all()]


async def test_a_hall_checking_in_at_once_gets_few_events_and_the_right_quorum(world):
    live = world.live
    hall = await _hall(world, HALL)
    status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    tablets = [await live.socket(world.tokens[who]) for who in ("daibieu01", "daibieu02", "chutri")]
    try:
        for tablet in tablets:
            answer = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
            assert answer["ok"], answer
            tablet.quorum = answer["snapshot"]["quorum"]
        before = len(await _log(world))
        keys = [new_key() for _ in hall]

        async def check_in(token: str, key: str):
            return await live.command(token, "attendance.check_in", key=key, meeting_id=world.meeting_id)

        answers = await asyncio.gather(*(check_in(t, k) for t, k in zip(hall, keys, strict=True)))
        assert all(status == 200 for status, _ in answers), [b for s, b in answers if s != 200][:3]
        log = await _log(world)
        check_log([(seq, audience, prev) for seq, audience, prev, _ in log], len(log))
        events = [row for row in log[before:] if row[3] == "attendance.updated"]
        assert len(log) - before == len(events)  # nothing else was logged meanwhile
        assert len(events) <= HALL // 4, f"{len(events)} attendance events for {HALL} check-ins"
        # Each answer was given after its commit: it names its batch's logged event, whose
        # quorum counts that check-in.
        seqs = {seq for seq, *_ in events}
        for _, body in answers:
            assert body["seq"] in seqs
            assert body["result"]["attendance"]["status"] == "present"
        async with live.app["db"].read() as s:
            present = await s.scalar(select(func.count()).select_from(Attendance).where(
                Attendance.meeting_id == world.meeting_id, Attendance.status == "present"))
            records = await s.scalar(select(func.count()).select_from(CommandResult).where(
                CommandResult.key.in_(keys)))
        assert present == HALL and records == HALL

        # Every tablet applies the events and ends with the right quorum, rows included.
        def settled(tablet) -> bool:
            got = [e for e in tablet.received if e["type"] == "attendance.updated"]
            return len(got) == len(events)

        await wait_for(lambda: all(settled(t) for t in tablets))
        for tablet in tablets:
            got = [e for e in tablet.received if e["type"] == "attendance.updated"]
            assert [e["seq"] for e in got] == [seq for seq, *_ in events]
            rows = {a["participant_id"] for e in got for a in e["data"]["attendance"]}
            assert len(rows) == HALL
            assert got[-1]["data"]["quorum"]["present"] == HALL

        # A retry with the same key answers the same and writes nothing.
        status, again = await check_in(hall[0], keys[0])
        assert status == 200 and again == answers[0][1]
        assert len(await _log(world)) == len(log)
    finally:
        for tablet in tablets:
            await tablet.disconnect()


async def test_the_same_check_in_sent_twice_at_once_is_written_once(world):
    live = world.live
    status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    before = len(await _log(world))
    key = new_key()
    token = world.tokens["daibieu01"]
    answers = await asyncio.gather(*(live.command(token, "attendance.check_in", key=key,
                                                  meeting_id=world.meeting_id) for _ in range(5)))
    assert all(s == 200 for s, _ in answers), answers
    assert len({b["seq"] for _, b in answers}) == 1
    log = await _log(world)
    assert len(log) - before == 1
    check_log([(seq, audience, prev) for seq, audience, prev, _ in log], len(log))


async def test_check_ins_that_are_refused_are_refused_alone(world):
    """In one batch: an outsider and a participant of a meeting whose check-in is closed are
    refused with their own errors, and the others' check-ins are written."""
    live = world.live
    # Still a draft: check-in is not open.
    status, body = await live.command(world.tokens["daibieu01"], "attendance.check_in", meeting_id=world.meeting_id)
    assert status >= 400 and "attendance is not taken" in body["error"]["message"], body
    status, body = await live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body
    answers = await asyncio.gather(
        live.command(world.tokens["nguoingoai"], "attendance.check_in", key=new_key(), meeting_id=world.meeting_id),
        live.command(world.tokens["daibieu02"], "attendance.check_in", key=new_key(), meeting_id=world.meeting_id),
        live.command(world.tokens["daibieu03"], "attendance.check_in", key=new_key(), meeting_id=10**6),
        live.command(world.tokens["daibieu03"], "attendance.check_in", key=new_key(), meeting_id=world.meeting_id),
    )
    (s1, b1), (s2, b2), (s3, b3), (s4, b4) = answers
    assert s1 == 403 and b1["error"]["code"] == "forbidden", b1
    assert s2 == 200 and b2["result"]["attendance"]["status"] == "present", b2
    assert s3 == 404 and b3["error"]["code"] == "not_found", b3
    assert s4 == 200, b4
    assert b4["result"]["quorum"]["present"] >= 1
