"""Security a person can see on the tablet (SECURITY.md): the offline copy of the papers ends
with the session, and a sign-in after failed ones tells the user about them. The pages run
under the server's Content-Security-Policy here as in every browser test (tests/browser/conftest.py
fails a test on any violation)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.steps import login, open_upcoming
from tests.browser.test_web_documents import stored_pages


def offline_databases(page) -> list[str]:
    return page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)")


def test_the_offline_copy_ends_with_the_session(live_server, new_page, rest):
    page = new_page({"width": 1280, "height": 900})
    login(page, live_server.url + "/", "daibieu02", live_server.password)
    open_upcoming(page)
    user_id = page.get_by_test_id("current-user").get_attribute("data-user-id")
    expect(page.get_by_test_id("doc-progress")).to_have_count(0)  # every paper rendered
    page.get_by_test_id("doc-download").click()
    expect(page.get_by_test_id("doc-download-progress")).to_have_attribute("data-state", "done")
    assert stored_pages(page, user_id) > 0
    name = f"phonghop-offline-u{user_id}"
    assert name in offline_databases(page)
    # The session ends on the server's side (as when the secretariat revokes the tablet).
    token = page.evaluate("() => localStorage.getItem('phonghop.token')")
    rest.call("POST", "/api/auth/logout", {}, token=token)
    page.reload()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.wait_for_function("async (name) => !(await indexedDB.databases()).some((d) => d.name === name)", arg=name)
    assert name not in offline_databases(page)


def test_a_sign_in_after_failures_tells_the_user(live_server, new_page):
    page = new_page()
    page.goto(live_server.url + "/")
    for _ in range(2):
        page.get_by_test_id("login-username").fill("daibieu03")
        page.get_by_test_id("login-password").fill("khong-phai-mat-khau")
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("error-banner")).to_have_attribute("data-code", "unauthorized")
    login(page, live_server.url + "/", "daibieu03", live_server.password)
    notice = page.get_by_test_id("login-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("2 lần đăng nhập sai")
    expect(notice).to_contain_text("127.0.0.1")
