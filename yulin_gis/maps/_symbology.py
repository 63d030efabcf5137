"""Symbology of the static report maps (专题图图例与分级): layers, classes and legends.

:class:`StaticLayer` says what one map layer shows and how it is coloured;
:func:`classify` gives every feature its colour and the legend rows (:class:`LegendEntry`):
text, boolean and a few whole-number values are categories (in the order of the layer's
labels, then sorted; missing values last as 未填), other numbers are cut into equal
intervals on a matplotlib colormap. :func:`compound_layer` holds the presets of the
compound (小区) layer. Split out of :mod:`yulin_gis.maps._static`, which draws the maps and
re-exports every public name here. Matplotlib and pandas are imported inside functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from yulin_gis.errors import SchemaError
from yulin_gis.maps._qgis_styles import PALETTE, TIER_COLOURS, TIER_LABELS_ZH

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "MISSING_COLOUR",
    "MISSING_LABEL",
    "Kind",
    "LegendEntry",
    "StaticLayer",
    "classify",
    "compound_layer",
    "legend_entries",
    "nice_scale_length",
    "scale_bar_label",
]

Kind = Literal["polygon", "line", "point"]

MISSING_LABEL = "未填"
MISSING_COLOUR = "#e0e0e0"


@dataclass(frozen=True)
class StaticLayer:
    """One layer of a static map.

    Parameters
    ----------
    data
        The features; any CRS (reprojected to the map CRS), must have one.
    name
        Chinese layer name, the legend heading (e.g. ``"小区（改造类别）"``).
    style_by
        Column to colour by; None draws every feature in ``color``. Text, boolean or a few
        (≤ 12) whole numbers are categories; other numbers are cut into ``classes``
        equal intervals on the ``cmap`` ramp.
    labels
        Category value → Chinese legend label (also fixes the legend order).
    colours
        Category value → colour; otherwise :data:`~yulin_gis.maps._qgis_styles.PALETTE`, or the
        ramp for numeric categories.
    cmap, classes
        Matplotlib colormap name and number of classes for numeric columns.
    color, edgecolor, linewidth, alpha, markersize
        The fixed style: fill or line colour (single-colour layers), polygon outline colour,
        line/outline width in points, opacity, marker size in points².
    fill
        False draws polygons as outlines only (in the class colour).
    counts
        Add the number of features to each legend label.
    legend
        Whether the layer appears in the legend.
    """

    data: gpd.GeoDataFrame
    name: str
    style_by: str | None = None
    labels: Mapping[Any, str] | None = None
    colours: Mapping[Any, str] | None = None
    cmap: str = "YlOrRd"
    classes: int = 5
    color: str = "#9ecae1"
    edgecolor: str = "#5a5a5a"
    linewidth: float = 0.3
    alpha: float = 0.9
    markersize: float = 10.0
    fill: bool = True
    counts: bool = True
    legend: bool = True


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: label, colour and how the symbol is drawn."""

    label: str
    colour: str
    kind: Kind
    fill: bool = True



# --- scale bar -------------------------------------------------------------------------------


def nice_scale_length(extent_width_m: float, fraction: float = 0.25) -> float:
    """Return the scale bar length: the largest 1, 2 or 5 × 10ⁿ metres ≤ ``fraction`` × width.

    >>> nice_scale_length(10_000)
    2000.0
    >>> nice_scale_length(37_000)
    5000.0
    """
    if not math.isfinite(extent_width_m) or extent_width_m <= 0:
        raise SchemaError(f"map extent width must be a positive number of metres, got {extent_width_m!r}")
    target = extent_width_m * fraction
    exponent = math.floor(math.log10(target))
    best = 10.0**exponent
    for step in (1.0, 2.0, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate <= target * (1 + 1e-9):
            best = candidate
    return float(f"{best:.12g}")


def scale_bar_label(length_m: float) -> str:
    """Return the Chinese label of a scale bar length: ``"500 米"`` or ``"2 千米"``."""
    if length_m >= 1000:
        return f"{length_m / 1000:g} 千米"
    return f"{length_m:g} 米"


# --- classification --------------------------------------------------------------------------


def _kind(data: gpd.GeoDataFrame) -> Kind:
    types = set(data.geometry.geom_type.dropna())
    if types & {"Polygon", "MultiPolygon"}:
        return "polygon"
    if types & {"LineString", "MultiLineString", "LinearRing"}:
        return "line"
    return "point" if types else "polygon"


def _hex(colour: Any) -> str:
    from matplotlib.colors import to_hex

    return str(to_hex(colour, keep_alpha=False))


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT, pd.NA or blank text."""
    import pandas as pd

    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are not missing
        return False


def _ramp(cmap: str, n: int) -> list[str]:
    import matplotlib

    ramp = matplotlib.colormaps[cmap]
    if n == 1:
        return [_hex(ramp(0.75))]
    return [_hex(ramp(0.15 + 0.8 * i / (n - 1))) for i in range(n)]


def _numeric_format(values: Sequence[float]) -> str:
    if all(float(v).is_integer() for v in values):
        return "{:.0f}"
    span = max(values) - min(values)
    digits = max(0, 2 - math.floor(math.log10(span))) if span > 0 else 2
    return "{:." + str(min(digits, 4)) + "f}"


def classify(layer: StaticLayer) -> tuple[list[str], list[LegendEntry]]:
    """Return the colour of every feature (in row order) and the legend entries.

    Categories keep the order of ``layer.labels`` and then sort; missing values (None, NaN,
    empty text) get the grey ``未填`` entry. Numeric columns with more than 12 values or
    fractions are cut into ``layer.classes`` equal intervals.
    """
    data, kind = layer.data, _kind(layer.data)
    if layer.style_by is None:
        label = f"{layer.name}（{len(data)}）" if layer.counts else layer.name
        return [layer.color] * len(data), [LegendEntry(label, layer.color, kind, layer.fill)]
    if layer.style_by not in data.columns:
        raise SchemaError(f"layer {layer.name}: no column {layer.style_by!r} to style by")
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    column = data[layer.style_by]
    values = column.tolist()
    present = [v for v in values if not _is_missing(v)]
    numeric = bool(present) and is_numeric_dtype(column) and not is_bool_dtype(column)
    if numeric and (len(set(present)) > 12 or not all(float(v).is_integer() for v in present)):
        return _classify_numeric(layer, values, kind)
    return _classify_categories(layer, values, kind, numeric)


def _classify_categories(
    layer: StaticLayer, values: list[Any], kind: Kind, numeric: bool
) -> tuple[list[str], list[LegendEntry]]:
    labels = dict(layer.labels or {})
    present = {v for v in values if not _is_missing(v)}
    if numeric:
        present = {int(v) for v in present}
        values = [v if _is_missing(v) else int(v) for v in values]
    order = [v for v in labels if v in present]
    order += sorted(present - set(order), key=lambda v: (str(type(v)), v))
    if layer.colours:
        colours = {v: layer.colours.get(v, PALETTE[i % len(PALETTE)]) for i, v in enumerate(order)}
    elif numeric:
        colours = dict(zip(order, _ramp(layer.cmap, len(order)), strict=True))
    else:
        colours = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(order)}
    counts: dict[Any, int] = {}
    feature_colours = []
    for v in values:
        key = None if _is_missing(v) else v
        counts[key] = counts.get(key, 0) + 1
        feature_colours.append(MISSING_COLOUR if key is None else colours[key])
    entries = [
        LegendEntry(_label(labels.get(v, f"{v}年" if numeric and layer.style_by == "plan_year" else str(v)),
                           counts[v], layer.counts), colours[v], kind, layer.fill)
        for v in order
    ]
    if None in counts:
        entries.append(LegendEntry(_label(MISSING_LABEL, counts[None], layer.counts), MISSING_COLOUR, kind, layer.fill))
    return feature_colours, entries


def _classify_numeric(
    layer: StaticLayer, values: list[Any], kind: Kind
) -> tuple[list[str], list[LegendEntry]]:
    import numpy as np

    nums = np.array([np.nan if _is_missing(v) else float(v) for v in values])
    lo, hi = float(np.nanmin(nums)), float(np.nanmax(nums))
    n = max(1, layer.classes)
    edges = np.linspace(lo, hi, n + 1)
    idx = np.clip(np.searchsorted(edges, nums, side="right") - 1, 0, n - 1)
    colours = _ramp(layer.cmap, n)
    fmt = _numeric_format([lo, hi])
    feature_colours = [MISSING_COLOUR if np.isnan(x) else colours[i] for x, i in zip(nums, idx, strict=True)]
    entries = []
    for i in range(n):
        count = int(np.sum((idx == i) & ~np.isnan(nums)))
        text = f"{fmt.format(edges[i])} – {fmt.format(edges[i + 1])}"
        entries.append(LegendEntry(_label(text, count, layer.counts), colours[i], kind, layer.fill))
    missing = int(np.isnan(nums).sum())
    if missing:
        entries.append(LegendEntry(_label(MISSING_LABEL, missing, layer.counts), MISSING_COLOUR, kind, layer.fill))
    return feature_colours, entries


def _label(text: str, count: int, with_count: bool) -> str:
    return f"{text}（{count}）" if with_count else text


def legend_entries(layer: StaticLayer) -> list[LegendEntry]:
    """Return the legend entries of ``layer``: one per category or numeric class."""
    return classify(layer)[1]


# --- presets -----------------------------------------------------------------------------------


def compound_layer(compounds: gpd.GeoDataFrame, style_by: str | None = "tier") -> StaticLayer:
    """Return the compounds (小区) layer styled by a known column.

    ``tier`` (重点改造 / 按比例纳入 / 不纳入), ``built_year`` (older = darker), ``plan_year``
    (one colour per year), ``priority`` (0–100), ``eligible`` (纳入 / 不纳入),
    ``package_id`` or any other column (categories or numeric classes).
    """
    from yulin_gis.io import LAYERS

    field_zh = LAYERS["compounds"].labels_zh
    base = StaticLayer(compounds, "小区", style_by=style_by, linewidth=0.2, markersize=8.0)
    if style_by is None:
        return base
    presets: dict[str, dict[str, Any]] = {
        "tier": {"name": "小区（改造类别）", "labels": TIER_LABELS_ZH, "colours": TIER_COLOURS},
        "built_year": {"name": "小区（建成年份）", "cmap": "YlOrBr_r"},
        "plan_year": {"name": "小区（计划改造年度）", "cmap": "YlGnBu"},
        "priority": {"name": "小区（优先度）", "cmap": "YlOrRd"},
        "eligible": {"name": "小区（是否纳入）", "labels": {True: "纳入改造", False: "不纳入"},
                     "colours": {True: "#d7301f", False: "#bdbdbd"}},
        "package_id": {"name": "小区（所属片区）", "counts": False},
    }
    options = presets.get(style_by, {"name": f"小区（{field_zh.get(style_by, style_by)}）"})
    return replace(base, **options)


def _context_layers(
    packages: gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame | None,
    counties: gpd.GeoDataFrame | None,
) -> tuple[list[StaticLayer], list[StaticLayer]]:
    """Return (layers under the compounds, layers over them)."""
    below: list[StaticLayer] = []
    above: list[StaticLayer] = []
    if counties is not None and len(counties):
        below.append(StaticLayer(counties, "县（市、区）界", color="#f7f7f7", edgecolor="#636363",
                                 linewidth=1.0, alpha=1.0, counts=False))
    if communities is not None and len(communities):
        below.append(StaticLayer(communities, "社区界", color="#9e9e9e", fill=False, linewidth=0.5,
                                 alpha=0.9, counts=False))
    if packages is not None and len(packages):
        above.append(StaticLayer(packages, "连片改造片区", color="#08519c", fill=False, linewidth=1.0,
                                 alpha=1.0))
    return below, above
