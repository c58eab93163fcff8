"""The online conference in a real browser against a real server (docs/conference.md).

The secretary schedules a conference in the console's "Hội nghị trực tuyến" tab and invites every
commune and ward of the province by picking the tree's levels; the operator of Tiên Du opens the
bridge page, comes online, says its conference device is connected and asks for the floor; the
chair opens the conference and gives the floor from the request: the bridge page says its point
has the floor, the console and the operations screen (/ops) show the point's state; the floor is
taken back to the host.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.steps import login, shot
from tests.browser.test_web_bridge import LAPTOP, POINT, POINT_NAME, command, point_operator, upcoming_meeting

COMMUNES_AND_WARDS = 12  # the demo pack's points: five wards (Phường) and seven communes (Xã)


def test_console_invites_a_point_comes_online_asks_and_is_given_the_floor(live_server, new_page, rest):
    staff = rest.login("thuky", live_server.password)
    meeting_id = upcoming_meeting(rest, staff)
    operator = point_operator(rest, live_server, staff, meeting_id)

    # 1. The console: schedule, then invite every commune and ward under the province.
    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    console.get_by_test_id("tab-conference").click()
    console.get_by_test_id("conf-schedule").click()
    expect(console.get_by_test_id("conf-state")).to_have_attribute("data-state", "scheduled")
    form = console.get_by_test_id("conf-invite-form")
    form.locator('[data-testid="conf-invite-level"][data-level="Xã"]').check()
    form.locator('[data-testid="conf-invite-level"][data-level="Phường"]').check()
    expect(console.get_by_test_id("conf-invite-preview")).to_have_attribute("data-new", str(COMMUNES_AND_WARDS))
    console.get_by_test_id("conf-invite").click()
    roll = console.get_by_test_id("roll-point")
    expect(roll).to_have_count(COMMUNES_AND_WARDS + 1)  # and the host, the province hall
    expect(console.get_by_test_id("conf-invite-preview")).to_have_attribute("data-new", "0")
    row = roll.filter(has_text=POINT_NAME)
    expect(row).to_have_attribute("data-state", "invited")
    levels = console.get_by_test_id("level-totals")
    expect(levels.locator('[data-testid="level-row"][data-level="Xã"]')).to_have_attribute("data-points", "7")
    expect(levels.locator('[data-testid="level-row"][data-level="Phường"]')).to_have_attribute("data-points", "5")
    shot(console, "conference-console-invited")

    # 2. The bridge page: online at once, then its own conference device connected.
    page = new_page(LAPTOP)
    login(page, live_server.url + "/bridge", operator, live_server.password)
    page.goto(f"{live_server.url}/bridge#/m/{meeting_id}")
    expect(page.get_by_test_id("bridge-point")).to_have_attribute("data-point", POINT)
    card = page.get_by_test_id("bridge-conference")
    expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "online")
    expect(row).to_have_attribute("data-state", "online")
    card.get_by_test_id("bridge-codec").click()
    expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "media_connected")
    expect(row).to_have_attribute("data-state", "media_connected")

    # 3. Its connection test passes (recorded for it: the browser's own test needs a camera);
    # the console shows who passed.
    command(rest, staff, "point.test_result", meeting_id=meeting_id, point=POINT, loss=0.001, rtt_ms=42.0,
            jitter_ms=5.0, bitrate_kbps=1350.0, packets_received=1200)
    expect(row.get_by_test_id("point-test")).to_have_attribute("data-passed", "true")
    expect(console.get_by_test_id("conf-tests")).to_have_attribute("data-passed", "1")
    expect(card.get_by_test_id("bridge-test-verdict")).to_have_attribute("data-passed", "true")
    expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "ready")

    # 4. The meeting starts, the conference opens: the point is on air.
    command(rest, staff, "meeting.start", meeting_id=meeting_id)
    console.get_by_test_id("conf-open").click()
    expect(console.get_by_test_id("conf-state")).to_have_attribute("data-state", "open")
    expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "on_air")
    expect(card.get_by_test_id("bridge-floor-holder")).to_have_attribute("data-mine", "false")

    # 5. The point asks for the floor; the chair's console gives it from the request.
    page.get_by_test_id("floor-topic").fill("Chủ tịch UBND xã báo cáo tình hình chuyển đổi số")
    page.get_by_test_id("floor-request").click()
    request = console.get_by_test_id("conf-request").filter(has_text=POINT_NAME)
    expect(request).to_have_count(1)
    request.get_by_test_id("conf-grant-request").click()
    expect(console.get_by_test_id("conf-floor")).to_have_attribute("data-floor", POINT)
    holder = card.get_by_test_id("bridge-floor-holder")
    expect(holder).to_have_attribute("data-mine", "true")
    expect(page.get_by_test_id("floor-speaking")).to_be_visible()
    expect(row.get_by_test_id("roll-floor")).to_be_visible()
    shot(page, "conference-bridge-floor", full_page=False)
    shot(console, "conference-console-floor")

    # 6. The operations screen: the tree's points with their states, worst first; filters.
    ops = new_page({"width": 1400, "height": 1000})
    login(ops, live_server.url + "/ops", "thuky", live_server.password)
    ops.goto(f"{live_server.url}/ops#/m/{meeting_id}")
    board = ops.get_by_test_id("ops-board")
    expect(board.get_by_test_id("ops-point")).to_have_count(COMMUNES_AND_WARDS + 1)
    point_row = board.locator(f'[data-testid="ops-point"][data-code="{POINT}"]')
    expect(point_row).to_have_attribute("data-state", "on_air")
    expect(board.locator('[data-testid="ops-count"][data-state="on_air"]')).to_have_attribute("data-n", "1")
    expect(board.locator('[data-testid="ops-count"][data-state="invited"]')).to_have_attribute(
        "data-n", str(COMMUNES_AND_WARDS))
    # On air is the best a point can be: it comes last.
    expect(board.get_by_test_id("ops-point").last).to_have_attribute("data-code", POINT)
    board.get_by_test_id("ops-filter-state").select_option("on_air")
    expect(board.get_by_test_id("ops-point")).to_have_count(1)
    point_row.get_by_test_id("ops-point-name").click()
    expect(ops.get_by_test_id("ops-history")).to_have_attribute("data-code", POINT)
    board.get_by_test_id("ops-view-tree").click()
    expect(board.get_by_test_id("ops-tree-point")).to_have_count(1)
    shot(ops, "conference-ops")

    # 7. The point's device goes: the operations screen sees it reconnecting, the bridge page too.
    card.get_by_test_id("bridge-codec").click()
    expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "reconnecting")
    board.get_by_test_id("ops-filter-state").select_option("")
    board.get_by_test_id("ops-view-worst").click()
    expect(point_row).to_have_attribute("data-state", "reconnecting")
    expect(board.get_by_test_id("ops-point").first).to_have_attribute("data-code", POINT)  # the worst now

    # 8. The floor back to the host.
    console.get_by_test_id("conf-revoke").click()
    expect(console.get_by_test_id("conf-floor")).to_have_attribute("data-floor", "")
    expect(holder).to_have_attribute("data-mine", "false")
    expect(holder).to_contain_text("Tỉnh Bắc Ninh")


def test_the_bridge_page_tests_its_connection_and_sends_its_camera_through_the_media_node(live_server, new_page,
                                                                                          rest, browser):
    """WebRTC in the page: Chromium's fake camera and microphone, the server's own media node, no
    STUN. The connection test's verdict is the node's measure; then the point's picture goes up
    and the main feed comes down."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    staff = rest.login("thuky", live_server.password)
    meeting_id = upcoming_meeting(rest, staff)
    operator = point_operator(rest, live_server, staff, meeting_id)
    command(rest, staff, "conference.schedule", meeting_id=meeting_id)
    units = rest.call("GET", "/api/units", token=staff)["units"]
    unit_id = next(u["id"] for u in units if u["code"] == POINT)
    command(rest, staff, "conference.invite", meeting_id=meeting_id, unit_ids=[unit_id])

    pw_browser = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
    try:
        ctx = pw_browser.new_context(viewport=LAPTOP, locale="vi-VN", permissions=["camera", "microphone"])
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, live_server.url + "/bridge", operator, live_server.password)
        page.goto(f"{live_server.url}/bridge#/m/{meeting_id}")
        card = page.get_by_test_id("bridge-conference")
        expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "online")

        card.get_by_test_id("bridge-test-run").click()
        verdict = card.get_by_test_id("bridge-test-verdict")
        expect(verdict).to_be_visible(timeout=60_000)
        board = rest.call("GET", f"/api/meetings/{meeting_id}/conference", token=staff)
        test = next(p for p in board["points"] if p["code"] == POINT)["test"]
        assert test["source"] == "node" and test["packets_received"] > 0
        expect(verdict).to_have_attribute("data-passed", "true" if test["passed"] else "false")

        card.get_by_test_id("bridge-join").click()
        expect(card.get_by_test_id("bridge-media")).to_have_attribute("data-status", "joined", timeout=60_000)
        wanted = "ready" if test["passed"] else "media_connected"
        expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", wanted)
        # The camera is on the page; the main feed's tracks arrived.
        assert page.eval_on_selector('[data-testid="bridge-preview"]',
                                     "v => !!v.srcObject && v.srcObject.getVideoTracks().length === 1")
        page.wait_for_function("() => { const v = document.querySelector('[data-testid=\"bridge-main-feed\"]');"
                               " return !!v.srcObject && v.srcObject.getTracks().length >= 1; }")
        shot(page, "conference-bridge-media", full_page=False)
        card.get_by_test_id("bridge-leave").click()
        expect(card.get_by_test_id("bridge-point-state")).to_have_attribute("data-state", "reconnecting")
        assert errors == []
    finally:
        pw_browser.close()
