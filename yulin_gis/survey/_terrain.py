"""DEM zonal statistics for waterlogging evidence (内涝风险：地形低洼).

For every compound (小区) :func:`compound_terrain` reads the DEM once (a window covering
all compounds, or one window per spatial block of compounds when that would exceed
``max_window_px``) and computes, with pixel-centre rasterisation:

- ``elev_mean`` / ``elev_min`` over the footprint and ``pixel_count`` (valid DEM pixels
  that contributed);
- ``ring_mean``: mean elevation of the ring around the compound (its ``ring_m`` buffer
  minus the compound itself) and ``rel_elev_m = elev_mean - ring_mean`` (negative: the
  compound sits lower than its surroundings);
- ``low_share``: share of the footprint below the low-ground elevation, by default the
  ``low_quantile`` quantile of the valid DEM pixels in the window read (the region
  covering every compound and its ring; on windows above 4 M pixels, of a regular
  subsample of about 4 M of them), or an absolute ``low_elevation_m``.

Method (ANCHORS §5): all footprint ids are burnt into one integer raster with
``rasterio.features.rasterize`` and reduced with ``np.bincount`` / ``np.minimum.at``
(footprints that overlap each other are burnt in separate groups, from a greedy colouring
of the overlap graph, so no pixel is lost). Rings overlap a lot, so their sums are taken
by scanlines instead: each pixel row cuts the ring outlines into spans, and a span's sum is
the difference of two row prefix sums; no grouping, and the cost follows the outlines, not
the areas. The ring statistic is the buffer's sum minus the footprint's (same pixel-centre
rule). On a rotated DEM the rings are burnt in non-overlapping groups instead.
Compounds covering fewer than ``min_pixels`` pixel centres are rasterised again on a finer
grid (supersampled) and their statistics weighted by the fine cells, so small compounds
get values. DEM
nodata (and NaN) pixels are excluded everywhere; a compound with no valid pixel gets NaN
and ``pixel_count`` 0, never 0 m.

The compound geometries (and rings, buffered in metres in their metric CRS) are
reprojected to the DEM's CRS; the raster itself is never resampled.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from yulin_gis.io import require_columns, require_unique_ids
from yulin_gis.survey._raster import geojson_like as _geojson_like
from yulin_gis.survey._raster import group_min as _group_min
from yulin_gis.survey._terrain_dem import (
    _blocks,
    _geometries_in_dem_crs,
    _Grid,
    _nodata_to_nan,
    _open_dem,
    _read_window,
    _window_of,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["compound_terrain", "waterlogging_risk"]

logger = logging.getLogger(__name__)

_QUANTILE_SAMPLE = 4_000_000
_COLUMNS = [
    "elev_mean",
    "elev_min",
    "pixel_count",
    "ring_mean",
    "rel_elev_m",
    "low_share",
    "supersampled",
]


@dataclass
class _Acc:
    """Per-geometry accumulators: sum of weights·z, weights, min, weights below low."""

    total: np.ndarray
    weight: np.ndarray
    minimum: np.ndarray
    low: np.ndarray
    pixels: np.ndarray

    def put(self, idx: np.ndarray, other: _Acc) -> None:
        """Copy ``other`` (statistics of the compounds ``idx``) into place."""
        for name in ("total", "weight", "minimum", "low", "pixels"):
            getattr(self, name)[idx] = getattr(other, name)

    @classmethod
    def empty(cls, n: int) -> _Acc:
        return cls(np.zeros(n), np.zeros(n), np.full(n, np.inf), np.zeros(n), np.zeros(n, np.int64))


def _groups(geoms: np.ndarray, exact: bool) -> list[np.ndarray]:
    """Split indices of ``geoms`` into groups whose members do not overlap.

    ``exact=False`` uses bounding boxes (fast, conservative); ``exact=True`` uses
    interior intersection (touching polygons may share a group).
    """
    idx = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(idx) == 0:
        return []
    sub = geoms[idx]
    tree = shapely.STRtree(sub)
    a, b = tree.query(sub, predicate="intersects" if exact else None)
    keep = a < b
    a, b = a[keep], b[keep]
    if exact and len(a):
        inner = ~shapely.touches(sub[a], sub[b])
        a, b = a[inner], b[inner]
    if len(a) == 0:
        return [idx]
    colour = _greedy_colour(len(sub), a, b)
    return [idx[colour == c] for c in range(int(colour.max()) + 1)]


def _greedy_colour(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Greedy colouring in index order; ``a < b`` are the conflicting pairs."""
    order = np.argsort(b, kind="stable")
    lower = a[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(b, minlength=n), out=indptr[1:])
    colour = np.zeros(n, dtype=np.int64)
    lower_l, indptr_l = lower.tolist(), indptr.tolist()
    colour_l = [0] * n
    for node in range(n):
        lo, hi = indptr_l[node], indptr_l[node + 1]
        if lo == hi:
            continue
        used = {colour_l[j] for j in lower_l[lo:hi]}
        c = 0
        while c in used:
            c += 1
        colour_l[node] = c
    colour[:] = colour_l
    return colour


def _burn(
    grid: _Grid,
    geoms: np.ndarray,
    groups: list[np.ndarray],
    acc: _Acc,
    low_thr: float,
    full: bool = True,
) -> None:
    """Rasterise each group of ids and accumulate sums and counts (``full``: min, low too)."""
    from rasterio.features import rasterize

    out = np.zeros(grid.shape, dtype=np.int32)
    zf = grid.z.ravel()
    n = len(acc.weight)
    for members in groups:
        out.fill(0)
        rasterize(
            zip(_geojson_like(geoms[members]), (members + 1).tolist(), strict=True),
            out=out, transform=grid.transform, fill=0,
        )
        ids = out.ravel()
        sel = np.flatnonzero(ids)
        z, k = zf[sel], ids[sel] - 1
        if grid.has_nodata:
            ok = ~np.isnan(z)
            z, k = z[ok], k[ok]
        cnt = np.bincount(k, minlength=n)
        acc.total += np.bincount(k, weights=z, minlength=n)
        acc.weight += cnt
        acc.pixels += cnt
        if full:
            acc.low += np.bincount(k, weights=z < low_thr, minlength=n)
            _group_min(acc.minimum, k, z)


def _supersample(
    grid: _Grid, geom: Any, low_thr: float, min_pixels: int, max_factor: int
) -> tuple[float, float, float, float, int] | None:
    """Statistics of one small geometry on a finer grid, weighted by fine cells.

    Returns ``(sum w·z, sum w, min, sum w below low, pixels)`` or None when nothing
    valid is covered.
    """
    from affine import Affine
    from rasterio.features import rasterize

    inv = ~grid.transform
    minx, miny, maxx, maxy = shapely.bounds(geom)
    cols, rows = zip(*(inv @ (x, y) for x in (minx, maxx) for y in (miny, maxy)), strict=True)
    c0, r0 = max(0, math.floor(min(cols))), max(0, math.floor(min(rows)))
    c1 = min(grid.shape[1], max(math.floor(max(cols)) + 1, c0 + 1))
    r1 = min(grid.shape[0], max(math.floor(max(rows)) + 1, r0 + 1))
    if c1 <= c0 or r1 <= r0:
        return None
    pixel_area = abs(grid.transform.a * grid.transform.e - grid.transform.b * grid.transform.d)
    area_px = float(shapely.area(geom)) / pixel_area
    factor = max_factor if area_px <= 0 else math.ceil(math.sqrt(min_pixels / area_px))
    factor = int(min(max(factor, 2), max_factor))
    h, w = r1 - r0, c1 - c0
    fine_t = grid.transform @ Affine.translation(c0, r0) @ Affine.scale(1 / factor)
    fine = np.zeros((h * factor, w * factor), dtype=np.uint8)
    rasterize([(geom, 1)], out=fine, transform=fine_t, fill=0)
    if not fine.any():
        rasterize([(geom, 1)], out=fine, transform=fine_t, fill=0, all_touched=True)
    weights = fine.reshape(h, factor, w, factor).sum(axis=(1, 3)).astype(np.float64)
    z = grid.z[r0:r1, c0:c1].astype(np.float64)
    weights[np.isnan(z)] = 0.0
    covered = weights > 0
    if not covered.any():
        return None
    zc = np.where(covered, z, 0.0)
    return (
        float((weights * zc).sum()),
        float(weights.sum()),
        float(z[covered].min()),
        float(weights[covered & (zc < low_thr)].sum()),
        int(covered.sum()),
    )


def _refine_small(
    grid: _Grid,
    geoms: np.ndarray,
    acc: _Acc,
    low_thr: float,
    min_pixels: int,
    max_factor: int,
    holes: np.ndarray | None = None,
) -> np.ndarray:
    """Supersample geometries with fewer than ``min_pixels`` pixels; return the mask.

    With ``holes`` the geometry is ``geoms[i]`` minus ``holes[i]`` (rings).
    """
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    small = usable & (acc.pixels < min_pixels)
    for i in np.flatnonzero(small):
        geom = geoms[i] if holes is None else shapely.difference(geoms[i], holes[i])
        res = _supersample(grid, geom, low_thr, min_pixels, max_factor)
        acc.total[i], acc.weight[i], acc.minimum[i], acc.low[i], acc.pixels[i] = (
            (0.0, 0.0, math.inf, 0.0, 0) if res is None else res
        )
    return small


def _span_sums(grid: _Grid, geoms: np.ndarray, acc: _Acc, chunk: int = 20_000) -> None:
    """Add sum and count of the valid pixels whose centres lie in each polygon (scanlines).

    For every pixel row the polygon outlines are cut by the line through the pixel
    centres (half-open in y, as GDAL's rasterizer); the sorted crossings of one polygon
    pair up into spans, and each span's sum is a difference of two row prefix sums. The
    cost follows the outlines, not the areas, and overlapping polygons (the rings) need no
    grouping. North-up grids only.
    """
    t = grid.transform
    h, w = grid.shape
    prefix = np.zeros((h, w + 1))
    np.cumsum(np.nan_to_num(grid.z, nan=0.0), axis=1, dtype=np.float64, out=prefix[:, 1:])
    count = None
    if grid.has_nodata:
        count = np.zeros((h, w + 1), dtype=np.int32)
        np.cumsum(~np.isnan(grid.z), axis=1, dtype=np.int32, out=count[:, 1:])
    n = len(acc.weight)
    for start in range(0, len(geoms), chunk):
        parts, part_of = shapely.get_parts(geoms[start : start + chunk], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        xy, vert_of = shapely.get_coordinates(rings, return_index=True)
        u, v = (xy[:, 0] - t.c) / t.a, (xy[:, 1] - t.f) / t.e
        same = vert_of[1:] == vert_of[:-1]
        owner = part_of[ring_of[vert_of[:-1][same]]] + start
        u1, v1, u2, v2 = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        r0 = np.clip(np.ceil(np.minimum(v1, v2) - 0.5), 0, h).astype(np.int64)
        r1 = np.clip(np.ceil(np.maximum(v1, v2) - 0.5), 0, h).astype(np.int64)
        k = np.maximum(r1 - r0, 0)
        e = np.repeat(np.arange(len(k)), k)
        row = r0[e] + np.arange(len(e)) - np.repeat(np.cumsum(k) - k, k)
        x = u1[e] + (row + 0.5 - v1[e]) * (u2[e] - u1[e]) / (v2[e] - v1[e])
        # the column of a crossing is monotone in x, so sorting one integer key
        # (owner, row, column) pairs the crossings as sorting by x would
        col = np.clip(np.ceil(x - 0.5), 0, w).astype(np.int64)
        key = np.sort((owner[e] * (h + 1) + row) * (w + 1) + col)
        col = key % (w + 1)
        key //= w + 1
        row, own = key[0::2] % (h + 1), key[0::2] // (h + 1)
        c0, c1 = col[0::2], col[1::2]
        acc.total += np.bincount(own, prefix[row, c1] - prefix[row, c0], minlength=n)
        cnt = (c1 - c0) if count is None else (count[row, c1] - count[row, c0])
        got = np.bincount(own, cnt, minlength=n)
        acc.weight += got
        acc.pixels += got.astype(np.int64)


def _zonal(
    grid: _Grid,
    foot: np.ndarray,
    rings: np.ndarray | None,
    low_thr: float,
    min_pixels: int,
    max_factor: int,
) -> tuple[_Acc, _Acc, np.ndarray]:
    """Footprint and ring statistics; returns (footprints, rings, supersampled mask).

    The ring sums are the buffer sums minus the footprint sums (the footprint's pixels are
    a subset of its buffer's), so footprints are not burnt again as holes.
    """
    n = len(foot)
    acc, ring = _Acc.empty(n), _Acc.empty(n)
    _burn(grid, foot, _groups(foot, exact=True), acc, low_thr)
    raw_total, raw_weight = acc.total.copy(), acc.weight.copy()
    small = _refine_small(grid, foot, acc, low_thr, min_pixels, max_factor)
    if rings is not None:
        if grid.transform.b == 0 and grid.transform.d == 0:
            _span_sums(grid, rings, ring)
        else:  # a rotated DEM: burn the rings in non-overlapping groups
            ring_groups = _groups(rings, exact=False)
            logger.debug("terrain: %d ring group(s)", len(ring_groups))
            _burn(grid, rings, ring_groups, ring, low_thr, full=False)
        ring.total -= raw_total
        ring.weight -= raw_weight
        ring.pixels -= raw_weight.astype(np.int64)
        _refine_small(grid, rings, ring, low_thr, min_pixels, max_factor, holes=foot)
    return acc, ring, small


def _low_threshold(grid: _Grid, low_quantile: float, low_elevation_m: float | None) -> float:
    if low_elevation_m is not None:
        return float(low_elevation_m)
    if not 0.0 <= low_quantile <= 1.0:
        raise ValueError(f"low_quantile must be within [0, 1], got {low_quantile!r}")
    # a regular subsample of at most ~4 M pixels is plenty for a quantile
    step = max(1, math.ceil(math.sqrt(grid.z.size / _QUANTILE_SAMPLE)))
    values = grid.z[::step, ::step]
    values = values[~np.isnan(values)]
    return float(np.quantile(values, low_quantile)) if len(values) else math.nan


def _low_threshold_decimated(
    src: Any, every: np.ndarray, band: int, low_quantile: float, low_elevation_m: float | None
) -> float:
    """Low-ground elevation from a decimated read of the whole region (many windows)."""
    if low_elevation_m is not None:
        return float(low_elevation_m)
    usable = ~(shapely.is_missing(every) | shapely.is_empty(every))
    win = _window_of(src, shapely.total_bounds(every[usable]))
    step = max(1, math.ceil(math.sqrt(win.width * win.height / _QUANTILE_SAMPLE)))
    shape = (math.ceil(win.height / step), math.ceil(win.width / step))
    z = src.read(band, window=win, out_shape=shape, out_dtype=np.float32)
    grid = _Grid(z=_nodata_to_nan(src, band, z), transform=src.window_transform(win))
    return _low_threshold(grid, low_quantile, None)


def _validate(compounds: gpd.GeoDataFrame) -> None:
    require_unique_ids(compounds)


def compound_terrain(
    compounds: gpd.GeoDataFrame,
    dem_path: str | os.PathLike[str], *,
    ring_m: float = 100.0,
    low_quantile: float = 0.2,
    low_elevation_m: float | None = None,
    min_pixels: int = 20,
    max_supersample: int = 16,
    band: int = 1,
    max_window_px: int = 36_000_000,
) -> pd.DataFrame:
    """Zonal elevation statistics of each compound and its surroundings.

    Parameters
    ----------
    compounds
        Compound (小区) polygons (or points) with ``compound_id``, in a metric CRS.
    dem_path
        A single-band elevation GeoTIFF (metres) with a CRS; any CRS is accepted, the
        compound geometries are reprojected to it.
    ring_m
        Width of the surrounding ring (buffer minus the compound), metres; ``0`` skips
        the ring (``ring_mean`` and ``rel_elev_m`` NaN).
    low_quantile
        Low ground is below this quantile of the valid DEM pixels in the region read
        (all compounds and rings).
    low_elevation_m
        Absolute low-ground elevation instead of the quantile.
    min_pixels
        Compounds (and rings) covering fewer pixel centres are supersampled.
    max_supersample
        Largest supersampling factor per axis.
    band
        DEM band to read.
    max_window_px
        Largest DEM window read at once (pixels; 36 M = 144 MB as float32). When the
        compounds span more, they are processed in spatial blocks, each with its own
        window, and the low-ground quantile comes from a decimated read of the region.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``compound_id`` (input order): ``elev_mean``, ``elev_min``,
        ``pixel_count`` (valid DEM pixels that contributed; for supersampled compounds the
        pixels partly covered), ``ring_mean``, ``rel_elev_m``, ``low_share`` (0–1) and
        ``supersampled`` (bool). ``attrs["low_elevation_m"]`` holds the low-ground
        elevation used. No valid pixel: NaN statistics and ``pixel_count`` 0.
    """
    _validate(compounds)
    path = os.fspath(dem_path)
    n = len(compounds)
    acc, ring = _Acc.empty(n), _Acc.empty(n)
    small = np.zeros(n, dtype=bool)
    low_thr = math.nan
    with _open_dem(path) as src:
        foot, rings = _geometries_in_dem_crs(compounds, src.crs, ring_m, path)
        every = foot if rings is None else rings
        blocks = _blocks(src, every, max_window_px)
        if len(blocks) > 1:
            low_thr = _low_threshold_decimated(src, every, band, low_quantile, low_elevation_m)
            logger.info("terrain: %d compounds read in %d DEM windows", n, len(blocks))
        for idx in blocks:
            grid = _read_window(src, shapely.total_bounds(every[idx]), band)
            if grid is None:
                continue
            if len(blocks) == 1:
                low_thr = _low_threshold(grid, low_quantile, low_elevation_m)
            a, r, s = _zonal(
                grid,
                foot[idx],
                None if rings is None else rings[idx],
                low_thr,
                min_pixels,
                max_supersample,
            )
            acc.put(idx, a)
            ring.put(idx, r)
            small[idx] = s
        if not blocks:
            logger.warning("terrain: no compound overlaps DEM %s", path)
    out = _frame(compounds["compound_id"].to_numpy(), acc, ring, small)
    out.attrs["low_elevation_m"] = low_thr
    out.attrs["dem"] = path
    none = out["pixel_count"].to_numpy() == 0
    if none.any():
        logger.warning(
            "terrain: %d compound(s) have no valid DEM pixel (NaN): %s",
            int(none.sum()),
            ", ".join(map(str, out.index[none][:20])),
        )
    return out


def _frame(ids: np.ndarray, acc: _Acc, ring: _Acc, small: np.ndarray) -> pd.DataFrame:
    """The result table from the accumulators (NaN and 0 pixels where nothing covers)."""
    none = acc.weight <= 0
    no_ring = ring.weight <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(none, np.nan, acc.total / acc.weight)
        ring_mean = np.where(no_ring, np.nan, ring.total / ring.weight)
        low_share = np.where(none, np.nan, acc.low / acc.weight)
    out = pd.DataFrame(
        {
            "elev_mean": mean,
            "elev_min": np.where(none, np.nan, acc.minimum),
            "pixel_count": np.where(none, 0, acc.pixels).astype(np.int64),
            "ring_mean": ring_mean,
            "rel_elev_m": mean - ring_mean,
            "low_share": low_share,
            "supersampled": small & ~none,
        },
        index=pd.Index(ids, name="compound_id"),
    )
    return out[_COLUMNS]


def waterlogging_risk(
    terrain_df: pd.DataFrame,
    rel_elev_threshold_m: float = -1.0,
    low_share_threshold: float = 0.5,
) -> pd.Series:
    """Flag compounds at waterlogging risk (易涝) from :func:`compound_terrain`.

    A compound is at risk when it lies at least ``-rel_elev_threshold_m`` metres below
    its surrounding ring (``rel_elev_m <= rel_elev_threshold_m``) **or** when at least
    ``low_share_threshold`` of its footprint is low ground (``low_share >=
    low_share_threshold``). Missing values (no DEM coverage) never flag.

    Returns
    -------
    pandas.Series
        Boolean, named ``waterlogging_risk``, same index as ``terrain_df``.
    """
    require_columns(terrain_df, ("rel_elev_m", "low_share"), layer="terrain table")
    rel = terrain_df["rel_elev_m"].to_numpy(dtype=float)
    low = terrain_df["low_share"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        risk = (rel <= rel_elev_threshold_m) | (low >= low_share_threshold)
    return pd.Series(risk, index=terrain_df.index, name="waterlogging_risk", dtype=bool)
