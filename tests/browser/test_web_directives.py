"""Directives in a real browser against a real server (docs/directives.md).

The secretary opens the demo's past meeting in the console, turns the chair's conclusion on an
item into a directive for Phường Từ Sơn, with Xã Quế Võ and one of its delegates, with a deadline three days ahead.
That delegate signs in on the tablet, finds it under "Nhiệm vụ của tôi" and reports 50 % with a
PDF as evidence. The secretary's dashboard then shows it in progress at 50 %, the overdue ones
first and in red, the unit's counts, and the evidence downloads as it was sent. Preparing the
upcoming meeting, the secretary sees the open directives offered for its agenda and adds them
as one review item.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect

from server import demo
from server.domain import directives as rules
from server.domain.times import LOCAL
from tests.browser.steps import login, shot
from tests.samples import make_pdf

TITLE = "Sửa chữa trụ sở Đảng ủy phường Từ Sơn"
REPORT = "Đã lập dự toán, đang lựa chọn nhà thầu thi công."


def test_a_directive_is_assigned_reported_on_and_seen_on_the_dashboard(live_server, new_page, rest):
    token = rest.login("thuky", live_server.password)
    units = {u["code"]: u["id"] for u in rest.call("GET", "/api/units", token=token)["units"]}
    users = {u["username"]: u for u in rest.call("GET", "/api/users", token=token)["users"]}
    deadline = (datetime.now(LOCAL).date() + timedelta(days=3)).isoformat()
    evidence = make_pdf(["Dự toán sửa chữa trụ sở"])

    # The secretary assigns it from the chair's conclusion on the draft resolution.
    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.locator('[data-testid="meeting-row"][data-status="closed"]').first.click()
    expect(console.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    console.get_by_test_id("tab-directives").click()
    conclusion = console.get_by_test_id("directive-conclusion").filter(has_text="Dự thảo Nghị quyết")
    expect(conclusion).to_contain_text(demo.CONCLUSIONS[5][1])
    conclusion.get_by_test_id("directive-from-conclusion").click()
    form = console.get_by_test_id("directive-form")
    expect(form.get_by_test_id("directive-content")).to_have_value(demo.CONCLUSIONS[5][1])
    form.get_by_test_id("directive-title").fill(TITLE)
    form.get_by_test_id("directive-lead").select_option(str(units["BN-P-TUSON"]))
    form.get_by_test_id("directive-coordinating").select_option([str(units["BN-X-QUEVO"])])
    form.get_by_test_id("directive-responsible").select_option([str(users["daibieu34"]["id"])])
    form.get_by_test_id("directive-deadline").fill(deadline)
    form.get_by_test_id("directive-submit").click()
    expect(console.get_by_test_id("directive-form")).to_have_count(0)
    row = console.get_by_test_id("directive-row").filter(has_text=TITLE)
    expect(row).to_have_attribute("data-status", "new")
    expect(row).to_contain_text("Phường Từ Sơn")
    expect(row).to_contain_text("Hoàng Minh Tiến")
    expect(row.get_by_test_id("directive-when")).to_have_text("Còn 3 ngày")
    shot(console, "directives-assigned")

    # The responsible delegate reports progress on the tablet, with a PDF as evidence.
    tablet = new_page({"width": 1100, "height": 900})
    login(tablet, live_server.url + "/", "daibieu34", live_server.password)
    tablet.get_by_test_id("home-tasks").click()
    mine = tablet.get_by_test_id("directive-row").filter(has_text=TITLE)
    expect(mine).to_have_attribute("data-status", "new")
    mine.get_by_test_id("directive-open").click()
    report = mine.get_by_test_id("report-form")
    report.get_by_test_id("report-percent").fill("50")
    report.get_by_test_id("report-text").fill(REPORT)
    report.get_by_test_id("report-files").set_input_files(
        files=[{"name": "Dự toán.pdf", "mimeType": "application/pdf", "buffer": evidence}])
    report.get_by_test_id("report-submit").click()
    expect(mine).to_have_attribute("data-status", "in_progress")
    expect(mine.get_by_test_id("directive-progress")).to_have_text("50%")
    sent = mine.get_by_test_id("directive-report").first
    expect(sent).to_contain_text(REPORT)
    expect(sent.get_by_test_id("evidence-link")).to_contain_text("Dự toán.pdf")
    shot(tablet, "directives-reported")

    # The dashboard: overdue ones first and in red; this one in progress at 50 %.
    console.goto(live_server.url + "/console#/directives")
    board = console.get_by_test_id("directives-dashboard")
    expect(board).to_be_visible()
    rows = board.get_by_test_id("directive-row")
    expect(rows.first).to_have_attribute("data-overdue", "true")
    expect(rows.first).to_have_class("dir-card overdue")
    expect(rows.first).to_contain_text(demo.DIRECTIVES[0][1])
    ours = rows.filter(has_text=TITLE)
    expect(ours).to_have_attribute("data-status", "in_progress")
    expect(ours).to_have_attribute("data-overdue", "false")
    expect(ours.get_by_test_id("directive-progress")).to_have_text("50%")
    unit_row = board.locator(f'[data-testid="by-unit-row"][data-unit-id="{units["BN-P-TUSON"]}"]')
    expect(unit_row.locator('[data-count="total"]')).to_have_text("1")
    expect(unit_row.locator('[data-count="in_progress"]')).to_have_text("1")
    expect(board.get_by_test_id("total-overdue")).to_have_attribute("data-value", "1")
    shot(console, "directives-dashboard")

    # The evidence, as the delegate sent it.
    ours.get_by_test_id("directive-open").click()
    with console.expect_download() as downloaded:
        ours.get_by_test_id("evidence-link").first.click()
    assert Path(downloaded.value.path()).read_bytes() == evidence

    # Preparing the upcoming meeting: the open directives are offered for its agenda.
    console.goto(live_server.url + "/console")
    console.locator('[data-testid="meeting-row"][data-status="published"]').first.click()
    offered = console.get_by_test_id("offered-directives")
    expect(offered.get_by_test_id("offered-directive").filter(has_text=TITLE)).to_have_count(1)
    expect(offered.get_by_test_id("offered-directive").filter(has_text=demo.DIRECTIVES[-1][1])).to_have_count(0)
    offered.get_by_test_id("offered-add").click()
    expect(console.get_by_test_id("agenda-row").filter(has_text=rules.REVIEW_TITLE)).to_have_count(1)
    expect(offered.get_by_test_id("scheduled-directives")).to_be_visible()
    expect(offered.get_by_test_id("offered-directive")).to_have_count(0)
