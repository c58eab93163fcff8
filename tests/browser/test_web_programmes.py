"""The weekly schedule in a real browser against a real server (docs/programmes.md).

The secretary opens "Lịch công tác" in the console, goes to a week the demo left empty, adds an
entry (day, hours, content, place, the chair's account and two attendees), publishes the week,
and makes a meeting from the entry: the console opens that meeting, with the entry's title, time
and people. A delegate then reads the published week on the tablet and copies their calendar
link, whose feed holds the entry they attend.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import urllib.request

from playwright.sync_api import expect

from server.domain.programmes import IsoWeek
from server.store.tables import utcnow
from tests.browser.steps import login, shot

CONTENT = "Họp Ban Thường vụ Tỉnh ủy: cho ý kiến về kế hoạch tổng kết năm"
PLACE = "Phòng họp số 2, trụ sở Tỉnh ủy"


def test_the_secretary_adds_publishes_and_makes_a_meeting_from_an_entry(live_server, new_page, rest):
    page = new_page({"width": 1400, "height": 1000})
    login(page, live_server.url + "/console", "thuky", live_server.password)
    page.get_by_test_id("home-schedule").click()
    schedule = page.get_by_test_id("work-schedule")
    this_week = IsoWeek.of(utcnow())
    expect(schedule).to_have_attribute("data-week", this_week.key)
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-state", "published")  # the demo's week

    # Two weeks ahead the demo wrote nothing.
    page.get_by_test_id("week-next").click()
    expect(schedule).to_have_attribute("data-week", this_week.shift(1).key)
    page.get_by_test_id("week-next").click()
    target = this_week.shift(2)
    expect(schedule).to_have_attribute("data-week", target.key)
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-state", "none")

    page.get_by_test_id("sch-add-open").click()
    form = page.get_by_test_id("schedule-form")
    form.get_by_test_id("sch-day").select_option(target.days[1].isoformat())  # Tuesday
    form.get_by_test_id("sch-start").fill("09:00")
    form.get_by_test_id("sch-end").fill("11:30")
    form.get_by_test_id("sch-content").fill(CONTENT)
    form.get_by_test_id("sch-place").fill(PLACE)
    form.get_by_test_id("sch-preparing").fill("Văn phòng Tỉnh ủy")
    form.get_by_test_id("sch-presiding-user").select_option(label="Nguyễn Văn An (chutri)")
    form.get_by_test_id("sch-attendee-filter").fill("Minh")
    form.locator('[data-testid="sch-attendee"][data-user="daibieu01"]').check()
    form.get_by_test_id("sch-attendee-filter").fill("")
    form.locator('[data-testid="sch-attendee"][data-user="daibieu02"]').check()
    form.get_by_test_id("sch-save").click()
    expect(form).to_have_count(0)

    row = page.get_by_test_id("schedule-entry")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("sch-entry-content")).to_have_text(CONTENT)
    expect(row).to_contain_text("09:00 – 11:30")
    expect(row).to_contain_text("Nguyễn Văn An")
    expect(row).to_contain_text("Lê Quang Minh, Phạm Đức Thắng")
    expect(page.locator(f'[data-testid="sch-day"][data-day="{target.days[1].isoformat()}"]')).to_contain_text("Thứ Ba")
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-state", "draft")
    shot(page, "schedule-draft")

    # A delegate does not see the draft.
    delegate = rest.login("daibieu01", live_server.password)
    hidden = rest.call("GET", f"/api/schedule/{target.year}/{target.week}", token=delegate)
    assert hidden["week"]["state"] == "none" and hidden["entries"] == []

    page.get_by_test_id("week-publish").click()
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-state", "published")
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-issue", "1")
    seen = rest.call("GET", f"/api/schedule/{target.year}/{target.week}", token=delegate)
    assert [e["content"] for e in seen["entries"]] == [CONTENT]
    entry_id = seen["entries"][0]["id"]

    # "Tạo cuộc họp": one click, and the console opens the new meeting.
    row.get_by_test_id("sch-make-meeting").click()
    view = page.get_by_test_id("meeting-view")
    expect(view).to_be_visible()
    meeting_id = int(view.get_attribute("data-meeting-id"))
    expect(view).to_contain_text(CONTENT)
    shot(page, "schedule-meeting")
    office = rest.login("thuky", live_server.password)
    snapshot = rest.call("GET", f"/api/meetings/{meeting_id}", token=office)
    assert snapshot["meeting"]["title"] == CONTENT and snapshot["meeting"]["place"] == PLACE
    assert snapshot["meeting"]["starts_at"] == seen["entries"][0]["starts_at"]
    assert snapshot["meeting"]["status"] == "draft"
    roles = {p["full_name"]: p["role"] for p in snapshot["participants"]}
    assert roles == {"Nguyễn Văn An": "chair", "Lê Quang Minh": "delegate", "Phạm Đức Thắng": "delegate"}

    # Back on the week, the entry shows its meeting and no second "Tạo cuộc họp".
    page.goto(f"{live_server.url}/console#/schedule/{target.key}")
    row = page.locator(f'[data-testid="schedule-entry"][data-entry-id="{entry_id}"]')
    expect(row.get_by_test_id("sch-entry-meeting")).to_have_attribute("data-meeting-id", str(meeting_id))
    expect(row.get_by_test_id("meeting-status")).to_have_attribute("data-status", "draft")
    expect(row.get_by_test_id("sch-make-meeting")).to_have_count(0)


def test_a_delegate_reads_the_week_and_copies_the_calendar_link(live_server, new_page, rest):
    # The demo: next week's published schedule holds the upcoming meeting, which the year's
    # programme links to as well.
    token = rest.login("daibieu01", live_server.password)
    upcoming = next(m for m in rest.call("GET", "/api/meetings", token=token)["meetings"] if m["status"] == "published")
    following = IsoWeek.of(utcnow()).shift(1)
    week = rest.call("GET", f"/api/schedule/{following.year}/{following.week}", token=token)
    assert week["week"]["state"] == "published"
    assert [e["meeting"]["id"] for e in week["entries"] if e["meeting"]] == [upcoming["id"]]
    programmes = rest.call("GET", "/api/programmes", token=token)["programmes"]
    assert [p["kind"] for p in programmes] == ["annual"]
    entries = rest.call("GET", f"/api/programmes/{programmes[0]['id']}", token=token)["entries"]
    linked = [e for e in entries if e["meeting"]]
    assert [(e["meeting"]["id"], e["state"]) for e in linked] == [(upcoming["id"], "scheduled")]

    page = new_page({"width": 1280, "height": 900})
    login(page, live_server.url + "/", "daibieu01", live_server.password)
    page.get_by_test_id("home-schedule").click()
    expect(page.get_by_test_id("week-state")).to_have_attribute("data-state", "published")
    entries = page.get_by_test_id("schedule-entry")
    expect(entries.first).to_be_visible()
    expect(page.get_by_test_id("sch-add-open")).to_have_count(0)  # reading only
    expect(page.get_by_test_id("sch-edit")).to_have_count(0)

    page.get_by_test_id("calendar-open").click()
    page.get_by_test_id("calendar-make").click()
    url = page.get_by_test_id("calendar-url").input_value()
    assert url.startswith(live_server.url + "/api/calendar/") and url.endswith(".ics")
    shot(page, "calendar-link", full_page=False)
    with urllib.request.urlopen(url, timeout=15) as answer:  # no session: the link is the key
        assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = answer.read().decode("utf-8")
    # The demo's Monday briefing lists daibieu01 (Lê Quang Minh) among its attendees.
    assert "BEGIN:VCALENDAR" in body and "SUMMARY:Giao ban Thường trực Tỉnh ủy" in body
    assert "TZID=Asia/Ho_Chi_Minh" in body
