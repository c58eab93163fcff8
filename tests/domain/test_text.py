"""Vietnamese text: NFC on the way in, folding for search, the order of names.

The expected orders follow the rules of the Vietnam Lexicography Centre (Vũ Xuân Lương,
"Quy tắc sắp xếp theo thứ tự ABC"): letters a ă â b c d đ e ê g h i k l m n o ô ơ p q
r s t u ư v x y; letters first, then the tone (ngang, huyền, hỏi, ngã, sắc, nặng);
a word is compared whole (letters, then tone) before the next word is looked at.
A name is sorted by the given name (tên), then the middle name (tên đệm), then the
family name (họ).
"""

from __future__ import annotations

import random
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.text import fold, name_key, nfc, text_key


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


BASES = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]  # ngang huyền hỏi ngã sắc nặng
VOWELS = [nfc(b + t) for b in BASES for t in TONES]
LETTERS = VOWELS + list("bcdđghklmnpqrstvx")
VIETNAMESE = st.text(
    st.sampled_from(LETTERS + [c.upper() for c in LETTERS] + list(" 0123456789.,-")), max_size=40
)


# ---------------------------------------------------------------- nfc


@given(st.text())
def test_nfc_is_idempotent(text):
    assert nfc(nfc(text)) == nfc(text)


@given(st.text())
def test_nfc_of_decomposed_equals_nfc(text):
    assert nfc(nfd(text)) == nfc(text)


def test_nfc_composes_vietnamese():
    decomposed = nfd("Nghị quyết Đại hội Đảng")
    assert decomposed != "Nghị quyết Đại hội Đảng"
    assert nfc(decomposed) == "Nghị quyết Đại hội Đảng"


# ---------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Báo cáo Chính trị", "bao cao chinh tri"),
        ("Đảng", "dang"),
        ("ĐẢNG ỦY", "dang uy"),
        ("Thường trực Tỉnh ủy", "thuong truc tinh uy"),
        ("Nghị quyết số 18-NQ/TW", "nghi quyet so 18-nq/tw"),
        ("  Phường   Quế\tVõ ", "phuong que vo"),
        ("Nguyễn Thị Ngọc Ánh", "nguyen thi ngoc anh"),
        ("Ưu tiên Ơn Ăn Ân Êm Ôi", "uu tien on an an em oi"),
        ("", ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_of_decomposed_equals_fold_of_composed():
    for text in ("Báo cáo Chính trị", "Đảng ủy", "Hội nghị lần thứ mười bốn", "Tiếp thu, giải trình"):
        assert fold(nfd(text)) == fold(nfc(text)) == fold(text)


@settings(max_examples=300)
@given(VIETNAMESE)
def test_fold_folds_every_vietnamese_letter(text):
    folded = fold(text)
    assert folded == fold(nfd(text)) == fold(text.upper()) == fold(text.lower())
    assert folded == fold(folded)
    assert folded.isascii(), folded
    assert folded == folded.lower()
    assert "  " not in folded and folded == folded.strip()


# ---------------------------------------------------------------- letter and tone order of words


def ordered(words: list[str], key=text_key) -> None:
    """`words` is in the expected order: every shuffle of it sorts back to it."""
    rng = random.Random(7)
    for _ in range(20):
        shuffled = list(words)
        rng.shuffle(shuffled)
        assert sorted(shuffled, key=key) == words


def test_letters_with_marks_follow_their_base():
    ordered(["an", "ăn", "ân", "bê"])  # a < ă < â < b
    ordered(["dê", "dư", "đa", "đê"])  # d < đ
    ordered(["eo", "êm", "gà"])  # e < ê < g
    ordered(["ong", "ôm", "ơn", "phở"])  # o < ô < ơ < p
    ordered(["um", "ưa", "vạc"])  # u < ư < v
    ordered(["tang", "tăng", "tâm"])  # the second letter decides: a < ă < â, whatever follows


def test_letters_decide_before_tones():
    ordered(["ác", "ách"])  # ac < ach whatever the tones (the rule's own example)
    ordered(["àng", "anh"])  # g < h
    ordered(["thủy", "thư"])  # u < ư at the third letter
    ordered(["bà", "bác", "bai"])  # c < i; the tone of "bà" does not matter


def test_tone_order_ngang_huyen_hoi_nga_sac_nang():
    ordered(["ba", "bà", "bả", "bã", "bá", "bạ"])
    ordered(["ma", "mà", "mả", "mã", "má", "mạ"])
    ordered(["hai", "hài", "hải", "hãi", "hái", "hại"])


def test_tones_in_decomposed_input_count_the_same():
    for word in ("bà", "bả", "bã", "bá", "bạ", "Ước", "Đặng", "Nguyễn", "ậm ừ"):
        assert text_key(nfd(word)) == text_key(word)
        assert name_key(nfd(word)) == name_key(word)


def test_case_does_not_matter():
    assert name_key("NGUYỄN VĂN AN") == name_key("Nguyễn Văn An") == name_key("nguyễn văn an")


# ---------------------------------------------------------------- names


def test_names_sort_by_given_name_first():
    ordered(
        [
            "Nguyễn Văn An",
            "Lê Thị Bình",
            "Hoàng Văn Cường",
            "Đỗ Thị Dung",
            "Trần Văn Đức",
            "Phạm Thị Hoa",
            "Vũ Minh Khách",
        ],
        key=name_key,
    )


def test_given_names_in_vietnamese_letter_and_tone_order():
    ordered(
        [
            "Trần Văn An",
            "Lê Thị Anh",
            "Phạm Thị Ánh",
            "Đặng Hồng Ân",
            "Đỗ Văn Dung",
            "Nguyễn Tiến Dũng",
            "Hà Văn Đạt",
            "Lưu Văn Hòa",
            "Bùi Thị Hồng",
            "Vương Văn Hợi",
            "Mai Văn Sơn",
            "Ngô Thị Thu",
            "Đinh Thị Thủy",
            "Lý Thị Thư",
            "Cao Văn Út",
            "Trịnh Văn Ưng",
            "Tạ Thị Yến",
        ],
        key=name_key,
    )


def test_same_given_name_then_middle_name():
    # Both are An; the middle name decides before the family name (Hồng < Văn).
    ordered(["Trần Hồng An", "Nguyễn Văn An"], key=name_key)


def test_same_given_and_middle_name_then_family_name():
    ordered(["Đặng Văn An", "Lê Văn An", "Nguyễn Văn An", "Trần Văn An"], key=name_key)


def test_a_middle_name_of_several_words_is_read_left_to_right():
    ordered(["Lê Thị Khai", "Lê Thị Minh Khai", "Lê Thị Ngọc Khai", "Lê Khang"], key=name_key)


def test_the_given_name_is_compared_whole_before_the_other_words():
    """Everyone called Anh comes before everyone called Ánh, whatever their family names.

    A word is compared letters, then tone, before the next word (rule 4.3 of the
    Lexicography Centre's order): the tone of the given name outranks the family name.
    """
    ordered(["Trần Văn Anh", "Nguyễn Thị Ánh"], key=name_key)
    ordered(["Phạm Văn Anh", "Vũ Văn Anh", "Lê Thị Ánh", "Ngô Thị Ánh"], key=name_key)


def test_one_word_names_and_blanks():
    assert name_key("") == name_key("   ")
    ordered(["", "An", "Nguyễn An"], key=name_key)
