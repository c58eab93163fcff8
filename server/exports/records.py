"""The minutes (biên bản) and the conclusion notice (thông báo kết luận) as DOCX.

Laid out like a Party document (Hướng dẫn 36-HD/VPTW): A4, Times New Roman, the header
table with the issuing body, its star and the number and symbol on the left, "ĐẢNG CỘNG
SẢN VIỆT NAM" and the place and date (in italics) on the right; then the type and
subject, the body, and the signature block (with "Nơi nhận:" for the notice). The PDF
is the DOCX converted by LibreOffice (server/exports/pdf.py), so both read the same.
Pure functions: content (server/domain/records.py) in, bytes out.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

from server.domain import records as rules
from server.domain.text import fold, nfc

FONT = "Times New Roman"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"
NAMES = {rules.MINUTES: "Biên bản", rules.NOTICE: "Thông báo kết luận"}


def filename(kind: str, title: str, ext: str) -> tuple[str, str]:
    """(an ASCII fallback, the Vietnamese name) for Content-Disposition and the CLI."""
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", nfc(f"{NAMES[kind]} - {title}" if title else NAMES[kind]))
    name = " ".join(name.split())[:150]
    ascii_name = re.sub(r"[^a-z0-9.]+", "-", fold(name)).strip("-.") or kind.replace("_", "-")
    return f"{ascii_name}.{ext}", f"{name}.{ext}"


def content_disposition(kind: str, title: str, ext: str) -> str:
    fallback, name = filename(kind, title, ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- the page -----------------------------------------------------------------------


def _font(run, *, bold: bool = False, italic: bool = False, underline: bool = False, size: float = 14) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = FONT
    run.font.size = Pt(size)
    run.bold, run.italic, run.underline = bold, italic, underline
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


class Page:
    """A document being written: paragraphs of runs, in the office's habits."""

    def __init__(self, title: str):
        from docx import Document
        from docx.oxml.ns import qn
        from docx.shared import Mm, Pt

        self.doc = Document()
        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.top_margin, sec.bottom_margin = Mm(20), Mm(20)
        sec.left_margin, sec.right_margin = Mm(30), Mm(15)
        normal = self.doc.styles["Normal"]
        normal.font.name, normal.font.size = FONT, Pt(14)
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
        normal.paragraph_format.space_after = Pt(3)
        self.doc.core_properties.title = title
        self.doc.core_properties.language = "vi-VN"

    def para(self, *runs, align: str = "justify", indent: bool = False, where=None, space_after: float = 3,
             keep_with_next: bool = False):
        """One paragraph; each run is a string or (text, style dict)."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm, Pt

        target = where if where is not None else self.doc
        para = target.add_paragraph()
        para.alignment = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
                          "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]
        para.paragraph_format.space_after = Pt(space_after)
        para.paragraph_format.keep_with_next = keep_with_next
        if indent:
            para.paragraph_format.first_line_indent = Mm(12.7)
        for run in runs:
            text, style = (run, {}) if isinstance(run, str) else run
            _font(para.add_run(text), **style)
        return para

    def texts(self, text: str, **options) -> None:
        """A free text typed in the console: one paragraph per line."""
        for line in (text or "").split("\n"):
            if line.strip():
                self.para(line.strip(), indent=True, **options)

    def table(self, widths_mm: tuple[float, ...]):
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.shared import Mm

        grid = self.doc.add_table(rows=1, cols=len(widths_mm))
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        for cell, width in zip(grid.rows[0].cells, widths_mm, strict=True):
            cell.width = Mm(width)
            cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
        return grid.rows[0].cells

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _header(page: Page, content: dict, *, draft: bool) -> None:
    """The header table of a Party document (36-HD/VPTW)."""
    if draft:
        page.para((rules.DRAFT_MARK, {"bold": True, "size": 13}), align="right", space_after=0)
    left, right = page.table((75, 90))
    lines = [line.strip() for line in (content.get("issuer") or "").split("\n") if line.strip()] or ["ĐẢNG BỘ"]
    for n, line in enumerate(lines):
        page.para((line, {"bold": n == len(lines) - 1}), align="center", where=left, space_after=0)
    page.para("*", align="center", where=left, space_after=0)
    page.para(rules.number_line(content.get("number", ""), content.get("symbol", "")), align="center", where=left,
              space_after=0)
    page.para((rules.PARTY, {"bold": True, "underline": True, "size": 15}), align="center", where=right, space_after=6)
    day, _, _ = rules.dates(content)
    page.para((rules.date_line(content.get("place_name", ""), day), {"italic": True}), align="center", where=right,
              space_after=0)
    page.para("", space_after=6)


def _title(page: Page, kind: str, subject: str) -> None:
    page.para((rules.TYPE_NAMES[kind], {"bold": True, "size": 15}), align="center", space_after=0)
    if subject:
        page.para((subject, {"bold": True}), align="center", space_after=0)
    page.para("-----", align="center", space_after=9)


def _labelled(page: Page, label: str, text: str) -> None:
    page.para((label, {"bold": True}), text, indent=True)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?:;…" else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _signatures(page: Page, left: tuple[str, str, str], right: tuple[str, str, str]) -> None:
    """Two signing blocks side by side: (position, how, name)."""
    page.para("", space_after=6)
    cells = page.table((82, 83))
    for cell, (position, how, name) in zip(cells, (left, right), strict=True):
        page.para((position, {"bold": True}), align="center", where=cell, space_after=0)
        if how:
            page.para((how, {"italic": True, "size": 13}), align="center", where=cell, space_after=0)
        for _ in range(4):
            page.para("", where=cell, space_after=0)
        page.para((name, {"bold": True}), align="center", where=cell, space_after=0)


# --- the minutes --------------------------------------------------------------------


def _absence(person: dict) -> str:
    reason = (person.get("reason") or "").strip()
    if person.get("excused"):
        return f"vắng có lý do: {reason}" if reason else "vắng có lý do"
    return f"vắng mặt: {reason}" if reason else "vắng mặt không rõ lý do"


def _person_line(n: int, person: dict, tail: str = "") -> str:
    return f"{n}. {_capital(rules.person_text(person))}{f' ({tail})' if tail else ''}."


def _conclusion(page: Page, text: str) -> None:
    lines = [line.strip() for line in (text or "").split("\n") if line.strip()]
    if lines:
        page.para(("Kết luận của đồng chí chủ trì: ", {"bold": True, "italic": True}), lines[0], indent=True)
        for line in lines[1:]:
            page.para(line, indent=True)


def minutes_docx(content: dict, *, draft: bool = False) -> bytes:
    """The minutes of a session (Hướng dẫn 16-HD/VPTW): every field of the record."""
    page = Page(f"Biên bản - {content.get('title', '')}")
    _header(page, content, draft=draft)
    _title(page, rules.MINUTES, content.get("title", ""))
    _, started, ended = rules.dates(content)

    _labelled(page, "Thời gian bắt đầu: ", f"{rules.clock_text(started)}.")
    _labelled(page, "Địa điểm: ", _sentence(content.get("place") or "…"))
    _labelled(page, "Chủ trì: ", _sentence(_capital(rules.person_text(content.get("chair") or {}))))
    _labelled(page, "Thư ký (người ghi biên bản): ",
              _sentence(_capital(rules.person_text(content.get("minute_taker") or {}))))

    att = content.get("attendance") or {}
    present, absent = att.get("present", []), att.get("absent", [])
    page.para(("Thành phần dự hội nghị:", {"bold": True}), indent=True, keep_with_next=True)
    page.para(("Có mặt: ", {"italic": True}), f"{len(present)}/{att.get('members', 0)} đồng chí"
              + (":" if present else "."), indent=True, keep_with_next=bool(present))
    for n, p in enumerate(present, start=1):
        page.para(_person_line(n, p), indent=True, space_after=0)
    page.para(("Vắng mặt: ", {"italic": True}), f"{len(absent)} đồng chí" + (":" if absent else "."), indent=True,
              keep_with_next=bool(absent))
    for n, p in enumerate(absent, start=1):
        page.para(_person_line(n, p, _absence(p)), indent=True, space_after=0)
    guests = content.get("guests") or []
    page.para(("Khách mời: ", {"italic": True}), f"{len(guests)} đồng chí" + (":" if guests else "."), indent=True,
              keep_with_next=bool(guests))
    for n, g in enumerate(guests, start=1):
        page.para(_person_line(n, g, "" if g.get("present", True) else "vắng mặt"), indent=True, space_after=0)

    documents = content.get("documents") or []
    page.para(("Tài liệu sử dụng tại hội nghị:", {"bold": True}), "" if documents else " không có.", indent=True,
              keep_with_next=bool(documents))
    for n, title in enumerate(documents, start=1):
        page.para(f"{n}. {_sentence(title)}", indent=True, space_after=0)

    top = [i for i in content.get("agenda") or [] if "." not in str(i.get("number", ""))]
    page.para(("Nội dung hội nghị:", {"bold": True}), indent=True, keep_with_next=True)
    for i in top:
        page.para(f"{i.get('number')}. {_sentence(i.get('title', ''))}", indent=True, space_after=0)

    page.para("", space_after=3)
    page.para(("DIỄN BIẾN HỘI NGHỊ", {"bold": True}), align="center", keep_with_next=True)
    page.texts(content.get("opening", ""))
    # An item's conclusion closes its section: it comes after the item's sub-items.
    pending: list[tuple[str, str]] = []  # (number, conclusion) of the items still open

    def close_sections(until: str | None) -> None:
        while pending and (until is None or not until.startswith(pending[-1][0] + ".")):
            _conclusion(page, pending.pop()[1])

    for item in content.get("items") or []:
        number = item.get("number")
        close_sections(str(number) if number else None)
        sub = "." in str(number or "")
        page.para((f"{number}. {item.get('title', '')}" if number else item.get("title", ""),
                   {"bold": True, "italic": sub}), indent=True, keep_with_next=True)
        if item.get("presenter"):
            page.para(("Trình bày: ", {"italic": True}), _sentence(item["presenter"]), indent=True)
        page.texts(item.get("notes", ""))
        speeches = item.get("speeches") or []
        if speeches:
            page.para(("Ý kiến phát biểu:", {"italic": True}), indent=True, keep_with_next=True)
        for s in speeches:
            who = s.get("name", "") if s.get("point") else rules.person_text(s)
            said = (s.get("summary") or "").strip() or (s.get("topic") or "").strip() or "…"
            page.para(f"- {_capital(who)} (thời lượng {rules.duration_text(s.get('seconds'))}): ",
                      _sentence(said), indent=True)
        for poll in item.get("polls") or []:
            page.para(f"- {poll.get('text', '')}", indent=True)
        pending.append((str(number) if number else "\0", item.get("conclusion") or ""))
    close_sections(None)

    page.para("", space_after=3)
    page.para(f"Hội nghị kết thúc vào hồi {rules.clock_text(ended)}.", indent=True)
    page.texts(content.get("closing", ""))
    taker = (content.get("minute_taker") or {}).get("name", "")
    chair = (content.get("chair") or {}).get("name", "")
    _signatures(page, ("THƯ KÝ HỘI NGHỊ", "(Ký, ghi rõ họ tên)", taker),
                ("CHỦ TRÌ HỘI NGHỊ", "(Ký, ghi rõ họ tên)", chair))
    return page.bytes()


# --- the conclusion notice ----------------------------------------------------------


def notice_docx(content: dict, *, draft: bool = False) -> bytes:
    """A conclusion notice with the fields of Hướng dẫn 36-HD/VPTW."""
    page = Page(f"Thông báo kết luận - {content.get('subject', '')}")
    _header(page, content, draft=draft)
    _title(page, rules.NOTICE, content.get("subject", ""))
    page.texts(content.get("intro", ""))
    for n, section in enumerate(content.get("sections") or [], start=1):
        title = (section.get("title") or "").strip()
        lines = [line.strip() for line in (section.get("text") or "").split("\n") if line.strip()]
        if title:
            page.para((f"{n}. {_sentence(title) if not lines else title}", {"bold": True}), indent=True,
                      keep_with_next=bool(lines))
            for line in lines:
                page.para(line, indent=True)
        elif lines:
            page.para(f"{n}. {lines[0]}", indent=True)
            for line in lines[1:]:
                page.para(line, indent=True)
    page.texts(content.get("closing", ""))

    page.para("", space_after=6)
    left, right = page.table((80, 85))
    page.para(("Nơi nhận:", {"bold": True, "italic": True, "underline": True, "size": 14}), align="left",
              where=left, space_after=0)
    recipients = [r.strip().rstrip(",.;") for r in content.get("recipients") or [] if r.strip()]
    for n, r in enumerate(recipients):
        page.para((f"- {r}{'.' if n == len(recipients) - 1 else ','}", {"size": 12}), align="left", where=left,
                  space_after=0)
    for line in (content.get("authority") or "").split("\n"):
        if line.strip():
            page.para((line.strip(), {"bold": True}), align="center", where=right, space_after=0)
    if (content.get("signer_title") or "").strip():
        page.para((content["signer_title"].strip(), {"bold": True}), align="center", where=right, space_after=0)
    for _ in range(4):
        page.para("", where=right, space_after=0)
    page.para((content.get("signer_name") or "", {"bold": True}), align="center", where=right, space_after=0)
    return page.bytes()


def docx(kind: str, content: dict, *, draft: bool = False) -> bytes:
    return minutes_docx(content, draft=draft) if kind == rules.MINUTES else notice_docx(content, draft=draft)
