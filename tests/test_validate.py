"""Validation of input layers: errors name file, layer, row and field; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Polygon, box

from yulin_gis.crs import wgs84_to_gcj02
from yulin_gis.errors import ValidationError
from yulin_gis.io import load_layers, validate_input


def codes(report) -> set[str]:
    return {p.code for p in report.problems}


def test_clean_geopackage_passes_and_is_projected(sample_gpkg: Path) -> None:
    layers, report = validate_input(sample_gpkg)
    assert report.ok, report.to_text()
    assert layers is not None
    assert layers.crs == "EPSG:4546"
    assert layers.compounds.crs.to_epsg() == 4546
    assert len(layers.compounds) == 4
    # community ids filled from the containing polygons (a documented repair)
    assert layers.compounds["community_id"].tolist() == [
        "450902001001", "450902001001", "450902001002", "450902001002"]
    assert "filled-from-community" in codes(report)


def test_missing_required_field_names_field_and_aliases(tmp_path: Path, compounds) -> None:
    path = tmp_path / "c.gpkg"
    compounds.drop(columns=["name"]).to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert layers is None
    [problem] = [p for p in report.errors if p.code == "missing-field"]
    assert problem.field == "name"
    assert "小区名称" in problem.message and "项目名称" in problem.message
    assert problem.file is not None and str(path) in problem.file
    assert problem.layer == "compounds"


def test_missing_households_column_is_estimated_or_to_verify(tmp_path: Path, compounds) -> None:
    """Unknown households are not an error: estimated from floor area, else 待核实."""
    path = tmp_path / "c.gpkg"
    frame = compounds.drop(columns=["households"])
    frame["floor_area_m2"] = [7000.0, None, None, None]
    frame["buildings"] = [None, 2, None, None]
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert [p.field for p in report.warnings if p.code == "missing-field"] == ["households"]
    comp = layers.compounds
    assert comp["households"].tolist()[:2] == [100, 48]  # 7000 m² ÷ 70; 2 buildings × 24
    assert comp["households_estimated"].tolist() == [True, True, False, False]
    assert comp["households"].isna().tolist()[2:] == [True, True]
    assert [r != "" for r in comp["verify_reason"]] == [False, False, True, True]


def test_chinese_header_table_is_read_with_warnings(tmp_path: Path, survey_table) -> None:
    path = tmp_path / "摸底调查表.xlsx"
    survey_table.to_excel(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers is not None
    out = layers.compounds.sort_values("compound_id")
    assert out["built_year"].tolist() == [1985, 1990, 1995, 2000]
    assert out["households"].tolist() == [100, 150, 200, 250]
    assert {"header-mapped", "value-mapped"} <= codes(report)


def test_gcj02_table_is_converted_to_true_position(tmp_path: Path, survey_table,
                                                    compounds) -> None:
    lon, lat = wgs84_to_gcj02(survey_table["经度"], survey_table["纬度"])
    table = survey_table.assign(经度=lon, 纬度=lat)
    path = tmp_path / "survey.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    layers, report = validate_input(path, input_crs="gcj02")
    assert report.ok, report.to_text()
    got = layers.compounds.to_crs(4546).geometry
    want = compounds.geometry.centroid.to_crs(4546)
    assert np.max(got.distance(want.reset_index(drop=True))) < 0.01
    # read as if WGS84, the same table is off by hundreds of metres
    layers2, _ = validate_input(path, input_crs="wgs84")
    off = layers2.compounds.to_crs(4546).geometry.distance(want.reset_index(drop=True))
    assert off.min() > 400


def test_table_without_crs_is_assumed_wgs84_with_a_warning(tmp_path: Path, survey_table) -> None:
    path = tmp_path / "survey.csv"
    survey_table.to_csv(path, index=False)
    layers, report = validate_input(path)
    assert layers is not None
    assert "assumed-crs" in codes(report)


@pytest.mark.parametrize("how", ["cpg", "ldid", "default"])
def test_gbk_shapefile(tmp_path: Path, compounds, how: str) -> None:
    frame = compounds.copy()
    frame["address"] = ["玉林市玉州区人民东路1号", "名山街道", "城北街道二环北路", "南江街道"]
    path = tmp_path / "小区.shp"
    frame.to_file(path, encoding="GBK")
    cpg = path.with_suffix(".cpg")
    if how != "cpg":
        cpg.unlink(missing_ok=True)
    if how == "ldid":
        raw = bytearray(path.with_suffix(".dbf").read_bytes())
        raw[29] = 0x4D  # GBK language driver id
        path.with_suffix(".dbf").write_bytes(bytes(raw))
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert layers.compounds["address"].tolist()[0] == "玉林市玉州区人民东路1号"
    assert layers.compounds["name"].tolist() == ["小区0", "小区1", "小区2", "小区3"]


def test_shapefile_missing_dbf_is_a_clear_error(tmp_path: Path, compounds) -> None:
    path = tmp_path / "compounds.shp"
    compounds.to_file(path)
    path.with_suffix(".dbf").unlink()
    layers, report = validate_input(path)
    assert layers is None
    assert any(".dbf" in p.message for p in report.errors)


def test_invalid_polygon_is_repaired_with_warning(tmp_path: Path, compounds) -> None:
    bowtie = Polygon([(110.15, 22.63), (110.151, 22.631), (110.151, 22.63), (110.15, 22.631)])
    frame = compounds.copy()
    frame.loc[1, "geometry"] = bowtie
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    [warning] = [p for p in report.warnings if p.code == "geometry-repaired"]
    assert warning.row == "C001" and warning.field == "geometry"
    assert layers.compounds.geometry.is_valid.all()
    assert len(layers.compounds) == 4


def test_duplicate_ids_after_trimming_are_errors(tmp_path: Path, compounds) -> None:
    frame = compounds.copy()
    frame.loc[3, "compound_id"] = " C001 "
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert layers is None
    [dup] = [p for p in report.errors if p.code == "duplicate-id"]
    assert dup.row == "C001" and "2, 4" in dup.message


def test_empty_layer_is_an_error(tmp_path: Path, compounds) -> None:
    path = tmp_path / "c.gpkg"
    compounds.iloc[:0].to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert layers is None
    assert "empty-layer" in codes(report)


def test_corrupted_file_is_an_error_not_a_crash(tmp_path: Path, sample_gpkg: Path) -> None:
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(sample_gpkg.read_bytes()[:3000])
    layers, report = validate_input(broken)
    assert layers is None
    assert any(str(broken) in (p.file or "") for p in report.errors)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{not json", encoding="utf-8")
    layers, report = validate_input(garbage)
    assert layers is None and not report.ok


def test_all_errors_collected_at_once(tmp_path: Path, compounds) -> None:
    frame = compounds.copy()
    frame["built_year"] = frame["built_year"].astype(object)
    frame.loc[0, "built_year"] = "很久以前"
    frame.loc[1, "households"] = -5
    frame.loc[2, "built_year"] = 2099
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    _, report = validate_input(path)
    found = {(p.code, p.row, p.field) for p in report.errors}
    assert ("bad-value", "C000", "built_year") in found
    assert ("future-year", "C002", "built_year") in found
    # households decide no eligibility: out of range degrades to unknown with a warning
    assert ("out-of-range", "C001", "households") in {(p.code, p.row, p.field)
                                                       for p in report.warnings}


def test_projected_coordinates_declared_as_lonlat(tmp_path: Path, compounds) -> None:
    frame = compounds.to_crs(4546).set_crs(4490, allow_override=True)
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert layers is None
    assert "coordinates-outside-crs" in codes(report)
    # the user's override fixes it
    layers, report = validate_input(path, input_crs="EPSG:4546")
    assert report.ok, report.to_text()


def test_swapped_lat_lon_columns(tmp_path: Path, survey_table) -> None:
    """A whole swapped column is diagnosed as swapped (经度/纬度可能互换) and swapped back."""
    swapped = survey_table.rename(columns={"经度": "纬度", "纬度": "经度"})
    path = tmp_path / "s.csv"
    swapped.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    [problem] = [p for p in report.warnings if p.code == "swapped-coordinates"]
    assert "经度/纬度可能互换" in problem.message and "swapped back" in problem.message
    assert "projected metres" not in report.to_text()
    pts = layers.compounds.to_crs(4326).geometry
    assert np.allclose(pts.x, survey_table["经度"].astype(float), atol=1e-6)
    assert np.allclose(pts.y, survey_table["纬度"].astype(float), atol=1e-6)


def test_lines_in_compound_layer_rejected(tmp_path: Path, compounds) -> None:
    frame = compounds.copy()
    frame.loc[0, "geometry"] = LineString([(110.15, 22.63), (110.16, 22.64)])
    path = tmp_path / "c.geojson"
    frame.to_file(path)
    _, report = validate_input(path)
    assert any(p.code == "geometry-type" and p.row == "C000" for p in report.errors)


def test_compound_outside_communities_warned(tmp_path: Path, compounds, communities) -> None:
    frame = compounds.copy()
    frame.loc[3, "geometry"] = box(110.30, 22.70, 110.301, 22.701)
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    communities.to_file(path, layer="communities")
    layers, report = validate_input(path)
    assert layers is not None and len(layers.compounds) == 4
    [warning] = [p for p in report.warnings if p.code == "outside-communities"]
    assert "C003" in warning.message


def test_unknown_columns_are_kept(tmp_path: Path, compounds) -> None:
    frame = compounds.assign(备注=["a", "b", "c", "d"])
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, _ = validate_input(path)
    assert layers.compounds["备注"].tolist() == ["a", "b", "c", "d"]


def test_json_report_and_load_layers_raise(tmp_path: Path, compounds) -> None:
    path = tmp_path / "c.gpkg"
    compounds.drop(columns=["name"]).to_file(path, layer="compounds")
    _, report = validate_input(path)
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["errors"] >= 1
    assert data["problems"][0]["field"] == "name"
    with pytest.raises(ValidationError, match="name"):
        load_layers(path)


def test_unknown_layer_in_geopackage_is_reported(sample_gpkg: Path) -> None:
    gpd.GeoDataFrame({"x": [1]}, geometry=[box(0, 0, 1, 1)], crs=4490).to_file(
        sample_gpkg, layer="misc")
    _, report = validate_input(sample_gpkg)
    assert any(p.code == "unknown-layer" and p.layer == "misc" for p in report.warnings)


def test_survey_table_joined_to_polygons(tmp_path: Path, survey_table, compounds) -> None:
    table = tmp_path / "s.xlsx"
    survey_table.iloc[:3].to_excel(table, index=False)  # C003 has no survey row
    polys = tmp_path / "polys.gpkg"
    compounds.iloc[1:][["compound_id", "geometry"]].to_file(polys, layer="compounds")
    layers, report = validate_input(table, input_crs="wgs84", polygons=polys)
    assert layers is not None
    types = dict(zip(layers.compounds["compound_id"], layers.compounds.geom_type, strict=True))
    assert types == {"C000": "Point", "C001": "Polygon", "C002": "Polygon"}
    assert {"no-polygon", "polygon-not-in-table"} <= codes(report)
    assert pd.Series(layers.compounds["compound_id"]).is_unique


def test_input_crs_per_layer(tmp_path: Path, survey_table, communities, compounds) -> None:
    # the survey table was picked on Gaode (GCJ-02); the communities are in CGCS2000
    lon, lat = wgs84_to_gcj02(survey_table["经度"], survey_table["纬度"])
    folder = tmp_path / "input"
    folder.mkdir()
    survey_table.assign(经度=lon, 纬度=lat).to_csv(folder / "compounds.csv", index=False)
    communities.to_file(folder / "communities.gpkg")
    layers, report = validate_input(folder, input_crs={"compounds": "gcj02", "*": "cgcs2000"})
    assert report.ok, report.to_text()
    got = layers.compounds.to_crs(4546).geometry
    want = compounds.geometry.centroid.to_crs(4546).reset_index(drop=True)
    assert np.max(got.distance(want)) < 0.01
    assert layers.communities.to_crs(4490).geom_equals_exact(
        communities.geometry, tolerance=1e-9).all()
    # every compound falls in its community only when each layer gets its own CRS
    assert layers.compounds["community_id"].notna().all()


def test_input_crs_unknown_layer_is_an_error(sample_gpkg: Path) -> None:
    layers, report = validate_input(sample_gpkg, input_crs={"parcels": "gcj02"})
    assert layers is None
    assert "unknown layer 'parcels'" in report.errors[0].message
