"""Bad input gets a clear, typed refusal, and a refused command leaves no trace.

REST answers 4xx with `{"error": {"code", "message", "details"?}}`; socket.io acks
`{"ok": false, "error": {...}}`. After every refusal the meeting's snapshot (and its
`head`), the units, the meetings and the accounts are exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

import pytest
import socketio
from sqlalchemy import update

from server.auth.sessions import digest
from server.store.tables import Session, utcnow
from tests.conftest import World, new_key

MiB = 1024 * 1024


# ---------------------------------------------------------------- helpers


async def state(world: World) -> dict:
    """Everything a refused command could have touched, as the secretariat reads it."""
    live, token = world.live, world.tokens["vanphong"]
    out = {}
    for name, path in (
        ("snapshot", f"/api/meetings/{world.meeting_id}"),
        ("events", f"/api/meetings/{world.meeting_id}/events?since=0"),
        ("units", "/api/units"),
        ("meetings", "/api/meetings"),
        ("users", "/api/users"),
    ):
        status, body = await live.request("GET", path, token=token)
        assert status == 200, (path, body)
        out[name] = body
    return out


def is_error(status: int, body, want_status: int, code: str) -> bool:
    return (
        status == want_status
        and isinstance(body, dict)
        and set(body) == {"error"}
        and body["error"].get("code") == code
        and isinstance(body["error"].get("message"), str)
        and body["error"]["message"] != ""
    )


def fields(body) -> set[str]:
    return {d["field"] for d in (body.get("error", {}).get("details") or [])}


def is_refusal(ack, code: str) -> bool:
    return (
        isinstance(ack, dict)
        and ack.get("ok") is False
        and isinstance(ack.get("error"), dict)
        and ack["error"].get("code") == code
        and isinstance(ack["error"].get("message"), str)
    )


async def post(world: World, who: str, name: str, data, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return await world.live.request(
        "POST", f"/api/commands/{name}", token=world.tokens[who], json=data, headers=headers
    )


async def raw(world: World, method: str, path: str, body: bytes | str, who: str = "vanphong"):
    return await world.live.request(
        method, path, token=world.tokens[who], data=body, headers={"Content-Type": "application/json"}
    )


async def first_item(world: World) -> int:
    snap = (await state(world))["snapshot"]
    return snap["agenda"][0]["id"]


# ---------------------------------------------------------------- REST: the body


MALFORMED = [
    b"{not json",
    b'{"meeting_id": 1,}',
    b'{"meeting_id": 1',
    b"'single quotes'",
    b"\xff\xfe{}",
    b'{"title": "\xff"}',
    b"",
]


async def test_malformed_json_is_bad_json(world):
    m = world.meeting_id
    before = await state(world)
    problems = []
    for body in MALFORMED:
        targets = [("POST", "/api/commands/meeting.update"), ("PATCH", f"/api/meetings/{m}"),
                   ("POST", f"/api/meetings/{m}/agenda")]
        for method, path in targets:
            # An empty body on a command's own route is "no fields", which is a different matter.
            if body == b"" and path != "/api/commands/meeting.update":
                continue
            status, answer = await raw(world, method, path, body)
            if not is_error(status, answer, 400, "bad_json"):
                problems.append((method, path, body, status, answer))
    assert problems == []
    assert await state(world) == before


async def test_a_json_body_that_is_not_an_object_is_bad_json(world):
    m = world.meeting_id
    before = await state(world)
    problems = []
    for body in ("[]", "[1, 2]", '"Khai mạc"', "42", "null", "true", '[{"meeting_id": 1}]'):
        for method, path in (("POST", "/api/commands/meeting.update"), ("PATCH", f"/api/meetings/{m}"),
                             ("POST", "/api/auth/login")):
            status, answer = await raw(world, method, path, body.encode())
            if not is_error(status, answer, 400, "bad_json"):
                problems.append((body, method, path, status, answer))
    assert problems == []
    assert await state(world) == before


async def test_an_oversized_body_is_too_large(world):
    m = world.meeting_id
    before = await state(world)
    big = json.dumps({"meeting_id": m, "title": "Báo cáo " + "x" * MiB})
    assert len(big.encode()) > MiB
    for method, path, body in (
        ("POST", "/api/commands/agenda.add", big),
        ("POST", f"/api/meetings/{m}/agenda", json.dumps({"title": "x" * (MiB + 10)})),
        ("PATCH", f"/api/meetings/{m}", json.dumps({"place": "y" * (MiB + 10)})),
    ):
        status, answer = await raw(world, method, path, body)
        assert is_error(status, answer, 413, "too_large"), (path, status, answer)
    assert await state(world) == before
    # Just under the limit is read, and then judged by the schema (a title is at most 500 characters).
    status, answer = await raw(world, "POST", f"/api/meetings/{m}/agenda", json.dumps({"title": "x" * (MiB - 100)}))
    assert is_error(status, answer, 422, "invalid") and "title" in fields(answer), (status, answer)
    assert await state(world) == before


# ---------------------------------------------------------------- REST: the schema


def wrong_types(world: World, item: int) -> list[tuple[str, dict, str]]:
    m = world.meeting_id
    return [
        ("meeting.update", {"meeting_id": m, "title": 5}, "title"),
        ("meeting.update", {"meeting_id": "năm", "title": "Hội nghị"}, "meeting_id"),
        ("meeting.update", {"meeting_id": m, "title": "   "}, "title"),
        ("meeting.update", {"meeting_id": m, "starts_at": "sáng mai"}, "starts_at"),
        ("meeting.update", {"meeting_id": m, "quorum": "3/2"}, "quorum"),
        ("meeting.update", {"meeting_id": m, "quorum": "0"}, "quorum"),
        ("meeting.update", {"meeting_id": m, "quorum": "hai phần ba"}, "quorum"),
        ("meeting.update", {"meeting_id": m, "place": {"tầng": 3}}, "place"),
        ("meeting.create", {"title": "Hội nghị", "unit_id": [world.unit_id]}, "unit_id"),
        ("meeting.create", {"unit_id": world.unit_id}, "title"),
        ("agenda.add", {"meeting_id": m, "title": ["Khai mạc"]}, "title"),
        ("agenda.add", {"meeting_id": m, "title": "Khai mạc", "planned_minutes": "nhiều"}, "planned_minutes"),
        ("agenda.add", {"meeting_id": m, "title": "Khai mạc", "planned_minutes": -5}, "planned_minutes"),
        ("agenda.add", {"meeting_id": m, "title": "Khai mạc", "planned_minutes": 2.5}, "planned_minutes"),
        ("agenda.add", {"meeting_id": m, "title": "x" * 501}, "title"),
        ("agenda.move", {"meeting_id": m, "item_id": item, "position": -1}, "position"),
        ("agenda.move", {"meeting_id": m, "item_id": item}, "position"),
        ("agenda.set_current", {"meeting_id": m}, "item_id"),
        ("participant.add", {"meeting_id": m, "full_name": "Khách", "role": "guest", "voting": "có lẽ"}, "voting"),
        ("attendance.set", {"meeting_id": m, "participant_id": 1, "status": "có mặt"}, "status"),
        ("user.create", {"username": "Nguyễn Văn A", "full_name": "A", "password": "mat-khau-dai"}, "username"),
        ("user.create", {"username": "nva", "full_name": "A", "password": "ngan"}, "password"),
        ("unit.create", {"code": "X", "name": "Xã", "level": "Xã", "valid_from": "30/06/2025"}, "valid_from"),
    ]


async def test_wrong_types_are_invalid_and_name_the_field(world):
    before = await state(world)
    problems = []
    for name, data, field in wrong_types(world, await first_item(world)):
        status, body = await post(world, "admin", name, data, key=new_key())
        if not is_error(status, body, 422, "invalid") or field not in fields(body):
            problems.append((name, data, field, status, body))
    assert problems == []
    assert await state(world) == before


async def test_unknown_fields_are_invalid_and_named(world):
    m = world.meeting_id
    before = await state(world)
    cases = [
        ("POST", "/api/commands/meeting.update", {"meeting_id": m, "colour": "đỏ"}, "colour"),
        ("PATCH", f"/api/meetings/{m}", {"title": "Hội nghị", "status": "closed"}, "status"),
        ("POST", f"/api/meetings/{m}/agenda", {"titel": "Khai mạc"}, "titel"),
        ("POST", f"/api/meetings/{m}/check-in", {"participant_id": 3}, "participant_id"),
        ("POST", "/api/commands/agenda.add", {"meeting_id": m, "title": "Khai mạc", "id": 99}, "id"),
    ]
    for method, path, data, field in cases:
        status, body = await world.live.request(method, path, token=world.tokens["vanphong"], json=data)
        assert is_error(status, body, 422, "invalid"), (path, status, body)
        assert field in fields(body), (path, body)
    assert await state(world) == before


async def test_a_path_parameter_in_the_body_is_refused(world):
    before = await state(world)
    status, body = await world.live.request(
        "PATCH", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"],
        json={"meeting_id": world.meeting_id + 1, "title": "Hội nghị khác"},
    )
    assert is_error(status, body, 422, "invalid")
    assert await state(world) == before


async def test_a_bad_idempotency_key_is_invalid(world):
    before = await state(world)
    for key in ("", " ", "k" * 101):
        status, body = await world.live.request(
            "POST", "/api/commands/meeting.update", token=world.tokens["vanphong"],
            json={"meeting_id": world.meeting_id, "place": "Phòng 2"}, headers={"Idempotency-Key": key},
        )
        assert is_error(status, body, 422, "invalid"), (key, status, body)
    assert await state(world) == before


# ---------------------------------------------------------------- REST: rules, roles, names, keys


async def test_lifecycle_steps_out_of_order(world):
    m, who = world.meeting_id, "vanphong"
    walk = [
        # (step, expected answer) in a draft, then along the lifecycle
        ("start", 409), ("adjourn", 409), ("resume", 409), ("close", 409),
        ("publish", 200),
        ("publish", 409), ("adjourn", 409), ("resume", 409), ("close", 409),
        ("start", 200),
        ("start", 409), ("publish", 409), ("resume", 409),
        ("adjourn", 200),
        ("adjourn", 409), ("start", 409), ("publish", 409),
        ("resume", 200),
        ("close", 200),
        ("publish", 409), ("start", 409), ("adjourn", 409), ("resume", 409), ("close", 409),
    ]
    for step, expected in walk:
        before = await state(world)
        status, body = await post(world, who, f"meeting.{step}", {"meeting_id": m}, key=new_key())
        if expected == 200:
            assert status == 200, (step, body)
            assert body["seq"] == before["snapshot"]["head"] + 1
        else:
            assert is_error(status, body, 409, "invalid_transition"), (step, status, body)
            assert await state(world) == before, step
    # Over its own route as well.
    before = await state(world)
    status, body = await world.live.request("POST", f"/api/meetings/{m}/start", token=world.tokens[who])
    assert is_error(status, body, 409, "invalid_transition")
    assert await state(world) == before


async def test_publish_needs_an_agenda_and_a_chair(world):
    status, body = await post(world, "vanphong", "meeting.create", {"title": "Hội nghị chuyên đề", "unit_id": world.unit_id})
    assert status == 200
    other = body["result"]["meeting"]["id"]

    async def both() -> tuple:
        _, snap = await world.live.request("GET", f"/api/meetings/{other}", token=world.tokens["vanphong"])
        return snap, await state(world)

    for missing, then in (
        ("agenda", ("agenda.add", {"meeting_id": other, "title": "Khai mạc"})),
        ("chair", ("participant.add", {"meeting_id": other, "user_id": world.users["chutri"], "role": "chair"})),
    ):
        before = await both()
        status, body = await post(world, "vanphong", "meeting.publish", {"meeting_id": other}, key=new_key())
        assert is_error(status, body, 409, "conflict") and missing in body["error"]["message"], body
        assert await both() == before
        status, body = await post(world, "vanphong", *then)
        assert status == 200, body
    status, body = await post(world, "vanphong", "meeting.publish", {"meeting_id": other})
    assert status == 200, body


async def test_a_delegate_cannot_run_secretariat_commands(world):
    m = world.meeting_id
    before = await state(world)
    for name, data in (
        ("meeting.update", {"meeting_id": m, "title": "Đổi tên"}),
        ("meeting.publish", {"meeting_id": m}),
        ("agenda.add", {"meeting_id": m, "title": "Thêm nội dung"}),
        ("participant.add", {"meeting_id": m, "full_name": "Bạn tôi", "role": "delegate"}),
        ("attendance.set", {"meeting_id": m, "participant_id": world.participants["daibieu02"], "status": "absent"}),
        ("meeting.create", {"title": "Hội nghị riêng", "unit_id": world.unit_id}),
        ("unit.create", {"code": "X1", "name": "Xã Mới", "level": "Xã"}),
        ("user.create", {"username": "ban.toi", "full_name": "Bạn Tôi", "password": "mat-khau-dai", "roles": ["admin"]}),
    ):
        status, body = await post(world, "daibieu01", name, data, key=new_key())
        assert is_error(status, body, 403, "forbidden"), (name, status, body)
    assert await state(world) == before


async def _expire(world: World, token: str) -> None:
    async with world.live.app["db"].write() as db:
        await db.execute(
            update(Session).where(Session.token_hash == digest(token)).values(expires_at=utcnow() - timedelta(minutes=1))
        )


async def test_stale_and_forged_tokens_are_unauthorized(world):
    live, m = world.live, world.meeting_id
    stale = await live.login("vanphong")
    status, _ = await live.request("GET", "/api/auth/me", token=stale)
    assert status == 200
    await _expire(world, stale)
    before = await state(world)
    for token in (stale, "forged-" + "x" * 40, stale[:-1] + ("A" if stale[-1] != "A" else "B"), "x" * 201):
        for method, path, data in (
            ("GET", "/api/auth/me", None),
            ("GET", f"/api/meetings/{m}", None),
            ("POST", "/api/commands/meeting.update", {"meeting_id": m, "title": "Đổi tên"}),
            ("PATCH", f"/api/meetings/{m}", {"title": "Đổi tên"}),
            ("POST", "/api/auth/logout", None),
        ):
            status, body = await live.request(method, path, token=token, json=data)
            assert is_error(status, body, 401, "unauthorized"), (token[:10], path, status, body)
    assert await state(world) == before
    # A stale token cannot open a socket either.
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live.url, auth={"token": stale}, transports=["websocket"], wait_timeout=10)


async def test_an_unknown_command(world):
    before = await state(world)
    for name in ("meeting.explode", "meeting", "MEETING.PUBLISH", "agenda.add ", "x" * 200):
        status, body = await post(world, "vanphong", name, {"meeting_id": world.meeting_id})
        assert is_error(status, body, 404, "unknown_command"), (name, status, body)
    assert await state(world) == before


async def test_an_idempotency_key_reused_for_another_command(world):
    m, key = world.meeting_id, new_key()
    status, first = await post(world, "vanphong", "agenda.add", {"meeting_id": m, "title": "Thảo luận tổ"}, key=key)
    assert status == 200
    before = await state(world)
    status, body = await post(world, "vanphong", "meeting.update", {"meeting_id": m, "title": "Đổi tên"}, key=key)
    assert is_error(status, body, 409, "idempotency_conflict"), body
    assert await state(world) == before
    # The first command's retry answers its first result and changes nothing.
    status, again = await post(world, "vanphong", "agenda.add", {"meeting_id": m, "title": "Thảo luận tổ"}, key=key)
    assert status == 200 and again == first
    assert await state(world) == before
    # Keys belong to an account: another account may use the same one.
    status, body = await post(world, "thuky", "meeting.update", {"meeting_id": m, "place": "Phòng 2"}, key=key)
    assert status == 200, body


async def test_a_refused_command_does_not_use_up_its_key(world):
    m, key = world.meeting_id, new_key()
    before = await state(world)
    status, body = await post(world, "vanphong", "meeting.start", {"meeting_id": m}, key=key)
    assert is_error(status, body, 409, "invalid_transition")
    status, body = await post(world, "vanphong", "agenda.add", {"meeting_id": m, "title": "x" * 501}, key=key)
    assert is_error(status, body, 422, "invalid")
    assert await state(world) == before
    # The key is still free: another command may claim it, and it runs.
    status, body = await post(world, "vanphong", "meeting.publish", {"meeting_id": m}, key=key)
    assert status == 200, body
    # Now it is taken.
    status, body = await post(world, "vanphong", "meeting.start", {"meeting_id": m}, key=key)
    assert is_error(status, body, 409, "idempotency_conflict")


# ---------------------------------------------------------------- nothing half-written


def refusals(world: World, item: int, sub: int) -> list[tuple[str, str, dict, int, str]]:
    """(who, command, data, status, code): refused at every stage of a command's run."""
    m = world.meeting_id
    p = world.participants
    return [
        # the schema
        ("vanphong", "agenda.add", {"meeting_id": m, "title": ""}, 422, "invalid"),
        # the meeting does not exist
        ("vanphong", "agenda.add", {"meeting_id": 987654, "title": "Khai mạc"}, 404, "not_found"),
        # the role
        ("khach", "agenda.remove", {"meeting_id": m, "item_id": item}, 403, "forbidden"),
        ("vanphong", "attendance.check_in", {"meeting_id": m}, 403, "forbidden"),
        # a row that is not there or belongs elsewhere
        ("vanphong", "agenda.update", {"meeting_id": m, "item_id": 987654, "title": "Khác"}, 404, "not_found"),
        ("vanphong", "agenda.add", {"meeting_id": m, "title": "Con", "parent_id": 987654}, 404, "not_found"),
        ("vanphong", "agenda.update", {"meeting_id": m, "item_id": item, "unit_id": 987654}, 404, "not_found"),
        ("vanphong", "participant.update", {"meeting_id": m, "participant_id": 987654, "title": "A"}, 404, "not_found"),
        ("vanphong", "participant.add", {"meeting_id": m, "user_id": 987654, "role": "guest"}, 404, "not_found"),
        ("vanphong", "meeting.create", {"title": "Hội nghị", "unit_id": 987654}, 404, "not_found"),
        ("admin", "unit.update", {"unit_id": world.unit_id, "parent_id": 987654}, 404, "not_found"),
        # a rule, after some of the change was already made in memory
        ("vanphong", "agenda.move", {"meeting_id": m, "item_id": item, "parent_id": sub, "position": 0}, 409, "conflict"),
        ("vanphong", "agenda.set_current", {"meeting_id": m, "item_id": item}, 409, "conflict"),
        ("vanphong", "attendance.set", {"meeting_id": m, "participant_id": p["daibieu02"], "status": "present"}, 409,
         "conflict"),
        ("vanphong", "participant.add", {"meeting_id": m, "full_name": "Không vai", "role": "vua"}, 422, "invalid"),
        ("vanphong", "participant.add", {"meeting_id": m, "role": "guest"}, 422, "invalid"),
        ("admin", "user.create", {"username": "ai.do", "full_name": "A", "password": "mat-khau-dai", "roles": ["vua"]},
         422, "invalid"),
        ("vanphong", "meeting.start", {"meeting_id": m}, 409, "invalid_transition"),
        ("admin", "unit.update", {"unit_id": world.unit_id, "name": "Tỉnh Mới", "parent_id": world.unit_id}, 409,
         "conflict"),
        # a constraint of the database, met at the flush
        ("vanphong", "participant.add", {"meeting_id": m, "user_id": world.users["chutri"], "role": "delegate"}, 409,
         "conflict"),
        ("admin", "user.create", {"username": "vanphong", "full_name": "Trùng tên", "password": "mat-khau-dai"}, 409,
         "conflict"),
        ("admin", "unit.create", {"code": "BN", "name": "Trùng mã", "level": "Tỉnh"}, 409, "conflict"),
    ]


async def _tree(world: World) -> tuple[int, int]:
    """An item with a sub-item, to try moving the item under its own child."""
    m = world.meeting_id
    item = await first_item(world)
    status, body = await post(world, "vanphong", "agenda.add", {"meeting_id": m, "title": "Mục con", "parent_id": item})
    assert status == 200
    return item, body["result"]["item_id"]


async def test_refused_commands_leave_nothing_half_written_over_rest(world):
    item, sub = await _tree(world)
    problems = []
    for who, name, data, want_status, code in refusals(world, item, sub):
        before = await state(world)
        key = new_key()
        status, body = await post(world, who, name, data, key=key)
        if not is_error(status, body, want_status, code):
            problems.append((who, name, data, status, body))
        if await state(world) != before:
            problems.append((who, name, data, "changed the state"))
    assert problems == []


async def test_refused_commands_leave_nothing_half_written_over_socketio(world):
    item, sub = await _tree(world)
    clients: dict[str, socketio.AsyncClient] = {}
    try:
        problems = []
        for who, name, data, _, code in refusals(world, item, sub):
            if who not in clients:
                clients[who] = await world.live.socket(world.tokens[who])
            before = await state(world)
            ack = await clients[who].call("command", {"name": name, "key": new_key(), "data": data}, timeout=15)
            if not is_refusal(ack, code):
                problems.append((who, name, data, ack))
            if await state(world) != before:
                problems.append((who, name, data, "changed the state"))
        assert problems == []
    finally:
        for client in clients.values():
            await client.disconnect()


# ---------------------------------------------------------------- socket.io


async def test_socketio_refusals(world):
    m = world.meeting_id
    secretariat = await world.live.socket(world.tokens["vanphong"])
    delegate = await world.live.socket(world.tokens["daibieu01"])
    key = new_key()
    try:
        ack = await secretariat.call("command", {"name": "agenda.add", "key": key,
                                                 "data": {"meeting_id": m, "title": "Thảo luận tổ"}}, timeout=10)
        assert ack["ok"] is True and isinstance(ack["seq"], int), ack
        first = ack
        before = await state(world)
        cases = [
            (secretariat, "hello", "invalid"),
            (secretariat, [1, 2, 3], "invalid"),
            (secretariat, 42, "invalid"),
            (secretariat, None, "invalid"),
            (secretariat, {"data": {"meeting_id": m}}, "invalid"),  # no name
            (secretariat, {"name": 5, "data": {"meeting_id": m}}, "invalid"),
            (secretariat, {"name": None}, "invalid"),
            (secretariat, {"name": "meeting.publish", "data": [m]}, "invalid"),
            (secretariat, {"name": "meeting.publish", "data": "meeting 1"}, "invalid"),
            (secretariat, {"name": "meeting.publish", "data": None}, "invalid"),
            (secretariat, {"name": "meeting.publish", "key": 7, "data": {"meeting_id": m}}, "invalid"),
            (secretariat, {"name": "meeting.publish", "key": "", "data": {"meeting_id": m}}, "invalid"),
            (secretariat, {"name": "meeting.publish", "key": "k" * 101, "data": {"meeting_id": m}}, "invalid"),
            (secretariat, {"name": "meeting.explode", "data": {"meeting_id": m}}, "unknown_command"),
            (secretariat, {"name": "meeting.start", "data": {"meeting_id": m}}, "invalid_transition"),
            (secretariat, {"name": "meeting.update", "key": key, "data": {"meeting_id": m, "title": "Đổi"}},
             "idempotency_conflict"),
            (delegate, {"name": "meeting.update", "data": {"meeting_id": m, "title": "Đổi tên"}}, "forbidden"),
            (delegate, {"name": "agenda.add", "data": {"meeting_id": m, "title": "Của tôi"}}, "forbidden"),
        ]
        for client, message, code in cases:
            ack = await client.call("command", message, timeout=10)
            assert is_refusal(ack, code), (message, ack)
        # Schema refusals name the field.
        ack = await secretariat.call("command", {"name": "meeting.update",
                                                 "data": {"meeting_id": m, "colour": "đỏ", "title": 5}}, timeout=10)
        assert is_refusal(ack, "invalid")
        assert {d["field"] for d in ack["error"]["details"]} == {"colour", "title"}
        # The retry of the first command answers the first result.
        ack = await secretariat.call("command", {"name": "agenda.add", "key": key,
                                                 "data": {"meeting_id": m, "title": "Thảo luận tổ"}}, timeout=10)
        assert ack == first
        assert await state(world) == before
        # Other events answer through the ack as well.
        for event, message, code in (
            ("join", "hello", "invalid"),
            ("join", {"meeting_id": "một"}, "invalid"),
            ("join", {"meeting_id": True}, "invalid"),
            ("join", {"meeting_id": 987654}, "not_found"),
            ("join", {"meeting_id": m, "since": "0"}, "invalid"),
            ("resync", {}, "invalid"),
            ("leave", [m], "invalid"),
        ):
            ack = await secretariat.call(event, message, timeout=10)
            assert is_refusal(ack, code), (event, message, ack)
        # The connections are still usable after all that.
        ack = await delegate.call("join", {"meeting_id": m, "since": None}, timeout=10)
        assert is_refusal(ack, "not_found")  # a draft is not for delegates
        ack = await secretariat.call("join", {"meeting_id": m, "since": None}, timeout=10)
        assert ack["ok"] is True and ack["head"] == before["snapshot"]["head"]
        assert await state(world) == before
    finally:
        await secretariat.disconnect()
        await delegate.disconnect()


async def test_socketio_stale_session(world):
    token = await world.live.login("vanphong")
    client = await world.live.socket(token)
    try:
        await _expire(world, token)
        before = await state(world)
        ack = None
        with contextlib.suppress(socketio.exceptions.TimeoutError):
            ack = await client.call("command", {"name": "meeting.update",
                                                "data": {"meeting_id": world.meeting_id, "title": "Đổi tên"}}, timeout=5)
        assert ack is not None and is_refusal(ack, "unauthorized"), ack
        assert await state(world) == before
    finally:
        if client.connected:
            await client.disconnect()


async def test_an_oversized_socketio_message_is_dropped_with_its_connection(world):
    client = await world.live.socket(world.tokens["vanphong"])
    before = await state(world)
    try:
        await client.emit("command", {"name": "agenda.add", "key": new_key(),
                                      "data": {"meeting_id": world.meeting_id, "title": "x" * (MiB + 10)}})
        for _ in range(200):
            if not client.connected:
                break
            await asyncio.sleep(0.05)
        assert not client.connected
    finally:
        if client.connected:
            await client.disconnect()
    assert await state(world) == before
    # The server is fine: a new connection works.
    client = await world.live.socket(world.tokens["vanphong"])
    ack = await client.call("join", {"meeting_id": world.meeting_id, "since": None}, timeout=10)
    assert ack["ok"] is True
    await client.disconnect()


# ---------------------------------------------------------------- inputs the server fails on (500)
# Each of these answered 500 "internal" when written; a clear 4xx is expected (see the report).


async def test_deeply_nested_json_is_bad_json(world):
    before = await state(world)
    status, body = await raw(world, "POST", "/api/commands/meeting.update", "[" * 100_000 + "]" * 100_000)
    assert is_error(status, body, 400, "bad_json"), (status, body)
    assert await state(world) == before


async def test_a_path_number_in_other_digits_is_not_found(world):
    """`str.isdigit()` is true for "²" and "⁰", which `int()` refuses."""
    before = await state(world)
    live, token, problems = world.live, world.tokens["vanphong"], []
    for number in ("%C2%B2", "%D9%A1%D9%A2", "1%E2%81%B0"):  # ², Arabic-Indic 12, 1⁰
        for method, path, ok in (
            ("GET", f"/api/meetings/{number}", (404, 422)),
            ("POST", f"/api/meetings/{number}/publish", (404, 422)),
            ("GET", f"/api/meetings/{world.meeting_id}/events?since={number}", (200, 422)),
        ):
            status, body = await live.request(method, path, token=token)
            if status not in ok:
                problems.append((method, path, status, body))
    assert problems == []
    assert await state(world) == before


async def test_ids_out_of_range_are_refused_cleanly(world):
    """2**31 is past PostgreSQL's integer, 2**63 past SQLite's: in a path no such record
    exists (404); in a body the field is invalid (422, naming it)."""
    before = await state(world)
    live, token, problems = world.live, world.tokens["vanphong"], []
    client = await live.socket(token)
    try:
        for big in (2**31, 2**63):
            in_path = {
                "GET meeting": await live.request("GET", f"/api/meetings/{big}", token=token),
                "GET events": await live.request("GET", f"/api/meetings/{big}/events", token=token),
            }
            problems += [(big, what, status, body) for what, (status, body) in in_path.items() if status != 404]
            in_body = {
                "meeting_id": await post(world, "vanphong", "meeting.publish", {"meeting_id": big}),
                "unit_id": await post(world, "vanphong", "agenda.update",
                                      {"meeting_id": world.meeting_id, "item_id": 1, "unit_id": big}),
                "participant_id": await post(world, "vanphong", "participant.remove",
                                             {"meeting_id": world.meeting_id, "participant_id": big}),
            }
            for field, (status, body) in in_body.items():
                if status != 422 or field not in {d["field"] for d in body["error"].get("details", [])}:
                    problems.append((big, field, status, body))
            ack = await client.call("join", {"meeting_id": big}, timeout=10)
            if not is_refusal(ack, "invalid"):
                problems.append((big, "join", ack))
    finally:
        await client.disconnect()
    assert problems == []
    assert await state(world) == before


async def test_times_at_the_edge_of_the_calendar_are_invalid(world):
    """A time that has no UTC equivalent inside year 1..9999 cannot be stored or shown."""
    problems = []
    for when in ("0001-01-01T00:00:00", "0001-01-01T03:00:00+07:00", "9999-12-31T23:59:59-12:00"):
        before = await state(world)
        data = {"meeting_id": world.meeting_id, "starts_at": when}
        status, body = await post(world, "vanphong", "meeting.update", data)
        if status == 422:
            if await state(world) != before:
                problems.append((when, "changed the state"))
        elif status != 200:
            problems.append((when, status, body))
    assert problems == []


async def test_null_for_a_required_text_is_invalid(world):
    """An explicit null for a field that cannot be empty names the field (not "a duplicate?")."""
    item = await first_item(world)
    m, problems = world.meeting_id, []
    before = await state(world)
    for name, data, field in (
        ("meeting.update", {"meeting_id": m, "title": None}, "title"),
        ("meeting.update", {"meeting_id": m, "place": None}, "place"),
        ("meeting.update", {"meeting_id": m, "quorum": None}, "quorum"),
        ("agenda.update", {"meeting_id": m, "item_id": item, "title": None}, "title"),
        ("agenda.update", {"meeting_id": m, "item_id": item, "presenter": None}, "presenter"),
        ("unit.update", {"unit_id": world.unit_id, "name": None}, "name"),
        ("unit.update", {"unit_id": world.unit_id, "level": None}, "level"),
    ):
        status, body = await post(world, "admin", name, data)
        if not (is_error(status, body, 422, "invalid") and field in fields(body)):
            problems.append((name, field, status, body))
    assert problems == []
    assert await state(world) == before


async def test_text_the_database_cannot_hold_is_refused_cleanly(world):
    """Accepted and stored, or refused as invalid: the same on SQLite and PostgreSQL, never a 500."""
    problems = []
    for name, data in (
        ("meeting.update", {"quorum": "1/" + "3" * 30}),  # a valid fraction, longer than the column
        ("meeting.update", {"quorum": "0." + "5" * 30}),
        ("agenda.add", {"title": "Khai\x00mạc"}),  # PostgreSQL text cannot hold NUL
        ("meeting.update", {"place": "Hội trường\x00"}),
        # Stored, these would break the DOCX and XLSX made from them later (a 500 at finalise)
        ("meeting.update", {"place": "Hội trường\x01"}),
        ("agenda.add", {"title": "Khai mạc\x0b"}),
        ("agenda.add", {"title": "Khai mạc\ud800"}),
    ):
        before = await state(world)
        status, body = await post(world, "vanphong", name, {"meeting_id": world.meeting_id, **data})
        if status not in (200, 422):
            problems.append((name, data, status, body))
        elif status == 422 and await state(world) != before:
            problems.append((name, data, "changed the state"))
    assert problems == []


async def test_a_rule_refusal_coded_invalid_is_a_422(world):
    """`invalid` goes with 422 wherever it is raised, not with a rule's 409."""
    before = await state(world)
    for who, name, data in (
        ("vanphong", "meeting.update", {"meeting_id": world.meeting_id, "ends_at": "2026-12-09T08:00:00+07:00"}),
        ("admin", "unit.update", {"unit_id": world.unit_id, "valid_from": "2025-07-01", "valid_to": "2025-06-30"}),
        ("vanphong", "attendance.set", {"meeting_id": world.meeting_id,
                                        "participant_id": world.participants["daibieu02"], "status": "excused"}),
    ):
        status, body = await post(world, who, name, data)
        assert (status, body["error"]["code"]) in ((422, "invalid"), (409, "conflict")), (name, status, body)
    assert await state(world) == before
