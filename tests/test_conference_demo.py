"""`phonghop serve --demo` shows an online conference (README, docs/conference.md): a published
meeting whose conference is scheduled, hosted by the province hall, with communes and wards
invited; the points' operators sign in with the demo password and see their own point."""

from __future__ import annotations

import aiohttp
import socketio

from server.demo import CONFERENCE, CONFERENCE_POINTS, HOST_OPERATOR


async def test_the_demo_has_a_scheduled_conference_whose_operators_sign_in(live_server):
    url, password = live_server.url, live_server.password
    async with aiohttp.ClientSession() as http:

        async def login(username: str) -> str:
            async with http.post(f"{url}/api/auth/login", json={"username": username, "password": password}) as r:
                assert r.status == 200, await r.text()
                return (await r.json())["token"]

        async def get(path: str, token: str) -> dict:
            async with http.get(url + path, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200, (path, await r.text())
                return await r.json()

        staff = await login("thuky")
        meetings = (await get("/api/meetings", staff))["meetings"]
        meeting = next(m for m in meetings if m["code"] == CONFERENCE)
        assert meeting["status"] == "published"
        # The committee's meeting stays the first published one (what the tablets open first).
        assert next(m for m in meetings if m["status"] == "published")["code"] == "DEMO-SAP-TOI"
        board = await get(f"/api/meetings/{meeting['id']}/conference", staff)
        assert board["state"] == "scheduled"
        by_code = {p["code"]: p for p in board["points"]}
        assert set(by_code) == {"BN", *(code for code, _ in CONFERENCE_POINTS)}
        assert by_code["BN"]["host"] and by_code["BN"]["operator"]["name"] == HOST_OPERATOR[1]
        assert {x["level"] for x in board["totals"]["by_level"]} == {"Tỉnh", "Xã", "Phường"}
        assert all(p["state"] == "invited" and p["operator"] for p in board["points"])

        # Every point's operator signs in and, over socket.io, watches its own point.
        for username, code in [(HOST_OPERATOR[0], "BN"), *((op, code) for code, op in CONFERENCE_POINTS)]:
            token = await login(username)
            snapshot = await get(f"/api/meetings/{meeting['id']}", token)
            assert snapshot["conference"]["host"]["code"] == "BN"
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
            try:
                ack = await client.call("conference.watch", {"meeting_id": meeting["id"]}, timeout=10)
                assert ack["ok"], ack
                assert [p["code"] for p in ack["board"]["points"]] == [code]
            finally:
                await client.disconnect()
