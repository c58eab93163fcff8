"""The directives' follow-up table (bảng theo dõi thực hiện ý kiến chỉ đạo) as XLSX.

Three sheets: the list (overdue ones first, in red, as on the dashboard), the counts by lead
unit and the counts by meeting. Pure functions: the wire's dicts in, bytes out.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

from server.domain import directives as rules
from server.domain.text import fold

TITLE = "BẢNG THEO DÕI THỰC HIỆN Ý KIẾN CHỈ ĐẠO"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FONT = "Times New Roman"
LIST_COLUMNS = ("STT", "Nhiệm vụ", "Nội dung", "Hội nghị", "Đơn vị chủ trì", "Đơn vị phối hợp",
                "Người chịu trách nhiệm", "Thời hạn", "Trạng thái", "Tiến độ (%)", "Tình trạng thời hạn")
COUNT_COLUMNS = ("Tổng số", "Đã hoàn thành", "Trong đó quá hạn", "Đang thực hiện", "Chờ xác nhận", "Quá hạn",
                 "Sắp đến hạn", "Đã hủy")
COUNT_KEYS = ("total", "done", "done_late", "in_progress", "reported", "overdue", "due_soon", "cancelled")


def day_text(iso_day: str | None) -> str:
    """"2026-12-31" -> "31/12/2026", as Vietnamese documents write dates."""
    if not iso_day:
        return ""
    year, month, day = iso_day.split("-")
    return f"{day}/{month}/{year}"


def timeliness_text(d: dict) -> str:
    when = d.get("timeliness") or {}
    if when.get("overdue"):
        return f"Quá hạn {-when['days_left']} ngày"
    if when.get("late"):
        return "Hoàn thành quá hạn"
    if when.get("due_soon"):
        left = when["days_left"]
        return "Đến hạn hôm nay" if left == 0 else f"Còn {left} ngày"
    if d["status"] == rules.Status.COMPLETED:
        return "Hoàn thành đúng hạn" if d.get("deadline") else "Hoàn thành"
    if d["status"] == rules.Status.CANCELLED:
        return ""
    return "Trong hạn" if d.get("deadline") else "Không có thời hạn"


def filename(ext: str) -> tuple[str, str]:
    name = "Bảng theo dõi thực hiện ý kiến chỉ đạo"
    return f"{re.sub(r'[^a-z0-9]+', '-', fold(name)).strip('-')}.{ext}", f"{name}.{ext}"


def content_disposition(ext: str) -> str:
    fallback, name = filename(ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def directives_xlsx(directives: list[dict], board: dict, *, subtitle: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    plain = Font(name=FONT, size=12)
    late = Font(name=FONT, size=12, color="C00000", bold=True)
    late_fill = PatternFill("solid", fgColor="FDE9E7")
    head_fill = PatternFill("solid", fgColor="D9E1F2")
    wrap = Alignment(wrap_text=True, vertical="top")
    centre = Alignment(horizontal="center", vertical="top", wrap_text=True)

    def header(ws, columns, title: str, widths) -> None:
        last = chr(ord("A") + len(columns) - 1)
        for row, text, font in ((1, TITLE, Font(name=FONT, size=14, bold=True)),
                                (2, title, Font(name=FONT, size=13, bold=True)),
                                (3, subtitle, Font(name=FONT, size=12, italic=True))):
            ws.cell(row=row, column=1, value=text).font = font
            ws.merge_cells(f"A{row}:{last}{row}")
            ws.cell(row=row, column=1).alignment = Alignment(horizontal="center")
        for col, text in enumerate(columns, start=1):
            cell = ws.cell(row=4, column=col, value=text)
            cell.font, cell.fill, cell.border = Font(name=FONT, size=12, bold=True), head_fill, box
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for n, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + n)].width = width
        ws.row_dimensions[4].height = 32
        ws.freeze_panes = "A5"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = "4:4"

    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách nhiệm vụ"
    header(ws, LIST_COLUMNS, f"Ngày {day_text(board.get('today'))}", (6, 40, 50, 30, 24, 24, 24, 12, 18, 10, 20))
    for n, d in enumerate(directives, start=1):
        overdue = bool((d.get("timeliness") or {}).get("overdue"))
        values = (n, d["title"], d["content"], d["meeting"]["title"], (d.get("lead_unit") or {}).get("name", ""),
                  "; ".join(u["name"] for u in d["coordinating_units"]),
                  "; ".join(p["full_name"] for p in d["responsible"]), day_text(d["deadline"]),
                  rules.STATUS_NAMES[rules.Status(d["status"])], d["progress"], timeliness_text(d))
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=4 + n, column=col, value=value)
            cell.border = box
            cell.font = late if overdue else plain
            if overdue:
                cell.fill = late_fill
            cell.alignment = centre if col in (1, 8, 10) else wrap
    ws.auto_filter.ref = f"A4:K{max(4 + len(directives), 4)}"

    for sheet, label, rows in (("Theo đơn vị", "Đơn vị chủ trì", board["by_unit"]),
                               ("Theo hội nghị", "Hội nghị", board["by_meeting"])):
        ws = wb.create_sheet(sheet)
        header(ws, ("STT", label, *COUNT_COLUMNS), f"Tổng hợp {label.lower()}", (6, 45, *([12] * len(COUNT_KEYS))))
        lines = [(r.get("name") or r.get("title") or "(chưa giao đơn vị chủ trì)", r) for r in rows]
        lines.append(("Tổng cộng", board["totals"]))
        for n, (name, counts) in enumerate(lines, start=1):
            total_row = n == len(lines)
            values = ("" if total_row else n, name, *(counts[k] for k in COUNT_KEYS))
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=4 + n, column=col, value=value)
                cell.border = box
                cell.font = Font(name=FONT, size=12, bold=total_row,
                                 color="C00000" if col == 8 and counts["overdue"] else None)
                cell.alignment = wrap if col == 2 else centre

    wb.properties.title = TITLE
    wb.properties.language = "vi-VN"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
