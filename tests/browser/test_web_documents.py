"""Meeting documents in a real browser against a real server (docs/documents.md).

The secretariat puts a PDF in the pack (over REST); a delegate opens it on the tablet and
sees page 1, downloads the meeting for offline reading and reads it with the network off,
finds a passage by typing without diacritics, and writes a private note that survives a
reload and that another delegate cannot see. The secretariat recalls the document: the
tablet shows the recall, the document disappears with its offline copy, and the recall's
receipt list shows this tablet's confirmation. A second test drives the console: two files
in one go through the file input and one dropped, each with its own progress bars.

Screenshots go to PHONGHOP_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
from urllib.parse import quote

from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.steps import login, open_upcoming, shot
from tests.samples import make_pdf

PAGES = [
    "Hội nghị Ban Chấp hành Đảng bộ tỉnh — phần mở đầu",
    "Báo cáo chính trị trình Đại hội, phần thứ nhất",
    "Phụ lục: số liệu kinh tế - xã hội",
]
NOTE = "Đề nghị đối chiếu số liệu tăng trưởng với Cục Thống kê"


def make_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def upload(server, token: str, meeting_id: int, filename: str, content: bytes) -> dict:
    req = urllib.request.Request(
        f"{server.url}/api/meetings/{meeting_id}/uploads?filename={quote(filename)}",
        data=content,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.status == 201
        return json.loads(res.read())["upload"]


def upcoming_meeting(rest, token: str) -> dict:
    meetings = rest.call("GET", "/api/meetings", token=token)["meetings"]
    return next(m for m in meetings if m["status"] == "published")


def command(rest, token: str, name: str, **data) -> dict:
    return rest.call("POST", f"/api/commands/{name}", data, token=token)


def tablet(new_page, server, username: str) -> tuple[Page, int, str]:
    page = new_page({"width": 1280, "height": 900})
    login(page, server.url + "/", username, server.password)
    meeting_id = open_upcoming(page)
    return page, meeting_id, page.get_by_test_id("current-user").get_attribute("data-user-id")


def expect_image_shown(page: Page, testid: str = "viewer-image", width: int = 1280) -> None:
    """The page image arrived through fetch with the token, and the browser decoded it."""
    img = page.get_by_test_id(testid)
    expect(img).to_be_visible()
    expect(img).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function(
        "([img, w]) => img.complete && img.naturalWidth === w", arg=[img.element_handle(), width]
    )


def stored_pages(page: Page, user_id: str) -> int:
    """How many page images the tablet's offline copy (IndexedDB) holds."""
    return page.evaluate(
        """(name) => new Promise((resolve, reject) => {
            const req = indexedDB.open(name);
            req.onsuccess = () => {
              const db = req.result;
              if (!db.objectStoreNames.contains('pages')) { resolve(0); return; }
              const count = db.transaction('pages').objectStore('pages').count();
              count.onsuccess = () => resolve(count.result);
              count.onerror = () => reject(count.error);
            };
            req.onerror = () => reject(req.error);
        })""",
        f"phonghop-offline-u{user_id}",
    )


def test_delegate_reads_searches_annotates_offline_and_loses_a_recalled_document(live_server, new_page, rest):
    staff = rest.login("thuky", live_server.password)
    meeting = upcoming_meeting(rest, staff)
    meeting_id = meeting["id"]
    agenda = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["agenda"]
    item = agenda[0]

    t1, shown_id, uid1 = tablet(new_page, live_server, "daibieu01")
    assert shown_id == meeting_id
    # The demo's confidential paper carries its mark.
    secret = t1.get_by_test_id("doc-row").filter(has_text="Phương án nhân sự")
    expect(secret.get_by_test_id("doc-confidential")).to_have_text("Mật")

    # The secretariat: upload, add under the first agenda item, publish.
    up = upload(live_server, staff, meeting_id, "Báo cáo chính trị.pdf", make_pdf(PAGES))
    added = command(
        rest, staff, "document.add", meeting_id=meeting_id, upload_id=up["id"], agenda_item_id=item["id"]
    )
    doc_id = added["result"]["document"]["id"]
    command(rest, staff, "document.publish", meeting_id=meeting_id, document_ids=[doc_id])

    # The tablet is told: the document appears under its agenda item, and opens on page 1.
    group = t1.locator(f'[data-testid="doc-group"][data-item-id="{item["id"]}"]')
    row = group.locator(f'[data-testid="doc-row"][data-document-id="{doc_id}"]')
    expect(row.get_by_test_id("doc-title")).to_have_text("Báo cáo chính trị")
    expect(row.get_by_test_id("doc-open")).to_be_enabled()
    row.get_by_test_id("doc-open").click()
    viewer = t1.get_by_test_id("document-viewer")
    expect(viewer).to_have_attribute("data-page", "0")
    expect_image_shown(t1)
    expect(viewer.get_by_test_id("viewer-page-no")).to_have_text("Trang 1/3")
    expect(viewer.get_by_test_id("viewer-thumb")).to_have_count(3)
    viewer.get_by_test_id("viewer-next").click()
    expect(viewer).to_have_attribute("data-page", "1")
    expect_image_shown(t1)
    shot(t1, "tablet-document-viewer", full_page=False)
    viewer.get_by_test_id("viewer-close").click()
    expect(viewer).to_have_count(0)

    # Offline: download the meeting (the demo's papers and ours), then read it with the network gone.
    # (What there is to download, from the delegate's snapshot: asking for the manifest or a page
    # list would make this REST session a holder owing a recall receipt of its own.)
    expect(t1.get_by_test_id("doc-progress")).to_have_count(0)  # every paper rendered
    token1 = rest.login("daibieu01", live_server.password)
    readable = rest.call("GET", f"/api/meetings/{meeting_id}", token=token1)["documents"]
    total = sum(d["version"]["pages_total"] for d in readable)
    assert doc_id in [d["id"] for d in readable] and total > len(PAGES)
    t1.get_by_test_id("doc-download").click()
    progress = t1.get_by_test_id("doc-download-progress")
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress).to_have_attribute("data-done", str(total))
    expect(progress).to_have_attribute("data-total", str(total))
    expect(t1.get_by_test_id("doc-offline-status")).to_have_attribute("data-count", str(len(readable)))
    assert stored_pages(t1, uid1) == 2 * total  # a tablet and a thumb image per page
    t1.context.set_offline(True)
    row.get_by_test_id("doc-open").click()
    expect(viewer.get_by_test_id("viewer-offline")).to_be_visible()
    expect_image_shown(t1)
    viewer.get_by_test_id("viewer-thumb").nth(2).click()
    expect(viewer).to_have_attribute("data-page", "2")
    expect_image_shown(t1)
    shot(t1, "tablet-document-offline", full_page=False)
    viewer.get_by_test_id("viewer-close").click()
    t1.context.set_offline(False)
    expect(t1.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")

    # Search without diacritics finds the page, and opens the document there.
    t1.get_by_test_id("doc-search-input").fill("bao cao chinh tri")
    t1.get_by_test_id("doc-search-submit").click()
    expect(t1.get_by_test_id("search-results")).to_be_visible()
    hit = t1.locator(f'[data-testid="search-hit"][data-document-id="{doc_id}"]')
    expect(hit).to_have_count(1)
    expect(hit).to_have_attribute("data-page", "1")
    expect(hit).to_contain_text("Trang 2")
    expect(hit.locator("mark")).to_have_text("Báo cáo chính trị")
    shot(t1, "tablet-document-search", full_page=False)
    hit.click()
    expect(viewer).to_have_attribute("data-page", "1")
    expect_image_shown(t1)

    # A private text note on that page.
    viewer.get_by_test_id("note-text").fill(NOTE)
    viewer.get_by_test_id("note-save").click()
    note = viewer.get_by_test_id("note-item")
    expect(note).to_have_count(1)
    expect(note).to_have_attribute("data-page", "1")
    expect(note.get_by_test_id("note-item-text")).to_have_text(NOTE)
    expect(viewer.get_by_test_id("note-marker")).to_have_count(1)
    shot(t1, "tablet-document-note", full_page=False)

    # Still there after a reload.
    t1.reload()
    expect(t1.get_by_test_id("meeting-view")).to_be_visible()
    row.get_by_test_id("doc-open").click()
    expect(viewer.get_by_test_id("note-item")).to_have_count(1)
    expect(viewer.get_by_test_id("note-item-text")).to_have_text(NOTE)
    viewer.get_by_test_id("note-item").get_by_role("button", name="Trang 2").click()
    expect(viewer).to_have_attribute("data-page", "1")
    expect(viewer.get_by_test_id("note-marker")).to_have_count(1)

    # Mine only: the server keeps it for me, and another delegate does not see it.
    mine = rest.call("GET", f"/api/meetings/{meeting_id}/notes", token=token1)
    assert [(n["kind"], n["page"], n["data"]["text"]) for n in mine["notes"]] == [("text", 1, NOTE)]
    other = rest.call(
        "GET", f"/api/meetings/{meeting_id}/notes", token=rest.login("daibieu02", live_server.password)
    )
    assert other["notes"] == []

    # The console follows the recall receipts.
    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    console.get_by_test_id("tab-documents").click()
    expect(console.get_by_test_id("recalls-empty")).to_be_visible()

    # The recall, with the document open on the tablet.
    recalled = command(rest, staff, "document.recall", meeting_id=meeting_id, document_ids=[doc_id])
    recall_id = recalled["result"]["recall_id"]
    notice = t1.get_by_test_id("recall-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Tài liệu đã bị thu hồi")
    expect(notice).to_contain_text("Báo cáo chính trị")
    expect(viewer).to_have_count(0)
    expect(t1.locator(f'[data-testid="doc-row"][data-document-id="{doc_id}"]')).to_have_count(0)
    shot(t1, "tablet-document-recalled", full_page=False)

    receipt = console.locator(f'[data-testid="recall"][data-recall-id="{recall_id}"]').locator(
        f'[data-testid="recall-holder"][data-user-id="{uid1}"]'
    )
    expect(receipt).to_have_attribute("data-confirmed", "true")
    expect(receipt.get_by_test_id("recall-holder-confirmed")).not_to_have_text("chưa xác nhận")
    shot(console, "console-recall-receipts")
    # The server's record agrees, and the tablet's offline copy is gone.
    recalls = rest.call("GET", f"/api/meetings/{meeting_id}/recalls", token=staff)["recalls"]
    holders = next(r for r in recalls if r["id"] == recall_id)["holders"]
    mine = [h for h in holders if str(h["user_id"]) == uid1]
    assert mine and all(h["confirmed_at"] for h in mine), holders
    assert stored_pages(t1, uid1) == 2 * (total - len(PAGES))  # the other papers stay


def test_console_uploads_several_files_each_with_its_progress(live_server, new_page, rest, tmp_path):
    staff = rest.login("thuky", live_server.password)
    meeting = upcoming_meeting(rest, staff)
    meeting_id = meeting["id"]
    item = rest.call("GET", f"/api/meetings/{meeting_id}", token=staff)["agenda"][0]

    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    console.get_by_test_id("tab-documents").click()

    # Two files at once through the file input of the first agenda item.
    first = tmp_path / "Báo cáo chính trị.pdf"
    first.write_bytes(make_pdf(PAGES))
    second = tmp_path / "Dự thảo Nghị quyết.pdf"
    second.write_bytes(make_pdf(["Dự thảo Nghị quyết Đại hội", "Điều 1", "Điều 2", "Điều 3"]))
    group = console.locator(f'[data-testid="cdoc-group"][data-item-id="{item["id"]}"]')
    group.get_by_test_id("file-input").set_input_files([str(first), str(second)])

    items = group.get_by_test_id("upload-item")
    expect(items).to_have_count(2)
    for name in (first.name, second.name):
        one = group.locator(f'[data-testid="upload-item"][data-name="{name}"]')
        expect(one).to_have_attribute("data-phase", "done")
        expect(one.get_by_test_id("upload-progress")).to_have_attribute("data-pct", "100")
        expect(one.get_by_test_id("process-progress")).to_have_attribute("data-pct", "100")
    rows = group.get_by_test_id("cdoc-row")
    expect(rows).to_have_count(2)  # in the order their uploads finished: two go at once
    for title in ("Báo cáo chính trị", "Dự thảo Nghị quyết"):
        row = rows.filter(has=console.get_by_test_id("cdoc-title").get_by_text(title, exact=True))
        expect(row.get_by_test_id("cdoc-status")).to_have_text("Bản nháp")
    shot(console, "console-documents-uploaded")

    # A dropped file on the general papers; one whose name lies about its content is refused clearly.
    general = console.locator('[data-testid="cdoc-group"][data-item-id=""]')
    zone = general.get_by_test_id("drop-zone")
    transfer = console.evaluate_handle(
        """([pdf, png]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(pdf)], 'Chương trình.pdf', { type: 'application/pdf' }));
            dt.items.add(new File([new Uint8Array(png)], 'Ảnh.pdf', { type: 'application/pdf' }));
            return dt;
        }""",
        [list(make_pdf(["Chương trình Hội nghị"])), list(make_png())],
    )
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    dropped = general.locator('[data-testid="upload-item"][data-name="Chương trình.pdf"]')
    expect(dropped).to_have_attribute("data-phase", "done")
    expect(dropped.get_by_test_id("process-progress")).to_have_attribute("data-pct", "100")
    refused = general.locator('[data-testid="upload-item"][data-name="Ảnh.pdf"]')
    expect(refused).to_have_attribute("data-phase", "failed")
    expect(refused.get_by_test_id("upload-error")).to_have_attribute("data-code", "type_mismatch")
    expect(refused.get_by_test_id("upload-error")).to_have_text("Đuôi tên tệp không khớp với nội dung tệp.")
    program = general.get_by_test_id("cdoc-row").filter(
        has=console.get_by_test_id("cdoc-title").get_by_text("Chương trình", exact=True)
    )
    expect(program.get_by_test_id("cdoc-status")).to_have_text("Bản nháp")
    expect(general.get_by_test_id("cdoc-row").filter(has_text="Ảnh")).to_have_count(0)
    shot(console, "console-documents-dropped")

    # Publish every draft: the tablets get them.
    mine = ["Báo cáo chính trị", "Chương trình", "Dự thảo Nghị quyết"]
    console.get_by_test_id("publish-all").click()
    expect(console.locator('[data-testid="cdoc-row"][data-status="draft"]')).to_have_count(0)
    snapshot = rest.call(
        "GET", f"/api/meetings/{meeting_id}", token=rest.login("daibieu01", live_server.password)
    )
    published = {d["title"]: d["status"] for d in snapshot["documents"]}
    assert all(published.get(title) == "published" for title in mine), published


def test_the_presented_page_reaches_the_projector_and_the_tablets_that_follow(live_server, new_page, rest):
    staff = rest.login("thuky", live_server.password)
    meeting_id = upcoming_meeting(rest, staff)["id"]
    t1, _, _ = tablet(new_page, live_server, "daibieu01")
    # The demo's five-page draft report, rendered when the server started.
    report = t1.get_by_test_id("doc-row").filter(has_text="Dự thảo Báo cáo chính trị")
    expect(report.get_by_test_id("doc-open")).to_be_enabled()
    doc_id = report.get_attribute("data-document-id")
    t1.get_by_test_id("follow-presenter").check()

    projector = new_page({"width": 1600, "height": 1000})
    login(projector, live_server.url + "/projector", "thuky", live_server.password)
    projector.goto(f"{live_server.url}/projector#/m/{meeting_id}")
    expect(projector.get_by_test_id("meeting-view")).to_be_visible()
    expect(projector.get_by_test_id("projector-document")).to_have_count(0)

    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    console.get_by_test_id("tab-documents").click()
    row = console.locator(f'[data-testid="cdoc-row"][data-document-id="{doc_id}"]')
    row.get_by_test_id("cdoc-present-page").fill("4")
    row.get_by_test_id("cdoc-present").click()
    bar = console.get_by_test_id("present-bar")
    expect(bar).to_have_attribute("data-page", "3")
    expect(bar).to_contain_text("Dự thảo Báo cáo chính trị, trang 4")

    shown = projector.get_by_test_id("projector-document")
    expect(shown).to_have_attribute("data-document-id", doc_id)
    expect(shown).to_have_attribute("data-page", "3")
    expect(shown.get_by_test_id("projector-page-no")).to_have_text("Trang 4")
    expect_image_shown(projector, "projector-page-image", width=2400)  # the large rendering
    shot(projector, "projector-document")

    viewer = t1.get_by_test_id("document-viewer")
    expect(viewer).to_have_attribute("data-document-id", doc_id)
    expect(viewer).to_have_attribute("data-page", "3")
    expect_image_shown(t1)

    bar.get_by_test_id("present-next").click()
    expect(shown).to_have_attribute("data-page", "4")
    expect(viewer).to_have_attribute("data-page", "4")
    expect(viewer.get_by_test_id("viewer-next")).to_be_disabled()  # the last page
    bar.get_by_test_id("present-stop").click()
    expect(projector.get_by_test_id("projector-document")).to_have_count(0)
    expect(console.get_by_test_id("present-bar")).to_have_count(0)
    expect(viewer).to_have_attribute("data-page", "4")  # the reader stays where the presenter left


def drag(page: Page, box: dict, points: list[tuple[float, float]]) -> None:
    """A pointer pressed at the first point (fractions of the box), moved through the others."""
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=4)
    page.mouse.up()


def test_highlights_and_ink_are_private_and_follow_me_to_my_other_device(live_server, new_page, rest):
    a, meeting_id, _ = tablet(new_page, live_server, "daibieu01")
    b, _, _ = tablet(new_page, live_server, "daibieu01")  # the same delegate on a second tablet
    for page in (a, b):
        row = page.get_by_test_id("doc-row").filter(has_text="Chương trình hội nghị")
        row.get_by_test_id("doc-open").click()
        expect_image_shown(page)
    doc_id = a.get_by_test_id("document-viewer").get_attribute("data-document-id")

    # A highlight dragged on device A.
    va, vb = a.get_by_test_id("document-viewer"), b.get_by_test_id("document-viewer")
    va.get_by_test_id("tool-highlight").click()
    box = va.get_by_test_id("page-overlay").bounding_box()
    drag(a, box, [(0.1, 0.1), (0.5, 0.2)])
    expect(va.get_by_test_id("note-highlight")).to_have_count(1)
    # Ink: two strokes, saved as one note.
    va.get_by_test_id("tool-ink").click()
    drag(a, box, [(0.2, 0.5), (0.3, 0.55), (0.4, 0.5)])
    drag(a, box, [(0.2, 0.6), (0.4, 0.6)])
    va.get_by_test_id("ink-save").click()
    expect(va.locator('[data-testid="note-item"][data-kind="ink"]')).to_have_count(1)
    shot(a, "tablet-document-ink", full_page=False)

    # Device B shows both at once, without a reload.
    expect(vb.get_by_test_id("note-highlight")).to_have_count(1)
    expect(vb.locator('[data-testid="note-item"][data-kind="ink"]')).to_have_count(1)
    token = rest.login("daibieu01", live_server.password)
    notes = rest.call("GET", f"/api/meetings/{meeting_id}/notes", token=token)["notes"]
    assert sorted(n["kind"] for n in notes) == ["highlight", "ink"]
    assert all(str(n["document_id"]) == doc_id for n in notes)
    ink = next(n for n in notes if n["kind"] == "ink")
    assert len(ink["data"]["strokes"]) == 2 and all(0 <= v <= 1 for s in ink["data"]["strokes"] for v in s)
    highlight = next(n for n in notes if n["kind"] == "highlight")
    x, y, w, h = highlight["data"]["rects"][0]
    assert 0.05 < x < 0.15 and 0.05 < y < 0.15 and 0.35 < w < 0.45 and 0.05 < h < 0.15
    # Another delegate sees none of it.
    other = rest.call(
        "GET", f"/api/meetings/{meeting_id}/notes", token=rest.login("daibieu02", live_server.password)
    )
    assert other["notes"] == []

    # Deleted on B, gone from A.
    vb.locator('[data-testid="note-item"][data-kind="highlight"]').get_by_test_id("note-delete").click()
    expect(vb.get_by_test_id("note-highlight")).to_have_count(0)
    expect(va.get_by_test_id("note-highlight")).to_have_count(0)
    expect(va.get_by_test_id("note-item")).to_have_count(1)

    # Zoom loads the large rendering; the notes stay over the page.
    va.get_by_test_id("viewer-zoom").click()
    expect(va.get_by_test_id("viewer-zoom")).to_have_attribute("aria-pressed", "true")
    expect_image_shown(a, width=2400)
    shot(a, "tablet-document-zoom", full_page=False)


def test_a_new_version_from_the_console_reaches_the_tablet_with_a_notice(
    live_server, new_page, rest, tmp_path
):
    t1, meeting_id, _ = tablet(new_page, live_server, "daibieu01")
    row = t1.get_by_test_id("doc-row").filter(has_text="Chương trình hội nghị")
    expect(row.get_by_test_id("doc-open")).to_be_enabled()
    doc_id = row.get_attribute("data-document-id")
    expect(row.get_by_test_id("doc-revised")).to_have_count(0)

    console = new_page({"width": 1400, "height": 1000})
    login(console, live_server.url + "/console", "thuky", live_server.password)
    console.goto(f"{live_server.url}/console#/m/{meeting_id}")
    expect(console.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    console.get_by_test_id("tab-documents").click()
    second = tmp_path / "Chương trình hội nghị (sửa).pdf"
    second.write_bytes(make_pdf(["Chương trình hội nghị — bản sửa", "Phụ lục: thời gian biểu"]))
    crow = console.locator(f'[data-testid="cdoc-row"][data-document-id="{doc_id}"]')
    crow.get_by_test_id("cdoc-revise-input").set_input_files(str(second))
    item = console.locator(f'[data-testid="upload-item"][data-name="{second.name}"]')
    expect(item).to_have_attribute("data-phase", "done")
    expect(item.get_by_test_id("process-progress")).to_have_attribute("data-pct", "100")
    expect(crow).to_contain_text("Phiên bản 2")

    expect(row.get_by_test_id("doc-revised")).to_have_text("Tài liệu đã có phiên bản mới")
    shot(t1, "tablet-document-revised", full_page=False)
    row.get_by_test_id("doc-open").click()
    viewer = t1.get_by_test_id("document-viewer")
    expect(viewer.get_by_test_id("viewer-page-no")).to_have_text("Trang 1/2")
    expect_image_shown(t1)
    viewer.get_by_test_id("viewer-close").click()
    expect(row.get_by_test_id("doc-revised")).to_have_count(0)  # read: the notice has done its work
