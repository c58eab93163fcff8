"""The list of speakers: queue order, the chair's steps, the speaking-time clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.speakers import (
    Requester,
    RequesterKind,
    RequestKind,
    SpeakerError,
    SpeakerList,
    SpeechRequest,
    TimeState,
    approve,
    move,
    next_request,
    request_floor,
    start,
    stop,
    time_state,
    withdraw,
)

T0 = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)
ITEM = "muc-2"


def req(
    n: int, kind: RequestKind = RequestKind.ORDINARY, who: str | None = None, topic: str = ""
) -> SpeechRequest:
    requester = Requester(RequesterKind.DELEGATE, who or f"d{n}")
    return SpeechRequest(f"r{n}", requester, ITEM, topic, T0 + timedelta(seconds=n), kind)


def ids(lst: SpeakerList) -> list[str]:
    return [r.id for r in lst.queue]


def poo_first(lst: SpeakerList) -> bool:
    kinds = [r.kind is RequestKind.POINT_OF_ORDER for r in lst.queue]
    return kinds == sorted(kinds, reverse=True)


# Operations on a list: ("ask", kind) adds a new request; ("withdraw", i) / ("approve", i)
# act on the i-th waiting request (modulo the queue length).
ops = st.lists(
    st.one_of(
        st.tuples(st.just("ask"), st.sampled_from(list(RequestKind))),
        st.tuples(st.sampled_from(["withdraw", "approve"]), st.integers(0, 50)),
    ),
    max_size=40,
)


@settings(deadline=None)
@given(ops)
def test_points_of_order_first_fifo_otherwise_and_withdraw_removes(operations):
    lst = SpeakerList(ITEM)
    model: list[SpeechRequest] = []  # every request still waiting, in the order it was made
    for n, (op, arg) in enumerate(operations):
        if op == "ask":
            r = req(n, arg)
            lst = request_floor(lst, r)
            model.append(r)
        elif lst.queue:
            target = lst.queue[arg % len(lst.queue)].id
            if op == "withdraw":
                lst = withdraw(lst, target)
                model = [r for r in model if r.id != target]
                assert target not in ids(lst)
            else:
                lst = approve(lst, target)
        assert poo_first(lst)
        expected = [r.id for r in model if r.kind is RequestKind.POINT_OF_ORDER] + [
            r.id for r in model if r.kind is RequestKind.ORDINARY
        ]
        assert ids(lst) == expected


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(list(RequestKind)), min_size=1, max_size=15),
    st.integers(0, 99),
    st.integers(0, 99),
)
def test_chair_reordering_is_a_permutation_that_keeps_points_of_order_ahead(kinds, pick, pos):
    lst = SpeakerList(ITEM)
    for n, k in enumerate(kinds):
        lst = request_floor(lst, req(n, k))
    target = lst.queue[pick % len(lst.queue)]
    position = pos % (len(lst.queue) + 1)
    n_poo = sum(1 for k in kinds if k is RequestKind.POINT_OF_ORDER)
    # Allowed places: among the points of order for one of them, after them for the others.
    if target.kind is RequestKind.POINT_OF_ORDER:
        allowed = 0 <= position < n_poo
    else:
        allowed = n_poo <= position < len(kinds)
    try:
        moved = move(lst, target.id, position)
    except SpeakerError as err:
        assert err.reason == "bad_position" and not allowed
        return
    assert allowed
    assert sorted(ids(moved)) == sorted(ids(lst))
    assert ids(moved)[position] == target.id
    assert poo_first(moved)
    others = [i for i in ids(lst) if i != target.id]
    assert [i for i in ids(moved) if i != target.id] == others  # nobody else changes order


def test_a_session_with_the_chair():
    lst = SpeakerList(ITEM, limit=300, point_of_order_limit=60)
    an = SpeechRequest(
        "r1",
        Requester(RequesterKind.DELEGATE, "nguyen-van-an"),
        ITEM,
        "Về chỉ tiêu tăng trưởng GRDP năm 2026",
        T0,
    )
    tanlap = SpeechRequest(
        "r2",
        Requester(RequesterKind.POINT, "xa-tan-lap"),
        ITEM,
        "Ý kiến của Đảng ủy xã Tân Lập về dự thảo Báo cáo chính trị",
        T0 + timedelta(seconds=5),
    )
    binh = SpeechRequest(
        "r3",
        Requester(RequesterKind.DELEGATE, "tran-thi-binh"),
        ITEM,
        "Đề nghị biểu quyết từng nội dung",
        T0 + timedelta(seconds=9),
        RequestKind.POINT_OF_ORDER,
    )
    for r in (an, tanlap, binh):
        lst = request_floor(lst, r)
    assert ids(lst) == ["r3", "r1", "r2"]
    with pytest.raises(SpeakerError) as err:
        start(lst, T0)
    assert err.value.reason == "nobody_approved"
    with pytest.raises(SpeakerError) as err:
        start(lst, T0, "r1")
    assert err.value.reason == "not_approved"

    lst = approve(approve(lst, "r1"), "r3")
    assert next_request(lst).id == "r3"
    lst = start(lst, T0 + timedelta(minutes=1))
    assert lst.current.request.id == "r3" and lst.current.limit == 60 and ids(lst) == ["r1", "r2"]
    with pytest.raises(SpeakerError) as err:
        start(lst, T0, "r1")
    assert err.value.reason == "speech_in_progress"
    with pytest.raises(SpeakerError) as err:
        withdraw(lst, "r3")
    assert err.value.reason == "already_speaking"
    lst = stop(lst, T0 + timedelta(minutes=1, seconds=45))
    assert lst.current is None and lst.finished[-1].seconds == 45

    lst = start(lst, T0 + timedelta(minutes=2))  # next approved: Nguyễn Văn An
    lst = stop(lst, T0 + timedelta(minutes=7, seconds=12))
    assert [(s.request.id, s.seconds, s.limit) for s in lst.finished] == [("r3", 45, 60), ("r1", 312, 300)]
    lst = withdraw(lst, "r2")
    assert lst.queue == ()


def test_requests_are_checked():
    lst = request_floor(SpeakerList(ITEM), req(1, topic="  Góp ý  "))
    assert lst.queue[0].topic == "Góp ý"
    with pytest.raises(SpeakerError) as err:
        request_floor(lst, req(1))
    assert err.value.reason == "duplicate_request"
    with pytest.raises(SpeakerError) as err:
        request_floor(lst, req(2, who="d1"))
    assert err.value.reason == "already_waiting"
    # The same delegate may still raise a point of order while waiting to speak.
    assert len(request_floor(lst, req(2, RequestKind.POINT_OF_ORDER, who="d1")).queue) == 2
    with pytest.raises(SpeakerError) as err:
        request_floor(lst, SpeechRequest("x", Requester(RequesterKind.DELEGATE, "d9"), "muc-3", "", T0))
    assert err.value.reason == "wrong_item"
    with pytest.raises(SpeakerError) as err:
        withdraw(lst, "nope")
    assert err.value.reason == "unknown_request"
    with pytest.raises(SpeakerError) as err:
        stop(lst, T0)
    assert err.value.reason == "no_speech"


def test_a_self_approved_request_is_reset():
    r = req(1)
    lst = request_floor(SpeakerList(ITEM), SpeechRequest(r.id, r.requester, ITEM, "", T0, approved=True))
    assert not lst.queue[0].approved


@settings(deadline=None)
@given(st.integers(0, 3600), st.integers(1, 1800), st.integers(0, 120))
def test_clock_states(elapsed, limit, warn):
    clock = time_state(T0, T0 + timedelta(seconds=elapsed, milliseconds=400), limit, warn)
    assert clock.elapsed == elapsed
    assert clock.remaining == limit - elapsed
    if elapsed >= limit:
        assert clock.state is TimeState.OVER
    elif limit - elapsed <= min(warn, limit // 2):
        assert clock.state is TimeState.WARNING
    else:
        assert clock.state is TimeState.OK


def test_clock_examples():
    five_min = 300
    assert time_state(T0, T0 + timedelta(seconds=200), five_min).state is TimeState.OK
    c = time_state(T0, T0 + timedelta(seconds=280), five_min)
    assert (c.state, c.remaining) == (TimeState.WARNING, 20)
    c = time_state(T0, T0 + timedelta(seconds=312), five_min)
    assert (c.state, c.remaining) == (TimeState.OVER, -12)
    assert time_state(T0, T0 + timedelta(hours=2), None).state is TimeState.OK
    # A 40-second point of order only turns yellow in its second half.
    assert time_state(T0, T0 + timedelta(seconds=15), 40).state is TimeState.OK
    assert time_state(T0, T0 + timedelta(seconds=21), 40).state is TimeState.WARNING
