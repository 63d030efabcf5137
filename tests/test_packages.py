"""Tests of contiguous packaging (yulin_gis.packaging._packages)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from yulin_gis.errors import ValidationError
from yulin_gis.packaging import (
    REASON_ISLAND,
    REASON_PIECE_BELOW,
    REASON_SINGLE_ABOVE,
    REASON_UNIT_BELOW,
    PackageResult,
    make_packages,
    partition_arrays,
    polsby_popper,
)

CRS = "EPSG:4546"


def _row(cid: str, geom: shapely.Geometry, comm: str, hh: int, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {"compound_id": cid, "community_id": comm, "street": "S1",
                               "county": "玉州区", "households": hh, "buildings": 2,
                               "floor_area_m2": 1000.0, "cost_yuan": 1e5, "priority": 50.0,
                               "eligible": True, "exclusion_reason": "", "geometry": geom}
    base.update(extra)
    return base


def _grid(prefix: str, comm: str, x0: float, y0: float, nx_: int, ny_: int, hh: int,
          size: float = 100.0) -> list[dict[str, object]]:
    return [_row(f"{prefix}{i}{j}", shapely.box(x0 + i * size, y0 + j * size,
                                                x0 + (i + 1) * size, y0 + (j + 1) * size),
                 comm, hh, priority=float(10 * i + j))
            for i in range(nx_) for j in range(ny_)]


@pytest.fixture
def city() -> gpd.GeoDataFrame:
    """A few communities with the awkward cases packaging must handle."""
    rows = _grid("A", "A", 0, 0, 4, 3, 400)  # 4,800 households: feasible
    rows.append(_row("A-scatter", shapely.box(440, 0, 470, 30), "A", 100))  # 40 m off: absorbed
    rows.append(_row("A-island", shapely.box(3000, 3000, 3050, 3050), "A", 100))  # out of reach
    rows.append(_row("A-new", shapely.box(0, 300, 100, 400), "A", 900, eligible=False,
                     exclusion_reason="built after 2005"))
    rows += _grid("B", "B", 0, 1000, 2, 2, 300)
    rows.append(_row("B-big", shapely.box(200, 1000, 300, 1100), "B", 3500))
    rows += _grid("C", "C", 1000, 0, 2, 1, 200)  # unit total 400 < floor
    rows += _grid("D", "D", 2000, 0, 3, 1, 400)  # 1,200: a package
    rows += _grid("Dx", "D", 2000, 800, 2, 1, 400)  # 800, 700 m away: disconnected piece
    rows += [_row(f"E{k}", shapely.Point(5000 + 40 * (k % 3), 40 * (k // 3)), "E", 300)
             for k in range(6)]  # point-only community: 1,800
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)


@pytest.fixture
def result(city: gpd.GeoDataFrame) -> PackageResult:
    return make_packages(city, min_households=1000, max_households=3000, absorb_gap_m=60.0)


def _pkg_of(res: PackageResult, cid: str) -> str:
    return str(res.assignments.set_index("compound_id").loc[cid, "package_id"])


def _check_invariants(res: PackageResult, compounds: gpd.GeoDataFrame, unit: str,
                      floor: float, ceiling: float) -> None:
    asg = res.assignments
    assert sorted(asg["compound_id"]) == sorted(compounds["compound_id"].astype(str))
    elig = asg[asg["eligible"]]
    assert (elig["package_id"] != "").all()
    assert asg["compound_id"].is_unique
    assert (asg.loc[~asg["eligible"], "package_id"] == "").all()
    assert res.packages["package_id"].is_unique
    assert set(elig["package_id"]) == set(res.packages["package_id"])
    for pid, members in elig.groupby("package_id")["compound_id"]:
        assert elig.loc[members.index, unit].nunique() == 1, pid
        assert nx.is_connected(res.graph.subgraph(members.tolist())), pid
    totals = res.packages.set_index("package_id")["households"]
    counts = elig.groupby("package_id").size()
    assert (res.packages.set_index("package_id")["n_compounds"] == counts.reindex(totals.index)).all()
    ok = res.packages[~res.packages["flag"]]
    assert ((ok["households"] >= floor) & (ok["households"] <= ceiling)).all()
    bad = res.packages[(res.packages["households"] < floor) | (res.packages["households"] > ceiling)]
    assert bad["flag"].all()
    assert (bad["flag_reason"] != "").all()


def test_invariants(result: PackageResult, city: gpd.GeoDataFrame) -> None:
    _check_invariants(result, city, "community_id", 1000, 3000)


def test_feasible_community_within_limits(result: PackageResult) -> None:
    pk = result.packages[result.packages["community_id"] == "A"]
    main = pk[pk["package_id"] != _pkg_of(result, "A-island")]
    assert len(main) >= 2
    assert ((main["households"] >= 1000) & (main["households"] <= 3000)).all()
    assert not main["flag"].any()
    assert main["households"].sum() == 4900  # 12 × 400 + the absorbed scattered compound


def test_scattered_compound_absorbed(result: PackageResult) -> None:
    pid = _pkg_of(result, "A-scatter")
    assert pid.startswith("A-P")
    members = result.assignments[result.assignments["package_id"] == pid]
    assert len(members) > 1
    kinds = {d.get("kind") for _, _, d in result.graph.edges("A-scatter", data=True)}
    assert kinds == {"reach"}


def test_flags_with_reasons(result: PackageResult) -> None:
    pk = result.packages.set_index("package_id")
    assert pk.loc[_pkg_of(result, "A-island"), "flag_reason"] == REASON_ISLAND
    assert pk.loc[_pkg_of(result, "B-big"), "flag_reason"] == REASON_SINGLE_ABOVE
    assert pk.loc[_pkg_of(result, "C00"), "flag_reason"] == REASON_UNIT_BELOW
    assert pk.loc[_pkg_of(result, "Dx00"), "flag_reason"] == REASON_PIECE_BELOW
    assert not pk.loc[_pkg_of(result, "D00"), "flag"]
    assert _pkg_of(result, "C00") == _pkg_of(result, "C10")
    asg = result.assignments.set_index("compound_id")
    assert asg.loc["A-island", "package_reason"] == REASON_ISLAND
    assert result.summary["flag_reasons"][REASON_UNIT_BELOW] == 1


def test_point_only_community(result: PackageResult) -> None:
    pids = {_pkg_of(result, f"E{k}") for k in range(6)}
    assert len(pids) == 1
    row = result.packages.set_index("package_id").loc[pids.pop()]
    assert row["households"] == 1800
    assert not row["flag"]


def test_ineligible_reported_with_reason(result: PackageResult) -> None:
    row = result.assignments.set_index("compound_id").loc["A-new"]
    assert row["package_id"] == ""
    assert row["package_reason"] == "not eligible: built after 2005"
    assert not row["eligible"]
    assert result.summary["n_not_eligible"] == 1


def test_package_table_totals_and_ids(result: PackageResult, city: gpd.GeoDataFrame) -> None:
    pk = result.packages
    elig = city[city["eligible"]]
    assert pk["households"].sum() == elig["households"].sum()
    assert pk["buildings"].sum() == elig["buildings"].sum()
    assert pk["cost_yuan"].sum() == pytest.approx(elig["cost_yuan"].sum())
    assert all(pid.startswith(f"{c}-P") for pid, c in zip(pk["package_id"], pk["community_id"], strict=True))
    assert "A-P01" in set(pk["package_id"])
    assert (pk["county"] == "玉州区").all()
    areal = pk[pk.geometry.area > 0]
    assert areal["compactness"].between(0, 1).all()


def test_deterministic(city: gpd.GeoDataFrame) -> None:
    a = make_packages(city, seed=3)
    b = make_packages(city.sample(frac=1.0, random_state=1), seed=3)
    pd.testing.assert_frame_equal(
        a.assignments.sort_values("compound_id", ignore_index=True),
        b.assignments.sort_values("compound_id", ignore_index=True))
    pd.testing.assert_frame_equal(pd.DataFrame(a.packages.drop(columns="geometry")),
                                  pd.DataFrame(b.packages.drop(columns="geometry")))
    assert a.packages.geometry.geom_equals(b.packages.geometry).all()


def test_street_unit_allows_crossing_communities(city: gpd.GeoDataFrame) -> None:
    res = make_packages(city, unit="street")
    _check_invariants(res, city, "street", 1000, 3000)
    assert res.packages["package_id"].str.startswith("S1-P").all()


def test_building_ceiling(city: gpd.GeoDataFrame) -> None:
    res = make_packages(city, max_buildings=6)
    ok = res.packages[~res.packages["flag"]]
    assert (ok["buildings"] <= 6).all()
    assert len(ok) > 0
    _check_invariants(res, city, "community_id", 1000, 3000)


def test_bad_limits_rejected(city: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValidationError):
        make_packages(city, min_households=5000, max_households=3000)
    with pytest.raises(ValidationError):
        make_packages(city.drop(columns="households"))


def test_polsby_popper_values() -> None:
    square = shapely.box(0, 0, 10, 10)
    two = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(14, 0, 24, 10)])
    pp = polsby_popper([square, two, shapely.Point(0, 0)])
    assert pp[0] == pytest.approx(np.pi / 4)
    assert pp[1] < pp[0]
    assert np.isnan(pp[2])
    closed = polsby_popper([two], closing_m=3.0)
    assert closed[0] > pp[1]


def test_partition_arrays_path_splits_at_floor() -> None:
    n = 10
    u, v = np.arange(n - 1), np.arange(1, n)
    xy = np.column_stack([np.arange(n) * 10.0, np.zeros(n)])
    lab = partition_arrays(u, v, np.full(n, 300.0), xy, floor=1000, ceiling=3000)
    sizes = pd.Series(300.0, index=range(n)).groupby(lab).sum()
    assert len(sizes) == 2  # 3,000 households: at most 3 packages of 1,000; a path allows 2
    assert sizes.between(1000, 3000).all()


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 3), st.integers(0, 10_000))
def test_random_layouts_keep_invariants(nx_: int, ny_: int, n_comm: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(nx_):
        for j in range(ny_):
            if rng.random() < 0.15:
                continue
            gap = 120.0 if rng.random() < 0.1 else 100.0
            rows.append(_row(f"c{i}-{j}", shapely.box(i * gap, j * 100, i * gap + 95, j * 100 + 95),
                             f"K{i * n_comm // nx_}", int(rng.integers(50, 900)),
                             priority=float(rng.uniform(0, 100)),
                             eligible=bool(rng.random() > 0.1)))
    if not rows:
        return
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)
    res = make_packages(gdf, min_households=1000, max_households=2500, absorb_gap_m=30.0)
    _check_invariants(res, gdf, "community_id", 1000, 2500)
    again = make_packages(gdf, min_households=1000, max_households=2500, absorb_gap_m=30.0)
    pd.testing.assert_frame_equal(res.assignments, again.assignments)


def test_partition_arrays_grid_many_pieces() -> None:
    """Labels stay unique across pieces and restarts (re-split labels once collided)."""
    rng = np.random.default_rng(5)
    nx_, ny_ = 24, 15
    idx = np.arange(nx_ * ny_).reshape(nx_, ny_)
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    xy = np.column_stack([np.repeat(np.arange(nx_), ny_), np.tile(np.arange(ny_), nx_)]) * 50.0
    groups = np.repeat(np.arange(nx_) // 6, ny_)  # 4 units of 6 columns
    hh = rng.integers(50, 800, len(xy)).astype(float)
    prio = rng.uniform(0, 100, len(xy))
    lab = partition_arrays(u, v, hh, xy, floor=1000, ceiling=3000, priority=prio, groups=groups,
                           restarts=3)
    again = partition_arrays(u, v, hh, xy, floor=1000, ceiling=3000, priority=prio,
                             groups=groups, restarts=3)
    np.testing.assert_array_equal(lab, again)
    graph = nx.Graph(list(zip(u.tolist(), v.tolist(), strict=True)))
    sizes = pd.Series(hh).groupby(lab).sum()
    assert sizes.between(1000, 3000).all()
    for k in np.unique(lab):
        nodes = np.flatnonzero(lab == k)
        assert len(set(groups[nodes])) == 1
        assert nx.is_connected(graph.subgraph(nodes.tolist()))
    assert len(sizes) >= 0.95 * hh.sum() / 1400


def test_items_and_street_aggregated(city: gpd.GeoDataFrame) -> None:
    city = city.assign(items="")
    city.loc[city["compound_id"] == "E0", "items"] = "roof, pipes"
    city.loc[city["compound_id"] == "E1", "items"] = "pipes,lift"
    city.loc[city["compound_id"] == "E2", "street"] = None
    res = make_packages(city)
    row = res.packages.set_index("package_id").loc[_pkg_of(res, "E0")]
    assert row["items"] == "lift,pipes,roof"
    assert row["street"] == "S1"


def test_no_eligible_compounds(city: gpd.GeoDataFrame) -> None:
    res = make_packages(city.assign(eligible=False))
    assert len(res.packages) == 0
    assert (res.assignments["package_id"] == "").all()
    assert res.assignments["package_reason"].str.startswith("not eligible").all()
    assert res.summary["n_packages"] == 0


def test_barrier_splits_packages() -> None:
    rows = _grid("L", "K", 0, 0, 2, 2, 400) + _grid("R", "K", 210, 0, 2, 2, 400)
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)
    river = gpd.GeoDataFrame(geometry=[shapely.LineString([(205, -100), (205, 400)])], crs=CRS)
    open_ = make_packages(gdf, absorb_gap_m=0.0)
    cut = make_packages(gdf, barriers=river, absorb_gap_m=0.0)
    assert not cut.graph.has_edge("L10", "R00")
    assert open_.graph.has_edge("L10", "R00")
    for pid, members in cut.assignments.groupby("package_id")["compound_id"]:
        sides = {m[0] for m in members}
        assert len(sides) == 1, pid


def _same_result(a: PackageResult, b: PackageResult) -> None:
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.packages.drop(columns="geometry"), b.packages.drop(columns="geometry"))
    assert shapely.equals_exact(a.packages.geometry.values, b.packages.geometry.values, 0).all()
    assert sorted(map(sorted, a.graph.edges())) == sorted(map(sorted, b.graph.edges()))


def test_own_graph_path_equals_given_graph(city: gpd.GeoDataFrame) -> None:
    """make_packages's fast path (graph built inside, edges as row positions) gives the same
    packages as passing the same graph in (edges read back from networkx)."""
    from yulin_gis.packaging import compound_adjacency

    city = city.sample(frac=1.0, random_state=3)  # input order differs from id order
    own = make_packages(city, absorb_gap_m=60.0)
    given_graph = make_packages(city, graph=compound_adjacency(city), absorb_gap_m=60.0)
    _same_result(own, given_graph)


def test_own_graph_path_on_sample() -> None:
    """The same check on the embedded Yulin sample (1,500 compounds), some not eligible."""
    from yulin_gis.packaging import compound_adjacency
    from yulin_gis.sample import get_path

    comp = gpd.read_file(get_path("gpkg"), layer="compounds").to_crs(CRS)
    comp["eligible"] = comp["built_year"].fillna(2000) < 2000
    own = make_packages(comp)
    given_graph = make_packages(comp, graph=compound_adjacency(comp))
    _same_result(own, given_graph)
    assert own.summary["n_packages"] > 10
