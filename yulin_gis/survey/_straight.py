"""Straight-line distances of the life-circle walk (直线距离).

Helpers of :func:`yulin_gis.survey._accessibility.nearest_facility_distances` that measure the
straight line from each compound (小区) to the nearest facility of a kind, with a KD-tree
pre-filter over the facility points and an exact STRtree fallback, and that check every
walking distance against the straight line to the facility it found (a walk can never be
shorter than the straight line; rounding is clamped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


def _not_below_straight(
    walk: np.ndarray, found: np.ndarray, origins: np.ndarray, fac_geoms: np.ndarray, kind: str
) -> np.ndarray:
    """Check walk >= straight line to the facility found; clamp rounding (by construction)."""
    has = found >= 0
    if not has.any():
        return walk
    straight = np.full(len(walk), np.nan)
    straight[has] = shapely.distance(origins[has], fac_geoms[found[has]])
    with np.errstate(invalid="ignore"):
        bad = straight - walk > 1e-6 + 1e-9 * np.nan_to_num(straight)
    if bad.any():  # pragma: no cover - impossible by the triangle inequality
        raise AssertionError(
            f"walking distance shorter than the straight line for kind {kind!r} "
            f"({int(bad.sum())} compound(s))"
        )
    return np.fmax(walk, straight)



@dataclass(frozen=True)
class _Discs:
    """Each origin's centroid and the radius of the disc around it that holds it."""

    rows: np.ndarray
    centre: np.ndarray
    radius: np.ndarray

    @classmethod
    def of(cls, origins: np.ndarray) -> _Discs:
        rows = np.flatnonzero(~(shapely.is_missing(origins) | shapely.is_empty(origins)))
        geoms = origins[rows]
        centre = shapely.get_coordinates(shapely.centroid(geoms))
        coords, owner = shapely.get_coordinates(geoms, return_index=True)
        radius = np.zeros(len(rows))
        np.maximum.at(radius, owner, np.hypot(*(coords - centre[owner]).T))
        return cls(rows, centre, radius)


def _straight_nearest(origins: np.ndarray, targets: np.ndarray, discs: _Discs) -> np.ndarray:
    """Straight-line distance from each origin to the nearest target (NaN if none)."""
    out = np.full(len(origins), np.nan)
    targets = targets[~(shapely.is_missing(targets) | shapely.is_empty(targets))]
    if len(targets) == 0 or len(discs.rows) == 0:
        return out
    rest = discs.rows
    if (shapely.get_type_id(targets) == 0).all():
        rest = _straight_nearest_kdtree(origins, discs, targets, out)
    if len(rest):
        (src, _), dist = shapely.STRtree(targets).query_nearest(
            origins[rest], all_matches=False, return_distance=True
        )
        out[rest[src]] = dist
    return out


def _straight_nearest_kdtree(
    origins: np.ndarray, discs: _Discs, points: np.ndarray, out: np.ndarray, k: int = 8
) -> np.ndarray:
    """Exact nearest-point distances via a KD-tree pre-filter; returns rows left over.

    Each origin lies in a disc of radius ``r`` around its centroid ``c``, so for every
    point ``f``: ``|c-f| - r <= d(origin, f) <= |c-f| + r``; only the ``k`` nearest points
    to ``c`` with ``|c-f| <= d1 + 2r`` can be the nearest. Rows whose candidates may lie
    beyond the ``k`` found are returned for the exact STRtree search.
    """
    from scipy.spatial import cKDTree

    rows = discs.rows
    k = min(k, len(points))
    dk, ik = cKDTree(shapely.get_coordinates(points)).query(discs.centre, k=k)
    dk, ik = dk.reshape(len(rows), k), ik.reshape(len(rows), k)
    bound = dk[:, 0] + 2 * discs.radius
    complete = (dk[:, -1] > bound) if k < len(points) else np.ones(len(rows), dtype=bool)
    i, j = np.nonzero((dk <= bound[:, None]) & complete[:, None])
    cand = np.full(dk.shape, np.inf)
    cand[i, j] = shapely.distance(origins[rows[i]], points[ik[i, j]])
    best = cand.min(axis=1)  # as np.minimum.at over the candidates, without its slow loop
    out[rows[complete]] = best[complete]
    return rows[~complete]

