"""A hall joining at once: one snapshot build per meeting head, a few reads per join.

Before the snapshot's shared part was kept (server/realtime/resync.py), each join built
the whole snapshot for itself: O(participants) work per tablet, and 1,000 tablets took
114 s to join. These tests count what a join costs functionally (builds, statements),
never how long it takes.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from tests.conftest import new_key, wait_for
from tests.test_polls import _in_session, _ok, _poll, _snapshot


async def _join(client, meeting_id: int, since: int | None = None) -> dict:
    answer = await client.call("join", {"meeting_id": meeting_id, "since": since}, timeout=10)
    assert answer["ok"], answer
    return answer


class Statements:
    """The SQL statements the server runs, as a list of their texts."""

    def __init__(self, live) -> None:
        self.engine = live.app["db"].engine.sync_engine
        self.seen: list[str] = []

    def _record(self, conn, cursor, statement, *args) -> None:
        # The poll deadline closer looks for due polls every second on its own: not a join's.
        if "deadline IS NOT NULL" not in statement:
            self.seen.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def fresh_for_long(world):
    """Keep built parts however slowly this machine runs the test (no timing involved)."""
    snapshots = world.live.app["snapshots"]
    snapshots.shared.max_age = snapshots.rows.max_age = 3600
    return snapshots


async def _add_people(world, n: int) -> None:
    for i in range(n):
        await _ok(world, "vanphong", "participant.add", full_name=f"Đại biểu bổ sung {i:02d}", role="delegate",
                  voting=True)


@pytest.mark.parametrize("extra_people", [0, 30])
async def test_joins_at_one_head_share_one_snapshot_build(world, fresh_for_long, extra_people):
    await _add_people(world, extra_people)
    await _ok(world, "vanphong", "meeting.publish")
    names = ["daibieu01", "daibieu02", "daibieu03", "chutri", "khach"]  # the chair's is the secretariat's view
    tablets = [await world.live.socket(world.tokens[who]) for who in names]
    try:
        per_join: list[list[str]] = []
        for tablet in tablets:
            with Statements(world.live) as statements:
                snap = (await _join(tablet, world.meeting_id))["snapshot"]
            per_join.append(statements.seen)
            assert len(snap["participants"]) == len(world.participants) + extra_people
        # One build for the whole hall, whatever its size: one for the delegates and guests,
        # one for the chair (who sees what the secretariat sees).
        assert fresh_for_long.shared.builds == 2
        assert fresh_for_long.rows.builds == 2
        # Every other join reads only who the caller is in the meeting and its head: no
        # participant list, no attendance, no polls, documents or comments.
        for statements in per_join[1:3] + per_join[4:]:
            assert len(statements) <= 3, statements
            assert not any("FROM attendance" in s or "FROM polls" in s or "FROM documents" in s
                           for s in statements), statements
    finally:
        for tablet in tablets:
            await tablet.disconnect()


async def test_a_shared_snapshot_is_what_rest_answers_to_the_same_reader(world, fresh_for_long):
    await _in_session(world)
    poll_id = await _poll(world)
    items = (await _snapshot(world, "vanphong"))["agenda"]
    # A remark for the secretariat only, and one shown to all: each reader sees what REST shows them.
    for who, visibility in (("daibieu01", "secretariat"), ("daibieu02", "all")):
        await _ok(world, who, "comment.add", anchor={"kind": "item", "agenda_item_id": items[1]["id"]},
                  text=f"Ý kiến của {who}", visibility=visibility)
    for who in ("daibieu01", "vanphong", "khach"):
        tablet = await world.live.socket(world.tokens[who])
        try:
            snap = (await _join(tablet, world.meeting_id))["snapshot"]
        finally:
            await tablet.disconnect()
        status, rest = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
        assert status == 200, rest
        assert snap == rest, who
        assert any(p["id"] == poll_id for p in snap["polls"])
        mine = {c["author"]["user_id"] for c in snap["comments"]}
        if who == "khach":
            assert mine == {world.users["daibieu02"]}
        else:
            assert mine == {world.users["daibieu01"], world.users["daibieu02"]}


async def test_a_new_head_builds_again_and_a_vote_shows_in_the_next_snapshot(world, fresh_for_long):
    await _in_session(world)
    poll_id = await _poll(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        first = (await _join(tablet, world.meeting_id))["snapshot"]
        assert first["my_votes"] == []
        builds = fresh_for_long.shared.builds
        # A ballot moves no head, but this reader's next snapshot has it (the rows of the
        # readers' parts start again at every ballot committed here).
        answer = await tablet.call("command", {"name": "poll.vote", "key": new_key(),
                                               "data": {"meeting_id": world.meeting_id, "poll_id": poll_id,
                                                        "choice": "yes"}}, timeout=10)
        assert answer["ok"] and answer["result"]["accepted"], answer
        again = (await tablet.call("resync", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["snapshot"]
        assert again["my_votes"] == [poll_id]
        assert next(p for p in again["polls"] if p["id"] == poll_id)["voted_count"] == 1
        assert fresh_for_long.shared.builds == builds  # same head: the shared part was kept
        # A logged change moves the head: the next snapshot is built again and shows it.
        await _ok(world, "vanphong", "agenda.add", title="Nội dung phát sinh")
        latest = (await tablet.call("resync", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["snapshot"]
        assert latest["head"] > again["head"]
        assert latest["agenda"][-1]["title"] == "Nội dung phát sinh"
        assert fresh_for_long.shared.builds == builds + 1
    finally:
        await tablet.disconnect()


async def test_a_hall_rejoining_at_once_reads_the_log_a_few_at_a_time(world, monkeypatch):
    """1,200 devices rejoining within seconds emptied the database pool (`phonghop bench
    mixed`): joins then failed `unavailable` and commands waited behind them. Catch-ups
    take turns, at most `pool_share` at once, and every join is still answered."""
    from server.realtime import sockets

    await _ok(world, "vanphong", "meeting.publish")
    share = world.live.app["db"].pool_share
    running, most = 0, 0
    real = sockets.catch_up

    async def counted(*args, **kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.05)  # overlap the joins, as a hall's slow reads do
            return await real(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(sockets, "catch_up", counted)
    tablets = [await world.live.socket(world.tokens["daibieu01"]) for _ in range(3 * share)]
    try:
        answers = await asyncio.gather(*(t.call("join", {"meeting_id": world.meeting_id, "since": 0}, timeout=60)
                                         for t in tablets))
        assert all(a["ok"] for a in answers), answers
        assert 1 < most <= share, (most, share)
        assert sockets.CATCH_UPS_WAITING._value.get() == 0
    finally:
        for tablet in tablets:
            await tablet.disconnect()


async def test_a_replay_over_socketio_is_what_rest_answers(world):
    """The socket.io catch-up splices the log's stored JSON into its answer
    (eventlog.since_encoded) instead of decoding and encoding it again: what a tablet
    gets is still exactly REST's `events?since=` for the same reader."""
    await _in_session(world)
    await _poll(world, title="Thông qua Nghị quyết về “đất đai” — lần 2")
    await _ok(world, "vanphong", "agenda.add", title="Báo cáo chính trị\tkèm phụ lục")
    for who in ("daibieu01", "vanphong"):
        tablet = await world.live.socket(world.tokens[who])
        try:
            answer = await _join(tablet, world.meeting_id, since=0)
        finally:
            await tablet.disconnect()
        status, rest = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/events?since=0",
                                                token=world.tokens[who])
        assert status == 200, rest
        assert answer["events"] == rest["events"] and answer["head"] == rest["head"], who
        assert any(e["type"] == "agenda.updated" for e in answer["events"])
    # The secretariat sees events the delegate does not.
    assert any(e["audience"] == "secretariat" for e in answer["events"])


async def test_a_long_replay_is_answered_with_a_snapshot(world, monkeypatch):
    """Past `REPLAY_BYTES` of missed events a socket.io catch-up answers a snapshot (built
    once for the hall) rather than the events; REST still lists the events."""
    from server.realtime import resync

    await _in_session(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        assert "events" in await _join(tablet, world.meeting_id, since=0)
        monkeypatch.setattr(resync, "REPLAY_BYTES", 100)
        answer = await _join(tablet, world.meeting_id, since=0)
        assert "events" not in answer and answer["snapshot"]["head"] == answer["head"]
        status, rest = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/events?since=0",
                                                token=world.tokens["daibieu01"])
        assert status == 200 and rest["events"], rest
    finally:
        await tablet.disconnect()


async def test_a_request_sent_again_replaces_the_one_still_waiting(world, monkeypatch):
    """A client whose join timed out while it waited its turn asks again: the old request
    is answered `unavailable` without a read, the new one is answered."""
    from server.realtime import sockets

    await _ok(world, "vanphong", "meeting.publish")
    share = world.live.app["db"].pool_share
    release, started, reads = asyncio.Event(), [], []
    real = sockets.catch_up

    async def held(db, caller, *args, **kwargs):
        reads.append(caller.user_id)
        started.append(1)
        await release.wait()
        return await real(db, caller, *args, **kwargs)

    monkeypatch.setattr(sockets, "catch_up", held)
    holders = [await world.live.socket(world.tokens["daibieu01"]) for _ in range(share)]
    tablet = await world.live.socket(world.tokens["daibieu02"])
    try:
        holding = [asyncio.ensure_future(h.call("join", {"meeting_id": world.meeting_id}, timeout=60))
                   for h in holders]
        await wait_for(lambda: len(started) == share)  # every turn is taken
        first = asyncio.ensure_future(tablet.call("join", {"meeting_id": world.meeting_id}, timeout=60))
        await wait_for(lambda: sockets.CATCH_UPS_WAITING._value.get() == 1)
        again = asyncio.ensure_future(tablet.call("join", {"meeting_id": world.meeting_id}, timeout=60))
        await wait_for(lambda: sockets.CATCH_UPS_WAITING._value.get() == 2)
        release.set()
        old, new = await first, await again
        assert old["ok"] is False and old["error"]["code"] == "unavailable", old
        assert new["ok"] and "snapshot" in new, new
        assert all(a["ok"] for a in await asyncio.gather(*holding))
        assert reads.count(world.users["daibieu02"]) == 1, reads
    finally:
        for client in holders + [tablet]:
            await client.disconnect()
