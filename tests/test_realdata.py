"""A corpus of inputs shaped like real ones (issue 12), made here by test code.

Real tables hold placeholders (不详, 暂无资料), numbers with units (``1019 户``), decades
(``九十年代初``), a title row, merged header cells, a 合计 row, several sheets; real files
are GBK shapefiles without ``.cpg``, Gauss–Krüger metres with or without the zone number,
GCJ-02 or BD-09 tables, swapped columns, a geocoder's fallback cluster, a compound in
Shandong. Each must validate with the right diagnosis, and runs keep every compound.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from yulin_gis.cli.main import cli
from yulin_gis.crs import wgs84_to_bd09, wgs84_to_gcj02
from yulin_gis.errors import ProfileError
from yulin_gis.io import validate_input
from yulin_gis.pipeline import run

X0, Y0 = 110.150, 22.630
PLACEHOLDERS = ["不详", "未知", "暂无", "暂无资料", "暂无数据", "无", "空", "-", "—", "/", "N/A",
                "#N/A", "待查"]


def real_table(n: int = 30, seed: int = 7) -> pd.DataFrame:
    """A Yulin survey table as planners type it: Chinese headers, clean values."""
    rng = np.random.default_rng(seed)
    lon = X0 + rng.uniform(0.0, 0.03, n)
    lat = Y0 + rng.uniform(0.0, 0.03, n)
    return pd.DataFrame({
        "小区编号": [f"YZ{i:03d}" for i in range(n)],
        "小区名称": [f"第{i}小区" for i in range(n)],
        "建成年代": [int(y) for y in rng.integers(1980, 2000, n)],
        "户数": [int(h) for h in rng.integers(60, 400, n)],
        "楼栋数": [int(b) for b in rng.integers(1, 8, n)],
        "所属社区": ["450902001001" if i % 2 else "450902001002" for i in range(n)],
        "经度": lon, "纬度": lat,
    })


def codes(report, severity: str | None = None) -> set[str]:
    return {p.code for p in report.problems if severity is None or p.severity == severity}


def lines_about(report, code: str, field: str) -> list[str]:
    return [line for line in report.to_text().splitlines()
            if f"[{code}]" in line and f"field {field}" in line]


# --- unknown is a value ----------------------------------------------------------------------


def test_placeholders_read_as_null_with_one_grouped_line_per_field(tmp_path: Path) -> None:
    table = real_table(len(PLACEHOLDERS) + 4).astype(object)
    table.loc[:len(PLACEHOLDERS) - 1, "户数"] = PLACEHOLDERS
    table.loc[:2, "建成年代"] = ["不详", "暂无资料", "#N/A"]
    table.loc[:len(PLACEHOLDERS) - 1, "楼栋数"] = None  # no estimate possible for these
    path = tmp_path / "小区.csv"  # (in .xlsx, #N/A is an error cell: read as blank)
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    comp = layers.compounds
    assert comp["households"].isna().sum() == len(PLACEHOLDERS)
    assert comp["built_year"].isna().tolist()[:4] == [True, True, True, False]
    # one line per (field, problem) in the text, every row in the JSON / problem list
    [hh_line] = lines_about(report, "placeholder", "households")
    assert f"{len(PLACEHOLDERS)} placeholder(s)" in hh_line and "'不详' ×1" in hh_line
    assert f"{len(PLACEHOLDERS)} row(s): YZ000, YZ001" in hh_line
    rows = [p for p in report.problems if p.code == "placeholder" and p.field == "households"
            and p.row is not None]
    assert len(rows) == len(PLACEHOLDERS)
    # unknown year or households: 待核实 with the reason
    reasons = comp["verify_reason"].tolist()
    assert "建成年份不详" in reasons[0] and "户数不详" in reasons[0]
    assert reasons[-1] == ""


def test_numbers_with_units_words_decades_and_full_width(tmp_path: Path) -> None:
    table = real_table(8).astype(object)
    table["户数"] = ["约300户", "1019 户", "１２０", "300余户", "1,200", "80户左右", "二十", 90]
    table["建成年代"] = ["1990年代", "九十年代初", "1,998", "１９９５年", "八十年代末", "2003年5月",
                     "2000年代", 1988]
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    comp = layers.compounds
    assert comp["households"].tolist()[:6] == [300, 1019, 120, 300, 1200, 80]
    # "二十" cannot be read: unknown, then estimated from 楼栋数 × 24 (默认值（待确认）)
    assert comp["households"].tolist()[6] == table["楼栋数"][6] * 24
    assert comp["households_estimated"].tolist() == [False] * 6 + [True, False]
    assert comp["built_year"].tolist() == [1995, 1992, 1998, 1995, 1988, 2003, 2005, 1988]
    assert comp["built_year_min"].tolist() == [1990, 1990, 1998, 1995, 1987, 2003, 2000, 1988]
    assert comp["built_year_max"].tolist() == [1999, 1993, 1998, 1995, 1989, 2003, 2009, 1988]
    assert lines_about(report, "value-mapped", "households")
    assert lines_about(report, "bad-value", "households")[0].strip().startswith("WARNING")


def test_decade_range_decides_eligibility(tmp_path: Path) -> None:
    """A decade wholly before 2001 is pre-2000 (重点); one that straddles 2000 is 待核实."""
    from yulin_gis.pipeline import PlanOptions, survey_stage

    table = real_table(3).astype(object)
    table["建成年代"] = ["1990年代", "2000年代", "不详"]
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    comp = survey_stage(layers, PlanOptions()).compounds
    assert comp["tier"].tolist()[0] == "priority"
    assert comp["status"].tolist() == ["eligible", "待核实", "待核实"]
    assert "跨越政策分界" in comp["exclusion_reason"].iloc[1]
    assert "建成年份不详" in comp["exclusion_reason"].iloc[2]


# --- spreadsheet shapes ------------------------------------------------------------------------


def _messy_workbook(path: Path, table: pd.DataFrame) -> None:
    """A notes sheet first; then a title row, a two-row header with merged cells
    (小区名称 merged down, 坐标 merged across 经度/纬度) and a 合计 row at the bottom."""
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表由各社区填报，请勿修改表头"])
    sheet = wb.create_sheet("老旧小区")
    cols = list(table.columns)
    sheet.append(["玉林市城镇老旧小区摸底调查表（2023年）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    top = [c if c not in {"经度", "纬度"} else None for c in cols]
    top[cols.index("经度")] = "坐标"
    sheet.append(top)
    sheet.append([c if c in {"经度", "纬度"} else None for c in cols])
    for j, c in enumerate(cols, start=1):
        if c not in {"经度", "纬度"}:
            sheet.merge_cells(start_row=2, start_column=j, end_row=3, end_column=j)
    lon = cols.index("经度") + 1
    sheet.merge_cells(start_row=2, start_column=lon, end_row=2, end_column=lon + 1)
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    sheet.append(["合计", None, None, int(table["户数"].sum()), int(table["楼栋数"].sum())])
    wb.save(path)


def test_title_merged_header_totals_row_and_several_sheets(tmp_path: Path) -> None:
    table = real_table(12)
    path = tmp_path / "摸底调查.xlsx"
    _messy_workbook(path, table)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    assert {"sheet-chosen", "header-row", "totals-row"} <= codes(report, "warning")
    comp = layers.compounds
    assert comp["compound_id"].tolist() == table["小区编号"].tolist()  # 合计 is not a compound
    assert comp["name"].tolist() == table["小区名称"].tolist()  # merged-down header found
    assert comp["households"].tolist() == table["户数"].tolist()
    assert report.rows["compounds"] == 13 and report.blank_rows["compounds"] == 1


# --- files ---------------------------------------------------------------------------------


def test_gbk_shapefile_without_cpg(tmp_path: Path, compounds) -> None:
    frame = compounds.assign(name=["金港花园", "东门小区", "人民路宿舍", "粮食局宿舍"])
    path = tmp_path / "小区.shp"
    frame.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0  # no language driver byte either, as many Chinese exporters write
    dbf.write_bytes(bytes(data))
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert layers.compounds["name"].tolist() == frame["name"].tolist()


# --- coordinates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("epsg", "zone_prefix"), [(4525, True), (4546, False)])
def test_gauss_kruger_metres_in_a_table(tmp_path: Path, epsg: int, zone_prefix: bool) -> None:
    table = real_table(10)
    to_gk = Transformer.from_crs(4490, epsg, always_xy=True)
    east, north = to_gk.transform(table["经度"].to_numpy(), table["纬度"].to_numpy())
    assert (east[0] > 3.7e7) == zone_prefix
    path = tmp_path / "小区.csv"
    table.assign(经度=east, 纬度=north).to_csv(path, index=False)
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    [warn] = [p for p in report.warnings if p.code == "gauss-kruger"]
    assert f"EPSG:{epsg}" in warn.message
    assert ("带号" in warn.message) and (("不带带号" in warn.message) != zone_prefix)
    pts = layers.compounds.to_crs(4490).geometry
    assert np.allclose(pts.x, table["经度"], atol=1e-7)
    assert np.allclose(pts.y, table["纬度"], atol=1e-7)


def test_zone_prefixed_layer_declared_in_cm_variant(tmp_path: Path, compounds) -> None:
    """A shapefile in EPSG:4525 (zone 37) whose .prj says the CM variant EPSG:4546."""
    frame = compounds.to_crs(4525).set_crs(4546, allow_override=True)
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert any("EPSG:4525" in p.message for p in report.warnings if p.code == "gauss-kruger")
    back = layers.compounds.to_crs(4490).geometry.centroid
    assert np.allclose(back.x, compounds.geometry.centroid.x, atol=1e-7)


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_gcj02_and_bd09_tables(tmp_path: Path, crs: str, forward) -> None:
    table = real_table(10)
    x, y = forward(table["经度"].to_numpy(), table["纬度"].to_numpy())
    path = tmp_path / "小区.csv"
    table.assign(经度=x, 纬度=y).to_csv(path, index=False)
    layers, report = validate_input(path, input_crs=crs)
    assert report.ok, report.to_text()
    pts = layers.compounds.to_crs(4490).geometry
    assert np.allclose(pts.x, table["经度"], atol=1e-7)
    assert np.allclose(pts.y, table["纬度"], atol=1e-7)


def test_one_swapped_row_is_swapped_back_and_to_verify(tmp_path: Path) -> None:
    table = real_table(10)
    lon, lat = float(table.loc[3, "经度"]), float(table.loc[3, "纬度"])
    table.loc[3, "经度"], table.loc[3, "纬度"] = lat, lon
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    [warn] = [p for p in report.warnings if p.code == "swapped-coordinates"]
    assert warn.row == "YZ003" and "经度/纬度可能互换" in warn.message
    comp = layers.compounds
    assert "经纬度互换" in comp["verify_reason"].iloc[3]
    assert (comp["verify_reason"] != "").sum() == 1


def test_swapped_vector_layer_is_diagnosed_as_swapped(tmp_path: Path, compounds) -> None:
    from shapely import transform

    frame = compounds.copy()
    frame.geometry = transform(frame.geometry.values, lambda c: c[:, ::-1])
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert "经度/纬度可能互换" in report.to_text()
    assert "projected metres declared as degrees" not in report.to_text()
    back = layers.compounds.to_crs(4490).geometry.centroid
    assert np.allclose(back.x, compounds.geometry.centroid.x, atol=1e-7)


def test_geocoder_cluster_and_far_outlier_are_to_verify(tmp_path: Path) -> None:
    table = real_table(30)
    table.loc[5:10, ["经度", "纬度"]] = [110.164, 22.636]  # 6 on Yulin's geocoder fallback
    table.loc[20, ["经度", "纬度"]] = [117.000, 36.650]  # Jinan, Shandong: ~1,700 km away
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert report.ok, report.to_text()
    [far] = [p for p in report.warnings if p.code == "position-outlier"]
    assert far.row == "YZ020" and "公里" in far.message and "km" in far.message
    distance = float(far.message.split(" km from")[0].split("/ ")[-1].replace(",", ""))
    assert 1500 < distance < 1900  # Yulin → Jinan, about 1,700 km
    [cluster] = [p for p in report.warnings if p.code == "same-coordinate"]
    assert cluster.message.startswith("6 个小区位于同一坐标")
    verify = layers.compounds["verify_reason"] != ""
    assert verify.tolist() == [i in {5, 6, 7, 8, 9, 10, 20} for i in range(30)]
    assert layers.crs == "EPSG:4546"  # the zone of the city, not of the outlier's pull


def test_outside_counties(tmp_path: Path, compounds) -> None:
    counties = gpd.GeoDataFrame({"county_code": ["450902"], "name": ["玉州区"]},
                                geometry=[box(110.149, 22.629, 110.1535, 22.632)], crs=4490)
    path = tmp_path / "in.gpkg"
    compounds.to_file(path, layer="compounds")
    counties.to_file(path, layer="counties")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert [p.row for p in report.warnings if p.code == "outside-counties"] == ["C002", "C003"]
    assert (layers.compounds["verify_reason"] != "").tolist() == [False, False, True, True]


def test_mixed_points_and_polygons(tmp_path: Path, compounds) -> None:
    frame = compounds.copy()
    frame.loc[1, "geometry"] = Point(X0 + 0.0025, Y0 + 0.0005)
    path = tmp_path / "c.gpkg"
    frame.to_file(path, layer="compounds")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert "mixed-geometry" in codes(report, "warning")
    assert layers.compounds.geom_type.tolist().count("Point") == 1


# --- open vocabularies -----------------------------------------------------------------------


def _held_out_utilities(n: int) -> gpd.GeoDataFrame:
    spellings = ["电缆", "电力电缆", "铜芯电缆", "铝芯电缆", "架空线", "YJV", "YJV22", "VV", "铸铁",
                 "灰铸铁", "灰口铸铁", "球墨", "球墨铸铁", "钢", "镀锌钢", "钢塑", "PPR", "PE", "HDPE",
                 "PVC", "PVC-U", "UPVC", "玻璃钢", "砖砌", "砼", "混凝土", "钢筋混凝土"]
    kinds = ["power"] * 8 + ["water_supply"] * 11 + ["sewer"] * 8
    lines = [LineString([(X0 + 0.0001 * i, Y0 - 0.001), (X0 + 0.0001 * i + 0.001, Y0 - 0.001)])
             for i in range(n)]
    return gpd.GeoDataFrame({
        "segment_id": [f"S{i}" for i in range(n)],
        "utility": [kinds[i % len(kinds)] for i in range(n)],
        "material": [spellings[i % len(spellings)] for i in range(n)],
        "install_year": [1990] * n,
    }, geometry=lines, crs=4490)


def test_held_out_city_power_cables_are_read(tmp_path: Path, compounds) -> None:
    """The held-out city's 420 pipe rows with 电缆 and friends: no error, no unknowns."""
    pipes = _held_out_utilities(420)
    path = tmp_path / "in.gpkg"
    compounds.to_file(path, layer="compounds")
    pipes.to_file(path, layer="utilities")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    assert "unknown-value" not in codes(report)
    mat = dict(zip(pipes["material"], layers.utilities["material"], strict=True))
    assert mat["电缆"] == "cable" and mat["YJV22"] == "copper" and mat["铝芯电缆"] == "aluminium"
    assert mat["架空线"] == "aluminium" and mat["灰铸铁"] == "grey_cast_iron"
    assert mat["球墨"] == "ductile_iron" and mat["钢塑"] == "steel_plastic" and mat["PPR"] == "ppr"
    assert mat["PVC-U"] == "pvc" and mat["玻璃钢"] == "grp" and mat["砖砌"] == "brick"
    assert mat["砼"] == "concrete" and mat["钢筋混凝土"] == "reinforced_concrete"


def test_unknown_spellings_become_other_with_one_line(tmp_path: Path, compounds) -> None:
    pipes = _held_out_utilities(60).astype({"material": object})
    pipes.loc[:39, "material"] = ["水泥砂浆内衬球墨铸铁管", "奇怪材质"] * 20
    path = tmp_path / "in.gpkg"
    compounds.to_file(path, layer="compounds")
    pipes.to_file(path, layer="utilities")
    layers, report = validate_input(path)
    assert report.ok, report.to_text()
    [line] = lines_about(report, "unknown-value", "material")
    assert "'奇怪材质' ×20" in line and "[aliases.material]" in line and "20 row(s)" in line
    # the default profile's own alias table knows the first spelling
    assert layers.utilities["material"].tolist()[:2] == ["ductile_iron", "other"]


def test_profile_aliases_are_merged_and_checked(tmp_path: Path, compounds) -> None:
    from yulin_gis.profile import DEFAULT_PROFILE_PATH, load_profile

    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    good = tmp_path / "city.toml"
    good.write_text(text + '\n[aliases.road_class]\n"城市景观大道" = "arterial"\n', encoding="utf-8")
    roads = gpd.GeoDataFrame({"road_id": ["R1"], "road_class": ["城市景观大道"]},
                             geometry=[LineString([(X0, Y0 - 0.002), (X0 + 0.01, Y0 - 0.002)])],
                             crs=4490)
    path = tmp_path / "in.gpkg"
    compounds.to_file(path, layer="compounds")
    roads.to_file(path, layer="roads")
    layers, report = validate_input(path, profile=good)
    assert report.ok and layers.roads["road_class"].tolist() == ["arterial"]
    bad = tmp_path / "bad.toml"
    bad.write_text(text + '\n[aliases.road_class]\n"景观路" = "highway"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"aliases\.road_class"):
        load_profile(bad)


# --- validate tells the truth about run; end to end -------------------------------------------


def test_validate_says_what_can_run_and_writes_the_report(tmp_path: Path) -> None:
    table = real_table(10).drop(columns=["所属社区"])
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    xlsx = tmp_path / "validation_report.xlsx"
    result = CliRunner().invoke(cli, ["validate", str(path), "--input-crs", "wgs84",
                                      "--report", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert "可运行 / can run: survey, maps; packages, plan: 缺少社区 → 按街道/县区打包并标记" \
        in result.output
    assert "utilities: 无管线图层" in result.output
    rows = list(load_workbook(xlsx)["明细"].iter_rows(values_only=True))
    assert rows[0][:3] == ("级别", "问题代码", "文件") and len(rows) > 1
    some = real_table(10).astype(object)
    some.loc[:3, "所属社区"] = "暂无"
    some.to_csv(path, index=False)
    _, report = validate_input(path, input_crs="wgs84")
    assert "部分小区缺少社区" in report.can_run[0]
    real_table(10).to_csv(path, index=False)
    _, report = validate_input(path, input_crs="wgs84")
    assert report.can_run[0].startswith("可运行 / can run: survey, maps; packages, plan; ")


def _corpus_table(n: int = 40) -> pd.DataFrame:
    """Everything at once: BD-09, placeholders, units, decades, a cluster, an outlier."""
    table = real_table(n, seed=11).assign(所属县区="玉州区", 所属街道="玉城街道")
    x, y = wgs84_to_bd09(table["经度"].to_numpy(), table["纬度"].to_numpy())
    table = table.assign(经度=x, 纬度=y).astype(object)
    table.loc[0:2, "建成年代"] = ["不详", "九十年代", "暂无资料"]
    table.loc[3:5, "户数"] = ["1019 户", "暂无数据", "约300户"]
    table.loc[4, "楼栋数"] = "不详"
    table.loc[10:15, ["经度", "纬度"]] = [110.171, 22.642]
    table.loc[30, ["经度", "纬度"]] = [117.012, 36.657]
    return table


def test_corpus_runs_end_to_end_and_keeps_every_compound(tmp_path: Path) -> None:
    table = _corpus_table()
    path = tmp_path / "玉林老旧小区.xlsx"
    table.to_excel(path, index=False)
    result = run(path, tmp_path / "out", input_crs="bd09", maps=False, until="plan")
    comp = result.compounds
    assert sorted(comp["compound_id"]) == sorted(table["小区编号"])
    assert comp["status"].notna().all()
    verify = comp.set_index("compound_id")["status"]
    expected = {"YZ000", "YZ002", "YZ004", "YZ030"} | {f"YZ{i:03d}" for i in range(10, 16)}
    assert set(verify[verify == "待核实"].index) == expected
    assert (comp.loc[comp["status"] == "待核实", "exclusion_reason"].str.len() > 0).all()
    assert not comp.loc[comp["status"] == "待核实", "status"].isin(["planned", "packaged"]).any()
    assert (tmp_path / "out" / "validation_report.xlsx").exists()
    assert "YZ030" in "\n".join(
        str(c.value) for row in load_workbook(tmp_path / "out" / "validation_report.xlsx")["汇总"]
        .iter_rows() for c in row)


def test_declared_zone_crs_is_used_without_a_warning(tmp_path: Path) -> None:
    table = real_table(6)
    east, north = Transformer.from_crs(4490, 4525, always_xy=True).transform(
        table["经度"].to_numpy(), table["纬度"].to_numpy())
    path = tmp_path / "小区.csv"
    table.assign(经度=east, 纬度=north).to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="EPSG:4525")
    assert report.ok, report.to_text()
    assert "gauss-kruger" not in codes(report)
    assert np.allclose(layers.compounds.to_crs(4490).geometry.x, table["经度"], atol=1e-7)


def _mixed_gpkg(tmp_path: Path) -> tuple[Path, str | None, list[str]]:
    from conftest import _compound_frame

    comp = _compound_frame(6)
    comp.loc[1, "geometry"] = Point(X0 + 0.0025, Y0 + 0.0005)
    comp.loc[4, "geometry"] = Point(X0 + 0.0085, Y0 + 0.0005)
    comm = gpd.GeoDataFrame({"community_id": ["450902001001"], "name": ["东社区"],
                             "street": ["玉城街道"], "county": ["玉州区"]},
                            geometry=[box(X0 - 0.001, Y0 - 0.001, X0 + 0.015, Y0 + 0.002)],
                            crs=4490)
    path = tmp_path / "mixed.gpkg"
    comp.to_file(path, layer="compounds")
    comm.to_file(path, layer="communities")
    return path, None, comp["compound_id"].tolist()


def _gk_table(tmp_path: Path) -> tuple[Path, str | None, list[str]]:
    table = real_table(20).assign(所属县区="玉州区", 所属街道="玉城街道")
    east, north = Transformer.from_crs(4490, 4525, always_xy=True).transform(
        table["经度"].to_numpy(), table["纬度"].to_numpy())
    path = tmp_path / "gk.csv"
    table.assign(经度=east, 纬度=north).to_csv(path, index=False, encoding="gbk")
    return path, None, table["小区编号"].tolist()


def _messy_gcj02(tmp_path: Path) -> tuple[Path, str | None, list[str]]:
    table = real_table(15)
    x, y = wgs84_to_gcj02(table["经度"].to_numpy(), table["纬度"].to_numpy())
    table = table.assign(经度=x, 纬度=y, 所属县区="玉州区")
    path = tmp_path / "messy.xlsx"
    _messy_workbook(path, table)
    return path, "gcj02", table["小区编号"].tolist()


@pytest.mark.parametrize("make", [_mixed_gpkg, _gk_table, _messy_gcj02])
def test_corpus_inputs_run_end_to_end(tmp_path: Path, make) -> None:
    """``run --no-maps`` on each shape of input: every compound once, each with a status."""
    path, crs, ids = make(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "out"),
                                      "--no-maps"] + (["--input-crs", crs] if crs else []))
    assert result.exit_code == 0, result.output
    comp = gpd.read_file(tmp_path / "out" / "plan.gpkg", layer="compounds")
    assert sorted(comp["compound_id"]) == sorted(ids)
    assert comp["status"].notna().all() and (comp["status"] != "").all()
    unused = comp["status"] != "planned"
    assert (comp.loc[unused, "exclusion_reason"].fillna("") != "").all()
    assert (tmp_path / "out" / "validation_report.xlsx").exists()


def test_placeholder_in_an_identity_field_is_an_error(tmp_path: Path) -> None:
    table = real_table(4).astype(object)
    table.loc[2, "小区名称"] = "不详"
    path = tmp_path / "小区.csv"
    table.to_csv(path, index=False)
    layers, report = validate_input(path, input_crs="wgs84")
    assert layers is None
    assert [(p.code, p.row, p.field) for p in report.errors] == [("missing-value", "YZ002", "name")]
