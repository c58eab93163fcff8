"""Agenda order: items and sub-items, their display order and numbers ("2.1").

Items are plain (id, parent_id, position) records; positions are dense 0..n-1
among siblings. The functions here return the new positions; the store writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import DomainError, Invalid, NotFound

MAX_DEPTH = 3  # nội dung, mục, tiểu mục: deeper nesting is a sign of a document, not an agenda


@dataclass(frozen=True)
class Slot:
    id: int
    parent_id: int | None
    position: int


def children(items: list[Slot], parent_id: int | None) -> list[Slot]:
    return sorted((i for i in items if i.parent_id == parent_id), key=lambda i: (i.position, i.id))


def display_order(items: list[Slot]) -> list[tuple[Slot, str]]:
    """Depth-first order with numbers: 1, 2, 2.1, 2.2, 3."""
    out: list[tuple[Slot, str]] = []

    def walk(parent_id: int | None, prefix: str) -> None:
        for n, item in enumerate(children(items, parent_id), start=1):
            number = f"{prefix}{n}"
            out.append((item, number))
            walk(item.id, number + ".")

    walk(None, "")
    return out


def depth(items: list[Slot], item_id: int | None) -> int:
    by_id = {i.id: i for i in items}
    d = 0
    while item_id is not None:
        d += 1
        item_id = by_id[item_id].parent_id
    return d


def subtree(items: list[Slot], item_id: int) -> set[int]:
    found = {item_id}
    frontier = [item_id]
    while frontier:
        parent = frontier.pop()
        for i in items:
            if i.parent_id == parent and i.id not in found:
                found.add(i.id)
                frontier.append(i.id)
    return found


def _height(items: list[Slot], item_id: int) -> int:
    below = [i for i in items if i.parent_id == item_id]
    return 1 + max((_height(items, i.id) for i in below), default=0)


def place(items: list[Slot], item_id: int, parent_id: int | None, position: int | None) -> dict[int, Slot]:
    """Put `item_id` (new or existing) under `parent_id` at `position` (None: last).

    Returns the slots whose parent or position changed, including the item's own.
    """
    by_id = {i.id: i for i in items}
    if parent_id is not None:
        if parent_id not in by_id:
            raise NotFound(f"agenda item {parent_id} does not exist")
        if item_id in by_id and parent_id in subtree(items, item_id):
            raise DomainError("an agenda item cannot move under itself or its own sub-items")
    height = _height(items, item_id) if item_id in by_id else 1
    if depth(items, parent_id) + height > MAX_DEPTH:
        raise DomainError(f"the agenda nests at most {MAX_DEPTH} levels deep")

    old = by_id.get(item_id)
    rest = [i for i in items if i.id != item_id]
    siblings = children(rest, parent_id)
    if position is None or position > len(siblings):
        position = len(siblings)
    if position < 0:
        raise Invalid("a position cannot be negative")
    new_order = [s.id for s in siblings]
    new_order.insert(position, item_id)

    changed: dict[int, Slot] = {}
    for pos, sid in enumerate(new_order):
        current = by_id.get(sid)
        if current is None or current.position != pos or current.parent_id != parent_id:
            changed[sid] = Slot(sid, parent_id, pos)
    if old is not None and old.parent_id != parent_id:
        # Close the gap the item left among its former siblings.
        for pos, s in enumerate(children(rest, old.parent_id)):
            if s.position != pos:
                changed[s.id] = Slot(s.id, s.parent_id, pos)
    return changed


def remove(items: list[Slot], item_id: int) -> tuple[set[int], dict[int, Slot]]:
    """The ids to delete (the item and its sub-items) and the siblings to renumber."""
    by_id = {i.id: i for i in items}
    if item_id not in by_id:
        raise NotFound(f"agenda item {item_id} does not exist")
    gone = subtree(items, item_id)
    rest = [i for i in items if i.id not in gone]
    changed = {
        s.id: Slot(s.id, s.parent_id, pos)
        for pos, s in enumerate(children(rest, by_id[item_id].parent_id))
        if s.position != pos
    }
    return gone, changed
