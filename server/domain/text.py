"""Vietnamese text rules: NFC on the way in, folding for search, collation for names.

Pure functions, no I/O. Every string that enters the system passes through `nfc`;
every search compares `fold`ed strings; every list of people sorts by `name_key`.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Combining marks that make a distinct letter of the Vietnamese alphabet (ă â ê ô ơ ư)
# rather than a tone: they stay in the primary key.
_LETTER_MARKS = {"\u0306": "breve", "\u0302": "circumflex", "\u031b": "horn"}
# The five tone marks, in dictionary order after the unmarked (ngang) tone:
# huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

# Letters of the Vietnamese alphabet in order; foreign letters (f, j, w, z) are placed
# where Vietnamese dictionaries put them, after their Latin neighbours.
_ALPHABET = [
    "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m",
    "n", "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z",
]
_RANK = {letter: i for i, letter in enumerate(_ALPHABET)}


def nfc(text: str) -> str:
    """Normalise to Unicode NFC; every stored string goes through here."""
    return unicodedata.normalize("NFC", text)


# What XML 1.0 cannot carry (C0 controls other than tab and line breaks, lone surrogates,
# U+FFFE/U+FFFF): such text would be stored and then break the DOCX, XLSX and PDF made from
# it, so it is refused where it enters.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def entered(text: str) -> str:
    """Text arriving from outside, in NFC; ValueError names the first character no document can hold."""
    bad = _NOT_TEXT.search(text)
    if bad is not None:
        raise ValueError(f"text cannot contain the control character U+{ord(bad.group()):04X}")
    return nfc(text)


def fold(text: str) -> str:
    """Fold case and diacritics for search: 'Báo cáo Chính trị' -> 'bao cao chinh tri'.

    đ/Đ has no decomposition in Unicode, so it is mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.replace("đ", "d").split())


def _word_key(word: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    primary: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFC", word.casefold()):
        base, *marks = unicodedata.normalize("NFD", ch)
        letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in _LETTER_MARKS))
        tone = next((_TONES[m] for m in marks if m in _TONES), 0)
        # Characters outside the alphabet (digits, punctuation) sort before letters.
        primary.append(_RANK.get(letter, -1) * 0x110000 + (0 if letter in _RANK else ord(letter)))
        tones.append(tone)
    return tuple(primary), tuple(tones)


@functools.lru_cache(maxsize=65536)  # lists of the same people are sorted on every snapshot
def name_key(full_name: str) -> tuple:
    """Sort key for a Vietnamese full name: given name first, then middle and family names.

    'Nguyễn Văn An' sorts under 'An'. Within a word of the same letters the tone decides
    (ngang < huyền < hỏi < ngã < sắc < nặng), as in Vietnamese dictionaries.
    """
    words = nfc(full_name).split()
    if not words:
        return ()
    # Tên, then tên đệm, then họ: "Nguyễn Văn An" -> An, Văn, Nguyễn.
    ordered = [words[-1], *words[1:-1], *words[:1]] if len(words) > 1 else words
    # Word by word, each whole (letters, then tones): all the "Dung" before any "Dũng".
    return tuple(_word_key(w) for w in ordered)


def text_key(text: str) -> tuple:
    """Vietnamese collation of a plain string (unit names, titles), word by word."""
    return tuple(_word_key(w) for w in nfc(text).split())
