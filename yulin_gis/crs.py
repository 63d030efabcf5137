"""Coordinate systems: GCJ-02 / BD-09 conversion and Gauss–Krüger zone choice.

Chinese web maps publish coordinates in two obfuscated systems:

* **GCJ-02** (国测局坐标, "Mars coordinates"): Gaode/AMap, Tencent. At Yulin the shift from
  WGS84 is about 550 m.
* **BD-09** (百度坐标): Baidu, GCJ-02 with a further rotation, about 1,180 m at Yulin.

The forward formulas are public; the inverses are solved here by fixed-point iteration,
exact to well under a millimetre. All functions are vectorised over NumPy arrays.

Analysis runs in a metric CGCS2000 3-degree Gauss–Krüger zone, using the "CM" variants
EPSG:4534–4554 whose false eastings carry no zone number (EPSG:4546 = CM 111°E for
Yulin's core). Outputs are stored in
CGCS2000 geographic coordinates (EPSG:4490), practically equal to WGS84 at map scale.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from yulin_gis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "STORAGE_CRS",
    "InputCRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geometries",
    "from_wgs84",
    "gauss_kruger_epsg",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_input_crs",
    "require_metric",
    "same_crs",
    "to_lonlat",
    "to_storage_crs",
    "to_zone",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "zone_epsg",
]

logger = logging.getLogger(__name__)

STORAGE_CRS = "EPSG:4490"
"""CGCS2000 geographic coordinates: the CRS every output layer is written in."""

InputCRS = Literal["gcj02", "bd09"] | str

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_FloatArray = NDArray[np.float64]


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"lon and lat differ in shape: {x.shape} != {y.shape}")
    return x, y


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies in the rectangle the GCJ-02 formula applies to.

    The shift is defined only inside mainland China's bounding box (72.004–137.8347°E,
    0.8293–55.8271°N); outside it GCJ-02 equals WGS84.
    """
    x, y = _as_arrays(lon, lat)
    return (x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271)


def _delta(x: _FloatArray, y: _FloatArray) -> tuple[_FloatArray, _FloatArray]:
    """GCJ-02 minus WGS84, in degrees, at WGS84 coordinates ``(x, y)``."""
    dx, dy = x - 105.0, y - 35.0
    sx, sy = np.sin(dx * np.pi), np.sin(dy * np.pi)
    common = (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * np.sqrt(np.abs(dx))
    dlat += common + (20.0 * sy + 40.0 * np.sin(dy / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(dy / 12.0 * np.pi) + 320.0 * np.sin(dy * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * np.sqrt(np.abs(dx))
    dlon += common + (20.0 * sx + 40.0 * np.sin(dx / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(dx / 12.0 * np.pi) + 300.0 * np.sin(dx / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(x, y)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert WGS84 (or CGCS2000) lon/lat to GCJ-02 (Gaode/AMap, Tencent).

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees (scalars or arrays of one shape).

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitudes and latitudes.
    """
    x, y = _as_arrays(lon, lat)
    dlon, dlat = _delta(x, y)
    return x + dlon, y + dlat


def _invert(
    forward: Callable[[_FloatArray, _FloatArray], tuple[_FloatArray, _FloatArray]],
    x: _FloatArray,
    y: _FloatArray,
    start: tuple[_FloatArray, _FloatArray],
    tol_deg: float = 1e-12,
    max_iter: int = 30,
) -> tuple[_FloatArray, _FloatArray]:
    """Solve ``forward(u, v) == (x, y)`` by fixed-point iteration from ``start``."""
    u, v = start
    for _ in range(max_iter):
        fx, fy = forward(u, v)
        ex, ey = fx - x, fy - y
        u, v = u - ex, v - ey
        if not np.size(ex) or max(np.nanmax(np.abs(ex)), np.nanmax(np.abs(ey))) < tol_deg:
            break
    return u, v


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert GCJ-02 lon/lat to WGS84, exactly (iterative inverse, error < 1 µm)."""
    x, y = _as_arrays(lon, lat)
    dlon, dlat = _delta(x, y)
    return _invert(wgs84_to_gcj02, x, y, (x - dlon, y - dlat))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert BD-09 lon/lat to GCJ-02, exactly (iterative inverse of :func:`gcj02_to_bd09`)."""
    x, y = _as_arrays(lon, lat)
    px, py = x - 0.0065, y - 0.006
    z = np.sqrt(px * px + py * py) - 0.00002 * np.sin(py * _X_PI)
    theta = np.arctan2(py, px) - 0.000003 * np.cos(px * _X_PI)
    return _invert(gcj02_to_bd09, x, y, (z * np.cos(theta), z * np.sin(theta)))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert WGS84 lon/lat to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    """Convert BD-09 lon/lat to WGS84, exactly."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def parse_input_crs(value: str | None) -> str | None:
    """Normalise a user's ``--input-crs`` value.

    Returns ``"gcj02"``, ``"bd09"``, an ``"EPSG:n"``/WKT string accepted by pyproj, or None.

    Raises
    ------
    CRSError
        When the value is neither a Chinese web-map system nor a CRS pyproj knows.
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    key = text.lower().replace("-", "").replace("_", "")
    if key in {"gcj02", "gcj", "amap", "gaode", "tencent", "火星坐标"}:
        return "gcj02"
    if key in {"bd09", "bd09ll", "baidu", "百度"}:
        return "bd09"
    if key in {"wgs84", "gps"}:
        return "EPSG:4326"
    if key in {"cgcs2000"}:
        return STORAGE_CRS
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        CRS.from_user_input(text)
    except PyprojCRSError as exc:
        raise CRSError(
            f"Unknown input CRS {text!r}: use gcj02, bd09, wgs84, cgcs2000 or an EPSG code"
        ) from exc
    return text


def convert_geometries(
    gdf: gpd.GeoDataFrame, func: Callable[[ArrayLike, ArrayLike], tuple[_FloatArray, _FloatArray]]
) -> gpd.GeoDataFrame:
    """Apply a lon/lat conversion such as :func:`gcj02_to_wgs84` to every vertex.

    The result keeps all columns and carries CRS EPSG:4490 (CGCS2000).
    """
    import shapely

    def _apply(coords: _FloatArray) -> _FloatArray:
        if len(coords) == 0:
            return coords
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    out = gdf.copy()
    out.geometry = shapely.transform(np.asarray(gdf.geometry.values), _apply)
    return out.set_crs(STORAGE_CRS, allow_override=True)


def to_storage_crs(gdf: gpd.GeoDataFrame, input_crs: str | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in CGCS2000 lon/lat (EPSG:4490).

    Parameters
    ----------
    gdf
        A layer in any CRS.
    input_crs
        Overrides the layer's CRS: ``"gcj02"`` or ``"bd09"`` for lon/lat picked on Gaode or
        Baidu maps, or any CRS pyproj accepts. Required when the layer has no CRS.

    Raises
    ------
    CRSError
        When the layer has no CRS and none is given.
    """
    parsed = parse_input_crs(input_crs)
    if parsed in _TO_WGS84:
        return convert_geometries(gdf, _TO_WGS84[parsed])
    if parsed is not None:
        gdf = gdf.set_crs(parsed, allow_override=True)
    if gdf.crs is None:
        raise CRSError("layer has no coordinate reference system; pass --input-crs")
    return gdf.to_crs(STORAGE_CRS)


def from_wgs84(gdf: gpd.GeoDataFrame, target: Literal["gcj02", "bd09"]) -> gpd.GeoDataFrame:
    """Shift a WGS84/CGCS2000 layer into GCJ-02 or BD-09 (only to draw on those basemaps)."""
    return convert_geometries(gdf.to_crs(STORAGE_CRS), _FROM_WGS84[target])


def gauss_kruger_epsg(lon: float, lat: float = 30.0) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss–Krüger zone (CM variant) holding ``lon``.

    Zones are centred on multiples of 3°: CM 75°E is EPSG:4534 ... CM 135°E is EPSG:4554.
    Yulin's core (≈110.15°E) gives EPSG:4546 (CM 111°E).

    Raises
    ------
    CRSError
        When the longitude lies outside China's 3-degree zones (73.5–136.5°E) or the
        latitude is not a latitude.
    """
    if not np.isfinite(lon) or not -90.0 <= lat <= 90.0:
        raise CRSError(f"not a lon/lat position: ({lon}, {lat})")
    cm = int(np.floor((lon + 1.5) / 3.0)) * 3
    if cm < 75 or cm > 135:
        raise CRSError(
            f"longitude {lon:.3f} lies outside the CGCS2000 3-degree Gauss–Krüger zones "
            "(73.5–136.5°E); pass an explicit analysis CRS"
        )
    return 4534 + (cm - 75) // 3


def zone_epsg(lon: ArrayLike) -> NDArray[np.int64]:
    """Gauss–Krüger zone EPSG code per longitude (vectorised :func:`gauss_kruger_epsg`).

    Non-finite longitudes give ``-1``.

    Raises
    ------
    CRSError
        When a longitude lies outside China's 3-degree zones.
    """
    lons = np.asarray(lon, dtype=float)
    cm = np.floor((lons + 1.5) / 3.0) * 3.0
    for value in np.unique(cm[np.isfinite(cm)]):
        gauss_kruger_epsg(float(value))  # raises CRSError outside the zones
    return np.where(np.isfinite(cm), 4534 + (cm - 75) // 3, -1).astype(np.int64)


@functools.lru_cache(maxsize=64)
def transformer(src: Any, dst: Any) -> Any:
    """A cached ``pyproj.Transformer`` from ``src`` to ``dst`` (x = easting/longitude first).

    Parameters
    ----------
    src, dst
        Anything ``pyproj.CRS.from_user_input`` accepts (hashable: an EPSG code, a string,
        a ``pyproj.CRS``).
    """
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def same_crs(a: Any, b: Any) -> bool:
    """Whether two CRS definitions are equal (two missing CRSs are equal; one is not)."""
    from pyproj import CRS

    if a is None or b is None:
        return a is None and b is None
    return bool(CRS.from_user_input(a).equals(CRS.from_user_input(b)))


def to_lonlat(x: ArrayLike, y: ArrayLike, crs: Any) -> tuple[_FloatArray, _FloatArray]:
    """Coordinates in ``crs`` as CGCS2000 lon/lat (unchanged when already there)."""
    if same_crs(crs, STORAGE_CRS):
        return np.asarray(x, float), np.asarray(y, float)
    lon, lat = transformer(crs, STORAGE_CRS).transform(x, y)
    return np.asarray(lon, float), np.asarray(lat, float)


def to_zone(gdf: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    """``gdf`` in the Gauss–Krüger zone ``epsg``; unchanged (no float round trip) when there."""
    if gdf.crs is not None and same_crs(gdf.crs, epsg):
        return gdf
    return gdf.to_crs(epsg=epsg)


def require_metric(crs: Any, what: str) -> None:
    """Raise when ``crs`` is geographic: distances and areas need metres.

    Parameters
    ----------
    crs
        A ``pyproj.CRS`` (or None: coordinates are then taken as metres).
    what
        What the layer is, for the message (``"the roads layer"``).

    Raises
    ------
    CRSError
        When ``crs`` is geographic (lon/lat).
    """
    if crs is not None and getattr(crs, "is_geographic", False):
        raise CRSError(
            f"{what} is in a geographic CRS ({crs.to_string()}); project it to a metric "
            "CGCS2000 Gauss–Krüger CRS (e.g. EPSG:4546) before measuring distances"
        )


def require_same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, names: str) -> None:
    """Raise when two layers carry different CRSs (a layer without a CRS is not checked).

    Raises
    ------
    CRSError
        Naming both layers (``names``) and both CRSs.
    """
    if a.crs is not None and b.crs is not None and not same_crs(a.crs, b.crs):
        raise CRSError(f"{names} are in different CRSs ({a.crs.to_string()} vs "
                       f"{b.crs.to_string()}); project both to the analysis CRS first")


def layer_zone_epsg(layer: gpd.GeoDataFrame | gpd.GeoSeries) -> int:
    """Gauss–Krüger zone (:func:`gauss_kruger_epsg`) of the centre of a layer's extent.

    Raises
    ------
    CRSError
        When the layer has no CRS, no extent, or lies outside China's zones.
    """
    if layer.crs is None:
        raise CRSError("layer has no coordinate reference system; cannot choose its zone")
    b = layer.total_bounds
    if not np.isfinite(b).all():
        raise CRSError("layer has no geometry; cannot choose its zone")
    lon, lat = to_lonlat([(b[0] + b[2]) / 2], [(b[1] + b[3]) / 2], layer.crs)
    return gauss_kruger_epsg(float(lon[0]), float(lat[0]))
