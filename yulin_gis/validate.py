"""Validation: turn raw layers into canonical, checked, projected layers.

Every problem is collected before anything is reported: errors (the run cannot go on)
and warnings (a documented repair, or information). Each problem names the file, the
layer, the row id and the field. Nothing is dropped silently.

Repairs made with a warning:

* headers matched through Chinese or English aliases (小区名称 → ``name``);
* values interpreted from text ("1998年" → 1998, "1,200" → 1200, 有/无 → True/False,
  灰口铸铁 → ``grey_cast_iron``);
* invalid geometries repaired with ``shapely.make_valid`` (polygonal part kept);
* GCJ-02 / BD-09 coordinates converted to CGCS2000 when declared with ``input_crs``;
* ``community_id``, ``street`` and ``county`` of a compound filled from the community
  polygon containing it when the survey left them blank (deterministic when communities
  overlap: the one sharing most area, then the smallest id);
* rows with no value and no geometry (blank rows below a table) dropped;
* a title or merged group-header row above a table's headers skipped.

Warnings without a repair: overlapping communities and gaps between them, compounds
that look like GCJ-02 declared as WGS84 (fix: ``--input-crs gcj02``), polygons under
1 m², a layer mixing polygons and points, a zero-length pipe segment (kept; the network
leaves it out of its graph and reports it).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis import parse
from yulin_gis.crosscheck import (
    check_communities,
    check_dem_coverage,
    check_gcj02,
    link_communities,
)
from yulin_gis.crs import (
    STORAGE_CRS,
    gauss_kruger_epsg,
    in_china,
    parse_input_crs,
    to_storage_crs,
    transformer,
)
from yulin_gis.errors import (
    ConservationError,
    CRSError,
    InputFileError,
    Problem,
    ValidationError,
)
from yulin_gis.io import RawLayer, drop_blank_rows, read_input, read_vector
from yulin_gis.layers import LAYER_NAMES, Layers
from yulin_gis.postgis import mask_url
from yulin_gis.schema import LAYERS, FieldSpec, LayerSpec, match_headers

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["ValidationReport", "load_layers", "parse_layer_crs", "validate_input", "validate_layer"]

logger = logging.getLogger(__name__)

_PARSERS = {
    "str": parse.parse_str, "int": parse.parse_int, "float": parse.parse_float,
    "bool": parse.parse_bool, "year": parse.parse_year, "ratio": parse.parse_ratio,
}
_GEOM_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "line": {"LineString", "MultiLineString"},
    "point": {"Point", "MultiPoint"},
    "polygon_or_point": {"Polygon", "MultiPolygon", "Point"},
}
_MAX_EXAMPLES = 5


@dataclass
class ValidationReport:
    """All problems found in one input, and the rows read per layer."""

    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    blank_rows: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a run."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Repairs and information; the run goes on."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def to_text(self) -> str:
        """A readable report, errors first."""
        lines = [f"{name}: {n} rows from {self.sources.get(name, '?')}"
                 for name, n in self.rows.items()]
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        lines += [f"  {p}" for p in self.errors + self.warnings]
        lines.append("OK" if self.ok else "FAILED: fix the errors above and run again")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON for scripts."""
        return json.dumps({
            "ok": self.ok, "rows": self.rows, "sources": self.sources,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }, ensure_ascii=False, indent=2)


class _Collector:
    """Collects problems for one layer, with the location filled in."""

    def __init__(self, source: str, layer: str, problems: list[Problem]) -> None:
        self.source, self.layer, self.problems = source, layer, problems

    def add(self, severity: str, code: str, message: str, row: object = None,
            fld: str | None = None) -> None:
        self.problems.append(Problem(severity, code, message, self.source, self.layer,  # type: ignore[arg-type]
                                     None if row is None else str(row), fld))


def _row_labels(frame: pd.DataFrame, spec: LayerSpec) -> list[str]:
    """Row ids for messages: the id value, else ``#n`` (1-based data row)."""
    if spec.id_field not in frame.columns:
        return [f"#{i + 1}" for i in range(len(frame))]
    values = [parse.parse_str(v)[0] for v in frame[spec.id_field]]
    counts: dict[str | None, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return [f"{v} (#{i + 1})" if v and counts[v] > 1 else (v or f"#{i + 1}")
            for i, v in enumerate(values)]


def _check_headers(frame: pd.DataFrame, spec: LayerSpec, col: _Collector) -> pd.DataFrame:
    columns = [str(c) for c in frame.columns if c != "geometry"]
    rename, ambiguous = match_headers(columns, spec)
    for msg in ambiguous:
        col.add("warning", "ambiguous-header", msg)
    if rename:
        col.add("warning", "header-mapped", "headers read as canonical fields: " + ", ".join(
            f"{original} → {canonical}" for original, canonical in rename.items()))
    frame = frame.rename(columns=rename)
    for name in spec.required_fields:
        if name not in frame.columns:
            fs = spec.field(name)
            col.add("error", "missing-field",
                    f"required field {name!r} ({fs.label_zh}) is missing; accepted headers: "
                    f"{', '.join([fs.name, *fs.aliases])}; found: {', '.join(columns) or 'none'}",
                    fld=name)
    return frame


def _check_ids(frame: pd.DataFrame, spec: LayerSpec, col: _Collector) -> None:
    if spec.id_field not in frame.columns:
        return
    seen: dict[str, list[int]] = defaultdict(list)
    for i, raw in enumerate(frame[spec.id_field]):
        value = parse.parse_str(raw)[0]
        if not value:
            col.add("error", "blank-id", f"{spec.id_field} is blank", row=f"#{i + 1}",
                    fld=spec.id_field)
        else:
            seen[value].append(i + 1)
    for value, rows in seen.items():
        if len(rows) > 1:
            col.add("error", "duplicate-id",
                    f"{spec.id_field} {value!r} appears {len(rows)} times (data rows "
                    f"{', '.join(map(str, rows))}); ids must be unique after trimming spaces",
                    row=value, fld=spec.id_field)


def _parse_field(values: pd.Series, fs: FieldSpec, labels: list[str], col: _Collector,
                 this_year: int) -> list[Any]:
    parser = _PARSERS.get(fs.kind)
    parsed: list[Any] = []
    mapped: list[str] = []
    for label, raw in zip(labels, values, strict=True):
        value: Any
        if fs.kind == "category":
            value, note = parse.parse_category(raw, fs.vocabulary or "")
        else:
            assert parser is not None
            value, note = parser(raw)
        if note == "invalid":
            expected = f"one of {', '.join(parse.VOCABULARIES[fs.vocabulary])}" if (
                fs.vocabulary) else f"a {fs.kind}"
            col.add("error", "bad-value", f"cannot read {raw!r} as {expected}", label, fs.name)
        elif value is None and fs.required:
            col.add("error", "missing-value", "required value is blank", label, fs.name)
        elif note == "mapped":
            mapped.append(f"{label}: {raw!r} → {value!r}")
        if value is not None and note != "invalid":
            _check_range(value, fs, label, col, this_year)
        parsed.append(value)
    if mapped:
        more = f" (+{len(mapped) - _MAX_EXAMPLES} more)" if len(mapped) > _MAX_EXAMPLES else ""
        col.add("warning", "value-mapped",
                f"{len(mapped)} value(s) interpreted from text: "
                f"{'; '.join(mapped[:_MAX_EXAMPLES])}{more}", fld=fs.name)
    return parsed


def _check_range(value: Any, fs: FieldSpec, label: str, col: _Collector, this_year: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if fs.kind == "year" and value > this_year:
        col.add("error", "future-year", f"year {value} is in the future", label, fs.name)
    elif fs.minimum is not None and value < fs.minimum:
        col.add("error", "out-of-range", f"{value} is below the minimum {fs.minimum:g}",
                label, fs.name)
    elif fs.maximum is not None and value > fs.maximum:
        col.add("error", "out-of-range", f"{value} is above the maximum {fs.maximum:g}",
                label, fs.name)
    elif fs.kind == "ratio" and not 0.0 <= value <= 1.0:
        col.add("error", "out-of-range", f"share {value} is outside 0–1", label, fs.name)


def _coerce_columns(frame: pd.DataFrame, spec: LayerSpec, labels: list[str],
                    col: _Collector) -> pd.DataFrame:
    import pandas as pd

    this_year = _dt.date.today().year
    out = frame.copy()
    for fs in spec.fields:
        if fs.name not in out.columns:
            continue
        parsed = _parse_field(out[fs.name], fs, labels, col, this_year)
        dtype = {"int": "Int64", "year": "Int64", "float": "Float64", "ratio": "Float64",
                 "bool": "boolean"}.get(fs.kind, "string")
        out[fs.name] = pd.array(parsed, dtype=dtype)  # type: ignore[call-overload]
    return out


def _points_from_table(frame: pd.DataFrame, labels: list[str], col: _Collector,
                       input_crs: str | None) -> gpd.GeoDataFrame | None:
    import geopandas as gpd

    lon = frame.get("lon")
    lat = frame.get("lat")
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
    crs = input_crs
    if crs is None:
        col.add("warning", "assumed-crs", "no --input-crs given: lon/lat read as WGS84; pass "
                "--input-crs gcj02 (Gaode/Tencent) or bd09 (Baidu) if picked on those maps")
        crs = "EPSG:4326"
    import shapely

    geometry = np.asarray(shapely.points(np.where(ok, x, 0.0), np.where(ok, y, 0.0)),
                          dtype=object)
    geometry[~ok] = None
    return gpd.GeoDataFrame(frame, geometry=geometry,
                            crs=None if crs in {"gcj02", "bd09"} else crs)


def _check_geometry(gdf: gpd.GeoDataFrame, spec: LayerSpec, labels: list[str],
                    col: _Collector) -> gpd.GeoDataFrame:
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    allowed = _GEOM_TYPES[spec.geometry]
    no_xy = {p.row for p in col.problems if p.code == "missing-coordinates"
             and p.layer == col.layer and p.file == col.source}
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            if labels[i] not in no_xy:
                col.add("error", "empty-geometry", "geometry is null or empty", labels[i],
                        "geometry")
            continue
        if geom.geom_type not in allowed:
            col.add("error", "geometry-type", f"{geom.geom_type} where {spec.geometry.replace('_', ' or ')} "
                    "is expected", labels[i], "geometry")
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            if spec.geometry == "line" and geom.length == 0:
                col.add("warning", "zero-length", "zero-length segment (both ends at one "
                        "point): kept, left out of the network graph", labels[i], "geometry")
                continue
            repaired = shapely.make_valid(geom)
            parts: list[Any] = []
            if geom.geom_type in {"Polygon", "MultiPolygon"}:
                parts = [g for g in getattr(repaired, "geoms", [repaired])
                         if g.geom_type in {"Polygon", "MultiPolygon"}]
                repaired = shapely.union_all(parts) if parts else repaired
            if geom.geom_type in {"Polygon", "MultiPolygon"} and not parts:
                col.add("error", "zero-area", f"polygon has no area ({reason}; its points "
                        "lie on one line): redraw it", labels[i], "geometry")
                continue
            if repaired.is_empty or repaired.geom_type not in allowed:
                col.add("error", "invalid-geometry", f"invalid geometry ({reason}) cannot be "
                        "repaired", labels[i], "geometry")
                continue
            geoms[i] = repaired
            col.add("warning", "geometry-repaired", f"invalid geometry ({reason}) repaired "
                    "with make_valid", labels[i], "geometry")
    kinds = {g.geom_type.replace("Multi", "") for g in geoms if g is not None and not g.is_empty}
    if len(kinds) > 1 and kinds <= {"Polygon", "Point"}:
        col.add("warning", "mixed-geometry", f"the layer mixes {' and '.join(sorted(kinds))} "
                "geometries; points get no area-based measures", fld="geometry")
    out = gdf.copy()
    out.geometry = geoms
    return out


def _check_position(gdf: gpd.GeoDataFrame, labels: list[str], col: _Collector) -> None:
    """Rows in EPSG:4490 whose position is outside China (0,0 typos, foreign CRS)."""
    import shapely

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    outside = np.isfinite(x) & ~in_china(np.nan_to_num(x), np.nan_to_num(y))
    for i in np.flatnonzero(outside)[:50]:
        col.add("error", "outside-china", f"position {x[i]:.4f}, {y[i]:.4f} (lon, lat) is "
                "outside China: a typo, 0/0 placeholder or wrong --input-crs?", labels[i],
                "geometry")


def _check_crs(gdf: gpd.GeoDataFrame, input_crs: str | None, col: _Collector) -> str | None:
    """Return the CRS to convert from, or None (error recorded)."""
    if input_crs in {"gcj02", "bd09"}:
        return input_crs
    crs = input_crs or (gdf.crs.to_string() if gdf.crs is not None else None)
    if crs is None:
        col.add("error", "no-crs", "layer has no coordinate reference system (.prj missing, or SRID "
                "0 in PostGIS?); pass --input-crs")
        return None
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    valid = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if valid.empty:
        return crs
    minx, miny, maxx, maxy = valid.total_bounds
    if parsed.is_geographic:
        if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
            col.add("error", "coordinates-outside-crs",
                    f"coordinates ({minx:.0f}–{maxx:.0f}, {miny:.0f}–{maxy:.0f}) cannot be "
                    f"lon/lat in {crs}: projected metres declared as degrees? pass the right "
                    "--input-crs (e.g. EPSG:4546)")
            return None
        if minx >= 0.8 and maxx <= 56 and miny >= 72 and maxy <= 138:
            col.add("error", "swapped-coordinates", "x looks like latitude and y like "
                    "longitude: lat/lon columns swapped?")
            return None
    elif parsed.area_of_use is not None:
        t = transformer(parsed, "EPSG:4326")
        lon, lat = t.transform([minx, maxx], [miny, maxy])
        w, s, e, n = parsed.area_of_use.bounds
        if not all(np.isfinite([*lon, *lat])) or min(lon) < w - 5 or max(lon) > e + 5 or (
                min(lat) < s - 5 or max(lat) > n + 5):
            col.add("error", "coordinates-outside-crs",
                    f"coordinates fall outside the area where {crs} is used "
                    f"({parsed.name}); wrong CRS declared?")
            return None
    return crs


def validate_layer(raw: RawLayer, input_crs: str | None = None,
                   problems: list[Problem] | None = None) -> gpd.GeoDataFrame | None:
    """Validate one raw layer; return it canonical and in EPSG:4490, or None on errors.

    Parameters
    ----------
    raw
        The layer as read by :func:`yulin_gis.io.read_input`.
    input_crs
        ``gcj02``, ``bd09`` or a CRS overriding the file's own.
    problems
        A list receiving every problem found.
    """
    problems = problems if problems is not None else []
    spec = LAYERS[raw.name]
    col = _Collector(raw.source, raw.name, problems)
    n_before = len(problems)
    if len(raw.frame) == 0:
        col.add("error", "empty-layer", "layer has no rows")
        return None
    frame, dropped = drop_blank_rows(raw.frame)
    if dropped:
        col.add("warning", "blank-rows", f"{len(dropped)} blank row(s) without values or "
                f"geometry skipped (data rows {', '.join(map(str, dropped[:20]))})")
    if len(frame) == 0:
        col.add("error", "empty-layer", "layer has only blank rows")
        return None
    frame = _check_headers(frame, spec, col)
    labels = _row_labels(frame, spec)
    _check_ids(frame, spec, col)
    frame = _coerce_columns(frame, spec, labels, col)
    gdf = _points_from_table(frame, labels, col, input_crs) if raw.from_table else frame
    if gdf is None:
        return None
    gdf = _check_geometry(gdf, spec, labels, col)
    source_crs = _check_crs(gdf, input_crs, col)
    if any(p.severity == "error" for p in problems[n_before:]) or source_crs is None:
        return None
    out = to_storage_crs(gdf, source_crs).reset_index(drop=True)
    _check_position(out, labels, col)
    if any(p.severity == "error" for p in problems[n_before:]):
        return None
    return out


def _join_compound_polygons(table: gpd.GeoDataFrame, polygons_path: Path,
                            input_crs: str | None, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Give survey-table rows the polygon with the same ``compound_id``."""
    raw = RawLayer("compounds", read_vector(polygons_path), str(polygons_path))
    col = _Collector(raw.source, "compounds", problems)
    rename, _ = match_headers([str(c) for c in raw.frame.columns], LAYERS["compounds"])
    frame = raw.frame.rename(columns=rename)
    if "compound_id" not in frame.columns:
        col.add("error", "missing-field", "compound polygons need a compound_id (小区编号) "
                "to join the survey table", fld="compound_id")
        return table
    frame = frame[["compound_id", "geometry"]].copy()
    frame["compound_id"] = [parse.parse_str(v)[0] for v in frame["compound_id"]]
    dupes = sorted({str(v) for v in frame.loc[frame["compound_id"].duplicated(), "compound_id"]})
    if dupes:
        col.add("warning", "duplicate-polygon", f"{len(dupes)} compound_id(s) have several "
                f"polygons; the first is used: {', '.join(dupes[:20])}", fld="compound_id")
    crs = _check_crs(frame, input_crs if frame.crs is None else None, col)
    if crs is None:
        return table
    polys = to_storage_crs(frame, crs).drop_duplicates("compound_id").set_index("compound_id")
    ids = table["compound_id"].astype(object)
    matched = ids.isin(polys.index)
    table = table.copy()
    table.loc[matched, "geometry"] = polys.geometry.reindex(ids[matched]).to_numpy()
    if (~matched).any():
        col.add("warning", "no-polygon", f"{int((~matched).sum())} survey row(s) have no "
                f"polygon and keep their lon/lat point: {', '.join(ids[~matched].astype(str)[:20])}")
    unused = sorted(set(polys.index) - set(ids))
    if unused:
        col.add("warning", "polygon-not-in-table", f"{len(unused)} polygon(s) have no survey "
                f"row and are not used: {', '.join(map(str, unused[:20]))}")
    return table


def _check_dem(dem: str | Path, problems: list[Problem]) -> Path | None:
    path = Path(dem)
    try:
        import rasterio

        with rasterio.open(path) as src:
            if src.crs is None:
                problems.append(Problem("error", "no-crs", "DEM has no CRS", str(path), "dem"))
                return None
    except Exception as exc:
        problems.append(Problem("error", "unreadable-file", f"cannot read DEM ({exc})",
                                str(path), "dem"))
        return None
    return path


def parse_layer_crs(input_crs: str | Mapping[str, str] | None) -> dict[str, str | None]:
    """Normalise ``input_crs`` to ``{layer name or "*": crs}``.

    A single value applies to every layer (``"*"``); a mapping such as
    ``{"compounds": "gcj02"}`` declares the CRS of single layers (``"*"`` for the rest),
    e.g. a survey table picked on Gaode beside boundaries already in CGCS2000.

    Raises
    ------
    CRSError
        An unknown CRS or layer name.
    """
    if input_crs is None or isinstance(input_crs, str):
        return {"*": parse_input_crs(input_crs)}
    out: dict[str, str | None] = {}
    for name, value in input_crs.items():
        if name != "*" and name not in LAYERS:
            raise CRSError(f"--input-crs names an unknown layer {name!r}; layers: "
                           f"{', '.join(LAYER_NAMES)}")
        out[name] = parse_input_crs(value)
    return out


def validate_input(path: str | Path, *, input_crs: str | Mapping[str, str] | None = None,
                   dem: str | Path | None = None, polygons: str | Path | None = None,
                   analysis_crs: str | None = None) -> tuple[Layers | None, ValidationReport]:
    """Read and validate an input; return the projected layers and the report.

    Parameters
    ----------
    path
        GeoPackage, single compound layer, survey table or folder (see :mod:`yulin_gis.io`).
    input_crs
        ``gcj02``, ``bd09``, ``wgs84`` or an EPSG code overriding the files' CRS, or a
        mapping layer name → CRS (see :func:`parse_layer_crs`).
    dem
        Optional DEM GeoTIFF.
    polygons
        Optional compound polygons joined by ``compound_id`` to a survey table.
    analysis_crs
        Metric CRS for analysis; default the CGCS2000 Gauss–Krüger zone of the data.

    Returns
    -------
    layers, report
        ``layers`` is None when the report has errors.
    """
    report = ValidationReport()
    try:
        layer_crs = parse_layer_crs(input_crs)
        raws = read_input(path, report.problems)
    except (InputFileError, CRSError) as exc:
        report.problems.append(Problem("error", "unreadable-input", str(exc), mask_url(path)))
        return None, report
    if "compounds" not in raws:
        report.problems.append(Problem("error", "missing-layer", "no compounds layer (小区) "
                                       "found; name it 'compounds' or 小区", mask_url(path)))
    valid: dict[str, gpd.GeoDataFrame] = {}
    for name in LAYER_NAMES:
        if name not in raws:
            continue
        raw = raws[name]
        report.rows[name] = len(raw.frame)
        report.sources[name] = raw.source
        report.blank_rows[name] = len(drop_blank_rows(raw.frame)[1])
        parsed_crs = layer_crs.get(name, layer_crs.get("*"))
        try:
            layer = validate_layer(raw, parsed_crs, report.problems)
        except InputFileError as exc:
            report.problems.append(Problem("error", "unreadable-input", str(exc), raw.source))
            continue
        if layer is not None and len(layer) != report.rows[name] - report.blank_rows[name]:
            raise ConservationError(f"{raw.source}: {report.rows[name]} rows read, "
                                    f"{report.blank_rows[name]} blank, but {len(layer)} "
                                    "validated: rows were lost")
        if layer is not None and name == "compounds" and polygons is not None and raw.from_table:
            layer = _join_compound_polygons(layer, Path(polygons), parsed_crs, report.problems)
        if layer is not None:
            valid[name] = layer
    dem_path = _check_dem(dem, report.problems) if dem is not None else None
    if not report.ok or "compounds" not in valid:
        return None, report
    if layer_crs.get("compounds", layer_crs.get("*")) not in {"gcj02", "bd09"}:
        check_gcj02(valid["compounds"], valid.get("communities"), valid.get("roads"),
                    report.sources["compounds"], report.problems)
    centre = valid["compounds"].geometry.union_all().centroid
    crs = analysis_crs or f"EPSG:{gauss_kruger_epsg(centre.x, centre.y)}"
    layers = Layers(**valid, dem_path=dem_path, crs=STORAGE_CRS, sources=report.sources)
    layers = layers.to_crs(crs)
    _check_small_polygons(layers.compounds, report)
    if dem_path is not None:
        check_dem_coverage(dem_path, layers.compounds, report.sources["compounds"],
                           report.problems)
    if layers.communities is not None:
        check_communities(layers.communities, report.sources["communities"], report.problems)
        layers.compounds = link_communities(layers.compounds, layers.communities,
                                            report.sources["compounds"], report.problems)
    return layers, report


def _check_small_polygons(compounds: gpd.GeoDataFrame, report: ValidationReport,
                          min_area_m2: float = 1.0) -> None:
    """Warn about compound polygons under ``min_area_m2`` (slivers; metric CRS)."""
    polygonal = compounds.geom_type.isin(["Polygon", "MultiPolygon"])
    tiny = polygonal & (compounds.geometry.area < min_area_m2)
    for cid in compounds.loc[tiny, "compound_id"].astype(str).head(50):
        report.problems.append(Problem("warning", "sliver", f"polygon is under {min_area_m2:g} "
                                       "m²: a sliver or a unit mistake?",
                                       report.sources.get("compounds"), "compounds", cid,
                                       "geometry"))


def load_layers(path: str | Path, **kwargs: Any) -> Layers:
    """Like :func:`validate_input` but raise :class:`ValidationError` on errors.

    Warnings are logged.
    """
    layers, report = validate_input(path, **kwargs)
    for problem in report.warnings:
        logger.warning("%s", problem)
    if layers is None:
        raise ValidationError(report.problems, header=f"Input {path} failed validation")
    return layers
