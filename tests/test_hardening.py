"""Hardening: bad input, faults and hostile text (the catalogue in docs/HARDENING.md).

Each test is one catalogue case (``H..`` in its docstring) and asserts the specific
outcome: an error naming file, layer, row and field, or a documented repair with a
warning. Cases already covered elsewhere are listed in the catalogue with their test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from shapely.geometry import LineString, Point, Polygon, box

from yulin_gis.cli.main import cli
from yulin_gis.crs import convert_geometries, wgs84_to_gcj02
from yulin_gis.errors import ConservationError, OutputError, ValidationError
from yulin_gis.io import validate_input
from yulin_gis.pipeline import run

X0, Y0 = 110.150, 22.630


def found(report, code: str, severity: str | None = None) -> list:
    return [p for p in report.problems if p.code == code
            and (severity is None or p.severity == severity)]


def gpkg(path: Path, **layers: gpd.GeoDataFrame) -> Path:
    for name, frame in layers.items():
        frame.to_file(path, layer=name)
    return path


def survey_frame(**columns: list) -> pd.DataFrame:
    base = {"小区编号": ["C1", "C2", "C3"], "小区名称": ["甲小区", "乙小区", "丙小区"],
            "建成年代": [1990, 1995, 1998], "户数": [120, 300, 80],
            "经度": [X0, X0 + 0.002, X0 + 0.004], "纬度": [Y0, Y0, Y0]}
    base.update(columns)
    return pd.DataFrame(base)


# --- readers: files ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("plan.docx", b"PK\x03\x04not a gis file", "unknown file type '.docx'"),
    ("input.gpkg", b"hello, I am text", "not a readable GeoPackage"),
    ("compounds.xlsx", b"hello, I am text", "cannot be read as a table"),
    ("compounds.xls", b"\xd0\xcf\x11\xe0 old excel", "save it as .xlsx or CSV"),
])
def test_wrong_file_type_is_one_clear_error(tmp_path: Path, name: str, content: bytes,
                                            expected: str) -> None:
    """H01–H03: wrong file types (and H03b: old .xls)."""
    path = tmp_path / name
    path.write_bytes(content)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert error.code == "unreadable-input" and error.file == str(path)
    assert expected in error.message


def test_shapefile_missing_shx(tmp_path: Path, compounds) -> None:
    """H05: shapefile without .shx."""
    path = tmp_path / "compounds.shp"
    compounds.to_file(path)
    path.with_suffix(".shx").unlink()
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert "missing .shx" in error.message and str(path) in error.message


def test_shapefile_missing_prj_needs_input_crs(tmp_path: Path, compounds) -> None:
    """H07: shapefile without .prj: error naming the layer, fixed by --input-crs."""
    path = tmp_path / "compounds.shp"
    compounds.to_file(path)
    path.with_suffix(".prj").unlink()
    layers, report = validate_input(path)
    assert layers is None
    [error] = found(report, "no-crs")
    assert error.layer == "compounds" and error.file == str(path)
    assert "--input-crs" in error.message
    layers, report = validate_input(path, input_crs="cgcs2000")
    assert report.ok and len(layers.compounds) == 4


def test_folder_without_layer_files(tmp_path: Path) -> None:
    """H08: a folder holding no file named after a layer."""
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    layers, report = validate_input(tmp_path)
    assert layers is None
    [error] = report.errors
    assert "no layer files" in error.message
    assert any(p.code == "unknown-layer" and "notes.csv" in (p.file or "")
               for p in report.warnings)


def test_geopackage_without_compounds_layer(tmp_path: Path, communities) -> None:
    """H09: no compounds layer."""
    path = gpkg(tmp_path / "in.gpkg", communities=communities)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert error.code == "missing-layer" and "小区" in error.message


# --- geometry ------------------------------------------------------------------------------


def test_mixed_polygons_and_points_warned(tmp_path: Path, compounds) -> None:
    """H10: a compound layer mixing polygons and points is kept with a warning."""
    frame = compounds.copy()
    frame.loc[2, "geometry"] = Point(X0 + 0.0045, Y0 + 0.0005)
    path = tmp_path / "c.geojson"
    frame.to_file(path)
    layers, report = validate_input(path)
    assert report.ok and len(layers.compounds) == 4
    [warning] = found(report, "mixed-geometry")
    assert "Point and Polygon" in warning.message and warning.field == "geometry"


@pytest.mark.parametrize("geometry", [None, Polygon()], ids=["null", "empty"])
def test_null_and_empty_geometry_named(tmp_path: Path, compounds, geometry) -> None:
    """H11: null and empty geometries are errors naming the row."""
    frame = compounds.copy()
    frame.loc[1, "geometry"] = geometry
    path = tmp_path / "c.geojson"
    frame.to_file(path)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.row, error.field, error.layer) == (
        "empty-geometry", "C001", "geometry", "compounds")


def test_zero_area_polygon_is_an_error(tmp_path: Path, compounds) -> None:
    """H13: a polygon whose points lie on one line."""
    frame = compounds.copy()
    frame.loc[2, "geometry"] = Polygon([(X0, Y0), (X0 + 0.001, Y0), (X0 + 0.002, Y0)])
    path = gpkg(tmp_path / "c.gpkg", compounds=frame)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.row, error.field) == ("zero-area", "C002", "geometry")


def test_sliver_polygon_warned(tmp_path: Path, compounds) -> None:
    """H14: a valid polygon a few millimetres wide is kept with a warning."""
    frame = compounds.copy()
    frame.loc[3, "geometry"] = box(X0 + 0.006, Y0, X0 + 0.006 + 1e-8, Y0 + 0.001)
    path = gpkg(tmp_path / "c.gpkg", compounds=frame)
    layers, report = validate_input(path)
    assert report.ok and len(layers.compounds) == 4
    [warning] = found(report, "sliver")
    assert warning.row == "C003"


def test_null_island_position_is_an_error(tmp_path: Path, compounds) -> None:
    """H17: coordinates at 0/0 (a placeholder) are outside China."""
    frame = compounds.copy()
    frame.loc[0, "geometry"] = box(0, 0, 0.001, 0.001)
    path = gpkg(tmp_path / "c.gpkg", compounds=frame)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.row, error.field) == ("outside-china", "C000", "geometry")


def _gcj_case() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Ten compounds snug inside five small communities, a road along their edges."""
    comms = gpd.GeoDataFrame(
        {"community_id": [f"K{i}" for i in range(5)], "name": list("abcde"),
         "street": ["玉城街道"] * 5, "county": ["玉州区"] * 5},
        geometry=[box(X0 + i * 0.004, Y0, X0 + i * 0.004 + 0.003, Y0 + 0.003) for i in range(5)],
        crs=4490)
    comp = gpd.GeoDataFrame(
        {"compound_id": [f"C{i}" for i in range(10)], "name": [f"小区{i}" for i in range(10)],
         "built_year": [1990] * 10, "households": [100] * 10},
        geometry=[box(X0 + (i // 2) * 0.004 + 0.0005 + (i % 2) * 0.0012, Y0 + 0.001,
                      X0 + (i // 2) * 0.004 + 0.0015 + (i % 2) * 0.0012, Y0 + 0.002)
                  for i in range(10)], crs=4490)
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1", "R2"], "name": ["人民路", "教育路"], "road_class": ["branch"] * 2},
        geometry=[LineString([(X0 - 0.001, Y0 - 0.0002), (X0 + 0.02, Y0 - 0.0002)]),
                  LineString([(X0 - 0.001, Y0 + 0.0032), (X0 + 0.02, Y0 + 0.0032)])], crs=4490)
    return comp, comms, roads


def test_gcj02_declared_wgs84_detected_against_boundaries(tmp_path: Path) -> None:
    """H18: GCJ-02 compounds declared WGS84 → a warning naming --input-crs gcj02."""
    comp, comms, roads = _gcj_case()
    good = gpkg(tmp_path / "good.gpkg", compounds=comp, communities=comms, roads=roads)
    _, report = validate_input(good)
    assert report.ok and not found(report, "likely-gcj02")
    shifted = convert_geometries(comp, wgs84_to_gcj02)
    bad = gpkg(tmp_path / "gcj.gpkg", compounds=shifted, communities=comms)
    layers, report = validate_input(bad)
    assert layers is not None, "a warning, not an error"
    [warning] = found(report, "likely-gcj02")
    assert "--input-crs gcj02" in warning.message and warning.layer == "compounds"
    # against roads only (no communities) as well
    # (the GCJ-02 shift at Yulin is about +0.0045° lon, -0.0028° lat: the road runs
    # through the shifted compounds and clear of the true ones)
    through = LineString([(X0 - 0.001, Y0 - 0.00125), (X0 + 0.03, Y0 - 0.00125)])
    roads_only = gpkg(tmp_path / "gcj_roads.gpkg", compounds=shifted,
                      roads=roads.assign(geometry=[through, through]))
    _, report = validate_input(roads_only)
    assert found(report, "likely-gcj02")
    # declared as GCJ-02 (here: every layer), no warning is given
    layers, report = validate_input(bad, input_crs="gcj02")
    assert layers is not None and not found(report, "likely-gcj02")


def test_gcj02_detected_on_the_synthetic_city(small_city, tmp_path: Path) -> None:
    """H18b: the same on a whole synthetic city (communities tile the city, so the roads
    tell): no warning for the true data, a warning for its compounds in GCJ-02."""
    import shutil

    copy = tmp_path / "city.gpkg"
    shutil.copy(small_city["gpkg"], copy)
    _, report = validate_input(copy)
    assert not found(report, "likely-gcj02")
    comp = gpd.read_file(copy, layer="compounds")
    convert_geometries(comp, wgs84_to_gcj02).to_file(copy, layer="compounds")
    layers, report = validate_input(copy)
    assert layers is not None and len(layers.compounds) == len(comp)
    [warning] = found(report, "likely-gcj02")
    assert "--input-crs gcj02" in warning.message


# --- values --------------------------------------------------------------------------------


def test_chinese_years_and_thousands_separators(tmp_path: Path) -> None:
    """H19, H20: years as Chinese text and households with separators are read, warned."""
    table = survey_frame(建成年代=["1998年", "九十年代", "一九八八年"],
                         户数=["1,200", "1，300", "12,000户"])
    path = tmp_path / "survey.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    out = layers.compounds.set_index("compound_id")
    assert out["built_year"].tolist() == [1998, 1995, 1988]
    assert out["households"].tolist() == [1200, 1300, 12000]
    fields = {p.field for p in found(report, "value-mapped")}
    assert {"built_year", "households"} <= fields


def test_blank_id_named_by_row_number(tmp_path: Path, compounds) -> None:
    """H21: a blank id is an error naming the 1-based data row."""
    frame = compounds.copy()
    frame["compound_id"] = frame["compound_id"].astype(object)
    frame.loc[2, "compound_id"] = "   "
    path = gpkg(tmp_path / "c.gpkg", compounds=frame)
    layers, report = validate_input(path)
    assert layers is None
    [blank] = found(report, "blank-id")
    assert (blank.row, blank.field) == ("#3", "compound_id")


def test_nan_inf_and_negative_values(tmp_path: Path, compounds) -> None:
    """H22: NaN, inf and negative numbers in descriptive fields degrade to NULL with a
    warning per cell; an unknown household count makes the compound 待核实."""
    frame = compounds.copy()
    frame["households"] = [np.nan, 120.0, 130.0, 140.0]
    frame["floor_area_m2"] = pd.Series([1000.0, "inf", -3.0, 1e5], dtype=object)
    path = tmp_path / "c.geojson"
    frame.to_file(path)
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    got = {(p.code, p.row, p.field) for p in report.warnings if p.row}
    assert {("bad-value", "C001", "floor_area_m2"), ("out-of-range", "C002", "floor_area_m2"),
            ("households-estimated", "C000", "households")} <= got
    comp = layers.compounds
    assert comp["floor_area_m2"].isna().tolist() == [False, True, True, False]
    assert comp["households"].tolist()[0] == round(1000.0 / 70.0)
    assert comp["households_estimated"].tolist() == [True, False, False, False]


def test_scientific_notation_is_a_number(tmp_path: Path) -> None:
    """H24: "1.2e4" typed in a table is read as 12000."""
    table = survey_frame(建筑面积=["1.2e4", "3E3", "800"])
    path = tmp_path / "survey.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers.compounds["floor_area_m2"].tolist() == [12000.0, 3000.0, 800.0]


@pytest.mark.parametrize(("layer", "fld", "value", "accepted"), [
    ("compounds", "housing_type", "宫殿", "reform, fundraised"),
    ("roads", "road_class", "高速公路", "arterial, secondary, branch, internal"),
    ("utilities", "utility", "蒸汽", "water_supply, storm"),
])
def test_unmappable_category_names_accepted_values(tmp_path: Path, compounds, layer: str,
                                                   fld: str, value: str, accepted: str) -> None:
    """H23: an unknown spelling names the accepted values. Descriptive vocabularies are
    open (read as ``other``, a warning naming the profile's alias table); the utility
    type decides the network and stays an error."""
    layers = {"compounds": compounds}
    line = LineString([(X0, Y0 - 0.001), (X0 + 0.005, Y0 - 0.001)])
    if layer == "compounds":
        layers["compounds"] = compounds.assign(housing_type=[value, "房改房", "商品房", "其他"])
    elif layer == "roads":
        layers["roads"] = gpd.GeoDataFrame({"road_id": ["R1"], "name": ["人民路"],
                                            "road_class": [value]}, geometry=[line], crs=4490)
    else:
        layers["utilities"] = gpd.GeoDataFrame(
            {"segment_id": ["S1"], "utility": [value], "material": ["PE"],
             "install_year": [1995], "diameter_mm": [100], "condition": ["good"]},
            geometry=[line], crs=4490)
    path = gpkg(tmp_path / "in.gpkg", **layers)
    result, report = validate_input(path)
    if layer == "utilities":
        assert result is None
        [error] = report.errors
        assert (error.code, error.layer, error.field) == ("bad-value", layer, fld)
        assert value in error.message and accepted in error.message
        return
    assert report.ok, report.to_text()
    [summary] = [p for p in report.warnings if p.code == "unknown-value" and p.row is None]
    assert (summary.layer, summary.field) == (layer, fld)
    assert value in summary.message and accepted in summary.message
    vocab = "housing_type" if layer == "compounds" else "road_class"
    assert f"[aliases.{vocab}]" in summary.message
    assert getattr(result, layer)[fld].iloc[0] == "other"


def test_facilities_as_polygons_rejected(tmp_path: Path, compounds) -> None:
    """H47: a point layer holding polygons."""
    fac = gpd.GeoDataFrame({"facility_id": ["F1"], "kind": ["幼儿园"], "name": ["一幼"]},
                           geometry=[box(X0, Y0, X0 + 0.0005, Y0 + 0.0005)], crs=4490)
    path = gpkg(tmp_path / "in.gpkg", compounds=compounds, facilities=fac)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.layer, error.row) == ("geometry-type", "facilities", "F1")


# --- survey tables -------------------------------------------------------------------------


def test_gbk_csv_survey_table(tmp_path: Path) -> None:
    """H25: a survey CSV saved by Excel in GBK."""
    path = tmp_path / "摸底调查表.csv"
    survey_frame().to_csv(path, index=False, encoding="gbk")
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers.compounds["name"].tolist() == ["甲小区", "乙小区", "丙小区"]


def test_excel_title_and_merged_group_rows_and_blank_rows(tmp_path: Path) -> None:
    """H26, H27: a title row and merged group headers above the headers, blank rows below."""
    wb = Workbook()
    ws = wb.active
    ws.append(["玉林市城镇老旧小区摸底调查表"])
    ws.merge_cells("A1:F1")
    ws.append(["基本信息", None, None, None, "位置", None])
    ws.merge_cells("A2:D2")
    ws.merge_cells("E2:F2")
    ws.append(["小区编号", "小区名称", "建成年代", "户数", "经度", "纬度"])
    ws.append(["C1", "甲小区", "1998年", "1,200", X0, Y0])
    ws.append(["C2", "乙小区", 1990, 300, X0 + 0.002, Y0])
    ws.append(["  ", None, "", None, None, None])
    ws.append([None, " ", None, None, None, None])
    path = tmp_path / "survey.xlsx"
    wb.save(path)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers.compounds["compound_id"].tolist() == ["C1", "C2"]
    assert layers.compounds["households"].tolist() == [1200, 300]
    [header] = found(report, "header-row")
    assert "row 3" in header.message
    [blank] = found(report, "blank-rows")
    assert "2 blank row(s)" in blank.message


def test_excel_notes_sheet_before_the_table(tmp_path: Path) -> None:
    """H26c: the survey table is on the second sheet, after a notes sheet."""
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"填表说明": ["户数填整数", "坐标用WGS84"]}).to_excel(
            writer, sheet_name="说明", index=False)
        survey_frame().to_excel(writer, sheet_name="摸底调查表", index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers.compounds["compound_id"].tolist() == ["C1", "C2", "C3"]
    [chosen] = found(report, "sheet-chosen")
    assert "摸底调查表" in chosen.message


@pytest.mark.parametrize("title", ["玉林市老旧小区摸底调查表", "玉林市老旧小区摸底调查表,,,,,"])
def test_csv_with_a_title_line(tmp_path: Path, title: str) -> None:
    """H26: a CSV whose first line is a title (bare, or padded with commas by Excel)."""
    path = tmp_path / "survey.csv"
    body = survey_frame().to_csv(index=False)
    path.write_text(f"{title}\n{body}", encoding="gbk")
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert layers.compounds["compound_id"].tolist() == ["C1", "C2", "C3"]
    assert "row 2" in found(report, "header-row")[0].message


def test_survey_row_with_one_coordinate_missing(tmp_path: Path) -> None:
    """H60: one row without 纬度, another with 经度 "inf": errors on those rows and fields."""
    path = tmp_path / "survey.csv"
    survey_frame(经度=[X0, "inf", X0 + 0.004], 纬度=[Y0, Y0, ""]).to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert layers is None
    got = {(p.code, p.row, p.field) for p in report.errors}
    assert got == {("bad-value", "C2", "lon"), ("missing-coordinates", "C2", "lon"),
                   ("missing-coordinates", "C3", "lat")}


def test_survey_table_without_position(tmp_path: Path) -> None:
    """H28: no lon/lat and no polygons: one error naming the missing field."""
    path = tmp_path / "survey.csv"
    survey_frame().drop(columns=["经度", "纬度"]).to_csv(path, index=False)
    layers, report = validate_input(path)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.field) == ("missing-field", "lon")
    assert "经度" in error.message and "polygons" in error.message


def test_duplicate_polygons_for_survey_join_warned(tmp_path: Path, compounds) -> None:
    """H29: two polygons with one compound_id for the survey join."""
    table = tmp_path / "survey.csv"
    survey_frame(小区编号=["C000", "C001", "C002"]).to_csv(table, index=False)
    polys = pd.concat([compounds.iloc[:3], compounds.iloc[[1]]])[["compound_id", "geometry"]]
    poly_path = gpkg(tmp_path / "polys.gpkg", compounds=gpd.GeoDataFrame(polys, crs=4490))
    layers, report = validate_input(table, input_crs="wgs84", polygons=poly_path)
    assert report.ok and len(layers.compounds) == 3
    [warning] = found(report, "duplicate-polygon")
    assert "C001" in warning.message


# --- communities ---------------------------------------------------------------------------


def test_overlapping_communities_warned_and_assignment_deterministic(
        tmp_path: Path, compounds, communities) -> None:
    """H30: overlapping communities: a warning naming both ids; one fixed assignment."""
    comms = communities.copy()
    comms.loc[1, "geometry"] = box(110.1515, 22.629, 110.158, 22.632)  # overlaps the east one
    a = gpkg(tmp_path / "a.gpkg", compounds=compounds, communities=comms)
    b = gpkg(tmp_path / "b.gpkg", compounds=compounds, communities=comms.iloc[::-1])
    la, ra = validate_input(a)
    lb, _ = validate_input(b)
    [overlap] = found(ra, "community-overlap")
    assert "450902001001" in overlap.message and "450902001002" in overlap.message
    assert overlap.layer == "communities"
    ambiguous = found(ra, "ambiguous-community")
    assert [p.row for p in ambiguous] == ["C001"]
    assert la.compounds["community_id"].tolist() == lb.compounds["community_id"].tolist()
    # C001 (110.152–110.153) shares all its area with both: the smaller id wins
    assert la.compounds.set_index("compound_id").loc["C001", "community_id"] == "450902001001"


def test_gap_between_communities_warned(tmp_path: Path, compounds) -> None:
    """H31: a hole in the communities' union names the communities around it."""
    cells = [box(110.148 + i * 0.004, 22.628 + j * 0.003, 110.152 + i * 0.004,
                 22.631 + j * 0.003) for j in range(3) for i in range(3)]
    ids = [f"K{k}" for k in range(9)]
    comms = gpd.GeoDataFrame({"community_id": ids, "name": ids, "street": ["玉城街道"] * 9,
                              "county": ["玉州区"] * 9}, geometry=cells, crs=4490)
    comms = comms.drop(index=4)  # the centre is missing
    path = gpkg(tmp_path / "in.gpkg", compounds=compounds, communities=comms)
    layers, report = validate_input(path)
    assert layers is not None
    [gap] = found(report, "community-gap")
    assert all(k in gap.message for k in ["K1", "K3", "K5", "K7"])
    assert "K4" not in gap.message


# --- DEM and pipes -------------------------------------------------------------------------


def test_unreadable_dem_and_dem_without_crs(tmp_path: Path, sample_gpkg: Path) -> None:
    """H32: a DEM that is not a raster, or has no CRS, is an error on layer dem."""
    import rasterio

    junk = tmp_path / "dem.tif"
    junk.write_bytes(b"not a tiff")
    layers, report = validate_input(sample_gpkg, dem=junk)
    assert layers is None
    [error] = report.errors
    assert (error.code, error.layer, error.file) == ("unreadable-file", "dem", str(junk))
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=4, height=4, count=1,
                       dtype="float32") as dst:
        dst.write(np.ones((1, 4, 4), dtype="float32"))
    layers, report = validate_input(sample_gpkg, dem=nocrs)
    assert layers is None
    assert [(p.code, p.layer) for p in report.errors] == [("no-crs", "dem")]


def test_dem_in_other_crs_with_nodata_hole(tmp_path: Path, sample_gpkg: Path) -> None:
    """H34: a lon/lat DEM (not the analysis CRS) with a nodata hole under one compound and
    not reaching another: validated with a warning naming both; the survey still runs."""
    import rasterio
    from rasterio.transform import from_origin

    z = np.full((20, 60), 80.0, dtype="float32")
    z[:, 25:35] = -9999.0  # lon 110.152–110.153: under C001
    dem = tmp_path / "dem_wgs84.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=60, height=20, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-9999.0,
                       transform=from_origin(110.1495, 22.6315, 0.0001, 0.0001)) as dst:
        dst.write(z, 1)
    layers, report = validate_input(sample_gpkg, dem=dem)
    assert layers is not None
    [warning] = found(report, "dem-coverage")
    assert (warning.layer, warning.file) == ("dem", str(dem))
    assert "C001, C003" in warning.message and "C000" not in warning.message
    result = run(sample_gpkg, tmp_path / "out", dem=dem, until="survey", maps=False)
    assert sorted(result.compounds["compound_id"]) == ["C000", "C001", "C002", "C003"]


def test_zero_length_pipe_and_loop_kept_and_reported(tmp_path: Path, compounds,
                                                     communities) -> None:
    """H33: a zero-length segment is kept with a warning; a looped segment is accepted;
    the network leaves both out of its graph / reports them; a whole run goes through
    (with a zero-length road too)."""
    from yulin_gis.utilities import build_networks, topology_report

    lines = [LineString([(X0, Y0 - 0.001), (X0, Y0 - 0.001)]),
             LineString([(X0, Y0 - 0.001), (X0 + 0.001, Y0 - 0.002), (X0, Y0 - 0.002),
                         (X0, Y0 - 0.001)]),
             LineString([(X0, Y0 - 0.001), (X0 + 0.004, Y0 - 0.001)])]
    util = gpd.GeoDataFrame(
        {"segment_id": ["zero", "loop", "main"], "utility": ["给水"] * 3,
         "material": ["灰口铸铁"] * 3, "install_year": [1985] * 3, "diameter_mm": [100] * 3,
         "condition": ["差"] * 3}, geometry=lines, crs=4490)
    path = gpkg(tmp_path / "in.gpkg", compounds=compounds, utilities=util)
    layers, report = validate_input(path)
    assert layers is not None and len(layers.utilities) == 3
    [warning] = found(report, "zero-length")
    assert (warning.row, warning.layer) == ("zero", "utilities")
    topo = topology_report(build_networks(layers.utilities))
    codes = topo.groupby("code")["segment_id"].apply(set).to_dict()
    assert codes["zero_length"] == {"zero"} and codes["self_loop"] == {"loop"}
    roads = gpd.GeoDataFrame({"road_id": ["R0", "R1"], "name": ["甲路", "乙路"],
                              "road_class": ["branch", "branch"]},
                             geometry=[lines[0], lines[2]], crs=4490)
    full = gpkg(tmp_path / "full.gpkg", compounds=compounds, communities=communities,
                utilities=util, roads=roads)
    result = run(full, tmp_path / "out", maps=False)
    assert sorted(result.compounds["compound_id"]) == ["C000", "C001", "C002", "C003"]
    assert set(result.state.topology["code"]) >= {"zero_length", "self_loop"}


# --- outputs: unwritable, disk full, killed ------------------------------------------------


def test_unwritable_output_folder(tmp_path: Path, sample_gpkg: Path) -> None:
    """H35: the output folder cannot be created: OutputError, exit 2, nothing written."""
    blocker = tmp_path / "a_file"
    blocker.write_text("I am a file", encoding="utf-8")
    out = blocker / "out"
    with pytest.raises(OutputError, match="cannot write output"):
        run(sample_gpkg, out, until="survey", maps=False)
    result = CliRunner().invoke(cli, ["survey", str(sample_gpkg), "--out", str(out),
                                      "--no-maps"])
    assert result.exit_code == 2
    assert "Error:" in result.output and "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "I am a file"


def _leftovers(out: Path) -> dict[str, list[str]]:
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return {"part": [f for f in files if ".part" in f or f.endswith(".tmp")],
            "complete": [f for f in files if ".part" not in f and not f.endswith(".tmp")]}


def test_disk_full_while_writing_gpkg(tmp_path: Path, sample_gpkg: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """H36: the writer fails on the second layer: no plan.gpkg, no manifest; rerun works."""
    import pyogrio

    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def full(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", full)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left"):
        run(sample_gpkg, out, until="survey", maps=False)
    assert _leftovers(out) == {"part": [], "complete": []}
    monkeypatch.setattr(pyogrio, "write_dataframe", real)
    result = run(sample_gpkg, out, until="survey", maps=False)
    assert (out / "run_manifest.json").exists() and len(result.compounds) == 4
    assert _leftovers(out)["part"] == []


def test_rename_failing_is_an_output_error(tmp_path: Path, sample_gpkg: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """H37: os.replace fails (disk full, permissions): OutputError, no temporary left."""
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"plan\.gpkg"):
        run(sample_gpkg, out, until="survey", maps=False)
    assert _leftovers(out) == {"part": [], "complete": []}


_KILL = """
import os, signal, sys
import pyogrio
real = pyogrio.write_dataframe
calls = [0]
def dying(*a, **k):
    calls[0] += 1
    if calls[0] == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*a, **k)
pyogrio.write_dataframe = dying
from yulin_gis.pipeline import run
run(sys.argv[1], sys.argv[2], until="survey", maps=False)
"""


def test_killed_run_leaves_nothing_that_looks_complete(tmp_path: Path,
                                                       sample_gpkg: Path) -> None:
    """H38, H39: SIGKILL while writing, into the folder of an earlier complete run: the
    old manifest is gone first, no complete-looking plan.gpkg appears; a rerun is clean."""
    out = tmp_path / "out"
    first = run(sample_gpkg, out, until="validate", maps=False)
    assert (out / "run_manifest.json").exists()
    old_gpkg = (out / "plan.gpkg").read_bytes()
    proc = subprocess.run([sys.executable, "-c", _KILL, str(sample_gpkg), str(out)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == -9, proc.stderr
    assert not (out / "run_manifest.json").exists(), "a partial run must not look complete"
    assert (out / "plan.gpkg").read_bytes() == old_gpkg  # the old one, never half-written
    # the earlier run's, and no manifest
    assert _leftovers(out)["complete"] == ["plan.gpkg", "validation_report.xlsx"]
    again = run(sample_gpkg, out, until="survey", maps=False)
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["outputs"]) == {f.relative_to(out).as_posix() for f in again.files[:-1]}
    assert first.files[-1] == again.files[-1] == out / "run_manifest.json"


def test_rerun_replaces_outputs_and_removes_stale_ones(tmp_path: Path, sample_gpkg: Path) -> None:
    """H40: a rerun with fewer stages removes the earlier run's outputs it does not write."""
    from yulin_gis.pipeline import file_sha256

    out = tmp_path / "out"
    run(sample_gpkg, out, until="survey", maps=False)
    workbook = out / "摸底调查评估表.xlsx"
    assert workbook.exists()
    mine = out / "my_notes.txt"
    mine.write_text("keep me", encoding="utf-8")
    result = run(sample_gpkg, out, until="validate", maps=False)
    assert not workbook.exists(), "stale output of the earlier run"
    assert mine.exists()
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["outputs"].items():
        assert entry["sha256"] == file_sha256(out / name)
    assert result.files[-1].name == "run_manifest.json"


# --- profile -------------------------------------------------------------------------------


def test_contradictory_profile_on_the_command_line(tmp_path: Path, sample_gpkg: Path) -> None:
    """H41: a profile whose share years end before the priority years: exit 2, key named."""
    from yulin_gis.profile import DEFAULT_PROFILE_PATH

    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("share_built_until"))
    lines[i] = "share_built_until = 1990"
    bad = tmp_path / "bad.toml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["survey", str(sample_gpkg), "--out", str(out),
                                      "--profile", str(bad), "--no-maps"])
    assert result.exit_code == 2
    assert "share_built_until" in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


# --- conservation at the end of every command ----------------------------------------------


def _dropping(func):
    def wrapper(*args, **kwargs):
        state = func(*args, **kwargs)
        state.compounds = state.compounds.iloc[:-1].copy()
        return state
    return wrapper


@pytest.mark.parametrize(("until", "target"), [
    ("validate", "yulin_gis.pipeline._run._validated_state"),
    ("survey", "yulin_gis.pipeline._stages.survey_stage"),
    ("packages", "yulin_gis.pipeline._stages.package_stage"),
    ("plan", "yulin_gis.pipeline._stages.plan_stage"),
    ("utilities", "yulin_gis.pipeline._stages.utility_stage"),
])
def test_a_stage_losing_a_compound_fails_the_run(tmp_path: Path, sample_gpkg: Path,
                                                 monkeypatch: pytest.MonkeyPatch, until: str,
                                                 target: str) -> None:
    """H43: a stage that drops a compound → ConservationError, nothing written."""
    import importlib

    module_name, attr = target.rsplit(".", 1)
    module = importlib.import_module(module_name)
    monkeypatch.setattr(module, attr, _dropping(getattr(module, attr)))
    out = tmp_path / "out"
    with pytest.raises(ConservationError, match="C003"):
        run(sample_gpkg, out, until=until, maps=False)
    assert not out.exists() or not any(out.iterdir())


def test_conservation_failure_is_a_non_zero_exit(tmp_path: Path, sample_gpkg: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """H43: the same on the command line: exit 2, the lost compound named."""
    import yulin_gis.pipeline._stages as stages

    monkeypatch.setattr(stages, "package_stage", _dropping(stages.package_stage))
    result = CliRunner().invoke(cli, ["packages", str(sample_gpkg), "--out",
                                      str(tmp_path / "o"), "--no-maps"])
    assert result.exit_code == 2
    assert "conservation check failed" in result.output and "C003" in result.output


def test_validation_losing_a_row_is_a_conservation_error(
        sample_gpkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """H44: validate itself checks that every non-blank input row was validated."""
    import yulin_gis.io._validate as validate

    real = validate.validate_layer

    def lossy(raw, *args, **kwargs):
        layer = real(raw, *args, **kwargs)
        return layer.iloc[:-1] if layer is not None and raw.name == "compounds" else layer

    monkeypatch.setattr(validate, "validate_layer", lossy)
    with pytest.raises(ConservationError, match="4 rows read"):
        validate_input(sample_gpkg)
    result = CliRunner().invoke(cli, ["validate", str(sample_gpkg)])
    assert result.exit_code == 2


def test_invalid_input_raises_validation_error_listing_all(tmp_path: Path, compounds) -> None:
    """H45: several bad cells across rows: one ValidationError listing each location."""
    frame = compounds.copy()
    frame["built_year"] = pd.Series(["1990年", "很久以前", "2099", 1995], dtype=object)
    frame.loc[3, "geometry"] = None
    path = tmp_path / "c.geojson"
    frame.to_file(path)
    with pytest.raises(ValidationError) as info:
        run(path, tmp_path / "out", maps=False)
    where = {(p.row, p.field) for p in info.value.problems if p.severity == "error"}
    assert where == {("C001", "built_year"), ("C002", "built_year"), ("C003", "geometry")}
    assert "field built_year: row C001" in str(info.value)


def test_packages_without_planning_unit_per_county_flagged(tmp_path: Path, compounds) -> None:
    """H56: packages asked for, but no community_id and no communities layer: packages are
    made per county (found from the embedded boundaries), flagged 社区未知, said once."""
    path = gpkg(tmp_path / "c.gpkg", compounds=compounds)
    out = tmp_path / "out"
    result = run(path, out, until="packages", maps=False)
    assert set(result.compounds["county"]) == {"玉州区"}
    pk = result.state.packages
    assert len(pk) and (pk["community_unknown"] == 1).all()
    assert pk["package_id"].str.startswith("450902-P").all()
    assert [n for n in result.notes if "社区未知" in n] == [
        "no community_id: 4 compounds per county, packages flagged 社区未知"]
    result = CliRunner().invoke(cli, ["survey", str(path), "--out", str(out), "--no-maps"])
    assert result.exit_code == 0, "the survey alone needs no planning unit"


def test_budget_table_with_text_amount(tmp_path: Path, sample_gpkg: Path) -> None:
    """H59: a budget CSV (GBK) whose amount is text: exit 2 naming county, year and value;
    no manifest."""
    budget = tmp_path / "预算.csv"
    budget.write_text("county,plan_year,budget_yuan\n玉州区,2022,五百万\n", encoding="gbk")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["plan", str(sample_gpkg), "--out", str(out),
                                      "--budget", str(budget), "--no-maps"])
    assert result.exit_code == 2
    assert "玉州区" in result.output and "2022" in result.output and "五百万" in result.output
    assert not (out / "run_manifest.json").exists()


# --- hostile text in maps and spreadsheets -------------------------------------------------

EVIL_COUNTY = "../../逃逸县"
EVIL_OWNER = "../<b>供电</b>/公司"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>',
           '=HYPERLINK("http://evil.example","点我")', "+cmd|' /C calc'!A0", "-1+1",
           "@SUM(A1:A9)"]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    """A small synthetic city whose compound names are hostile, run with maps."""
    from yulin_gis.sample import make_city, write_city

    folder = tmp_path_factory.mktemp("hostile")
    paths = write_city(make_city(40, seed=5), folder, dem=False, survey=False)
    comp = gpd.read_file(paths["gpkg"], layer="compounds")
    comp["name"] = comp["name"].astype(object)
    for i in range(len(comp)):
        comp.loc[i, "name"] = HOSTILE[i % len(HOSTILE)]
    comp["address"] = "=1+2"
    comp.loc[comp.index[:6], "county"] = EVIL_COUNTY
    comp.to_file(paths["gpkg"], layer="compounds")
    util = gpd.read_file(paths["gpkg"], layer="utilities")
    util["owner"] = util["owner"].astype(object)
    util.loc[util.index[::3], "owner"] = EVIL_OWNER
    util.to_file(paths["gpkg"], layer="utilities")
    # pipeline owners are the profile's companies (seed §五(二)): the hostile name arrives
    # as the gas company's name in the profile
    from yulin_gis.pipeline import PlanOptions
    from yulin_gis.profile import DEFAULT_PROFILE_PATH

    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    profile = folder / "hostile.toml"
    profile.write_text(text.replace('gas_company = "玉林中燃公司"',
                                    f"gas_company = {json.dumps(EVIL_OWNER, ensure_ascii=False)}"),
                       encoding="utf-8")
    return run(paths["gpkg"], folder / "out", options=PlanOptions(profile_path=profile))


def test_hostile_county_and_company_names_stay_inside_the_output(hostile_run) -> None:
    """H49: county / company names with ``../`` and ``/`` never write outside the folder."""
    root = hostile_run.out_dir.parent
    outside = sorted(p.name for p in root.rglob("*") if hostile_run.out_dir not in p.parents
                     and p != hostile_run.out_dir)
    assert not any("逃逸" in n or "供电" in n for n in outside), outside
    assert not list(root.parent.glob("*逃逸*")) and not list(root.parent.glob("*供电*"))
    names = [p.name for p in hostile_run.files]
    assert any("逃逸县" in n for n in names), "the hostile county got its own outputs"
    assert any("供电_b_公司" in n for n in names), "the hostile company got its own outputs"
    for path in hostile_run.files:
        assert path.resolve().is_relative_to(hostile_run.out_dir.resolve()), path
        assert path.exists()


def test_hostile_names_are_never_markup_in_maps(hostile_run) -> None:
    """H46: <script> and onerror= from a data file never become markup in any HTML page."""
    pages = sorted(hostile_run.out_dir.rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in html, page
        assert "<img src=x" not in html, page
    overview = (hostile_run.out_dir / "maps" / "overview.html").read_text(encoding="utf-8")
    assert "alert(1)" in overview, "the names are in the map, as data"


def test_no_formula_in_any_workbook(hostile_run) -> None:
    """H48: =, +, -, @ names are text in every workbook the run writes."""
    books = sorted(hostile_run.out_dir.rglob("*.xlsx"))
    names = {p.name for p in books}
    assert {"摸底调查评估表.xlsx", "部门任务清单.xlsx", "改造片区清单.xlsx", "全市汇总.xlsx"} <= names
    assert any(p.parent.name == "年度计划" for p in books)
    assert any(p.parent.name == "管线单位" for p in books)
    seen: set[str] = set()
    for path in books:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path.name}!{cell.coordinate}: {cell.value}"
                    if isinstance(cell.value, str) and cell.value in HOSTILE[2:]:
                        seen.add(cell.value)
    assert seen == set(HOSTILE[2:]), "hostile names written as text somewhere"
