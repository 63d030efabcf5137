"""Tests of yulin_gis.utilities._network on tiny hand-made networks with known answers."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from yulin_gis.errors import CRSError, ValidationError
from yulin_gis.utilities import (
    DEFAULT_OWNERS,
    build_networks,
    isolation_impact,
    topology_report,
    trace_package,
)

CRS = "EPSG:4546"


def _layer(rows: list[tuple[str, str, list[tuple[float, float]]]], **extra: list) -> gpd.GeoDataFrame:
    data = {"segment_id": [r[0] for r in rows], "utility": [r[1] for r in rows], **extra}
    return gpd.GeoDataFrame(data, geometry=[LineString(r[2]) if r[2] else None for r in rows], crs=CRS)


@pytest.fixture
def water_tree() -> gpd.GeoDataFrame:
    """Source S at (0,0).  Trunk t1 → junction A(100,0) → t2 → B(200,0) → t3 → C(300,0);
    branch b1 A → (100,100); branch b2 B → (200,100); loop l1+l2 from A round to (0,100)
    back to S, so t1 is not a bridge."""
    return _layer([
        ("t1", "water_supply", [(0, 0), (100, 0)]),
        ("t2", "water_supply", [(100.2, 0), (200, 0)]),  # 0.2 m gap: snapped
        ("t3", "water_supply", [(200, 0), (300, 0)]),
        ("b1", "water_supply", [(100, 0), (100, 100)]),
        ("b2", "water_supply", [(200, 0), (200, 100)]),
        ("l1", "water_supply", [(0, 0), (0, 100)]),
        ("l2", "water_supply", [(0, 100), (100, 100)]),
    ], diameter_mm=[300, 200, 150, 100, 100, 100, 100])


def test_snapping_joins_within_tolerance_only() -> None:
    layer = _layer([
        ("a", "gas", [(0, 0), (10, 0)]),
        ("b", "gas", [(10.4, 0), (20, 0)]),  # 0.4 m: joined at 0.5 m tolerance
        ("c", "gas", [(20.8, 0), (30, 0)]),  # 0.8 m: not joined
    ])
    net = build_networks(layer, snap_tolerance_m=0.5)["gas"]
    seg = net.segments.set_index("segment_id")
    assert seg.at["a", "node_v"] == seg.at["b", "node_u"]
    assert seg.at["b", "node_v"] != seg.at["c", "node_u"]
    assert net.n_nodes == 5
    assert nx.number_connected_components(net.graph) == 2
    wide = build_networks(layer, snap_tolerance_m=1.0)["gas"]
    assert nx.number_connected_components(wide.graph) == 1


def test_owner_defaults_per_utility() -> None:
    layer = _layer([("w", "water_supply", [(0, 0), (1, 0)]), ("s", "sewer", [(0, 5), (1, 5)]),
                    ("g", "gas", [(0, 9), (1, 9)])], owner=[None, "", "某燃气公司"])
    nets = build_networks(layer)
    assert nets["water_supply"].segments["owner"].iloc[0] == DEFAULT_OWNERS["water_supply"] == "供水企业"
    assert nets["sewer"].segments["owner"].iloc[0] == "城市排水主管部门"
    assert nets["gas"].segments["owner"].iloc[0] == "某燃气公司"


def test_topology_problems_reported_not_fatal() -> None:
    layer = _layer([
        ("a", "storm", [(0, 0), (100, 0)]),
        ("dup", "storm", [(100, 0), (0, 0)]),  # same line reversed
        ("zero", "storm", [(50, 50), (50, 50)]),
        ("ring", "storm", [(0, 0), (10, 10), (0, 10), (0, 0)]),
        ("under", "storm", [(50, 1.5), (50, 40)]),  # stops 1.5 m short of "a"
        ("far", "storm", [(500, 500), (600, 500)]),
        ("odd", "steam", [(0, 0), (1, 1)]),
        ("none", "storm", None),
    ])
    nets = build_networks(layer)
    report = topology_report(nets)
    codes = report.groupby("code")["segment_id"].apply(set).to_dict()
    assert codes["duplicate_segment"] == {"dup"}
    assert codes["zero_length"] == {"zero"}
    assert codes["self_loop"] == {"ring"}
    assert codes["dangle"] == {"under"}
    assert codes["unknown_utility"] == {"odd"}
    assert codes["missing_geometry"] == {"none"}
    assert {"far", "under"} <= codes["unconnected_piece"]
    assert "zero" not in set(nets["storm"].segments["segment_id"])
    every_end = topology_report(nets, dangles="all")
    assert (every_end["code"] == "dangle").sum() > (report["code"] == "dangle").sum()


def test_bad_layers_raise_once() -> None:
    layer = _layer([("a", "gas", [(0, 0), (1, 0)]), ("a", "gas", [(0, 1), (1, 1)])])
    with pytest.raises(ValidationError, match="segment_id"):
        build_networks(layer)
    with pytest.raises(CRSError):
        build_networks(_layer([("a", "gas", [(0, 0), (1, 0)])]).set_crs(4326, allow_override=True))


def test_graph_edges_keyed_by_segment(water_tree: gpd.GeoDataFrame) -> None:
    net = build_networks(water_tree)["water_supply"]
    g = net.graph
    assert g.number_of_edges() == 7
    assert {k for _, _, k in g.edges(keys=True)} == set(water_tree["segment_id"])
    assert g.number_of_nodes() == 7


def test_upstream_trace_follows_tree_to_source(water_tree: gpd.GeoDataFrame) -> None:
    nets = build_networks(water_tree)
    pkg = gpd.GeoDataFrame({"package_id": ["P1"]}, geometry=[box(190, 60, 210, 120)], crs=CRS)
    src = gpd.GeoDataFrame({"role": ["source"], "utility": ["water_supply"]},
                           geometry=[Point(0.3, 0.1)], crs=CRS)
    tr = trace_package(nets, pkg, src)
    assert set(tr.loc[tr["role"] == "in_package", "segment_id"]) == {"b2"}
    assert set(tr.loc[tr["role"] == "upstream", "segment_id"]) == {"t1", "t2"}
    assert not tr["root_assumed"].any()


def test_downstream_trace_to_outfall_and_assumed_root() -> None:
    sewer = _layer([
        ("s1", "sewer", [(0, 100), (0, 50)]), ("s2", "sewer", [(0, 50), (0, 0)]),
        ("s3", "sewer", [(0, 0), (100, 0)]), ("s4", "sewer", [(100, 0), (200, 0)]),
        ("s5", "sewer", [(50, 50), (0, 50)]),
    ], diameter_mm=[200, 300, 400, 600, 200])
    nets = build_networks(sewer)
    pkg = gpd.GeoDataFrame({"package_id": ["P"]}, geometry=[box(-5, 90, 5, 110)], crs=CRS)
    out = gpd.GeoDataFrame({"role": ["outfall"]}, geometry=[Point(200, 0)], crs=CRS)
    tr = trace_package(nets, pkg, out)
    assert set(tr.loc[tr["role"] == "downstream", "segment_id"]) == {"s2", "s3", "s4"}
    assumed = trace_package(nets, pkg)  # no outfall: terminal end of the largest pipe (s4)
    assert set(assumed.loc[assumed["role"] == "downstream", "segment_id"]) == {"s2", "s3", "s4"}
    assert assumed["root_assumed"].all()


def test_isolating_bridge_cuts_off_households_beyond(water_tree: gpd.GeoDataFrame) -> None:
    nets = build_networks(water_tree)
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["near_b2", "near_t3", "near_b1"], "households": [120, 80, 50]},
        geometry=[box(205, 40, 230, 60), box(260, 5, 280, 25), box(105, 40, 125, 60)], crs=CRS)
    src = gpd.GeoDataFrame({"role": ["source"]}, geometry=[Point(0, 0)], crs=CRS)
    res = isolation_impact(nets, ["t2", "t3", "t1", "b1", "nope"], compounds, src).set_index("segment_id")
    assert res.at["t2", "bridge"]
    assert res.at["t2", "households_cut_off"] == 200
    assert res.at["t2", "compounds_cut_off"] == "near_b2,near_t3"
    assert res.at["t3", "households_cut_off"] == 80
    assert not res.at["t1", "bridge"]  # the loop l1-l2-b1 keeps A supplied
    assert res.at["t1", "households_cut_off"] == 0
    assert res.at["b1", "households_cut_off"] == 50  # b1 itself serves near_b1
    assert res.at["nope", "no_source"]


def test_bridge_flags_match_networkx() -> None:
    rng = np.random.default_rng(3)
    k = 6  # a 6×6 grid with random edges removed: a mix of loops and bridges
    edges = [((i, j), (i + 1, j)) for i in range(k - 1) for j in range(k)]
    edges += [((i, j), (i, j + 1)) for i in range(k) for j in range(k - 1)]
    keep = [e for e, r in zip(edges, rng.random(len(edges)), strict=True) if r < 0.6]
    layer = _layer([(f"e{n}", "gas", [(a[0] * 50, a[1] * 50), (b[0] * 50, b[1] * 50)])
                    for n, (a, b) in enumerate(keep)])
    nets = build_networks(layer)
    compounds = gpd.GeoDataFrame({"compound_id": ["c"], "households": [1]},
                                 geometry=[box(1000, 1000, 1001, 1001)], crs=CRS)
    res = isolation_impact(nets, layer["segment_id"], compounds).set_index("segment_id")
    g = nets["gas"].graph
    expected = {k for u, v, k in g.edges(keys=True) if (u, v) in set(nx.bridges(nx.Graph(g)))
                or (v, u) in set(nx.bridges(nx.Graph(g)))}
    reached = ~res["no_source"]
    assert set(res.index[res["bridge"] & reached]) == expected & set(res.index[reached])
    assert res["bridge"].any()
    assert (~res["bridge"]).any()


def test_topology_report_accepts_layer(water_tree: gpd.GeoDataFrame) -> None:
    report = topology_report(water_tree, dangles="all")
    assert set(report["code"]) == {"dangle"}
    assert set(report["segment_id"]) == {"t3", "b2"}  # the two open ends of the tree


def test_service_pipes_join_main_interior() -> None:
    """Main m1 (0,0)→(300,0) not split; laterals s1 at x=100 and s2 at x=200 end on it;
    main m2 continues (300,0)→(400,0) with a lateral s3 at its end."""
    layer = _layer([
        ("m1", "water_supply", [(0, 0), (300, 0)]),
        ("m2", "water_supply", [(300, 0), (400, 0)]),
        ("s1", "water_supply", [(100, 50), (100, 0.2)]),
        ("s2", "water_supply", [(200, 50), (200, 0)]),
        ("s3", "water_supply", [(400, 0), (400, 50)]),
    ])
    nets = build_networks(layer)
    net = nets["water_supply"]
    assert len(net.edges) == 7  # m1 in three parts
    assert nx.is_connected(net.graph)
    assert not (topology_report(nets)["code"] == "dangle").any()
    src = gpd.GeoDataFrame({"role": ["source"]}, geometry=[Point(0, 0)], crs=CRS)
    pkg = gpd.GeoDataFrame({"package_id": ["P"]}, geometry=[box(190, 30, 210, 60)], crs=CRS)
    tr = trace_package(nets, pkg, src)
    assert set(tr.loc[tr["role"] == "upstream", "segment_id"]) == {"m1"}
    assert tr.loc[tr["segment_id"] == "s2", "dist_to_root_m"].iloc[0] == pytest.approx(200.0)
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["A", "B", "C"], "households": [10, 20, 40]},
        geometry=[box(105, 30, 120, 45), box(205, 30, 220, 45), box(405, 30, 420, 45)], crs=CRS)
    res = isolation_impact(nets, ["m1", "s1", "m2"], compounds, src).set_index("segment_id")
    assert res.at["m1", "households_cut_off"] == 70  # everything beyond the source's main
    assert res.at["s1", "compounds_cut_off"] == "A"
    assert res.at["m2", "compounds_cut_off"] == "C"
    unsplit = build_networks(layer, split_at_junctions=False)
    assert (topology_report(unsplit)["code"] == "dangle").sum() == 2
