"""The minutes (biên bản) and the conclusion notice (thông báo kết luận): their fields and wording.

Pure rules, no I/O. The session's record comes in as a `Record` (read by
server/store/record_views.py); a document's *content* comes out as a plain dict, the
structured document the console edits and the renderers (server/exports/records.py)
print. The fields follow the Party's guidance: Hướng dẫn 16-HD/VPTW (2023) for the
minutes, Hướng dẫn 36-HD/VPTW (2018) for the form of a Party document (issuing body,
"ĐẢNG CỘNG SẢN VIỆT NAM", number and symbol, place and date, type and subject, body,
authority and signer, recipients). docs/records.md is the contract.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime

from server.domain.errors import DomainError, Invalid
from server.domain.text import name_key
from server.domain.times import iso, local

PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
MINUTES, NOTICE = "minutes", "conclusion_notice"
KINDS = (MINUTES, NOTICE)
# The type of each document as printed above its subject, and its symbol's first letters.
TYPE_NAMES = {MINUTES: "BIÊN BẢN", NOTICE: "THÔNG BÁO"}
SYMBOLS = {MINUTES: "BB", NOTICE: "TB"}
DRAFT, FINAL = "draft", "final"
DRAFT_MARK = "DỰ THẢO"

MEMBER_ROLES = ("chair", "secretary", "delegate")  # the meeting's members: present or absent by name
GUEST_ROLE = "guest"

MOTION_LABELS = {"yes": "Tán thành", "no": "Không tán thành", "abstain": "Không biểu quyết"}
BASE_WORDS = {"members": "tổng số thành viên", "present": "số thành viên có mặt", "valid": "số phiếu hợp lệ"}
OUTCOMES = {
    "passed": "thông qua",
    "failed": "không thông qua",
    "no_quorum": "không đủ số thành viên tham gia biểu quyết, kết quả không có giá trị",
    "tie": "số phiếu ngang nhau, phải biểu quyết lại",
    "partial": "chưa bầu đủ số lượng",
}
OTHER_ITEM = "Các ý kiến khác"

DEFAULT_MINUTES_CLOSING = (
    "Biên bản đã được đọc lại trước hội nghị; các đồng chí dự hội nghị nhất trí với nội dung biên bản."
)
DEFAULT_NOTICE_CLOSING = "Thông báo để các cơ quan, đơn vị và các đồng chí có liên quan biết, thực hiện."
DEFAULT_AUTHORITY = "T/M BAN THƯỜNG VỤ"
DEFAULT_RECIPIENTS = ("Các đồng chí dự hội nghị", "Các cơ quan, đơn vị có liên quan", "Lưu Văn phòng")

# Fields of the minutes the secretary types, kept when the draft is made again from the record.
MINUTES_TYPED = ("issuer", "number", "symbol", "place_name", "date", "title", "started_at", "ended_at", "place",
                 "chair", "minute_taker", "opening", "closing")
# Everything in the notice but the sections drawn from the chair's conclusions.
NOTICE_TYPED = ("issuer", "number", "symbol", "place_name", "date", "subject", "intro", "closing", "authority",
                "signer_title", "signer_name", "recipients")


# --- the record ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    title: str
    role: str
    status: str  # present | absent | excused | unknown
    reason: str = ""


@dataclass(frozen=True)
class Item:
    id: int
    number: str  # "2.1"
    title: str
    presenter: str = ""
    parent_id: int | None = None


@dataclass(frozen=True)
class Speech:
    request_id: int
    item_id: int | None
    name: str
    title: str
    seconds: int | None
    summary: str
    topic: str = ""
    point: bool = False  # a bridge point spoke (its unit's name)


@dataclass(frozen=True)
class PollRecord:
    poll_id: int
    item_id: int | None
    text: str  # the result in words (poll_text)


@dataclass(frozen=True)
class Record:
    """What the session left: read from the store, written as a document by the builders below."""

    meeting_id: int
    title: str
    place: str
    unit_name: str
    unit_level: str
    planned_start: datetime | None
    planned_end: datetime | None
    started_at: datetime | None  # the session's real opening (meeting.start), if it was held
    ended_at: datetime | None  # its closing (meeting.close)
    people: tuple[Person, ...] = ()
    documents: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    speeches: tuple[Speech, ...] = ()
    polls: tuple[PollRecord, ...] = ()
    conclusions: dict[int, str] = field(default_factory=dict)

    def role(self, role: str) -> Person | None:
        return next((p for p in self.people if p.role == role), None)

    @property
    def start(self) -> datetime | None:
        return self.started_at or self.planned_start

    @property
    def end(self) -> datetime | None:
        return self.ended_at or self.planned_end


# --- wording ------------------------------------------------------------------------


def place_name(unit_name: str, unit_level: str) -> str:
    """The place name of the date line: "Tỉnh Bắc Ninh" (level "Tỉnh") -> "Bắc Ninh"."""
    name = unit_name.strip()
    level = unit_level.strip()
    if level and name.casefold().startswith(level.casefold() + " "):
        return name[len(level) + 1:].strip()
    return name


def issuer_of(unit_name: str) -> str:
    return f"ĐẢNG BỘ {unit_name.strip().upper()}" if unit_name.strip() else "ĐẢNG BỘ"


def day_text(day: date) -> str:
    """"ngày 05 tháng 02 năm 2026": days under 10 and the months 1 and 2 take a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def date_line(place: str, day: date | None) -> str:
    if day is None:
        return f"{place}, ngày    tháng    năm" if place else "ngày    tháng    năm"
    return f"{place}, {day_text(day)}" if place else day_text(day)


def number_line(number: str, symbol: str) -> str:
    """"Số 05-BB/TU"; a draft without its number keeps room for it: "Số    -BB/TU"."""
    number, symbol = number.strip(), symbol.strip()
    shown = number if number else "    "
    return f"Số {shown}-{symbol}" if symbol else f"Số {shown}"


def clock_text(moment: datetime | None) -> str:
    """"08 giờ 05 phút, ngày 10 tháng 12 năm 2026" in Vietnam's time."""
    if moment is None:
        return "…"
    at = local(moment)
    return f"{at.hour:02d} giờ {at.minute:02d} phút, {day_text(at.date())}"


def duration_text(seconds: int | None) -> str:
    """125 -> "2 phút 05 giây"; 3725 -> "1 giờ 02 phút 05 giây"."""
    if seconds is None:
        return "không rõ thời lượng"
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes:02d} phút {secs:02d} giây"
    if minutes:
        return f"{minutes} phút {secs:02d} giây"
    return f"{secs} giây"


def person_text(person: dict) -> str:
    """"đồng chí Nguyễn Văn An, Bí thư Tỉnh ủy"."""
    name, title = (person.get("name") or "").strip(), (person.get("title") or "").strip()
    if not name:
        return "…"
    return f"đồng chí {name}, {title}" if title else f"đồng chí {name}"


def poll_text(poll: dict) -> str:
    """A closed poll's result in words, as the minutes record it."""
    result = poll.get("result") or {}
    how = "kín" if poll.get("secret") else "công khai"
    head = f"Biểu quyết {how} “{poll.get('title', '')}”"
    if not result:
        return f"{head}: chưa có kết quả."
    kind = poll.get("kind")
    labels = {o["id"]: o.get("label") or o["id"] for o in poll.get("options") or []}
    if kind == "motion":
        labels = {**labels, **MOTION_LABELS}
    shares = {o["option_id"]: o for o in result.get("options", [])}
    order = list(MOTION_LABELS) if kind == "motion" else [o["id"] for o in poll.get("options") or []]
    base_kind = (result.get("majority") or {}).get("base", "members")
    parts = []
    for i, option_id in enumerate(order):
        share = shares.get(option_id)
        if share is None:
            continue
        of_base = f" {BASE_WORDS.get(base_kind, '')}" if i == 0 and share.get("percent") else ""
        percent = f" ({share['percent'].replace('.', ',')}%{of_base})" if share.get("percent") else ""
        parts.append(f"{labels.get(option_id, option_id)}: {share['count']}/{share['base']}{percent}")
    tally = result.get("tally") or {}
    cast = f" Số tham gia biểu quyết: {tally['cast']}." if tally.get("cast") is not None else ""
    outcome = OUTCOMES.get(result.get("outcome", ""), result.get("outcome", ""))
    winners = [labels.get(w, w) for w in result.get("winners") or []]
    decided = ""
    if winners and kind == "election":
        decided = f" Trúng cử: {', '.join(winners)}."
    elif winners and kind == "choice":
        decided = f" Phương án được chọn: {', '.join(winners)}."
    return f"{head}: {'; '.join(parts)}.{cast} Kết quả: {outcome}.{decided}"


def _first_title(title: str) -> str:
    """The signer's position in capitals from the chair's title: "Bí thư Tỉnh ủy, ..." -> "BÍ THƯ TỈNH ỦY"."""
    return title.split(",")[0].strip().upper()


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


# --- building the documents from the record ------------------------------------------


def _person(p: Person | None) -> dict:
    return {"name": p.name, "title": p.title} if p else {"name": "", "title": ""}


def _sorted(people) -> list[Person]:
    return sorted(people, key=lambda p: (name_key(p.name), p.id))


def attendance(record: Record) -> dict:
    """The members present and absent (with their reasons), each list by given name."""
    members = [p for p in record.people if p.role in MEMBER_ROLES]
    present = [p for p in members if p.status == "present"]
    absent = [p for p in members if p.status != "present"]
    return {
        "members": len(members),
        "present": [{"name": p.name, "title": p.title} for p in _sorted(present)],
        "absent": [{"name": p.name, "title": p.title, "reason": p.reason, "excused": p.status == "excused"}
                   for p in _sorted(absent)],
    }


def guests(record: Record) -> list[dict]:
    return [{"name": p.name, "title": p.title, "present": p.status != "absent" and p.status != "excused"}
            for p in _sorted(p for p in record.people if p.role == GUEST_ROLE)]


def _speech(s: Speech) -> dict:
    return {"request_id": s.request_id, "name": s.name, "title": s.title, "seconds": s.seconds,
            "summary": s.summary, "topic": s.topic, "point": s.point}


def minutes_items(record: Record) -> list[dict]:
    """The proceedings item by item: speeches, poll results, the chair's conclusion."""
    known = {i.id for i in record.items}
    out = []
    for item in record.items:
        out.append({
            "item_id": item.id, "number": item.number, "title": item.title, "presenter": item.presenter,
            "notes": "",
            "speeches": [_speech(s) for s in record.speeches if s.item_id == item.id],
            "polls": [{"poll_id": p.poll_id, "text": p.text} for p in record.polls if p.item_id == item.id],
            "conclusion": record.conclusions.get(item.id, ""),
        })
    stray = [s for s in record.speeches if s.item_id not in known]
    stray_polls = [p for p in record.polls if p.item_id not in known]
    if stray or stray_polls:
        out.append({
            "item_id": None, "number": "", "title": OTHER_ITEM, "presenter": "", "notes": "",
            "speeches": [_speech(s) for s in stray],
            "polls": [{"poll_id": p.poll_id, "text": p.text} for p in stray_polls],
            "conclusion": "",
        })
    return out


def minutes_draft(record: Record, previous: dict | None = None) -> dict:
    """The minutes drawn from the record. With `previous` (the draft being made again), what
    the secretary typed is kept: the header fields, the opening and closing texts, each
    item's notes; the attendance, documents, speeches, polls and conclusions are read again."""
    chair, secretary = record.role("chair"), record.role("secretary")
    start, end = record.start, record.end
    content = {
        "issuer": issuer_of(record.unit_name),
        "number": "",
        "symbol": SYMBOLS[MINUTES],
        "place_name": place_name(record.unit_name, record.unit_level),
        "date": local(start).date().isoformat() if start else None,
        "title": record.title,
        "started_at": iso(start),
        "ended_at": iso(end),
        "place": record.place,
        "chair": _person(chair),
        "minute_taker": _person(secretary),
        "agenda": [{"number": i.number, "title": i.title} for i in record.items],
        "documents": list(record.documents),
        "attendance": attendance(record),
        "guests": guests(record),
        "opening": "",
        "items": minutes_items(record),
        "closing": DEFAULT_MINUTES_CLOSING,
    }
    if previous:
        for name in MINUTES_TYPED:
            if name in previous:
                content[name] = copy.deepcopy(previous[name])
        notes = {i.get("item_id"): i.get("notes", "") for i in previous.get("items", [])}
        for item in content["items"]:
            item["notes"] = notes.get(item["item_id"], "")
    return content


def notice_sections(record: Record) -> list[dict]:
    by_id = {i.id: i for i in record.items}
    return [{"item_id": item_id, "title": by_id[item_id].title, "text": text}
            for item_id, text in sorted(record.conclusions.items(), key=lambda kv: _order(record, kv[0]))
            if item_id in by_id and text.strip()]


def _order(record: Record, item_id: int) -> int:
    return next((n for n, i in enumerate(record.items) if i.id == item_id), len(record.items))


def notice_draft(record: Record, previous: dict | None = None) -> dict:
    """The conclusion notice drawn from the record; made again, it keeps every typed field
    and reads the sections (the chair's conclusions) again."""
    chair = record.role("chair")
    start, end = record.start, record.end
    held = local(start).strftime("%d/%m/%Y") if start else "…"
    chair_text = person_text(_person(chair))
    intro = (
        f"Ngày {held}, tại {record.place or '…'}, đã diễn ra {_lower_first(record.title)} dưới sự chủ trì "
        f"của {chair_text}. Sau khi nghe các báo cáo, tờ trình và ý kiến thảo luận của các đại biểu, "
        f"đồng chí chủ trì kết luận như sau:"
    )
    content = {
        "issuer": issuer_of(record.unit_name),
        "number": "",
        "symbol": SYMBOLS[NOTICE],
        "place_name": place_name(record.unit_name, record.unit_level),
        "date": local(end or start).date().isoformat() if (end or start) else None,
        "subject": f"Kết luận của {chair_text} tại {_lower_first(record.title)}" if chair
        else f"Kết luận tại {_lower_first(record.title)}",
        "intro": intro,
        "sections": notice_sections(record),
        "closing": DEFAULT_NOTICE_CLOSING,
        "authority": DEFAULT_AUTHORITY,
        "signer_title": _first_title(chair.title) if chair and chair.title else "",
        "signer_name": chair.name if chair else "",
        "recipients": list(DEFAULT_RECIPIENTS),
    }
    if previous:
        for name in NOTICE_TYPED:
            if name in previous:
                content[name] = copy.deepcopy(previous[name])
    return content


def draft(kind: str, record: Record, previous: dict | None = None) -> dict:
    return minutes_draft(record, previous) if kind == MINUTES else notice_draft(record, previous)


# --- editing ------------------------------------------------------------------------


def frozen(state: str, kind: str) -> None:
    if state == FINAL:
        what = "minutes are final" if kind == MINUTES else "conclusion notice is issued"
        raise DomainError(f"the {what}: they can no longer change", code="invalid_transition")


def apply_minutes(content: dict, changes: dict) -> dict:
    """The minutes after the secretary's edits. `changes` holds the fields sent (see
    server/commands/records.py MinutesUpdate); `items` edits items by `item_id` (null: the
    section of other remarks): `notes`, `conclusion`, and `speeches` [{request_id, summary}]."""
    out = copy.deepcopy(content)
    for name, value in changes.items():
        if name == "items":
            continue
        out[name] = value
    problems = []
    for n, edit in enumerate(changes.get("items") or []):
        item = next((i for i in out["items"] if i.get("item_id") == edit.get("item_id")), None)
        if item is None:
            problems.append({"field": f"items.{n}.item_id", "problem": "not an item of these minutes"})
            continue
        for name in ("notes", "conclusion"):
            if edit.get(name) is not None:
                item[name] = edit[name]
        for m, speech in enumerate(edit.get("speeches") or []):
            target = next((s for s in item["speeches"] if s["request_id"] == speech["request_id"]), None)
            if target is None:
                problems.append({"field": f"items.{n}.speeches.{m}.request_id",
                                 "problem": "not a speech of this item in these minutes"})
                continue
            target["summary"] = speech["summary"]
    if problems:
        raise Invalid("some edits name nothing in these minutes", details=problems)
    return out


def apply_notice(content: dict, changes: dict) -> dict:
    out = copy.deepcopy(content)
    out.update(copy.deepcopy(changes))
    return out


def apply(kind: str, content: dict, changes: dict) -> dict:
    return apply_minutes(content, changes) if kind == MINUTES else apply_notice(content, changes)


def dates(content: dict) -> tuple[date | None, datetime | None, datetime | None]:
    """The document's date and (minutes) its start and end, parsed from the content."""
    def moment(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    day = date.fromisoformat(content["date"]) if content.get("date") else None
    return day, moment(content.get("started_at")), moment(content.get("ended_at"))
