"""Planted negatives of the synthetic Yulin city: compounds the survey must NOT flag.

Part of :mod:`yulin_gis.sample._city`. The planted positives (low-lying compounds in closed
depressions, service gaps far from any facility) show recall; these show precision:

* ``not_low_lying``: compounds on the rim of an inland planted depression (every vertex
  1.5–3 radii from its centre): the bowl lowers their surrounding ring, so they stand
  relatively high;
* ``walk_bound_m``: per gap kind, compounds whose nearest road is also the nearest road of
  a facility of that kind (both unambiguously, by more than 2 m). Walking from the
  compound to the road, along that road and on to the facility is a path, so its length
  (from the compound's gate farthest from the facility, where the compound meets the road
  along a stretch) bounds the walking distance from above: where the bound is within the life-circle limit
  the compound must not be flagged as a gap. Computed from the generated layers alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis.sample._networks import GAP_KINDS

if TYPE_CHECKING:
    import geopandas as gpd

__all__: list[str] = []

TIE_MARGIN_M = 2.0
BOUND_MAX_M = 600.0
RIM = (1.5, 3.0)


def _nearest_road(lines: np.ndarray, tree: Any, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest road line per geometry and whether it is nearest by more than the margin."""
    import shapely

    near = tree.query_nearest(geoms, all_matches=False)[1]
    d1 = shapely.distance(geoms, lines[near])
    clear = np.ones(len(geoms), dtype=bool)
    src, hit = tree.query(geoms, predicate="dwithin", distance=d1 + TIE_MARGIN_M)
    other = hit != near[src]
    clear[np.unique(src[other])] = False
    return near, clear


def planted_negatives(compounds: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                      facilities: gpd.GeoDataFrame, depressions: list[dict[str, Any]]) -> dict[str, Any]:
    """``not_low_lying`` and ``walk_bound_m`` (see the module notes), keyed by compound id."""
    import shapely

    cid = compounds["compound_id"].to_numpy()
    polys = compounds.geometry.to_numpy()
    rim: set[str] = set()
    for dep in depressions:
        if dep["kind"] != "depression":
            continue
        xy, owner = shapely.get_coordinates(polys, return_index=True)
        r = np.hypot(xy[:, 0] - dep["x"], xy[:, 1] - dep["y"])
        lo = np.full(len(polys), np.inf)
        hi = np.zeros(len(polys))
        np.minimum.at(lo, owner, r)
        np.maximum.at(hi, owner, r)
        ok = (lo >= RIM[0] * dep["radius_m"]) & (hi <= RIM[1] * dep["radius_m"])
        rim.update(cid[ok].tolist())
    lines = roads.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    c_road, c_clear = _nearest_road(lines, tree, polys)
    c_leg = shapely.distance(polys, lines[c_road])
    # the compound may meet its road along a stretch (a side parallel to the road, a road
    # into it): any point of the road within 1 m of the nearest distance can be its gate,
    # so the bound takes the farthest of them from the facility
    reach = shapely.intersection(lines[c_road], shapely.buffer(polys, c_leg + 1.0, quad_segs=4))
    c_lo, c_hi = np.zeros(len(polys)), np.zeros(len(polys))
    for i, (line, part) in enumerate(zip(lines[c_road], reach, strict=True)):
        t = shapely.line_locate_point(line, shapely.points(shapely.get_coordinates(part)))
        c_lo[i], c_hi[i] = (float(t.min()), float(t.max())) if len(t) else (np.inf, -np.inf)
    bounds: dict[str, dict[str, float]] = {}
    for kind in GAP_KINDS:
        pts = facilities.geometry.to_numpy()[(facilities["kind"] == kind).to_numpy()]
        f_road, f_clear = _nearest_road(lines, tree, pts)
        f_leg = shapely.distance(pts, lines[f_road])
        f_at = shapely.line_locate_point(lines[f_road], pts)
        best = np.full(len(polys), np.inf)
        for k in np.flatnonzero(f_clear):
            same = c_clear & (c_road == f_road[k])
            far = np.maximum(np.abs(c_lo[same] - f_at[k]), np.abs(c_hi[same] - f_at[k]))
            best[same] = np.minimum(best[same], c_leg[same] + far + f_leg[k])
        keep = np.flatnonzero(best <= BOUND_MAX_M)
        bounds[kind] = {str(cid[i]): round(float(best[i]), 2) for i in sorted(keep, key=lambda i: cid[i])}
    return {"not_low_lying": sorted(rim), "walk_bound_m": bounds}
