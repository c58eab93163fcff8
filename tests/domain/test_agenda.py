"""Agenda order: dense positions, no cycles, at most MAX_DEPTH levels, numbers 1, 2, 2.1.

The rules are checked against a small independent model of the tree (a parent map),
over random trees and random sequences of add / move / remove.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.agenda import MAX_DEPTH, Slot, children, depth, display_order, place, remove, subtree
from server.domain.errors import DomainError, NotFound

# ---------------------------------------------------------------- the model


def as_dict(items: list[Slot]) -> dict[int, Slot]:
    return {i.id: i for i in items}


def sibling_order(state: dict[int, Slot], parent_id: int | None) -> list[int]:
    return [s.id for s in sorted((s for s in state.values() if s.parent_id == parent_id), key=lambda s: s.position)]


def model_depth(state: dict[int, Slot], item_id: int | None) -> int:
    d = 0
    while item_id is not None:
        d += 1
        item_id = state[item_id].parent_id
        assert d <= len(state) + 1, "cycle"
    return d


def model_height(state: dict[int, Slot], item_id: int) -> int:
    below = [s.id for s in state.values() if s.parent_id == item_id]
    return 1 + max((model_height(state, b) for b in below), default=0)


def model_below(state: dict[int, Slot], item_id: int) -> set[int]:
    """The item and everything under it, found by walking up from every item."""
    out = set()
    for sid in state:
        cur: int | None = sid
        while cur is not None:
            if cur == item_id:
                out.add(sid)
                break
            cur = state[cur].parent_id
    return out


def check_invariants(state: dict[int, Slot]) -> None:
    parents = {s.parent_id for s in state.values()}
    for parent in parents:
        assert parent is None or parent in state, f"dangling parent {parent}"
        positions = sorted(s.position for s in state.values() if s.parent_id == parent)
        assert positions == list(range(len(positions))), f"positions under {parent} not dense: {positions}"
    for sid in state:
        # model_depth asserts there is no cycle on the way up.
        assert model_depth(state, sid) <= MAX_DEPTH
        assert depth(list(state.values()), sid) == model_depth(state, sid)


def check_numbers(state: dict[int, Slot]) -> None:
    order = display_order(list(state.values()))
    assert sorted(s.id for s, _ in order) == sorted(state), "every item exactly once"
    numbers = {s.id: n for s, n in order}
    assert len(set(numbers.values())) == len(numbers), "numbers are unique"
    for s, number in order:
        own = str(s.position + 1)
        expected = own if s.parent_id is None else f"{numbers[s.parent_id]}.{own}"
        assert number == expected
    # Depth first: a parent comes before its children, and each subtree is contiguous.
    index = {s.id: k for k, (s, _) in enumerate(order)}
    for sid in state:
        block = sorted(index[b] for b in model_below(state, sid))
        assert block == list(range(index[sid], index[sid] + len(block)))


def apply(state: dict[int, Slot], changed: dict[int, Slot]) -> dict[int, Slot]:
    return {**state, **changed}


# ---------------------------------------------------------------- examples


def tree() -> list[Slot]:
    # 1 Khai mạc; 2 Báo cáo chính trị (2.1, 2.2 (2.2.1)); 3 Bế mạc
    return [
        Slot(1, None, 0),
        Slot(2, None, 1),
        Slot(3, None, 2),
        Slot(21, 2, 0),
        Slot(22, 2, 1),
        Slot(221, 22, 0),
    ]


def test_display_order_numbers():
    numbers = [(s.id, n) for s, n in display_order(tree())]
    assert numbers == [(1, "1"), (2, "2"), (21, "2.1"), (22, "2.2"), (221, "2.2.1"), (3, "3")]


def test_display_order_of_nothing():
    assert display_order([]) == []


def test_display_order_follows_positions_not_ids():
    items = [Slot(5, None, 1), Slot(9, None, 0), Slot(7, 5, 0)]
    assert [(s.id, n) for s, n in display_order(items)] == [(9, "1"), (5, "2"), (7, "2.1")]


def test_new_item_goes_last_by_default():
    changed = place(tree(), 99, None, None)
    assert changed == {99: Slot(99, None, 3)}


def test_position_beyond_the_end_means_last():
    assert place(tree(), 99, 2, 50) == {99: Slot(99, 2, 2)}


def test_insert_at_front_shifts_the_siblings():
    changed = place(tree(), 99, None, 0)
    assert changed == {99: Slot(99, None, 0), 1: Slot(1, None, 1), 2: Slot(2, None, 2), 3: Slot(3, None, 3)}


def test_move_to_another_parent_closes_the_gap():
    state = apply(as_dict(tree()), place(tree(), 21, None, 1))
    assert sibling_order(state, None) == [1, 21, 2, 3]
    assert sibling_order(state, 2) == [22]
    assert state[22].position == 0
    check_invariants(state)


def test_moving_in_place_changes_nothing():
    assert place(tree(), 2, None, 1) == {}


def test_a_move_under_itself_is_refused():
    with pytest.raises(DomainError) as err:
        place(tree(), 2, 2, 0)
    assert err.value.code == "conflict"


def test_a_move_under_own_descendant_is_refused():
    for target in (21, 22, 221):
        with pytest.raises(DomainError):
            place(tree(), 2, target, 0)


def test_a_move_under_a_missing_parent_is_not_found():
    with pytest.raises(NotFound):
        place(tree(), 1, 404, 0)


def test_a_negative_position_is_refused():
    with pytest.raises(DomainError) as err:
        place(tree(), 99, None, -1)
    assert err.value.code == "invalid"


def test_max_depth_for_new_items():
    assert MAX_DEPTH == 3
    assert place(tree(), 99, 22, None) == {99: Slot(99, 22, 1)}  # 2.2.2: third level
    with pytest.raises(DomainError, match="levels"):
        place(tree(), 99, 221, None)  # a fourth level


def test_max_depth_counts_the_moved_subtree():
    # Item 2 has two levels below it; under item 1 it would reach four levels.
    with pytest.raises(DomainError, match="levels"):
        place(tree(), 2, 1, 0)
    # 22 (with 221) may go under 1: three levels.
    state = apply(as_dict(tree()), place(tree(), 22, 1, 0))
    check_invariants(state)
    assert state[221].parent_id == 22 and state[22].parent_id == 1


def test_remove_takes_the_subtree_and_renumbers():
    gone, changed = remove(tree(), 2)
    assert gone == {2, 21, 22, 221}
    assert changed == {3: Slot(3, None, 1)}


def test_remove_a_last_item_renumbers_nothing():
    assert remove(tree(), 3) == ({3}, {})


def test_remove_a_missing_item():
    with pytest.raises(NotFound):
        remove(tree(), 404)


def test_subtree_and_children():
    assert subtree(tree(), 22) == {22, 221}
    assert [s.id for s in children(tree(), 2)] == [21, 22]


# ---------------------------------------------------------------- random trees and operations

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), st.integers(0, 8) | st.none(), st.booleans()),
        st.tuples(st.just("move"), st.integers(0, 40), st.integers(0, 40), st.integers(0, 8), st.booleans()),
        st.tuples(st.just("remove"), st.integers(0, 40)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_operations_keep_the_tree_well_formed(operations):
    state: dict[int, Slot] = {}
    next_id = 1
    for op in operations:
        ids = sorted(state)
        before = dict(state)
        if op[0] == "add":
            _, parent_pick, position, top = op
            parent = None if top or not ids else ids[parent_pick % len(ids)]
            new_id = next_id
            next_id += 1
            too_deep = model_depth(state, parent) + 1 > MAX_DEPTH
            try:
                changed = place(list(state.values()), new_id, parent, position)
            except DomainError as exc:
                assert too_deep, f"add refused without reason: {exc.message}"
                assert state == before
                continue
            assert not too_deep, "add accepted past MAX_DEPTH"
            old_order = sibling_order(state, parent)
            state = apply(state, changed)
            expected = list(old_order)
            expected.insert(len(old_order) if position is None else min(position, len(old_order)), new_id)
            assert sibling_order(state, parent) == expected
        elif op[0] == "move":
            if not ids:
                continue
            _, item_pick, parent_pick, position, top = op
            item = ids[item_pick % len(ids)]
            parent = None if top else ids[parent_pick % len(ids)]
            below = model_below(state, item)
            cycle = parent in below
            too_deep = not cycle and model_depth(state, parent) + model_height(state, item) > MAX_DEPTH
            try:
                changed = place(list(state.values()), item, parent, position)
            except DomainError as exc:
                assert cycle or too_deep, f"move refused without reason: {exc.message}"
                continue
            assert not cycle, "a move made a cycle"
            assert not too_deep, "a move went past MAX_DEPTH"
            old_parent = state[item].parent_id
            old_new_siblings = [s for s in sibling_order(state, parent) if s != item]
            old_old_siblings = [s for s in sibling_order(state, old_parent) if s != item]
            # Only the two sibling groups may change, and only slots that really changed are returned.
            for sid, slot in changed.items():
                assert sid in state and slot != state[sid]
                assert sid == item or state[sid].parent_id in (parent, old_parent)
            state = apply(state, changed)
            expected = list(old_new_siblings)
            expected.insert(min(position, len(expected)), item)
            assert sibling_order(state, parent) == expected, "a move is a permutation of the siblings"
            if old_parent != parent:
                assert sibling_order(state, old_parent) == old_old_siblings
            # The moved subtree travels whole.
            assert model_below(state, item) == below
        else:
            if not ids:
                continue
            item = ids[op[1] % len(ids)]
            parent = state[item].parent_id
            gone, changed = remove(list(state.values()), item)
            assert gone == model_below(state, item)
            rest = [s for s in sibling_order(state, parent) if s != item]
            state = {sid: s for sid, s in state.items() if sid not in gone}
            assert set(changed) <= set(state)
            state = apply(state, changed)
            assert sibling_order(state, parent) == rest
        check_invariants(state)
        check_numbers(state)
