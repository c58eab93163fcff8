"""The command → event → fan-out → resync loop, with real socket.io clients."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import new_key, wait_for


async def _publish(world) -> None:
    status, body = await world.live.command(world.tokens["vanphong"], "meeting.publish", meeting_id=world.meeting_id)
    assert status == 200, body


async def _join(client, meeting_id: int, since: int | None = None) -> dict:
    answer = await client.call("join", {"meeting_id": meeting_id, "since": since}, timeout=10)
    assert answer["ok"], answer
    return answer


async def test_join_gives_snapshot_then_live_events(world):
    await _publish(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        answer = await _join(tablet, world.meeting_id)
        snap = answer["snapshot"]
        assert snap["meeting"]["status"] == "published"
        assert snap["me"]["role"] == "delegate"
        head = answer["head"]
        status, body = await world.live.command(
            world.tokens["vanphong"], "agenda.add", meeting_id=world.meeting_id, title="Thảo luận tổ"
        )
        assert status == 200
        await wait_for(lambda: tablet.received)
        event = tablet.received[0]
        assert event["seq"] == body["seq"] == head + 1
        assert event["type"] == "agenda.updated"
        assert [i["title"] for i in event["data"]["agenda"]][-1] == "Thảo luận tổ"
    finally:
        await tablet.disconnect()


async def test_resync_after_drop_delivers_exactly_the_missed_events(world):
    await _publish(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    head = (await _join(tablet, world.meeting_id))["head"]
    await tablet.disconnect()

    sent = []
    for n in range(5):
        status, body = await world.live.command(
            world.tokens["vanphong"], "agenda.add", meeting_id=world.meeting_id, title=f"Nội dung bổ sung {n}"
        )
        sent.append(body["seq"])
    status, body = await world.live.command(
        world.tokens["vanphong"], "attendance.set", meeting_id=world.meeting_id,
        participant_id=world.participants["daibieu02"], status="excused", reason="Đi công tác",
    )
    sent.append(body["seq"])

    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        answer = await _join(tablet, world.meeting_id, since=head)
        assert "snapshot" not in answer
        assert [e["seq"] for e in answer["events"]] == sent
        assert answer["head"] == sent[-1]
        assert answer["events"][-1]["data"]["attendance"]["reason"] == "Đi công tác"
        # Nothing more arrives: the resync neither missed nor repeated anything.
        await asyncio.sleep(0.3)
        assert tablet.received == []
    finally:
        await tablet.disconnect()


async def test_far_behind_client_gets_a_snapshot(world):
    await _publish(world)
    world.live.app["settings"].__dict__["resync_window"] = 3  # frozen dataclass: test-only override
    for n in range(5):
        await world.live.command(world.tokens["vanphong"], "agenda.add", meeting_id=world.meeting_id, title=f"Mục {n}")
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        answer = await _join(tablet, world.meeting_id, since=1)
        assert "snapshot" in answer and answer["snapshot"]["head"] == answer["head"]
        assert len(answer["snapshot"]["agenda"]) == 8
    finally:
        await tablet.disconnect()


async def test_retried_command_has_one_effect(world):
    await _publish(world)
    key = new_key()
    console = await world.live.socket(world.tokens["vanphong"])
    try:
        message = {"name": "agenda.add", "key": key, "data": {"meeting_id": world.meeting_id, "title": "Một lần"}}
        first = await console.call("command", message, timeout=10)
        second = await console.call("command", message, timeout=10)
        assert first["ok"] and first == second
        # The same key over REST answers the same result too.
        status, third = await world.live.command(
            world.tokens["vanphong"], "agenda.add", key=key, meeting_id=world.meeting_id, title="Một lần"
        )
        assert status == 200 and third["seq"] == first["seq"]
    finally:
        await console.disconnect()
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"])
    assert [i["title"] for i in snap["agenda"]].count("Một lần") == 1
    assert snap["head"] == first["seq"]


async def test_concurrent_retries_of_one_key_count_once(world):
    await _publish(world)
    key = new_key()
    results = await asyncio.gather(*(
        world.live.command(world.tokens["vanphong"], "agenda.add", key=key, meeting_id=world.meeting_id, title="Đua")
        for _ in range(8)
    ))
    assert {status for status, _ in results} == {200}
    assert len({body["seq"] for _, body in results}) == 1
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"])
    assert [i["title"] for i in snap["agenda"]].count("Đua") == 1


async def test_fifty_concurrent_commands_keep_the_sequence_gap_free(world):
    await _publish(world)
    observer = await world.live.socket(world.tokens["vanphong"])
    start = (await _join(observer, world.meeting_id))["head"]
    clients = [await world.live.socket(world.tokens[u]) for u in ("vanphong", "thuky")]
    try:
        calls = []
        for n in range(50):
            client = clients[n % 2]
            if n % 2:
                message = {"name": "agenda.add", "key": new_key(),
                           "data": {"meeting_id": world.meeting_id, "title": f"Song song {n}"}}
                calls.append(client.call("command", message, timeout=30))
            else:
                calls.append(world.live.command(world.tokens["vanphong"], "attendance.set", key=new_key(),
                                                meeting_id=world.meeting_id,
                                                participant_id=world.participants["daibieu01"],
                                                status="present" if n % 4 else "absent"))
        answers = await asyncio.gather(*calls)
        seqs = []
        for answer in answers:
            body = answer[1] if isinstance(answer, tuple) else answer
            assert body.get("ok", True) is not False, body
            seqs.append(body["seq"])
        assert sorted(seqs) == list(range(start + 1, start + 51))
        await wait_for(lambda: len(observer.received) >= 50)
        assert sorted(e["seq"] for e in observer.received) == list(range(start + 1, start + 51))
        status, log = await world.live.request(
            "GET", f"/api/meetings/{world.meeting_id}/events?since={start}", token=world.tokens["vanphong"]
        )
        assert [e["seq"] for e in log["events"]] == list(range(start + 1, start + 51))
    finally:
        for c in [observer, *clients]:
            await c.disconnect()


async def test_prev_chains_each_audience(world):
    """`prev` links events of one audience, so a client can tell a gap from another audience's event."""
    await _publish(world)
    status, body = await world.live.request(
        "GET", f"/api/meetings/{world.meeting_id}/events?since=0", token=world.tokens["vanphong"]
    )
    events = body["events"]
    last: dict[str, int] = {}
    for e in events:
        assert e["prev"] == last.get(e["audience"], 0)
        last[e["audience"]] = e["seq"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_draft_meeting_is_invisible_to_delegates_until_published(world):
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        refused = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert refused == {"ok": False, "error": refused["error"]} and refused["error"]["code"] == "not_found"
        changed = asyncio.Event()
        tablet.on("meetings_changed", lambda *_: changed.set())
        await _publish(world)
        await asyncio.wait_for(changed.wait(), 10)
        assert (await _join(tablet, world.meeting_id))["snapshot"]["meeting"]["status"] == "published"
    finally:
        await tablet.disconnect()


@pytest.mark.parametrize("role_user", ["daibieu01", "khach"])
async def test_delegate_checks_in_and_quorum_follows(world, role_user):
    await _publish(world)
    console = await world.live.socket(world.tokens["vanphong"])
    await _join(console, world.meeting_id)
    try:
        status, body = await world.live.command(world.tokens[role_user], "attendance.check_in",
                                                meeting_id=world.meeting_id)
        assert status == 200, body
        await wait_for(lambda: any(e["type"] == "attendance.updated" for e in console.received))
        event = next(e for e in console.received if e["type"] == "attendance.updated")
        # Check-ins are written in batches: the event carries the list of rows its batch wrote.
        assert [a["participant_id"] for a in event["data"]["attendance"]] == [world.participants[role_user]]
        assert event["seq"] == body["seq"] and body["result"]["attendance"]["status"] == "present"
        # Voting members in the world: chair, secretary and three delegates.
        assert event["data"]["quorum"]["members"] == 5
        assert event["data"]["quorum"]["present"] == (1 if role_user == "daibieu01" else 0)
        assert "by_point" not in event["data"]["quorum"]  # a check-in moves no point's count
    finally:
        await console.disconnect()


async def test_quorum_counts_by_role_and_by_point(world):
    await _publish(world)
    live = world.live
    status, body = await live.command(world.tokens["kythuat"], "attendance.point_count",
                                      meeting_id=world.meeting_id, point="BN", seated=37)
    assert status == 200, body
    point = body["result"]["points"]["BN"]
    assert point["seated"] == 37 and point["name"] == "Tỉnh Bắc Ninh"
    # The event names only the point that reported; the snapshot keeps them all.
    assert "by_point" not in body["result"]["quorum"] and list(body["result"]["points"]) == ["BN"]
    # An operator reports only its own point.
    status, body = await live.command(world.tokens["kythuat"], "attendance.point_count",
                                      meeting_id=world.meeting_id, point="BN-TD", seated=5)
    assert status == 403
    await live.command(world.tokens["daibieu02"], "attendance.check_in", meeting_id=world.meeting_id)
    status, snap = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["chutri"])
    by_role = snap["quorum"]["by_role"]
    assert by_role["delegate"] == {"invited": 3, "present": 1}
    assert snap["quorum"]["by_point"]["BN"]["seated"] == 37
    assert by_role["guest"] == {"invited": 1, "present": 0}


async def _end_session(world, who: str, **change) -> None:
    """Change a session straight in the database, as another server process would."""
    from sqlalchemy import update

    from server.auth.sessions import digest
    from server.store.tables import Session

    async with world.live.app["db"].write() as db:
        await db.execute(update(Session).where(Session.token_hash == digest(world.tokens[who])).values(**change))


async def test_session_checks_in_one_read_follow_the_rules_of_resolve(world):
    """The coalesced check answers what `sessions.resolve` answers, token by token."""
    from datetime import timedelta

    from sqlalchemy import event, update

    from server.auth import sessions
    from server.domain.errors import DomainError
    from server.realtime.sockets import Revalidation, resolve_many
    from server.store.tables import User, utcnow

    await _end_session(world, "daibieu02", revoked_at=utcnow())
    await _end_session(world, "daibieu03", expires_at=utcnow() - timedelta(minutes=1))
    async with world.live.app["db"].write() as db:
        await db.execute(update(User).where(User.id == world.users["khach"]).values(active=False))
    tokens = [world.tokens[u] for u in ("daibieu01", "vanphong", "daibieu02", "daibieu03", "khach")]
    tokens += ["not-a-token", "", None, "x" * 201]

    async def one_by_one(token):
        try:
            async with world.live.app["db"].read() as db:
                return await sessions.resolve(db, token)
        except DomainError as exc:
            return exc

    def same(a, b) -> bool:
        if isinstance(a, DomainError) or isinstance(b, DomainError):
            return type(a) is type(b) and a.as_dict() == b.as_dict()
        return a == b

    async with world.live.app["db"].read() as db:
        together = await resolve_many(db, tokens)
    for token in tokens:
        assert same(together[token], await one_by_one(token)), token
    assert together[world.tokens["daibieu01"]].user_id == world.users["daibieu01"]

    # Checks asked for at one moment share one read.
    reads = []
    engine = world.live.app["db"].engine.sync_engine
    listener = lambda *args: reads.append(args[2]) if "FROM sessions" in args[2] else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        checks = Revalidation(world.live.app["db"])
        good = [world.tokens[u] for u in ("daibieu01", "vanphong", "thuky", "chutri")]
        answers = await asyncio.gather(*(checks.caller(t) for t in good * 3), return_exceptions=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [a.user_id for a in answers] == [world.users[u] for u in ("daibieu01", "vanphong", "thuky", "chutri")] * 3
    assert len(reads) == 1
    with pytest.raises(DomainError) as refused:
        await checks.caller(world.tokens["daibieu02"])
    assert refused.value.code == "unauthorized"


async def test_paced_messages_reach_the_whole_room_in_order(world, monkeypatch):
    """Counts sent a few recipients at a time still reach everyone, and never cross."""
    from server.realtime import fanout

    monkeypatch.setattr(fanout, "PACE_CHUNK", 2)
    await _publish(world)
    people = ("vanphong", "thuky", "chutri", "daibieu01", "daibieu02", "daibieu03", "khach")
    clients = [await world.live.socket(world.tokens[u]) for u in people]
    try:
        seen: dict[int, list[int]] = {n: [] for n in range(len(clients))}
        for n, client in enumerate(clients):
            client.on("poll.progress", lambda data, n=n: seen[n].append(data["voted_count"]))
            await _join(client, world.meeting_id)
        out = world.live.app["fanout"]
        room = fanout.meeting_room(world.meeting_id)
        await asyncio.gather(*(out.paced("poll.progress", {"voted_count": k}, room) for k in range(1, 6)))
        await wait_for(lambda: all(len(v) == 5 for v in seen.values()))
        assert all(v == [1, 2, 3, 4, 5] for v in seen.values()), seen
    finally:
        for client in clients:
            await client.disconnect()
