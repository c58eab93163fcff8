"""The organisation tree: ancestors and descendants agree, validity dates, safe moves."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import DomainError
from server.domain.orgtree import Node, ancestors, check_dates, check_move, descendants, is_valid_on

# ---------------------------------------------------------------- a merger (sáp nhập), 1 July 2025

PROVINCE = 1  # Tỉnh Bắc Ninh
OLD_A, OLD_B, OLD_C = 10, 11, 12  # three communes that end on 30 June 2025
KEPT = 13  # a ward that is not merged
NEW = 20  # the new commune from A, B and C, from 1 July 2025
CELL_KEPT = 30  # a party cell (chi bộ) under the ward that stays
CELL_NEW = 31  # a party cell of the new commune
ENDED = date(2025, 6, 30)
BEGUN = date(2025, 7, 1)


def merger() -> dict[int, Node]:
    nodes = [
        Node(PROVINCE, None),
        Node(OLD_A, PROVINCE, None, ENDED),
        Node(OLD_B, PROVINCE, date(2008, 8, 1), ENDED),
        Node(OLD_C, PROVINCE, None, ENDED),
        Node(KEPT, PROVINCE),
        Node(NEW, PROVINCE, BEGUN, None),
        Node(CELL_KEPT, KEPT),
        Node(CELL_NEW, NEW, BEGUN, None),
    ]
    return {n.id: n for n in nodes}


def test_on_the_last_day_before_the_merger_the_old_communes_exist():
    assert descendants(merger(), PROVINCE, on=ENDED) == [OLD_A, OLD_B, OLD_C, KEPT, CELL_KEPT]


def test_on_the_first_day_after_the_merger_the_new_commune_exists():
    assert descendants(merger(), PROVINCE, on=BEGUN) == [KEPT, NEW, CELL_KEPT, CELL_NEW]


def test_long_before_and_long_after():
    assert descendants(merger(), PROVINCE, on=date(2000, 1, 1)) == [OLD_A, OLD_C, KEPT, CELL_KEPT]  # B began 2008
    assert descendants(merger(), PROVINCE, on=date(2030, 1, 1)) == [KEPT, NEW, CELL_KEPT, CELL_NEW]


def test_without_a_day_every_unit_counts():
    assert descendants(merger(), PROVINCE) == [OLD_A, OLD_B, OLD_C, KEPT, NEW, CELL_KEPT, CELL_NEW]


def test_validity_bounds_are_inclusive():
    old = merger()[OLD_A]
    new = merger()[NEW]
    assert is_valid_on(old, ENDED) and not is_valid_on(old, BEGUN)
    assert is_valid_on(new, BEGUN) and not is_valid_on(new, ENDED)
    assert is_valid_on(Node(1, None), date(1945, 9, 2))


def test_dates_must_not_run_backwards():
    check_dates(BEGUN, BEGUN)  # a unit of one day
    check_dates(None, ENDED)
    check_dates(BEGUN, None)
    with pytest.raises(DomainError) as err:
        check_dates(BEGUN, ENDED)
    assert err.value.code == "invalid"


def test_ancestors_go_from_the_parent_to_the_root():
    assert ancestors(merger(), CELL_NEW) == [NEW, PROVINCE]
    assert ancestors(merger(), PROVINCE) == []


def test_ancestors_detect_a_cycle():
    nodes = {1: Node(1, 3), 2: Node(2, 1), 3: Node(3, 2)}
    with pytest.raises(DomainError):
        ancestors(nodes, 1)


def test_moves_under_itself_or_a_descendant_are_refused():
    nodes = merger()
    for target in (PROVINCE, NEW, CELL_NEW):
        with pytest.raises(DomainError):
            check_move(nodes, PROVINCE, target)
    with pytest.raises(DomainError):
        check_move(nodes, NEW, CELL_NEW)
    check_move(nodes, CELL_NEW, KEPT)  # a cell may change commune
    check_move(nodes, NEW, None)  # or become a root
    check_move(nodes, CELL_KEPT, PROVINCE)


# ---------------------------------------------------------------- random trees


DAYS = st.none() | st.dates(date(2020, 1, 1), date(2030, 12, 31))


@st.composite
def trees(draw) -> dict[int, Node]:
    """Node k's parent is one of the nodes before it (or none): always a forest."""
    n = draw(st.integers(1, 15))
    picks = draw(st.lists(st.none() | st.integers(0, 1000), min_size=n, max_size=n))
    spans = draw(st.lists(st.tuples(DAYS, DAYS), min_size=n, max_size=n))
    ids = draw(st.permutations(range(100, 100 + n)))
    nodes: dict[int, Node] = {}
    for k, node_id in enumerate(ids):
        parent = ids[picks[k] % k] if k and picks[k] is not None else None
        start, end = spans[k]
        if start and end and end < start:
            start, end = end, start
        nodes[node_id] = Node(node_id, parent, start, end)
    return nodes


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_descendants_and_ancestors_agree(nodes, data):
    for a in nodes:
        below = descendants(nodes, a)
        assert len(below) == len(set(below)), "no unit twice"
        assert a not in below
        for b in nodes:
            assert (b in below) == (a in ancestors(nodes, b))
        # Breadth first: depth never decreases along the list.
        depths = [len(ancestors(nodes, b)) for b in below]
        assert depths == sorted(depths)
    for b in nodes:
        up = ancestors(nodes, b)
        if up:
            assert up[0] == nodes[b].parent_id
            assert nodes[up[-1]].parent_id is None
    day = data.draw(st.dates(date(2019, 1, 1), date(2031, 1, 1)))
    for a in nodes:
        on_day = descendants(nodes, a, on=day)
        assert on_day == [b for b in descendants(nodes, a) if is_valid_on(nodes[b], day)]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_move_is_refused_exactly_when_it_would_make_a_cycle(nodes, data):
    ids = sorted(nodes)
    node = data.draw(st.sampled_from(ids))
    target = data.draw(st.none() | st.sampled_from(ids))
    would_cycle = target is not None and (target == node or node in ancestors(nodes, target))
    try:
        check_move(nodes, node, target)
    except DomainError:
        assert would_cycle
        return
    assert not would_cycle
    moved = {**nodes, node: Node(node, target, nodes[node].valid_from, nodes[node].valid_to)}
    for b in moved:
        ancestors(moved, b)  # raises on a cycle
