"""Interactive offline web maps (交互式网络地图) as folium maps.

The builder is generic and data-driven: describe each layer with a :class:`MapLayer`, then
call :func:`layers_map` (returns a ``folium.Map``: show it in Jupyter, add any folium
element, ``save()`` it), :func:`build_map` (the HTML) or :func:`write_map` (writes it
atomically). Each layer becomes a :class:`yulin_gis.maps._elements.CompactLayer`; the legend,
style switch, search and title are our folium elements; fullscreen, measurement and the
minimap are folium.plugins; every asset is inline (:mod:`yulin_gis.maps._offline`).

Layer configuration
-------------------
``MapLayer(name, gdf, ...)``

``name``
    Chinese display name (layer panel, legend, tooltips), unique within one map.
``gdf``
    A GeoDataFrame in any CRS (it must have one); drawn in EPSG:4326. Rows without a
    drawable geometry are skipped, logged and listed in :attr:`MapPage.skipped`.
``kind``
    ``"auto"`` (from the geometries), ``"polygon"``, ``"line"`` or ``"point"``.
``style_by``
    ``None`` (one colour, ``color``), a column name, a :class:`StyleBy`, or a list of them:
    the first is shown, the page offers a switch among all (e.g. tier / works class /
    built year / plan year). ``StyleBy(column, title, labels={value: 中文}, colors=...)``
    is categorical; ``StyleBy(column, title, bins=[1990, 2000])`` (or a numeric column
    with many values) is numeric. Classes, legend labels, colours and counts are computed
    here; the page holds one style object per class, never one per feature.
``tooltip`` / ``popup``
    ``{column: 中文标签}`` shown on hover / click.
``search_fields``
    Columns searched by the search box (substring, case-insensitive, offline).
``label``
    Column shown as a permanent text label at each feature (only for ≤ 2,000 features,
    e.g. package names).
``show``
    Visible when the page opens (hidden layers are built on first display).
``interactive``
    ``False`` for layers that must not catch the mouse (e.g. boundaries drawn above
    compounds); layers are listed bottom first and the top one under the mouse answers.
``fit_mask``
    Rows the opening view frames (default all; e.g. not the compounds 待核实).
``color``, ``stroke``, ``weight``, ``opacity``, ``fill_opacity``, ``radius``
    Paint. ``formats``: ``{column: "{:,.0f} 元" or callable}`` for displayed values.

Example::

    tiers = StyleBy("tier", "改造类别", labels={"priority": "重点改造", "share": "统筹改造",
                    "excluded": "不纳入"}, colors={"priority": "#d7301f", "share": "#fc8d59",
                    "excluded": "#bdbdbd"})
    years = StyleBy("built_year", "建成年代", bins=[1990, 2000, 2005])
    layer = MapLayer("老旧小区", compounds, style_by=[tiers, years],
                     tooltip={"name": "小区名称", "built_year": "建成年份"},
                     popup={"name": "小区名称", "households": "户数", "cost_yuan": "估算投资（元）"},
                     search_fields=["name"])
    write_map([layer], "maps/overview.html", title="玉林市老旧小区改造", basemap="none")

Encoding (why the files are small): coordinates are quantised to ``10**-decimals`` degrees
(5 → about 1 m), delta-encoded along the whole layer and written as variable-length digits
of an 89-character alphabet (:func:`yulin_gis.maps._encoding.encode_varints`); rings are oriented
and their closing vertices dropped; attributes are columnar with one dictionary of
distinct display values per field (long dictionaries prefix/suffix-coded against the
previous value); Chinese text is UTF-8.
:func:`yulin_gis.maps._encoding.decode_geometry` reverses the geometry encoding (used by the
tests). Maps above ``canvas_threshold`` features draw on a canvas from typed arrays (see
:mod:`yulin_gis.maps._elements`).

Other layers of the pipeline: county / street / community boundaries (``style_by=None``,
``fill_opacity=0``), packages (``style_by="package_id"`` cycles distinct colours,
``label="name"``), utilities (``StyleBy("utility", "管线类型", labels=...)``, renewal
score with ``bins``), facilities (points, ``radius``), DEM / waterlogging rasters and local
orthophotos (:class:`RasterOverlay`). Per-county or per-utility maps: filter the
GeoDataFrames and call :func:`write_map` once per map.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from yulin_gis.errors import OutputError
from yulin_gis.maps._assets import (
    RasterOverlay,
    raster_overlay_payload,
    resolve_basemaps,
)
from yulin_gis.maps._layer_data import (
    MapLayer,
    MapPage,
    _shift_for,
    encode_layer,
    robust_extent,
    split_mixed,
    validate_layers,
)
from yulin_gis.maps._styles import (
    CATEGORICAL_PALETTE,
    NUMERIC_RAMPS,
    StyleBy,
)

if TYPE_CHECKING:
    from yulin_gis.maps._cache import MapCache

__all__ = [
    "MapLayer",
    "MapPage",
    "RasterOverlay",
    "StyleBy",
    "build_map",
    "encode_layer",
    "layers_map",
    "render_map",
    "robust_extent",
    "save_html",
    "split_mixed",
    "validate_layers",
    "write_map",
]

logger = logging.getLogger(__name__)




def _add_basemaps(m: Any, bases: list[dict[str, Any]], max_zoom: int) -> None:
    import folium

    several = len(bases) > 1
    for i, b in enumerate(bases):
        if not b["tiles"]:
            if several:
                folium.FeatureGroup(name=b["name"], overlay=False, show=i == 0).add_to(m)
            continue
        for j, t in enumerate(b["tiles"]):
            folium.TileLayer(t["url"], attr=t["attribution"], subdomains=t["subdomains"] or "a",
                             max_native_zoom=t["maxNativeZoom"], max_zoom=max_zoom,
                             name=b["name"] + ("" if j == 0 else " 注记"), overlay=j > 0,
                             show=i == 0, control=several or j > 0).add_to(m)


def _add_rasters(m: Any, overlays: Sequence[RasterOverlay], shift: Any,
                 cache: MapCache | None) -> list[NDArray[np.float64]]:
    from folium.raster_layers import ImageOverlay

    from yulin_gis.maps._elements import RasterLegend

    boxes = []
    for r in overlays:
        rec = raster_overlay_payload(r, shift) if cache is None else cache.raster(r, shift)
        img = ImageOverlay(rec["url"], rec["bounds"], opacity=rec["opacity"], name=rec["name"],
                           show=rec["show"], interactive=False)
        img.add_to(m)
        RasterLegend(img, rec["name"], rec["legend"]).add_to(m)
        (s, w), (n, e) = rec["bounds"]
        boxes.append(np.array([[w, s, e, n]]))
    return boxes


def _add_controls(m: Any, layers: Sequence[MapLayer], title: str, bases: list[dict[str, Any]],
                  max_zoom: int) -> None:
    import folium
    from folium import plugins

    from yulin_gis.maps._elements import CompactLegend, CompactSearch, MapTitle, StyleSwitch

    if title:
        MapTitle(title).add_to(m)
    CompactLegend().add_to(m)
    if any(len(lyr.style_specs()) > 1 for lyr in layers):
        StyleSwitch().add_to(m)
    if any(lyr.search_fields for lyr in layers):
        CompactSearch().add_to(m)
    plugins.Fullscreen(position="topleft", title="全屏显示", title_cancel="退出全屏").add_to(m)
    plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                           secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                           secondary_area_unit="hectares", localization="cn").add_to(m)
    online = [b for b in bases if b["tiles"]]
    if online:  # the minimap needs tiles: only with an online basemap
        t = online[0]["tiles"][0]
        tiles = folium.TileLayer(t["url"], attr=t["attribution"], subdomains=t["subdomains"] or "a")
        plugins.MiniMap(tile_layer=tiles, position="bottomleft", toggle_display=True).add_to(m)
    # The layer control lists the map's layers when it renders; made a later child of the
    # figure, it renders after every layer, those the user adds afterwards included.
    control = folium.LayerControl(collapsed=False, position="topright")
    m.get_root().add_child(control, name="yulin_layer_control")
    control._parent = m


def _split(lyr: MapLayer, cache: MapCache | None) -> list[MapLayer]:
    """:func:`split_mixed`, once per layer object with a cache (the parts keep their
    identity, so their encodings are reused too)."""
    if cache is None:
        return split_mixed(lyr)
    return cache.built(("split", id(lyr)), lyr, partial(split_mixed, lyr))


def _assemble(layers: Sequence[MapLayer], title: str, *, basemap: str | Sequence[str],
              offline: bool, gaode_shift: bool | None, raster_overlays: Sequence[RasterOverlay],
              tianditu_key: str | None, decimals: int, renderer: str, canvas_threshold: int,
              max_zoom: int, fit: Sequence[str] | None,
              cache: MapCache | None = None) -> tuple[Any, dict[str, int], dict[str, list[str]]]:
    import folium

    from yulin_gis.maps._elements import CompactLayer, FitView
    from yulin_gis.maps._offline import make_offline

    layers = [part for lyr in layers for part in _split(lyr, cache)]
    validate_layers(layers)
    bases = resolve_basemaps(basemap, tianditu_key)
    shift = _shift_for(bases, gaode_shift)
    m = folium.Map(location=[22.63, 110.16], zoom_start=12, tiles=None, max_zoom=max_zoom,
                   control_scale=True)
    m.get_root().title = html.escape(title or "地图")  # type: ignore[attr-defined]
    _add_basemaps(m, bases, max_zoom)
    raster_boxes = _add_rasters(m, raster_overlays, shift, cache)
    boxes = [] if fit else raster_boxes  # rasters are framed unless layers are named
    total = sum(len(lyr.gdf) for lyr in layers)
    canvas = renderer == "canvas" or (renderer == "auto" and total > canvas_threshold)
    written, skipped = {}, {}
    for lyr in layers:
        el = CompactLayer(lyr, canvas=canvas, decimals=decimals, shift=shift, cache=cache)
        el.add_to(m)
        written[lyr.name], skipped[lyr.name] = el.n, el.skipped
        if len(el.boxes) and (not fit or any(lyr.name.startswith(f) for f in fit)):
            boxes.append(el.boxes)
    _add_controls(m, layers, title, bases, max_zoom)
    extent = robust_extent(np.vstack(boxes)) if boxes else None
    if extent is not None:
        FitView([[float(extent[1]), float(extent[0])],
                 [float(extent[3]), float(extent[2])]]).add_to(m)
    if offline:
        make_offline(m)
    return m, written, skipped


# ---------------------------------------------------------------- public builders

def layers_map(
    layers: Sequence[MapLayer],
    *,
    title: str = "",
    basemap: str | Sequence[str] = "none",
    offline: bool = True,
    gaode_shift: bool | None = None,
    raster_overlays: Sequence[RasterOverlay] = (),
    tianditu_key: str | None = None,
    decimals: int = 5,
    renderer: Literal["auto", "canvas", "svg"] = "auto",
    canvas_threshold: int = 2000,
    max_zoom: int = 20,
    fit: Sequence[str] | None = None,
    cache: MapCache | None = None,
) -> Any:
    """Build a ``folium.Map`` of compact layers with legend, style switch, search and tools.

    Parameters
    ----------
    layers
        Vector layers, bottom first (see the module docstring). A layer mixing points,
        lines and polygons is drawn as one layer per kind (:func:`split_mixed`).
    title
        Chinese title shown on the map and as the page title.
    basemap
        ``"none"``/``"offline"`` (default, no tiles: the page makes no request), ``"osm"``,
        ``"tianditu"``, ``"tianditu_img"``, ``"gaode"``, ``"gaode_img"`` or an XYZ/WMTS URL
        template; a list offers several in the layer control.
    offline
        Carry Leaflet and every plugin inline (:func:`yulin_gis.maps._offline.make_offline`);
        ``False`` leaves folium's CDN links.
    gaode_shift
        Shift vector data and rasters from WGS84 to GCJ-02. Default: when the first
        basemap is a Gaode one. Set it for intranet tile servers that serve GCJ-02.
    raster_overlays
        GeoTIFFs drawn as image overlays below the vector layers (:class:`RasterOverlay`).
    tianditu_key
        Tianditu key (default: environment variable ``TIANDITU_KEY``).
    decimals
        Coordinate precision in decimal places of degrees (5 ≈ 1.1 m, 6 ≈ 0.11 m).
    renderer
        ``"auto"`` packs layers on a canvas above ``canvas_threshold`` features in all.
    canvas_threshold
        Feature count above which ``"auto"`` picks canvas.
    max_zoom
        Highest zoom level.
    fit
        Names of the layers the opening view frames (default: every layer and raster).
        Far outliers and rows outside a layer's ``fit_mask`` are not framed.
    cache
        A :class:`~yulin_gis.maps._cache.MapCache` shared by several maps of the same
        layers: a layer object (or raster overlay) encoded for one is reused by the next.

    Returns
    -------
    folium.Map
        Show it in Jupyter, add any folium element, ``save()`` it.

    Raises
    ------
    ValidationError
        A layer lacks a configured column or CRS, or has a bad colour.
    SchemaError
        Unknown basemap or missing Tianditu key.
    """
    return _assemble(layers, title, basemap=basemap, offline=offline, gaode_shift=gaode_shift,
                     raster_overlays=raster_overlays, tianditu_key=tianditu_key,
                     decimals=decimals, renderer=renderer, canvas_threshold=canvas_threshold,
                     max_zoom=max_zoom, fit=fit, cache=cache)[0]


def render_map(layers: Sequence[MapLayer], title: str = "", **options: Any) -> MapPage:
    """Render layers to a self-contained HTML page (options as :func:`layers_map`).

    Returns
    -------
    MapPage
        The HTML, the folium map, the features written and the rows skipped per layer.
    """
    m, written, skipped = _assemble(layers, title, **{**_DEFAULTS, **options})
    page = m.get_root().render()
    logger.info("map %r: %d layer(s), %d feature(s), %.1f MB", title, len(written),
                sum(written.values()), len(page.encode("utf-8")) / 1e6)
    return MapPage(page, written, skipped, m)


_DEFAULTS: dict[str, Any] = {
    "basemap": "none", "offline": True, "gaode_shift": None, "raster_overlays": (),
    "tianditu_key": None, "decimals": 5, "renderer": "auto", "canvas_threshold": 2000,
    "max_zoom": 20, "fit": None,
}


def build_map(layers: Sequence[MapLayer], title: str = "", **options: Any) -> str:
    """Build an interactive map page and return its HTML (options as :func:`layers_map`)."""
    return render_map(layers, title, **options).html


def save_html(path: str | os.PathLike[str], page: str) -> Path:
    """Write an HTML page atomically (temporary file in the same folder, then rename).

    Raises
    ------
    OutputError
        The folder cannot be created or written.
    """
    from yulin_gis.io import atomic_path

    target = Path(path)
    try:
        with atomic_path(target) as tmp, tmp.open("wb") as fh:
            fh.write(page.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write map {target}: {exc}") from exc
    logger.info("wrote map %s", target)
    return target


def write_map(layers: Sequence[MapLayer], path: str | os.PathLike[str], *, title: str = "",
              **options: Any) -> MapPage:
    """Build a map (options as :func:`layers_map`) and write it atomically to ``path``.

    Returns
    -------
    MapPage
        The rendered page and its feature counts.

    Raises
    ------
    OutputError
        The folder cannot be created or written.
    """
    page = render_map(layers, title, **options)
    save_html(path, page.html)
    return page
