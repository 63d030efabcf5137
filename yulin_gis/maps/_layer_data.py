"""The web-map layer model and its compact encoding (图层与编码): :class:`MapLayer`,
its checks, the quantised delta encoding of one layer, the robust extent and the split
of mixed geometry layers. Used by the page assembly and by the folium elements.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from yulin_gis.errors import Problem, ValidationError
from yulin_gis.maps._assets import (
    GCJ02_BASEMAPS,
)
from yulin_gis.maps._encoding import (
    Formatter,
    encode_field,
    encode_geometry,
    infer_kind,
    lonlat_transform,
)
from yulin_gis.maps._styles import (
    COLOR_RE,
    NUMERIC_RAMPS,
    StyleBy,
    style_option,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["Kind", "MapLayer", "MapPage", "encode_layer", "robust_extent", "split_mixed", "validate_layers"]

logger = logging.getLogger(__name__)

Kind = Literal["auto", "polygon", "line", "point"]


@dataclass
class MapLayer:
    """A vector layer of the map; see the module docstring for every option."""

    name: str
    gdf: gpd.GeoDataFrame
    kind: Kind = "auto"
    style_by: StyleBy | str | Sequence[StyleBy | str] | None = None
    color: str = "#3388ff"
    tooltip: Mapping[str, str] = field(default_factory=dict)
    popup: Mapping[str, str] = field(default_factory=dict)
    search_fields: Sequence[str] = ()
    label: str | None = None
    show: bool = True
    interactive: bool = True
    stroke: str | None = None
    weight: float = 1.0
    opacity: float = 0.9
    fill_opacity: float = 0.55
    radius: float = 5.0
    formats: Mapping[str, Formatter] = field(default_factory=dict)
    fit_mask: Sequence[bool] | None = None

    def style_specs(self) -> list[StyleBy]:
        """Return ``style_by`` normalised to a list of :class:`StyleBy`."""
        raw = self.style_by
        if raw is None:
            return []
        items = [raw] if isinstance(raw, str | StyleBy) else list(raw)
        return [StyleBy(s) if isinstance(s, str) else s for s in items]


@dataclass(frozen=True)
class MapPage:
    """A rendered map.

    Attributes
    ----------
    html
        The page.
    written
        Features written per layer name.
    skipped
        Per layer name, the row labels of rows without a drawable geometry.
    map
        The ``folium.Map`` the page was rendered from.
    """

    html: str
    written: dict[str, int]
    skipped: dict[str, list[str]]
    map: Any = None


# ---------------------------------------------------------------- attributes and styles

# ---------------------------------------------------------------- validation and layers

def validate_layers(layers: Sequence[MapLayer]) -> None:
    """Check every layer's columns, CRS, colours and styles; raise all problems at once."""
    problems: list[Problem] = []

    def err(code: str, msg: str, layer: str, fld: str | None = None) -> None:
        problems.append(Problem("error", code, msg, layer=layer, field=fld))

    seen: set[str] = set()
    for lyr in layers:
        if lyr.name in seen:
            err("duplicate-layer", "two map layers have this name", lyr.name)
        seen.add(lyr.name)
        if lyr.gdf.crs is None:
            err("missing-crs", "the layer has no CRS; set one before mapping", lyr.name)
        cols = set(lyr.gdf.columns)
        wanted = [*lyr.tooltip, *lyr.popup, *lyr.search_fields, *lyr.formats,
                  *([lyr.label] if lyr.label else []), *(s.column for s in lyr.style_specs())]
        for col in dict.fromkeys(wanted):
            if col not in cols:
                err("missing-field", f"column {col!r} is not in the layer", lyr.name, col)
        colours = [lyr.color, *([lyr.stroke] if lyr.stroke else [])]
        for spec in lyr.style_specs():
            c = spec.colors
            colours += list(c.values()) if isinstance(c, Mapping) else (
                [] if c is None or isinstance(c, str) else list(c))
            if isinstance(c, str) and c not in NUMERIC_RAMPS:
                err("bad-colour", f"unknown ramp {c!r}; use one of {sorted(NUMERIC_RAMPS)}",
                    lyr.name, spec.column)
            if spec.bins is not None and spec.bin_labels is not None and (
                    len(spec.bin_labels) != len(spec.bins) + 1):
                err("bad-style", "bin_labels needs len(bins) + 1 labels", lyr.name, spec.column)
        for c in colours:
            if not COLOR_RE.fullmatch(str(c)):
                err("bad-colour", f"{c!r} is not a CSS colour", lyr.name)
    if problems:
        raise ValidationError(problems, header="Map layers are not usable")


def encode_layer(lyr: MapLayer, decimals: int, shift: Any) -> tuple[dict[str, Any], NDArray[np.float64], list[str]]:
    """Encode a layer: the page record, lon/lat boxes of the rows to frame, rows skipped.

    The boxes (``(n, 4)``: west, south, east, north) are those of the drawn rows inside
    the layer's ``fit_mask`` (all drawn rows without one).
    """
    import shapely

    gdf = lyr.gdf
    geoms = np.asarray(gdf.geometry.values)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    ok &= shapely.get_type_id(geoms) != 7  # geometry collections: not drawn, listed
    skipped = [str(i) for i in gdf.index[~ok]]
    if skipped:
        logger.warning("map layer %s: %d row(s) without geometry not drawn: %s",
                       lyr.name, len(skipped), ", ".join(skipped[:10]))
    geoms = geoms[ok]
    rows = gdf.loc[ok] if not ok.all() else gdf
    kind = lyr.kind if lyr.kind != "auto" else (infer_kind(geoms) if len(geoms) else "point")
    if kind is None:
        raise ValidationError([Problem("error", "mixed-geometry", "the layer mixes points, lines "
                                       "and polygons; split it or set kind", layer=lyr.name)])
    if len(geoms):
        geom, boxes = encode_geometry(geoms, kind, lonlat_transform(gdf), decimals, shift)
    else:
        geom = {"scale": 10 ** decimals, "c": "", "p": None, "r": None, "v": None}
        boxes = np.empty((0, 4))
    columns = list(dict.fromkeys([*lyr.tooltip, *lyr.popup, *lyr.search_fields,
                                  *([lyr.label] if lyr.label else [])]))
    index = {c: i for i, c in enumerate(columns)}
    fields = [encode_field(rows[c], lyr.formats.get(c)) for c in columns]
    specs = lyr.style_specs()
    styles = [style_option(s, rows[s.column], lyr) for s in specs] or [
        style_option(None, rows.geometry, lyr)]
    record = {
        "name": lyr.name, "kind": kind, "n": len(geoms), "show": bool(lyr.show),
        "interactive": bool(lyr.interactive),
        "geom": geom, "fields": fields,
        "tooltip": [[index[c], lab] for c, lab in lyr.tooltip.items()],
        "popup": [[index[c], lab] for c, lab in lyr.popup.items()],
        "search": [index[c] for c in lyr.search_fields],
        "label": index[lyr.label] if lyr.label else None,
        "styles": styles,
        "paint": {"weight": lyr.weight, "opacity": lyr.opacity, "fillOpacity": lyr.fill_opacity,
                  "radius": lyr.radius, "stroke": lyr.stroke},
    }
    if lyr.fit_mask is not None:
        boxes = boxes[np.asarray(lyr.fit_mask, dtype=bool)[ok]]
    return record, boxes, skipped


def _shift_for(bases: list[dict[str, Any]], gaode_shift: bool | None) -> Any:
    """Return the WGS84 → GCJ-02 conversion when data must be shifted, else None."""
    ids = [b["id"] for b in bases]
    if gaode_shift is None:
        gaode_shift = ids[0] in GCJ02_BASEMAPS
        if len({i in GCJ02_BASEMAPS for i in ids}) > 1:
            logger.warning("basemaps mix GCJ-02 and WGS84; data is drawn for the first (%s)",
                           ids[0])
    if not gaode_shift:
        return None
    from yulin_gis.crs import wgs84_to_gcj02

    return wgs84_to_gcj02


def robust_extent(boxes: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """``[west, south, east, north]`` of lon/lat boxes, ignoring far outliers.

    A box whose centre lies more than ``max(4 × the 90th percentile, 0.05°)`` from the
    median centre (a geocoder's mistake 1,500 km away) does not widen the view.
    """
    good = boxes[np.all(np.isfinite(boxes), axis=1)]
    if not len(good):
        return None
    if len(good) >= 4:
        cx, cy = (good[:, 0] + good[:, 2]) / 2, (good[:, 1] + good[:, 3]) / 2
        mx, my = float(np.median(cx)), float(np.median(cy))
        d = np.maximum(np.abs(cx - mx) * np.cos(np.radians(my)), np.abs(cy - my))
        good = good[d <= max(4 * float(np.quantile(d, 0.9)), 0.05)]
    return np.array([good[:, 0].min(), good[:, 1].min(), good[:, 2].max(), good[:, 3].max()])


def split_mixed(lyr: MapLayer) -> list[MapLayer]:
    """One layer per geometry kind when a layer mixes them (polygons keep the name).

    Points become ``"<name>（点位）"`` and lines ``"<name>（线）"``; a layer of one kind is
    returned as it is.
    """
    import shapely

    if lyr.kind != "auto" or not len(lyr.gdf):
        return [lyr]
    geoms = np.asarray(lyr.gdf.geometry.values)
    tid = shapely.get_type_id(geoms)
    drawable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & (tid != 7)
    if infer_kind(geoms[drawable]) is not None:
        return [lyr]
    out: list[MapLayer] = []
    mask = None if lyr.fit_mask is None else np.asarray(lyr.fit_mask, dtype=bool)
    kinds: tuple[tuple[Kind, tuple[int, ...], str], ...] = (
        ("polygon", (3, 6), ""), ("line", (1, 2, 5), "（线）"), ("point", (0, 4), "（点位）"))
    for kind, ids, suffix in kinds:
        sel = np.isin(tid, ids) | (~drawable if not out else False)
        if np.isin(tid, ids).any():
            out.append(replace(lyr, name=lyr.name + (suffix if out else ""), gdf=lyr.gdf[sel],
                               kind=kind, fit_mask=None if mask is None else mask[sel].tolist()))
    logger.info("map layer %s mixes geometry kinds: drawn as %s", lyr.name,
                ", ".join(o.name for o in out))
    return out
