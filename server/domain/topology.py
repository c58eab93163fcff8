"""Which media node serves which bridge point, and which node hangs below which (docs/conference.md,
"Media nodes"). Pure rules: no clock, no network.

A media node serves a subtree of the organisation: the unit it is registered for and every unit
below it (a province node serves the province's communes); the central node (serving `None`)
serves the whole tree. A point is served by the nearest live node up the tree from its own unit;
failing that, by the central node. A node's parent is the nearest live node above its own unit,
failing that the central node; the central node has none. When a node dies its points and its
child nodes thus move to the nearest live ancestor; when it returns, they move back (the rules
hold no memory: the assignment is a function of the tree and who is alive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CENTRAL = None  # what the central node serves: everything


@dataclass(frozen=True)
class Node:
    node_id: str
    serves: int | None  # the unit at the top of its subtree; None: the central node
    alive: bool = True


@dataclass(frozen=True)
class Assignment:
    points: dict[int, str | None] = field(default_factory=dict)  # unit_id -> node_id (None: no live node)
    parents: dict[str, str | None] = field(default_factory=dict)  # live node_id -> parent node_id (None: root)


def ancestors(unit_id: int | None, parents: Mapping[int, int | None]) -> list[int]:
    """The unit, its parent, ... up to the root (a cycle in bad data ends the walk)."""
    out: list[int] = []
    seen: set[int] = set()
    while unit_id is not None and unit_id not in seen:
        out.append(unit_id)
        seen.add(unit_id)
        unit_id = parents.get(unit_id)
    return out


def _by_unit(nodes: Iterable[Node]) -> tuple[dict[int, str], str | None]:
    """Live nodes by the unit they serve (the first by id when two serve one unit), and the
    live central node."""
    by_unit: dict[int, str] = {}
    central = None
    for node in sorted(nodes, key=lambda n: n.node_id):
        if not node.alive:
            continue
        if node.serves is CENTRAL:
            central = central or node.node_id
        else:
            by_unit.setdefault(node.serves, node.node_id)
    return by_unit, central


def node_for_unit(unit_id: int | None, parents: Mapping[int, int | None], nodes: Iterable[Node]) -> str | None:
    """The node that serves a point of this unit: the nearest live node up the tree, else the
    central node (None when no node is alive)."""
    by_unit, central = _by_unit(nodes)
    for unit in ancestors(unit_id, parents):
        if unit in by_unit:
            return by_unit[unit]
    return central


def parent_of(node: Node, parents: Mapping[int, int | None], nodes: Iterable[Node]) -> str | None:
    """The node a node relays from: the nearest live node above the unit it serves, else the
    central node; the central node is a root."""
    if node.serves is CENTRAL:
        return None
    nodes = [n for n in nodes if n.node_id != node.node_id]
    return node_for_unit(parents.get(node.serves), parents, nodes)


def assign(parents: Mapping[int, int | None], nodes: Iterable[Node], points: Iterable[int]) -> Assignment:
    """Every point's node and every live node's parent."""
    nodes = list(nodes)
    return Assignment(
        points={unit: node_for_unit(unit, parents, nodes) for unit in points},
        parents={n.node_id: parent_of(n, parents, nodes) for n in nodes if n.alive},
    )


@dataclass(frozen=True)
class Moves:
    points: dict[int, tuple[str | None, str | None]]  # unit -> (old node, new node)
    parents: dict[str, tuple[str | None, str | None]]  # node -> (old parent, new parent)

    def __bool__(self) -> bool:
        return bool(self.points or self.parents)


def moves(old: Assignment, new: Assignment) -> Moves:
    """What re-homing a change of liveness asks for: points that must offer to another node,
    live nodes that must `set_parent` to another (a node that died is not told anything)."""
    return Moves(
        points={u: (old.points.get(u), n) for u, n in new.points.items() if old.points.get(u) != n},
        parents={k: (old.parents.get(k), p) for k, p in new.parents.items()
                 if k in old.parents and old.parents[k] != p or k not in old.parents and p is not None},
    )


def alive(last_seen: float | None, now: float, *, every: float, missed: int = 3) -> bool:
    """A node is alive while its last heartbeat is less than `missed` periods old."""
    return last_seen is not None and now - last_seen < every * missed
