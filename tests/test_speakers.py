"""The list of speakers (đăng ký phát biểu), end to end: REST, socket.io, the snapshot."""

from __future__ import annotations

import asyncio

from tests.conftest import World, new_key, wait_for


async def _run(world: World, who: str, name: str, **data) -> tuple[int, dict]:
    return await world.live.command(world.tokens[who], name, key=new_key(), meeting_id=world.meeting_id, **data)


async def _ok(world: World, who: str, name: str, **data) -> dict:
    status, body = await _run(world, who, name, **data)
    assert status == 200, (name, who, body)
    return body["result"]


async def _in_session(world: World) -> None:
    await _ok(world, "vanphong", "meeting.publish")
    await _ok(world, "chutri", "meeting.start")


def _names(speakers: list[dict], state: str | None = None) -> list[str]:
    return [s["name"] for s in speakers if state is None or s["state"] == state]


async def test_points_of_order_jump_the_queue_and_the_chair_orders_it(world):
    await _in_session(world)
    tablet = await world.live.socket(world.tokens["daibieu02"])
    try:
        joined = await tablet.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
        assert joined["ok"] and joined["snapshot"]["speakers"] == []

        first = await _ok(world, "daibieu01", "speaker.request", topic="  Về chỉ tiêu tăng trưởng ")
        await _ok(world, "daibieu02", "speaker.request", topic="Về nhân sự")
        await _ok(world, "daibieu03", "speaker.request", kind="point_of_order", topic="Đề nghị biểu quyết")
        await _ok(world, "khach", "speaker.request", kind="point_of_order")
        speakers = (await _ok(world, "thuky", "speaker.request", topic="Về tổ chức"))["speakers"]
        assert _names(speakers) == ["Đỗ Thị Dung", "Vũ Minh Khách", "Phạm Thị Bình", "Hoàng Văn Cường", "Trần Thị Hoa"]
        assert [s["kind"] for s in speakers][:3] == ["point_of_order", "point_of_order", "ordinary"]
        assert [s["position"] for s in speakers] == [0, 1, 2, 3, 4]
        assert speakers[2]["topic"] == "Về chỉ tiêu tăng trưởng"
        assert speakers[2]["id"] == first["request_id"]
        assert {s["state"] for s in speakers} == {"waiting"}

        # A second tap on the tablet does not queue the same delegate twice.
        status, body = await _run(world, "daibieu01", "speaker.request", topic="Lần nữa")
        assert status == 409 and body["error"]["details"]["reason"] == "already_waiting"

        ids = {s["name"]: s["id"] for s in speakers}
        # Only its author (or the staff, or the chair declining) withdraws a request.
        status, body = await _run(world, "daibieu01", "speaker.withdraw", request_id=ids["Hoàng Văn Cường"])
        assert status == 403 and body["error"]["code"] == "forbidden"
        speakers = (await _ok(world, "daibieu02", "speaker.withdraw", request_id=ids["Hoàng Văn Cường"]))["speakers"]
        assert _names(speakers, "waiting") == ["Đỗ Thị Dung", "Vũ Minh Khách", "Phạm Thị Bình", "Trần Thị Hoa"]
        assert speakers[-1]["name"] == "Hoàng Văn Cường" and speakers[-1]["state"] == "withdrawn"

        # The chair orders the queue, within each group.
        speakers = (await _ok(world, "chutri", "speaker.move", request_id=ids["Trần Thị Hoa"], position=2))["speakers"]
        assert _names(speakers, "waiting") == ["Đỗ Thị Dung", "Vũ Minh Khách", "Trần Thị Hoa", "Phạm Thị Bình"]
        status, body = await _run(world, "chutri", "speaker.move", request_id=ids["Trần Thị Hoa"], position=0)
        assert status == 409 and body["error"]["details"]["reason"] == "bad_position"
        status, body = await _run(world, "daibieu01", "speaker.move", request_id=ids["Phạm Thị Bình"], position=2)
        assert status == 403
        speakers = (await _ok(world, "chutri", "speaker.move", request_id=ids["Vũ Minh Khách"], position=0))["speakers"]
        assert _names(speakers, "waiting") == ["Vũ Minh Khách", "Đỗ Thị Dung", "Trần Thị Hoa", "Phạm Thị Bình"]

        # Every tablet gets the whole list, in order, and the snapshot agrees.
        await wait_for(lambda: any(
            e["type"] == "speakers.updated" and _names(e["data"]["speakers"], "waiting")[0] == "Vũ Minh Khách"
            for e in tablet.received))
        last = [e for e in tablet.received if e["type"] == "speakers.updated"][-1]
        assert last["audience"] == "meeting"
        status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}",
                                                token=world.tokens["daibieu03"])
        assert status == 200 and snap["speakers"] == last["data"]["speakers"] == speakers
    finally:
        await tablet.disconnect()


async def test_the_chair_gives_the_floor_one_speech_at_a_time_and_durations_are_kept(world):
    # Requests may be made once the meeting is published, not while it is a draft.
    status, body = await _run(world, "daibieu01", "speaker.request")
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    await _ok(world, "vanphong", "meeting.publish")
    a = (await _ok(world, "daibieu01", "speaker.request", topic="Về kinh tế"))["request_id"]
    b = (await _ok(world, "daibieu02", "speaker.request", topic="Về xã hội"))["request_id"]
    await _ok(world, "chutri", "speaker.approve", request_id=a)
    # The floor is given only in session.
    status, body = await _run(world, "chutri", "speaker.start", request_id=a)
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    await _ok(world, "chutri", "meeting.start")

    status, body = await _run(world, "daibieu02", "speaker.approve", request_id=b)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await _run(world, "chutri", "speaker.start", request_id=b)
    assert status == 409 and body["error"]["details"]["reason"] == "not_approved"

    speakers = (await _ok(world, "chutri", "speaker.start", request_id=a, limit_seconds=120))["speakers"]
    now = speakers[0]
    assert (now["name"], now["state"], now["limit_seconds"]) == ("Phạm Thị Bình", "speaking", 120)
    assert now["started_at"].endswith("Z") and now["ended_at"] is None and now["position"] is None
    status, body = await _run(world, "daibieu01", "speaker.withdraw", request_id=a)
    assert status == 409 and body["error"]["details"]["reason"] == "already_speaking"

    await _ok(world, "chutri", "speaker.approve", request_id=b)
    status, body = await _run(world, "chutri", "speaker.start", request_id=b)
    assert status == 409 and body["error"]["details"]["reason"] == "speech_in_progress"

    await asyncio.sleep(1.2)
    status, body = await _run(world, "chutri", "speaker.stop", request_id=b)  # b is not speaking
    assert status == 409
    speakers = (await _ok(world, "chutri", "speaker.stop"))["speakers"]
    done = next(s for s in speakers if s["id"] == a)
    assert done["state"] == "done" and done["seconds"] >= 1 and done["ended_at"].endswith("Z")
    status, body = await _run(world, "chutri", "speaker.stop")
    assert status == 409 and body["error"]["details"]["reason"] == "no_speech"

    # The next speech gets the default limit; the finished ones keep their order and time.
    speakers = (await _ok(world, "vanphong", "speaker.start", request_id=b))["speakers"]
    assert speakers[0]["limit_seconds"] == 300 and speakers[0]["name"] == "Hoàng Văn Cường"
    speakers = (await _ok(world, "vanphong", "speaker.stop", request_id=b))["speakers"]
    assert [(s["name"], s["state"]) for s in speakers] == [("Phạm Thị Bình", "done"), ("Hoàng Văn Cường", "done")]
    assert speakers[0]["seconds"] >= 1 and speakers[1]["seconds"] >= 0

    # The secretary writes the summary for the minutes; the chair may not.
    status, body = await _run(world, "chutri", "speaker.summary", request_id=a, summary="Tóm tắt")
    assert status == 403
    speakers = (await _ok(world, "thuky", "speaker.summary", request_id=a,
                          summary="Đề nghị tăng chỉ tiêu thu ngân sách"))["speakers"]
    assert speakers[0]["summary"] == "Đề nghị tăng chỉ tiêu thu ngân sách"
    assert speakers[0]["seconds"] == done["seconds"]


async def test_an_operator_asks_the_floor_for_its_point(world):
    await _in_session(world)
    result = await _ok(world, "kythuat", "speaker.request", topic="Điểm cầu xin phát biểu")
    point = result["speakers"][0]
    assert point["point"] == "BN" and point["name"] == "Tỉnh Bắc Ninh"
    assert point["participant_id"] == world.participants["kythuat"]
    status, body = await _run(world, "kythuat", "speaker.request")
    assert status == 409 and body["error"]["details"]["reason"] == "already_waiting"
    # Observers and outsiders do not ask for the floor.
    for who in ("quansat", "nguoingoai", "vanphong"):
        status, body = await _run(world, who, "speaker.request")
        assert status == 403, who
    # The point's operator withdraws its own request.
    speakers = (await _ok(world, "kythuat", "speaker.withdraw", request_id=result["request_id"]))["speakers"]
    assert speakers[0]["state"] == "withdrawn"
    status, body = await _run(world, "chutri", "speaker.approve", request_id=999999)
    assert status == 404
