"""Compact map layers and their controls as folium elements.

Each class is one concern and works on any ``folium.Map``, ours or a user's:

:class:`CompactLayer`
    A GeoDataFrame (or a :class:`~yulin_gis.maps._webmap.MapLayer`) drawn from quantised,
    delta-encoded coordinates and columnar attributes (format: :mod:`yulin_gis.maps._encoding`),
    with one style per legend class. Above ``canvas_threshold`` features it is *packed*:
    coordinates stay in typed arrays and are drawn on one canvas, with grid hit-testing
    for tooltips and popups. It is a ``folium.map.Layer``: ``folium.LayerControl`` lists
    it, hidden ones are built on first display.
:class:`CompactLegend`
    Legend (with counts) of the compact layers and raster overlays shown.
:class:`StyleSwitch`
    One "按…分类显示" select per compact layer with several styles.
:class:`CompactSearch`
    Offline substring search over the compact layers' ``search_fields``; a hit zooms to
    the feature and opens its popup. (folium.plugins.Search needs one Leaflet object per
    feature, which is what compact layers avoid; see ``docs/MAPS.md``.)
:class:`MapTitle`
    The map's title, as a control.
:class:`FitView`
    Opens the map on given bounds without a zoom animation.
:class:`RasterLegend`
    Puts a ``folium.raster_layers.ImageOverlay`` (e.g. a DEM) into the legend.

Every element puts our runtime (``static/yulinmap.js`` and ``yulinmap.css``) once into
the page header. User text reaches the page as JSON with ``<``, ``>`` and ``&`` escaped,
and the runtime writes it with ``textContent`` only.

Example::

    import folium
    from yulin_gis.maps._elements import CompactLayer, CompactLegend, CompactSearch
    from yulin_gis.maps._styles import StyleBy

    m = folium.Map(location=[22.63, 110.16], zoom_start=12)
    CompactLayer(gdf, "小区", style_by=StyleBy("built_year", "建成年代", bins=[1990, 2000]),
                 tooltip={"name": "名称"}, search_fields=["name"]).add_to(m)
    CompactLegend().add_to(m)
    CompactSearch().add_to(m)
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template
from numpy.typing import NDArray

from yulin_gis.maps._encoding import runtime_css, runtime_js
from yulin_gis.maps._layer_data import MapLayer, encode_layer, robust_extent, validate_layers

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.maps._cache import MapCache

__all__ = [
    "CompactLayer",
    "CompactLegend",
    "CompactSearch",
    "MapTitle",
    "RasterLegend",
    "RawHTML",
    "StyleSwitch",
    "script_json",
]


@cache
def _runtime() -> str:
    return f"<style>{runtime_css()}</style>\n<script>{runtime_js()}</script>"


def script_json(payload: Any) -> str:
    """JSON safe inside ``<script>``: UTF-8 text, ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class RawHTML(Element):  # type: ignore[misc]
    """A piece of page text emitted as it is.

    branca compiles the text of every element as a Jinja template; map data (whose
    alphabet includes ``{`` and ``%``) and user text must never be, so compact elements
    render through this class.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text unchanged."""
        return self.text


def _map_name(element: Any) -> str:
    """The JavaScript name of the folium.Map holding ``element``."""
    import folium

    node = element._parent
    while node is not None and not isinstance(node, folium.Map):
        node = getattr(node, "_parent", None)
    if node is None:
        raise ValueError(f"{type(element).__name__} must be added to a folium.Map (or a "
                         "layer on one) before rendering")
    return str(node.get_name())


def _emit(element: Any, script: str, html: str | None = None) -> None:
    """Add the runtime (once), ``html`` to the body and ``script`` to the page script."""
    figure = element.get_root()
    figure.header.add_child(RawHTML(_runtime()), name="yulin_compact_runtime")
    if html is not None:
        figure.html.add_child(RawHTML(html), name=element.get_name())
    figure.script.add_child(RawHTML(script), name=element.get_name())


class _Compact(MacroElement):  # type: ignore[misc]
    """Base of the controls: one call on the map's controller, text never templated."""

    _template = Template("")

    def call(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the runtime and this control's call to the page."""
        _emit(self, f"yulinCompact({_map_name(self)}).{self.call()};\n")
        super().render(**kwargs)


class CompactLayer(Layer):  # type: ignore[misc]
    """A compact, canvas-drawn vector layer for any folium map.

    Parameters
    ----------
    data
        A GeoDataFrame (any CRS; it must have one) or a
        :class:`~yulin_gis.maps._webmap.MapLayer` (then ``name`` and ``layer_options`` are unused).
    name
        Chinese display name (legend, tooltips, layer control).
    canvas
        Draw packed on a canvas (fast for tens of thousands of features). Default: when the
        layer has more than ``canvas_threshold`` features.
    decimals
        Coordinate precision (5 ≈ 1.1 m).
    shift
        Optional lon/lat conversion applied after reprojection (WGS84 → GCJ-02 for Gaode).
    show, control
        As for any folium layer (visible on opening; listed in ``folium.LayerControl``).
    canvas_threshold
        Feature count above which the layer is packed when ``canvas`` is None.
    cache
        A :class:`~yulin_gis.maps._cache.MapCache`: a layer object already encoded there
        (for another map of the same run) is not encoded again.
    **layer_options
        :class:`~yulin_gis.maps._webmap.MapLayer` options: ``style_by``, ``tooltip``,
        ``popup``, ``search_fields``, ``label``, ``color``, ``weight``, ``radius``, …

    Attributes
    ----------
    n
        Features written.
    skipped
        Row labels without a drawable geometry.
    bounds
        ``[west, south, east, north]`` in degrees of the rows to frame (far outliers and
        rows outside ``fit_mask`` left out), or None.
    boxes
        ``(n, 4)`` lon/lat boxes of those rows.
    """

    _template = Template("")

    def __init__(self, data: gpd.GeoDataFrame | MapLayer, name: str = "图层", *,
                 canvas: bool | None = None, decimals: int = 5, shift: Any = None,
                 show: bool | None = None, control: bool = True, canvas_threshold: int = 2000,
                 cache: MapCache | None = None, **layer_options: Any) -> None:
        layer = data if isinstance(data, MapLayer) else MapLayer(name, data, **layer_options)
        validate_layers([layer])
        record, boxes, skipped = (encode_layer(layer, decimals, shift) if cache is None
                                  else cache.encoded(layer, decimals, shift))
        bounds = robust_extent(boxes) if len(boxes) else None
        record["canvas"] = bool(canvas) if canvas is not None else record["n"] > canvas_threshold
        record["bounds"] = None if bounds is None else [[bounds[1], bounds[0]],
                                                        [bounds[3], bounds[2]]]
        visible = layer.show if show is None else show
        super().__init__(name=f"{layer.name}（{record['n']}）", overlay=True, control=control,
                         show=visible)
        self._name = "CompactLayer"
        self.layer = layer
        self.record = record
        self.n: int = record["n"]
        self.skipped: list[str] = skipped
        self.bounds: NDArray[np.float64] | None = bounds
        self.boxes: NDArray[np.float64] = boxes

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Put the data (escaped JSON) in the page body and make the layer from it."""
        name = self.get_name()
        html = (f'<script type="application/json" class="yulin-data" id="{name}_data">'
                f"{script_json(self.record)}</script>")
        script = (f"var {name} = yulinCompact({_map_name(self)}).layer(JSON.parse("
                  f'document.getElementById("{name}_data").textContent));\n')
        _emit(self, script, html)
        super().render(**kwargs)


class CompactLegend(_Compact):
    """Legend of the compact layers and raster overlays shown (classes with counts)."""

    def __init__(self, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "CompactLegend"
        self.position = position

    def call(self) -> str:
        """The controller call."""
        return f"legend({script_json(self.position)})"


class StyleSwitch(_Compact):
    """A "分类显示" select per compact layer offering several styles (``style_by`` lists)."""

    def __init__(self, position: str = "topright") -> None:
        super().__init__()
        self._name = "StyleSwitch"
        self.position = position

    def call(self) -> str:
        """The controller call."""
        return f"styleSwitch({script_json(self.position)})"


class CompactSearch(_Compact):
    """Offline search box over the compact layers' ``search_fields`` (substring)."""

    def __init__(self, position: str = "topleft", placeholder: str = "搜索名称…") -> None:
        super().__init__()
        self._name = "CompactSearch"
        self.position = position
        self.placeholder = placeholder

    def call(self) -> str:
        """The controller call."""
        return f"searchControl({script_json(self.position)}, {script_json(self.placeholder)})"


class MapTitle(_Compact):
    """The map's title as a control (text only, never markup)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "MapTitle"
        self.title = title

    def call(self) -> str:
        """The controller call."""
        return f"title({script_json(self.title)})"


class FitView(_Compact):
    """Open the map on ``[[south, west], [north, east]]`` at once (no zoom animation).

    folium's ``fit_bounds`` animates from the initial view; a mouse event during that
    animation finds nothing under it, so our maps frame their data without it.
    """

    def __init__(self, bounds: list[list[float]], padding: int = 10) -> None:
        super().__init__()
        self._name = "FitView"
        self.bounds = bounds
        self.padding = padding

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the ``fitBounds`` call to the page."""
        options = {"padding": [self.padding, self.padding], "animate": False}
        _emit(self, f"{_map_name(self)}.fitBounds({script_json(self.bounds)}, "
                    f"{script_json(options)});\n")
        MacroElement.render(self, **kwargs)


class RasterLegend(_Compact):
    """Show an image overlay's colour ramp in the :class:`CompactLegend`.

    Parameters
    ----------
    overlay
        The ``folium.raster_layers.ImageOverlay`` (already added to the map).
    name
        Legend title.
    legend
        ``{"colors": [...], "low": "...", "high": "..."}``, or None (listed, no ramp).
    """

    def __init__(self, overlay: Any, name: str, legend: dict[str, Any] | None) -> None:
        super().__init__()
        self._name = "RasterLegend"
        self.overlay = overlay
        self.record = script_json({"name": name, "legend": legend})

    def call(self) -> str:
        """The controller call."""
        return f"raster({self.overlay.get_name()}, {self.record})"
