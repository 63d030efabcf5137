"""The vectorised utility algorithms against plain oracles on random inputs.

* isolation impact (one DFS of the hub graph) against removing each segment's edges from the
  ``networkx`` graph and asking who still reaches a source;
* traces (level-by-level walk of the shortest-path tree) against ``networkx`` shortest paths
  (random lengths: the paths are unique);
* the joint trenches' segment–road choice (closed form, GEOS where undecided) against GEOS's
  overlay for every pair, with segments on buffer edges, ties and thresholds;
* the renewal reasons (written once per distinct part) against row-by-row formatting.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from yulin_gis.utilities import build_networks, isolation_impact, renewal_risk, trace_package

CRS = "EPSG:4546"
X0, Y0 = 500_000.0, 2_500_000.0


def _grid_network(seed: int, n: int = 9, spacing: float = 50.0) -> gpd.GeoDataFrame:
    """A water grid with random gaps (bridges, dead ends), service pipes joining mains
    mid-segment (T-junctions), an unconnected piece and random lengths (jittered nodes)."""
    rng = np.random.default_rng(seed)
    jit = rng.uniform(-4, 4, (n, n, 2))
    xy = {(i, j): (X0 + i * spacing + jit[i, j, 0], Y0 + j * spacing + jit[i, j, 1])
          for i in range(n) for j in range(n)}
    rows = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() < 0.72:
                    rows.append(LineString([xy[i, j], xy[i + di, j + dj]]))
    mains = list(rows)
    for k in rng.choice(len(mains), 12, replace=False):  # service pipes off a main's middle
        mid = mains[k].interpolate(rng.uniform(0.3, 0.7), normalized=True)
        rows.append(LineString([(mid.x, mid.y), (mid.x + rng.uniform(5, 20), mid.y + 15)]))
    rows.append(LineString([(X0 - 300, Y0), (X0 - 250, Y0)]))  # a piece without source
    rows.append(LineString([(X0 - 250, Y0), (X0 - 250, Y0 + 40)]))
    return gpd.GeoDataFrame({"segment_id": [f"w{k:03d}" for k in range(len(rows))],
                             "utility": "water_supply"}, geometry=rows, crs=CRS)


def _sources(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ends = shapely.get_coordinates(layer.geometry.to_numpy()[[0, len(layer) // 2]])[::2]
    return gpd.GeoDataFrame({"role": ["source", "source"]}, geometry=shapely.points(ends), crs=CRS)


def _compounds(seed: int, n: int = 60) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed + 100)
    x = X0 - 320 + rng.uniform(0, 750, n)
    y = Y0 - 20 + rng.uniform(0, 440, n)
    return gpd.GeoDataFrame({"compound_id": [f"c{k:02d}" for k in range(n)],
                             "households": rng.integers(10, 300, n)},
                            geometry=shapely.box(x, y, x + 12, y + 12), crs=CRS)


def _oracle_isolation(layer: gpd.GeoDataFrame, comp: gpd.GeoDataFrame,
                      src: gpd.GeoDataFrame) -> pd.DataFrame:
    net = build_networks(layer)["water_supply"]
    g = net.graph
    pts = shapely.points(net.node_xy)
    roots = {int(np.argmin(shapely.distance(pts, p))) for p in src.geometry}
    reach = set().union(*(nx.node_connected_component(g, r) for r in roots))
    geoms = net.segments.geometry.to_numpy()
    serving = {}  # nearest segment within 30 m; ties (several at 0 m): the tree's first
    ci, si = shapely.STRtree(geoms).query_nearest(comp.geometry.to_numpy(), max_distance=30)
    for k, s in zip(ci.tolist(), si.tolist(), strict=True):
        assert np.isclose(shapely.distance(geoms[s], comp.geometry.iloc[k]),
                          shapely.distance(geoms, comp.geometry.iloc[k]).min())
        serving.setdefault(k, s)
    node_u = net.segments["node_u"].to_numpy()
    rows = []
    for r, sid in enumerate(net.segments["segment_id"]):
        h = g.copy()
        h.remove_edges_from([(a, b, key) for a, b, key in g.edges(keys=True) if key == sid])
        after = set().union(*(nx.node_connected_component(h, x) for x in roots))
        cut = reach - after
        hit = sorted(k for k, s in serving.items() if s == r or node_u[s] in cut)
        rows.append({"segment_id": sid, "bridge": bool(cut),
                     "households_cut_off": int(comp["households"].to_numpy()[hit].sum()),
                     "compounds_cut_off": ",".join(sorted(comp["compound_id"].to_numpy()[hit])),
                     "no_source": not ({int(node_u[r]), int(net.segments["node_v"].iloc[r])}
                                       & reach)})
    return pd.DataFrame(rows)


def test_isolation_matches_networkx_edge_removal() -> None:
    for seed in (1, 2):
        layer = _grid_network(seed)
        comp, src = _compounds(seed), _sources(layer)
        ids = list(layer["segment_id"])
        got = isolation_impact(build_networks(layer), [*ids, "nope", ids[3]], comp, src)
        assert list(got["segment_id"]) == [*ids, "nope", ids[3]]
        assert got["no_source"].iloc[len(ids)] and got["utility"].iloc[len(ids)] == ""
        want = _oracle_isolation(layer, comp, src)
        mine = got.iloc[:len(ids)].reset_index(drop=True)
        for col in ("bridge", "households_cut_off", "compounds_cut_off", "no_source"):
            assert mine[col].tolist() == want[col].tolist(), (seed, col)
        assert want["bridge"].sum() >= 5 and want["no_source"].sum() >= 2


def test_traces_match_networkx_shortest_paths() -> None:
    layer = _grid_network(7)
    src = _sources(layer)
    nets = build_networks(layer)
    net = nets["water_supply"]
    rng = np.random.default_rng(7)
    x, y = X0 + rng.uniform(0, 380, 8), Y0 + rng.uniform(0, 380, 8)
    packages = gpd.GeoDataFrame({"package_id": [f"P{k}" for k in range(8)]},
                                geometry=shapely.box(x, y, x + 40, y + 40), crs=CRS)
    got = trace_package(nets, packages, src)
    g, seg = net.graph, net.segments
    pts = shapely.points(net.node_xy)
    roots = {int(np.argmin(shapely.distance(pts, p))) for p in src.geometry}
    dist, paths = nx.multi_source_dijkstra(g, roots, weight=lambda a, b, d: min(
        e["length_m"] for e in d.values()))
    node_sets = {sid: set() for sid in seg["segment_id"]}
    for a, b, key in g.edges(keys=True):
        node_sets[key] |= {a, b}
    for p, poly in zip(packages["package_id"], packages.geometry, strict=True):
        own = set(seg["segment_id"][shapely.intersects(seg.geometry.to_numpy(), poly)])
        path = set()
        for node in set().union(*(node_sets[s] for s in own)) if own else set():
            walk = paths.get(node, [])
            for a, b in itertools.pairwise(walk):
                path.add(min(g[a][b].items(), key=lambda kv: kv[1]["length_m"])[0])
        mine = got[got["package_id"] == p]
        assert set(mine.loc[mine["role"] != "upstream", "segment_id"]) == own
        assert set(mine.loc[mine["role"] == "upstream", "segment_id"]) == path - own
        for sid, d in zip(mine["segment_id"], mine["dist_to_root_m"], strict=True):
            best = min((dist[n] for n in node_sets[sid] if n in dist), default=np.inf)
            assert np.isclose(d, best) or (np.isinf(d) and np.isinf(best))
    assert (got["role"] == "upstream").sum() > 20
    assert got.equals(got.sort_values(["package_id", "utility", "role", "dist_to_root_m",
                                       "segment_id"], kind="stable").reset_index(drop=True))


def _segment_roads_geos(segs: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, buffer_m: float,
                        share: float) -> pd.DataFrame:
    """The plain GEOS computation (main's): every pair's length inside the road's buffer."""
    s, r = segs.geometry.to_numpy(), roads.geometry.to_numpy()
    si, ri = shapely.STRtree(r).query(s, predicate="dwithin", distance=buffer_m)
    zone = shapely.buffer(r, buffer_m, quad_segs=8)
    along = shapely.length(shapely.intersection(s[si], zone[ri]))
    total = np.maximum(shapely.length(s[si]), 1e-9)
    keep = (along / total >= share) | (along >= 20.0)
    df = pd.DataFrame({"s": si[keep], "r": ri[keep], "along": along[keep]})
    return df.sort_values(["s", "along", "r"], ascending=[True, False, True]).drop_duplicates("s")


def test_segment_road_choice_equals_geos_overlay() -> None:
    from yulin_gis.utilities._trenches import _segment_roads

    rng = np.random.default_rng(11)
    roads = [LineString([(X0, Y0 + k * 40), (X0 + 400, Y0 + k * 40)]) for k in range(6)]
    roads += [LineString([(X0 + k * 60, Y0 - 20), (X0 + k * 60, Y0 + 230)]) for k in range(7)]
    roads += [LineString([(X0 + 10, Y0 + 10), (X0 + 150, Y0 + 60), (X0 + 300, Y0 + 20)])]
    roads += [LineString([(X0 + 500, Y0), (X0 + 500, Y0 + 100)]),  # two parallel roads 10 m
              LineString([(X0 + 510, Y0), (X0 + 510, Y0 + 100)])]  # apart: ties inside both
    segs = []
    for _ in range(1500):
        x, y = X0 + rng.uniform(-10, 420), Y0 + rng.uniform(-20, 240)
        ang, length = rng.uniform(0, np.pi), rng.uniform(5, 80)
        segs.append(LineString([(x, y), (x + length * np.cos(ang), y + length * np.sin(ang))]))
    for k in range(6):  # exactly on a buffer edge (8 m off a road, parallel), and near it
        for off in (8.0, 8.0 + 1e-12, 7.9999999, 8.0000001):
            segs.append(LineString([(X0 + 30 + k, Y0 + k * 40 + off),
                                    (X0 + 90 + k, Y0 + k * 40 + off)]))
    segs += [LineString([(X0 + 505, Y0 + 20), (X0 + 505, Y0 + 60)]),  # midway: a tie
             LineString([(X0 + 100, Y0 + 30), (X0 + 100, Y0 + 50)]),  # 16 m inside of 20
             LineString([(X0 + 200, Y0 + 28), (X0 + 200, Y0 + 68)])]  # along exactly 20 m
    seg_gdf = gpd.GeoDataFrame(geometry=segs, crs=CRS)
    road_gdf = gpd.GeoDataFrame(geometry=roads, crs=CRS)
    want = _segment_roads_geos(seg_gdf, road_gdf, 8.0, 0.5)
    got = _segment_roads(seg_gdf, road_gdf, 8.0, 0.5)
    assert len(want) > 300
    assert got["s"].tolist() == want["s"].tolist()
    assert got["r"].tolist() == want["r"].tolist()
    assert np.allclose(got["along"], want["along"], rtol=1e-9, atol=1e-8)


def _reason_oracle(row: pd.Series, inp: pd.Series, served: float | None, road: str | None,
                   hazard_texts: list[str]) -> str:
    parts = list(hazard_texts)
    age, life = row["age_years"], row["design_life_years"]
    if np.isnan(age):
        parts.append("敷设年份不详")
    elif age >= life:
        parts.append(f"管龄{age:.0f}年，超过设计年限{life:.0f}年")
    else:
        parts.append(f"管龄{age:.0f}年/设计年限{life:.0f}年")
    cond = inp["condition"]
    if cond in ("poor", "bad"):
        parts.append("管况" + {"poor": "较差", "bad": "严重破损"}[cond])
    if served:
        parts.append(f"服务约{served:.0f}户")
    if road is not None:
        parts.append("位于" + {"arterial": "主干路", "branch": "支路"}.get(road, road))
    return "；".join(parts)


def test_renewal_reasons_match_row_by_row_formatting() -> None:
    rng = np.random.default_rng(5)
    n = 400
    ids = [f"s{k}" for k in range(n)]
    util = rng.choice(["gas", "water_supply", "sewer", "power"], n)
    mat = rng.choice(["grey_cast_iron", "pe", "steel", "concrete", "cement", None], n)
    year = rng.choice([1975.0, 1990.0, 2001.0, 2015.0, np.nan], n)
    cond = rng.choice(["good", "fair", "poor", "bad", None], n)
    layer = pd.DataFrame({"segment_id": ids, "utility": util, "material": mat,
                          "install_year": year, "condition": cond})
    served = pd.Series(rng.integers(0, 800, n).astype(float), index=ids).iloc[::2]
    roads = pd.Series(rng.choice(["arterial", "branch", "lane"], n), index=ids).iloc[::3]
    rules = [{"code": "a", "utility": ["gas"], "material": ["grey_cast_iron"], "reason_zh": "灰口"},
             {"code": "b", "utility": ["gas", "water_supply"], "older_than_years": 30,
              "reason_zh": "超龄"},
             {"code": "c", "utility": ["sewer"], "always": True, "reason_zh": "合流"}]
    got = renewal_risk(layer, as_of_year=2025, households_served=served, road_classes=roads,
                       params={"hazard_rules": rules})
    for i, (_, row) in enumerate(got.iterrows()):
        inp = layer.iloc[i]
        age = row["age_years"]
        texts = [t for rule, t in zip(rules, ("灰口", "超龄", "合流"), strict=True)
                 if inp["utility"] in rule["utility"]
                 and (inp["material"] in rule.get("material", [inp["material"]]))
                 and (not rule.get("older_than_years") or (not np.isnan(age) and age > 30))]
        want = _reason_oracle(row, inp, served.get(ids[i]), roads.get(ids[i]), texts)
        assert row["reason"] == want, (i, row["reason"], want)
    assert got["reason"].str.contains("灰口").any() and got["reason"].str.contains("位于").any()


def test_isolation_without_compounds_or_sources() -> None:
    layer = gpd.GeoDataFrame({"segment_id": ["a", "b"], "utility": ["gas", "power"]},
                             geometry=[LineString([(X0, Y0), (X0 + 50, Y0)]),
                                       LineString([(X0, Y0 + 5), (X0 + 50, Y0 + 5)])], crs=CRS)
    comp = gpd.GeoDataFrame({"compound_id": ["c"], "households": [40]},
                            geometry=[box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)], crs=CRS)
    got = isolation_impact(build_networks(layer), ["b", "a"], comp,
                           gpd.GeoDataFrame({"role": ["source"]}, geometry=[Point(X0, Y0)],
                                            crs=CRS)).set_index("segment_id")
    assert got.loc["a", "households_cut_off"] == 40 and got.loc["a", "compounds_cut_off"] == "c"
    assert bool(got.loc["a", "bridge"]) and got.loc["b", "utility"] == "power"
    assert got.loc["b", "households_cut_off"] == 0
