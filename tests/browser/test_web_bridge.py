"""The bridge point page (/bridge) in a real browser against a real server (docs/deliberation.md).

The operator of the commune point Tiên Du, on a small laptop behind a link we can cut, reports
how many people sit there, enters the show of hands for the open motion (a sum above the seated
count is refused on the page and never sent; figures sent while the link is down go once it
returns, under one idempotency key; a correction replaces them), asks for the floor for the point
and withdraws. The secretariat sees it all through REST and its console.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.browser.steps import login, shot

POINT = "BN-X-TIENDU"  # Xã Tiên Du, one of the demo pack's twelve commune points
POINT_NAME = "Xã Tiên Du"
LAPTOP = {"width": 1280, "height": 720}


def command(rest, token: str, name: str, **data) -> dict:
    return rest.call("POST", f"/api/commands/{name}", data, token=token)["result"]


def upcoming_meeting(rest, token: str) -> int:
    meetings = rest.call("GET", "/api/meetings", token=token)["meetings"]
    return next(m["id"] for m in meetings if m["status"] == "published")


def point_operator(rest, server, staff: str, meeting_id: int) -> str:
    """The username of the point's operator account.

    The demo pack lists each point's operator as a participant without an account (no
    `username`); when that is still so, the administrator makes one in the point's unit and the
    secretariat invites it as the meeting's operator for the point, as an office would.
    """
    snapshot = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)
    unit = next(u for u in rest.call("GET", "/api/units", token=staff)["units"] if u["code"] == POINT)
    users = {u["id"]: u for u in rest.call("GET", "/api/users", token=staff)["users"]}
    for p in snapshot["participants"]:
        if p["role"] == "operator" and p["unit_id"] == unit["id"] and p["user_id"] in users:
            return users[p["user_id"]]["username"]
    admin = rest.login("admin", server.password)
    user = command(rest, admin, "user.create", username="kythuat.tiendu", full_name="Phạm Thị Liên",
                   password=server.password, unit_id=unit["id"])["user"]
    command(rest, staff, "participant.add", meeting_id=meeting_id, user_id=user["id"], role="operator",
            title="Cán bộ kỹ thuật điểm cầu xã Tiên Du")
    return user["username"]


def record_commands(page: Page) -> list[dict]:
    """Every `command` the page sends over socket.io, as {name, key, data}: over the
    websocket, and over HTTP long-polling, which a reconnecting client uses until its
    upgrade to a websocket completes (on a loaded machine, long enough to send on it)."""
    sent: list[dict] = []

    def on_packet(text: str) -> None:
        # socket.io over engine.io: `42<ack id>["command", {...}]`.
        if not text.startswith("42") or '"command"' not in text:
            return
        body = json.loads(text[text.index("["):])
        if body[0] == "command":
            sent.append(body[1])

    def on_frame(payload) -> None:
        on_packet(payload if isinstance(payload, str) else payload.decode("utf-8", "replace"))

    def on_request(request) -> None:
        if request.method == "POST" and "/socket.io/" in request.url and "transport=polling" in request.url:
            for packet in (request.post_data or "").split("\x1e"):  # engine.io v4's packet separator
                on_packet(packet)

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    page.on("request", on_request)
    return sent


def bridge_page(new_page, url: str, username: str, password: str, meeting_id: int) -> tuple[Page, list[dict]]:
    page = new_page(LAPTOP)
    sent = record_commands(page)
    login(page, url + "/bridge", username, password)
    page.goto(f"{url}/bridge#/m/{meeting_id}")
    expect(page.get_by_test_id("meeting-view")).to_be_visible()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    expect(page.get_by_test_id("bridge-point")).to_have_attribute("data-point", POINT)
    return page, sent


def fill_hands(page: Page, yes: str, no: str, abstain: str) -> None:
    form = page.get_by_test_id("hands-form")
    for option, value in (("yes", yes), ("no", no), ("abstain", abstain)):
        form.locator(f'[data-testid="hands-input"][data-option-id="{option}"]').fill(value)


def the_poll(rest, staff: str, meeting_id: int, poll_id: int) -> dict:
    return next(p for p in rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["polls"] if p["id"] == poll_id)


def test_operator_reports_seated_enters_hands_and_asks_for_the_floor(live_server, new_page, rest, tcp_proxy):
    staff = rest.login("thuky", live_server.password)
    meeting_id = upcoming_meeting(rest, staff)
    operator = point_operator(rest, live_server, staff, meeting_id)
    command(rest, staff, "meeting.start", meeting_id=meeting_id)
    proxy = tcp_proxy(live_server.port)
    page, sent = bridge_page(new_page, proxy.url, operator, live_server.password, meeting_id)
    expect(page.get_by_test_id("bridge-point")).to_contain_text(POINT_NAME)
    expect(page.get_by_test_id("seated-current")).to_have_attribute("data-seated", "")

    # 1. The seated count.
    page.get_by_test_id("seated-input").fill("25")
    page.get_by_test_id("seated-submit").click()
    expect(page.get_by_test_id("seated-current")).to_have_attribute("data-seated", "25")
    expect(page.get_by_test_id("seated-sent")).to_be_visible()
    expect(page.get_by_test_id("bridge-banner-seated")).to_contain_text("25")
    by_point = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["quorum"]["by_point"]
    assert by_point[POINT]["seated"] == 25
    shot(page, "bridge-seated", full_page=False)

    # 2. The secretariat opens a motion: the point's 25 are frozen into it at the opening.
    poll_id = command(rest, staff, "poll.create", meeting_id=meeting_id, kind="motion",
                      title="Thông qua Nghị quyết về phương hướng năm 2027",
                      majority={"base": "valid", "threshold": "1/2", "strict": True})["poll"]["id"]
    command(rest, staff, "poll.open", meeting_id=meeting_id, poll_id=poll_id)
    card = page.get_by_test_id("bridge-poll")
    expect(card).to_have_attribute("data-state", "open")
    expect(card).to_have_attribute("data-poll-id", str(poll_id))
    expect(card.get_by_test_id("hands-limit")).to_have_attribute("data-limit", "25")
    form = page.get_by_test_id("hands-form")
    for option, label in (("yes", "Tán thành"), ("no", "Không tán thành"), ("abstain", "Không biểu quyết")):
        expect(form.locator("label").filter(has=page.locator(f'[data-option-id="{option}"]'))).to_contain_text(label)
    shot(page, "bridge-poll-open", full_page=False)
    # On a small laptop the figures and their button are on screen without scrolling.
    expect(page.get_by_test_id("hands-submit")).to_be_in_viewport()

    # 3. More hands than people: refused on the page, nothing sent.
    fill_hands(page, "20", "3", "3")
    expect(page.get_by_test_id("hands-total")).to_have_attribute("data-total", "26")
    page.get_by_test_id("hands-submit").click()
    refusal = page.get_by_test_id("hands-invalid")
    expect(refusal).to_have_attribute("data-code", "over")
    expect(refusal).to_contain_text("26")
    expect(refusal).to_contain_text("25")
    expect(page.get_by_test_id("hands-sent")).to_have_count(0)
    shot(page, "bridge-hands-refused", full_page=False)
    assert [c for c in sent if c["name"] == "poll.hands"] == []
    assert the_poll(rest, staff, meeting_id, poll_id)["point_counts"] == {}

    # 4. The figures, typed while the link is down: sent once it returns, acknowledged, shown.
    head = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["head"]
    proxy.cut()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "reconnecting")
    fill_hands(page, "20", "3", "2")
    page.get_by_test_id("hands-submit").click()
    expect(page.get_by_test_id("hands-pending")).to_be_visible()
    shot(page, "bridge-hands-offline", full_page=False)
    proxy.restore()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online", timeout=20_000)
    done = page.get_by_test_id("hands-sent")
    expect(done).to_be_visible(timeout=20_000)
    expect(done).to_contain_text("Đã gửi")
    for option, count in (("yes", 20), ("no", 3), ("abstain", 2)):
        expect(done.locator(f'[data-testid="hands-sent-count"][data-option-id="{option}"]')).to_have_attribute(
            "data-count", str(count)
        )
    shot(page, "bridge-hands-sent", full_page=False)

    poll = the_poll(rest, staff, meeting_id, poll_id)
    assert poll["points_present"] == {POINT: 25}
    assert poll["point_counts"] == {POINT: {"yes": 20, "no": 3, "abstain": 2}}
    # However many times the page had to try, one key, and one change in the meeting's log.
    keys = {c["key"] for c in sent if c["name"] == "poll.hands"}
    assert len(keys) == 1
    events = rest.call("GET", f"/api/meetings/{meeting_id}/events?since={head}", token=staff)["events"]
    hands_events = [e for e in events if e["type"] == "poll.hands"]
    assert [e["data"] for e in hands_events] == [{"poll_id": poll_id, "point": POINT,
                                                  "counts": {"yes": 20, "no": 3, "abstain": 2}}]

    # 5. A correction while the poll is open: a new submission that replaces the figures.
    page.get_by_test_id("hands-correct").click()
    expect(page.locator('[data-testid="hands-input"][data-option-id="yes"]')).to_have_value("20")
    fill_hands(page, "19", "4", "2")
    page.get_by_test_id("hands-submit").click()
    expect(done.locator('[data-testid="hands-sent-count"][data-option-id="yes"]')).to_have_attribute("data-count", "19")
    assert len({c["key"] for c in sent if c["name"] == "poll.hands"}) == 2
    assert the_poll(rest, staff, meeting_id, poll_id)["point_counts"] == {POINT: {"yes": 19, "no": 4, "abstain": 2}}

    # 6. The floor for the point: its place in the queue, seen by the console; then withdrawn.
    page.get_by_test_id("floor-topic").fill("Đồng chí Chủ tịch UBND xã phát biểu về chuyển đổi số")
    page.get_by_test_id("floor-request").click()
    line = page.get_by_test_id("floor-request-line")
    expect(line).to_have_count(1)
    expect(line.get_by_test_id("floor-place")).to_have_attribute("data-place", "1")
    shot(page, "bridge-floor", full_page=False)
    speakers = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["speakers"]
    asked = [s for s in speakers if s["point"] == POINT]
    assert [(s["state"], s["name"]) for s in asked] == [("waiting", POINT_NAME)]

    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    console.get_by_test_id("tab-speakers").click()
    row = console.get_by_test_id("speaker-row").filter(has_text=POINT_NAME)
    expect(row).to_have_attribute("data-state", "waiting")
    expect(row.get_by_test_id("speaker-topic-text")).to_have_text("Đồng chí Chủ tịch UBND xã phát biểu về chuyển đổi số")

    line.get_by_test_id("floor-withdraw").click()
    expect(page.get_by_test_id("floor-request-line")).to_have_count(0)
    expect(page.get_by_test_id("floor-request")).to_be_visible()
    expect(console.get_by_test_id("speaker-row").filter(has_text=POINT_NAME)).to_have_count(0)

    # 7. Closed and published: the point's hands counted once, the result on the point's page.
    command(rest, staff, "poll.close", meeting_id=meeting_id, poll_id=poll_id)
    expect(card).to_have_attribute("data-state", "closed")
    expect(page.get_by_test_id("bridge-poll-waiting")).to_be_visible()
    tally = the_poll(rest, staff, meeting_id, poll_id)["result"]["tally"]
    assert tally["hands"] == 25
    assert tally["by_point"] == {POINT: {"yes": 19, "no": 4, "abstain": 2}}
    command(rest, staff, "poll.publish", meeting_id=meeting_id, poll_id=poll_id)
    expect(card).to_have_attribute("data-state", "published")
    result = card.get_by_test_id("poll-result")
    expect(result).to_be_visible()
    expect(result.locator('[data-testid="result-bar"][data-option-id="yes"]')).to_have_attribute("data-count", "19")
    expect(card.get_by_test_id("hands-form")).to_have_count(0)
    shot(page, "bridge-result")


def test_a_point_without_a_count_at_the_opening_is_told_why_it_cannot_enter_hands(live_server, new_page, rest):
    """The poll freezes the people at each point when it opens (docs/deliberation.md)."""
    staff = rest.login("thuky", live_server.password)
    meeting_id = upcoming_meeting(rest, staff)
    operator = point_operator(rest, live_server, staff, meeting_id)
    command(rest, staff, "meeting.start", meeting_id=meeting_id)
    poll_id = command(rest, staff, "poll.create", meeting_id=meeting_id, kind="motion", title="Thông qua Quy chế làm việc")[
        "poll"
    ]["id"]
    command(rest, staff, "poll.open", meeting_id=meeting_id, poll_id=poll_id)
    page, sent = bridge_page(new_page, live_server.url, operator, live_server.password, meeting_id)

    card = page.get_by_test_id("bridge-poll")
    expect(card).to_have_attribute("data-state", "open")
    expect(card.get_by_test_id("hands-unavailable")).to_have_attribute("data-reason", "not_at_open")
    expect(card.get_by_test_id("hands-form")).to_have_count(0)
    # Reporting now counts for the next poll, and the page says so.
    page.get_by_test_id("seated-input").fill("30")
    page.get_by_test_id("seated-submit").click()
    expect(page.get_by_test_id("seated-current")).to_have_attribute("data-seated", "30")
    expect(card.get_by_test_id("hands-unavailable")).to_have_attribute("data-reason", "not_at_open")
    # A count that is not a whole number never leaves the page.
    page.get_by_test_id("seated-input").fill("2,5")
    page.get_by_test_id("seated-submit").click()
    expect(page.get_by_test_id("seated-invalid")).to_be_visible()
    assert [c["data"]["seated"] for c in sent if c["name"] == "attendance.point_count"] == [30]
