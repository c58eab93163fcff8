"""The organisation tree: units of any depth whose level names are data.

A unit is valid from one date to another, so a merger (sáp nhập) is an edit: the old
communes end on 30 June 2025 and the new one begins on 1 July, and meetings held
before keep pointing at the units that existed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from server.domain.errors import DomainError, Invalid


@dataclass(frozen=True)
class Node:
    id: int
    parent_id: int | None
    valid_from: date | None = None
    valid_to: date | None = None


def is_valid_on(node: Node, day: date) -> bool:
    return (node.valid_from is None or node.valid_from <= day) and (node.valid_to is None or day <= node.valid_to)


def check_dates(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        raise Invalid("a unit cannot end before it begins")


def ancestors(nodes: dict[int, Node], node_id: int) -> list[int]:
    """From the parent up to the root."""
    out: list[int] = []
    seen = {node_id}
    parent = nodes[node_id].parent_id
    while parent is not None:
        if parent in seen:
            raise DomainError("the organisation tree has a cycle")
        seen.add(parent)
        out.append(parent)
        parent = nodes[parent].parent_id
    return out


def descendants(nodes: dict[int, Node], node_id: int, on: date | None = None) -> list[int]:
    """Every unit below `node_id` (optionally only those valid on a day), breadth first."""
    below: dict[int | None, list[int]] = {}
    for n in nodes.values():
        below.setdefault(n.parent_id, []).append(n.id)
    out: list[int] = []
    frontier = [node_id]
    while frontier:
        nxt: list[int] = []
        for parent in frontier:
            for child in sorted(below.get(parent, [])):
                if on is None or is_valid_on(nodes[child], on):
                    out.append(child)
                nxt.append(child)
        frontier = nxt
    return out


def check_move(nodes: dict[int, Node], node_id: int, new_parent: int | None) -> None:
    if new_parent is None:
        return
    if new_parent == node_id or new_parent in descendants(nodes, node_id):
        raise DomainError("a unit cannot be placed under itself or one of its own units")
