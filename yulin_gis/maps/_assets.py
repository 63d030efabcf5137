"""Basemaps and raster overlays of the web maps (Leaflet itself: :mod:`yulin_gis.maps._offline`).

* :func:`resolve_basemaps` turns basemap names (``"none"``, ``"osm"``, ``"tianditu"``,
  ``"tianditu_img"``, ``"gaode"``, ``"gaode_img"``) or XYZ/WMTS URL templates into tile
  specifications for the page.
* :class:`RasterOverlay` and :func:`raster_overlay_payload` turn a GeoTIFF (DEM,
  waterlogging depth, orthophoto) into a PNG data URI (Pillow) for
  ``folium.raster_layers.ImageOverlay``.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from yulin_gis.errors import InputFileError, SchemaError

__all__ = [
    "BASEMAP_NAMES",
    "GCJ02_BASEMAPS",
    "RAMPS",
    "RasterOverlay",
    "TileSpec",
    "encode_png",
    "raster_overlay_payload",
    "resolve_basemaps",
]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- basemaps

@dataclass(frozen=True, slots=True)
class TileSpec:
    """One tile layer of a basemap (a basemap may stack several, e.g. Tianditu + labels)."""

    url: str
    subdomains: str
    attribution: str
    max_native_zoom: int = 18

    def to_json(self) -> dict[str, Any]:
        """Return the spec as the page expects it."""
        return {
            "url": self.url,
            "subdomains": self.subdomains,
            "attribution": self.attribution,
            "maxNativeZoom": self.max_native_zoom,
        }


_TDT = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
    "&TILECOL={{x}}&tk={key}"
)
_GAODE = (
    "https://webrd0{{s}}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style={style}"
    "&x={{x}}&y={{y}}&z={{z}}"
)
_GAODE_IMG = "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}"

BASEMAP_NAMES: dict[str, str] = {
    "none": "无底图",
    "osm": "OpenStreetMap",
    "tianditu": "天地图 矢量",
    "tianditu_img": "天地图 影像",
    "gaode": "高德地图",
    "gaode_img": "高德 影像",
}
"""Known basemap names and their Chinese labels; any other string is a URL template."""

GCJ02_BASEMAPS = frozenset({"gaode", "gaode_img"})
"""Basemaps drawn in GCJ-02: vector data must be shifted from WGS84 to be drawn on them."""


def _tianditu(layer: str, labels: str, key: str | None) -> list[TileSpec]:
    key = key or os.environ.get("TIANDITU_KEY")
    if not key:
        raise SchemaError(
            "the Tianditu basemap needs a key: pass tianditu_key=... or set TIANDITU_KEY"
        )
    key = re.sub(r"[^0-9A-Za-z]", "", key)
    attribution = "&copy; 天地图 国家地理信息公共服务平台"
    return [
        TileSpec(_TDT.format(layer=layer, key=key), "01234567", attribution),
        TileSpec(_TDT.format(layer=labels, key=key), "01234567", attribution),
    ]


def _template(url: str) -> TileSpec:
    """Normalise an XYZ or WMTS template to Leaflet's {z}/{x}/{y} placeholders."""
    fixed = url
    for pattern, repl in (("tilematrix", "{z}"), ("tilerow", "{y}"), ("tilecol", "{x}")):
        fixed = re.sub(r"\{" + pattern + r"\}", repl, fixed, flags=re.IGNORECASE)
    if not all(p in fixed for p in ("{x}", "{y}", "{z}")):
        raise SchemaError(
            f"basemap {url!r} is neither a known name ({', '.join(BASEMAP_NAMES)}) nor a tile "
            "URL template with {z}, {x} and {y} (or WMTS {TileMatrix}, {TileRow}, {TileCol})"
        )
    subdomains = "abc" if "{s}" in fixed else ""
    return TileSpec(fixed, subdomains, html.escape("自定义底图"), 18)


def resolve_basemaps(
    basemap: str | Sequence[str], tianditu_key: str | None = None
) -> list[dict[str, Any]]:
    """Turn basemap names or URL templates into the page's basemap list.

    Parameters
    ----------
    basemap
        One name or template, or several (the first is shown, the others are offered in the
        layer panel). Names: ``none`` (alias ``offline``), ``osm``, ``tianditu``, ``tianditu_img``, ``gaode``,
        ``gaode_img``. A template is any XYZ URL with ``{z}/{x}/{y}`` (optionally ``{s}``
        for subdomains a–c) or a WMTS KVP URL with ``{TileMatrix}/{TileRow}/{TileCol}``,
        e.g. an intranet tile server.
    tianditu_key
        Tianditu key; defaults to the ``TIANDITU_KEY`` environment variable.

    Returns
    -------
    list of dict
        ``{"id", "name", "tiles": [...]}`` per basemap; ``"none"`` has no tiles.
    """
    names = [basemap] if isinstance(basemap, str) else list(basemap)
    if not names:
        names = ["none"]
    out: list[dict[str, Any]] = []
    for item in names:
        key = item.strip().lower()
        key = "none" if key == "offline" else key
        tiles: list[TileSpec]
        if key == "none":
            tiles = []
        elif key == "osm":
            tiles = [TileSpec("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "",
                              "&copy; OpenStreetMap contributors", 19)]
        elif key == "tianditu":
            tiles = _tianditu("vec", "cva", tianditu_key)
        elif key == "tianditu_img":
            tiles = _tianditu("img", "cia", tianditu_key)
        elif key == "gaode":
            tiles = [TileSpec(_GAODE.format(style=8), "1234", "&copy; 高德地图 AutoNavi")]
        elif key == "gaode_img":
            tiles = [TileSpec(_GAODE_IMG, "1234", "&copy; 高德地图 AutoNavi")]
        else:
            tiles = [_template(item.strip())]
            key = "custom"
        out.append({"id": key, "name": BASEMAP_NAMES.get(key, "自定义底图"),
                    "tiles": [t.to_json() for t in tiles]})
    return out


# ---------------------------------------------------------------- rasters

RAMPS: dict[str, list[str]] = {
    "terrain": ["#2b83ba", "#abdda4", "#ffffbf", "#fdae61", "#d7191c", "#8c510a", "#ffffff"],
    "dem": ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f2704"],
    "water": ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    "risk": ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"],
    "gray": ["#000000", "#ffffff"],
}
"""Colour ramps (low → high) for single-band rasters."""


@dataclass(frozen=True, slots=True)
class RasterOverlay:
    """A GeoTIFF drawn as an image overlay.

    Parameters
    ----------
    path
        GeoTIFF path (any CRS; reprojected to Web Mercator).
    name
        Chinese name in the layer panel and legend, e.g. ``"数字高程模型（米）"``.
    kind
        ``"ramp"`` colours band 1 with ``ramp``; ``"rgb"`` passes bands 1–3 through
        (orthophoto as an offline basemap); ``"auto"`` picks ``rgb`` for 3+ band uint8.
    ramp
        A key of :data:`RAMPS` or a list of ``#rrggbb`` colours, low → high.
    vmin, vmax
        Value range of the ramp; default the 2nd and 98th percentiles.
    opacity
        0–1.
    show
        Visible when the page opens.
    max_size
        Longest side of the embedded PNG in pixels (downsampled above it).
    """

    path: str | os.PathLike[str]
    name: str
    kind: Literal["auto", "ramp", "rgb"] = "auto"
    ramp: str | Sequence[str] = "dem"
    vmin: float | None = None
    vmax: float | None = None
    opacity: float = 0.7
    show: bool = True
    max_size: int = 2048


def encode_png(rgba: NDArray[np.uint8]) -> bytes:
    """Encode an ``(height, width, 4)`` uint8 array as an RGBA PNG (with Pillow)."""
    import io

    from PIL import Image

    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError("encode_png expects an (h, w, 4) uint8 array")
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _hex_rgb(colors: Sequence[str]) -> NDArray[np.float64]:
    out = []
    for c in colors:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", c):
            raise SchemaError(f"ramp colour {c!r} is not #rrggbb")
        out.append([int(c[i:i + 2], 16) for i in (1, 3, 5)])
    return np.asarray(out, dtype=np.float64)


def _apply_ramp(values: NDArray[np.float64], valid: NDArray[np.bool_], colors: Sequence[str],
                vmin: float, vmax: float) -> NDArray[np.uint8]:
    stops = _hex_rgb(colors)
    span = vmax - vmin if vmax > vmin else 1.0
    filled = np.where(valid & np.isfinite(values), values, vmin)
    t = np.clip((filled - vmin) / span, 0.0, 1.0) * (len(stops) - 1)
    lo = np.floor(t).astype(np.intp).clip(0, len(stops) - 2)
    frac = t - lo
    rest = 1 - frac
    rgba = np.empty((*values.shape, 4), np.uint8)
    for c in range(3):  # one channel at a time: no (h, w, 3) float temporaries
        rgba[..., c] = np.rint(stops[:, c].take(lo) * rest + stops[:, c].take(lo + 1) * frac)
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def _warp(path: Path, max_size: int) -> tuple[NDArray[Any], NDArray[np.bool_], tuple[float, ...]]:
    """Read and reproject a GeoTIFF to EPSG:3857, at most ``max_size`` pixels a side."""
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    try:
        src = rasterio.open(path)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        raise InputFileError(f"cannot read raster {path}: {exc}") from exc
    with src:
        if src.crs is None:
            raise InputFileError(f"raster {path} has no CRS")
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
        scale = max(width, height) / max_size
        if scale > 1:
            left, bottom, right, top = rasterio.transform.array_bounds(height, width, transform)
            width, height = max(1, round(width / scale)), max(1, round(height / scale))
            transform = rasterio.transform.from_bounds(left, bottom, right, top, width, height)
        bands = min(src.count, 3) if src.count >= 3 else 1
        data = np.zeros((bands, height, width), dtype=np.float64)
        mask = np.zeros((height, width), dtype=np.uint8)
        for b in range(bands):
            reproject(rasterio.band(src, b + 1), data[b], dst_transform=transform,
                      dst_crs="EPSG:3857", resampling=Resampling.bilinear, dst_nodata=np.nan)
        reproject(src.dataset_mask(), mask, src_transform=src.transform, src_crs=src.crs,
                  dst_transform=transform, dst_crs="EPSG:3857", resampling=Resampling.nearest)
        left, bottom, right, top = rasterio.transform.array_bounds(height, width, transform)
        lonlat = transform_bounds("EPSG:3857", "EPSG:4326", left, bottom, right, top)
    valid = (mask > 0) & np.all(np.isfinite(data), axis=0)
    return data, valid, lonlat


def raster_overlay_payload(
    overlay: RasterOverlay,
    shift: Callable[[NDArray[np.float64], NDArray[np.float64]],
                    tuple[NDArray[np.float64], NDArray[np.float64]]] | None = None,
) -> dict[str, Any]:
    """Render a :class:`RasterOverlay` to the page's image-overlay record.

    Parameters
    ----------
    overlay
        What to draw.
    shift
        Optional lon/lat conversion applied to the image corners (WGS84 → GCJ-02 on Gaode
        basemaps; the shift is nearly uniform over a city, so moving the corners suffices).

    Returns
    -------
    dict
        ``name``, ``url`` (PNG data URI), ``bounds`` ([[south, west], [north, east]]),
        ``opacity``, ``show`` and ``legend`` (ramp colours and value range, or None).
    """
    data, valid, (west, south, east, north) = _warp(Path(overlay.path), overlay.max_size)
    kind = overlay.kind
    if kind == "auto":
        kind = "rgb" if data.shape[0] >= 3 and np.nanmax(np.where(valid, data[0], 0)) <= 255 else "ramp"
    legend = None
    if kind == "rgb" and data.shape[0] >= 3:
        rgba = np.zeros((*data.shape[1:], 4), np.uint8)
        rgba[..., :3] = np.clip(np.nan_to_num(np.moveaxis(data[:3], 0, -1)), 0, 255).astype(np.uint8)
        rgba[..., 3] = np.where(valid, 255, 0)
    else:
        band = data[0]
        good = band[valid]
        if good.size == 0:
            raise InputFileError(f"raster {overlay.path} has no valid pixels")
        low, high = (float(v) for v in np.percentile(good, [2, 98]))  # one partial sort
        vmin = low if overlay.vmin is None else overlay.vmin
        vmax = high if overlay.vmax is None else overlay.vmax
        colors = RAMPS[overlay.ramp] if isinstance(overlay.ramp, str) else list(overlay.ramp)
        rgba = _apply_ramp(band, valid, colors, vmin, vmax)
        legend = {"colors": colors, "low": f"{vmin:.4g}", "high": f"{vmax:.4g}"}
    if shift is not None:
        xs, ys = shift(np.array([west, east]), np.array([south, north]))
        west, east, south, north = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    height, width = rgba.shape[:2]
    logger.info("raster overlay %s: %d x %d px", overlay.name, width, height)
    return {
        "name": overlay.name,
        "url": "data:image/png;base64," + base64.b64encode(encode_png(rgba)).decode("ascii"),
        "bounds": [[south, west], [north, east]],
        "opacity": float(overlay.opacity),
        "show": bool(overlay.show),
        "legend": legend,
    }
