"""Tests of the compound neighbour graph (yulin_gis.packaging._adjacency)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pytest
import shapely

from yulin_gis.errors import CRSError, ValidationError
from yulin_gis.packaging import adjacency_report, compound_adjacency, graph_arrays

CRS = "EPSG:4546"


def _squares(specs: list[tuple[str, float, float, str]], size: float = 100.0) -> gpd.GeoDataFrame:
    """Squares from (id, x, y, community) with the lower-left corner at (x, y)."""
    return gpd.GeoDataFrame(
        {"compound_id": [s[0] for s in specs], "community_id": [s[3] for s in specs]},
        geometry=[shapely.box(x, y, x + size, y + size) for _, x, y, _ in specs], crs=CRS)


def test_touching_and_gap_neighbours() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("b", 100, 0, "C1"), ("c", 210, 0, "C1"),
                    ("d", 330, 0, "C1")])
    g = compound_adjacency(gdf, gap_m=15.0)
    assert set(g.nodes) == {"a", "b", "c", "d"}
    assert g.has_edge("a", "b")
    assert g["a"]["b"]["distance"] == pytest.approx(0.0)
    assert g.has_edge("b", "c")
    assert g["b"]["c"]["distance"] == pytest.approx(10.0)
    assert not g.has_edge("c", "d")  # 20 m > 15 m
    assert g.graph["islands"] == ["d"]
    assert g.graph["n_components"] == 2


def test_barrier_prevents_edge() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("b", 110, 0, "C1"), ("c", 0, 110, "C1")])
    road = gpd.GeoDataFrame({"road_id": ["r1"], "road_class": ["arterial"]},
                            geometry=[shapely.LineString([(105, -50), (105, 300)])], crs=CRS)
    free = compound_adjacency(gdf, gap_m=15.0)
    cut = compound_adjacency(gdf, gap_m=15.0, barriers=road)
    assert free.has_edge("a", "b")
    assert not cut.has_edge("a", "b")
    assert cut.has_edge("a", "c")  # the road does not lie between a and c
    assert cut.graph["n_barrier_cuts"] >= 1


def test_point_compounds_get_delaunay_neighbours_within_unit() -> None:
    pts = [("p1", 0, 0, "E"), ("p2", 50, 0, "E"), ("p3", 25, 40, "E"), ("p4", 60, 45, "E"),
           ("q1", 90, 0, "F"), ("q2", 140, 0, "F")]
    gdf = gpd.GeoDataFrame(
        {"compound_id": [p[0] for p in pts], "community_id": [p[3] for p in pts]},
        geometry=[shapely.Point(x, y) for _, x, y, _ in pts], crs=CRS)
    g = compound_adjacency(gdf, gap_m=0.0, point_max_m=200.0)
    assert g.has_edge("p1", "p2")
    assert g["p1"]["p2"]["kind"] == "delaunay"
    assert nx.is_connected(g.subgraph(["p1", "p2", "p3", "p4"]))
    assert g.has_edge("q1", "q2")  # two points: joined directly
    assert not any(g.has_edge(p, q) for p in ("p1", "p2", "p3", "p4") for q in ("q1", "q2"))


def test_delaunay_respects_max_length() -> None:
    pts = [("p1", 0, 0), ("p2", 50, 0), ("p3", 2000, 0)]
    gdf = gpd.GeoDataFrame({"compound_id": [p[0] for p in pts], "community_id": ["E"] * 3},
                           geometry=[shapely.Point(x, y) for _, x, y in pts], crs=CRS)
    g = compound_adjacency(gdf, gap_m=0.0, point_max_m=300.0)
    assert g.has_edge("p1", "p2")
    assert g.degree("p3") == 0
    assert "p3" in g.graph["islands"]


def test_disconnected_pieces_reported_not_raised() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("b", 100, 0, "C1"), ("x", 1000, 0, "C1"),
                    ("y", 1100, 0, "C1"), ("z", 5000, 0, "C1")])
    rep = adjacency_report(compound_adjacency(gdf))
    assert list(rep["compound_id"]) == ["a", "b", "x", "y", "z"]
    assert rep.set_index("compound_id").loc["z", "island"]
    assert rep["component"].nunique() == 3
    assert rep.set_index("compound_id").loc["a", "component_size"] == 2


def test_empty_geometry_kept_as_node() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("b", 100, 0, "C1")])
    gdf.loc[1, "geometry"] = None
    g = compound_adjacency(gdf)
    assert set(g.nodes) == {"a", "b"}
    assert g.graph["no_geometry"] == ["b"]
    assert g.number_of_edges() == 0


def test_geographic_crs_rejected() -> None:
    gdf = _squares([("a", 0, 0, "C1")], size=0.001).set_crs("EPSG:4490", allow_override=True)
    with pytest.raises(CRSError):
        compound_adjacency(gdf)


def test_duplicate_ids_and_missing_unit_collected() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("a", 100, 0, "C1")]).drop(columns="community_id")
    with pytest.raises(ValidationError) as info:
        compound_adjacency(gdf)
    codes = {p.code for p in info.value.problems}
    assert codes == {"duplicate-id", "missing-field"}


def test_graph_arrays_index_order() -> None:
    gdf = _squares([("a", 0, 0, "C1"), ("b", 100, 0, "C1"), ("c", 200, 0, "C1")])
    g = compound_adjacency(gdf)
    u, v, d = graph_arrays(g, ["c", "b", "a"])
    assert sorted(zip(u.tolist(), v.tolist(), strict=True)) == [(0, 1), (1, 2)]
    assert (d == 0).all()
