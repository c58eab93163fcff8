"""Who reads which document, reader codes, notes, and search snippets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain import documents as rules
from server.domain.errors import Invalid
from server.domain.text import fold, nfc

ME, OTHER = 7, 8
NAMED = rules.Readers(frozenset({ME}), frozenset())
DELEGATES = rules.Readers(frozenset(), frozenset({"delegate"}))
NOBODY = rules.Readers()


def reads(access, readers, *, published=True, recalled=False, roles=frozenset({"delegate"}), me=ME, role="delegate"):
    return rules.may_read(access=access, readers=readers, published=published, recalled=recalled, roles=roles,
                          participant_id=me, role=role)


def test_open_documents_reach_every_participant_once_published():
    assert reads("open", NOBODY)
    assert reads("open", NOBODY, role="guest", roles=frozenset({"guest"}))
    assert not reads("open", NOBODY, published=False)
    assert not reads("open", NOBODY, me=None, role=None, roles=frozenset())  # not a participant


def test_restricted_documents_reach_the_named_participants_and_roles_only():
    assert reads("restricted", NAMED)
    assert not reads("restricted", NAMED, me=OTHER)
    assert reads("restricted", DELEGATES)
    assert not reads("restricted", DELEGATES, role="guest", roles=frozenset({"guest"}))


def test_confidential_without_names_reaches_every_participant():
    assert reads("confidential", NOBODY, role="observer", roles=frozenset({"observer"}))
    assert reads("confidential", NAMED) and not reads("confidential", NAMED, me=OTHER)


@pytest.mark.parametrize("role", ["admin", "secretariat", "secretary", "chair"])
def test_staff_and_chair_read_everything_even_drafts_and_recalled(role):
    for access, readers in (("open", NOBODY), ("restricted", NAMED), ("confidential", NAMED)):
        assert reads(access, readers, published=False, roles=frozenset({role}), me=OTHER)
        assert reads(access, readers, recalled=True, roles=frozenset({role}), me=OTHER)


def test_a_recalled_document_is_read_by_no_reader():
    assert not reads("open", NOBODY, recalled=True)


def test_access_settings_are_checked():
    assert rules.check_access("confidential", NOBODY, "") == "Mật"
    assert rules.check_access("confidential", NOBODY, "Tối mật") == "Tối mật"
    assert rules.check_access("open", NOBODY, "Mật") == ""  # only confidential papers carry a mark
    with pytest.raises(Invalid):
        rules.check_access("restricted", NOBODY, "")
    with pytest.raises(Invalid):
        rules.check_access("restricted", rules.Readers(frozenset(), frozenset({"king"})), "")
    with pytest.raises(Invalid):
        rules.check_access("public", NOBODY, "")


def test_reader_codes_are_short_stable_and_distinct():
    secret = b"k" * 32
    code = rules.reader_code(secret, 1, 2)
    assert code == rules.reader_code(secret, 1, 2) and len(code) == 9 and code[4] == "-"
    assert not set(code) & set("01OIL")
    codes = {rules.reader_code(secret, user, doc) for user in range(50) for doc in range(20)}
    assert len(codes) == 1000
    assert rules.reader_code(b"x" * 32, 1, 2) != code  # another server's secret, another code


def test_notes_are_checked_by_kind():
    rules.check_note("text", {"x": 0.5, "y": 1, "text": "Ghi chú"})
    rules.check_note("highlight", {"rects": [[0.1, 0.2, 0.3, 0.05]], "color": "#ff0"})
    rules.check_note("ink", {"strokes": [[0, 0, 0.5, 0.5]], "color": "#000", "width": 2})
    for kind, data in (
        ("text", {"x": 0.5, "y": 0.5, "text": "  "}),
        ("text", {"x": True, "y": 0.5, "text": "x"}),
        ("highlight", {"rects": [[0.1, 0.2, 0.3]]}),
        ("highlight", {"rects": []}),
        ("ink", {"strokes": [[0.1, 0.2, 0.3]]}),
        ("ink", {"strokes": [[0.1, 1.5]]}),
        ("sticker", {}),
    ):
        with pytest.raises(Invalid):
            rules.check_note(kind, data)


def test_snippets_come_from_the_original_text():
    text = "Phần I. Báo cáo chính trị của Ban Chấp hành Đảng bộ tỉnh khóa XIX"
    assert "Báo cáo chính trị" in rules.snippet(text, fold("bao cao chinh tri"))
    assert rules.snippet("Đường lối", "duong loi") == "Đường lối"
    assert rules.snippet(text, "khong co") is None
    long = "x " * 200 + "Nghị quyết" + " y" * 200
    cut = rules.snippet(long, "nghi quyet")
    assert cut.startswith("…") and cut.endswith("…") and "Nghị quyết" in cut and len(cut) < 120


words = st.sampled_from(["Báo", "cáo", "chính", "trị", "Đảng", "bộ", "đường", "lối", "ĐỔI", "mới", "\n", "  "])


@given(st.lists(words, min_size=1, max_size=30), st.data())
def test_a_folded_match_always_maps_back_to_a_passage_that_folds_to_it(parts, data):
    text = nfc(" ".join(parts))
    folded, origin = rules.folded_with_offsets(text)
    assert folded.strip() == fold(text)
    assert len(origin) == len(folded)
    if folded.strip():
        start = data.draw(st.integers(0, len(folded) - 1))
        end = data.draw(st.integers(start + 1, len(folded)))
        query = folded[start:end].strip()
        if query:
            assert query in fold(rules.snippet(text, query, width=1000))
