"""The stage anchors of ``scripts/bench_run.py``: what a competent geopandas user pays per stage.

Each anchor does its stage's work on the same generated city (and, for the later stages,
on what the run itself produced) with the best existing tools, the minimum that work
costs. One stage per child process::

    python scripts/bench_run_anchors.py STAGE --city CITY --run OUT --crs EPSG:4546 --work TMP

prints one JSON line ``{"stage": ..., "cpu_s": ..., "detail": {...}}``. Inputs are read
and projected before the clock starts, except for ``validate`` whose work is the reading;
``cpu_s`` is ``time.process_time()`` around the work (all threads of the child).

- **validate**: ``pyogrio.read_dataframe`` of every layer of the input GeoPackage,
  ``shapely.is_valid``, a duplicate-id check and ``to_crs`` to the metric CRS;
- **survey**: STRtree ``dwithin`` pipes × compounds at the profile's pipe distance; the DEM
  read, ``rasterio.features.rasterize`` of all compound ids once + ``np.bincount``
  (ANCHORS §5, :func:`bench_terrain.rasterize_bincount`), and the rings (buffer minus
  footprint) rasterised in non-overlapping groups + ``np.bincount``; STRtree snapping +
  ``scipy.sparse.csgraph.dijkstra(min_only=True, limit=…)`` per facility kind (ANCHORS §4);
- **packages**: STRtree neighbours + pymetis per community (:func:`bench_packages.run_pymetis`)
  + ``GeoDataFrame.dissolve``, on the compounds the run packaged;
- **plan**: the simplest code giving a year per package: sort the run's packages per
  county by priority, cumulative households per county, a year per yearly share (one
  sort + one groupby cumsum);
- **utilities**: STRtree ``dwithin`` 30 m pipes × packaged compounds + the clipped-free
  pipe lengths summed per (compound, utility) with a groupby;
- **outputs**: ``pyogrio.write_dataframe`` of every layer of the run's ``plan.gpkg``,
  ``DataFrame.to_excel(engine="xlsxwriter")`` of every sheet of every workbook the run wrote
  and ``to_csv`` of its CSVs (the frames read before the clock starts);
- **maps**: folium pages (``prefer_canvas=True``, ``GeoJson``, coordinates rounded to 6
  decimals) of the same layers, as many pages as the run wrote, ``save()``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = ("validate", "survey", "packages", "plan", "utilities", "outputs", "maps")
ID_FIELDS = {"compounds": "compound_id", "communities": "community_id", "roads": "road_id",
             "utilities": "segment_id", "utility_nodes": "node_id", "facilities": "facility_id",
             "rivers": "river_id", "streets": "street_code", "counties": "county_code"}


def _layers(path: Path) -> list[str]:
    return [str(name) for name, kind in pyogrio.list_layers(path) if kind is not None]


def anchor_validate(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """Read every layer, check geometries and ids, project to the metric CRS."""
    gpkg = Path(ctx.city) / "yulin_sample.gpkg"
    c0 = time.process_time()
    rows = invalid = dups = 0
    for layer in _layers(gpkg):
        df = pyogrio.read_dataframe(gpkg, layer=layer)
        rows += len(df)
        invalid += int((~shapely.is_valid(df.geometry.values)).sum())
        idf = ID_FIELDS.get(layer)
        if idf in df.columns:
            dups += int(df[idf].duplicated().sum())
        df.to_crs(ctx.crs)
    return time.process_time() - c0, {"rows": rows, "invalid": invalid, "duplicate_ids": dups}


def _read(gpkg: Path, layer: str, crs: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(gpkg, layer=layer).to_crs(crs)


def ring_groups(geoms: np.ndarray, reach: float) -> list[np.ndarray]:
    """Groups of compounds whose rings cannot overlap (centres ``reach`` or more apart).

    Cells of side ``reach / k``; cells at least ``k + 1`` apart in a row or column hold
    compounds more than ``reach`` apart, so colour ``(i mod k+1, j mod k+1)`` and the rank
    inside the cell; ``k`` chosen for the fewest groups.
    """
    b = shapely.bounds(geoms)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    best: np.ndarray | None = None
    for k in range(1, 16):
        side = reach / k
        i = np.floor((cx - cx.min()) / side).astype(np.int64)
        j = np.floor((cy - cy.min()) / side).astype(np.int64)
        cell = i * (j.max() + 1) + j
        order = np.argsort(cell, kind="stable")
        first = np.searchsorted(cell[order], cell[order])
        rank = np.empty(len(geoms), dtype=np.int64)
        rank[order] = np.arange(len(geoms)) - first
        colour = ((i % (k + 1)) * (k + 1) + (j % (k + 1))) * (rank.max() + 1) + rank
        if best is None or len(np.unique(colour)) < len(np.unique(best)):
            best = colour
    assert best is not None
    return [np.flatnonzero(best == c) for c in np.unique(best)]


def _zonal(z: np.ndarray, transform: Any, geoms: np.ndarray, ids: np.ndarray,
           n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count and sum per id of ``geoms`` burnt once (they must not overlap)."""
    from rasterio.features import rasterize

    lab = rasterize(zip(geoms, ids + 1, strict=True), out_shape=z.shape, transform=transform,
                    fill=0, dtype="int32").ravel()
    return (np.bincount(lab, minlength=n + 1)[1:],
            np.bincount(lab, weights=z.ravel(), minlength=n + 1)[1:])


def _terrain(dem: Path, comp: gpd.GeoDataFrame, ring_m: float) -> dict[str, Any]:
    """Footprint means (ANCHORS §5 anchor) and ring means, the rings burnt in groups."""
    import rasterio
    from bench_terrain import rasterize_bincount

    foot = rasterize_bincount(dem, comp)
    geoms = np.asarray(comp.geometry.values)
    rings = shapely.difference(shapely.buffer(geoms, ring_m), geoms)
    with rasterio.open(dem) as src:
        z = src.read(1).astype(np.float64)
        transform = src.transform
    b = shapely.bounds(geoms)
    groups = ring_groups(geoms, 2 * ring_m + float(np.max(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]))))
    cnt, tot = np.zeros(len(geoms)), np.zeros(len(geoms))
    for g in groups:
        c, t = _zonal(z, transform, rings[g], np.arange(len(g)), len(g))
        cnt[g], tot[g] = c, t
    with np.errstate(invalid="ignore", divide="ignore"):
        ring_mean = np.where(cnt > 0, tot / cnt, np.nan)
    low = float(np.quantile(z[np.isfinite(z)], 0.02))
    return {"footprints": int(np.isfinite(foot[:, 0]).sum()), "ring_groups": len(groups),
            "rings": int(np.isfinite(ring_mean).sum()), "low_threshold": round(low, 3)}


def _snap(edges: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest edge of each point (STRtree), position along it and the leg to it."""
    tree = shapely.STRtree(edges)
    (_, e), leg = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return e, shapely.line_locate_point(edges[e], pts), leg


def _walking(roads: gpd.GeoDataFrame, comp: gpd.GeoDataFrame, fac: gpd.GeoDataFrame,
             kinds: list[str], cutoff: float) -> dict[str, Any]:
    """ANCHORS §4: snap to the nearest road edge, one virtual source per kind, csgraph Dijkstra."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    lines = shapely.get_parts(np.asarray(roads.geometry.values))
    xy, which = shapely.get_coordinates(lines, return_index=True)
    keep = which[1:] == which[:-1]
    a, b = xy[:-1][keep], xy[1:][keep]
    edges = shapely.linestrings(np.stack([a, b], axis=1))
    _, node = np.unique(np.round(np.concatenate([a, b]), 3), axis=0, return_inverse=True)
    node = node.ravel()
    u, v = node[: len(a)], node[len(a):]
    w = np.hypot(*(b - a).T)
    n = int(node.max()) + 1
    ce, cpos, cleg = _snap(edges, shapely.centroid(np.asarray(comp.geometry.values)))
    fe, fpos, fleg = _snap(edges, np.asarray(fac.geometry.values))
    kind = fac["kind"].to_numpy()
    src_u, src_v, src_w = [u, v], [v, u], [w, w]
    for k, name in enumerate(kinds):  # virtual source n + k joined to its facilities' edge ends
        m = kind == name
        s = np.full(int(m.sum()), n + k)
        src_u += [s, s]
        src_v += [u[fe[m]], v[fe[m]]]
        src_w += [fleg[m] + fpos[m], fleg[m] + w[fe[m]] - fpos[m]]
    uu, vv, ww = np.concatenate(src_u), np.concatenate(src_v), np.concatenate(src_w)
    order = np.lexsort((ww, vv, uu))  # collapse parallel edges to the shortest (csr adds them)
    uu, vv, ww = uu[order], vv[order], ww[order]
    first = np.r_[True, (uu[1:] != uu[:-1]) | (vv[1:] != vv[:-1])]
    size = n + len(kinds)
    graph = csr_matrix((np.maximum(ww[first], 1e-9), (uu[first], vv[first])), shape=(size, size))
    found = 0
    for k in range(len(kinds)):
        d = dijkstra(graph, indices=n + k, min_only=True, limit=cutoff)
        walk = cleg + np.minimum(d[u[ce]] + cpos, d[v[ce]] + w[ce] - cpos)
        found += int((walk <= cutoff).sum())
    return {"nodes": n, "edges": len(edges), "compound_kind_pairs_within_cutoff": found}


def anchor_survey(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """Pipe pairs, terrain footprints and rings, walking distances per kind."""
    from yulin_gis.profile import load_profile

    prof = load_profile()
    gpkg, dem = Path(ctx.city) / "yulin_sample.gpkg", Path(ctx.city) / "yulin_dem.tif"
    comp, pipes = _read(gpkg, "compounds", ctx.crs), _read(gpkg, "utilities", ctx.crs)
    roads, fac = _read(gpkg, "roads", ctx.crs), _read(gpkg, "facilities", ctx.crs)
    kinds = list(prof.life_circle.kinds)
    c0 = time.process_time()
    pairs = shapely.STRtree(np.asarray(pipes.geometry.values)).query(
        np.asarray(comp.geometry.values), predicate="dwithin", distance=prof.survey.pipe_distance_m)
    t_pairs = time.process_time()
    terrain = _terrain(dem, comp, prof.waterlogging.ring_m)
    t_terrain = time.process_time()
    walk = _walking(roads, comp, fac, kinds, prof.life_circle.cutoff_m)
    t_walk = time.process_time()
    return t_walk - c0, {"pipe_pairs": int(pairs.shape[1]), **terrain, **walk,
                         "ring_m": prof.waterlogging.ring_m, "kinds": len(kinds),
                         "cpu_pairs": round(t_pairs - c0, 3),
                         "cpu_terrain": round(t_terrain - t_pairs, 3),
                         "cpu_walking": round(t_walk - t_terrain, 3)}


def _packaged(ctx: argparse.Namespace) -> gpd.GeoDataFrame:
    comp = _read(Path(ctx.run) / "plan.gpkg", "compounds", ctx.crs)
    return comp[comp["package_id"].fillna("").astype(str) != ""].reset_index(drop=True)


def anchor_packages(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """STRtree neighbours (25 m) + pymetis per community + dissolve, on the packaged compounds."""
    from bench_packages import run_pymetis

    g = _packaged(ctx)
    g["households"] = pd.to_numeric(g["households"], errors="coerce").fillna(0).astype(int)
    c0 = time.process_time()
    geoms = np.asarray(g.geometry.values)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=ctx.gap_m)
    keep = left < right
    comm = pd.factorize(g["community_id"])[0]
    label = run_pymetis(g, left[keep], right[keep], comm, None)
    out = g[["households", "geometry"]].assign(label=label).dissolve("label", aggfunc="sum")
    return time.process_time() - c0, {"compounds": len(g), "packages": len(out)}


def anchor_plan(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """Packages ordered per county by priority, a year per yearly share of the households."""
    pk = pyogrio.read_dataframe(Path(ctx.run) / "plan.gpkg", layer="packages", read_geometry=False)
    years = sorted(int(y) for y in pd.to_numeric(pk["plan_year"], errors="coerce").dropna().unique())
    first, n_years = (years[0], len(years)) if years else (2022, 4)
    c0 = time.process_time()
    p = pk.sort_values(["county", "priority"], ascending=[True, False], kind="mergesort")
    done = p.groupby("county")["households"].cumsum()
    share = p.groupby("county")["households"].transform("sum") / n_years
    p["year"] = first + np.minimum((done - 1) // share, n_years - 1).astype(int)
    return time.process_time() - c0, {"packages": len(p), "years": n_years}


def anchor_utilities(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """Pipes within 30 m of packaged compounds, length per (compound, utility)."""
    comp = _packaged(ctx)
    pipes = _read(Path(ctx.city) / "yulin_sample.gpkg", "utilities", ctx.crs)
    c0 = time.process_time()
    ci, pi = shapely.STRtree(np.asarray(pipes.geometry.values)).query(
        np.asarray(comp.geometry.values), predicate="dwithin", distance=ctx.pipe_distance_m)
    pairs = pd.DataFrame({"compound_id": comp["compound_id"].to_numpy()[ci],
                          "utility": pipes["utility"].to_numpy()[pi],
                          "length_m": shapely.length(np.asarray(pipes.geometry.values)[pi])})
    per = pairs.groupby(["compound_id", "utility"])["length_m"].sum()
    return time.process_time() - c0, {"pairs": len(pairs), "rows": len(per)}


def _run_files(ctx: argparse.Namespace, suffix: str) -> list[Path]:
    run = Path(ctx.run)
    return sorted(p for p in run.rglob(f"*{suffix}") if "maps" not in p.relative_to(run).parts)


def anchor_outputs(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """Write again every GeoPackage layer, workbook sheet and CSV the run wrote."""
    out = Path(ctx.work) / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    gpkg = Path(ctx.run) / "plan.gpkg"
    layers = {name: pyogrio.read_dataframe(gpkg, layer=name) for name in _layers(gpkg)}
    books = {p: pd.read_excel(p, sheet_name=None) for p in _run_files(ctx, ".xlsx")}
    csvs = {p: pd.read_csv(p) for p in _run_files(ctx, ".csv")}
    c0 = time.process_time()
    target = out / "plan.gpkg"
    for name, df in layers.items():
        pyogrio.write_dataframe(df, target, layer=name, driver="GPKG")
    for k, (path, sheets) in enumerate(books.items()):
        with pd.ExcelWriter(out / f"{k}_{path.name}", engine="xlsxwriter") as xw:
            for sheet, df in sheets.items():
                df.to_excel(xw, sheet_name=str(sheet)[:31], index=False)
    for k, (path, df) in enumerate(csvs.items()):
        df.to_csv(out / f"{k}_{path.name}", index=False)
    return time.process_time() - c0, {
        "gpkg_layers": len(layers), "gpkg_rows": sum(len(v) for v in layers.values()),
        "workbooks": len(books), "sheets": sum(len(s) for s in books.values()),
        "sheet_rows": sum(len(df) for s in books.values() for df in s.values()), "csvs": len(csvs)}


def _round6(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.set_geometry(shapely.set_precision(np.asarray(gdf.geometry.values), 1e-6))


def _page(layers: list[gpd.GeoDataFrame], path: Path) -> None:
    import folium

    geo = [lyr for lyr in layers if len(lyr)]
    b = np.array([lyr.total_bounds for lyr in geo]) if geo else np.array([[108, 21, 112, 24]])
    m = folium.Map(location=[(b[:, 1].min() + b[:, 3].max()) / 2, (b[:, 0].min() + b[:, 2].max()) / 2],
                   zoom_start=12, prefer_canvas=True, tiles=None)
    for lyr in geo:
        folium.GeoJson(lyr).add_to(m)
    m.save(str(path))


def anchor_maps(ctx: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    """One folium page per page the run wrote, with the same layers."""
    gpkg = Path(ctx.run) / "plan.gpkg"
    cols = {"compounds": ["compound_id", "name", "tier", "status", "package_id", "plan_year", "county"],
            "packages": ["package_id", "county", "households", "plan_year"],
            "pipe_upgrades": ["segment_id", "utility", "owner", "package_id", "plan_year"]}
    data = {k: pyogrio.read_dataframe(gpkg, layer=k, columns=v) for k, v in cols.items()}
    pages = sorted(p.name for p in (Path(ctx.run) / "maps").glob("*.html") if p.name != "summary.html")
    out = Path(ctx.work) / "maps"
    out.mkdir(parents=True, exist_ok=True)
    c0 = time.process_time()
    d = {k: _round6(v) for k, v in data.items()}
    for name in pages:
        if name.startswith("county_"):
            county = name[len("county_"):-len(".html")]
            layers = [d["compounds"][d["compounds"]["county"] == county],
                      d["packages"][d["packages"]["county"] == county]]
        elif name.startswith("utility_"):
            owner = name[len("utility_"):-len(".html")]
            layers = [d["pipe_upgrades"][d["pipe_upgrades"]["owner"] == owner], d["packages"]]
        else:
            layers = [d["compounds"], d["packages"]]
        _page(layers, out / name)
    return time.process_time() - c0, {"pages": len(pages)}


ANCHORS: dict[str, Callable[[argparse.Namespace], tuple[float, dict[str, Any]]]] = {
    "validate": anchor_validate, "survey": anchor_survey, "packages": anchor_packages,
    "plan": anchor_plan, "utilities": anchor_utilities, "outputs": anchor_outputs,
    "maps": anchor_maps,
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=STAGES)
    ap.add_argument("--city", required=True)
    ap.add_argument("--run", required=True, help="the run's output folder")
    ap.add_argument("--crs", required=True, help="the metric CRS of the analysis")
    ap.add_argument("--work", required=True, help="scratch folder for the anchors' outputs")
    ap.add_argument("--gap-m", type=float, default=25.0)
    ap.add_argument("--pipe-distance-m", type=float, default=30.0)
    ctx = ap.parse_args(argv)
    cpu, detail = ANCHORS[ctx.stage](ctx)
    print(json.dumps({"stage": ctx.stage, "cpu_s": cpu, "detail": detail}, ensure_ascii=False))


if __name__ == "__main__":
    main()
