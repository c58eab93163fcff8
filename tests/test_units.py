"""The organisation tree over REST: any depth, level names as data, a merger as an edit."""

from __future__ import annotations


async def test_merger_is_an_edit(world):
    live, admin = world.live, world.tokens["admin"]

    async def unit(**data) -> dict:
        status, body = await live.command(admin, "unit.create", **data)
        assert status == 200, body
        return body["result"]["unit"]

    old_a = await unit(code="X-A", name="Xã Nội Duệ", level="Xã", parent_id=world.unit_id)
    old_b = await unit(code="X-B", name="Xã Liên Bão", level="Xã", parent_id=world.unit_id)
    # 1 July 2025: the two communes end and a new one begins.
    for old in (old_a, old_b):
        status, body = await live.command(admin, "unit.update", unit_id=old["id"], valid_to="2025-06-30")
        assert status == 200, body
    merged = await unit(code="X-TD", name="Xã Tiên Du", level="Xã", parent_id=world.unit_id, valid_from="2025-07-01")
    status, body = await live.request("GET", "/api/units", token=world.tokens["daibieu01"])
    by_code = {u["code"]: u for u in body["units"]}
    assert by_code["X-A"]["valid_to"] == "2025-06-30" and by_code["X-TD"]["valid_from"] == "2025-07-01"
    assert by_code["X-TD"]["parent_id"] == world.unit_id and merged["level"] == "Xã"


async def test_level_names_are_data_and_depth_is_free(world):
    live, admin = world.live, world.tokens["admin"]
    parent = world.unit_id
    for depth, level in enumerate(["Đảng ủy khối", "Chi bộ", "Tổ đảng", "Nhóm"]):
        status, body = await live.command(admin, "unit.create", code=f"D{depth}", name=f"Đơn vị {depth}", level=level,
                                          parent_id=parent)
        assert status == 200, body
        parent = body["result"]["unit"]["id"]
    status, body = await live.command(admin, "unit.update", unit_id=world.unit_id, parent_id=parent)
    assert status == 409 and "under itself" in body["error"]["message"]


async def test_only_the_administrator_edits_the_tree(world):
    status, body = await world.live.command(world.tokens["vanphong"], "unit.create", code="Z", name="Z", level="Xã")
    assert status == 403


async def test_dates_are_checked(world):
    status, body = await world.live.command(world.tokens["admin"], "unit.create", code="Z", name="Z", level="Xã",
                                            valid_from="2025-07-01", valid_to="2025-06-30")
    assert status == 422 or status == 409, body
