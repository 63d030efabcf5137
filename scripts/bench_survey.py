"""Benchmark the survey stage on a synthetic city (time and peak memory).

A grid city: ``--compounds`` square compounds (80 m, on a 120 m grid, 40 m streets), five
utilities laid along every street edge at different offsets from the centre line, split
at every junction (``--segments`` segments in total, ~1 M by default), a road network on
the street centre lines, facilities of every life-circle kind, and a smooth DEM with
sunken patches. Then, one stage at a time:

1. pipe hazards (:func:`yulin_gis.survey._hazards.compound_pipe_hazards`) beside the ANCHORS §2
   anchors on the same data: a raw shapely ``STRtree.query(predicate="dwithin")`` of all
   segments and geopandas ``sjoin(predicate="dwithin")``;
2. DEM zonal statistics (:func:`yulin_gis.survey._terrain.compound_terrain`);
3. walking distances (:func:`yulin_gis.survey._accessibility.nearest_facility_distances`);
4. :func:`yulin_gis.survey._assess.assess_compounds` with the three frames passed in (tiers, items,
   evidence, priority, cost), and optionally the survey workbook.

Run: ``python scripts/bench_survey.py [--compounds 100000] [--segments 1000000]``; writes
``benchmarks/survey.md`` (``--out``) with the command, the date and the table. The goal
(issue 16): the four survey stages ≤ 20 CPU-s and ≤ 2 GB peak at 100,000 × 1,000,000.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import header, headline

from yulin_gis.io import Layers
from yulin_gis.profile import load_profile
from yulin_gis.survey import assess_compounds, compound_pipe_hazards

CRS = "EPSG:4546"
X0, Y0 = 380000.0, 2480000.0
CELL, SIDE = 120.0, 80.0
UTIL_OFFSETS = {"gas": -16.0, "water_supply": -9.0, "sewer": 0.0, "power": 9.0, "telecom": 16.0}
MATERIALS = {
    "gas": (["grey_cast_iron", "steel", "pe", "ductile_iron"], [0.08, 0.3, 0.5, 0.12]),
    "water_supply": (["unlined_cast_iron", "ductile_iron", "pe", "asbestos_cement", "steel"],
                     [0.1, 0.4, 0.35, 0.05, 0.1]),
    "sewer": (["concrete", "reinforced_concrete", "pvc", "clay"], [0.2, 0.5, 0.25, 0.05]),
    "power": (["copper", "aluminium"], [0.8, 0.2]),
    "telecom": (["fibre", "copper"], [0.7, 0.3]),
}
KINDS = ("kindergarten", "nursery", "elderly_care", "community_service", "convenience_store",
         "express_station", "health_station", "market")


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def make_city(n_compounds: int, n_segments: int, seed: int = 42) -> tuple[Layers, int]:
    """Synthetic grid city; returns the layers and the grid side."""
    rng = np.random.default_rng(seed)
    g = int(np.ceil(np.sqrt(n_compounds)))
    ij = np.indices((g, g)).reshape(2, -1).T[:n_compounds]
    x = X0 + ij[:, 0] * CELL + (CELL - SIDE) / 2
    y = Y0 + ij[:, 1] * CELL + (CELL - SIDE) / 2
    geoms = shapely.box(x, y, x + SIDE, y + SIDE)
    n = n_compounds
    built = np.clip(np.round(1990 + 0.25 * (ij[:, 0] - g / 2) + rng.normal(0, 8, n)), 1960, 2020)
    comp = gpd.GeoDataFrame({
        "compound_id": np.char.add("C", np.arange(n).astype(str)),
        "name": np.char.add("小区", np.arange(n).astype(str)),
        "built_year": built.astype(int),
        "households": rng.integers(50, 800, n),
        "buildings": rng.integers(1, 12, n),
        "floors": rng.integers(2, 9, n),
        "floor_area_m2": rng.uniform(3000, 60000, n).round(1),
        "county": np.array(["玉州区", "福绵区", "容县", "陆川县", "博白县", "兴业县", "北流市"])[
            (ij[:, 0] * 7) // g],
        "has_lift": rng.random(n) < 0.2,
        "property_management": rng.random(n) < 0.5,
        "consent_rate": rng.uniform(0.4, 1.0, n).round(2),
        "urban_village": rng.random(n) < 0.03,
        "roof_leak": rng.random(n) < 0.3,
        "facade_damaged": rng.random(n) < 0.25,
        "road_damaged": rng.random(n) < 0.3,
        "security_missing": rng.random(n) < 0.4,
        "no_charging": rng.random(n) < 0.5,
        "parking_shortage": rng.random(n) < 0.5,
    }, geometry=geoms, crs=CRS)
    # street edges: horizontal (between rows) and vertical; one segment per block edge
    lines = np.arange(g + 1) * CELL
    hx0 = np.repeat(np.arange(g) * CELL, g + 1)
    hy = np.tile(lines, g)
    vy0 = np.repeat(np.arange(g) * CELL, g + 1)
    vx = np.tile(lines, g)
    n_edges = 2 * len(hx0)
    per_util = n_segments // len(UTIL_OFFSETS)
    segs, utils = [], []
    for u, off in UTIL_OFFSETS.items():
        take = rng.permutation(n_edges)[: min(per_util, n_edges)]
        horiz = take < len(hx0)
        hi, vi = take[horiz], take[~horiz] - len(hx0)
        coords_h = np.stack([np.stack([X0 + hx0[hi], Y0 + hy[hi] + off], 1),
                             np.stack([X0 + hx0[hi] + CELL, Y0 + hy[hi] + off], 1)], 1)
        coords_v = np.stack([np.stack([X0 + vx[vi] + off, Y0 + vy0[vi]], 1),
                             np.stack([X0 + vx[vi] + off, Y0 + vy0[vi] + CELL], 1)], 1)
        segs.append(shapely.linestrings(np.concatenate([coords_h, coords_v])))
        utils += [u] * len(take)
    seg_geom = np.concatenate(segs)
    m = len(seg_geom)
    util_arr = np.array(utils, dtype=object)
    material = np.empty(m, dtype=object)
    for u, (mats, p) in MATERIALS.items():
        sel = util_arr == u
        material[sel] = rng.choice(mats, size=int(sel.sum()), p=p)
    pipes = gpd.GeoDataFrame({
        "segment_id": np.char.add("P", np.arange(m).astype(str)),
        "utility": util_arr,
        "material": material,
        "install_year": rng.integers(1965, 2023, m),
        "condition": rng.choice(["good", "fair", "poor", "bad"], size=m, p=[0.5, 0.3, 0.15, 0.05]),
    }, geometry=seg_geom, crs=CRS)
    # road network on street centre lines: one line per street, a vertex at every junction
    pts = X0 + lines
    rows = [shapely.linestrings(np.stack([pts, np.full(g + 1, Y0 + yy)], 1)) for yy in lines]
    cols = [shapely.linestrings(np.stack([np.full(g + 1, X0 + xx), Y0 + lines], 1)) for xx in lines]
    roads = gpd.GeoDataFrame({"road_id": [f"R{i}" for i in range(2 * (g + 1))],
                              "road_class": "branch"}, geometry=rows + cols, crs=CRS)
    n_fac = max(n // 60, 4)
    fk = np.repeat(np.array(KINDS), n_fac)
    fx = X0 + rng.integers(0, g, len(fk)) * CELL + rng.uniform(0, CELL, len(fk))
    fy = Y0 + rng.integers(0, g + 1, len(fk)) * CELL + 3.0  # on the street edge
    facilities = gpd.GeoDataFrame({"facility_id": [f"F{i}" for i in range(len(fk))], "kind": fk},
                                  geometry=shapely.points(fx, fy), crs=CRS)
    return Layers(comp, roads=roads, utilities=pipes, facilities=facilities, crs=CRS), g


def write_dem(path: Path, g: int, res: float = 10.0, seed: int = 7) -> None:
    """A smooth DEM covering the city plus a 300 m margin, with sunken patches."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    size = g * CELL + 600
    n = int(size / res)
    xs = np.linspace(0, 1, n, dtype="float32")
    z = (60 + 15 * np.sin(6 * xs)[None, :] + 10 * np.cos(5 * xs)[:, None]).astype("float32")
    for _ in range(max(g // 3, 5)):  # sunken patches 3 m deep
        r, c = rng.integers(0, n - 20, 2)
        z[r:r + 15, c:c + 15] -= 3.0
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=CRS, transform=from_origin(X0 - 300, Y0 + g * CELL + 300, res, res),
                       tiled=True, compress="deflate") as dst:
        dst.write(z, 1)


# The previous implementation, run in a subprocess on the same saved data.
_REFERENCE = """
import pickle, sys
from pathlib import Path
import yulin_gis
from yulin_gis.io import Layers
from yulin_gis.profile import load_profile
from yulin_gis.survey import (assess_compounds, compound_pipe_hazards, compound_terrain,
                              nearest_facility_distances)
d = Path(sys.argv[1])
f = pickle.loads((d / "layers.pkl").read_bytes())
layers = Layers(f["compounds"], roads=f["roads"], utilities=f["utilities"],
                facilities=f["facilities"], crs=f["crs"])
prof = load_profile()
w = prof.waterlogging
res = {"hazards": compound_pipe_hazards(layers.compounds, layers.utilities, prof),
       "terrain": compound_terrain(layers.compounds, d / "dem.tif", ring_m=w.ring_m,
                                   low_quantile=w.low_quantile),
       "walk": nearest_facility_distances(layers.compounds, layers.roads, layers.facilities,
                                          kinds=list(prof.life_circle.kinds),
                                          cutoff_m=prof.life_circle.cutoff_m)}
res["assess"] = assess_compounds(layers, profile=prof, walk=res["walk"], terrain=res["terrain"],
                                 pipes=res["hazards"])
res["module"] = yulin_gis.__file__
(d / "ref.pkl").write_bytes(pickle.dumps(res))
"""


def frame_differences(ours: pd.DataFrame, ref: pd.DataFrame, tol: float = 1e-9) -> list[str]:
    """Row-by-row differences: index, columns, exact values; floats within ``tol`` (abs)."""
    if list(ours.columns) != list(ref.columns):
        return [f"columns differ: {sorted(set(ours.columns) ^ set(ref.columns))}"]
    if not ours.index.equals(ref.index):
        return ["index differs"]
    out = []
    for col in ours.columns:
        a, b = ours[col], ref[col]
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
            nan = np.isnan(x) | np.isnan(y)
            bad = (np.isnan(x) != np.isnan(y)) | (~nan & ~(np.abs(x - y) <= tol))
        else:
            bad = ~((a.astype(object) == b.astype(object)).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy())
        if bad.any():
            out.append(f"{col}: {int(bad.sum())} rows differ (first {ours.index[np.flatnonzero(bad)[0]]})")
    return out


def check_against_main(n: int, main: str, out: dict[str, str]) -> None:
    """Run the survey of main (``PYTHONPATH=main``) and ours on one saved city of ``n``
    compounds × 10n pipes; record the differences per stage in ``out``."""
    from yulin_gis.survey import compound_terrain, nearest_facility_distances

    prof = load_profile()
    layers, g = make_city(n, 10 * n, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "layers.pkl").write_bytes(pickle.dumps({
            "compounds": layers.compounds, "roads": layers.roads, "utilities": layers.utilities,
            "facilities": layers.facilities, "crs": layers.crs}))
        write_dem(d / "dem.tif", g)
        env = {**os.environ, "PYTHONPATH": main}
        subprocess.run([sys.executable, "-c", _REFERENCE, str(d)], check=True, env=env, cwd=main)
        ref = pickle.loads((d / "ref.pkl").read_bytes())
        assert Path(ref["module"]).resolve().is_relative_to(Path(main).resolve()), ref["module"]
        w = prof.waterlogging
        ours = {"hazards": compound_pipe_hazards(layers.compounds, layers.utilities, prof),
                "terrain": compound_terrain(layers.compounds, d / "dem.tif", ring_m=w.ring_m,
                                            low_quantile=w.low_quantile),
                "walk": nearest_facility_distances(
                    layers.compounds, layers.roads, layers.facilities,
                    kinds=list(prof.life_circle.kinds), cutoff_m=prof.life_circle.cutoff_m)}
    ours["assess"] = assess_compounds(layers, profile=prof, walk=ours["walk"],
                                      terrain=ours["terrain"], pipes=ours["hazards"])
    for k in ("hazards", "terrain", "walk", "assess"):
        diff = frame_differences(pd.DataFrame(ours[k]), pd.DataFrame(ref[k]),
                                 tol=0.0 if k == "terrain" else 1e-9)
        out[k] = "identical" if not diff else "; ".join(diff)
        print(f"check vs main, {k}: {out[k]}", flush=True)


def timed(label: str, fn, results: dict):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    results[label] = (wall, cpu, peak_rss_gb())
    print(f"{label:<48} wall {wall:7.2f} s  cpu {cpu:7.2f} s  peak RSS {peak_rss_gb():5.2f} GB", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=100_000)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--no-anchors", action="store_true", help="skip the anchor overlays")
    ap.add_argument("--workbook", action="store_true", help="also write the survey workbook")
    ap.add_argument("--out", default="benchmarks/survey.md", help="Markdown page written")
    ap.add_argument("--check", type=int, default=25_000, metavar="N",
                    help="compare with the previous implementation on N compounds (0: skip)")
    ap.add_argument("--main", default="/work/main", help="checkout of the previous implementation")
    args = ap.parse_args()
    checks: dict[str, str] = {}
    prof = load_profile()
    res: dict[str, tuple[float, float, float]] = {}
    layers, g = timed("generate synthetic city", lambda: make_city(args.compounds, args.segments), res)
    comp, pipes = layers.compounds, layers.utilities
    assert pipes is not None
    print(f"compounds {len(comp):,}, pipe segments {len(pipes):,}, road lines {len(layers.roads):,}, "
          f"facilities {len(layers.facilities):,}")
    d = prof.survey.pipe_distance_m
    hz_label = f"ours: compound_pipe_hazards (dwithin {d:.0f} m)"
    hz = timed(hz_label,
               lambda: compound_pipe_hazards(comp, pipes, prof), res)
    if not args.no_anchors:
        cg = np.asarray(comp.geometry.values)
        sg = np.asarray(pipes.geometry.values)
        pairs = timed("anchor: shapely STRtree dwithin (all segments)",
                      lambda: shapely.STRtree(sg).query(cg, predicate="dwithin", distance=d), res)
        sj = timed("anchor: geopandas sjoin dwithin (all segments)",
                   lambda: gpd.sjoin(comp[["compound_id", "geometry"]], pipes[["segment_id", "geometry"]],
                                     predicate="dwithin", distance=d), res)
        print(f"  pairs: STRtree {pairs.shape[1]:,}, sjoin {len(sj):,}; "
              f"ours flagged {int((hz['hazard_pipes'] > 0).sum()):,} compounds")
        del sj, pairs
    with tempfile.TemporaryDirectory() as tmp:
        dem = Path(tmp) / "dem.tif"
        timed("write synthetic DEM (10 m)", lambda: write_dem(dem, g), res)
        from yulin_gis.survey import compound_terrain

        w = prof.waterlogging
        terrain = timed("ours: compound_terrain", lambda: compound_terrain(
            comp, dem, ring_m=w.ring_m, low_quantile=w.low_quantile), res)
    from yulin_gis.survey import nearest_facility_distances

    walk = timed("ours: nearest_facility_distances (8 kinds)", lambda: nearest_facility_distances(
        comp, layers.roads, layers.facilities, kinds=list(prof.life_circle.kinds),
        cutoff_m=prof.life_circle.cutoff_m), res)
    out = timed("ours: assess_compounds (frames passed in)", lambda: assess_compounds(
        layers, profile=prof, walk=walk, terrain=terrain, pipes=hz), res)
    total = sum(res[k][0] for k in res if k.startswith("ours"))
    total_cpu = sum(res[k][1] for k in res if k.startswith("ours"))
    print(f"survey total (ours): {total:.1f} s wall, {total_cpu:.1f} s cpu; peak RSS {peak_rss_gb():.2f} GB")
    print(f"eligible {int(out['eligible'].sum()):,}; with gas hazard {int(out['hazard_gas'].sum()):,}; "
          f"waterlogging {int(out['waterlogging_risk'].fillna(False).sum()):,}; "
          f"kindergarten gap {int(out['gap_kindergarten'].fillna(False).sum()):,}; "
          f"cost {out.loc[out['eligible'], 'cost_yuan'].sum() / 1e8:.1f} 亿元")
    if not args.no_anchors:
        ours, ours_cpu = res[hz_label][0], res[hz_label][1]
        for k in ("anchor: shapely STRtree dwithin (all segments)", "anchor: geopandas sjoin dwithin (all segments)"):
            print(f"ratio ours hazards / {k.split(': ')[1]}: wall {ours / res[k][0]:.2f}, "
                  f"cpu {ours_cpu / res[k][1]:.2f}")
    from yulin_gis.reports import department_tasks, utility_tasks

    tasks = timed("department_tasks + utility_tasks", lambda: (
        department_tasks(out, prof), utility_tasks(out, prof)), res)
    print(f"  task rows: departments {sum(len(t) for t in tasks[0].values()):,}, "
          f"utilities {sum(len(t) for t in tasks[1].values()):,}")
    if args.workbook:
        from yulin_gis.reports import write_survey_workbook

        with tempfile.TemporaryDirectory() as tmp:
            path = timed("write_survey_workbook", lambda: write_survey_workbook(
                out, Path(tmp) / "survey.xlsx", prof), res)
            print(f"  workbook {os.path.getsize(path) / 1e6:.1f} MB")
    survey_peak = max(v[2] for k, v in res.items() if k.startswith("ours"))
    if args.check:  # after the timed steps: the peak RSS above is the survey's alone
        check_against_main(args.check, args.main, checks)
    write_page(Path(args.out), res, args, hz_label, survey_peak, checks)


def _main_commit(main: str) -> str:
    try:
        return subprocess.run(["git", "-C", main, "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _exact_text(checks: dict[str, str], args: argparse.Namespace) -> str:
    if not checks:
        return "not checked in this run"
    same = all(v == "identical" for v in checks.values())
    return (f"{'same' if same else 'DIFFERENT'} hazards, terrain (bit-identical), walks and "
            f"assessment as main {_main_commit(args.main)} (checked at {args.check:,}; "
            "floats within 1e-9)")


def _check_lines(checks: dict[str, str], args: argparse.Namespace) -> list[str]:
    if not checks:
        return []
    return [(f"Checked row by row against the previous implementation (main at "
             f"{_main_commit(args.main)}, run in a subprocess with `PYTHONPATH={args.main}`) on "
             f"one saved city of {args.check:,} compounds × {10 * args.check:,} pipes (seed 11): "
             "every column of each stage's table, strings and flags exact, floats within 1e-9 "
             "(terrain: bit-identical)."), "",
            "| stage | result vs main |", "|---|---|",
            *[f"| {k} | {v} |" for k, v in checks.items()], ""]


def write_page(path: Path, res: dict, args: argparse.Namespace, hz_label: str, peak: float,
               checks: dict[str, str]) -> None:
    """benchmarks/survey.md: every timed step, the survey total against the goal, ratios."""
    ours = {k: v for k, v in res.items() if k.startswith("ours")}
    cpu = sum(v[1] for v in ours.values())
    command = "python scripts/bench_survey.py " + " ".join(sys.argv[1:])
    ratio = "–"
    if "anchor: shapely STRtree dwithin (all segments)" in res:
        ratio = f"hazards {res[hz_label][1] / res['anchor: shapely STRtree dwithin (all segments)'][1]:.2f}× STRtree pairs"
    lines = [
        *header("Survey stage (摸清底数): compounds × pipe segments (issue 16)", command),
        headline(topic="Survey, 4 stages (issue 16)", metric="CPU-s, one run",
                 data=f"grid city, {args.compounds:,} compounds × {args.segments:,} pipes",
                 ours=f"{cpu:.1f} CPU-s, peak {peak:.2f} GB",
                 anchor="STRtree dwithin pairs only" if ratio != "–" else "–", ratio=ratio,
                 goal="≤ 20 CPU-s and ≤ 2 GB at 100k × 1M",
                 exact=_exact_text(checks, args)),
        "",
        (f"Synthetic grid city made in the script (numpy, seeded): {args.compounds:,} square "
         "compounds of 80 m on a 120 m grid, five utilities along the street edges "
         f"({args.segments:,} segments), a road network on the street centre lines, facilities "
         "of the 8 life-circle kinds, a 10 m DEM with sunken patches. Yulin default profile "
         "(500 m terrain ring, 5 m pipe distance). Peak RSS is the process high-water mark "
         "after each step (data included, cumulative); the survey's peak is the highest "
         "after one of its four stages."), "",
        "| step | CPU s | wall s | peak RSS GB |", "|---|---|---|---|",
        *[f"| {k} | {v[1]:.2f} | {v[0]:.2f} | {v[2]:.2f} |" for k, v in res.items()],
        (f"| **survey total (the four \"ours\" stages)** | **{cpu:.2f}** | "
        f"{sum(v[0] for v in ours.values()):.2f} | **{peak:.2f}** |"), "",
        *_check_lines(checks, args),
        (f"Goal (issue 16): ≤ 20 CPU-s and ≤ 2 GB peak at 100,000 × 1,000,000. This run: "
         f"{cpu:.1f} CPU-s ({'met' if cpu <= 20 else 'not met'}), {peak:.2f} GB "
         f"({'met' if peak <= 2 else 'not met'})."), "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
