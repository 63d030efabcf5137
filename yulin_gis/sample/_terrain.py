"""Terrain of the synthetic Yulin city: the Nanliu river, the DEM, depressions and the truth.

Part of :mod:`yulin_gis.sample._city` (which re-exports :data:`RIVER_WORLD`): the smoothed
river centre line, a float32 DEM with a gentle slope, hills, the river valley and planted
closed depressions around old compounds, and the planted truth computed exactly from the
generated layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.sample._layout import ANALYSIS_CRS, CELL, REFERENCE_YEAR, _Frame, _Grid
from yulin_gis.sample._networks import GAP_KINDS, GAP_RADIUS

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "RIVER_WORLD",
]

RIVER_WORLD = np.array([
    (420500, 2508600), (417600, 2506300), (415600, 2504100), (413800, 2503050),
    (412000, 2502650), (410000, 2501700), (407600, 2500600), (405200, 2499900),
    (403000, 2498400), (400500, 2496500),
])


# --------------------------------------------------------------------------- river and DEM
def _river_local(frame: _Frame, g: _Grid, mode: str) -> np.ndarray:
    """The Nanliu river centre line (local frame), smoothed with Chaikin's algorithm."""
    if mode == "sample":
        pts = frame.to_local(RIVER_WORLD.astype(float))
    else:
        half = g.nx * CELL / 2
        t = np.linspace(-1.1, 1.1, 80)
        pts = np.column_stack([t * half, 0.18 * t * half + 0.05 * half * np.sin(3 * np.pi * t)])
    for _ in range(3):  # Chaikin smoothing
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        pts = np.vstack([pts[:1], np.column_stack([q, r]).reshape(-1, 2), pts[-1:]])
    return pts


def _dem(rng: np.random.Generator, frame: _Frame, g: _Grid, river_world: np.ndarray,
         depressions: pd.DataFrame, res: float) -> tuple[np.ndarray, tuple[float, ...]]:
    """Float32 DEM (EPSG:4546, north-up): gentle slope, hills, Nanliu valley, planted sinks."""
    from rasterio.features import rasterize
    from rasterio.transform import Affine
    from scipy.ndimage import distance_transform_edt
    from shapely import LineString

    ui, uj = np.nonzero(g.urban)
    lo = np.array([g.x0 + ui.min() * CELL, g.y0 + uj.min() * CELL]) - 300
    hi = np.array([g.x0 + (ui.max() + 1) * CELL, g.y0 + (uj.max() + 1) * CELL]) + 300
    w = frame.to_world(np.array([lo, [hi[0], lo[1]], [lo[0], hi[1]], hi]))
    xmin, ymin = np.floor(w.min(0) / res) * res - 2 * res
    xmax, ymax = np.ceil(w.max(0) / res) * res + 2 * res
    ncol, nrow = int((xmax - xmin) / res), int((ymax - ymin) / res)
    transform = Affine(res, 0.0, xmin, 0.0, -res, ymax)
    line = rasterize([(LineString(river_world), 1)], out_shape=(nrow, ncol), transform=transform,
                     all_touched=True, dtype="uint8")
    dist = distance_transform_edt(line == 0) * res
    X = (xmin + (np.arange(ncol) + 0.5) * res - frame.origin[0]).astype(np.float32)
    Y = (ymax - (np.arange(nrow) + 0.5) * res - frame.origin[1]).astype(np.float32)
    z = np.full((nrow, ncol), 78.0, np.float32) + (0.00106 * X)[None, :] + (0.00106 * Y)[:, None]
    for hx, hy, amp, sig in _hills(rng, frame, g, depressions):
        z += amp * np.outer(np.exp(-((Y - hy) ** 2) / (2 * sig**2)), np.exp(-((X - hx) ** 2) / (2 * sig**2)))
    for _ in range(3):  # sin(ax + by + p) = sin(ax) cos(by + p) + cos(ax) sin(by + p)
        ang, wl, ph = rng.uniform(0, np.pi), rng.uniform(1500, 4000), rng.uniform(0, 2 * np.pi)
        ax, by = X * np.cos(ang) / wl * 2 * np.pi, Y * np.sin(ang) / wl * 2 * np.pi + ph
        z += 0.6 * (np.outer(np.cos(by), np.sin(ax)) + np.outer(np.sin(by), np.cos(ax))).astype(np.float32)
    z -= (5.0 * np.exp(-((dist / 150.0) ** 2)) + 3.0 * np.exp(-((dist / 600.0) ** 2))).astype(np.float32)
    for dx, dy, rad, depth in depressions[["x", "y", "radius_m", "depth_m"]].to_numpy(float):
        px, py = dx - frame.origin[0], dy - frame.origin[1]
        c0, c1 = np.searchsorted(X, [px - rad, px + rad])
        r0, r1 = np.searchsorted(-Y, [-(py + rad), -(py - rad)])
        r = np.hypot(X[None, c0:c1] - px, Y[r0:r1, None] - py)
        z[r0:r1, c0:c1] -= np.where(r < rad, depth * (1 - (r / rad) ** 2) ** 2, 0.0).astype(np.float32)
    return (np.round(z * 20.0) / 20.0).astype(np.float32), tuple(transform)[:6]


def _hills(rng: np.random.Generator, frame: _Frame, g: _Grid,
           depressions: pd.DataFrame) -> list[tuple[float, float, float, float]]:
    """A few hills (centre relative to the frame origin, height, sigma) on open land, away from sinks."""
    cx, cy = g.centres()
    m = g.dens < 0.2
    pts = frame.to_world(np.column_stack([cx[m], cy[m]])) - np.asarray(frame.origin)
    pts = pts[rng.permutation(len(pts))]
    sinks = depressions[["x", "y"]].to_numpy(float) - np.asarray(frame.origin)
    out: list[tuple[float, float, float, float]] = []
    for p in pts:
        if len(sinks) and np.min(np.hypot(*(sinks - p).T)) < 2000:
            continue
        if all(np.hypot(p[0] - h[0], p[1] - h[1]) > 2500 for h in out):
            out.append((float(p[0]), float(p[1]), float(rng.uniform(8, 20)), float(rng.uniform(500, 900))))
        if len(out) == 4:
            break
    return out


# --------------------------------------------------------------------------- depressions
def _plant_depressions(rng: np.random.Generator, frame: _Frame, cent: np.ndarray, half_diag: np.ndarray,
                       A: pd.DataFrame, river_d: np.ndarray, count: int) -> pd.DataFrame:
    """Closed depressions centred on old compounds: ``count`` inland (> 600 m from the river)
    and about half as many riverside pockets (250–400 m from the river line). The radius
    is at least 1.3 times the central compound's half-diagonal, so that compound lies
    wholly in the bowl."""
    base = (A.built_year.to_numpy() <= 2000) & ~A.isolated.to_numpy()
    chosen: list[int] = []
    kinds: list[str] = []
    for kind, mask, k in (("depression", river_d > 600, count), ("river", (river_d >= 250) & (river_d <= 400),
                                                                  max(1, count // 2))):
        cand = np.nonzero(base & mask)[0]
        got = 0
        for c in cand[rng.permutation(len(cand))]:
            if got == k:
                break
            if all(np.hypot(*(cent[c] - cent[o])) > 800 for o in chosen):
                chosen.append(int(c))
                kinds.append(kind)
                got += 1
    idx = np.array(chosen, dtype=int)
    world = frame.to_world(cent[idx]) if len(idx) else np.empty((0, 2))
    return pd.DataFrame({"x": world[:, 0], "y": world[:, 1], "lx": cent[idx, 0], "ly": cent[idx, 1],
                         "radius_m": np.maximum(rng.uniform(110, 160, len(idx)), 1.3 * half_diag[idx]).round(1),
                         "depth_m": rng.uniform(3.0, 4.0, len(idx)).round(2), "kind": kinds})


# --------------------------------------------------------------------------- planted truth
def _truth(A: pd.DataFrame, U: pd.DataFrame, seg_ids: np.ndarray, compounds: gpd.GeoDataFrame,
           facilities: gpd.GeoDataFrame, cent: np.ndarray, local: np.ndarray,
           dep: pd.DataFrame, chahua: np.ndarray, gaps: dict[str, np.ndarray], frame: _Frame) -> dict[str, Any]:
    """Planted truth, keyed by compound id (computed exactly from the generated layers)."""
    import shapely
    from scipy.spatial import cKDTree

    cid = A.compound_id.to_numpy()
    haz = U[(U.hazard != "") & (U.compound >= 0)]
    hazard_compounds: dict[str, dict[str, str]] = {}
    for comp, h, sid in sorted(zip(cid[haz.compound], haz.hazard, seg_ids[haz.index], strict=True)):
        hazard_compounds.setdefault(comp, {})[h] = sid
    low: dict[str, str] = {}
    tree = cKDTree(cent)
    for (lx, ly, rad), kind in zip(dep[["lx", "ly", "radius_m"]].to_numpy(float), dep.kind, strict=True):
        for k in tree.query_ball_point((lx, ly), rad):
            xy = shapely.get_coordinates(local[k])
            if np.hypot(xy[:, 0] - lx, xy[:, 1] - ly).max() <= 0.8 * rad:
                low[cid[k]] = str(kind)
    gaps_out: dict[str, list[str]] = {}
    for kind in GAP_KINDS:
        pts = facilities.geometry.values[np.asarray(facilities.kind == kind)]
        dist = np.full(len(compounds), np.inf)
        if len(pts):
            _, dist = shapely.STRtree(pts).query_nearest(compounds.geometry.values, return_distance=True,
                                                         all_matches=False)
        gaps_out[kind] = sorted(compounds.compound_id[dist > GAP_RADIUS])
    dnn, _ = tree.query(cent, k=2)
    isolated = []
    for k in np.nonzero(dnn[:, 1] > 500.0)[0]:
        near = shapely.STRtree(local).query(local[k], predicate="dwithin", distance=500.0)
        if len(near) == 1:
            isolated.append(cid[k])
    return {
        "crs": ANALYSIS_CRS, "reference_year": REFERENCE_YEAR, "n_compounds": len(A),
        "hazard_compounds": hazard_compounds,
        "hazard_segments": dict(sorted(zip(seg_ids[U.hazard != ""], U.hazard[U.hazard != ""], strict=True))),
        "low_lying": dict(sorted(low.items())),
        "depressions": [{"x": round(float(x), 2), "y": round(float(y), 2), "radius_m": float(r), "depth_m": float(d),
                         "kind": str(k)}
                        for (x, y, r, d), k in zip(dep[["x", "y", "radius_m", "depth_m"]].to_numpy(float), dep.kind,
                                                   strict=True)],
        "service_gaps": gaps_out, "service_gap_radius_m": GAP_RADIUS,
        "gap_centres": {k: [[round(float(a), 2), round(float(b), 2)] for a, b in frame.to_world(v)]
                        for k, v in gaps.items() if len(v)},
        "isolated": sorted(isolated), "isolated_distance_m": 500.0,
        "scattered_old_buildings": sorted(cid[chahua]),
    }
