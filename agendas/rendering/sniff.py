"""What an uploaded file really is, and a safe name to show for it.

The type comes from the file's first bytes, never from its name or the browser's
Content-Type: both are chosen by the uploader. A name whose extension says something
else than the content is refused (`type_mismatch`), so a tablet never receives a
"Báo cáo.pdf" that is really something else. Files without an extension are judged
by content alone.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

from server.domain.text import nfc

from .errors import RenderError

KINDS = ("pdf", "jpeg", "png", "office")

# Extension -> the kind its content must have.
EXTENSIONS = {
    ".pdf": "pdf",
    ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg",
    ".png": "png",
    ".docx": "office", ".pptx": "office", ".xlsx": "office",
    ".odt": "office", ".odp": "office", ".ods": "office",
    ".doc": "office", ".ppt": "office", ".xls": "office",
}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary .doc/.ppt/.xls
_PNG = b"\x89PNG\r\n\x1a\n"
_ZIP = b"PK\x03\x04"
# Some generators omit the %PDF- header and readers cope: the first "1 0 obj" betrays them.
_PDF_OBJECT = re.compile(rb"\A(%[^\r\n]*[\r\n]+)?\s*\d+\s+\d+\s+obj\b")
# Readers accept a PDF header anywhere in the first KiB (some generators prepend junk).
_HEAD = 1024


def detect(path: Path) -> str:
    """The kind of the file at `path`, one of KINDS, from its magic bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError as e:
        raise RenderError("not_found", f"cannot read the file: {e.strerror}") from None
    # Signatures at offset 0 first: an image whose metadata happens to contain "%PDF-"
    # is still an image.
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(_PNG):
        return "png"
    if head.startswith(_OLE):
        return "office"
    if head.startswith(_ZIP):
        if _is_office_zip(path):
            return "office"
    elif b"%PDF-" in head or _PDF_OBJECT.search(head):
        return "pdf"
    raise RenderError("unsupported_type", "not a PDF, JPEG, PNG or office document")


def _is_office_zip(path: Path) -> bool:
    """DOCX/PPTX/XLSX (OOXML) and ODT/ODP/ODS are zip files; any other zip is not a document."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "[Content_Types].xml" in names:
                return any(n.startswith(("word/", "ppt/", "xl/")) for n in names)
            if "mimetype" in names:
                return z.read("mimetype")[:64].startswith(b"application/vnd.oasis.opendocument.")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return False
    return False


def check(path: Path, filename: str | None = None) -> str:
    """The kind of the file, refusing a `filename` whose extension lies about it."""
    kind = detect(path)
    suffix = Path(filename).suffix.lower() if filename else ""
    if suffix and EXTENSIONS.get(suffix) != kind:
        raise RenderError("type_mismatch", f"the name says {suffix} but the content is {kind}")
    return kind


# Characters Windows refuses in names: operators download documents onto Windows PCs.
_FORBIDDEN = set('<>:"|?*')
_MAX_NAME = 180


def sanitize_filename(name: str, default: str = "tai-lieu") -> str:
    """A name safe to store and to offer for download, keeping Vietnamese letters.

    NFC first (macOS and some phones send NFD: 'Bá' as 'B' 'a' U+0301). Path
    separators become '-' rather than cutting the name, since Vietnamese document
    numbers contain slashes ("Nghị quyết 01/NQ-TU"). Control and format characters
    go, including bidi overrides that can disguise an extension. Leading dots go, so
    the result is never hidden or '..'.
    """
    out = []
    for ch in nfc(name):
        cat = unicodedata.category(ch)
        if ch in "/\\":
            out.append("-")
        elif cat in ("Zs", "Zl", "Zp") or ch in "\t\n\r":
            out.append(" ")
        elif cat[0] == "C" or ch in _FORBIDDEN:
            continue
        else:
            out.append(ch)
    clean = " ".join("".join(out).split()).lstrip(".- ").rstrip(". ")
    if len(clean) > _MAX_NAME:
        stem, suffix = _split(clean)
        clean = stem[: _MAX_NAME - len(suffix)].rstrip() + suffix
    stem, suffix = _split(clean)
    return clean if stem else default + suffix


def _split(name: str) -> tuple[str, str]:
    suffix = Path(name).suffix
    if len(suffix) > 10 or not suffix[1:].isalnum():
        suffix = ""
    return name[: len(name) - len(suffix)], suffix
