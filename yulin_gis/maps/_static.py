"""Static report maps (专题图) as PNG or PDF, drawn with matplotlib.

Each map has a title, the layers in order (first at the bottom), a legend in Chinese, a
metric scale bar whose length is a round number chosen from the visible extent, a north
arrow and a note of the coordinate system. Layers are drawn in a projected CGCS2000
Gauss–Krüger CRS (EPSG:4546 for Yulin), whose grid is true to scale within 0.03 % across
the 3-degree zone, so the scale bar is measured directly in map metres.

- :func:`render_static_map` draws any list of :class:`StaticLayer`;
- :func:`overview_map` draws the city overview of compounds (小区), packages (片区),
  communities (社区) and counties (县/市/区);
- :func:`county_maps` draws one map per county.

Matplotlib is imported inside the functions (Agg canvas, no pyplot state), and a CJK font
(Noto Sans CJK SC when installed) is looked up once; without one a warning is issued and
Chinese characters may show as boxes. Each layer is drawn as one matplotlib collection per
geometry kind built from shapely's coordinate arrays (50,000 compounds in about 4 s), and
layers above :data:`RASTERIZE_ABOVE` features are embedded as images in PDFs. Files are
written atomically (a temporary file in the same folder, then :func:`os.replace`).

Layer styles, classes, legend rows and the scale-bar length live in
:mod:`yulin_gis.maps._symbology`; their public names are re-exported here.

Example
-------
>>> from yulin_gis.maps._static import overview_map, county_maps
>>> overview_map(compounds, packages, communities, path="maps/overview.pdf")  # doctest: +SKIP
>>> county_maps(compounds, packages, communities, counties, out_dir="maps/county")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from yulin_gis.errors import CRSError, OutputError, SchemaError
from yulin_gis.fonts import CJK_FONT_CANDIDATES
from yulin_gis.fonts import cjk_font_family as find_cjk_font
from yulin_gis.maps._symbology import (
    MISSING_COLOUR,
    MISSING_LABEL,
    Kind,
    LegendEntry,
    StaticLayer,
    _context_layers,
    classify,
    compound_layer,
    legend_entries,
    nice_scale_length,
    scale_bar_label,
)

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "CJK_FONT_CANDIDATES",
    "MAX_LEGEND_ROWS",
    "MISSING_COLOUR",
    "MISSING_LABEL",
    "RASTERIZE_ABOVE",
    "Kind",
    "LegendEntry",
    "StaticLayer",
    "classify",
    "compound_layer",
    "county_maps",
    "find_cjk_font",
    "legend_entries",
    "nice_scale_length",
    "overview_map",
    "render_static_map",
    "scale_bar_label",
]

logger = logging.getLogger(__name__)


RASTERIZE_ABOVE = 20_000
"""Collections with more features are embedded as images in PDF output (at ``dpi``)."""
MAX_LEGEND_ROWS = 18  # per layer; longer legends end with "…共 N 类"


# --- fonts -----------------------------------------------------------------------------------


def _rc() -> Any:
    family = find_cjk_font()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.hashsalt": "yulin_gis",
    }


# --- drawing ---------------------------------------------------------------------------------


def _projected(crs: str) -> Any:
    from pyproj import CRS

    try:
        target = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
        raise CRSError(f"unknown map CRS {crs!r}: {exc}") from exc
    if not target.is_projected:
        raise CRSError(f"map CRS {crs!r} is not projected: a metric scale bar needs metres")
    return target


def _prepare(layer: StaticLayer, target: Any) -> StaticLayer:
    data = layer.data
    if data.crs is None:
        raise CRSError(f"layer {layer.name}: the GeoDataFrame has no CRS")
    if data.crs != target:
        data = data.to_crs(target)
    empty = data.geometry.isna() | data.geometry.is_empty
    if empty.any():
        logger.info("layer %s: %d feature(s) without geometry are not drawn", layer.name, int(empty.sum()))
    return replace(layer, data=data)


def _boundary_series(boundary: Any, target: Any) -> Any:
    import geopandas as gpd

    if boundary is None:
        return None
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        if boundary.crs is None:
            raise CRSError("boundary: the GeoDataFrame has no CRS")
        series = boundary.geometry.to_crs(target)
    else:  # a shapely geometry, assumed in the map CRS
        series = gpd.GeoSeries([boundary], crs=target)
    return series[~(series.isna() | series.is_empty)]


def _extent(bounds: list[tuple[float, float, float, float]], aspect: float) -> tuple[float, float, float, float]:
    """Union of bounds, padded 4 % (at least 100 m), widened to the axes' aspect (w / h)."""
    xmin = min(b[0] for b in bounds)
    ymin = min(b[1] for b in bounds)
    xmax = max(b[2] for b in bounds)
    ymax = max(b[3] for b in bounds)
    w, h = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    pad = max(0.04 * max(w, h), 100.0)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    w, h = w + 2 * pad, h + 2 * pad
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _rgba_array(colours: Sequence[str], alpha: float) -> Any:
    """Hex colours → an (n, 4) RGBA array, converting each distinct colour once."""
    import numpy as np
    from matplotlib.colors import to_rgba

    lut = {c: to_rgba(c, alpha) for c in set(colours)}
    return np.array([lut[c] for c in colours], dtype=float).reshape(-1, 4)


def _split(coords: Any, owner: Any, n: int) -> list[Any]:
    """Split rows of ``coords`` by the sorted ``owner`` index into ``n`` arrays."""
    import numpy as np

    bounds = np.searchsorted(owner, np.arange(n + 1))
    return [coords[a:b] for a, b in itertools.pairwise(bounds)]


def _polygon_paths(geoms: Any) -> list[Any]:
    """One compound matplotlib Path per (multi)polygon, holes wound the other way."""
    import numpy as np
    import shapely
    from matplotlib.path import Path as MplPath

    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(shapely.orient_polygons(parts), return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=np.uint8)
    if len(coords):
        starts = np.r_[0, np.flatnonzero(np.diff(coord_of)) + 1]
        codes[starts] = MplPath.MOVETO
        codes[np.r_[starts[1:] - 1, len(coords) - 1]] = MplPath.CLOSEPOLY
    owner = part_of[ring_of][coord_of]
    return [MplPath(c, k) for c, k in zip(_split(coords, owner, len(geoms)),
                                          _split(codes, owner, len(geoms)), strict=True)]


def _draw_kind(ax: Axes, layer: StaticLayer, kind: Kind, geoms: Any, cols: list[str], zorder: int) -> None:
    """Add one collection for ``geoms`` of one kind (rasterised in PDFs above a size)."""
    import numpy as np
    import shapely
    from matplotlib.collections import LineCollection, PathCollection

    rgba = _rgba_array(cols, layer.alpha)
    coll: Any
    if kind == "polygon":
        edge = _rgba_array([layer.edgecolor], 1.0) if layer.fill else rgba
        coll = PathCollection(_polygon_paths(geoms), facecolors=rgba if layer.fill else "none",
                              edgecolors=edge, linewidths=layer.linewidth, zorder=zorder)
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        if kind == "line":
            coords, coord_of = shapely.get_coordinates(parts, return_index=True)
            coll = LineCollection(_split(coords, coord_of, len(parts)), colors=rgba[part_of],
                                  linewidths=max(layer.linewidth, 0.6), zorder=zorder, capstyle="round")
        else:
            xy = shapely.get_coordinates(parts).reshape(-1, 2)
            coll = ax.scatter(xy[:, 0], xy[:, 1], s=layer.markersize, zorder=zorder,
                              c=rgba[part_of] if len(xy) else np.empty((0, 4)),
                              edgecolors=layer.edgecolor, linewidths=0.3)
    if len(geoms) > RASTERIZE_ABOVE:
        coll.set_rasterized(True)  # a PDF stays small and fast; text and legend stay vector
    if kind != "point":
        ax.add_collection(coll, autolim=False)


def _draw_layer(ax: Axes, layer: StaticLayer, zorder: int) -> list[LegendEntry]:
    """Draw ``layer`` with one matplotlib collection per geometry kind; return its legend."""
    import numpy as np

    colours, entries = classify(layer)
    geoms = layer.data.geometry.to_numpy()
    keep = ~(layer.data.geometry.isna() | layer.data.geometry.is_empty).to_numpy()
    types = layer.data.geometry.geom_type.to_numpy()
    kinds: tuple[tuple[Kind, tuple[str, ...]], ...] = (
        ("polygon", ("Polygon", "MultiPolygon")),
        ("line", ("LineString", "MultiLineString", "LinearRing")),
        ("point", ("Point", "MultiPoint")),
    )
    for kind, names in kinds:
        mask = keep & np.isin(types, names)
        if mask.any():
            _draw_kind(ax, layer, kind, geoms[mask], [c for c, m in zip(colours, mask, strict=True) if m],
                       zorder)
    return entries if layer.legend else []


def _handle(entry: LegendEntry, layer: StaticLayer) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if entry.kind == "line":
        return Line2D([], [], color=entry.colour, linewidth=max(layer.linewidth, 1.5))
    if entry.kind == "point":
        return Line2D([], [], marker="o", linestyle="none", markerfacecolor=entry.colour,
                      markeredgecolor=layer.edgecolor, markersize=7)
    if entry.fill:
        return Patch(facecolor=entry.colour, edgecolor=layer.edgecolor, alpha=layer.alpha)
    return Patch(facecolor="none", edgecolor=entry.colour, linewidth=1.2)


def _legend(ax: Axes, groups: list[tuple[StaticLayer, list[LegendEntry]]], boundary: str | None) -> None:
    from matplotlib.patches import Patch

    handles: list[Any] = []
    labels: list[str] = []
    headers: set[int] = set()
    if boundary:
        handles.append(Patch(facecolor="none", edgecolor="#222222", linewidth=1.6))
        labels.append(boundary)
    for layer, entries in groups:
        if not entries:
            continue
        if layer.style_by is not None:  # a single-colour layer needs no heading
            headers.add(len(handles))
            handles.append(Patch(facecolor="none", edgecolor="none"))
            labels.append(layer.name)
        shown = entries if len(entries) <= MAX_LEGEND_ROWS else entries[: MAX_LEGEND_ROWS - 1]
        for entry in shown:
            handles.append(_handle(entry, layer))
            labels.append(entry.label)
        if len(shown) < len(entries):
            handles.append(Patch(facecolor="none", edgecolor="none"))
            labels.append(f"…共 {len(entries)} 类")
    if not handles:
        return
    legend = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False,
                       title="图  例", fontsize=8, title_fontsize=11, borderaxespad=0.0,
                       handlelength=1.8, alignment="left")
    for i, text in enumerate(legend.get_texts()):
        if i in headers:
            text.set_fontweight("bold")
            text.set_fontsize(9)


def _scale_bar(ax: Axes, extent: tuple[float, float, float, float]) -> float:
    """Draw a four-part metric scale bar in the lower left; return its length in metres."""
    from matplotlib.patches import Rectangle

    xmin, ymin, xmax, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    length = nice_scale_length(w)
    x0, y0, bar_h = xmin + 0.04 * w, ymin + 0.045 * h, 0.012 * h
    km = length >= 1000
    unit, div = ("千米", 1000.0) if km else ("米", 1.0)
    ax.add_patch(Rectangle((x0 - 0.015 * w, y0 - 0.02 * h), length + 0.11 * w, bar_h + 0.07 * h,
                           facecolor="white", edgecolor="none", alpha=0.8, zorder=999))
    for i in range(4):
        ax.add_patch(Rectangle((x0 + i * length / 4, y0), length / 4, bar_h,
                               facecolor="black" if i % 2 == 0 else "white", edgecolor="black",
                               linewidth=0.6, zorder=1000, gid="scalebar"))
    for frac in (0.0, 0.5, 1.0):
        ax.text(x0 + frac * length, y0 + bar_h * 1.6, f"{frac * length / div:g}", ha="center",
                va="bottom", fontsize=8, zorder=1000)
    ax.text(x0 + length + 0.012 * w, y0 + bar_h / 2, unit, ha="left", va="center", fontsize=8,
            zorder=1000)
    return length


def _north_arrow(ax: Axes) -> None:
    ax.annotate("", xy=(0.95, 0.96), xytext=(0.95, 0.86), xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 11,
                            "headlength": 12}, zorder=1000)
    ax.text(0.95, 0.84, "北", transform=ax.transAxes, ha="center", va="top", fontsize=12,
            fontweight="bold", zorder=1000)


def _crs_note(target: Any) -> str:
    epsg = target.to_epsg()
    code = f"EPSG:{epsg}" if epsg else target.name
    return f"坐标系：{target.name}（{code}）"


def render_static_map(
    layers: Sequence[StaticLayer],
    path: str | Path, *,
    title: str,
    crs: str = "EPSG:4546",
    dpi: int = 150,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    figsize: tuple[float, float] = (11.69, 8.27),
    note: str | None = None,
    fit: Literal["all", "layers"] = "all",
    boundary_label: str = "边界",
) -> Path:
    """Draw a report map and write it as PNG or PDF (chosen by the suffix of ``path``).

    Parameters
    ----------
    layers
        Layers drawn in order, the first at the bottom.
    path
        ``*.png`` or ``*.pdf``; the folder is created; the file is replaced atomically.
    title
        Map title (Chinese).
    crs
        Projected map CRS; every layer is reprojected to it.
    dpi
        Resolution: a PNG is ``round(figsize × dpi)`` pixels.
    boundary
        Optional outline (county or study area) drawn on top as a thick line; a shapely
        geometry is taken to be in ``crs``.
    figsize
        Page size in inches (A4 landscape by default).
    note
        Extra line under the map (data source, date ...), after the CRS note.
    fit
        ``"all"`` frames the layers and the boundary; ``"layers"`` frames the layers only
        (a large rural county boundary then shows where it crosses the frame).
    boundary_label
        Legend label of the boundary.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    CRSError
        ``crs`` is not projected, or a layer has no CRS.
    SchemaError
        Nothing to draw, or a ``style_by`` column is missing.
    OutputError
        Unsupported suffix, or the file could not be written.
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in {"png", "pdf"}:
        raise OutputError(f"{out}: static maps are written as .png or .pdf, not {out.suffix!r}")
    target = _projected(crs)
    prepared = [_prepare(layer, target) for layer in layers]
    outline = _boundary_series(boundary, target)
    bounds = _map_bounds(prepared, outline, fit)
    if not bounds:
        raise SchemaError(f"{out}: nothing to draw (all layers are empty)")
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig = _figure(prepared, outline, bounds, title, target, figsize, dpi, note, boundary_label)
        _save(fig, out, fmt, dpi)
    logger.info("static map written: %s", out)
    return out


def _map_bounds(layers: list[StaticLayer], outline: Any, fit: str) -> list[tuple[float, float, float, float]]:
    """Bounds of the non-empty layers, and of the boundary when ``fit == "all"`` (or alone)."""
    bounds = []
    for layer in layers:
        geoms = layer.data.geometry
        if len(geoms) and not (geoms.isna() | geoms.is_empty).all():
            xmin, ymin, xmax, ymax = (float(v) for v in geoms.total_bounds)
            bounds.append((xmin, ymin, xmax, ymax))
    if outline is not None and len(outline) and (fit == "all" or not bounds):
        xmin, ymin, xmax, ymax = (float(v) for v in outline.total_bounds)
        bounds.append((xmin, ymin, xmax, ymax))
    return bounds


def _figure(
    layers: list[StaticLayer], outline: Any, bounds: list[tuple[float, float, float, float]],
    title: str, target: Any, figsize: tuple[float, float], dpi: int, note: str | None,
    boundary_label: str = "边界",
) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    rect = (0.03, 0.07, 0.70, 0.83)
    ax = fig.add_axes(rect)
    aspect = (rect[2] * figsize[0]) / (rect[3] * figsize[1])
    extent = _extent(bounds, aspect)
    groups = [(layer, _draw_layer(ax, layer, zorder=10 + i)) for i, layer in enumerate(layers)]
    if outline is not None and len(outline):
        _draw_kind(ax, StaticLayer(outline, "边界", linewidth=1.6, alpha=1.0), "line",
                   outline.boundary.to_numpy(), ["#222222"] * len(outline), 900)
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(1.2)
    _legend(ax, groups, boundary_label if outline is not None and len(outline) else None)
    _scale_bar(ax, extent)
    _north_arrow(ax)
    fig.text(0.5, 0.95, title, ha="center", va="center", fontsize=16, fontweight="bold")
    footer = _crs_note(target) + (f"    {note}" if note else "")
    fig.text(0.03, 0.035, footer, ha="left", va="center", fontsize=7, color="#444444")
    return fig


def _save(fig: Any, out: Path, fmt: str, dpi: int) -> None:
    from yulin_gis.io import atomic_path

    metadata: dict[str, Any] = {"Software": None} if fmt == "png" else {"CreationDate": None, "ModDate": None}
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
    except OSError as exc:
        raise OutputError(f"{out}: could not write the map ({exc})") from exc


# --- convenience maps --------------------------------------------------------------------------


def overview_map(
    compounds: gpd.GeoDataFrame,
    packages: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    counties: gpd.GeoDataFrame | None = None,
    *,
    path: str | Path,
    style_by: str | None = "tier",
    title: str = "城镇老旧小区改造总览图",
    crs: str = "EPSG:4546",
    dpi: int = 150,
    figsize: tuple[float, float] = (11.69, 8.27),
    note: str | None = None,
) -> Path:
    """Draw the city overview: counties and communities under the compounds, packages over.

    Parameters
    ----------
    compounds
        Compounds (小区), styled by ``style_by`` (see :func:`compound_layer`).
    packages, communities, counties
        Optional context layers: package outlines (连片改造片区), community outlines (社区),
        county areas (县/市/区).
    path
        ``*.png`` or ``*.pdf``.
    style_by, title, crs, dpi, figsize, note
        As in :func:`render_static_map`.

    Returns
    -------
    Path
        The file written.
    """
    below, above = _context_layers(packages, communities, counties)
    layers = [*below, compound_layer(compounds, style_by), *above]
    return render_static_map(layers, path, title=title, crs=crs, dpi=dpi, figsize=figsize, note=note)


def _safe_filename(name: str) -> str:
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" ._")
    return cleaned or "unnamed"


def _subset(layer: gpd.GeoDataFrame | None, county: str, county_field: str,
            bbox: Sequence[float]) -> gpd.GeoDataFrame | None:
    if layer is None or not len(layer):
        return None
    if county_field in layer.columns:
        return layer[layer[county_field].astype("string").fillna(MISSING_LABEL) == county]
    xmin, ymin, xmax, ymax = bbox
    return layer.cx[xmin:xmax, ymin:ymax]


def county_maps(
    compounds: gpd.GeoDataFrame,
    packages: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    counties: gpd.GeoDataFrame | None = None,
    *,
    out_dir: str | Path,
    style_by: str | None = "tier",
    county_field: str = "county",
    county_name_field: str = "name",
    fmt: Literal["png", "pdf"] = "png",
    title_template: str = "{county}城镇老旧小区改造分布图",
    crs: str = "EPSG:4546",
    dpi: int = 150,
    figsize: tuple[float, float] = (11.69, 8.27),
    fit: Literal["all", "layers"] = "layers",
) -> list[Path]:
    """Draw one map per county (县/市/区) of the compounds, named ``<county>.<fmt>``.

    Compounds without a county go to a map named ``未填.<fmt>`` so no compound is left out.
    Packages and communities are filtered by their own ``county_field`` when they have one,
    otherwise by the county's bounding box. The county whose ``county_name_field`` equals
    the name (when ``counties`` is given) is drawn as the map boundary; by default the map
    is framed on the county's compounds (``fit="layers"``), ``fit="all"`` shows the whole
    county.

    Returns
    -------
    list of Path
        The files written, in county-name order.
    """
    if county_field not in compounds.columns:
        raise SchemaError(f"compounds: no column {county_field!r} to split the county maps by")
    names = compounds[county_field].astype("string").fillna(MISSING_LABEL).str.strip().replace("", MISSING_LABEL)
    folder = Path(out_dir)
    written: list[Path] = []
    used: set[str] = set()
    for county in sorted(set(names)):
        part = compounds[(names == county).to_numpy()]
        stem = _safe_filename(county)
        while stem in used:
            stem += "_"
        used.add(stem)
        boundary = None
        if counties is not None and county_name_field in counties.columns:
            match = counties[counties[county_name_field].astype("string") == county]
            boundary = match if len(match) else None
        below, above = _county_context(packages, communities, county, county_field, part)
        written.append(render_static_map(
            [*below, compound_layer(part, style_by), *above],
            folder / f"{stem}.{fmt}", title=title_template.format(county=county), crs=crs, dpi=dpi,
            boundary=boundary, figsize=figsize, fit=fit, boundary_label="县（市、区）界",
        ))
    return written


def _county_context(
    packages: gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame | None, county: str,
    county_field: str, part: gpd.GeoDataFrame,
) -> tuple[list[StaticLayer], list[StaticLayer]]:
    """Return the county's communities (under) and packages (over the compounds)."""

    def box_of(layer: gpd.GeoDataFrame | None) -> Sequence[float]:
        if layer is None or layer.crs is None or part.crs is None or layer.crs == part.crs:
            return list(part.total_bounds)
        return list(part.to_crs(layer.crs).total_bounds)

    pk = _subset(packages, county, county_field, box_of(packages))
    cm = _subset(communities, county, county_field, box_of(communities))
    return _context_layers(pk, cm, None)
