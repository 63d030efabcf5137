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
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yulin_gis.crs import STORAGE_CRS, gauss_kruger_epsg, parse_input_crs, to_storage_crs
from yulin_gis.errors import (
    ConservationError,
    CRSError,
    InputFileError,
    Problem,
    ValidationError,
)
from yulin_gis.io import _values as parse
from yulin_gis.io._coordinate_checks import (
    check_communities,
    check_dem_coverage,
    check_gcj02,
    link_communities,
)
from yulin_gis.io._layers import LAYER_NAMES, Layers
from yulin_gis.io._positions import (
    check_crs,
    check_outside_china,
    flag_positions,
    outside_counties,
    points_from_table,
)
from yulin_gis.io._postgis import mask_url
from yulin_gis.io._readers import (
    RawLayer,
    drop_blank_rows,
    drop_totals_rows,
    read_input,
    read_vector,
)
from yulin_gis.io._schema import LAYERS, LayerSpec, match_headers
from yulin_gis.io._unknowns import fill_unknowns
from yulin_gis.io._validate_fields import CLOSED_VOCABULARIES as CLOSED_VOCABULARIES
from yulin_gis.io._validate_fields import CRITICAL_FIELDS as CRITICAL_FIELDS
from yulin_gis.io._validate_fields import (
    VERIFY_WHEN_UNKNOWN,
    _Collector,
    _parse_field,
    plain_str,
)
from yulin_gis.io._validation_report import ValidationReport, capabilities, group_lines

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from yulin_gis.profile import Profile

__all__ = ["ValidationReport", "load_layers", "parse_layer_crs", "validate_input", "validate_layer"]

logger = logging.getLogger(__name__)

_GEOM_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "line": {"LineString", "MultiLineString"},
    "point": {"Point", "MultiPoint"},
    "polygon_or_point": {"Polygon", "MultiPolygon", "Point"},
}


def _id_values(frame: pd.DataFrame, spec: LayerSpec) -> list[str | None] | None:
    """The layer's ids read as text (:func:`~yulin_gis.io._values.parse_str`), or None."""
    if spec.id_field not in frame.columns:
        return None
    return [plain_str(v) or parse.parse_str(v)[0] for v in frame[spec.id_field].tolist()]


def _row_labels(frame: pd.DataFrame, ids: list[str | None] | None) -> list[str]:
    """Row ids for messages: the id value, else ``#n`` (1-based data row)."""
    if ids is None:
        return [f"#{i + 1}" for i in range(len(frame))]
    counts = Counter(ids)
    return [f"{v} (#{i + 1})" if v and counts[v] > 1 else (v or f"#{i + 1}")
            for i, v in enumerate(ids)]


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
        if name not in frame.columns and spec.name == "compounds" and name in VERIFY_WHEN_UNKNOWN:
            fs = spec.field(name)
            col.add("warning", "missing-field",
                    f"no {fs.label_zh} column ({name}; accepted headers: {', '.join(fs.aliases)})"
                    f": every compound is 待核实 unless it can be estimated", fld=name)
        elif name not in frame.columns:
            fs = spec.field(name)
            col.add("error", "missing-field",
                    f"required field {name!r} ({fs.label_zh}) is missing; accepted headers: "
                    f"{', '.join([fs.name, *fs.aliases])}; found: {', '.join(columns) or 'none'}",
                    fld=name)
    return frame


def _check_ids(ids: list[str | None] | None, spec: LayerSpec, col: _Collector) -> None:
    if ids is None:
        return
    seen: dict[str, list[int]] = defaultdict(list)
    for i, value in enumerate(ids):
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


def _coerce_columns(frame: pd.DataFrame, spec: LayerSpec, labels: list[str],
                    col: _Collector, aliases: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    import pandas as pd

    this_year = _dt.date.today().year
    out = frame.copy()
    for fs in spec.fields:
        if fs.name not in out.columns:
            continue
        parsed = _parse_field(out[fs.name], fs, labels, col, this_year,
                              aliases.get(fs.vocabulary or ""))
        if fs.name == "built_year":
            spans = [parse.parse_year_range(raw) or (v, v)
                     for raw, v in zip(out[fs.name], parsed, strict=True)]
            out["built_year_min"] = pd.array([a for a, _ in spans], dtype="Int64")
            out["built_year_max"] = pd.array([b for _, b in spans], dtype="Int64")
        dtype = {"int": "Int64", "year": "Int64", "float": "Float64", "ratio": "Float64",
                 "bool": "boolean"}.get(fs.kind, "string")
        out[fs.name] = pd.array(parsed, dtype=dtype)  # type: ignore[call-overload]
    return out


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


def validate_layer(raw: RawLayer, input_crs: str | None = None,
                   problems: list[Problem] | None = None, *,
                   profile: Profile | None = None) -> gpd.GeoDataFrame | None:
    """Validate one raw layer; return it canonical and in EPSG:4490, or None on errors.

    Parameters
    ----------
    raw
        The layer as read by :func:`yulin_gis.io._readers.read_input`.
    input_crs
        ``gcj02``, ``bd09`` or a CRS overriding the file's own.
    problems
        A list receiving every problem found.
    profile
        The policy profile (aliases, position thresholds, household rules of thumb);
        None loads the default.

    Compounds get ``verify_reason`` (待核实原因, "" when none), ``built_year_min`` /
    ``built_year_max`` (a decade's range) and ``households_estimated``.
    """
    from yulin_gis.profile import load_profile

    profile = profile or load_profile()
    rules = profile.inputs
    problems = problems if problems is not None else []
    spec = LAYERS[raw.name]
    col = _Collector(raw.source, raw.name, problems)
    n_before = len(problems)
    frame = _usable_rows(raw, col)
    if frame is None:
        return None
    frame = _check_headers(frame, spec, col)
    ids = _id_values(frame, spec)
    labels = _row_labels(frame, ids)
    _check_ids(ids, spec, col)
    frame = _coerce_columns(frame, spec, labels, col, rules.aliases)
    reasons = np.full(len(frame), "", dtype=object)
    gdf = (points_from_table(frame, labels, col, input_crs, rules, reasons) if raw.from_table
           else frame)
    if gdf is None:
        return None
    gdf = _check_geometry(gdf, spec, labels, col)
    gdf, source_crs = check_crs(gdf, input_crs, col)
    if any(p.severity == "error" for p in problems[n_before:]) or source_crs is None:
        return None
    out = to_storage_crs(gdf, source_crs).reset_index(drop=True)
    check_outside_china(out, labels, col)
    if any(p.severity == "error" for p in problems[n_before:]):
        return None
    if raw.name == "compounds":
        flag_positions(out, labels, col, rules, reasons)
        out = fill_unknowns(out, labels, col, profile, reasons)
    return out


def _usable_rows(raw: RawLayer, col: _Collector) -> pd.DataFrame | None:
    """The layer without blank rows and totals rows (合计), or None when nothing is left."""
    if len(raw.frame) == 0:
        col.add("error", "empty-layer", "layer has no rows")
        return None
    frame, dropped = drop_blank_rows(raw.frame)
    if dropped:
        col.add("warning", "blank-rows", f"{len(dropped)} blank row(s) without values or "
                f"geometry skipped (data rows {', '.join(map(str, dropped[:20]))})")
    frame, totals = drop_totals_rows(frame)
    if totals:
        col.add("warning", "totals-row", f"{len(totals)} totals row(s) (合计/总计/小计) are "
                f"not compounds and are skipped (data rows {', '.join(map(str, totals))})")
    if len(frame) == 0:
        col.add("error", "empty-layer", "layer has only blank rows")
        return None
    return frame


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
    frame, crs = check_crs(frame, input_crs if frame.crs is None else None, col)
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
                   analysis_crs: str | None = None, profile: Profile | str | Path | None = None,
                   ) -> tuple[Layers | None, ValidationReport]:
    """Read and validate an input; return the projected layers and the report.

    ``validate`` and ``run`` both call this, so they run the same checks; the report's
    ``can_run`` line says which commands the input can serve.

    Parameters
    ----------
    path
        GeoPackage, single compound layer, survey table or folder (see :mod:`yulin_gis.io._readers`).
    input_crs
        ``gcj02``, ``bd09``, ``wgs84`` or an EPSG code overriding the files' CRS, or a
        mapping layer name → CRS (see :func:`parse_layer_crs`).
    dem
        Optional DEM GeoTIFF.
    polygons
        Optional compound polygons joined by ``compound_id`` to a survey table.
    analysis_crs
        Metric CRS for analysis; default the CGCS2000 Gauss–Krüger zone of the data.
    profile
        Policy profile (or its path) with the ``[input]`` thresholds and ``[aliases]``;
        None loads the default.

    Returns
    -------
    layers, report
        ``layers`` is None when the report has errors.
    """
    from yulin_gis.profile import Profile, load_profile

    report = ValidationReport()
    report.can_run = capabilities(None)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    try:
        layer_crs = parse_layer_crs(input_crs)
        raws = read_input(path, report.problems)
    except (InputFileError, CRSError) as exc:
        report.problems.append(Problem("error", "unreadable-input", str(exc), mask_url(path)))
        return None, report
    if "compounds" not in raws:
        report.problems.append(Problem("error", "missing-layer", "no compounds layer (小区) "
                                       "found; name it 'compounds' or 小区", mask_url(path)))
    valid = _validate_layers(raws, layer_crs, polygons, prof, report)
    dem_path = _check_dem(dem, report.problems) if dem is not None else None
    if not report.ok or "compounds" not in valid:
        return None, report
    if layer_crs.get("compounds", layer_crs.get("*")) not in {"gcj02", "bd09"}:
        check_gcj02(valid["compounds"], valid.get("communities"), valid.get("roads"),
                    report.sources["compounds"], report.problems)
    if "counties" in valid:
        _flag_outside_counties(valid["compounds"], valid["counties"], report)
    reps = valid["compounds"].geometry.representative_point()
    cx, cy = float(reps.x.median()), float(reps.y.median())  # robust to a far outlier
    crs = analysis_crs or f"EPSG:{gauss_kruger_epsg(cx, cy)}"
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
    report.can_run = capabilities(layers)
    return layers, report


def _validate_layers(raws: Mapping[str, RawLayer], layer_crs: Mapping[str, str | None],
                     polygons: str | Path | None, prof: Profile,
                     report: ValidationReport) -> dict[str, gpd.GeoDataFrame]:
    """Validate each raw layer; check that no non-blank row was lost."""
    valid: dict[str, gpd.GeoDataFrame] = {}
    for name in LAYER_NAMES:
        if name not in raws:
            continue
        raw = raws[name]
        report.rows[name] = len(raw.frame)
        report.sources[name] = raw.source
        kept, blank = drop_blank_rows(raw.frame)
        report.blank_rows[name] = len(blank) + len(drop_totals_rows(kept)[1])
        parsed_crs = layer_crs.get(name, layer_crs.get("*"))
        try:
            layer = validate_layer(raw, parsed_crs, report.problems, profile=prof)
        except InputFileError as exc:
            report.problems.append(Problem("error", "unreadable-input", str(exc), raw.source))
            continue
        if layer is not None and len(layer) != report.rows[name] - report.blank_rows[name]:
            raise ConservationError(f"{raw.source}: {report.rows[name]} rows read, "
                                    f"{report.blank_rows[name]} blank or totals, but "
                                    f"{len(layer)} "
                                    "validated: rows were lost")
        if layer is not None and name == "compounds" and polygons is not None and raw.from_table:
            layer = _join_compound_polygons(layer, Path(polygons), parsed_crs, report.problems)
        if layer is not None:
            valid[name] = layer
    return valid


def _flag_outside_counties(compounds: gpd.GeoDataFrame, counties: gpd.GeoDataFrame,
                           report: ValidationReport) -> None:
    col = _Collector(report.sources["compounds"], "compounds", report.problems)
    reasons = compounds["verify_reason"].to_numpy(dtype=object).copy()
    outside_counties(compounds, counties, col, reasons)
    compounds["verify_reason"] = reasons


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
    for line in group_lines(report.warnings):
        logger.warning("%s", line)
    if layers is None:
        raise ValidationError(report.problems, header=f"Input {path} failed validation")
    return layers
