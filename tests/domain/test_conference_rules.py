"""The conference's rules (server/domain/conference.py): the conference's steps, a point's
state from what the server saw of it, the floor, invitations over the tree, the roll call's
totals and order, and the link history's downsampling."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import conference as c
from server.domain.conference import PointState as S
from server.domain.conference import Presence, Signal
from server.domain.errors import DomainError, Invalid
from server.domain.links import LinkState, classify

# ---------------------------------------------------------------- the conference's steps


def test_a_conference_opens_locks_unlocks_and_ends():
    assert c.conference_step("scheduled", "open") is c.ConferenceState.OPEN
    assert c.conference_step("open", "lock") is c.ConferenceState.LOCKED
    assert c.conference_step("locked", "unlock") is c.ConferenceState.OPEN
    assert c.conference_step("locked", "end") is c.ConferenceState.ENDED
    assert c.conference_step("scheduled", "end") is c.ConferenceState.ENDED


@pytest.mark.parametrize(("state", "step"), [
    ("scheduled", "lock"), ("open", "open"), ("open", "unlock"), ("ended", "open"), ("ended", "end"),
    ("locked", "lock"),
])
def test_steps_from_the_wrong_state_are_refused(state, step):
    with pytest.raises(DomainError) as err:
        c.conference_step(state, step)
    assert err.value.code == "invalid_transition"


def test_the_roll_closes_when_locked_and_nobody_new_joins_then():
    c.check_invitations_open("scheduled")
    c.check_invitations_open("open")
    for state in ("locked", "ended"):
        with pytest.raises(DomainError):
            c.check_invitations_open(state)
    assert c.may_join("locked", ever_online=True)
    assert not c.may_join("locked", ever_online=False)
    assert c.may_join("open", ever_online=False) and c.may_join("scheduled", ever_online=False)
    assert not c.may_join("ended", ever_online=True)


# ---------------------------------------------------------------- a point's state


def walk(*signals: Signal, passed=None, live=False) -> tuple[Presence, S]:
    p = Presence()
    for s in signals:
        p = c.sense(p, s)
    return p, c.state_of(p, passed=passed, live=live)


def test_the_road_to_on_air():
    assert walk()[1] is S.INVITED
    assert walk(Signal.CONNECT)[1] is S.ONLINE
    assert walk(Signal.CONNECT, Signal.MEDIA_UP)[1] is S.MEDIA_CONNECTED
    assert walk(Signal.CONNECT, Signal.MEDIA_UP, passed=True)[1] is S.READY
    assert walk(Signal.CONNECT, Signal.MEDIA_UP, passed=True, live=True)[1] is S.ON_AIR
    # A failed test keeps the point short of ready, however live the conference is.
    assert walk(Signal.CONNECT, Signal.MEDIA_UP, passed=False, live=True)[1] is S.MEDIA_CONNECTED


def test_dropping_and_coming_back():
    on_air = (Signal.CONNECT, Signal.MEDIA_UP)
    assert walk(*on_air, Signal.DISCONNECT, passed=True, live=True)[1] is S.DROPPED
    assert walk(*on_air, Signal.DISCONNECT, Signal.CONNECT, passed=True, live=True)[1] is S.RECONNECTING
    assert walk(*on_air, Signal.DISCONNECT, Signal.CONNECT, Signal.MEDIA_UP, passed=True, live=True)[1] is S.ON_AIR
    # The media alone going down: reconnecting, the connection is still there.
    assert walk(*on_air, Signal.MEDIA_DOWN, passed=True, live=True)[1] is S.RECONNECTING
    # A point that connected and left before its media came up has dropped too.
    assert walk(Signal.CONNECT, Signal.DISCONNECT)[1] is S.DROPPED
    # A late word from the media node about a point that has gone changes nothing.
    p, state = walk(*on_air, Signal.DISCONNECT, Signal.MEDIA_UP, passed=True, live=True)
    assert state is S.DROPPED and not p.media


def test_a_presence_nobody_confirmed_lately_counts_as_dropped():
    now = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    p, _ = walk(Signal.CONNECT, Signal.MEDIA_UP)
    fresh = c.stale(p, now - timedelta(seconds=10), now, timedelta(seconds=45))
    assert fresh == p
    old = c.stale(p, now - timedelta(seconds=60), now, timedelta(seconds=45))
    assert c.state_of(old, passed=True, live=True) is S.DROPPED


observation = st.one_of(
    st.sampled_from(list(Signal)).map(lambda s: ("signal", s)),
    st.sampled_from([None, True, False]).map(lambda v: ("verdict", v)),
    st.booleans().map(lambda v: ("live", v)),
)


@given(st.lists(observation, max_size=40))
def test_every_move_of_a_point_is_an_allowed_one(steps):
    p, passed, live = Presence(), None, False
    state = c.state_of(p, passed=passed, live=live)
    assert state is S.INVITED
    for kind, value in steps:
        if kind == "signal":
            p = c.sense(p, value)
        elif kind == "verdict":
            passed = value
        else:
            live = value
        after = c.state_of(p, passed=passed, live=live)
        if after is not state:
            assert after in c.ALLOWED[state], (state, after, kind, value)
        state = after
        # Once it has come, a point never goes back to "invited".
        assert state is not S.INVITED or not p.ever_online


# ---------------------------------------------------------------- the floor


def test_the_floor_goes_to_a_point_whose_media_is_up_while_the_conference_is_live():
    c.check_floor("open", S.ON_AIR, is_host=False)
    c.check_floor("locked", S.MEDIA_CONNECTED, is_host=False)
    refusals = [
        (("scheduled", S.ON_AIR), "not_live"),
        (("ended", S.ON_AIR), "not_live"),
        (("open", None), "not_invited"),
        (("open", S.ONLINE), "no_media"),
        (("open", S.DROPPED), "no_media"),
        (("open", S.RECONNECTING), "no_media"),
    ]
    for (state, point), reason in refusals:
        with pytest.raises(c.ConferenceError) as err:
            c.check_floor(state, point, is_host=False)
        assert err.value.reason == reason
    with pytest.raises(c.ConferenceError) as err:
        c.check_floor("open", S.ON_AIR, is_host=True)
    assert err.value.reason == "host"


def test_the_floor_goes_back_to_the_host_when_its_point_stays_out_of_sight():
    now = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    grace = timedelta(seconds=10)
    long_ago, just_now = now - timedelta(seconds=11), now - timedelta(seconds=3)

    def falls(state, since, *, conf="open", floor=5, host=1):
        return c.floor_falls_back(conf, floor, host, state, since, now, grace)

    # Seen and heard: it keeps the floor, however long ago anything changed.
    for state in (S.ON_AIR, S.MEDIA_CONNECTED, S.READY):
        assert falls(state, None) is None and falls(state, long_ago) is None
    # Out of sight within the grace (a page reloading): it keeps the floor; beyond, it loses it.
    assert falls(S.DROPPED, just_now) is None
    assert falls(S.RECONNECTING, just_now) is None
    assert falls(S.DROPPED, long_ago) is c.FloorLoss.DROPPED
    assert falls(S.RECONNECTING, long_ago) is c.FloorLoss.MEDIA_LOST
    assert falls(S.ONLINE, long_ago) is c.FloorLoss.MEDIA_LOST
    # Exactly at the grace, it goes.
    assert falls(S.DROPPED, now - grace) is c.FloorLoss.DROPPED
    # No point on the roll any more: at once.
    assert falls(None, None) is c.FloorLoss.DROPPED
    # Nothing to give back: no floor, the host's own, or a conference that is not live.
    assert falls(S.DROPPED, long_ago, floor=None) is None
    assert falls(S.DROPPED, long_ago, floor=1) is None
    for conf in ("scheduled", "ended"):
        assert falls(S.DROPPED, long_ago, conf=conf) is None
    assert falls(S.DROPPED, long_ago, conf="locked") is c.FloorLoss.DROPPED


def test_since_when_a_points_media_has_been_down():
    now = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    stale_after = timedelta(seconds=45)
    changed = now - timedelta(seconds=20)
    up, _ = walk(Signal.CONNECT, Signal.MEDIA_UP)
    gone = c.sense(up, Signal.DISCONNECT)
    media_down = c.sense(up, Signal.MEDIA_DOWN)
    # Up, held here or confirmed lately by the process that holds it: not down.
    assert c.down_since(up, changed, now, now, stale_after, held_here=True) is None
    assert c.down_since(up, changed, now - timedelta(seconds=10), now, stale_after, held_here=False) is None
    # Down: since its presence changed.
    assert c.down_since(gone, changed, changed, now, stale_after, held_here=False) == changed
    assert c.down_since(media_down, changed, now, now, stale_after, held_here=True) == changed
    # Up as last written, but its holder fell silent: down from when it became stale.
    seen = now - timedelta(seconds=60)
    assert c.down_since(up, changed, seen, now, stale_after, held_here=False) == seen + stale_after
    # Held here, its presence is what this process sees: no staleness.
    assert c.down_since(up, changed, seen, now, stale_after, held_here=True) is None


@given(st.lists(st.sampled_from(list(Signal)), max_size=20), st.integers(0, 120), st.booleans(), st.booleans())
def test_the_floor_never_leaves_a_point_that_can_be_seen(signals, seconds, passed, live):
    now = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    p, state = walk(*signals, passed=passed, live=live)
    since = c.down_since(p, now - timedelta(seconds=seconds), now, now, timedelta(seconds=45), held_here=True)
    loss = c.floor_falls_back("open", 5, 1, state, since, now)
    if state in c.MEDIA_STATES:
        assert since is None and loss is None
    else:
        assert (loss is not None) == (seconds >= c.FLOOR_GRACE.total_seconds())


# ---------------------------------------------------------------- invitations over the tree


def two_tier() -> dict[int, c.TreeUnit]:
    """Since 1 July 2025: a province and its communes, wards and a special zone."""
    units = [
        c.TreeUnit(1, None, "Trung ương", "Trung ương"),
        c.TreeUnit(10, 1, "Tỉnh", "Tỉnh Bắc Ninh"),
        c.TreeUnit(11, 10, "Xã", "Xã Tiên Du"),
        c.TreeUnit(12, 10, "Phường", "Phường Kinh Bắc"),
        c.TreeUnit(13, 10, "Xã", "Xã Quế Võ"),
        c.TreeUnit(14, 10, "Xã", "Xã Cũ", valid_to=date(2025, 6, 30)),  # merged away
        c.TreeUnit(20, 1, "Tỉnh", "Tỉnh Quảng Ninh"),
        c.TreeUnit(21, 20, "Đặc khu", "Đặc khu Vân Đồn"),
        c.TreeUnit(22, 20, "Xã", "Xã Hải Hà"),
    ]
    return {u.id: u for u in units}


def three_tier() -> dict[int, c.TreeUnit]:
    """Before 1 July 2025: province, district, commune; and party cells below communes."""
    units = [c.TreeUnit(1, None, "Tỉnh", "Tỉnh A")]
    n = 100
    for d in range(3):
        district = n
        units.append(c.TreeUnit(district, 1, "Huyện", f"Huyện {d}"))
        n += 1
        for k in range(4):
            units.append(c.TreeUnit(n, district, "Xã", f"Xã {d}-{k}"))
            units.append(c.TreeUnit(n + 1000, n, "Chi bộ", f"Chi bộ {d}-{k}"))
            n += 1
    return {u.id: u for u in units}


def test_every_commune_of_a_province_in_a_two_tier_tree():
    units = two_tier()
    on = date(2026, 12, 10)
    assert c.select_points(units, 10, ["Xã"], on) == [11, 13]
    assert c.select_points(units, 10, ["Xã", "Phường", "Đặc khu"], on) == [11, 12, 13]
    # Before the merger the old commune was still there.
    assert c.select_points(units, 10, ["Xã"], date(2025, 6, 1)) == [11, 13, 14]
    # A national conference: every province, or every commune of every province.
    assert c.select_points(units, 1, ["Tỉnh"], on) == [10, 20]
    assert c.select_points(units, 1, ["xã", "ĐẶC KHU"], on) == [11, 13, 21, 22]
    # The root itself when its level is asked for.
    assert c.select_points(units, 10, ["Tỉnh", "Xã"], on) == [10, 11, 13]
    assert c.levels_below(units, 1, on) == ["Trung ương", "Tỉnh", "Đặc khu", "Phường", "Xã"]


def test_every_commune_of_a_province_in_a_three_tier_tree():
    units = three_tier()
    communes = c.select_points(units, 1, ["Xã"])
    assert len(communes) == 12
    assert all(units[i].level == "Xã" for i in communes)
    # One district's communes, not its party cells.
    district = next(u.id for u in units.values() if u.name == "Huyện 1")
    assert [units[i].name for i in c.select_points(units, district, ["Xã"])] == [f"Xã 1-{k}" for k in range(4)]
    assert c.levels_below(units, 1) == ["Tỉnh", "Huyện", "Xã", "Chi bộ"]
    assert c.level_order(units) == ["Tỉnh", "Huyện", "Xã", "Chi bộ"]


def test_an_invitation_needs_a_level_and_a_known_root():
    units = two_tier()
    with pytest.raises(Invalid):
        c.select_points(units, 10, [])
    with pytest.raises(Invalid):
        c.select_points(units, 999, ["Xã"])
    assert c.select_points(units, 10, ["Huyện"]) == []  # a level the tree no longer has


# ---------------------------------------------------------------- the roll call


def view(unit_id, state, level="Xã", link=None, loss=None, rtt=None, passed=None, seated=None, name=None):
    return c.PointView(unit_id, name or f"Điểm {unit_id:04d}", level, state, link, loss, rtt, passed, seated)


def test_the_worst_points_come_first():
    points = [
        view(1, S.ON_AIR, link=LinkState.NORMAL, loss=0.001, passed=True),
        view(2, S.ON_AIR, link=LinkState.CRITICAL, loss=0.09, passed=True),
        view(3, S.DROPPED, passed=True),
        view(4, S.ON_AIR, link=LinkState.DEGRADED, loss=0.02, passed=True),
        view(5, S.INVITED),
        view(6, S.RECONNECTING, passed=True),
        view(7, S.MEDIA_CONNECTED, link=LinkState.NORMAL, passed=False),
        view(8, S.ON_AIR, link=LinkState.CRITICAL, loss=0.20, passed=True),
        view(9, S.READY, link=LinkState.NORMAL, passed=True),
        view(10, S.ONLINE),
        view(11, S.ON_AIR, link=LinkState.DEGRADED, loss=0.04, passed=True),
    ]
    order = [p.unit_id for p in c.worst_first(points)]
    assert order == [3, 6, 8, 2, 11, 4, 7, 10, 5, 9, 1]


def test_a_dropped_points_old_link_does_not_count():
    dropped = view(1, S.DROPPED, link=LinkState.NORMAL, loss=0.5)
    critical = view(2, S.ON_AIR, link=LinkState.CRITICAL, loss=0.07)
    assert c.trouble(dropped) == 100 and c.trouble(critical) == 80


def test_totals_by_level():
    points = [view(1, S.ON_AIR, level="Tỉnh", link=LinkState.NORMAL, passed=True, seated=120)]
    points += [view(10 + i, S.ON_AIR, link=LinkState.DEGRADED if i % 4 == 0 else LinkState.NORMAL,
                    passed=True, seated=30) for i in range(12)]
    points += [view(30, S.DROPPED, passed=True, seated=25), view(31, S.INVITED), view(32, S.ONLINE, passed=False)]
    points += [view(40, S.READY, level="Phường", link=LinkState.NORMAL, passed=True, seated=40)]
    t = c.totals(points, ["Trung ương", "Tỉnh", "Phường", "Xã"])
    assert t["points"] == 17
    assert t["seated"] == 120 + 12 * 30 + 25 + 40 and t["reported"] == 15
    assert t["by_state"] == {"invited": 1, "online": 1, "media_connected": 0, "ready": 1, "on_air": 13,
                             "reconnecting": 0, "dropped": 1}
    assert t["by_link"] == {"normal": 11, "degraded": 3, "critical": 0}
    assert (t["passed"], t["failed"], t["untested"]) == (15, 1, 1)
    assert [x["level"] for x in t["by_level"]] == ["Tỉnh", "Phường", "Xã"]
    xa = t["by_level"][2]
    assert xa["points"] == 15 and xa["seated"] == 12 * 30 + 25 and xa["by_state"]["on_air"] == 12


def test_totals_by_branch_of_the_tree():
    units = two_tier()
    points = [view(11, S.ON_AIR, passed=True, seated=20), view(13, S.DROPPED, seated=5),
              view(21, S.ON_AIR, level="Đặc khu", passed=True, seated=9)]
    b = c.branch_totals(points, units)
    assert b[10]["points"] == 2 and b[10]["seated"] == 25 and b[10]["worst"] == 100
    assert b[20]["points"] == 1 and b[20]["worst"] == 0
    assert b[1]["points"] == 3 and b[1]["seated"] == 34
    assert 11 not in b  # a point is not a branch of itself


def test_many_points_sorted_and_totalled_alike_whatever_their_order():
    import random

    rng = random.Random(7)
    states = list(S)
    points = [view(i, rng.choice(states), link=rng.choice([None, *LinkState]), loss=rng.random() / 10,
                   passed=rng.choice([None, True, False]), seated=rng.randint(0, 80)) for i in range(3000)]
    shuffled = points[:]
    rng.shuffle(shuffled)
    assert c.worst_first(points) == c.worst_first(shuffled)
    assert c.totals(points) == c.totals(shuffled)
    ranks = [c.trouble(p) for p in c.worst_first(points)]
    assert ranks == sorted(ranks, reverse=True)


# ---------------------------------------------------------------- link history


def test_hysteresis_of_the_links_seen_through_samples():
    # A link hovering around 1 % stays degraded instead of flickering (server.domain.links).
    state = None
    seen = []
    for loss in (0.012, 0.009, 0.011, 0.008, 0.009, 0.004, 0.006):
        state = classify(loss, state)
        seen.append(state)
    assert seen == [LinkState.DEGRADED] * 5 + [LinkState.NORMAL] * 2


def test_samples_merge_into_minutes():
    t0 = datetime(2026, 12, 10, 1, 0, 0, tzinfo=UTC)
    fine = [c.Sample(t0 + timedelta(seconds=5 * i), 5, loss=0.01 * (i % 3), rtt_ms=40 + i, jitter_ms=5,
                     bitrate_kbps=1000 + 10 * i, quality=LinkState.DEGRADED if i == 4 else LinkState.NORMAL)
            for i in range(24)]  # two minutes
    coarse = c.downsample(fine, 60)
    assert [s.at for s in coarse] == [t0, t0 + timedelta(minutes=1)]
    first = coarse[0]
    assert first.span == 60 and first.loss == 0.02 and first.rtt_ms == 40 + 11
    assert first.quality is LinkState.DEGRADED and coarse[1].quality is LinkState.NORMAL
    assert first.bitrate_kbps == round(sum(1000 + 10 * i for i in range(12)) / 12, 1)


def test_the_compaction_merges_whole_minutes_and_drops_old_ones():
    now = datetime(2026, 12, 10, 1, 30, 27, tzinfo=UTC)
    plan = c.compaction(now)
    assert plan.merge_before == datetime(2026, 12, 10, 1, 20, 0, tzinfo=UTC)
    assert plan.drop_before == now - timedelta(hours=12)
    assert c.bucket(datetime(2026, 12, 10, 1, 0, 7, tzinfo=UTC), 5) == datetime(2026, 12, 10, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        c.SamplePolicy(fine=7, coarse=60)
