"""Checks across validated layers: compounds against communities and roads.

* :func:`link_communities` gives each compound the community (社区) holding most of it,
  deterministically (largest shared area, then the smallest ``community_id``), fills
  blank ``community_id`` / ``street`` / ``county`` from it and warns about compounds
  outside every community or inside two overlapping ones.
* :func:`check_communities` warns about overlapping communities and gaps (holes) between
  them, naming the community ids.
* :func:`check_dem_coverage` warns about compounds outside the DEM or over its nodata
  holes (their waterlogging evidence will be missing).
* :func:`check_gcj02` warns when the compounds look like GCJ-02 (Gaode/Tencent) lon/lat
  declared as WGS84/CGCS2000: converting them with :func:`~yulin_gis.crs.gcj02_to_wgs84`
  puts markedly more of them inside the communities or off the roads.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis.errors import Problem

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["check_communities", "check_dem_coverage", "check_gcj02", "link_communities"]

logger = logging.getLogger(__name__)

_MAX_LISTED = 20
_GCJ_SAMPLE = 2000


def _ids_text(ids: list[str]) -> str:
    more = " …" if len(ids) > _MAX_LISTED else ""
    return ", ".join(ids[:_MAX_LISTED]) + more


def _choose_community(compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per compound: the row of its community (-1 when outside) and the candidate count.

    Point-in-polygon first; shared areas are computed only for compounds whose point is
    in several communities (overlaps) or in none (a compound straddling a gap).
    """
    import shapely

    geoms = np.asarray(compounds.geometry.values, dtype=object)
    polys = np.asarray(communities.geometry.values, dtype=object)
    tree = shapely.STRtree(polys)
    points = shapely.point_on_surface(geoms)
    left, right = tree.query(points, predicate="within")
    counts = np.bincount(left, minlength=len(geoms))
    chosen = np.full(len(geoms), -1, dtype=np.int64)
    single = counts[left] == 1
    chosen[left[single]] = right[single]
    hard = np.flatnonzero(counts != 1)
    if len(hard):
        sub_left, right = tree.query(geoms[hard], predicate="intersects")
        left = hard[sub_left]
        shared = shapely.area(shapely.intersection(geoms[left], polys[right]))
        holds_point = shapely.covers(polys[right], points[left])
        ids = communities["community_id"].astype(str).to_numpy()
        # best first: point inside, larger shared area, smaller community id
        order = np.lexsort((ids[right], -shared, ~holds_point, left))
        left, right = left[order], right[order]
        first = np.unique(left, return_index=True)[1]
        chosen[left[first]] = right[first]
    return chosen, counts


def link_communities(compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                     source: str, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Fill blank community/street/county of compounds from their community polygon.

    The community of a compound is the one holding its representative point; among
    several (overlapping communities) the one sharing most area with it, then the
    smallest ``community_id`` — so the result never depends on row order.
    """
    import pandas as pd

    def warn(code: str, message: str, row: str | None = None, fld: str | None = None) -> None:
        problems.append(Problem("warning", code, message, source, "compounds", row, fld))

    chosen, counts = _choose_community(compounds, communities)
    out = compounds.copy()
    cids = out["compound_id"].astype(str).to_numpy()
    outside = chosen < 0
    if outside.any():
        warn("outside-communities", f"{int(outside.sum())} compound(s) lie outside every "
             f"community polygon: {_ids_text(cids[outside].tolist())}", fld="geometry")
    attrs = communities.reset_index(drop=True)
    for fld in ("community_id", "street", "county"):
        if fld not in out.columns:
            out[fld] = pd.array([None] * len(out), dtype="string")
        values = attrs[fld].astype("string").to_numpy()
        found = np.where(outside, None, values[np.maximum(chosen, 0)])
        blank = out[fld].isna().to_numpy() & pd.Series(found).notna().to_numpy()
        if blank.any():
            out.loc[blank, fld] = found[blank]
            warn("filled-from-community", f"{int(blank.sum())} blank value(s) filled from "
                 "the community polygon containing the compound", fld=fld)
    for i in np.flatnonzero(counts > 1):
        warn("ambiguous-community", f"compound lies in {int(counts[i])} overlapping "
             f"communities; assigned to {attrs['community_id'].iloc[chosen[i]]} (largest "
             "shared area, then smallest id)", cids[i], "community_id")
    known = set(communities["community_id"].astype(str))
    unknown = out["community_id"].notna() & ~out["community_id"].astype(str).isin(known)
    for cid, rid in zip(out.loc[unknown, "community_id"], out.loc[unknown, "compound_id"],
                        strict=True):
        warn("unknown-community", f"community_id {cid!r} is not in the communities layer",
             str(rid), "community_id")
    return out


def check_communities(communities: gpd.GeoDataFrame, source: str, problems: list[Problem],
                      min_area_m2: float = 1.0) -> None:
    """Warn about overlapping communities and gaps between them (metric CRS expected).

    Parameters
    ----------
    communities
        The community layer in a metric CRS.
    source
        File name for the messages.
    problems
        Receives one ``community-overlap`` warning per overlapping pair and one
        ``community-gap`` warning per hole in the communities' union, naming the ids.
    min_area_m2
        Overlaps and gaps smaller than this are ignored (digitising noise).
    """
    import shapely

    geoms = np.asarray(communities.geometry.values, dtype=object)
    ids = communities["community_id"].astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    area = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    pairs = sorted((min(ids[i], ids[j]), max(ids[i], ids[j]), float(s))
                   for i, j, s in zip(a, b, area, strict=True) if s >= min_area_m2)
    for first, second, shared in pairs:
        problems.append(Problem("warning", "community-overlap", f"communities {first} and "
                                f"{second} overlap by {shared:,.0f} m²; a compound in the "
                                "overlap goes to the community sharing most of its area",
                                source, "communities", first, "geometry"))
    union = shapely.union_all(geoms)
    holes = [shapely.Polygon(ring) for part in getattr(union, "geoms", [union])
             if part.geom_type == "Polygon" for ring in part.interiors]
    for hole in sorted((h for h in holes if h.area >= min_area_m2),
                       key=lambda h: (h.centroid.x, h.centroid.y)):
        around = sorted(set(ids[tree.query(hole.buffer(0.5), predicate="intersects")]))
        problems.append(Problem("warning", "community-gap", f"a gap of {hole.area:,.0f} m² "
                                f"between communities {', '.join(around)}: compounds there "
                                "belong to no community", source, "communities",
                                around[0] if around else None, "geometry"))


def _inside(geoms: np.ndarray, tree: object, n: int) -> int:
    hit = tree.query(geoms, predicate="within")  # type: ignore[attr-defined]
    return len(np.unique(hit[0])) if n else 0


def _clear(geoms: np.ndarray, tree: object, n: int) -> int:
    hit = tree.query(geoms, predicate="intersects")  # type: ignore[attr-defined]
    return n - len(np.unique(hit[0]))


def check_gcj02(compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None,
                roads: gpd.GeoDataFrame | None, source: str, problems: list[Problem]) -> bool:
    """Warn when the compounds look like GCJ-02 lon/lat declared as WGS84/CGCS2000.

    All layers must be in lon/lat (EPSG:4490). The compounds (up to 2000, evenly sampled)
    are converted with :func:`~yulin_gis.crs.gcj02_to_wgs84`; when that puts at least
    max(2, 10 %) more of them inside a community or off the roads, and neither measure
    gets worse by more than half that, a ``likely-gcj02`` warning names the fix
    ``--input-crs gcj02``. Returns True when it warned.
    """
    import shapely

    from yulin_gis.crs import convert_geometries, gcj02_to_wgs84, in_china

    if (communities is None and roads is None) or len(compounds) == 0:
        return False
    sample = compounds[["geometry"]]
    if len(sample) > _GCJ_SAMPLE:
        sample = sample.iloc[:: math.ceil(len(sample) / _GCJ_SAMPLE)]
    pts = shapely.point_on_surface(np.asarray(sample.geometry.values, dtype=object))
    if not in_china(shapely.get_x(pts), shapely.get_y(pts)).all():
        return False
    before = np.asarray(sample.geometry.values, dtype=object)
    after = np.asarray(convert_geometries(sample, gcj02_to_wgs84).geometry.values, dtype=object)
    n = len(before)
    gains = []
    if communities is not None:
        tree = shapely.STRtree(np.asarray(communities.geometry.values, dtype=object))
        gains.append(_inside(after, tree, n) - _inside(before, tree, n))
    if roads is not None:
        tree = shapely.STRtree(np.asarray(roads.geometry.values, dtype=object))
        gains.append(_clear(after, tree, n) - _clear(before, tree, n))
    need = max(2, math.ceil(0.1 * n))
    if max(gains) < need or min(gains) < -need / 2:
        return False
    problems.append(Problem(
        "warning", "likely-gcj02", f"the compounds look like GCJ-02 (Gaode/Tencent) "
        f"coordinates declared as WGS84/CGCS2000: converted from GCJ-02, {max(gains)} more of "
        f"{n} checked fall inside communities / off roads. If they were picked on Gaode or "
        "Tencent maps, run again with --input-crs compounds=gcj02 (or --input-crs gcj02 when "
        "every layer was)", source, "compounds", None,
        "geometry"))
    return True


def check_dem_coverage(dem_path: str | os.PathLike[str], compounds: gpd.GeoDataFrame,
                       source: str, problems: list[Problem], max_checked: int = 5000) -> int:
    """Warn about compounds whose representative point is outside the DEM or on nodata.

    The DEM may be in any CRS; the points are transformed to it. Up to ``max_checked``
    compounds (evenly sampled) are checked. Returns the number of compounds found.
    """
    import rasterio
    import shapely

    from yulin_gis.crs import transformer

    sample = compounds.iloc[:: max(1, math.ceil(len(compounds) / max_checked))]
    pts = shapely.point_on_surface(np.asarray(sample.geometry.values, dtype=object))
    with rasterio.open(dem_path) as src:
        t = transformer(compounds.crs, src.crs.to_wkt())
        x, y = t.transform(shapely.get_x(pts), shapely.get_y(pts))
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        bad = ~inside
        if inside.any():
            values = _pixel_values(src, rows[inside], cols[inside])
            nodata = ~np.isfinite(values)
            if src.nodata is not None and np.isfinite(src.nodata):
                nodata |= values == src.nodata
            bad[np.flatnonzero(inside)[nodata]] = True
    ids = sample["compound_id"].astype(str).to_numpy()[bad].tolist()
    if ids:
        problems.append(Problem(
            "warning", "dem-coverage", f"{len(ids)} of {len(sample)} compounds checked lie "
            f"outside the DEM or over its nodata cells; their terrain evidence is missing: "
            f"{_ids_text(ids)}", str(dem_path), "dem", None, "geometry"))
    return len(ids)


def _pixel_values(src: Any, rows: np.ndarray, cols: np.ndarray,
                  max_pixels: int = 16_000_000) -> np.ndarray:
    """Band-1 values at pixel ``rows, cols`` (inside the raster), as ``src.sample`` reads them.

    One window read covering the points when it holds at most ``max_pixels``; else one
    pixel at a time.
    """
    from rasterio.windows import Window

    r0, c0 = int(rows.min()), int(cols.min())
    h, w = int(rows.max()) - r0 + 1, int(cols.max()) - c0 + 1
    if h * w <= max_pixels:
        block = src.read(1, window=Window(c0, r0, w, h))
        return block[rows - r0, cols - c0].astype(float)
    return np.array([src.read(1, window=Window(int(c), int(r), 1, 1))[0, 0]
                     for r, c in zip(rows.tolist(), cols.tolist(), strict=True)], dtype=float)
