"""Polls end to end: a real server, real clients, SQLite and PostgreSQL (docs/deliberation.md)."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func, inspect, select

from server.store.tables import CommandResult, Event, NamedBallot, PollVoter, SecretBallot
from tests.conftest import new_key

VOTERS = ["chutri", "thuky", "daibieu01", "daibieu02", "daibieu03"]  # the world's voting members


async def _ok(world, who: str, name: str, **data) -> dict:
    status, body = await world.live.command(world.tokens[who], name, key=new_key(), meeting_id=world.meeting_id, **data)
    assert status == 200, (name, body)
    return body["result"]


async def _in_session(world, present=VOTERS) -> None:
    await _ok(world, "vanphong", "meeting.publish")
    await _ok(world, "thuky", "meeting.start")
    for who in present:
        await _ok(world, "vanphong", "attendance.set", participant_id=world.participants[who], status="present")


async def _poll(world, open_: bool = True, **fields) -> int:
    fields.setdefault("kind", "motion")
    fields.setdefault("title", "Thông qua Nghị quyết")
    poll_id = (await _ok(world, "vanphong", "poll.create", **fields))["poll_id"]
    if open_:
        await _ok(world, "chutri", "poll.open", poll_id=poll_id)
    return poll_id


async def _vote(world, who: str, poll_id: int, key: str | None = None, **ballot):
    return await world.live.request(
        "POST", f"/api/meetings/{world.meeting_id}/polls/{poll_id}/vote", token=world.tokens[who],
        json=ballot, headers={"Idempotency-Key": key or new_key()},
    )


async def _snapshot(world, who: str) -> dict:
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens[who])
    assert status == 200, snap
    return snap


def _poll_of(snap: dict, poll_id: int) -> dict:
    return next(p for p in snap["polls"] if p["id"] == poll_id)


async def _rows(world, model) -> list:
    async with world.live.app["db"].read() as db:
        return list((await db.scalars(select(model))).all())


async def _wait_for(predicate, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the condition"
        await asyncio.sleep(0.02)


async def test_named_motion_passes_or_fails_with_its_base(world):
    await _in_session(world)
    adopted = await _poll(world)
    for who, choice in zip(VOTERS, ["yes", "yes", "yes", "no", "abstain"], strict=True):
        status, body = await _vote(world, who, adopted, choice=choice)
        assert status == 200 and body["result"]["accepted"] and body["result"]["receipt"] is None, body
    assert body["result"]["voted_count"] == 5
    # Two of five members is not more than half of the members, whatever the others did.
    refused = await _poll(world, title="Thông qua Tờ trình")
    for who, choice in zip(VOTERS, ["yes", "yes", "no", "abstain"], strict=False):
        assert (await _vote(world, who, refused, choice=choice))[0] == 200

    passed = (await _ok(world, "chutri", "poll.close", poll_id=adopted))["poll"]["result"]
    failed = (await _ok(world, "thuky", "poll.close", poll_id=refused))["poll"]["result"]
    assert (passed["outcome"], passed["base"], passed["required"]) == ("passed", 5, 3)
    assert passed["tally"]["counts"] == {"yes": 3, "no": 1, "abstain": 1}
    assert (failed["outcome"], failed["base"], failed["required"]) == ("failed", 5, 3)

    # Delegates see the result only once published; their own votes are listed.
    snap = await _snapshot(world, "daibieu01")
    assert _poll_of(snap, adopted)["result"] is None and _poll_of(snap, adopted)["state"] == "closed"
    assert sorted(snap["my_votes"]) == sorted([adopted, refused])
    assert _poll_of(await _snapshot(world, "chutri"), adopted)["result"]["outcome"] == "passed"
    await _ok(world, "chutri", "poll.publish", poll_id=adopted)
    shown = _poll_of(await _snapshot(world, "daibieu03"), adopted)
    assert shown["result"]["outcome"] == "passed" and shown["voted_count"] == 5 and shown["entitled_count"] == 5
    assert (await _snapshot(world, "daibieu03"))["my_votes"] == [adopted]


async def test_secret_poll_keeps_no_link_and_publishes_receipts(world):
    await _in_session(world)
    poll_id = await _poll(world, secret=True, title="Biểu quyết kín")
    choices = dict(zip(VOTERS, ["yes", "no", "yes", "abstain", "yes"], strict=True))
    # Fewer than k=5 ballots are held unacknowledged until their batch is complete.
    first = [asyncio.create_task(_vote(world, who, poll_id, choice=choices[who])) for who in VOTERS[:3]]
    await asyncio.sleep(0.5)
    assert not any(t.done() for t in first)
    assert await _rows(world, SecretBallot) == []
    rest = [asyncio.create_task(_vote(world, who, poll_id, choice=choices[who])) for who in VOTERS[3:]]
    answers = await asyncio.gather(*first, *rest)
    receipts = {}
    for who, (status, body) in zip(VOTERS, answers, strict=True):
        assert status == 200 and body["result"]["accepted"], body
        receipts[who] = body["result"]["receipt"]
    assert len(set(receipts.values())) == 5

    result = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]
    assert result["tally"]["counts"] == {"yes": 3, "no": 1, "abstain": 1}

    # At rest: the ballot table has no voter, time or order; no other row holds a receipt.
    async with world.live.app["db"].read() as db:
        columns = await db.run_sync(lambda s: [c["name"] for c in inspect(s.connection()).get_columns("secret_ballots")])
    assert sorted(columns) == ["id", "poll_id", "receipt", "selections", "status"]
    stored = await _rows(world, SecretBallot)
    assert sorted(b.receipt for b in stored) == sorted(receipts.values())
    others = json.dumps([r.result for r in await _rows(world, CommandResult)] +
                        [e.data for e in await _rows(world, Event)], ensure_ascii=False)
    assert not any(r in others for r in receipts.values())
    assert {r.result["result"]["receipt"] for r in await _rows(world, CommandResult) if r.name == "poll.vote"} == {None}
    assert len(await _rows(world, PollVoter)) == 5 and await _rows(world, NamedBallot) == []

    status, body = await world.live.request(
        "GET", f"/api/meetings/{world.meeting_id}/polls/{poll_id}/receipts", token=world.tokens["daibieu01"])
    assert status == 409  # not before publication
    await _ok(world, "chutri", "poll.publish", poll_id=poll_id)
    status, body = await world.live.request(
        "GET", f"/api/meetings/{world.meeting_id}/polls/{poll_id}/receipts", token=world.tokens["daibieu01"])
    assert status == 200, body
    lines = body["receipts"]
    assert [line["receipt"] for line in lines] == sorted(receipts.values())
    by_receipt = {line["receipt"]: line["selections"] for line in lines}
    assert all(by_receipt[receipts[who]] == [choices[who]] for who in VOTERS)

    # A secret ballot cannot be cast twice nor shown twice.
    status, body = await _vote(world, "daibieu01", poll_id, choice="no")
    assert status == 200 and body["result"] == {"accepted": True, "already_voted": True, "receipt": None}
    status, body = await _vote(world, "khach", poll_id, choice="no")
    assert status == 409  # not entitled, and closed anyway


async def test_secret_ballots_held_below_k_are_written_at_the_close(world):
    await _in_session(world)
    poll_id = await _poll(world, secret=True)
    pending = [asyncio.create_task(_vote(world, who, poll_id, choice="yes")) for who in VOTERS[:2]]
    await asyncio.sleep(0.3)
    assert not any(t.done() for t in pending)
    result = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]
    assert result["tally"]["counts"]["yes"] == 2
    assert all(status == 200 and body["result"]["receipt"] for status, body in await asyncio.gather(*pending))


async def test_retried_and_concurrent_votes_count_once(world):
    await _in_session(world)
    poll_id = await _poll(world)
    key = new_key()
    first = await _vote(world, "daibieu01", poll_id, key=key, choice="yes")
    again = await _vote(world, "daibieu01", poll_id, key=key, choice="yes")
    assert first == again and first[1]["result"]["voted_count"] == 1
    # Over socket.io too, with the same key.
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        message = {"name": "poll.vote", "key": key, "data": {"meeting_id": world.meeting_id, "poll_id": poll_id,
                                                             "choice": "yes"}}
        ack = await tablet.call("command", message, timeout=10)
        assert ack["ok"] and ack["result"] == first[1]["result"]
    finally:
        await tablet.disconnect()
    # Many at once from one voter: the same key, and different keys.
    same = new_key()
    burst = await asyncio.gather(
        *[_vote(world, "daibieu02", poll_id, key=same, choice="no") for _ in range(10)],
        *[_vote(world, "daibieu02", poll_id, choice="abstain") for _ in range(10)],
    )
    assert all(status == 200 for status, _ in burst), burst
    assert len({json.dumps(b) for _, b in burst[:10]}) == 1
    voters = [v.participant_id for v in await _rows(world, PollVoter)]
    assert sorted(voters) == sorted([world.participants["daibieu01"], world.participants["daibieu02"]])
    result = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]
    assert result["tally"]["ballots"] == 2


async def test_only_those_checked_in_at_the_opening_vote(world):
    await _in_session(world, present=VOTERS[:-1])
    poll_id = await _poll(world)
    await _ok(world, "vanphong", "attendance.set", participant_id=world.participants["daibieu03"], status="present")
    status, body = await _vote(world, "daibieu03", poll_id, choice="yes")
    assert status == 409 and body["error"]["details"]["reason"] == "not_entitled", body
    status, body = await _vote(world, "khach", poll_id, choice="yes")  # a guest has no vote
    assert status == 409 and body["error"]["details"]["reason"] == "not_entitled", body
    status, body = await _vote(world, "vanphong", poll_id, choice="yes")  # not a participant
    assert status == 403
    snap_poll = _poll_of(await _snapshot(world, "daibieu03"), poll_id)
    assert snap_poll["entitled_count"] == 4 and snap_poll["members"] == 5


async def test_change_of_vote_where_allowed(world):
    await _in_session(world)
    poll_id = await _poll(world, may_change_vote=True)
    fixed = await _poll(world)
    for p in (poll_id, fixed):
        assert (await _vote(world, "daibieu01", p, choice="yes"))[0] == 200
        status, body = await _vote(world, "daibieu01", p, choice="no")
        assert status == 200, body
    changed = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]["tally"]["counts"]
    kept = (await _ok(world, "chutri", "poll.close", poll_id=fixed))["poll"]["result"]["tally"]["counts"]
    assert changed == {"yes": 0, "no": 1, "abstain": 0} and kept == {"yes": 1, "no": 0, "abstain": 0}


async def test_election_with_k_seats(world):
    await _in_session(world)
    poll_id = await _poll(world, kind="election", title="Bầu Ban Thường vụ", seats=2,
                          options=[{"label": "Nguyễn Văn A"}, {"label": "Trần Thị B"}, {"label": "Lê Văn C"}],
                          majority={"base": "valid", "threshold": "1/2", "strict": True})
    status, body = await _vote(world, "daibieu03", poll_id, kept=["o1", "o2", "o3"])
    assert status == 409 and body["error"]["details"]["reason"] == "too_many_kept", body
    kept = [["o1", "o2"], ["o1", "o2"], ["o1", "o2"], ["o1", "o3"], ["o1", "o3"]]
    for who, names in zip(VOTERS, kept, strict=True):
        assert (await _vote(world, who, poll_id, kept=names))[0] == 200
    result = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]
    assert result["outcome"] == "passed" and result["winners"] == ["o1", "o2"]
    assert result["tally"]["counts"] == {"o1": 5, "o2": 3, "o3": 2}


async def test_show_of_hands_at_a_point_adds_to_totals(world):
    await _in_session(world)
    poll_id = await _poll(world, open_=False)
    await _ok(world, "chutri", "poll.open", poll_id=poll_id, points_present={"BN": 10})
    for who in VOTERS:
        assert (await _vote(world, who, poll_id, choice="yes"))[0] == 200
    status, body = await world.live.command(world.tokens["kythuat"], "poll.hands", meeting_id=world.meeting_id,
                                            poll_id=poll_id, point="BN", counts={"yes": 9, "no": 3})
    assert status == 422, body  # more hands than people at the point
    status, body = await world.live.command(world.tokens["kythuat"], "poll.hands", meeting_id=world.meeting_id,
                                            poll_id=poll_id, point="BN", counts={"yes": 7, "no": 2, "abstain": 1})
    assert status == 200, body
    assert _poll_of(await _snapshot(world, "daibieu01"), poll_id)["point_counts"] == {
        "BN": {"yes": 7, "no": 2, "abstain": 1}}
    # The hall is sent this point's figures, not the poll with every point's.
    last = (await _rows(world, Event))[-1]
    assert (last.type, last.audience, last.data) == ("poll.hands", "meeting", {
        "poll_id": poll_id, "point": "BN", "counts": {"yes": 7, "no": 2, "abstain": 1}})
    assert body["result"]["poll"]["point_counts"]["BN"] == {"yes": 7, "no": 2, "abstain": 1}
    result = (await _ok(world, "chutri", "poll.close", poll_id=poll_id))["poll"]["result"]
    assert result["tally"]["counts"] == {"yes": 12, "no": 2, "abstain": 1}
    assert result["tally"]["by_point"] == {"BN": {"yes": 7, "no": 2, "abstain": 1}}
    assert result["base"] == 15 and result["outcome"] == "passed"


async def test_deadline_closes_the_poll(world):
    await _in_session(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    try:
        await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        poll_id = await _poll(world, duration=1)
        assert (await _vote(world, "daibieu01", poll_id, choice="yes"))[0] == 200
        await _wait_for(lambda: any(e["type"] == "poll.updated" and e["data"]["poll"]["state"] == "closed"
                                    for e in tablet.received), timeout=6)
    finally:
        await tablet.disconnect()
    shown = _poll_of(await _snapshot(world, "chutri"), poll_id)
    assert shown["state"] == "closed" and shown["result"]["tally"]["counts"]["yes"] == 1
    status, body = await _vote(world, "daibieu02", poll_id, choice="yes")
    assert status == 409


async def test_policy_forbids_secret_polls(world):
    world.live.app["settings"].__dict__["secret_polls"] = "forbid"  # frozen dataclass: test-only override
    status, body = await world.live.command(world.tokens["vanphong"], "poll.create", meeting_id=world.meeting_id,
                                            kind="motion", title="Kín", secret=True)
    assert status == 403 and body["error"]["details"]["reason"] == "secret_forbidden", body
    status, body = await world.live.command(world.tokens["vanphong"], "poll.create", meeting_id=world.meeting_id,
                                            kind="motion", title="Công khai")
    assert status == 200, body


async def test_progress_is_throttled_and_tallies_go_to_the_secretariat(world):
    await _in_session(world)
    tablet = await world.live.socket(world.tokens["daibieu01"])
    console = await world.live.socket(world.tokens["vanphong"])
    seen: dict[str, list] = {"tablet": [], "tablet_tally": [], "console": [], "console_tally": []}
    loop = asyncio.get_running_loop()
    tablet.on("poll.progress", lambda d: seen["tablet"].append((loop.time(), d)))
    tablet.on("poll.tally", lambda d: seen["tablet_tally"].append(d))
    console.on("poll.progress", lambda d: seen["console"].append((loop.time(), d)))
    console.on("poll.tally", lambda d: seen["console_tally"].append(d))
    sio = world.live.app["sio"]
    emit = sio.emit
    sent: list[float] = []

    async def spy(event, data=None, **kwargs):
        if event == "poll.progress":
            sent.append(time.monotonic())
        return await emit(event, data, **kwargs)

    sio.emit = spy
    try:
        for client in (tablet, console):
            assert (await client.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        poll_id = await _poll(world)
        for who in VOTERS:  # one by one: five commits within about a second
            assert (await _vote(world, who, poll_id, choice="yes"))[0] == 200
        await _wait_for(lambda: seen["tablet"] and seen["tablet"][-1][1]["voted_count"] == 5)
        await _wait_for(lambda: seen["console_tally"] and seen["console_tally"][-1]["tally"]["counts"]["yes"] == 5)
    finally:
        sio.emit = emit
        await tablet.disconnect()
        await console.disconnect()
    # When the server sent them (not when they arrived: a loaded machine bunches arrivals).
    # The throttle keeps them half a second apart; the margin is for the database read
    # between the decision and the send. Without a throttle they would be milliseconds apart.
    assert all(b - a > 0.25 for a, b in zip(sent, sent[1:], strict=False)), sent
    assert seen["tablet"][-1][1] == {"meeting_id": world.meeting_id, "poll_id": poll_id, "voted_count": 5,
                                     "entitled_count": 5}
    assert seen["tablet_tally"] == []  # a delegate never gets the running tally
    # Progress is not in the log.
    assert not [e for e in await _rows(world, Event) if e.type.startswith("poll.") and e.type != "poll.updated"]


async def test_vote_counts_in_the_database_match_after_a_burst(world):
    """A burst of every voter at once, twice each: one voter mark and one ballot each."""
    await _in_session(world)
    poll_id = await _poll(world)
    answers = await asyncio.gather(*[_vote(world, who, poll_id, choice="yes") for who in VOTERS * 2])
    assert all(status == 200 for status, _ in answers)
    async with world.live.app["db"].read() as db:
        voters = await db.scalar(select(func.count()).select_from(PollVoter).where(PollVoter.poll_id == poll_id))
        ballots = await db.scalar(select(func.count()).select_from(NamedBallot).where(NamedBallot.poll_id == poll_id))
    assert voters == ballots == 5


async def test_bench_smoke(tmp_path):
    """The benchmark's own recount with tiny numbers: nothing lost, nothing twice."""
    from bench.votes import writer_throughput

    figures = await writer_throughput(tmp_path, ballots=300, producers=20, voters=100)
    assert figures["lost"] == 0 and figures["double_counted"] == 0 and figures["stored"] == 300


async def test_a_ballot_is_refused_once_its_session_ended_elsewhere(world):
    """The ballot writer checks the session in the transaction that stores the ballot:
    a session ended by another process is refused at once, not after the socket's cache."""
    from datetime import timedelta

    from sqlalchemy import update

    from server.auth.sessions import digest
    from server.store.tables import Session, utcnow

    await _in_session(world)
    poll_id = await _poll(world)
    tablets = {who: await world.live.socket(world.tokens[who]) for who in ("daibieu01", "daibieu02", "daibieu03")}
    closed = asyncio.Event()
    tablets["daibieu01"].on("disconnect", lambda *_: closed.set())
    try:
        for tablet in tablets.values():
            assert (await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        # Straight in the database, as another server process would: this one's socket layer
        # still holds both callers as checked a moment ago.
        async with world.live.app["db"].write() as db:
            await db.execute(update(Session).where(Session.token_hash == digest(world.tokens["daibieu01"]))
                             .values(revoked_at=utcnow()))
            await db.execute(update(Session).where(Session.token_hash == digest(world.tokens["daibieu02"]))
                             .values(expires_at=utcnow() - timedelta(seconds=1)))

        def ballot(choice: str) -> dict:
            return {"name": "poll.vote", "key": new_key(),
                    "data": {"meeting_id": world.meeting_id, "poll_id": poll_id, "choice": choice}}

        answers = await asyncio.gather(*(t.call("command", ballot("yes"), timeout=10) for t in tablets.values()))
        revoked, expired, fine = answers
        assert revoked["ok"] is False and revoked["error"]["code"] == "unauthorized", revoked
        assert expired["ok"] is False and expired["error"]["code"] == "unauthorized", expired
        assert fine["ok"] and fine["result"]["accepted"] and fine["result"]["voted_count"] == 1, fine
        await asyncio.wait_for(closed.wait(), 10)  # and the ended session's connection is closed
    finally:
        for tablet in tablets.values():
            await tablet.disconnect()
    voters = await _rows(world, PollVoter)
    assert [v.participant_id for v in voters if v.poll_id == poll_id] == [world.participants["daibieu03"]]


async def test_running_tally_of_a_choice_poll_is_the_count_of_its_ballots(world):
    """poll.tally (counted from grouped rows while open) says what counting every ballot says."""
    from server.domain import polls as rules
    from server.store.poll_views import ballots_of, domain_poll
    from server.store.tables import Poll

    await _in_session(world)
    poll_id = await _poll(world, kind="choice", title="Chọn phương án", min_selections=0, max_selections=2,
                          options=[{"label": "A"}, {"label": "B"}, {"label": "C"}])
    console = await world.live.socket(world.tokens["vanphong"])
    tallies: list[dict] = []
    console.on("poll.tally", lambda d: tallies.append(d["tally"]))
    try:
        assert (await console.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10))["ok"]
        picks = [["o1"], ["o2", "o1"], ["o1", "o2"], ["o3"], []]  # the same pair in either order; one blank
        for who, selections in zip(VOTERS, picks, strict=True):
            status, body = await _vote(world, who, poll_id, selections=selections)
            assert status == 200, body
        async with world.live.app["db"].read() as db:
            row = await db.get(Poll, poll_id)
            expected = rules.count_votes(domain_poll(row), await ballots_of(db, row)).as_dict()
        await _wait_for(lambda: tallies and tallies[-1] == expected)
    finally:
        await console.disconnect()
