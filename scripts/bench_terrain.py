"""Benchmark: DEM zonal statistics per compound, yulin_gis vs anchors (ANCHORS §5).

Writes a 5 m float32 DEM of 4000 x 4000 pixels (tiled 256 x 256, deflate) into a
temporary folder, places compound polygons on a jittered grid (5 % multipolygons, 5 % with
a courtyard hole) and measures the mean/min elevation per compound with

- ours: ``compound_terrain(ring_m=0)`` (footprints only) and with the 100 m ring;
- a window read + ``rasterio.features.geometry_mask`` per polygon;
- ``rasterio.mask.mask`` per polygon;
- exactextract (area-weighted; the reference for the mean error), if installed;
- rasterstats ``zonal_stats`` (10k case only), if installed.

Usage::

    python scripts/bench_terrain.py --compounds 10000
    python scripts/bench_terrain.py --compounds 100000 --skip rasterstats
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from rasterio.windows import Window, from_bounds

from yulin_gis.survey import compound_terrain

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import header, headline

SIZE = 4000
PX = 5.0
X0, Y0 = 400_000.0, 2_515_000.0  # top-left, EPSG:4546 (Yulin)


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_dem(path: Path, seed: int = 0) -> None:
    """A smooth synthetic terrain with hills, bowls and a little noise."""
    rng = np.random.default_rng(seed)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=SIZE,
        width=SIZE,
        count=1,
        dtype="float32",
        crs="EPSG:4546",
        transform=from_origin(X0, Y0, PX, PX),
        nodata=-9999.0,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    ) as dst:
        cols = (np.arange(SIZE) + 0.5) * PX
        for r0 in range(0, SIZE, 500):
            y = ((np.arange(r0, r0 + 500) + 0.5) * PX)[:, None]
            z = 60 + 15 * np.sin(cols / 3000) * np.cos(y / 2500) + 5 * np.sin(cols / 700 + y / 900)
            z = z + rng.normal(0, 0.2, z.shape)
            dst.write(z.astype(np.float32), 1, window=Window(0, r0, SIZE, 500))


def make_compounds(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` compound polygons 40-180 m across (smaller when dense) on a jittered grid."""
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n))
    extent = SIZE * PX - 400  # keep 200 m inside the DEM
    spacing = extent / side
    big = min(180.0, spacing * 0.9)
    w = rng.uniform(40, max(41.0, big), (side * side, 2))[:n]
    ii, jj = np.divmod(np.arange(n), side)
    free = np.maximum(spacing - w, 0)
    x = X0 + 200 + ii * spacing + rng.uniform(0, 1, n) * free[:, 0]
    y = Y0 - 200 - (jj + 1) * spacing + rng.uniform(0, 1, n) * free[:, 1]
    geoms = shapely.box(x, y, x + w[:, 0], y + w[:, 1])
    kind = rng.random(n)
    holes = kind < 0.05
    inner = shapely.box(x + w[:, 0] * 0.3, y + w[:, 1] * 0.3, x + w[:, 0] * 0.7, y + w[:, 1] * 0.7)
    geoms[holes] = shapely.difference(geoms[holes], inner[holes])
    multi = (kind >= 0.05) & (kind < 0.10)
    left = shapely.box(x, y, x + w[:, 0] * 0.45, y + w[:, 1])
    right = shapely.box(x + w[:, 0] * 0.55, y, x + w[:, 0], y + w[:, 1])
    geoms[multi] = shapely.multipolygons(np.stack([left[multi], right[multi]], axis=1))
    return gpd.GeoDataFrame(
        {"compound_id": [f"C{i:06d}" for i in range(n)]}, geometry=geoms, crs="EPSG:4546"
    )


def per_polygon_geometry_mask(dem: Path, geoms: np.ndarray) -> np.ndarray:
    """Window read + geometry_mask for each polygon; returns (mean, min)."""
    out = np.full((len(geoms), 2), np.nan)
    with rasterio.open(dem) as src:
        for i, g in enumerate(geoms):
            win = from_bounds(*g.bounds, transform=src.transform).round_offsets().round_lengths()
            win = Window(win.col_off, win.row_off, win.width + 1, win.height + 1)
            data = src.read(1, window=win, masked=True)
            inside = ~geometry_mask(
                [g], out_shape=data.shape, transform=src.window_transform(win)
            ) & ~np.ma.getmaskarray(data)
            vals = data.data[inside]
            if len(vals):
                out[i] = vals.mean(dtype=np.float64), vals.min()
    return out


def per_polygon_mask(dem: Path, geoms: np.ndarray) -> np.ndarray:
    """``rasterio.mask.mask(crop=True)`` for each polygon; returns (mean, min)."""
    from rasterio.mask import mask

    out = np.full((len(geoms), 2), np.nan)
    with rasterio.open(dem) as src:
        for i, g in enumerate(geoms):
            data, _ = mask(src, [g], crop=True, filled=False, indexes=1)
            vals = data.compressed()
            if len(vals):
                out[i] = vals.mean(dtype=np.float64), vals.min()
    return out


def rasterize_bincount(dem: Path, gdf: gpd.GeoDataFrame) -> np.ndarray:
    """ANCHORS §5's fastest anchor: rasterise all ids once (footprints do not overlap) + bincount."""
    import rasterio
    from rasterio.features import rasterize

    with rasterio.open(dem) as src:
        z = src.read(1).astype(np.float64)
        ids = rasterize(((g, i + 1) for i, g in enumerate(gdf.geometry)), out_shape=z.shape,
                        transform=src.transform, fill=0, dtype="int32")
    k = ids.ravel()
    n = len(gdf) + 1
    cnt = np.bincount(k, minlength=n)
    total = np.bincount(k, weights=z.ravel(), minlength=n)
    mins = np.full(n, np.inf)
    np.minimum.at(mins, k, z.ravel())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, total / cnt, np.nan)
    return np.column_stack([mean[1:], np.where(cnt[1:] > 0, mins[1:], np.nan)])


def with_exactextract(dem: Path, gdf: gpd.GeoDataFrame) -> np.ndarray:
    """exactextract, area-weighted (the DEM read by exactextract itself)."""
    from exactextract import exact_extract

    df = exact_extract(str(dem), gdf, ["mean", "min"], output="pandas")
    return df[["mean", "min"]].to_numpy(dtype=float)


def with_rasterstats(dem: Path, gdf: gpd.GeoDataFrame) -> np.ndarray:
    """rasterstats ``zonal_stats`` with its defaults."""
    from rasterstats import zonal_stats

    res = zonal_stats(list(gdf.geometry), str(dem), stats=["mean", "min"])
    return np.array([[r["mean"], r["min"]] for r in res], dtype=float)


def timed(label: str, fn: Callable[[], np.ndarray], results: dict) -> None:
    """Run ``fn`` and record its seconds, output and the peak RSS after it."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        out = fn()
    except ImportError as exc:
        print(f"{label}: skipped ({exc})")
        return
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    results[label] = (sec, out, cpu)
    print(f"{label}: {sec:.2f} s wall, {cpu:.2f} s CPU (peak RSS so far {rss_mb():.0f} MB)")


def main() -> None:
    """Run the benchmark and print timings, ratios and mean errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compounds", type=int, default=10_000)
    ap.add_argument("--skip", nargs="*", default=[], help="methods to skip")
    ap.add_argument("--out", default="benchmarks/terrain.md", help="Markdown page written")
    args = ap.parse_args()
    skip = set(args.skip)
    if args.compounds > 20_000:
        skip.add("rasterstats")

    with tempfile.TemporaryDirectory() as tmp:
        dem = Path(tmp) / "dem_5m.tif"
        t0 = time.perf_counter()
        make_dem(dem)
        gdf = make_compounds(args.compounds)
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        print(
            f"DEM {SIZE}x{SIZE} @ {PX} m ({dem.stat().st_size / 1e6:.0f} MB tiled/deflate), "
            f"{len(gdf)} compounds; generated in {time.perf_counter() - t0:.1f} s"
        )
        res: dict[str, tuple[float, np.ndarray, float]] = {}

        def ours(ring: float) -> np.ndarray:
            t = compound_terrain(gdf, dem, ring_m=ring)
            return t[["elev_mean", "elev_min"]].to_numpy()

        rings: dict[str, np.ndarray] = {}

        def ours_ring() -> np.ndarray:
            t = compound_terrain(gdf, dem, ring_m=100.0)
            rings["ours"] = t["ring_mean"].to_numpy()
            return t[["elev_mean", "elev_min"]].to_numpy()

        timed("ours (footprints)", lambda: ours(0.0), res)
        timed("ours (footprints + 100 m ring)", ours_ring, res)
        timed("anchor: rasterize all ids + bincount", lambda: rasterize_bincount(dem, gdf), res)
        if "exactextract" not in skip:
            timed("exactextract", lambda: with_exactextract(dem, gdf), res)
            ring_gdf = gdf.set_geometry(
                shapely.difference(shapely.buffer(geoms, 100.0, quad_segs=8), geoms)
            )
            timed("exactextract (rings only)", lambda: with_exactextract(dem, ring_gdf), res)
            if "exactextract (rings only)" in res:
                sec, out, cpu = res["exactextract (rings only)"]
                rings["exactextract"] = out[:, 0]
                res["exactextract (rings only)"] = (sec, out[:, 0], cpu)
        if "geometry_mask" not in skip:
            timed("window + geometry_mask", lambda: per_polygon_geometry_mask(dem, geoms), res)
        if "mask" not in skip:
            timed("rasterio.mask.mask", lambda: per_polygon_mask(dem, geoms), res)
        if "rasterstats" not in skip:
            timed("rasterstats", lambda: with_rasterstats(dem, gdf), res)

    base_cpu = res["ours (footprints)"][2]
    ref = res["exactextract"][1] if "exactextract" in res else None
    rows = [("| method | wall s | CPU s | CPU ÷ ours (footprints) | mean abs error of the mean vs "
             "exactextract (m) |"), "|---|---|---|---|---|"]
    for label, (sec, out, cpu) in res.items():
        err = "reference" if label == "exactextract" else "n/a"
        if ref is not None and label != "exactextract" and out.ndim == 2:
            ok = ~np.isnan(out[:, 0]) & ~np.isnan(ref[:, 0])
            err = f"{np.abs(out[ok, 0] - ref[ok, 0]).mean():.4f}"
        if out.ndim == 1:
            err = "(rings)"
        rows.append(f"| {label} | {sec:.2f} | {cpu:.2f} | {cpu / base_cpu:.2f} | {err} |")
    print("\n".join(rows))
    ring_line = ""
    if len(rings) == 2:
        ok = ~np.isnan(rings["ours"]) & ~np.isnan(rings["exactextract"])
        err = np.abs(rings["ours"][ok] - rings["exactextract"][ok]).mean()
        ring_line = f"Ring mean (100 m): mean |ours − exactextract| = {err:.4f} m."
        print(ring_line)
    print(f"peak RSS (whole run): {rss_mb():.0f} MB")
    anchor = res.get("anchor: rasterize all ids + bincount")
    command = "python scripts/bench_terrain.py " + " ".join(sys.argv[1:])
    lines = [
        *header("DEM zonal statistics: benchmark (ANCHORS §5)", command),
        headline(topic="DEM zonal statistics (§5)", metric="CPU-s, one run",
                 data=f"{SIZE}×{SIZE} {PX:g} m DEM, {args.compounds:,} compounds",
                 ours=f"footprints {base_cpu:.2f}; + 100 m rings "
                      f"{res['ours (footprints + 100 m ring)'][2]:.2f}",
                 anchor=f"rasterize + bincount {anchor[2]:.2f}" if anchor else "–",
                 ratio=f"{base_cpu / anchor[2]:.2f} (footprints)" if anchor else "–",
                 exact="mean error vs exactextract in the table" if ref is not None else
                 "exactextract not installed"),
        "",
        (f"Synthetic {SIZE}×{SIZE} float32 DEM at {PX:g} m (tiled, deflate) and "
         f"{args.compounds:,} compound polygons 40–200 m across. Ours: "
         "`compound_terrain` (mean, min, low share, pixel count, supersampling of small "
         "polygons; with a ring, the ring mean too). Skipped: "
         f"{', '.join(sorted(skip)) or 'none'}."), "",
        *rows, "", ring_line, f"Peak RSS (whole script): {rss_mb():.0f} MB.", "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
