"""Steps the browser tests share: sign in, open the demo's upcoming meeting, screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

SHOTS = os.environ.get("PHONGHOP_SCREENSHOT_DIR")


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """A screenshot for a person to look at, when PHONGHOP_SCREENSHOT_DIR is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def login(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("meeting-list")).to_be_visible()


def open_upcoming(page: Page) -> int:
    """Opens the demo's published, upcoming meeting; returns its id."""
    page.locator('[data-testid="meeting-row"][data-status="published"]').first.click()
    view = page.get_by_test_id("meeting-view")
    expect(view).to_be_visible()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    return int(view.get_attribute("data-meeting-id"))
