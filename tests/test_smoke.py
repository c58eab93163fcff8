async def test_world_builds(world):
    status, body = await world.live.request("GET", f"/api/meetings/{world.meeting_id}", token=world.tokens["vanphong"])
    assert status == 200
    assert [i["title"] for i in body["agenda"]] == ["Khai mạc", "Báo cáo chính trị", "Bế mạc"]
