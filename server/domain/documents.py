"""Who reads which document, and the small rules around documents. Pure: no I/O.

Access modes (docs/documents.md):
- open: every participant of the meeting;
- restricted: the participants and meeting roles named in `readers`;
- confidential: like restricted when `readers` names anyone, else every participant;
  each reader's pages carry a watermark and the classification mark.
The staff and the chair read everything, drafts included; a recalled document is
readable by nobody's tablet (its pages answer 410), but stays listed for the staff.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from server.domain.errors import Invalid
from server.domain.permissions import MEETING_ROLES, Role
from server.domain.text import fold

ACCESS = ("open", "restricted", "confidential")
DEFAULT_CLASSIFICATION = "Mật"
NOTE_KINDS = ("text", "highlight", "ink")
NOTE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Who reads everything in a meeting, drafts included.
ALL_READERS = frozenset({Role.ADMIN, Role.SECRETARIAT, Role.SECRETARY, Role.CHAIR})


@dataclass(frozen=True)
class Readers:
    participant_ids: frozenset[int] = frozenset()
    roles: frozenset[str] = frozenset()

    @property
    def anyone(self) -> bool:
        return bool(self.participant_ids or self.roles)

    def as_dict(self) -> dict:
        return {"participant_ids": sorted(self.participant_ids), "roles": sorted(self.roles)}

    @classmethod
    def from_dict(cls, data: dict | None) -> Readers:
        data = data or {}
        return cls(frozenset(data.get("participant_ids") or ()), frozenset(data.get("roles") or ()))


def check_access(access: str, readers: Readers, classification: str) -> str:
    """Refuse an inconsistent access setting; the classification to store."""
    if access not in ACCESS:
        raise Invalid(f"access is one of {', '.join(ACCESS)}")
    unknown = sorted(readers.roles - MEETING_ROLES)
    if unknown:
        raise Invalid(f"unknown meeting role(s): {', '.join(unknown)}")
    if access == "restricted" and not readers.anyone:
        raise Invalid("a restricted document names its readers (participants or roles)")
    if access == "confidential":
        return classification.strip() or DEFAULT_CLASSIFICATION
    return ""


def is_reader(access: str, readers: Readers, participant_id: int | None, role: str | None) -> bool:
    """Whether a participant (not staff) may read a published document."""
    if participant_id is None:
        return False
    if access == "open" or (access == "confidential" and not readers.anyone):
        return True
    return participant_id in readers.participant_ids or (role is not None and role in readers.roles)


def may_read(*, access: str, readers: Readers, published: bool, recalled: bool, roles: frozenset[str],
             participant_id: int | None, role: str | None) -> bool:
    """Whether a caller may see the document at all (listed, its events, its pages)."""
    if roles & ALL_READERS:
        return True
    if not published or recalled:
        return False
    return is_reader(access, readers, participant_id, role)


def reader_code(secret: bytes, user_id: int, document_id: int) -> str:
    """A short code printed in a reader's watermark: from a leaked photo of a page the
    staff find the reader (GET /api/documents/{id}/reader-codes), and nobody can forge
    another reader's code without the server's secret."""
    digest = hmac.new(secret, f"{user_id}:{document_id}".encode(), hashlib.sha256).digest()
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a photo
    n = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def check_note(kind: str, data: dict) -> None:
    """The shape of a note's data (docs/documents.md); coordinates are fractions of the page."""
    if kind not in NOTE_KINDS:
        raise Invalid(f"a note's kind is one of {', '.join(NOTE_KINDS)}")

    def fraction(value: object, what: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise Invalid(f"{what} is a number from 0 to 1 (a fraction of the page)")

    if kind == "text":
        fraction(data.get("x"), "x")
        fraction(data.get("y"), "y")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 5000:
            raise Invalid("a text note has 1 to 5,000 characters of text")
    elif kind == "highlight":
        rects = data.get("rects")
        if not isinstance(rects, list) or not 1 <= len(rects) <= 200:
            raise Invalid("a highlight has 1 to 200 rectangles [x, y, w, h]")
        for rect in rects:
            if not isinstance(rect, list) or len(rect) != 4:
                raise Invalid("a highlight's rectangle is [x, y, w, h]")
            for value in rect:
                fraction(value, "a rectangle's coordinate")
    else:
        strokes = data.get("strokes")
        if not isinstance(strokes, list) or not 1 <= len(strokes) <= 500:
            raise Invalid("ink has 1 to 500 strokes")
        for stroke in strokes:
            if not isinstance(stroke, list) or len(stroke) < 2 or len(stroke) % 2:
                raise Invalid("a stroke is a flat list of x, y pairs")
            for value in stroke:
                fraction(value, "a stroke's coordinate")


def folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """`fold(text)` one character at a time, with where each folded character came from,
    so a match in the folded text can be cut out of the original for a snippet."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = fold(ch) if not ch.isspace() else " "
        for f in folded:
            if f == " " and (not out or out[-1] == " "):
                continue
            out.append(f)
            origin.append(i)
    return "".join(out), origin


def snippet(text: str, query_folded: str, width: int = 80) -> str | None:
    """A passage of `text` around the first match of the folded query, or None."""
    folded, origin = folded_with_offsets(text)
    at = folded.find(query_folded)
    if at < 0 or not query_folded:
        return None
    start = origin[at]
    end = origin[min(at + len(query_folded), len(origin)) - 1] + 1
    left = max(0, start - width // 2)
    right = min(len(text), end + width // 2)
    passage = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + passage + ("…" if right < len(text) else "")
