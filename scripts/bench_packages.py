"""Benchmark the packaging engine against regionalisation tools (ANCHORS §1).

Builds the synthetic layout of ANCHORS §1 (street blocks separated by 12–20 m roads, 8 %
vacant lots, about N/500 isolated islands, households 50–800, build years 1975–2010 as a
smooth field, communities of ~250 compounds), one adjacency graph for every tool
(polygons within 21 m, each disconnected piece linked to the main one by its shortest
gap), and runs beside ``yulin_gis.packaging._packages.partition_arrays``: pymetis (contiguous,
ufactor 500, k = households / 2,000), pygeoda ``maxp_greedy`` and spopt
``MaxPHeuristic`` (3 constructions + 1 annealing pass) where they finish in reasonable
time. Also the "split by community first" case.

Usage::

    python scripts/bench_packages.py --sizes 500,2000,10000,50000 --out benchmarks/packages.md

The anchor tools are benchmark-only (``pip install pymetis pygeoda spopt``); yulin_gis
never imports them.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yulin_gis.packaging import (
    compound_adjacency,
    graph_arrays,
    make_packages,
    partition_arrays,
    polsby_popper,
)

FLOOR, CEILING, TARGET = 1000.0, 3000.0, 2000.0
GAP_M = 21.0
CLOSING_M = 10.0
COMMUNITY_CELLS = 16
PYGEODA_ITERATIONS = 99  # pygeoda's default  # ~16 × 16 cells ≈ 250 compounds per community


# --------------------------------------------------------------------------- layout


def _axis(n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Cell start coordinates along one axis: 40–90 m cells, 0–4 m walls, roads every 3–5."""
    starts = np.empty(n_cells)
    pos, run = 0.0, int(rng.integers(3, 6))
    for k in range(n_cells):
        starts[k] = pos
        pos += rng.uniform(40, 90)
        run -= 1
        if run == 0:
            pos += rng.uniform(12, 20)
            run = int(rng.integers(3, 6))
        else:
            pos += rng.uniform(0, 4) if rng.random() < 0.6 else 0.0
    return np.r_[starts, pos]


def make_layout(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Synthetic compounds per ANCHORS §1 (EPSG:4546)."""
    rng = np.random.default_rng(seed)
    n_islands = max(1, n // 500)
    side = int(np.ceil(np.sqrt((n - n_islands) / 0.90)))
    xs, ys = _axis(side, rng), _axis(side, rng)
    ci, ri = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ci, ri = ci.ravel(), ri.ravel()
    keep = rng.random(len(ci)) >= 0.08
    ci, ri = ci[keep][: n - n_islands], ri[keep][: n - n_islands]
    gap = rng.uniform(0, 3, len(ci)) * (rng.random(len(ci)) < 0.5)
    x0, x1 = xs[ci], xs[ci + 1] - gap - np.where(np.diff(xs)[ci] > 100, 20, 0)
    y0, y1 = ys[ri], ys[ri + 1] - np.where(np.diff(ys)[ri] > 100, 20, 0)
    x1 = np.maximum(x1, x0 + 30)
    y1 = np.maximum(y1, y0 + 30)
    geoms = list(shapely.box(x0, y0, x1, y1))
    comm = [f"C{c // COMMUNITY_CELLS:03d}{r // COMMUNITY_CELLS:03d}" for c, r in zip(ci, ri, strict=True)]
    # islands: lone compounds 100-300 m outside the grid
    span = xs[-1]
    for k in range(n_islands):
        t = rng.uniform(0, span)
        off = rng.uniform(100, 300)
        x, y = (t, -off - 60) if k % 2 == 0 else (-off - 60, t)
        geoms.append(shapely.box(x, y, x + 60, y + 60))
        cx, cy = min(max(x, 0), span - 1), min(max(y, 0), span - 1)
        ic, ir = int(np.searchsorted(xs, cx) - 1), int(np.searchsorted(ys, cy) - 1)
        comm.append(f"C{max(ic, 0) // COMMUNITY_CELLS:03d}{max(ir, 0) // COMMUNITY_CELLS:03d}")
    cent = shapely.centroid(np.asarray(geoms))
    gx, gy = shapely.get_x(cent), shapely.get_y(cent)
    field = (np.sin(gx / 900.0 + 0.7) + np.cos(gy / 700.0) + 0.5 * np.sin((gx + gy) / 400.0)) / 2.5
    year = np.clip(1992.5 + 17.5 * field + rng.normal(0, 1.5, len(geoms)), 1975, 2010).round()
    return gpd.GeoDataFrame({
        "compound_id": [f"Q{k:06d}" for k in range(len(geoms))],
        "community_id": comm,
        "households": rng.integers(50, 801, len(geoms)),
        "built_year": year.astype(int),
        "priority": (2010 - year) / 35 * 100,
    }, geometry=geoms, crs="EPSG:4546")


def build_graph(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Edges within 21 m plus one shortest link per disconnected piece; seconds taken."""
    t0 = time.perf_counter()
    graph = compound_adjacency(gdf, gap_m=GAP_M, unit=None)
    u, v, _ = graph_arrays(graph, gdf["compound_id"].tolist())
    comp = _components(len(gdf), u, v)
    main = np.bincount(comp).argmax()
    geoms = np.asarray(gdf.geometry.values)
    main_idx = np.flatnonzero(comp == main)
    tree = shapely.STRtree(geoms[main_idx])
    lu, lv = [], []
    for c in np.unique(comp):
        if c == main:
            continue
        members = np.flatnonzero(comp == c)
        src, dst = tree.query_nearest(geoms[members], return_distance=False, all_matches=False)
        d = shapely.distance(geoms[members[src]], geoms[main_idx[dst]])
        k = int(np.argmin(d))
        lu.append(members[src[k]])
        lv.append(main_idx[dst[k]])
    u = np.r_[u, np.minimum(lu, lv)].astype(np.int64)
    v = np.r_[v, np.maximum(lu, lv)].astype(np.int64)
    return u, v, time.perf_counter() - t0


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    return connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)),
                                directed=False)[1]


# --------------------------------------------------------------------------- tools


def run_ours(g: gpd.GeoDataFrame, u: np.ndarray, v: np.ndarray, groups: np.ndarray | None,
             xy: np.ndarray) -> np.ndarray:
    return partition_arrays(u, v, g["households"].to_numpy(float), xy, floor=FLOOR,
                            ceiling=CEILING, priority=g["priority"].to_numpy(float),
                            groups=groups, restarts=2, seed=0)


def _csr(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.r_[u, v], np.r_[v, u]
    order = np.lexsort((b, a))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b[order]


def run_pymetis(g: gpd.GeoDataFrame, u: np.ndarray, v: np.ndarray, groups: np.ndarray | None,
                xy: np.ndarray) -> np.ndarray:
    import pymetis

    hh = g["households"].to_numpy(int)
    grp = np.zeros(len(g), dtype=int) if groups is None else groups
    same = grp[u] == grp[v]
    u, v = u[same], v[same]
    label = np.full(len(g), -1, dtype=np.int64)
    offset = 0
    for c in np.unique(grp):
        nodes = np.flatnonzero(grp == c)
        k = max(1, round(hh[nodes].sum() / TARGET))
        if k == 1:
            label[nodes] = offset
            offset += 1
            continue
        local = np.full(len(g), -1)
        local[nodes] = np.arange(len(nodes))
        m = (local[u] >= 0)
        xadj, adjncy = _csr(len(nodes), local[u[m]], local[v[m]])
        try:
            _, parts = pymetis.part_graph(k, xadj=xadj.tolist(), adjncy=adjncy.tolist(),
                                          vweights=hh[nodes].tolist(),
                                          options=pymetis.Options(ufactor=500, contig=1))
        except RuntimeError:  # "contiguous partition requested for a non-contiguous graph"
            _, parts = pymetis.part_graph(k, xadj=xadj.tolist(), adjncy=adjncy.tolist(),
                                          vweights=hh[nodes].tolist(),
                                          options=pymetis.Options(ufactor=500))
        label[nodes] = offset + np.asarray(parts)
        offset += k
    return label


def _pieces(n: int, u: np.ndarray, v: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Connected pieces within each group: max-p tools hang or fail on isolates."""
    grp = np.zeros(n, dtype=int) if groups is None else groups
    same = grp[u] == grp[v]
    return _components(n, u[same], v[same])


def _write_gal(path: str, n: int, u: np.ndarray, v: np.ndarray) -> None:
    nb: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(u.tolist(), v.tolist(), strict=True):
        nb[a].append(b + 1)
        nb[b].append(a + 1)
    with open(path, "w") as fh:
        fh.write(f"0 {n} bench ID\n")
        for k in range(n):
            fh.write(f"{k + 1} {len(nb[k])}\n{' '.join(map(str, nb[k]))}\n")


def run_pygeoda(g: gpd.GeoDataFrame, u: np.ndarray, v: np.ndarray, groups: np.ndarray | None,
                xy: np.ndarray) -> np.ndarray:
    import pygeoda

    grp = _pieces(len(g), u, v, groups)
    label = np.full(len(g), -1, dtype=np.int64)
    offset = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in np.unique(grp):
            nodes = np.flatnonzero(grp == c)
            local = np.full(len(g), -1)
            local[nodes] = np.arange(len(nodes))
            m = (local[u] >= 0) & (local[v] >= 0)
            path = os.path.join(tmp, f"w{c}.gal")
            _write_gal(path, len(nodes), local[u[m]], local[v[m]])
            w = pygeoda.weights.read_gal(path, [str(k) for k in range(1, len(nodes) + 1)])
            sub = g.iloc[nodes]
            hh = sub["households"].astype(float)
            if hh.sum() < FLOOR:
                label[nodes] = offset
                offset += 1
                continue
            try:
                res = pygeoda.maxp_greedy(w, sub[["built_year"]], bound_variable=hh,
                                          min_bound=FLOOR, iterations=PYGEODA_ITERATIONS)
            except ZeroDivisionError:  # pygeoda's statistics fail when all years are equal
                label[nodes] = offset
                offset += 1
                continue
            parts = np.asarray(res["Clusters"], dtype=np.int64)
            label[nodes] = offset + parts
            offset += int(parts.max()) + 1
    return label


def run_spopt(g: gpd.GeoDataFrame, u: np.ndarray, v: np.ndarray, groups: np.ndarray | None,
              xy: np.ndarray) -> np.ndarray:
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    grp = _pieces(len(g), u, v, groups)
    label = np.full(len(g), -1, dtype=np.int64)
    offset = 0
    for c in np.unique(grp):
        nodes = np.flatnonzero(grp == c)
        local = np.full(len(g), -1)
        local[nodes] = np.arange(len(nodes))
        m = (local[u] >= 0) & (local[v] >= 0)
        nb: dict[int, list[int]] = {k: [] for k in range(len(nodes))}
        for a, b in zip(local[u[m]].tolist(), local[v[m]].tolist(), strict=True):
            nb[a].append(b)
            nb[b].append(a)
        sub = g.iloc[nodes].reset_index(drop=True).copy()
        sub["households"] = sub["households"].astype(float)
        if sub["households"].sum() < FLOOR:
            label[nodes] = offset
            offset += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MaxPHeuristic(sub, W(nb, silence_warnings=True), ["built_year"], "households",
                                  FLOOR, top_n=2, max_iterations_construction=3,
                                  max_iterations_sa=1)
            model.solve()
        parts = np.asarray(model.labels_, dtype=np.int64)
        parts = np.where(parts < 0, parts.max() + 1 + np.arange(len(parts)), parts)  # unassigned
        label[nodes] = offset + parts
        offset += int(parts.max()) + 1
    return label


# --------------------------------------------------------------------------- metrics


def evaluate(g: gpd.GeoDataFrame, u: np.ndarray, v: np.ndarray, label: np.ndarray,
             groups: np.ndarray | None, k_expected: int | None = None) -> dict[str, Any]:
    """Packages, empty, under floor, over ceiling, non-contiguous, cross-unit, PP, year spread."""
    lab = pd.factorize(label)[0]
    n_lab = int(lab.max()) + 1
    hh = g["households"].to_numpy(float)
    size = np.bincount(lab, hh, n_lab)
    same = lab[u] == lab[v]
    comp = _components(len(g), u[same], v[same])
    n_pieces = pd.Series(comp).groupby(lab).nunique().to_numpy()
    cross = 0
    if groups is not None:
        cross = int((pd.Series(groups).groupby(lab).nunique() > 1).sum())
    geoms = np.asarray(g.geometry.values)
    order = np.argsort(lab, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(lab[order]) != 0, True])
    unions = [shapely.union_all(geoms[order[s:e]]) for s, e in itertools.pairwise(bounds)]
    pp = polsby_popper(unions, CLOSING_M)
    year = g["built_year"].to_numpy(float)
    mean_y = np.bincount(lab, hh * year, n_lab) / size
    var_y = np.bincount(lab, hh * (year - mean_y[lab]) ** 2, n_lab) / size
    pieces = _pieces(len(g), u, v, groups)
    unavoidable = int((np.bincount(pieces, hh) < FLOOR).sum())
    return {
        "packages": n_lab,
        "unavoidable": unavoidable,
        "empty": max(0, (k_expected or n_lab) - n_lab),
        "under": int((size < FLOOR).sum()),
        "over": int((size > CEILING).sum()),
        "noncontig": int((n_pieces > 1).sum()),
        "cross_unit": cross,
        "pp": float(np.nanmean(pp)),
        "year_sd": float(np.mean(np.sqrt(var_y))),
    }


def _timed(fn: Callable[..., np.ndarray], *args: Any) -> tuple[np.ndarray, float, float]:
    """Result, wall seconds and CPU seconds (all threads of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def _installed(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod.split(".")[0]) is not None


def _warm_up() -> None:
    """Import every installed tool before timing, so no tool pays for an import."""
    import importlib

    for mod in ("scipy.sparse.csgraph", "pymetis", "pygeoda", "spopt.region", "libpysal.weights"):
        if _installed(mod):
            importlib.import_module(mod)
    g = make_layout(60)
    u, v, _ = build_graph(g)
    cent = shapely.centroid(np.asarray(g.geometry.values))
    run_ours(g, u, v, None, np.column_stack([shapely.get_x(cent), shapely.get_y(cent)]))


def bench(sizes: list[int], spopt_max: int, pygeoda_max: int, pygeoda_comm_max: int,
          spopt_comm_max: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    _warm_up()
    for n in sizes:
        g = make_layout(n)
        u, v, t_graph = build_graph(g)
        cent = shapely.centroid(np.asarray(g.geometry.values))
        xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
        comm = pd.factorize(g["community_id"])[0]
        k_total = max(1, round(g["households"].sum() / TARGET))
        print(f"\nN={len(g):,}  edges={len(u):,}  graph build {t_graph:.2f} s  "
              f"communities={comm.max() + 1}  k={k_total}", flush=True)
        for case, groups in (("whole city", None), ("by community", comm)):
            tools: list[tuple[str, Callable[..., np.ndarray]]] = [
                ("yulin_gis", run_ours), ("pymetis", run_pymetis)]
            if ((groups is None and n <= pygeoda_max) or (groups is not None and n <= pygeoda_comm_max)) \
                    and _installed("pygeoda"):
                tools.append(("pygeoda maxp_greedy", run_pygeoda))
            if ((groups is None and n <= spopt_max) or (groups is not None and n <= spopt_comm_max)) \
                    and _installed("spopt"):
                tools.append(("spopt MaxPHeuristic (fast)", run_spopt))
            ours_t = ours_c = None
            for name, fn in tools:
                label, secs, cpu = _timed(fn, g, u, v, groups, xy)
                k_exp = k_total if name == "pymetis" and groups is None else None
                m = evaluate(g, u, v, label, groups, k_exp)
                ours_t = secs if name == "yulin_gis" else ours_t
                ours_c = cpu if name == "yulin_gis" else ours_c
                row = {"N": len(g), "case": case, "tool": name, "seconds": secs, "graph_s": t_graph,
                       "ratio": secs / ours_t if ours_t else float("nan"), "cpu": cpu,
                       "cpu_ratio": cpu / ours_c if ours_c else float("nan"), **m}
                rows.append(row)
                print(f"  {case:12s} {name:28s} {secs:8.3f} s  x{row['ratio']:7.1f}  "
                      f"cpu {cpu:8.3f} s x{row['cpu_ratio']:7.1f}  "
                      f"pk={m['packages']:6d} empty={m['empty']:3d} <floor={m['under']:4d}({m['unavoidable']}) "
                      f">ceil={m['over']:4d} noncontig={m['noncontig']:4d} cross={m['cross_unit']:3d} "
                      f"PP={m['pp']:.3f} yearSD={m['year_sd']:.2f}", flush=True)
        t0 = time.perf_counter()
        res = make_packages(g, graph=None, gap_m=GAP_M, absorb_gap_m=60.0)
        full = time.perf_counter() - t0
        s = res.summary
        rows.append({"N": len(g), "case": "make_packages", "tool": "yulin_gis end to end",
                     "seconds": full, "graph_s": s["graph_seconds"], "solve_s": s["solve_seconds"],
                     "packages": s["n_packages"], "flagged": s["n_flagged"],
                     "reasons": s["flag_reasons"], "pp": s["mean_polsby_popper"]})
        print(f"  make_packages (graph + solve + unions + flags): {full:.2f} s "
              f"(graph {s['graph_seconds']:.2f}, solve {s['solve_seconds']:.2f}), "
              f"{s['n_packages']} packages, flagged {s['flag_reasons']}", flush=True)
    return rows


def to_markdown(rows: list[dict[str, Any]], command: str, total: float) -> str:
    lines = [
        "# Packaging benchmark (ANCHORS §1)",
        "",
        f"Command: `{command}`  ",
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work, "
        f"Python {platform.python_version()}; whole run {total:.0f} s. Times are solve seconds "
        "(graph building reported separately, excluded); ratio = tool time / yulin_gis time "
        "in the same run and case; CPU s = process CPU time (all threads), steadier than wall "
        "time on a shared machine. Floor 1,000 / ceiling 3,000 households; pymetis gets "
        "k = households / 2,000 (per community in the community case); max-p tools get the "
        "floor only. PP = mean Polsby–Popper of package unions after a 10 m closing. "
        "year SD = mean household-weighted build-year standard deviation inside packages. "
        "<1000 counts include the unavoidable ones: pieces of a community that are cut off "
        "from the rest of it (islands linked only to another community) and hold fewer "
        "households than the floor (given in brackets). yulin_gis flags each of them with "
        "its reason; pymetis, pygeoda and spopt report nothing. pygeoda and spopt are run per "
        "connected piece (they hang or fail on isolates); pymetis falls back to a "
        "non-contiguous partition where METIS refuses a disconnected community."),
        "",
        ("| N | case | tool | wall s | ratio | CPU s | CPU ratio | packages | empty | <1000 "
         "| >3000 | non-contiguous | cross-unit | PP | year SD |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["case"] == "make_packages":
            continue
        lines.append(
            f"| {r['N']:,} | {r['case']} | {r['tool']} | {r['seconds']:.3f} | {r['ratio']:.1f} | "
            f"{r['cpu']:.3f} | {r['cpu_ratio']:.1f} | "
            f"{r['packages']:,} | {r['empty']} | {r['under']} ({r['unavoidable']}) | {r['over']} | {r['noncontig']} | "
            f"{r['cross_unit']} | {r['pp']:.3f} | {r['year_sd']:.2f} |")
    lines += ["", ("Graph building (compound_adjacency, 21 m, plus shortest links for pieces), "
                   "and the whole `make_packages` call by community (graph, reach edges, solve, "
                   "union geometry, Polsby–Popper, flags), seconds:"), "",
              "| N | graph s | make_packages s | of which solve s | packages | flagged (reasons) |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        if r["case"] == "make_packages":
            lines.append(f"| {r['N']:,} | {r['graph_s']:.2f} | {r['seconds']:.2f} | "
                         f"{r['solve_s']:.2f} | {r['packages']:,} | {r['flagged']} {r['reasons']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,10000,50000",
                        help="solver comparison sizes (empty: skip)")
    parser.add_argument("--spopt-max", type=int, default=2000)
    parser.add_argument("--pygeoda-max", type=int, default=2000)
    parser.add_argument("--pygeoda-community-max", type=int, default=50000)
    parser.add_argument("--spopt-community-max", type=int, default=10000)
    parser.add_argument("--e2e-sizes", default="20000,100000",
                        help="whole make_packages call vs the anchor pipeline (empty: skip)")
    parser.add_argument("--compare-sizes", default="50000",
                        help="row-by-row check against the reference commit (empty: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="min of N CPU seconds (e2e)")
    parser.add_argument("--out", default="benchmarks/packages.md", help="Markdown page written")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore", DeprecationWarning)
    from bench_packages_e2e import compare_reference, e2e_markdown, end_to_end

    def sizes(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x.strip()]

    t0 = time.perf_counter()
    rows = bench(sizes(args.sizes), args.spopt_max, args.pygeoda_max, args.pygeoda_community_max,
                 args.spopt_community_max) if sizes(args.sizes) else []
    e2e = end_to_end(sizes(args.e2e_sizes), args.repeats)
    same = compare_reference(sizes(args.compare_sizes))
    total = time.perf_counter() - t0
    print(f"\ntotal {total:.0f} s")
    command = "python scripts/bench_packages.py " + " ".join(argv if argv is not None else sys.argv[1:])
    page = e2e_markdown(e2e, same, command.strip(), total)
    if rows:
        page += "\n" + to_markdown(rows, command.strip(), total).split("\n", 1)[1].replace(
            "Command:", "Solver comparison. Command:", 1)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
