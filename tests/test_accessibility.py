"""Tests for yulin_gis.survey._accessibility (life-circle walking distances)."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from yulin_gis.errors import CRSError, ProfileError, SchemaError
from yulin_gis.survey import (
    default_thresholds,
    life_circle_gaps,
    nearest_facility_distances,
    walking_network,
)

X0, Y0 = 500_000.0, 2_500_000.0  # somewhere inside EPSG:4546
ORIGIN = np.array([X0, Y0])


def _at(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


@pytest.fixture
def roads() -> gpd.GeoDataFrame:
    """A loop of 100/150 m blocks, a doubled segment and a disconnected piece.

    (0,0)-(100,0)-(200,0) along the bottom, (100,0)-(100,150) and
    (200,0)-(200,150)-(100,150) closing a block; (0,0)-(100,0) is digitised twice more
    (once reversed, once 0.3 m off, snapping to the same nodes); (1000,1000)-(1100,1000)
    is not connected to anything.
    """
    lines = [
        LineString([_at(0, 0), _at(100, 0), _at(200, 0)]),
        LineString([_at(100, 0), _at(100, 150)]),
        LineString([_at(200, 0), _at(200, 150), _at(100, 150)]),
        LineString([_at(100, 0), _at(0, 0)]),
        LineString([_at(0, 0.3), _at(100, 0.2)]),
        LineString([_at(1000, 1000), _at(1100, 1000)]),
    ]
    return gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(len(lines))], "road_class": "branch"},
        geometry=lines,
        crs="EPSG:4546",
    )


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    diamond = Polygon([_at(50, 10), _at(60, 20), _at(50, 30), _at(40, 20)])
    return gpd.GeoDataFrame(
        {"compound_id": ["cA", "cB", "cC"]},
        geometry=[diamond, Point(_at(130, 80)), Point(_at(1050, 1010))],
        crs="EPSG:4546",
    )


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "facility_id": ["k1", "k2", "m1"],
            "kind": ["kindergarten", "kindergarten", "market"],
        },
        geometry=[Point(_at(205, 140)), Point(_at(1100, 1020)), Point(_at(0, -10))],
        crs="EPSG:4546",
    )


def test_hand_computed_distances(roads, compounds, facilities):
    d = nearest_facility_distances(compounds, roads, facilities)
    assert list(d.index) == ["cA", "cB", "cC"]
    # cA: gate (50,10) -> road (50,0) leg 10; along the bottom 50+100, up 140, leg 5
    assert d.loc["cA", "walk_kindergarten_m"] == pytest.approx(10 + 50 + 100 + 140 + 5)
    # cB: (130,80) -> (100,80) leg 30; up 70, across 100, down 10, leg 5
    assert d.loc["cB", "walk_kindergarten_m"] == pytest.approx(30 + 70 + 100 + 10 + 5)
    assert d.loc["cA", "walk_market_m"] == pytest.approx(10 + 50 + 10)
    assert d.loc["cB", "walk_market_m"] == pytest.approx(30 + 80 + 100 + 10)
    # cC is on the disconnected piece: its kindergarten k2 is there, the market is not
    assert d.loc["cC", "walk_kindergarten_m"] == pytest.approx(10 + 50 + 20)
    assert d.loc["cC", "facility_kindergarten_id"] == "k2"
    assert math.isnan(d.loc["cC", "walk_market_m"])
    assert pd.isna(d.loc["cC", "facility_market_id"])
    # the straight-line distance is still known
    assert d.loc["cC", "straight_market_m"] == pytest.approx(math.hypot(1050, 1020))
    assert d.loc["cB", "facility_kindergarten_id"] == "k1"


def test_agrees_with_networkx_on_hand_made_split_graph(roads, compounds, facilities):
    """Independent oracle: the split graph written out by hand, solved by networkx."""
    g = nx.Graph()
    edges = [
        ((0, 0), (50, 0), 50),  # bottom, split at cA's access point
        ((50, 0), (100, 0), 50),
        ((100, 0), (200, 0), 100),
        ((100, 0), (100, 80), 80),  # split at cB's access point
        ((100, 80), (100, 150), 70),
        ((200, 0), (200, 140), 140),  # split at k1's access point
        ((200, 140), (200, 150), 10),
        ((200, 150), (100, 150), 100),
        ((1000, 1000), (1050, 1000), 50),
        ((1050, 1000), (1100, 1000), 50),
    ]
    g.add_weighted_edges_from(edges)
    g.add_edge("k1", (200, 140), weight=5)
    g.add_edge("k2", (1100, 1000), weight=20)
    g.add_edge("m1", (0, 0), weight=10)
    access = {"cA": ((50, 0), 10), "cB": ((100, 80), 30), "cC": ((1050, 1000), 10)}
    ours = nearest_facility_distances(compounds, roads, facilities)
    for kind, sources in (("kindergarten", {"k1", "k2"}), ("market", {"m1"})):
        dist = nx.multi_source_dijkstra_path_length(g, sources, cutoff=2000)
        for cid, (node, leg) in access.items():
            expected = dist[node] + leg if node in dist else math.nan
            got = ours.loc[cid, f"walk_{kind}_m"]
            if math.isnan(expected):
                assert math.isnan(got)
            else:
                assert got == pytest.approx(expected, abs=1e-9)


def test_cutoff_gives_nan(roads, compounds, facilities):
    d = nearest_facility_distances(compounds, roads, facilities, cutoff_m=250.0)
    assert math.isnan(d.loc["cA", "walk_kindergarten_m"])  # 305 m
    assert d.loc["cB", "walk_kindergarten_m"] == pytest.approx(215)
    assert d.loc["cB", "walk_market_m"] == pytest.approx(220)
    d = nearest_facility_distances(compounds, roads, facilities, cutoff_m=200.0)
    assert math.isnan(d.loc["cB", "walk_market_m"])
    assert d.loc["cA", "walk_market_m"] == pytest.approx(70)


def test_parallel_edges_collapse_to_one(roads):
    net = walking_network(roads)
    # nodes: 0,0 100,0 200,0 100,150 200,150 1000,1000 1100,1000
    assert net.n_nodes == 7
    assert net.n_edges == 6
    assert net.n_parallel_collapsed == 2
    xy = {tuple(np.round(p - [X0, Y0], 6)): i for i, p in enumerate(net.node_xy)}
    a, b = xy[(0.0, 0.0)], xy[(100.0, 0.0)]
    # csr_matrix adds duplicates: the entry must be the segment length, not 300
    assert net.matrix[a, b] == pytest.approx(100.0)
    assert net.matrix[b, a] == pytest.approx(100.0)
    g = net.to_networkx()
    assert g.number_of_edges() == 6
    assert g[a][b]["length"] == pytest.approx(100.0)


def test_parallel_edges_keep_the_shortest():
    """Two routes between the same nodes through a snapped vertex: the shortest wins."""
    # the second line's middle vertex is within the tolerance of the end: it collapses to
    # a duplicate edge of the same node pair
    lines = [
        LineString([_at(0, 0), _at(10, 0)]),
        LineString([_at(0, 0), _at(10, 0), _at(0, 0)]),
    ]
    net = walking_network(gpd.GeoDataFrame(geometry=lines, crs="EPSG:4546"))
    assert net.n_edges == 1
    assert net.matrix.nnz == 2
    assert net.matrix.data.tolist() == [10.0, 10.0]


def test_never_shorter_than_straight_line_random_city():
    rng = np.random.default_rng(7)
    n = 12
    xs = np.arange(n) * 80.0
    jitter = rng.normal(0, 8, (n, n, 2))
    pts = np.stack(np.meshgrid(xs, xs, indexing="ij"), axis=-1) + jitter + ORIGIN
    lines = []
    for i in range(n):
        for j in range(n):
            if i + 1 < n and rng.random() > 0.15:
                lines.append(LineString([pts[i, j], pts[i + 1, j]]))
            if j + 1 < n and rng.random() > 0.15:
                lines.append(LineString([pts[i, j], pts[i, j + 1]]))
    roads = gpd.GeoDataFrame(geometry=lines, crs="EPSG:4546")
    comp_xy = rng.uniform(0, 880, (60, 2)) + ORIGIN
    compounds = gpd.GeoDataFrame(
        {"compound_id": [f"c{i}" for i in range(60)]},
        geometry=shapely.buffer(shapely.points(comp_xy), 15, quad_segs=2),
        crs="EPSG:4546",
    )
    fac_xy = rng.uniform(0, 880, (10, 2)) + ORIGIN
    facilities = gpd.GeoDataFrame(
        {"facility_id": [f"f{i}" for i in range(10)], "kind": ["market", "kindergarten"] * 5},
        geometry=shapely.points(fac_xy),
        crs="EPSG:4546",
    )
    d = nearest_facility_distances(compounds, roads, facilities, cutoff_m=5000)
    fac = facilities.set_index("facility_id").geometry
    comp = compounds.set_index("compound_id").geometry
    checked = 0
    for kind in ("market", "kindergarten"):
        kind_geoms = facilities.geometry[facilities["kind"] == kind]
        brute = [min(g.distance(f) for f in kind_geoms) for g in compounds.geometry]
        np.testing.assert_allclose(d[f"straight_{kind}_m"].to_numpy(), brute, rtol=0, atol=1e-9)
        walk = d[f"walk_{kind}_m"]
        assert (walk.dropna() >= d.loc[walk.notna(), f"straight_{kind}_m"] - 1e-9).all()
        for cid, fid in d[f"facility_{kind}_id"].dropna().items():
            assert walk[cid] >= comp[cid].distance(fac[fid]) - 1e-9
            checked += 1
    assert checked > 60


def test_agrees_with_networkx_oracle_random_city():
    """Split the snapped graph independently (brute-force nearest edge) and use networkx."""
    rng = np.random.default_rng(3)
    lines = []
    for k in range(8):
        lines.append(LineString([_at(0, k * 60), _at(420, k * 60 + rng.uniform(-20, 20))]))
        lines.append(LineString([_at(k * 60, 0), _at(k * 60 + rng.uniform(-20, 20), 420)]))
    # make junctions share vertices: node the lines
    roads = gpd.GeoDataFrame(
        geometry=list(shapely.get_parts(shapely.union_all(lines))), crs="EPSG:4546"
    )
    net = walking_network(roads, snap_tolerance_m=0.01)
    comp_pts = shapely.points(rng.uniform(0, 420, (25, 2)) + ORIGIN)
    fac_pts = shapely.points(rng.uniform(0, 420, (6, 2)) + ORIGIN)
    compounds = gpd.GeoDataFrame(
        {"compound_id": [f"c{i}" for i in range(25)]}, geometry=comp_pts, crs="EPSG:4546"
    )
    facilities = gpd.GeoDataFrame({"kind": ["market"] * 6}, geometry=fac_pts, crs="EPSG:4546")
    ours = nearest_facility_distances(compounds, roads, facilities, network=net, cutoff_m=10_000)
    g = net.to_networkx()
    segs = {(u, v): LineString([net.node_xy[u], net.node_xy[v]]) for u, v in g.edges()}
    splits: dict[tuple[int, int], list[tuple[float, str]]] = {}
    legs = {}
    for name, p in [
        *((f"c{i}", q) for i, q in enumerate(comp_pts)),
        *((f"f{i}", q) for i, q in enumerate(fac_pts)),
    ]:
        key = min(segs, key=lambda e, p=p: segs[e].distance(p))
        splits.setdefault(key, []).append((segs[key].project(p), name))
        legs[name] = segs[key].distance(p)
    for (u, v), pts in splits.items():
        g.remove_edge(u, v)
        chain = [(0.0, u), *sorted((t, f"p_{n}") for t, n in pts), (segs[(u, v)].length, v)]
        for (t0, a), (t1, b) in itertools.pairwise(chain):
            g.add_edge(a, b, length=t1 - t0)
    for name, leg in legs.items():
        g.add_edge(name, f"p_{name}", length=leg)
    dist = nx.multi_source_dijkstra_path_length(g, {f"f{i}" for i in range(6)}, weight="length")
    # a few edge pieces are not connected (lines that miss each other): NaN in both
    expected = pd.Series({f"c{i}": dist.get(f"c{i}", np.nan) for i in range(25)})
    assert expected.notna().sum() >= 20
    np.testing.assert_allclose(
        ours["walk_market_m"].to_numpy(), expected[ours.index].to_numpy(), atol=1e-6
    )


def test_centroid_access(roads, compounds, facilities):
    d = nearest_facility_distances(compounds, roads, facilities, access_from="centroid")
    # the diamond's centroid (50,20) is 20 m from the road
    assert d.loc["cA", "walk_market_m"] == pytest.approx(20 + 50 + 10)
    assert d.loc["cA", "straight_market_m"] == pytest.approx(math.hypot(50, 30))


def test_kinds_argument_and_missing_kind(roads, compounds, facilities):
    d = nearest_facility_distances(compounds, roads, facilities, kinds=["market", "elderly_care"])
    assert list(d.columns) == [
        "walk_market_m",
        "straight_market_m",
        "facility_market_id",
        "walk_elderly_care_m",
        "straight_elderly_care_m",
        "facility_elderly_care_id",
    ]
    assert d["walk_elderly_care_m"].isna().all()


def test_compound_without_geometry_kept_as_nan(roads, compounds, facilities):
    comp = compounds.copy()
    comp.loc[1, "geometry"] = None
    d = nearest_facility_distances(comp, roads, facilities)
    assert list(d.index) == ["cA", "cB", "cC"]
    assert math.isnan(d.loc["cB", "walk_market_m"])
    assert d.loc["cA", "walk_market_m"] == pytest.approx(70)


def test_input_errors(roads, compounds, facilities):
    with pytest.raises(CRSError):
        nearest_facility_distances(compounds.to_crs(4326), roads, facilities)
    with pytest.raises(SchemaError, match="compound_id"):
        nearest_facility_distances(compounds.drop(columns="compound_id"), roads, facilities)
    dup = compounds.assign(compound_id=["x", "x", "y"])
    with pytest.raises(SchemaError, match="duplicate"):
        nearest_facility_distances(dup, roads, facilities)
    with pytest.raises(SchemaError, match="kind"):
        nearest_facility_distances(compounds, roads, facilities.drop(columns="kind"))


def test_life_circle_gaps():
    d = pd.DataFrame(
        {
            "walk_kindergarten_m": [250.0, 350.0, np.nan],
            "walk_market_m": [450.0, 600.0, 100.0],
            "straight_market_m": [1.0, 1.0, 1.0],
        },
        index=pd.Index(["a", "b", "c"], name="compound_id"),
    )
    gaps = life_circle_gaps(d)
    assert list(gaps.columns) == ["gap_kindergarten", "gap_market"]
    assert gaps["gap_kindergarten"].tolist() == [False, True, True]  # 5-min 300 m
    assert gaps["gap_market"].tolist() == [False, True, False]  # 10-min 500 m
    custom = life_circle_gaps(d, {"market": 1000.0})
    assert list(custom.columns) == ["gap_market"]
    assert not custom["gap_market"].any()
    with pytest.raises(SchemaError, match="walk_park_m"):
        life_circle_gaps(d, {"park": 500.0})
    by_name = life_circle_gaps(d, {"kindergarten": "10min", "market": np.int64(400)})
    assert by_name["gap_kindergarten"].tolist() == [False, False, True]
    assert by_name["gap_market"].tolist() == [True, True, False]
    with pytest.raises(ProfileError, match="kindergarten"):
        life_circle_gaps(d, {"kindergarten": -1})
    with pytest.raises(ProfileError, match="20min"):
        life_circle_gaps(d, {"kindergarten": "20min"})
    assert default_thresholds()["kindergarten"] == 300.0
    assert default_thresholds()["health_station"] == 500.0


def test_straight_nearest_with_many_facilities_and_large_compounds():
    """The KD-tree pre-filter and its STRtree fallback give the brute-force nearest."""
    rng = np.random.default_rng(11)
    roads = gpd.GeoDataFrame(
        geometry=[LineString([_at(0, 0), _at(1000, 0)]), LineString([_at(0, 0), _at(0, 1000)])],
        crs="EPSG:4546",
    )
    small = shapely.buffer(shapely.points(rng.uniform(0, 1000, (30, 2)) + ORIGIN), 10)
    long_thin = [
        shapely.box(X0 + 10, Y0 + 500, X0 + 990, Y0 + 505),
        shapely.box(*_at(400, 20), *_at(405, 980)),
    ]
    geoms = [*small, *long_thin]
    compounds = gpd.GeoDataFrame(
        {"compound_id": [f"c{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4546"
    )
    facilities = gpd.GeoDataFrame(
        {"kind": ["market"] * 40},
        geometry=shapely.points(rng.uniform(0, 1000, (40, 2)) + ORIGIN),
        crs="EPSG:4546",
    )
    d = nearest_facility_distances(compounds, roads, facilities, cutoff_m=5000)
    brute = [min(g.distance(f) for f in facilities.geometry) for g in geoms]
    np.testing.assert_allclose(d["straight_market_m"].to_numpy(), brute, rtol=0, atol=1e-9)
    assert (d["walk_market_m"] >= d["straight_market_m"]).all()


def test_prebuilt_network_without_roads(roads, compounds, facilities):
    net = walking_network(roads)
    a = nearest_facility_distances(compounds, roads, facilities)
    b = nearest_facility_distances(compounds, None, facilities, network=net)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="roads"):
        nearest_facility_distances(compounds, None, facilities)


def test_node_crossings_option():
    lines = [LineString([_at(0, 50), _at(100, 50)]), LineString([_at(50, 0), _at(50, 100)])]
    roads = gpd.GeoDataFrame(geometry=lines, crs="EPSG:4546")
    assert walking_network(roads).n_edges == 2  # a bridge: no junction
    crossed = walking_network(roads, node_crossings=True)
    assert crossed.n_nodes == 5
    assert crossed.n_edges == 4
    g = crossed.to_networkx()
    assert nx.is_connected(g)
