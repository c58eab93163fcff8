"""Hypothesis on socket.io payloads (issue 8, "Fuzzing").

Against a real `phonghop serve --demo` process, at the level of socket.io's packets
(tests/fuzz/rawsocket.py): every event the server handles (the connect packet's auth, `join`,
`resync`, `leave`, `command` with each registered command name and its field names,
the conference's events) and unknown ones, with wrong types, huge and deeply nested values,
huge strings, lone surrogates and NUL characters, numbers past 64 bits, malformed JSON,
packets of the wrong kind, and binary attachments that match their packet or do not.

For every message: the answer, when there is one, is a clean `{"ok": ...}` ack whose error
is typed (never `internal`, never a stack trace), or the message is ignored, or the
connection is closed (a message past the size limit, binary abuse). After every message the
server still answers a valid resync on a connection (the same one, or a new one when it was
closed), and at the end the meeting's log is gap-free and a valid command still works.
Seeded and derandomized: the same messages on every run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import server.commands  # noqa: F401  (registers every command)
from server.commands.registry import REGISTRY
from server.config import Settings
from tests.conftest import start_server
from tests.faults.helpers import Api, check_log, clean_error, logged_events, open_sessions
from tests.fuzz.rawsocket import Closed, RawSocket, Refused

EXAMPLES = int(os.environ.get("PHONGHOP_FUZZ_SOCKET_EXAMPLES", "300"))
WAIT = float(os.environ.get("PHONGHOP_FUZZ_WAIT", "60"))  # seconds an owed answer may take on a loaded machine
ROLES = {"staff": "thuky", "delegate": "daibieu01", "operator": "diemcau11"}
KNOWN = ("join", "resync", "leave", "command", "conference.watch", "point.link", "media.offer", "media.verdict",
         "media.close")
FIELDS = sorted({"meeting_id", "since", "name", "key", "data", "role", "sdp", "layers", "loss", "rtt_ms", "jitter_ms",
                 "bitrate_kbps", "point", "seated"})
# Shrinking a failure that costs a minute of waiting takes hours: the failing message is
# reported whole instead (`send` names it).
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
MAX_BYTES = 1024 * 1024  # PHONGHOP_MAX_BODY_KB's default: a bigger message closes the connection


class Hall:
    """The server, the meeting, a raw connection per role, and the event loop they live in."""

    def __init__(self, tmp_path) -> None:
        self.loop = asyncio.new_event_loop()
        # Rate limits off: the fuzzer sends far more than a tablet would, and `rate_limited`
        # answers would hide everything else.
        self.server = start_server(tmp_path, env={"PHONGHOP_SOCKET_RATE": "1000000", "PHONGHOP_SOCKET_BURST": "1000000"})
        self.settings = Settings(data_dir=tmp_path)
        self.tokens = self.run(open_sessions(self.settings, list(ROLES.values())))
        self.meeting_id = self.run(self._meeting())
        self.sockets: dict[str, RawSocket] = {}
        self.answers: list[object] = []  # every ack the fuzzed messages got

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    async def _meeting(self) -> int:
        async with Api(self.server.url, self.tokens["thuky"]) as api:
            return next(m["id"] for m in (await api.ok("GET", "/api/meetings"))["meetings"] if m["code"] == "DEMO-SAP-TOI")

    async def socket(self, role: str) -> RawSocket:
        raw = self.sockets.get(role)
        if raw is None or raw.closed.is_set():
            if raw is not None:
                await raw.close()
            raw = self.sockets[role] = await RawSocket.open(self.server.url, {"token": self.tokens[ROLES[role]]})
        return raw

    async def still_serves(self, role: str) -> None:
        """A valid resync answers on this role's connection (opened again if it was closed)."""
        assert self.server.process.poll() is None, "the server died"
        for _ in range(2):
            raw = await self.socket(role)
            try:
                answer = await raw.call("resync", {"meeting_id": self.meeting_id, "since": 0}, timeout=60)
            except Closed:
                continue  # closed by the fuzzed message just now: a new connection
            assert isinstance(answer, dict) and answer.get("ok") is True, answer
            return
        raise AssertionError("the server does not answer a valid resync any more")

    def close(self) -> None:
        for raw in self.sockets.values():
            self.run(raw.close())
        self.loop.close()
        self.server.stop()


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    h = Hall(tmp_path_factory.mktemp("socketfuzz"))
    try:
        yield h
    finally:
        h.close()


# --- what is sent --------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=4),  # lone surrogates, as \ud800 escapes
    st.sampled_from(["\x00", "a\x00b", "\u202eRLO", "Đại biểu\u0301", "\ufeff", "💥" * 30, "%s%n", "../../etc/passwd",
                     "<script>alert(1)</script>", "' OR 1=1 --"]),
)
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.integers(min_value=-(2**80), max_value=2**80),  # past 64 bits
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -1, 1.5, 2**31, 2**63, 1e308, -0.0]),
    odd_text,
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                        st.dictionaries(odd_text, inner, max_size=5)), max_leaves=20)
big = st.one_of(
    st.integers(min_value=1, max_value=200_000).map(lambda n: list(range(n))),  # arrays up to ~1.3 MB
    st.integers(min_value=1, max_value=1_200_000).map(lambda n: "x" * n),  # strings past the size limit
    st.integers(min_value=1, max_value=50_000).map(lambda n: [{"a": [None]}] * n),
)


def plausible(field: str, meeting_id: int):
    """A value of the right type for a field, going by its name: a message built of these
    passes the schema often enough to reach the rules behind it."""
    if field == "meeting_id":
        return st.one_of(st.just(meeting_id), st.integers(1, 4))
    if field.endswith("_id") or field in ("position", "since", "seated", "planned_minutes", "number"):
        return st.integers(0, 80)
    if field.endswith("_ids") or field in ("selections", "kept", "layers"):
        return st.lists(st.integers(0, 80), max_size=3)
    if field in ("choice", "status", "role", "kind", "access", "state"):
        return st.sampled_from(["yes", "no", "abstain", "present", "absent", "delegate", "operator", "motion",
                                "point", "probe", "open", "public", "confidential"])
    if field in ("loss", "rtt_ms", "jitter_ms", "bitrate_kbps"):
        return st.floats(0, 2)
    if field == "counts":
        return st.dictionaries(st.sampled_from(["yes", "no", "abstain"]), st.integers(0, 30))
    return st.one_of(st.text(max_size=30), st.integers(0, 100), st.booleans(), st.none())


def near_valid(fields: list[str], meeting_id: int):
    """Every field plausible, then up to two of them (or an extra one) holding anything."""
    @st.composite
    def build(draw):
        data = {f: draw(plausible(f, meeting_id)) for f in fields if draw(st.integers(0, 4))}
        for _ in range(draw(st.integers(0, 2))):
            data[draw(st.sampled_from([*fields, "extra"]))] = draw(values)
        return data

    return build()


def commands(meeting_id: int):
    names = sorted(REGISTRY)
    return st.one_of(
        st.sampled_from(names).flatmap(lambda n: st.fixed_dictionaries({
            "name": st.just(n), "key": st.one_of(st.none(), st.text(min_size=1, max_size=20), values),
            "data": near_valid(sorted(set(REGISTRY[n].schema.model_fields) | {"meeting_id"}), meeting_id)})),
        st.fixed_dictionaries({"name": st.one_of(st.sampled_from(names), values), "data": values, "key": values}),
        st.dictionaries(st.sampled_from(["name", "data", "key", "other"]), values, max_size=4),
    )


def payloads(meeting_id: int):
    return st.one_of(values, near_valid(FIELDS, meeting_id), big, commands(meeting_id))


def well_formed(event: str, meeting_id: int):
    """A payload shaped like the event's own: the part of the fuzz that reaches the rules.
    Meetings that do not exist are asked for too, so `not_found` paths are reached."""
    if event == "command":
        return commands(meeting_id)
    if event in ("join", "resync", "leave", "conference.watch"):
        return st.fixed_dictionaries(
            {"meeting_id": st.one_of(st.just(meeting_id), st.integers(1000, 2000))},
            optional={"since": st.integers(0, 80), "role": st.sampled_from(["delegate", "operator", "staff"])})
    return near_valid(FIELDS, meeting_id)


@st.composite
def messages(draw, meeting_id: int):
    """(role, frame kind, event, payload, attachments): one message, framed one way or another."""
    role = draw(st.sampled_from(sorted(ROLES)))
    if draw(st.booleans()):
        # Half the messages are well framed and shaped. The share must not hang on chance:
        # Hypothesis mixes in constants from every module loaded, so its draws differ between
        # a run of this file alone and a run of the whole suite.
        event = draw(st.sampled_from(KNOWN))
        return role, "event", event, draw(well_formed(event, meeting_id)), [], {}
    # Mostly the events the server handles, framed as they should be, with payloads shaped
    # like theirs: that is where the handlers are reached. The rest: everything else.
    event = draw(st.sampled_from(KNOWN)) if draw(st.integers(0, 5)) else draw(odd_text)
    kind = "event" if draw(st.booleans()) else draw(st.sampled_from(
        ["event", "no_data", "extra_args", "not_a_list", "malformed", "deep", "packet_type", "binary"]))
    if event == "command" and draw(st.integers(0, 3)):
        payload = draw(commands(meeting_id))
    else:
        payload = draw(payloads(meeting_id))
    attachments = draw(st.lists(st.binary(max_size=64), max_size=3)) if kind == "binary" else []
    extra = {"announced": draw(st.integers(min_value=0, max_value=20)),
             "depth": draw(st.sampled_from([64, 500, 1000, 5000, 100_000])),
             "junk": draw(st.text(max_size=30)),
             "packet": draw(st.sampled_from(["41", "43", "44", "46", "47", "4", "4x", "9", "6", "5", ""]))}
    return role, kind, event, payload, attachments, extra


def frame(kind: str, ack_id: int, event, payload, attachments: list[bytes], extra: dict) -> tuple[str, bool]:
    """The packet's text, and whether the server owes an ack (a known event, well framed)."""
    encode = lambda value: json.dumps(value)  # noqa: E731  (ensure_ascii: lone surrogates go as \ud800 escapes)
    head = f"42{ack_id}"
    owed = isinstance(event, str) and event in KNOWN
    if kind == "event":
        return head + encode([event, payload]), owed
    if kind == "no_data":
        return head + encode([event]), owed
    if kind == "extra_args":
        return head + encode([event, payload, payload]), owed
    if kind == "not_a_list":
        return head + encode(payload if not isinstance(payload, list) else {"event": event}), False
    if kind == "malformed":
        return head + encode([event, payload])[: -1 - len(extra["junk"]) % 7] + extra["junk"], False
    if kind == "deep":
        depth = extra["depth"]
        return head + "[" + encode(event) + "," + "[" * depth + "]" * depth + "]", False
    if kind == "packet_type":
        return extra["packet"] + str(ack_id) + encode([event, payload]), False
    # binary: placeholders in the data, then the attachments (their count may differ from the announced one)
    placeholders = [{"_placeholder": True, "num": n} for n in range(len(attachments))] + [
        {"_placeholder": True, "num": extra["announced"]}]
    return f"45{extra['announced']}-{ack_id}" + encode([event, {"payload": payload, "files": placeholders}]), False


def check_answer(answer) -> None:
    assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
    if answer["ok"] is False:
        assert clean_error(answer), answer
        assert answer["error"]["code"] != "internal", f"the server failed on a message: {answer}"


async def send(hall: Hall, message) -> None:
    role, kind, event, payload, attachments, extra = message
    raw = await hall.socket(role)
    ack_id = raw.next_id()
    text, owed = frame(kind, ack_id, event, payload, attachments, extra)
    answer = raw.expect(ack_id)
    try:
        await raw.send_text(text)
        for blob in attachments:
            await raw.send_bytes(blob)
    except (Closed, ConnectionError):
        pass
    if text.startswith("41"):  # socket.io's DISCONNECT (also "4" followed by an ack id 1...)
        await raw.close()  # the client left the namespace itself: its connection is of no more use
    if kind == "binary" and extra["announced"] > len(attachments):
        # The packet waits for attachments that will never come: whatever this connection sends
        # next would be taken for one. A client whose stream is broken hangs up.
        await raw.close()
    too_big = len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES
    try:
        if owed and not too_big:
            # A known event, well framed, within the size limit: the server must answer it.
            with contextlib.suppress(Closed):
                hall.answers.append(await asyncio.wait_for(answer, WAIT))
                check_answer(hall.answers[-1])
        await hall.still_serves(role)
        if answer.done() and answer.exception() is None:  # an answer nobody owed must be clean too
            check_answer(answer.result())
    except (AssertionError, TimeoutError) as failure:
        raise AssertionError(f"{type(failure).__name__} {failure} after {role} sent {text[:600]!r} "
                             f"(+{len(attachments)} attachments, {len(text)} characters)") from None
    finally:
        if answer.done():
            answer.exception()  # retrieved
        answer.cancel()


def test_socketio_messages_of_every_shape_get_clean_answers(hall):
    @seed(8)
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=NO_SHRINK,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(message=messages(hall.meeting_id))
    def fuzz(message):
        hall.run(send(hall, message))

    fuzz()
    assert len(hall.answers) >= EXAMPLES // 4, "few messages were answered: the fuzzer did not reach the handlers"
    # The messages reached past the schemas, into the rules and the records behind them.
    outcomes = collections.Counter("ok" if a["ok"] else a["error"]["code"] for a in hall.answers)
    assert {"ok", "invalid", "not_found"} <= set(outcomes), outcomes


def test_connect_packets_of_every_shape_are_refused_cleanly(hall):
    @seed(8)
    @settings(max_examples=max(EXAMPLES // 6, 20), derandomize=True, deadline=None, database=None, phases=NO_SHRINK,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(auth=st.one_of(values, st.dictionaries(st.just("token"), st.one_of(values, big), min_size=1),
                          st.text(max_size=50).map(lambda t: {"raw": t})))
    def fuzz(auth):
        async def attempt() -> None:
            raw_auth = auth["raw"] if isinstance(auth, dict) and set(auth) == {"raw"} else None
            try:
                raw = await RawSocket.open(hall.server.url, auth, raw_auth=raw_auth)
            except Refused as refused:
                data = refused.data
                assert isinstance(data, dict) and isinstance(data.get("message"), str), data
                assert not any(m in repr(data) for m in ("Traceback", 'File "')), data
                if isinstance(data.get("data"), dict):
                    assert data["data"].get("code") in ("unauthorized", "invalid"), data
            except Closed:
                pass  # malformed: the server hung up
            else:
                await raw.close()
                raise AssertionError(f"a connection was accepted with {auth!r}")
            await hall.still_serves("delegate")

        hall.run(attempt())

    fuzz()


def test_after_the_fuzzing_the_meeting_is_consistent_and_commands_work(hall):
    async def check() -> None:
        async with Api(hall.server.url, hall.tokens["thuky"]) as api:
            done = await api.ok("POST", f"/api/meetings/{hall.meeting_id}/agenda", {"title": "Nội dung sau thử nghiệm"},
                                key="after-fuzz")
            snapshot = await api.ok("GET", f"/api/meetings/{hall.meeting_id}")
        assert snapshot["agenda"][-1]["title"] == "Nội dung sau thử nghiệm" and snapshot["head"] == done["seq"]
        check_log(await logged_events(hall.settings, hall.meeting_id), snapshot["head"])
        raw = await hall.socket("staff")
        answer = await raw.call("command", {"name": "agenda.set_current", "key": "after-fuzz-2",
                                            "data": {"meeting_id": hall.meeting_id, "item_id": None}})
        assert answer["ok"] is True, answer

    hall.run(check())
    assert hall.server.process.poll() is None
