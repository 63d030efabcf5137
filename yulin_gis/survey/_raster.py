"""Fast helpers for rasterising and zonal statistics on many polygons (used by terrain).

Both give exactly what the plain calls give, faster on 100,000 compounds:
:func:`group_min` is ``np.minimum.at`` by a sort and ``reduceat``; :func:`geojson_like`
builds rasterio's input dicts in bulk instead of one ``__geo_interface__`` at a time.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import shapely

__all__ = ["geojson_like", "group_min"]


def group_min(out: np.ndarray, k: np.ndarray, z: np.ndarray) -> None:
    """``np.minimum.at(out, k, z)`` by a sort and ``reduceat`` (faster on millions of pixels)."""
    if not len(k):
        return
    order = np.argsort(k, kind="stable")
    ks = k[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    at = ks[starts]
    out[at] = np.minimum(out[at], np.minimum.reduceat(z[order], starts))


def geojson_like(geoms: np.ndarray) -> list[Any]:
    """Geometries for rasterio: simple polygons as GeoJSON-like dicts built in bulk.

    Same coordinates, in the same order, as their ``__geo_interface__`` (which rasterio
    would otherwise build one geometry at a time in Python); other types pass as they are.
    """
    out: list[Any] = list(geoms)
    poly = np.flatnonzero(shapely.get_type_id(geoms) == 3)
    if not len(poly):
        return out
    rings, ring_of = shapely.get_rings(geoms[poly], return_index=True)
    xy, vert_of = shapely.get_coordinates(rings, return_index=True)
    vcuts = np.searchsorted(vert_of, np.arange(len(rings) + 1)).tolist()
    flat = xy.tolist()
    coords = [flat[a:b] for a, b in itertools.pairwise(vcuts)]
    rcuts = np.searchsorted(ring_of, np.arange(len(poly) + 1)).tolist()
    for k, i in enumerate(poly.tolist()):
        out[i] = {"type": "Polygon", "coordinates": coords[rcuts[k]:rcuts[k + 1]]}
    return out
