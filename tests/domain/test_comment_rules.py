"""Comments on drafts: anchors, rounds and deadlines, triage, the summary table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.comments import (
    Author,
    Comment,
    CommentError,
    CommentRound,
    Decision,
    GroupBy,
    ItemAnchor,
    PageAnchor,
    PassageAnchor,
    Region,
    Visibility,
    close_round,
    group_comments,
    submit_comment,
    triage,
    visible_to,
)

T0 = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)  # 17:00 Hà Nội, ten days before the congress
DOC = "du-thao-bao-cao-chinh-tri"

AN = Author("u1", "Nguyễn Văn An", "xa-tan-lap", "Đảng ủy xã Tân Lập")
BINH = Author("u2", "Trần Thị Bình", "phuong-ba-dinh", "Đảng ủy phường Ba Đình")
CUONG = Author("u3", "Lê Văn Cường", "so-tai-chinh", "Đảng ủy Sở Tài chính")
ANH = Author("u4", "Phạm Thị Ánh", "xa-tan-lap", "Đảng ủy xã Tân Lập")

ROUND = CommentRound(
    "dot-1",
    "Lấy ý kiến dự thảo Báo cáo chính trị",
    deadline=DEADLINE,
    units=frozenset({"xa-tan-lap", "phuong-ba-dinh", "so-tai-chinh"}),
)


def comment(n: int, author: Author = AN, anchor=None, text: str = "Đề nghị làm rõ", **kw) -> Comment:
    anchor = anchor or PageAnchor(DOC, 3, Region(0.1, 0.2, 0.8, 0.1), section="Phần I")
    return Comment(f"c{n}", ROUND.id, author, anchor, text, T0 + timedelta(minutes=n), **kw)


def test_submit_normalises_and_stamps():
    decomposed = "Đe\u0302\u0300 nghi\u0323 bổ sung  "  # "Đề nghị" as a Mac keyboard sends it
    c = submit_comment(ROUND, comment(1, text=decomposed, proposed_text=" tăng trưởng 8% "), T0)
    assert c.text == "Đề nghị bổ sung" and c.proposed_text == "tăng trưởng 8%"
    assert c.submitted_at == T0 and c.visibility is Visibility.SECRETARIAT and c.triage is None


def test_deadline_and_addressed_units():
    submit_comment(ROUND, comment(1), DEADLINE - timedelta(seconds=1))
    with pytest.raises(CommentError) as err:
        submit_comment(ROUND, comment(1), DEADLINE)
    assert err.value.reason == "deadline_passed"
    outsider = Author("u9", "Võ Văn Đức", "so-y-te", "Đảng ủy Sở Y tế")
    with pytest.raises(CommentError) as err:
        submit_comment(ROUND, comment(2, author=outsider), T0)
    assert err.value.reason == "unit_not_addressed"
    open_round = CommentRound("hop", "Góp ý tại hội nghị")  # no units: the meeting's own participants
    submit_comment(open_round, Comment("x", "hop", outsider, ItemAnchor("muc-1"), "Nhất trí", T0), T0)
    with pytest.raises(CommentError) as err:
        submit_comment(ROUND, comment(3, text="   "), T0)
    assert err.value.reason == "empty_comment"
    # A proposed wording alone is a comment.
    submit_comment(ROUND, comment(4, text="", proposed_text="Phát triển nhanh và bền vững"), T0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Region(0.5, 0.5, 0.6, 0.1),  # runs off the right edge
        lambda: Region(-0.1, 0, 0.5, 0.5),
        lambda: Region(0, 0, 0, 0.5),
        lambda: PageAnchor(DOC, 0),
        lambda: PassageAnchor(DOC, "   "),
    ],
)
def test_bad_anchors(build):
    with pytest.raises(CommentError):
        build()


def test_region_touching_the_edges_fits():
    Region(0.7, 0.0, 0.3, 1.0)


def test_visibility():
    private = comment(1)
    public = comment(2, author=BINH, visibility=Visibility.ALL)
    assert visible_to(private, "u1", secretariat=False)
    assert not visible_to(private, "u2", secretariat=False)
    assert visible_to(private, "thu-ky", secretariat=True)
    assert visible_to(public, "u3", secretariat=False)


def test_explained_needs_an_explanation():
    c = submit_comment(ROUND, comment(1), T0)
    with pytest.raises(CommentError) as err:
        triage(ROUND, c, Decision.EXPLAINED, "thu-ky", T0, explanation="  ")
    assert err.value.reason == "explanation_required"
    c = triage(
        ROUND,
        c,
        Decision.EXPLAINED,
        "thu-ky",
        T0,
        explanation="Chỉ tiêu đã được Ban Chấp hành thống nhất tại Hội nghị lần thứ 5",
    )
    assert c.triage.decision is Decision.EXPLAINED


triage_steps = st.lists(
    st.tuples(st.sampled_from(list(Decision)), st.sampled_from(["", "Đã tiếp thu tại đoạn 2"])), max_size=8
)


@settings(deadline=None)
@given(triage_steps, st.booleans())
def test_triage_can_change_until_close_then_never(steps, close_after):
    c = submit_comment(ROUND, comment(1), T0)
    rnd = ROUND
    last = None
    for i, (decision, explanation) in enumerate(steps):
        at = DEADLINE + timedelta(hours=i)  # triage goes on after the comment deadline
        try:
            c = triage(rnd, c, decision, "thu-ky", at, explanation)
        except CommentError as err:
            assert err.reason == "explanation_required"
            assert decision is Decision.EXPLAINED and not explanation
            continue
        assert c.triage.decision is decision
        last = decision
    assert (c.triage.decision if c.triage else None) == last
    if not close_after:
        return
    if c.triage is None:
        with pytest.raises(CommentError) as err:
            close_round(rnd, [c], DEADLINE)
        assert err.value.reason == "untriaged_comments"
        return
    rnd = close_round(rnd, [c], DEADLINE + timedelta(days=1))
    for decision in Decision:
        with pytest.raises(CommentError) as err:
            triage(rnd, c, decision, "thu-ky", DEADLINE, "lý do")
        assert err.value.reason == "round_closed"
    with pytest.raises(CommentError):
        submit_comment(rnd, comment(9), T0)


def _sample() -> list[Comment]:
    return [
        comment(1, AN, PageAnchor(DOC, 12, Region(0.1, 0.5, 0.8, 0.1), section="Điều 10")),
        comment(2, BINH, PageAnchor(DOC, 3, Region(0.1, 0.6, 0.8, 0.1), section="Điều 2")),
        comment(3, CUONG, PassageAnchor(DOC, "tăng trưởng bình quân 10%/năm", page=3, section="Điều 2")),
        comment(4, ANH, ItemAnchor("muc-4")),  # about the agenda item: no section
        comment(5, AN, PageAnchor(DOC, 3, Region(0.1, 0.1, 0.8, 0.1), section="Điều 2")),
    ]


def test_summary_grouped_by_section_follows_the_draft():
    groups = group_comments(_sample(), GroupBy.SECTION)
    assert [g.label for g in groups] == ["Điều 2", "Điều 10", ""]
    # Within a section, comments read top to bottom of the page; the passage (no region) first.
    assert [c.id for c in groups[0].comments] == ["c3", "c5", "c2"]
    assert groups[0].decisions == {"pending": 3}


def test_summary_grouped_by_unit_and_delegate_in_vietnamese_order():
    by_unit = group_comments(_sample(), GroupBy.UNIT)
    # "phường" < "Sở" < "xã": the whole name, word by word, case folded.
    assert [g.label for g in by_unit] == [
        "Đảng ủy phường Ba Đình",
        "Đảng ủy Sở Tài chính",
        "Đảng ủy xã Tân Lập",
    ]
    by_delegate = group_comments(_sample(), GroupBy.DELEGATE)
    # By given name: An < Ánh (tone) < Bình < Cường.
    assert [g.label for g in by_delegate] == [
        "Nguyễn Văn An",
        "Phạm Thị Ánh",
        "Trần Thị Bình",
        "Lê Văn Cường",
    ]


def test_summary_counts_decisions():
    cs = [submit_comment(ROUND, c, T0) for c in _sample()]
    cs[0] = triage(ROUND, cs[0], Decision.ACCEPTED, "thu-ky", T0)
    cs[4] = triage(ROUND, cs[4], Decision.NOTED, "thu-ky", T0)
    groups = {g.key: g for g in group_comments(cs, GroupBy.DELEGATE)}
    assert groups["u1"].decisions == {"accepted": 1, "noted": 1}


@settings(deadline=None)
@given(st.permutations(_sample()))
def test_grouping_is_stable_whatever_the_input_order(perm):
    for by in GroupBy:
        a = [(g.key, [c.id for c in g.comments]) for g in group_comments(_sample(), by)]
        b = [(g.key, [c.id for c in g.comments]) for g in group_comments(perm, by)]
        assert a == b
