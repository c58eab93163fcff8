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
        assert event["data"]["attendance"]["participant_id"] == world.participants[role_user]
        # Voting members in the world: chair, secretary and three delegates.
        assert event["data"]["quorum"]["members"] == 5
        assert event["data"]["quorum"]["present"] == (1 if role_user == "daibieu01" else 0)
    finally:
        await console.disconnect()


async def test_quorum_counts_by_role_and_by_point(world):
    await _publish(world)
    live = world.live
    status, body = await live.command(world.tokens["kythuat"], "attendance.point_count",
                                      meeting_id=world.meeting_id, point="BN", seated=37)
    assert status == 200, body
    point = body["result"]["quorum"]["by_point"]["BN"]
    assert point["seated"] == 37 and point["name"] == "Tỉnh Bắc Ninh"
    # An operator reports only its own point.
    status, body = await live.command(world.tokens["kythuat"], "attendance.point_count",
                                      meeting_id=world.meeting_id, point="BN-TD", seated=5)
    assert status == 403
    await live.command(world.tokens["daibieu02"], "attendance.check_in", meeting_id=world.meeting_id)
    status, snap = await live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["chutri"])
    by_role = snap["quorum"]["by_role"]
    assert by_role["delegate"] == {"invited": 3, "present": 1}
    assert by_role["guest"] == {"invited": 1, "present": 0}
