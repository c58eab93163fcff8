"""The floor when its point goes, and a point connected twice (docs/conference.md).

A point holding the floor whose operator's connection goes (or whose media goes down and does not
come back) gives the floor back to the host after the board's grace: a decision of the system, on
the meeting's log (`conference.floor_returned`, the speech ended for the minutes), on the audit
log, and told to the chair's console. A point that comes back within the grace keeps it. A point
whose operator has the bridge page open twice counts once, and stays online until both go.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.store.tables import AuditRecord
from tests.conftest import World, wait_for
from tests.test_conference import add_operators, board_state, command, staff, watcher


async def on_air_with_the_floor(world: World, code: str = "BN-QV"):
    """An open conference in session whose point `code` is connected, its media up, and holds the floor."""
    ops = await add_operators(world, [code])
    await staff(world, "conference.schedule")
    await staff(world, "conference.invite", unit_ids=[ops[code]["unit_id"]])
    await staff(world, "meeting.publish")
    await staff(world, "conference.open", who="chutri")
    await staff(world, "meeting.start", who="chutri")
    point = await watcher(world, ops[code]["token"])
    assert (await command(point, "point.report", meeting_id=world.meeting_id, media="connected"))["ok"]
    conf = (await staff(world, "floor.grant", who="chutri", point=code))["conference"]
    assert conf["floor"]["code"] == code
    return ops[code], point


def floor_returned(client) -> list[dict]:
    return [e for e in client.received if e["type"] == "conference.floor_returned"]


async def test_the_floor_goes_back_to_the_host_when_its_point_drops(world):
    board = world.live.app["conference"]
    board.floor_grace = timedelta(seconds=1)  # the grace itself is the domain's (tests/domain)
    who, point = await on_air_with_the_floor(world)
    chair = await watcher(world, world.tokens["chutri"])
    await board_state(world, chair, who["unit_id"], "media_connected", floor=True)

    # Its operator's connection goes: the board sees the point dropped, and after the grace
    # the system gives the floor back.
    await point.disconnect()
    await board_state(world, chair, who["unit_id"], "dropped")
    await wait_for(lambda: floor_returned(chair), timeout=15)
    notice = floor_returned(chair)[0]
    assert notice["data"]["point"]["code"] == "BN-QV" and notice["data"]["reason"] == "dropped"
    assert notice["data"]["by"] == "system" and notice["data"]["conference"]["floor"] is None
    assert notice["data"]["notice"].startswith("Điểm cầu Phường Quế Võ mất kết nối")
    await wait_for(lambda: any(e["type"] == "conference.updated" and e["data"]["conference"]["floor"] is None
                               for e in chair.received))

    # On the record: the conference, the meeting's log, the speech's end, the audit log.
    status, snap = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["chutri"])
    assert status == 200 and snap["conference"]["floor"] is None
    assert [s["state"] for s in snap["speakers"] if s["point"] == "BN-QV"] == ["done"]
    status, log = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/events?since=0",
                                           token=world.tokens["vanphong"])
    assert status == 200
    logged = [e for e in log["events"] if e["type"] == "conference.floor_returned"]
    assert len(logged) == 1 and logged[0]["seq"] == notice["seq"]
    async with world.live.app["db"].read() as db:
        audited = (await db.scalars(select(AuditRecord).where(AuditRecord.action == "floor.fallback"))).all()
    assert [(a.actor, a.details["point"], a.details["reason"]) for a in audited] == [("system", "BN-QV", "dropped")]

    # Once is enough: more ticks decide nothing more.
    for _ in range(3):
        await board.flush()
    assert len(floor_returned(chair)) == 1
    await chair.disconnect()


async def test_a_point_whose_media_stays_down_loses_the_floor_one_back_in_time_keeps_it(world):
    board = world.live.app["conference"]
    board.floor_grace = timedelta(hours=1)  # nobody loses the floor while this part runs
    who, point = await on_air_with_the_floor(world)
    chair = await watcher(world, world.tokens["chutri"])

    # Its page reloads: gone and back, its media up again, all within the grace: it keeps the floor.
    await point.disconnect()
    await board_state(world, chair, who["unit_id"], "dropped")
    point = await watcher(world, who["token"])
    assert (await command(point, "point.report", meeting_id=world.meeting_id, media="connected"))["ok"]
    await board_state(world, chair, who["unit_id"], "media_connected", floor=True)
    board.floor_grace = timedelta(0)
    for _ in range(2):
        await board.flush()
    assert floor_returned(chair) == []

    # Its media goes down and does not come back (its connection stays): the floor goes back.
    assert (await command(point, "point.report", meeting_id=world.meeting_id, media="lost"))["ok"]
    await board_state(world, chair, who["unit_id"], "reconnecting")
    await wait_for(lambda: floor_returned(chair), timeout=15)
    assert floor_returned(chair)[0]["data"]["reason"] == "media_lost"
    # The point's own operator learns of it too (the meeting's audience).
    await wait_for(lambda: floor_returned(point))
    for client in (chair, point):
        await client.disconnect()


async def test_a_point_connected_twice_counts_once(world):
    ops = await add_operators(world, ["BN-TD"])
    td = ops["BN-TD"]
    await staff(world, "conference.schedule")
    await staff(world, "conference.invite", unit_ids=[td["unit_id"]])
    await staff(world, "meeting.publish")
    console = await watcher(world, world.tokens["vanphong"])

    # The bridge page open in two tabs: one point, online once.
    first = await watcher(world, td["token"])
    second = await watcher(world, td["token"])
    await board_state(world, console, td["unit_id"], "online")
    board = world.live.app["conference"]
    conf = await board.get(world.meeting_id)
    assert len(conf.points[td["unit_id"]].sids) == 2
    # Both tabs report the same seated count: the point's count, not a sum.
    for tab in (first, second):
        assert (await command(tab, "point.report", meeting_id=world.meeting_id, seated=30))["ok"]
    await board.flush()
    status, view = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                            token=world.tokens["vanphong"])
    assert status == 200
    totals = view["totals"]
    assert totals["points"] == 2 and totals["by_state"]["online"] == 1 and totals["by_state"]["invited"] == 1
    assert totals["seated"] == 30 and totals["reported"] == 1
    assert [p["code"] for p in view["points"]].count("BN-TD") == 1
    # Both tabs hear of their point.
    await wait_for(lambda: first.mine and second.mine)

    # One tab closes: still online. The other: dropped.
    await first.disconnect()
    await board.flush()
    status, view = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                            token=world.tokens["vanphong"])
    assert next(p for p in view["points"] if p["code"] == "BN-TD")["state"] == "online"
    assert len(conf.points[td["unit_id"]].sids) == 1
    await second.disconnect()
    await board_state(world, console, td["unit_id"], "dropped")
    status, view = await world.live.request("GET", f"/api/meetings/{world.meeting_id}/conference",
                                            token=world.tokens["vanphong"])
    assert view["totals"]["by_state"]["dropped"] == 1 and view["totals"]["points"] == 2
    await console.disconnect()
