"""The summary table of comments (bảng tổng hợp ý kiến): DOCX and XLSX read back."""

from __future__ import annotations

import io
from urllib.parse import unquote

import aiohttp
import docx
import openpyxl
from docx.enum.section import WD_ORIENT

from tests.conftest import World, add_document
from tests.test_comments import _ok, commune_account


async def _get(world: World, who: str, path: str) -> tuple[int, dict, bytes]:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    async with aiohttp.ClientSession() as http, http.get(world.live.url + path, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def _consultation(world: World) -> int:
    """A round with comments from two units and three people, on two sections, triaged."""
    await _ok(world, "vanphong", "meeting.publish")
    await commune_account(world, "xa.tiendu", "Lý Văn Tiên", "BN-TD")
    doc = (await add_document(world, [f"Trang {n}" for n in range(1, 13)]))["id"]
    rnd = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo Báo cáo chính trị", document_id=doc,
                     units=[world.unit_id]))["round"]["id"]

    async def comment(who: str, section: str, page: int, text: str, **more) -> int:
        anchor = {"kind": "page", "document_id": doc, "page": page, "region": {"x": 0.1, "y": 0.2, "w": 0.5, "h": 0.1}}
        return (await _ok(world, who, "comment.add", round_id=rnd, section=section, anchor=anchor, text=text,
                          **more))["comment"]["id"]

    a = await comment("daibieu01", "Phần thứ hai: Phương hướng", 12, "Bổ sung chỉ tiêu về chuyển đổi số")
    b = await comment("xa.tiendu", "Phần thứ nhất: Đánh giá", 4, "Số liệu năm 2024 chưa khớp",
                      proposed_text="tăng 7,5%")
    c = await comment("daibieu02", "Phần thứ nhất: Đánh giá", 2, "Cần nêu rõ hạn chế")
    await _ok(world, "vanphong", "comment.triage", comment_id=a, decision="accepted")
    await _ok(world, "vanphong", "comment.triage", comment_id=b, decision="explained",
              explanation="Số liệu theo báo cáo của Cục Thống kê")
    await _ok(world, "vanphong", "comment.triage", comment_id=c, decision="noted")
    return rnd


async def test_the_docx_summary_is_a_printable_vietnamese_table(world):
    rnd = await _consultation(world)
    status, headers, body = await _get(
        world, "vanphong", f"/api/meetings/{world.meeting_id}/comments/summary.docx?group=section&round={rnd}")
    assert status == 200, body[:300]
    assert headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"bang-tong-hop-y-kien-du-thao-bao-cao-chinh-tri.docx\"")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Bảng tổng hợp ý kiến - Dự thảo Báo cáo chính trị.docx"

    doc = docx.Document(io.BytesIO(body))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE and section.page_width > section.page_height
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size.pt == 13
    texts = [p.text for p in doc.paragraphs if p.text]
    assert texts[:3] == ["BẢNG TỔNG HỢP Ý KIẾN GÓP Ý", "Dự thảo Báo cáo chính trị",
                         "(Hội nghị Ban Chấp hành lần thứ 5)"]
    assert texts[-1] == "Tổng cộng: 3 ý kiến (tiếp thu: 1; giải trình: 1; ghi nhận: 1)."
    table = doc.tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["STT", "Nội dung góp ý", "Đơn vị/Người góp ý", "Ý kiến tiếp thu, giải trình"]
    # Sections in the draft's order (by their first page), a header row each, then the rows by page.
    assert rows[1][0] == rows[1][3] == "I. Phần thứ nhất: Đánh giá (2 ý kiến)"
    assert rows[2] == ["1", "Trang 2:\nCần nêu rõ hạn chế", "Hoàng Văn Cường\nTỉnh Bắc Ninh", "Ghi nhận"]
    assert rows[3] == ["2", "Trang 4:\nSố liệu năm 2024 chưa khớp\nĐề nghị sửa thành: “tăng 7,5%”",
                       "Lý Văn Tiên\nXã Tiên Du", "Giải trình: Số liệu theo báo cáo của Cục Thống kê"]
    assert rows[4][0] == "II. Phần thứ hai: Phương hướng (1 ý kiến)"
    assert rows[5] == ["3", "Trang 12:\nBổ sung chỉ tiêu về chuyển đổi số", "Phạm Thị Bình\nTỉnh Bắc Ninh", "Tiếp thu"]
    runs = [r for row in table.rows for cell in row.cells for p in cell.paragraphs for r in p.runs]
    assert runs and all(r.font.name == "Times New Roman" and r.font.size.pt == 13 for r in runs)


async def test_the_xlsx_summary_groups_by_unit_and_by_delegate(world):
    rnd = await _consultation(world)
    status, headers, body = await _get(
        world, "thuky", f"/api/meetings/{world.meeting_id}/comments/summary.xlsx?group=unit&round={rnd}")
    assert status == 200, body[:300]
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "filename*=UTF-8''B%E1%BA%A3ng%20t%E1%BB%95ng%20h%E1%BB%A3p" in headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    assert ws["A1"].value == "BẢNG TỔNG HỢP Ý KIẾN GÓP Ý" and ws["A2"].value == "Dự thảo Báo cáo chính trị"
    assert ws.freeze_panes == "A5"
    header = [c.value for c in ws[4]]
    assert header == ["STT", "Đơn vị", "Nội dung góp ý", "Đơn vị/Người góp ý", "Ý kiến tiếp thu, giải trình"]
    assert ws["A4"].font.bold and ws.column_dimensions["C"].width >= 40
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    # Units in Vietnamese order: "Tỉnh Bắc Ninh" before "Xã Tiên Du"; within a unit, by page.
    assert [(r[0], r[1], r[4]) for r in rows] == [
        (1, "Tỉnh Bắc Ninh", "Ghi nhận"),
        (2, "Tỉnh Bắc Ninh", "Tiếp thu"),
        (3, "Xã Tiên Du", "Giải trình: Số liệu theo báo cáo của Cục Thống kê"),
    ]
    assert rows[0][2] == "Trang 2:\nCần nêu rõ hạn chế" and rows[2][3] == "Lý Văn Tiên\nXã Tiên Du"

    status, _, body = await _get(world, "vanphong", f"/api/meetings/{world.meeting_id}/comments/summary.xlsx?group=delegate")
    assert status == 200
    ws = openpyxl.load_workbook(io.BytesIO(body)).active
    assert ws["B4"].value == "Người góp ý"
    # Delegates by given name: Bình, Cường, Tiên.
    assert [r[1] for r in ws.iter_rows(min_row=5, values_only=True)] == ["Phạm Thị Bình", "Hoàng Văn Cường", "Lý Văn Tiên"]


async def test_only_the_staff_print_the_summary(world):
    rnd = await _consultation(world)
    base = f"/api/meetings/{world.meeting_id}/comments/summary"
    for who in ("daibieu01", "chutri"):
        status, _, body = await _get(world, who, f"{base}.docx")
        assert status == 403, who
    status, _, _ = await _get(world, "nguoingoai", f"{base}.docx")
    assert status == 404  # a meeting they may not read does not exist for them
    status, _, body = await _get(world, "vanphong", f"{base}.docx?group=tinh")
    assert status == 422 and b"group" in body
    status, _, _ = await _get(world, "vanphong", f"{base}.xlsx?round=999999")
    assert status == 404
    status, _, _ = await _get(world, "vanphong", f"{base}.xlsx?round=abc")
    assert status == 422
    # A round with no comments yet prints an empty table, not an error.
    empty = (await _ok(world, "vanphong", "comment_round.open", title="Dự thảo trống"))["round"]["id"]
    status, _, body = await _get(world, "vanphong", f"{base}.docx?round={empty}")
    assert status == 200 and len(docx.Document(io.BytesIO(body)).tables[0].rows) == 1
    status, _, body = await _get(world, "admin", f"{base}.docx?round={rnd}")
    assert status == 200
