"""Position checks of real survey data: swapped columns, Gauss–Krüger metres, outliers.

Coordinates in real tables go wrong in a few typical ways, each diagnosed in plain words
in Chinese and English:

* **Swapped columns** (经度/纬度可能互换): latitudes of 3–54 in the longitude column and
  longitudes of 73–136 in the latitude column. When every row is swapped the columns are
  swapped back (a documented repair, with a warning); single swapped rows are swapped
  back too and the compound is marked 待核实.
* **Gauss–Krüger metres** in the lon/lat columns: with the zone number in the easting
  (37xxxxxx → EPSG:4525, zone 37, CM 111°E; 3-degree zones 25–45 → EPSG:4513–4533,
  6-degree zones 13–23 → EPSG:4491–4501), read in that zone; without it (6-digit
  eastings), read in the profile's ``input.gauss_kruger_epsg`` with a warning.
* **A far outlier**: a compound farther from the median position of its layer than
  ``input.outlier_k`` × the median distance and than ``input.outlier_min_km``.
* **A geocoder's fallback point**: ``input.same_point_min`` or more compounds on one
  identical coordinate.
* **Outside the city's counties**, when a counties layer is given.

Flagged compounds keep their row; they get a ``verify_reason`` (待核实原因), which the
survey turns into status ``待核实``: they are never planned.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis.crs import in_china

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io._input_rules import InputRules

__all__ = [
    "SWAPPED_ZH",
    "append_reason",
    "flag_positions",
    "gauss_kruger_crs",
    "looks_swapped",
    "outside_counties",
    "swap_table_columns",
]

logger = logging.getLogger(__name__)

SWAPPED_ZH = "经度/纬度可能互换 / longitude and latitude look swapped"


def append_reason(reasons: np.ndarray, mask: np.ndarray, text: str | np.ndarray) -> None:
    """Append ``text`` (one or per row) to ``reasons`` where ``mask``, joined by ；."""
    texts = np.broadcast_to(np.asarray(text, dtype=object), reasons.shape)
    for i in np.flatnonzero(mask):
        reasons[i] = f"{reasons[i]}；{texts[i]}" if reasons[i] else texts[i]


def looks_swapped(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows whose x reads as a Chinese latitude and y as a Chinese longitude."""
    with np.errstate(invalid="ignore"):
        return (x >= 3.0) & (x <= 54.0) & (y >= 73.0) & (y <= 136.0)


def gauss_kruger_crs(x: np.ndarray, y: np.ndarray) -> tuple[str | None, bool]:
    """The CGCS2000 Gauss–Krüger CRS that metre coordinates are in.

    Returns
    -------
    crs, has_zone
        ``("EPSG:4525", True)`` for eastings with zone number 37; ``(None, False)`` for
        metres without a zone number (the caller picks the zone), ``(None, True)`` when
        the values are not Gauss–Krüger metres at all.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None, True
    east, north = float(np.median(x[ok])), float(np.median(y[ok]))
    if not 1.0e5 <= north <= 6.3e6:
        return None, True
    zone, rest = divmod(east, 1.0e6)
    if 25 <= zone <= 45 and 2.0e5 <= rest <= 8.0e5:
        return f"EPSG:{4513 + int(zone) - 25}", True
    if 13 <= zone <= 23 and 1.0e5 <= rest <= 9.0e5:
        return f"EPSG:{4491 + int(zone) - 13}", True
    if 1.0e5 <= east <= 9.0e5:
        return None, False
    return None, True


def swap_table_columns(x: np.ndarray, y: np.ndarray, col: Any, labels: list[str],
                       reasons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Swap back lon/lat typed into each other's column (whole column, or single rows).

    A whole swapped column is a repair with one warning; single swapped rows are swapped
    back and marked 待核实 in ``reasons``.
    """
    swapped = looks_swapped(x, y)
    ok = np.isfinite(x) & np.isfinite(y)
    if not swapped.any():
        return x, y
    x, y = np.where(swapped, y, x), np.where(swapped, x, y)
    if swapped[ok].all():
        col.add("warning", "swapped-coordinates",
                f"{SWAPPED_ZH}: every row has a latitude (3–54) in the 经度 column and a "
                "longitude (73–136) in the 纬度 column; the columns were swapped back "
                "(经纬度列已互换回来)", fld="lon")
        return x, y
    for i in np.flatnonzero(swapped):
        col.add("warning", "swapped-coordinates", f"{SWAPPED_ZH}: swapped back for this row; "
                "the compound is 待核实 (to verify)", labels[i], "lon")
    append_reason(reasons, swapped, "经纬度互换，已换回，请核实 / lon/lat were swapped")
    return x, y


def _km_from_median(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    dx = (lon - lon0) * 111.32 * np.cos(np.radians(lat0))
    dy = (lat - lat0) * 110.57
    return np.hypot(dx, dy)


def flag_positions(gdf: gpd.GeoDataFrame, labels: list[str], col: Any, rules: InputRules,
                   reasons: np.ndarray) -> None:
    """Mark far outliers and geocoder-fallback clusters of a layer in EPSG:4490.

    Each flagged row gets a warning naming it and a 待核实 reason in ``reasons``.
    """
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if has.sum() < 3:
        return
    pts = shapely.point_on_surface(geoms[has])
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    rows = np.flatnonzero(has)
    dist = _km_from_median(lon, lat)
    spread = max(float(np.median(dist)), 1.0)
    far = (dist > rules.outlier_k * spread) & (dist > rules.outlier_min_km)
    for j in np.flatnonzero(far):
        col.add("warning", "position-outlier",
                f"离其余小区的中位位置 {dist[j]:,.0f} 公里（一般 {spread:,.1f} 公里），位置可能有误，"
                f"列为待核实 / {dist[j]:,.0f} km from the median position of the layer (typical "
                f"{spread:,.1f} km): implausible, to verify ({lon[j]:.4f}, {lat[j]:.4f})",
                labels[rows[j]], "geometry")
    far_rows = np.zeros(len(geoms), dtype=bool)
    far_rows[rows[far]] = True
    append_reason(reasons, far_rows, "位置离群（距其余小区过远） / position far from the rest")
    keys = [f"{a:.6f},{b:.6f}" for a, b in zip(lon, lat, strict=True)]
    counts = Counter(keys)
    same = np.array([counts[k] >= rules.same_point_min for k in keys], dtype=bool)
    for key in sorted({k for k, m in zip(keys, same, strict=True) if m}):
        members = [labels[rows[j]] for j, k in enumerate(keys) if k == key]
        col.add("warning", "same-coordinate",
                f"{len(members)} 个小区位于同一坐标 {key}（疑似地理编码的默认点），列为待核实 / "
                f"{len(members)} compounds share one identical coordinate (a geocoder's "
                f"fallback point?): {', '.join(members[:10])}"
                + (f" (+{len(members) - 10} more)" if len(members) > 10 else ""),
                fld="geometry")
    same_rows = np.zeros(len(geoms), dtype=bool)
    same_rows[rows[same]] = True
    append_reason(reasons, same_rows, "与多个小区坐标完全相同（疑似地理编码默认点） / "
                  "identical coordinate shared with other compounds (geocoder fallback?)")


def outside_counties(compounds: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, col: Any,
                     reasons: np.ndarray) -> None:
    """Mark compounds outside every county polygon (both layers in one CRS)."""
    geoms = compounds.geometry
    has = ~(geoms.isna() | geoms.is_empty).to_numpy()
    union = counties.geometry.union_all()
    inside = np.asarray(geoms.intersects(union), dtype=bool)
    outside = has & ~inside
    ids = compounds["compound_id"].astype(str).to_numpy()
    for i in np.flatnonzero(outside):
        col.add("warning", "outside-counties", "不在本市任何县（市、区）范围内，列为待核实 / "
                "outside every county of the city: to verify", ids[i], "geometry")
    append_reason(reasons, outside, "不在本市县（市、区）范围内 / outside the city's counties")


def in_china_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows inside China's bounding box (finite coordinates only)."""
    ok = np.isfinite(x) & np.isfinite(y)
    return ok & in_china(np.nan_to_num(x), np.nan_to_num(y))


def _table_crs(x: np.ndarray, y: np.ndarray, input_crs: str | None, col: Any,
               rules: InputRules) -> str:
    """The CRS of a table's 经度/纬度 columns: declared, Gauss–Krüger metres, or WGS84."""
    ok = np.isfinite(x) & np.isfinite(y)
    metres = bool(ok.any()) and float(np.median(np.abs(x[ok]))) > 1000.0
    declared = None
    if input_crs is not None and input_crs not in {"gcj02", "bd09"}:
        from pyproj import CRS

        declared = CRS.from_user_input(input_crs)
    if metres and (declared is None or declared.is_geographic or input_crs in {"gcj02", "bd09"}
                   or gauss_kruger_crs(x, y)[0] is not None):
        zone_crs, has_zone = gauss_kruger_crs(x, y)
        if zone_crs is not None and declared is not None and declared.equals(zone_crs):
            return str(input_crs)
        if zone_crs is not None:
            col.add("warning", "gauss-kruger", f"经度/纬度列是高斯–克吕格平面坐标（米，带号在横坐标前），"
                    f"按 {zone_crs} 读取 / the 经度/纬度 columns hold Gauss–Krüger metres with "
                    f"the zone number in the easting: read as {zone_crs}", fld="lon")
            return zone_crs
        if not has_zone and declared is None:
            col.add("warning", "gauss-kruger", f"经度/纬度列是不带带号的高斯–克吕格平面坐标（米），按配置 "
                    f"input.gauss_kruger_epsg = {rules.gauss_kruger_epsg} 读取；如不同请用 --input-crs "
                    f"/ the 经度/纬度 columns hold Gauss–Krüger metres without a zone number: "
                    f"read as {rules.gauss_kruger_epsg} (profile input.gauss_kruger_epsg); pass "
                    "--input-crs if that is wrong", fld="lon")
            return rules.gauss_kruger_epsg
    if input_crs is not None:
        return input_crs
    col.add("warning", "assumed-crs", "no --input-crs given: lon/lat read as WGS84; pass "
            "--input-crs gcj02 (Gaode/Tencent) or bd09 (Baidu) if picked on those maps")
    return "EPSG:4326"


def points_from_table(frame: Any, labels: list[str], col: Any, input_crs: str | None,
                      rules: InputRules, reasons: np.ndarray) -> gpd.GeoDataFrame | None:
    """Point geometries from a table's lon/lat columns (swapped columns and Gauss–Krüger
    metres detected), or None when the columns are missing (error recorded)."""
    import geopandas as gpd
    import shapely

    lon, lat = frame.get("lon"), frame.get("lat")
    if lon is None or lat is None:
        col.add("error", "missing-field", "a survey table needs lon/lat columns (经度/纬度) "
                "or compound polygons to join by id", fld="lon" if lon is None else "lat")
        return None
    x = lon.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    y = lat.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    for i in np.flatnonzero(~ok):
        fld = "lon" if not np.isfinite(x[i]) else "lat"
        col.add("error", "missing-coordinates", f"{'经度 lon' if fld == 'lon' else '纬度 lat'} "
                "is blank or not a number", labels[i], fld)
    crs = _table_crs(x, y, input_crs, col, rules)
    from pyproj import CRS

    if crs in {"gcj02", "bd09"} or CRS.from_user_input(crs).is_geographic:
        x, y = swap_table_columns(x, y, col, labels, reasons)
    geometry = np.asarray(shapely.points(np.where(ok, x, 0.0), np.where(ok, y, 0.0)),
                          dtype=object)
    geometry[~ok] = None
    return gpd.GeoDataFrame(frame, geometry=geometry,
                            crs=None if crs in {"gcj02", "bd09"} else crs)


def check_outside_china(gdf: gpd.GeoDataFrame, labels: list[str], col: Any) -> None:
    """Rows in EPSG:4490 whose position is outside China (0,0 typos, foreign CRS): errors."""
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    outside = np.isfinite(x) & ~in_china(np.nan_to_num(x), np.nan_to_num(y))
    for i in np.flatnonzero(outside):
        col.add("error", "outside-china", f"position {x[i]:.4f}, {y[i]:.4f} (lon, lat) is "
                "outside China: a typo, 0/0 placeholder or wrong --input-crs?", labels[i],
                "geometry")


def _swap_xy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import shapely

    out = gdf.copy()
    out.geometry = shapely.transform(np.asarray(gdf.geometry.values), lambda c: c[:, ::-1])
    return out


def check_crs(gdf: gpd.GeoDataFrame, input_crs: str | None, col: Any
              ) -> tuple[gpd.GeoDataFrame, str | None]:
    """The layer (x/y swapped back if needed) and the CRS to convert from; None on error.

    Diagnoses, in this order: no CRS; Gauss–Krüger eastings with a zone number declared
    in a CM-variant or geographic CRS (read in the zone's CRS, warned); x/y swapped in a
    geographic CRS (swapped back, warned); metres declared as degrees; coordinates
    outside the declared CRS's area.
    """
    if input_crs in {"gcj02", "bd09"}:
        return gdf, input_crs
    crs = input_crs or (gdf.crs.to_string() if gdf.crs is not None else None)
    valid = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    bounds = valid.total_bounds if not valid.empty else None
    if bounds is not None:
        zone_crs = gauss_kruger_crs(np.array(bounds[[0, 2]]), np.array(bounds[[1, 3]]))[0]
        if zone_crs is not None and (crs is None or _cm_or_geographic(crs)):
            col.add("warning", "gauss-kruger", f"坐标是带带号的高斯–克吕格平面坐标，按 {zone_crs} 读取 / "
                    f"coordinates are Gauss–Krüger metres with the zone number in the easting"
                    f" (declared {crs or 'nothing'}): read as {zone_crs}")
            return gdf, zone_crs
    if crs is None:
        col.add("error", "no-crs", "layer has no coordinate reference system (.prj missing, or SRID 0 in PostGIS?); "
                "pass --input-crs")
        return gdf, None
    if bounds is None:
        return gdf, crs
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    minx, miny, maxx, maxy = bounds
    if parsed.is_geographic:
        if minx >= 3 and maxx <= 54 and miny >= 73 and maxy <= 136:
            col.add("warning", "swapped-coordinates", f"{SWAPPED_ZH}: x holds latitudes and y "
                    "longitudes in the whole layer; swapped back (已互换回来)")
            return _swap_xy(gdf), crs
        if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
            col.add("error", "coordinates-outside-crs",
                    f"coordinates ({minx:.0f}–{maxx:.0f}, {miny:.0f}–{maxy:.0f}) cannot be "
                    f"lon/lat in {crs}: projected metres declared as degrees? pass the right "
                    "--input-crs (e.g. EPSG:4546)")
            return gdf, None
    elif parsed.area_of_use is not None and not _inside_area(parsed, bounds):
        col.add("error", "coordinates-outside-crs",
                f"coordinates fall outside the area where {crs} is used "
                f"({parsed.name}); wrong CRS declared?")
        return gdf, None
    return gdf, crs


def _cm_or_geographic(crs: str) -> bool:
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    return bool(parsed.is_geographic or "CM" in parsed.name)


def _inside_area(parsed: Any, bounds: np.ndarray) -> bool:
    from pyproj import Transformer

    minx, miny, maxx, maxy = bounds
    t = Transformer.from_crs(parsed, "EPSG:4326", always_xy=True)
    lon, lat = t.transform([minx, maxx], [miny, maxy])
    w, s, e, n = parsed.area_of_use.bounds
    return bool(all(np.isfinite([*lon, *lat])) and min(lon) >= w - 5 and max(lon) <= e + 5
                and min(lat) >= s - 5 and max(lat) <= n + 5)
