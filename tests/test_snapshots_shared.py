"""A hall joining at once: one snapshot build per meeting head, a few reads per join.

Before the snapshot's shared part was kept (server/realtime/resync.py), each join built
the whole snapshot for itself: O(participants) work per tablet, and 1,000 tablets took
114 s to join. These tests count what a join costs functionally (builds, statements),
never how long it takes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.conftest import new_key
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
