"""The tablet and the console in a real browser against a real server.

Each test checks what a person sees: the tablet follows the console live, catches up after
its network drops without a reload or a duplicate, speaks English on request, and a
delegate's check-in shows on the console's attendance and quorum.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.steps import login, open_upcoming, shot


def mark_no_reload(page: Page) -> None:
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def tablet_agenda(page: Page) -> list[tuple[str, str]]:
    items = page.get_by_test_id("agenda-item")
    return [
        (
            item.get_by_test_id("agenda-number").inner_text().strip(),
            item.get_by_test_id("agenda-title").inner_text().strip(),
        )
        for item in items.all()
    ]


def test_agenda_item_added_on_console_appears_on_tablet(live_server, tcp_proxy, new_page):
    proxy = tcp_proxy(live_server.port)
    tablet = new_page()
    console = new_page()
    login(tablet, proxy.url + "/", "daibieu01", live_server.password)
    meeting_id = open_upcoming(tablet)
    mark_no_reload(tablet)
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("agenda-editor")).to_be_visible()
    before = tablet.get_by_test_id("agenda-item").count()
    top_level = sum(1 for number, _ in tablet_agenda(tablet) if "." not in number)

    console.get_by_test_id("agenda-add-title").fill("Thảo luận phương hướng năm 2026")
    console.get_by_test_id("agenda-add-presenter").fill("Đ/c Phó Bí thư")
    console.get_by_test_id("agenda-add-minutes").fill("45")
    console.get_by_test_id("agenda-add-submit").click()

    new_item = tablet.get_by_test_id("agenda-item").filter(has_text="Thảo luận phương hướng năm 2026")
    expect(new_item).to_have_count(1)
    expect(new_item).to_contain_text("Đ/c Phó Bí thư")
    expect(new_item).to_contain_text("45 phút")
    expect(tablet.get_by_test_id("agenda-item")).to_have_count(before + 1)
    expect(new_item.get_by_test_id("agenda-number")).to_have_text(str(top_level + 1))
    assert_not_reloaded(tablet)
    shot(tablet, "tablet")
    shot(console, "console")


def test_tablet_catches_up_after_the_network_returns(live_server, tcp_proxy, new_page, rest):
    proxy = tcp_proxy(live_server.port)
    tablet = new_page()
    console = new_page()
    login(tablet, proxy.url + "/", "daibieu01", live_server.password)
    meeting_id = open_upcoming(tablet)
    mark_no_reload(tablet)
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("agenda-editor")).to_be_visible()

    proxy.cut()
    expect(tablet.get_by_test_id("conn-status")).to_have_attribute("data-state", "reconnecting")

    # While the tablet is away: a new item with a sub-item, a renamed item, attendance.
    console.get_by_test_id("agenda-add-title").fill("Nội dung bổ sung khi mất mạng")
    console.get_by_test_id("agenda-add-submit").click()
    added = console.get_by_test_id("agenda-row").filter(has_text="Nội dung bổ sung khi mất mạng")
    expect(added).to_have_count(1)
    added.get_by_test_id("agenda-add-sub").click()
    console.get_by_test_id("agenda-sub-title").fill("Mục con của nội dung bổ sung")
    console.get_by_test_id("agenda-sub-submit").click()
    expect(
        console.get_by_test_id("agenda-row").filter(has_text="Mục con của nội dung bổ sung")
    ).to_have_count(1)

    first = console.get_by_test_id("agenda-row").first
    old_title = first.get_by_test_id("agenda-title").inner_text().strip()
    first.get_by_test_id("agenda-rename").click()
    console.get_by_test_id("agenda-rename-input").fill(old_title + " (đã sửa)")
    console.get_by_test_id("agenda-rename-save").click()
    expect(console.get_by_test_id("agenda-row").first.get_by_test_id("agenda-title")).to_have_text(
        old_title + " (đã sửa)"
    )

    rows = console.get_by_test_id("participant-row")
    rows.nth(0).get_by_test_id("mark-present").click()
    expect(rows.nth(0).get_by_test_id("participant-status")).to_have_attribute("data-status", "present")
    rows.nth(1).get_by_test_id("mark-present").click()
    expect(rows.nth(1).get_by_test_id("participant-status")).to_have_attribute("data-status", "present")
    rows.nth(2).get_by_test_id("mark-excused").click()
    console.get_by_test_id("reason-input").fill("Đi công tác")
    console.get_by_test_id("reason-confirm").click()
    expect(rows.nth(2).get_by_test_id("participant-status")).to_have_attribute("data-status", "excused")

    # Still offline: the tablet shows the old state.
    expect(
        tablet.get_by_test_id("agenda-item").filter(has_text="Nội dung bổ sung khi mất mạng")
    ).to_have_count(0)

    proxy.restore()
    expect(tablet.get_by_test_id("conn-status")).to_have_attribute("data-state", "online", timeout=20_000)

    token = rest.login("thuky", live_server.password)
    truth = rest.call("GET", f"/api/meetings/{meeting_id}", token=token)
    expected = [(i["number"], i["title"]) for i in truth["agenda"]]
    expect(tablet.get_by_test_id("agenda-item")).to_have_count(len(expected))
    expect(
        tablet.get_by_test_id("agenda-item").filter(has_text="Mục con của nội dung bổ sung")
    ).to_have_count(1)
    assert tablet_agenda(tablet) == expected
    statuses = [a["status"] for a in truth["attendance"].values()]
    members = len(truth["participants"])
    expect(tablet.get_by_test_id("att-count-present")).to_have_text(str(statuses.count("present")))
    expect(tablet.get_by_test_id("att-count-excused")).to_have_text(str(statuses.count("excused")))
    expect(tablet.get_by_test_id("att-count-unknown")).to_have_text(
        str(members - sum(statuses.count(s) for s in ("present", "absent", "excused")))
    )
    q = truth["quorum"]
    expect(tablet.get_by_test_id("quorum-present")).to_have_text(f"Có mặt {q['present']}/{q['members']}")
    assert_not_reloaded(tablet)


def test_language_switch_turns_the_tablet_to_english_and_back(live_server, new_page):
    tablet = new_page()
    tablet.goto(live_server.url + "/")
    expect(tablet.get_by_test_id("login-submit")).to_have_text("Đăng nhập")
    tablet.get_by_test_id("lang-en").click()
    expect(tablet.get_by_test_id("login-submit")).to_have_text("Sign in")
    tablet.get_by_test_id("lang-vi").click()
    expect(tablet.get_by_test_id("login-submit")).to_have_text("Đăng nhập")

    login(tablet, live_server.url + "/", "daibieu01", live_server.password)
    open_upcoming(tablet)
    expect(tablet.get_by_test_id("check-in")).to_have_text("Điểm danh")
    expect(tablet.get_by_test_id("agenda-tree").locator("h2")).to_have_text("Chương trình")
    expect(tablet.get_by_test_id("conn-status")).to_have_text("Trực tuyến")

    tablet.get_by_test_id("lang-en").click()
    expect(tablet.get_by_test_id("check-in")).to_have_text("Check in")
    expect(tablet.get_by_test_id("agenda-tree").locator("h2")).to_have_text("Agenda")
    expect(tablet.get_by_test_id("conn-status")).to_have_text("Online")
    expect(tablet.get_by_test_id("meeting-status")).to_have_text("Published")
    assert tablet.evaluate("document.documentElement.lang") == "en"

    tablet.reload()  # the choice is remembered
    expect(tablet.get_by_test_id("check-in")).to_have_text("Check in")

    tablet.get_by_test_id("lang-vi").click()
    expect(tablet.get_by_test_id("check-in")).to_have_text("Điểm danh")
    expect(tablet.get_by_test_id("meeting-status")).to_have_text("Đã phát hành")
    assert tablet.evaluate("document.documentElement.lang") == "vi"


def test_delegate_check_in_updates_the_console(live_server, new_page):
    tablet = new_page()
    console = new_page()
    login(tablet, live_server.url + "/", "daibieu01", live_server.password)
    meeting_id = open_upcoming(tablet)
    user_id = tablet.get_by_test_id("current-user").get_attribute("data-user-id")
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    mark_no_reload(console)

    row = console.locator(f'[data-testid="participant-row"][data-user-id="{user_id}"]')
    expect(row.get_by_test_id("participant-status")).to_have_attribute("data-status", "unknown")
    present_before = int(console.get_by_test_id("att-count-present").inner_text())
    quorum_before = console.get_by_test_id("quorum-present").inner_text()
    members = int(quorum_before.split("/")[-1])
    voting_present = int(quorum_before.split("/")[0].split()[-1])

    tablet.get_by_test_id("check-in").click()
    expect(tablet.get_by_test_id("checked-in")).to_be_visible()

    expect(row.get_by_test_id("participant-status")).to_have_attribute("data-status", "present")
    expect(row.get_by_test_id("participant-status")).to_have_text("Có mặt")
    expect(console.get_by_test_id("att-count-present")).to_have_text(str(present_before + 1))
    expect(console.get_by_test_id("quorum-present")).to_have_text(f"Có mặt {voting_present + 1}/{members}")
    assert_not_reloaded(console)
