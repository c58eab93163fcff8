"""The weekly schedule (lịch công tác tuần) as DOCX and a work programme as XLSX.

The schedule prints as offices print it: landscape A4, Times New Roman, the issuing body and
"ĐẢNG CỘNG SẢN VIỆT NAM" on top, "LỊCH CÔNG TÁC TUẦN n" with its dates (and "Điều chỉnh lần k"
once reissued), then one table: day | time | content | presiding | attendees | place | preparing
unit, the day's cell spanning its entries. A cancelled entry stays, struck out with its reason;
an amended one says which amendment changed it. Pure functions: the read views
(server/store/programme_views.py, as dicts) in, bytes out.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from urllib.parse import quote

from server.domain import programmes as rules
from server.domain.text import fold, nfc
from server.domain.times import local

FONT = "Times New Roman"
PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
DRAFT_MARK = "DỰ THẢO"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCHEDULE_COLUMNS = ("Thứ, ngày", "Thời gian", "Nội dung", "Chủ trì", "Thành phần", "Địa điểm", "Đơn vị chuẩn bị")
PROGRAMME_COLUMNS = ("STT", "Nội dung", "Loại việc", "Cơ quan chủ trì chuẩn bị", "Thời gian dự kiến",
                     "Trạng thái", "Ghi chú")
KIND_WORDS = {
    "standing_committee": "Hội nghị Ban Thường vụ",
    "executive_committee": "Hội nghị Ban Chấp hành",
    "standing_board": "Thường trực",
    "conference": "Hội nghị",
    "inspection": "Kiểm tra, giám sát",
    "document": "Xây dựng văn bản",
    "other": "Khác",
}
STATE_WORDS = {
    "planned": "Dự kiến",
    "scheduled": "Đã xếp lịch",
    "done": "Đã thực hiện",
    "postponed": "Hoãn",
    "cancelled": "Hủy",
}
MEETING_WORDS = {"draft": "bản nháp", "published": "đã phát hành", "in_session": "đang họp",
                 "adjourned": "tạm nghỉ", "closed": "đã bế mạc"}


def filename(stem: str, ext: str) -> tuple[str, str]:
    """(an ASCII fallback, the Vietnamese name) for Content-Disposition."""
    name = " ".join(re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", nfc(stem)).split())[:150]
    ascii_name = re.sub(r"[^a-z0-9.]+", "-", fold(name)).strip("-.") or "lich-cong-tac"
    return f"{ascii_name}.{ext}", f"{name}.{ext}"


def content_disposition(stem: str, ext: str) -> str:
    fallback, name = filename(stem, ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def schedule_stem(view: dict) -> str:
    week = view["week"]
    return f"Lịch công tác tuần {week['week']:02d}-{week['year']} - {view['unit']['name']}"


def programme_stem(view: dict) -> str:
    return f"{view['programme']['title']} - {view['unit']['name']}" if view.get("unit") else view["programme"]["title"]


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def time_text(entry: dict) -> str:
    """'08:00' or '08:00 - 10:30', in Vietnam time."""
    starts, ends = _moment(entry["starts_at"]), _moment(entry["ends_at"])
    text = local(starts).strftime("%H:%M")
    return f"{text} - {local(ends):%H:%M}" if ends else text


def attendees_text(entry: dict) -> str:
    names = ", ".join(a["full_name"] for a in entry["attendees"])
    return "\n".join(part for part in (names, entry["attendees_note"]) if part)


def day_rows(view: dict) -> list[tuple[date, list[dict]]]:
    """Monday to Friday always (a working week is printed whole), Saturday and Sunday when they
    hold something; each day's entries in order."""
    by_day: dict[str, list[dict]] = {}
    for entry in view["entries"]:
        by_day.setdefault(entry["day"], []).append(entry)
    days = [date.fromisoformat(d) for d in view["week"]["days"]]
    return [(d, by_day.get(d.isoformat(), [])) for d in days if d.weekday() < 5 or by_day.get(d.isoformat())]


# --- DOCX ----------------------------------------------------------------------------------------


def _font(run, *, bold: bool = False, italic: bool = False, strike: bool = False, size: float = 12) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.font.strike = bold, italic, strike
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _write(cell, parts, *, center: bool = False) -> None:
    """Paragraphs into a table cell; `parts` is a string (lines) or a list of (text, style) runs."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    para = cell.paragraphs[0]
    para.paragraph_format.space_before = para.paragraph_format.space_after = Pt(2)
    if center:
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    runs = [(parts, {})] if isinstance(parts, str) else parts
    for text, style in runs:
        for i, line in enumerate(text.split("\n")):
            if i:
                para = cell.add_paragraph()
                para.paragraph_format.space_before = para.paragraph_format.space_after = Pt(2)
                if center:
                    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(para.add_run(line), **style)


def schedule_docx(view: dict) -> bytes:
    """The week as read by the office (server/store/programme_views.py WeekData.as_dict())."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    week = view["week"]
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Mm(297), Mm(210)
    sec.top_margin, sec.bottom_margin = Mm(15), Mm(15)
    sec.left_margin, sec.right_margin = Mm(20), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    title = f"LỊCH CÔNG TÁC TUẦN {week['week']}"
    doc.core_properties.title = schedule_stem(view)
    doc.core_properties.language = "vi-VN"

    head = doc.add_table(rows=1, cols=2)
    head.autofit = False
    left, right = head.rows[0].cells
    for column, cell, width in ((head.columns[0], left, Mm(110)), (head.columns[1], right, Mm(152))):
        column.width = cell.width = width
    _write(left, [(nfc(view["unit"]["name"]).upper(), {"bold": True, "size": 13}), ("\n*", {})], center=True)
    _write(right, [(PARTY, {"bold": True, "size": 13})], center=True)

    def centred(text: str, **style) -> None:
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.space_after = Pt(0)
        _font(para.add_run(text), **style)

    doc.add_paragraph()
    if week["state"] == "draft":
        centred(DRAFT_MARK, bold=True, size=13)
    centred(title, bold=True, size=14)
    monday, sunday = date.fromisoformat(week["monday"]), date.fromisoformat(week["sunday"])
    centred(f"(Từ ngày {monday:%d/%m/%Y} đến ngày {sunday:%d/%m/%Y})", italic=True, size=13)
    if week["amendment"]:
        centred(f"(Điều chỉnh lần {week['amendment']})", bold=True, italic=True, size=13)
    doc.add_paragraph()

    widths = (Mm(26), Mm(22), Mm(78), Mm(34), Mm(46), Mm(30), Mm(26))  # 262 mm: the page within its margins
    grid = doc.add_table(rows=1, cols=len(SCHEDULE_COLUMNS))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False

    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width  # the table's grid: what LibreOffice lays out by

    def sized(row) -> None:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width

    header = grid.rows[0]
    sized(header)
    for cell, text in zip(header.cells, SCHEDULE_COLUMNS, strict=True):
        _write(cell, [(text, {"bold": True})], center=True)
    mark = OxmlElement("w:tblHeader")  # the header row repeats on every printed page
    mark.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(mark)

    for day, entries in day_rows(view):
        first = len(grid.rows)
        for entry in entries or [None]:
            row = grid.add_row()
            sized(row)
            if entry is None:
                _write(row.cells[2], [("Làm việc thường xuyên tại cơ quan", {"italic": True})])
                continue
            cancelled = entry["status"] == "cancelled"
            content = [(entry["content"], {"strike": cancelled})]
            if cancelled:
                content.append((f"\n(Hoãn: {entry['reason']})", {"italic": True, "bold": True}))
            if entry["amendment"]:
                content.append((f"\n(Điều chỉnh lần {entry['amendment']})", {"italic": True}))
            _write(row.cells[1], [(time_text(entry), {"strike": cancelled})], center=True)
            _write(row.cells[2], content)
            _write(row.cells[3], [(entry["presiding"], {"strike": cancelled})])
            _write(row.cells[4], [(attendees_text(entry), {"strike": cancelled})])
            _write(row.cells[5], [(entry["place"], {"strike": cancelled})])
            _write(row.cells[6], [(entry["preparing_unit"], {"strike": cancelled})])
        day_cell = grid.cell(first, 0)
        if len(grid.rows) - 1 > first:
            day_cell = day_cell.merge(grid.cell(len(grid.rows) - 1, 0))
        _write(day_cell, [(f"{rules.WEEKDAYS[day.weekday()]}\n{day:%d/%m}", {"bold": True})], center=True)

    if view["changes"]:
        para = doc.add_paragraph()
        para.paragraph_format.space_before = Pt(8)
        _font(para.add_run("Các điểm điều chỉnh:"), bold=True, italic=True)
        for change in view["changes"]:
            para = doc.add_paragraph()
            para.paragraph_format.space_after = Pt(0)
            _font(para.add_run(f"- Lần {change['number']}: {change['summary']}"), italic=True, size=11)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- XLSX ----------------------------------------------------------------------------------------


def note_text(entry: dict) -> str:
    parts = []
    if entry["reason"]:
        parts.append(f"Lý do: {entry['reason']}")
    meeting = entry.get("meeting")
    if meeting:
        parts.append(f"Cuộc họp số {meeting['id']} ({MEETING_WORDS.get(meeting['status'], meeting['status'])})")
    return "\n".join(parts)


def programme_xlsx(view: dict) -> bytes:
    """A programme and its entries (server/store/programme_views.py programme_view)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    programme = view["programme"]
    wb = Workbook()
    ws = wb.active
    ws.title = "Chương trình công tác"
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    plain = Font(name=FONT, size=12)
    wrap = Alignment(wrap_text=True, vertical="top")
    last = chr(ord("A") + len(PROGRAMME_COLUMNS) - 1)

    heading = [(nfc(view["unit"]["name"]).upper() if view.get("unit") else "", Font(name=FONT, size=12, bold=True)),
               (programme["title"].upper(), Font(name=FONT, size=14, bold=True))]
    if programme["state"] == "draft":
        heading.append((DRAFT_MARK, Font(name=FONT, size=12, bold=True, italic=True)))
    for line, (text, font) in enumerate(heading, start=1):
        ws.cell(row=line, column=1, value=text).font = font
        ws.merge_cells(f"A{line}:{last}{line}")
        ws.cell(row=line, column=1).alignment = Alignment(horizontal="center", vertical="center")
    top = len(heading) + 2
    for col, text in enumerate(PROGRAMME_COLUMNS, start=1):
        cell = ws.cell(row=top, column=col, value=text)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = box
    line = top + 1
    for n, entry in enumerate(view["entries"], start=1):
        values = (n, entry["content"], KIND_WORDS.get(entry["kind"], entry["kind"]), entry["preparing_unit"],
                  entry["due_label"], STATE_WORDS.get(entry["state"], entry["state"]), note_text(entry))
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=line, column=col, value=value)
            cell.font, cell.border = plain, box
            cell.alignment = Alignment(horizontal="center", vertical="top") if col in (1, 5, 6) else wrap
        line += 1
    for letter, width in zip("ABCDEFG", (6, 60, 22, 30, 16, 16, 34), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"A{top + 1}"
    ws.auto_filter.ref = f"A{top}:{last}{max(line - 1, top)}"
    ws.print_title_rows = f"{top}:{top}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.properties.title = programme_stem(view)
    wb.properties.language = "vi-VN"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
