"""The minutes in a real browser against a real server (docs/records.md).

The secretary opens the demo's past meeting in the console, sees the chair's conclusions,
draws the minutes from the session, edits the number and symbol, saves, finalises them
after the confirm step, and downloads the PDF: it carries the edit, and its SHA-256 is the
one the console shows.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.sync_api import expect

from server import demo
from tests.browser.steps import login, shot


def test_the_secretary_drafts_edits_finalises_and_downloads_the_minutes(live_server, new_page):
    page = new_page({"width": 1400, "height": 1000})
    login(page, live_server.url + "/console", "thuky", live_server.password)
    page.locator('[data-testid="meeting-row"][data-status="closed"]').first.click()
    expect(page.get_by_test_id("meeting-view")).to_be_visible()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    page.get_by_test_id("tab-records").click()

    # The chair's conclusions, as the session left them.
    texts = page.get_by_test_id("conclusion-text")
    expect(texts.first).to_have_value(demo.CONCLUSIONS[0][1])

    minutes = page.get_by_test_id("record-minutes")
    expect(minutes).to_have_attribute("data-state", "none")
    minutes.get_by_test_id("record-draft").click()
    expect(minutes).to_have_attribute("data-state", "draft")
    expect(minutes.get_by_test_id("rec-speech-summary").first).to_have_value(demo.SPEECHES[0][4])
    expect(minutes.get_by_test_id("rec-attendance")).to_contain_text("40/42")

    minutes.get_by_test_id("rec-number").fill("12")
    minutes.get_by_test_id("rec-symbol").fill("BB/TU")
    expect(minutes.get_by_test_id("record-dirty")).to_be_visible()
    revision = minutes.get_attribute("data-revision")
    minutes.get_by_test_id("record-save").click()
    expect(minutes.get_by_test_id("record-dirty")).to_have_count(0)
    expect(minutes).not_to_have_attribute("data-revision", revision)
    shot(page, "records-draft")

    minutes.get_by_test_id("record-finalise").click()
    expect(minutes.get_by_test_id("record-confirm")).to_be_visible()
    minutes.get_by_test_id("record-finalise-confirm").click()
    expect(minutes).to_have_attribute("data-state", "final", timeout=90_000)
    expect(minutes.get_by_test_id("record-form")).to_have_count(0)
    sha = minutes.get_by_test_id("record-pdf-sha").inner_text().strip()
    shot(page, "records-final")

    with page.expect_download() as downloaded:
        minutes.get_by_test_id("record-pdf").click()
    body = Path(downloaded.value.path()).read_bytes()
    assert hashlib.sha256(body).hexdigest() == sha
    import pymupdf

    with pymupdf.open(stream=body, filetype="pdf") as pdf:
        words = " ".join(" ".join(p.get_text() for p in pdf).split())
    assert "Số 12-BB/TU" in words and "BIÊN BẢN" in words and demo.CONCLUSIONS[-1][1] in words
    assert downloaded.value.suggested_filename.endswith(".pdf")
