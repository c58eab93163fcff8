"""Media node assignment and re-homing over the organisation tree (server/domain/topology.py)."""

from __future__ import annotations

from server.domain.topology import CENTRAL, Node, alive, ancestors, assign, moves, node_for_unit, parent_of

# centre 1 > provinces 10, 20 > communes 11, 12 (of 10), 21 (of 20); district 13 (of 10) > commune 131
TREE = {1: None, 10: 1, 20: 1, 11: 10, 12: 10, 21: 20, 13: 10, 131: 13}
POINTS = [1, 10, 11, 12, 13, 131, 20, 21]


def nodes(*, dead=(), extra=()):
    base = [Node("central", CENTRAL), Node("bac-ninh", 10), Node("ha-noi", 20), *extra]
    return [Node(n.node_id, n.serves, n.node_id not in dead) for n in base]


def test_two_tiers_each_point_goes_to_the_nearest_node_up_the_tree():
    a = assign(TREE, nodes(), POINTS)
    assert a.points == {1: "central", 10: "bac-ninh", 11: "bac-ninh", 12: "bac-ninh", 13: "bac-ninh",
                        131: "bac-ninh", 20: "ha-noi", 21: "ha-noi"}
    assert a.parents == {"central": None, "bac-ninh": "central", "ha-noi": "central"}


def test_a_node_that_dies_hands_its_points_to_the_central_node_and_takes_them_back():
    before = assign(TREE, nodes(), POINTS)
    after = assign(TREE, nodes(dead={"bac-ninh"}), POINTS)
    assert {u: n for u, n in after.points.items() if n != before.points[u]} == {
        10: "central", 11: "central", 12: "central", 13: "central", 131: "central"}
    assert "bac-ninh" not in after.parents
    m = moves(before, after)
    assert m.points[11] == ("bac-ninh", "central") and set(m.points) == {10, 11, 12, 13, 131}
    assert m.parents == {}
    back = moves(after, assign(TREE, nodes(), POINTS))
    assert back.points[131] == ("central", "bac-ninh") and set(back.points) == {10, 11, 12, 13, 131}
    assert back.parents == {"bac-ninh": (None, "central")}


def test_three_tiers_points_and_child_nodes_move_to_the_nearest_live_ancestor():
    three = nodes(extra=[Node("tien-du", 13)])
    a = assign(TREE, three, POINTS)
    assert a.points[131] == "tien-du" and a.points[13] == "tien-du" and a.points[11] == "bac-ninh"
    assert a.parents["tien-du"] == "bac-ninh"
    # The province node dies: its child node and its own points go up to the central node;
    # the district's points stay with their district node.
    dead = [Node(n.node_id, n.serves, n.node_id != "bac-ninh") for n in three]
    b = assign(TREE, dead, POINTS)
    assert b.points[131] == "tien-du" and b.points[11] == "central" and b.points[10] == "central"
    m = moves(a, b)
    assert m.parents == {"tien-du": ("bac-ninh", "central")}
    assert set(m.points) == {10, 11, 12}
    # The district node dies too: its points go to the central node.
    both = [Node(n.node_id, n.serves, n.node_id not in ("bac-ninh", "tien-du")) for n in three]
    assert assign(TREE, both, POINTS).points[131] == "central"
    assert parent_of(Node("tien-du", 13), TREE, dead) == "central"


def test_no_live_node_no_assignment_and_odd_data():
    assert node_for_unit(11, TREE, nodes(dead={"central", "bac-ninh", "ha-noi"})) is None
    # Only province nodes: a point outside them has none; one inside has its province's.
    only = [Node("bac-ninh", 10)]
    assert node_for_unit(21, TREE, only) is None and node_for_unit(12, TREE, only) == "bac-ninh"
    assert parent_of(Node("bac-ninh", 10), TREE, only) is None
    # Two nodes for one unit: the first by id, and the other when it dies.
    two = [Node("central", CENTRAL), Node("bn-a", 10), Node("bn-b", 10)]
    assert node_for_unit(11, TREE, two) == "bn-a"
    assert node_for_unit(11, TREE, [Node("central", CENTRAL), Node("bn-a", 10, False), Node("bn-b", 10)]) == "bn-b"
    # A cycle in bad data ends the walk.
    assert ancestors(5, {5: 6, 6: 5}) == [5, 6]
    assert node_for_unit(5, {5: 6, 6: 5}, two) == "central"


def test_liveness_by_missed_heartbeats():
    assert alive(100.0, 104.0, every=2, missed=3)
    assert not alive(100.0, 106.0, every=2, missed=3)
    assert not alive(None, 0.0, every=2)
