"""Benchmark: life-circle walking distances, yulin_gis vs networkx (ANCHORS §4).

Generates a city-like road network (jittered grid, ~22 % of blocks' sides removed so
there are dead ends, every 8th street kept whole as an arterial), compound polygons and 6
kinds of facilities; then

- ours: ``walking_network`` + ``nearest_facility_distances`` (STRtree snapping, edge
  splitting, one ``scipy.sparse.csgraph.dijkstra`` per kind);
- networkx: ``multi_source_dijkstra_path_length(..., cutoff=)`` per kind on the *same*
  split graph (same snapped nodes, access points and access legs), as the oracle;

checks both give the same distances (max |difference|, NaN pattern) and prints ratios.

Usage::

    python scripts/bench_accessibility.py --size a          # ~20k nodes, 10k compounds
    python scripts/bench_accessibility.py --size b          # ~200k nodes, 100k compounds
    python scripts/bench_accessibility.py --size b --facility-scale 10
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from yulin_gis.survey import _accessibility as acc

SIZES = {"a": (144, 10_000), "b": (456, 100_000)}
KINDS = [
    "kindergarten",
    "health_station",
    "elderly_care",
    "community_service",
    "market",
    "express_station",
]
# facilities per kind for size b (size a: a tenth, at least 2)
PER_KIND_B = [20, 50, 100, 150, 220, 296]
SPACING = 90.0
X0, Y0 = 400_000.0, 2_480_000.0
ORIGIN = np.array([X0, Y0])


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_city(size: str, facility_scale: int, seed: int = 0) -> dict[str, Any]:
    """Roads, compounds and facilities of a synthetic city."""
    n, n_comp = SIZES[size]
    rng = np.random.default_rng(seed)
    xy = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1) * SPACING
    xy = xy + rng.normal(0, 10, xy.shape) + ORIGIN
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    segs = []
    for di, dj in ((1, 0), (0, 1)):
        a = (ii + di < n) & (jj + dj < n)
        arterial = (jj % 8 == 0) if di == 1 else (ii % 8 == 0)
        keep = a & (arterial | (rng.random(a.shape) > 0.22))
        p = xy[ii[keep], jj[keep]]
        q = xy[ii[keep] + di, jj[keep] + dj]
        segs.append(np.stack([p, q], axis=1))
    coords = np.concatenate(segs)
    roads = gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(len(coords))]},
        geometry=shapely.linestrings(coords),
        crs="EPSG:4546",
    )
    extent = (n - 1) * SPACING
    centre = rng.uniform(0, extent, (n_comp, 2)) + ORIGIN
    half = rng.uniform(20, 60, (n_comp, 2))
    compounds = gpd.GeoDataFrame(
        {"compound_id": [f"C{i:06d}" for i in range(n_comp)]},
        geometry=shapely.box(*(centre - half).T, *(centre + half).T),
        crs="EPSG:4546",
    )
    per_kind = [max(2, c // (1 if size == "b" else 10)) * facility_scale for c in PER_KIND_B]
    kinds = np.repeat(KINDS, per_kind)
    fxy = rng.uniform(0, extent, (len(kinds), 2)) + ORIGIN
    facilities = gpd.GeoDataFrame(
        {"facility_id": [f"F{i:05d}" for i in range(len(kinds))], "kind": kinds},
        geometry=shapely.points(fxy),
        crs="EPSG:4546",
    )
    return {"roads": roads, "compounds": compounds, "facilities": facilities}


def run_networkx(
    net: acc.WalkNetwork, compounds: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, cutoff: float
) -> tuple[dict[str, np.ndarray], float, float, float]:
    """The same split graph in networkx; returns distances, build, query and query CPU s."""
    origins = np.asarray(compounds.geometry.values, dtype=object)
    fac_geoms = np.asarray(facilities.geometry.values, dtype=object)
    snap_c, snap_f = acc._snap(net, origins), acc._snap(net, fac_geoms)
    nc = len(origins)
    nodes, u, v, w, _ = acc._split_at(
        net, np.concatenate([snap_c.edge, snap_f.edge]), np.concatenate([snap_c.pos, snap_f.pos])
    )
    c_node, f_node = nodes[:nc], nodes[nc:]
    t0 = time.perf_counter()
    g = nx.Graph()
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    sources_of: dict[str, list[Any]] = {}
    for i, (kind, node, leg) in enumerate(
        zip(facilities["kind"], f_node.tolist(), snap_f.leg.tolist(), strict=True)
    ):
        if leg > 0:
            g.add_edge(("fac", i), node, weight=leg)
            sources_of.setdefault(kind, []).append(("fac", i))
        else:
            sources_of.setdefault(kind, []).append(node)
    build = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    out = {}
    for kind in KINDS:
        dist = nx.multi_source_dijkstra_path_length(g, set(sources_of[kind]), cutoff=cutoff)
        d = np.array([dist.get(n, np.inf) for n in c_node.tolist()]) + snap_c.leg
        d[d > cutoff] = np.nan
        out[kind] = d
    return out, build, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    """Run the benchmark and print a Markdown table row."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="a")
    ap.add_argument("--facility-scale", type=int, default=1)
    ap.add_argument("--cutoff", type=float, default=2000.0)
    ap.add_argument("--skip-networkx", action="store_true")
    ap.add_argument("--out", default="benchmarks/accessibility.md", help="Markdown page written")
    args = ap.parse_args()

    import scipy.sparse.csgraph  # noqa: F401  (import once, outside the timings)

    t0 = time.perf_counter()
    city = make_city(args.size, args.facility_scale)
    print(f"generated city in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    net = acc.walking_network(city["roads"])
    _ = net.tree  # the STRtree of edges is built lazily: count it in the build
    t_build = time.perf_counter() - t0
    print(f"network: {net.n_nodes} nodes, {net.n_edges} edges; build {t_build:.3f} s")
    counts = city["facilities"]["kind"].value_counts().reindex(KINDS).tolist()
    print(f"compounds {len(city['compounds'])}, facilities per kind {counts}")

    t0, c0 = time.perf_counter(), time.process_time()
    ours = acc.nearest_facility_distances(
        city["compounds"],
        city["roads"],
        city["facilities"],
        kinds=KINDS,
        cutoff_m=args.cutoff,
        network=net,
    )
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    rss_ours = rss_mb()
    # the Dijkstra stage alone (6 kinds), on the split graph
    origins = np.asarray(city["compounds"].geometry.values, dtype=object)
    fgeo = np.asarray(city["facilities"].geometry.values, dtype=object)
    t0 = time.perf_counter()
    snap_c, snap_f = acc._snap(net, origins), acc._snap(net, fgeo)
    t_snap = time.perf_counter() - t0
    nodes, u, v, w, n_nodes = acc._split_at(
        net, np.concatenate([snap_c.edge, snap_f.edge]), np.concatenate([snap_c.pos, snap_f.pos])
    )
    nc = len(origins)
    matrix, f_source = acc._graph_with_sources(n_nodes, u, v, w, nodes[nc:], snap_f.leg)
    kinds_arr = city["facilities"]["kind"].to_numpy()
    t0, c0 = time.perf_counter(), time.process_time()
    for kind in KINDS:
        acc._distances_for_kind(
            matrix, f_source, kinds_arr == kind, nodes[:nc], snap_c.leg, args.cutoff
        )
    t_dij, c_dij = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"ours: total {t_ours:.3f} s ({c_ours:.3f} s CPU; snap {t_snap:.3f} s, "
        f"dijkstra x6 {t_dij:.3f} s, {c_dij:.3f} s CPU); "
        f"split graph {n_nodes} nodes; peak RSS {rss_ours:.0f} MB"
    )
    if args.skip_networkx:
        return
    ref, nx_build, nx_query, nx_cpu = run_networkx(
        net, city["compounds"], city["facilities"], args.cutoff
    )
    worst, nan_mismatch = 0.0, 0
    for kind in KINDS:
        a = ours[f"walk_{kind}_m"].to_numpy()
        b = ref[kind]
        nan_mismatch += int((np.isnan(a) != np.isnan(b)).sum())
        both = ~np.isnan(a) & ~np.isnan(b)
        worst = max(worst, float(np.abs(a[both] - b[both]).max(initial=0.0)))
        below = (a[both] < ours[f"straight_{kind}_m"].to_numpy()[both] - 1e-9).sum()
        assert below == 0, f"{kind}: walking distance below straight line"
    found = sum(int(ours[f"walk_{k}_m"].notna().sum()) for k in KINDS)
    print(
        f"networkx: build {nx_build:.3f} s, multi_source_dijkstra x6 {nx_query:.3f} s "
        f"({nx_cpu:.3f} s CPU); "
        f"peak RSS {rss_mb():.0f} MB"
    )
    print(
        f"agreement: max |ours - networkx| = {worst:.3g} m over {found} compound-kind pairs; "
        f"NaN mismatches {nan_mismatch}"
    )
    print(
        f"ratio networkx / ours (dijkstra stage): {nx_query / t_dij:.1f}x wall, "
        f"{nx_cpu / c_dij:.1f}x CPU; networkx query / our whole call: "
        f"{nx_query / t_ours:.2f}x wall, {nx_cpu / c_ours:.2f}x CPU"
    )
    _write_page(args, city, net, t_build, (t_ours, c_ours, rss_ours, t_snap, t_dij, c_dij),
                (nx_build, nx_query, nx_cpu), worst, nan_mismatch, found)


def _write_page(args: argparse.Namespace, city: dict, net: object, t_build: float,
                ours: tuple, nx_res: tuple, worst: float, nan_mismatch: int, found: int) -> None:
    """benchmarks/accessibility.md from this run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_common import header, headline

    t_ours, c_ours, rss_ours, t_snap, t_dij, c_dij = ours
    nx_build, nx_query, nx_cpu = nx_res
    command = "python scripts/bench_accessibility.py " + " ".join(sys.argv[1:])
    lines = [
        *header("Life-circle walking distances: benchmark (ANCHORS §4)", command),
        headline(topic="Walking distances (§4)", metric="CPU-s, one run",
                 data=f"size {args.size}: {net.n_nodes:,} nodes, {len(city['compounds']):,} "  # type: ignore[attr-defined]
                      f"compounds, {len(KINDS)} kinds",
                 ours=f"Dijkstra ×{len(KINDS)} {c_dij:.2f}; whole call {c_ours:.2f}",
                 anchor=f"networkx multi-source Dijkstra {nx_cpu:.2f}",
                 ratio=f"{c_dij / nx_cpu:.2f} (Dijkstra stage); {c_ours / nx_cpu:.2f} (whole call)",
                 exact=f"max |ours − networkx| {worst:.3g} m over {found:,} pairs; "
                       f"NaN mismatches {nan_mismatch}; walk ≥ straight line always"),
        "",
        "| step | wall s | CPU s |", "|---|---|---|",
        f"| ours: walking_network build | {t_build:.3f} | – |",
        f"| ours: nearest_facility_distances, whole call (peak RSS {rss_ours:.0f} MB) | {t_ours:.3f} | {c_ours:.3f} |",
        f"| ours: snapping (inside the call) | {t_snap:.3f} | – |",
        f"| ours: Dijkstra ×{len(KINDS)} (inside the call) | {t_dij:.3f} | {c_dij:.3f} |",
        f"| networkx: build | {nx_build:.3f} | – |",
        f"| networkx: multi_source_dijkstra ×{len(KINDS)} | {nx_query:.3f} | {nx_cpu:.3f} |",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
