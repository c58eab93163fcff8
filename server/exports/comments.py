"""The summary table of comments (bảng tổng hợp ý kiến góp ý) as DOCX and XLSX.

Columns as in the offices' template: STT | Nội dung góp ý | Đơn vị/Người góp ý |
Ý kiến tiếp thu, giải trình, grouped by section of the draft, by unit or by delegate
with a header row per group (I., II., ...). DOCX: landscape A4, Times New Roman 13,
ready to print. XLSX: the same rows with a group column, header frozen and filtered.
Pure functions: rows in, bytes out.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import quote

from server.domain import comments as rules
from server.domain.text import fold, nfc

TITLE = "BẢNG TỔNG HỢP Ý KIẾN GÓP Ý"
COLUMNS = ("STT", "Nội dung góp ý", "Đơn vị/Người góp ý", "Ý kiến tiếp thu, giải trình")
GROUP_COLUMN = {
    rules.GroupBy.SECTION: "Phần, mục của dự thảo",
    rules.GroupBy.UNIT: "Đơn vị",
    rules.GroupBy.DELEGATE: "Người góp ý",
}
NO_GROUP = {
    rules.GroupBy.SECTION: "Ý kiến chung",
    rules.GroupBy.UNIT: "Chưa rõ đơn vị",
    rules.GroupBy.DELEGATE: "Chưa rõ người góp ý",
}
DECISIONS = {"accepted": "Tiếp thu", "explained": "Giải trình", "noted": "Ghi nhận", "pending": "Chưa xử lý"}
FONT = "Times New Roman"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    number: int  # STT, running through the whole table
    content: str
    author: str
    answer: str
    decision: str = "pending"  # accepted | explained | noted | pending


@dataclass(frozen=True)
class Section:
    label: str
    rows: tuple[Row, ...]


def roman(n: int) -> str:
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def answer_text(c: rules.Comment) -> str:
    """The triage as printed: "Tiếp thu", "Giải trình: …", "Ghi nhận"."""
    if c.triage is None:
        return DECISIONS["pending"]
    word = DECISIONS[str(c.triage.decision)]
    return f"{word}: {c.triage.explanation}" if c.triage.explanation else word


def content_text(c: rules.Comment) -> str:
    lines = []
    a = c.anchor
    if isinstance(a, rules.PassageAnchor):
        where = f" (trang {a.page})" if a.page else ""
        lines.append(f"Tại đoạn{where}: “{a.quote}”")
    elif isinstance(a, rules.PageAnchor):
        lines.append(f"Trang {a.page}:")
    if c.text:
        lines.append(c.text)
    if c.proposed_text:
        lines.append(f"Đề nghị sửa thành: “{c.proposed_text}”")
    return "\n".join(lines)


def author_text(c: rules.Comment) -> str:
    return "\n".join(part for part in (c.author.name, c.author.unit_name) if part)


def table(groups: list[rules.Group], by: rules.GroupBy) -> list[Section]:
    """The domain's groups as the table's sections, numbered 1..N through the table."""
    out, n = [], 0
    for g in groups:
        rows = []
        for c in g.comments:
            n += 1
            decision = str(c.triage.decision) if c.triage else "pending"
            rows.append(Row(n, content_text(c), author_text(c), answer_text(c), decision))
        out.append(Section(g.label or NO_GROUP[by], tuple(rows)))
    return out


def totals(sections: list[Section]) -> str:
    rows = [r for s in sections for r in s.rows]
    counts = {key: sum(1 for r in rows if r.decision == key) for key in DECISIONS}
    shown = "; ".join(f"{DECISIONS[key].lower()}: {n}" for key, n in counts.items() if n)
    return f"Tổng cộng: {len(rows)} ý kiến" + (f" ({shown})" if shown else "") + "."


def filename(title: str, ext: str) -> tuple[str, str]:
    """(an ASCII fallback, the Vietnamese name) for Content-Disposition."""
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", nfc(f"Bảng tổng hợp ý kiến - {title}" if title else
                                                           "Bảng tổng hợp ý kiến"))
    name = " ".join(name.split())[:150]
    ascii_name = re.sub(r"[^a-z0-9.]+", "-", fold(name)).strip("-.") or "bang-tong-hop-y-kien"
    return f"{ascii_name}.{ext}", f"{name}.{ext}"


def content_disposition(title: str, ext: str) -> str:
    """RFC 6266 with an RFC 5987 `filename*` so the Vietnamese name survives every browser."""
    fallback, name = filename(title, ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- DOCX ---------------------------------------------------------------------------


def _font(run, *, bold: bool = False, italic: bool = False, size: float = 13) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold = bold
    run.italic = italic
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _cell(cell, text: str, *, bold: bool = False, center: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    lines = text.split("\n") if text else [""]
    para = cell.paragraphs[0]
    for i, line in enumerate(lines):
        if i:
            para = cell.add_paragraph()
        para.paragraph_format.space_before = Pt(2)
        para.paragraph_format.space_after = Pt(2)
        if center:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            para.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _font(para.add_run(line), bold=bold)


def summary_docx(sections: list[Section], *, title: str, subtitle: str = "",
                 group_by: rules.GroupBy = rules.GroupBy.SECTION) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Mm(297), Mm(210)
    sec.top_margin, sec.bottom_margin = Mm(20), Mm(20)
    sec.left_margin, sec.right_margin = Mm(30), Mm(15)  # the binding edge, as in Decree 30/2020
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(13)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.core_properties.title = f"{TITLE} - {title}" if title else TITLE
    doc.core_properties.language = "vi-VN"

    def centred(text: str, **style) -> None:
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.space_after = Pt(0)
        _font(para.add_run(text), **style)

    centred(TITLE, bold=True, size=14)
    if title:
        centred(title, bold=True)
    if subtitle:
        centred(f"({subtitle})", italic=True)
    doc.add_paragraph()

    widths = (Mm(14), Mm(118), Mm(50), Mm(70))  # 252 mm: the landscape page within its margins
    grid = doc.add_table(rows=1, cols=4)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False

    def sized(row) -> None:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width

    header = grid.rows[0]
    sized(header)
    for cell, text in zip(header.cells, COLUMNS, strict=True):
        _cell(cell, text, bold=True, center=True)
    mark = OxmlElement("w:tblHeader")  # the header row repeats on every printed page
    mark.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(mark)

    for i, section in enumerate(sections, start=1):
        row = grid.add_row()
        sized(row)
        merged = row.cells[0].merge(row.cells[3])
        _cell(merged, f"{roman(i)}. {section.label} ({len(section.rows)} ý kiến)", bold=True)
        for r in section.rows:
            row = grid.add_row()
            sized(row)
            _cell(row.cells[0], str(r.number), center=True)
            _cell(row.cells[1], r.content)
            _cell(row.cells[2], r.author)
            _cell(row.cells[3], r.answer)

    para = doc.add_paragraph()
    para.paragraph_format.space_before = Pt(6)
    _font(para.add_run(totals(sections)), italic=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- XLSX ---------------------------------------------------------------------------


def summary_xlsx(sections: list[Section], *, title: str, subtitle: str = "",
                 group_by: rules.GroupBy = rules.GroupBy.SECTION) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp ý kiến"
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    plain = Font(name=FONT, size=12)
    wrap = Alignment(wrap_text=True, vertical="top")

    ws["A1"] = TITLE
    ws["A2"] = title
    ws["A3"] = subtitle
    for ref, font in (("A1", Font(name=FONT, size=14, bold=True)), ("A2", Font(name=FONT, size=13, bold=True)),
                      ("A3", Font(name=FONT, size=12, italic=True))):
        ws.merge_cells(f"{ref}:E{ref[1:]}")
        ws[ref].font = font
        ws[ref].alignment = Alignment(horizontal="center", vertical="center")

    head = (COLUMNS[0], GROUP_COLUMN[rules.GroupBy(group_by)], *COLUMNS[1:])
    for col, text in enumerate(head, start=1):
        cell = ws.cell(row=4, column=col, value=text)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = box
    line = 5
    for section in sections:
        for r in section.rows:
            values = (r.number, section.label, r.content, r.author, r.answer)
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=line, column=col, value=value)
                cell.font, cell.border = plain, box
                cell.alignment = Alignment(horizontal="center", vertical="top") if col == 1 else wrap
            line += 1
    for letter, width in zip("ABCDE", (6, 28, 60, 30, 45), strict=True):
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[4].height = 32
    ws.freeze_panes = "A5"
    ws.auto_filter.ref = f"A4:E{max(line - 1, 4)}"
    ws.print_title_rows = "4:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.properties.title = f"{TITLE} - {title}" if title else TITLE
    wb.properties.language = "vi-VN"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
