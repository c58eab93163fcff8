"""Deliberation in a real browser against a real server (docs/deliberation.md).

The console starts the demo meeting and checks two delegates in; they vote on their tablets,
the console closes and publishes, the projector shows the result. A delegate asks to speak,
the console gives the floor, the projector shows the speaker. A comment sent from a tablet
reaches the console, and its triage comes back to the tablet.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.steps import login, open_upcoming, shot


def tablet(new_page, server, username: str, viewport=None) -> tuple[Page, int, str]:
    page = new_page(viewport or {"width": 1100, "height": 900})
    login(page, server.url + "/", username, server.password)
    meeting_id = open_upcoming(page)
    return page, meeting_id, page.get_by_test_id("current-user").get_attribute("data-user-id")


def console_for(new_page, server, meeting_id: int, username: str = "thuky") -> Page:
    page = new_page({"width": 1400, "height": 1000})
    login(page, server.url + "/console", username, server.password)
    page.goto(f"{server.url}/console#/m/{meeting_id}")
    expect(page.get_by_test_id("meeting-view")).to_be_visible()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    return page


def start_and_check_in(console: Page, user_ids: list[str]) -> None:
    console.get_by_test_id("tab-session").click()
    console.get_by_test_id("life-start").click()
    expect(console.get_by_test_id("meeting-status")).to_have_attribute("data-status", "in_session")
    for uid in user_ids:
        row = console.locator(f'[data-testid="participant-row"][data-user-id="{uid}"]')
        row.get_by_test_id("mark-present").click()
        expect(row.get_by_test_id("participant-status")).to_have_attribute("data-status", "present")


def projector_for(new_page, server, meeting_id: int) -> Page:
    page = new_page({"width": 1600, "height": 1000})
    login(page, server.url + "/projector", "thuky", server.password)
    page.goto(f"{server.url}/projector#/m/{meeting_id}")
    expect(page.get_by_test_id("meeting-view")).to_be_visible()
    return page


def vote(page: Page, choice: str) -> None:
    sheet = page.get_by_test_id("poll-sheet")
    expect(sheet).to_be_visible()
    sheet.get_by_test_id(f"vote-{choice}").click()
    expect(sheet.get_by_test_id("confirm-choice")).to_have_count(1)
    sheet.get_by_test_id("vote-confirm").click()
    expect(sheet.get_by_test_id("voted")).to_be_visible()


def test_named_motion_from_console_to_tablets_to_projector(live_server, new_page):
    t1, meeting_id, uid1 = tablet(new_page, live_server, "daibieu01")
    t2, _, uid2 = tablet(new_page, live_server, "daibieu02")
    console = console_for(new_page, live_server, meeting_id)
    start_and_check_in(console, [uid1, uid2])
    projector = projector_for(new_page, live_server, meeting_id)

    console.get_by_test_id("tab-polls").click()
    console.get_by_test_id("poll-create-open").click()
    console.get_by_test_id("poll-kind").select_option("motion")
    console.get_by_test_id("poll-title").fill("Thông qua Nghị quyết về phương hướng năm 2027")
    console.get_by_test_id("poll-base").select_option("valid")
    console.get_by_test_id("poll-threshold").fill("1/2")
    console.get_by_test_id("poll-quorum").fill("1/50")  # two delegates checked in: enough for the test
    console.get_by_test_id("poll-create").click()
    card = console.get_by_test_id("console-poll").filter(has_text="Thông qua Nghị quyết")
    expect(card).to_have_attribute("data-state", "draft")
    card.get_by_test_id("poll-open").click()
    expect(card).to_have_attribute("data-state", "open")
    expect(projector.get_by_test_id("projector-voting")).to_have_text("Đang biểu quyết: 0/2")

    expect(t1.get_by_test_id("ballot-title")).to_have_text("Thông qua Nghị quyết về phương hướng năm 2027")
    expect(t1.get_by_test_id("vote-yes")).to_have_text("Tán thành")
    expect(t1.get_by_test_id("vote-no")).to_have_text("Không tán thành")
    expect(t1.get_by_test_id("vote-abstain")).to_have_text("Không biểu quyết")
    shot(t1, "tablet-poll", full_page=False)
    t1.get_by_test_id("vote-yes").click()
    shot(t1, "tablet-poll-confirm", full_page=False)
    t1.get_by_test_id("vote-confirm").click()
    expect(t1.get_by_test_id("voted")).to_contain_text("Đã biểu quyết")
    expect(t1.get_by_test_id("receipt")).to_have_count(0)  # a named poll has no receipt
    shot(t1, "tablet-poll-voted", full_page=False)
    expect(projector.get_by_test_id("projector-voting")).to_have_text("Đang biểu quyết: 1/2")
    vote(t2, "yes")

    expect(card.get_by_test_id("console-poll-progress")).to_have_attribute("data-voted", "2")
    expect(card.get_by_test_id("console-poll-progress")).to_contain_text("2/2")
    expect(card.locator('[data-testid="live-tally-cell"][data-option-id="yes"]')).to_contain_text("2")
    shot(console, "console-polls-open")
    card.get_by_test_id("poll-close").click()
    expect(card).to_have_attribute("data-state", "closed")
    # Closed is not published: the projector does not show the result yet.
    expect(projector.locator('[data-testid="projector-poll"][data-state="published"]')).to_have_count(0)
    card.get_by_test_id("poll-publish").click()
    expect(card).to_have_attribute("data-state", "published")
    expect(card.get_by_test_id("poll-outcome")).to_have_text("Được thông qua")
    shot(console, "console-polls")

    result = projector.locator('[data-testid="projector-poll"][data-state="published"]')
    expect(result).to_be_visible()
    expect(result.get_by_test_id("poll-outcome")).to_have_text("Được thông qua")
    for option, count in (("yes", 2), ("no", 0), ("abstain", 0)):
        bar = result.locator(f'[data-testid="result-bar"][data-option-id="{option}"]')
        expect(bar).to_have_attribute("data-count", str(count))
        expect(bar.get_by_test_id("result-count")).to_have_text(str(count))
    expect(result.get_by_test_id("poll-bases")).to_contain_text("số phiếu hợp lệ")
    shot(projector, "projector-result")

    line = t1.locator('[data-testid="poll-line"][data-state="published"]')
    expect(line.get_by_test_id("poll-outcome")).to_have_text("Được thông qua")


def test_delegate_asks_to_speak_and_the_projector_shows_the_speaker(live_server, new_page):
    t1, meeting_id, uid1 = tablet(new_page, live_server, "daibieu01")
    console = console_for(new_page, live_server, meeting_id)
    start_and_check_in(console, [uid1])
    console.get_by_test_id("agenda-row").first.get_by_test_id("agenda-set-current").click()
    projector = projector_for(new_page, live_server, meeting_id)

    t1.get_by_test_id("speaker-topic").fill("Về chỉ tiêu tăng trưởng kinh tế")
    t1.get_by_test_id("speaker-request").click()
    mine = t1.get_by_test_id("my-request")
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("my-place")).to_have_text("Thứ tự của đồng chí: 1")

    console.get_by_test_id("tab-speakers").click()
    row = console.get_by_test_id("speaker-row").filter(has_text="Lê Quang Minh")
    expect(row).to_have_attribute("data-state", "waiting")
    t1.get_by_test_id("my-request").scroll_into_view_if_needed()
    shot(t1, "tablet-speaker-request", full_page=False)
    expect(row).to_contain_text("Về chỉ tiêu tăng trưởng kinh tế")
    row.get_by_test_id("speaker-approve").click()
    expect(row).to_have_attribute("data-state", "approved")
    row.get_by_test_id("speaker-limit").fill("8")  # short, to see the warning and the over-time state
    row.get_by_test_id("speaker-start").click()

    expect(console.get_by_test_id("current-speaker-name")).to_have_text("Lê Quang Minh")
    expect(projector.get_by_test_id("projector-speaker-name")).to_have_text("Lê Quang Minh")
    expect(projector.get_by_test_id("projector-speaker-topic")).to_have_text(
        "Về chỉ tiêu tăng trưởng kinh tế"
    )
    clock = projector.get_by_test_id("speaker-clock")
    expect(clock.get_by_test_id("speaker-clock-time")).to_have_text(re.compile(r"^0:0[0-8]$"))
    expect(t1.get_by_test_id("my-speech")).to_be_visible()
    shot(projector, "projector-speaker")
    # The last seconds are amber (warning), then red and counting up once over the limit.
    expect(clock).to_have_attribute("data-state", "warning", timeout=8_000)
    expect(clock).to_have_attribute("data-state", "over", timeout=8_000)
    expect(clock.get_by_test_id("speaker-clock-time")).to_have_text(re.compile(r"^\+0:0\d$"))
    expect(t1.get_by_test_id("speaker-clock")).to_have_attribute("data-state", "over")
    shot(projector, "projector-speaker-over")
    shot(console, "console-speakers")
    t1.get_by_test_id("my-speech").scroll_into_view_if_needed()
    shot(t1, "tablet-speaking", full_page=False)

    console.get_by_test_id("speaker-stop").click()
    expect(projector.get_by_test_id("projector-speaker")).to_have_count(0)
    expect(console.get_by_test_id("speaker-done").filter(has_text="Lê Quang Minh")).to_have_count(1)
    expect(t1.get_by_test_id("my-speech")).to_have_count(0)


def test_comment_reaches_the_console_and_its_triage_returns(live_server, new_page):
    t1, meeting_id, uid1 = tablet(new_page, live_server, "daibieu01")
    console = console_for(new_page, live_server, meeting_id)
    start_and_check_in(console, [uid1])
    console.get_by_test_id("tab-comments").click()

    t1.get_by_test_id("comment-anchor-passage").check()
    t1.get_by_test_id("comment-quote").fill("tăng trưởng kinh tế đạt 8%")
    t1.get_by_test_id("comment-section").fill("Mục II.1")
    t1.get_by_test_id("comment-text").fill("Đề nghị ghi rõ chỉ tiêu theo giá so sánh năm 2010.")
    t1.get_by_test_id("comment-proposed").fill("tăng trưởng kinh tế (GRDP, giá so sánh 2010) đạt 8%")
    t1.get_by_test_id("comment-send").click()
    mine = t1.get_by_test_id("my-comment")
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("comment-decision")).to_have_attribute("data-decision", "pending")

    row = console.get_by_test_id("comment-row").filter(has_text="giá so sánh năm 2010")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lê Quang Minh")
    row.get_by_test_id("triage-explained").click()
    row.get_by_test_id("triage-explanation").fill("Dự thảo đã ghi chú giá so sánh ở phần phụ lục.")
    row.get_by_test_id("triage-explanation-save").click()
    expect(row.get_by_test_id("comment-decision")).to_have_attribute("data-decision", "explained")
    shot(console, "console-comments")

    expect(mine.get_by_test_id("comment-decision")).to_have_attribute("data-decision", "explained")
    expect(mine.get_by_test_id("comment-decision")).to_have_text("Giải trình")
    expect(mine.get_by_test_id("comment-explanation")).to_contain_text("phụ lục")
    mine.scroll_into_view_if_needed()
    shot(t1, "tablet-comments", full_page=False)


def test_secret_election_gives_a_receipt_and_the_projector_shows_the_elected(live_server, new_page):
    t1, meeting_id, uid1 = tablet(new_page, live_server, "daibieu01")
    t2, _, uid2 = tablet(new_page, live_server, "daibieu02")
    console = console_for(new_page, live_server, meeting_id)
    start_and_check_in(console, [uid1, uid2])
    projector = projector_for(new_page, live_server, meeting_id)

    console.get_by_test_id("tab-polls").click()
    console.get_by_test_id("poll-create-open").click()
    console.get_by_test_id("poll-kind").select_option("election")
    console.get_by_test_id("poll-title").fill("Bầu bổ sung Ủy viên Ban Thường vụ")
    console.get_by_test_id("poll-options").fill("Nguyễn Văn Bình\nTrần Thị Cúc\nLê Văn Dũng")
    console.get_by_test_id("poll-seats").fill("2")
    console.get_by_test_id("poll-base").select_option("valid")
    console.get_by_test_id("poll-quorum").fill("1/50")
    console.get_by_test_id("poll-secret").check()
    shot(console, "console-poll-form")
    console.get_by_test_id("poll-create").click()
    card = console.get_by_test_id("console-poll").filter(has_text="Bầu bổ sung")
    card.get_by_test_id("poll-open").click()
    expect(card).to_have_attribute("data-state", "open")

    for page, strike in ((t1, "Lê Văn Dũng"), (t2, "Trần Thị Cúc")):
        sheet = page.get_by_test_id("poll-sheet")
        expect(sheet.get_by_test_id("candidate")).to_have_count(3)
        expect(sheet.get_by_test_id("vote-next")).to_be_disabled()  # three kept for two seats
        sheet.get_by_test_id("candidate").filter(has_text=strike).get_by_test_id("strike").click()
        expect(sheet.get_by_test_id("kept-count")).to_have_text("Giữ 2/2")
        if page is t1:
            shot(t1, "tablet-election", full_page=False)
        sheet.get_by_test_id("vote-next").click()
        sheet.get_by_test_id("vote-confirm").click()
        # A secret ballot waits for a batch of others (or the close) before it is acknowledged.
        expect(sheet.get_by_test_id("vote-pending").or_(sheet.get_by_test_id("voted"))).to_be_visible()
    shot(t1, "tablet-election-pending", full_page=False)
    expect(card.get_by_test_id("live-tally")).to_have_count(0)  # a secret poll has no running tally

    card.get_by_test_id("poll-close").click()
    expect(card).to_have_attribute("data-state", "closed")
    receipt = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{1,4})+$")
    for page in (t1, t2):
        # The receipt comes with the ack: on the ballot sheet (kept up until dismissed) and in the panel.
        expect(page.get_by_test_id("poll-sheet").get_by_test_id("receipt")).to_have_text(receipt)
        expect(page.get_by_test_id("receipt-code")).to_have_text(receipt)
    shot(t1, "tablet-election-receipt", full_page=False)
    t1.get_by_test_id("poll-hide").click()
    card.get_by_test_id("poll-publish").click()
    result = projector.locator('[data-testid="projector-poll"][data-state="published"]')
    # Two seats, two valid ballots: Bình is kept on both (2 > 1/2 of 2), the others on one each.
    expect(result).to_have_attribute("data-poll-id", card.get_attribute("data-poll-id"))
    expect(result.get_by_test_id("poll-outcome")).to_have_text("Chưa bầu đủ số lượng")
    expect(result.get_by_test_id("poll-reason")).to_contain_text("Trúng cử 1/2")
    counts = {
        bar.get_attribute("data-option-id"): int(bar.get_attribute("data-count"))
        for bar in result.get_by_test_id("result-bar").all()
    }
    assert sorted(counts.values()) == [1, 1, 2]
    expect(result.locator(".bar-row.winner")).to_have_count(
        1
    )  # only Bình has a majority of the valid ballots
    shot(projector, "projector-election")

    # The voter finds their receipt in the published list, with what they kept.
    line = t1.locator('[data-testid="poll-line"][data-state="published"]')
    line.get_by_test_id("receipt-check-btn").click()
    expect(line.get_by_test_id("receipt-found")).to_contain_text("Nguyễn Văn Bình, Trần Thị Cúc")
