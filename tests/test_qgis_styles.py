"""Tests for yulin_gis.maps._qgis_styles: the GeoPackage layer_styles table QGIS reads."""

from __future__ import annotations

import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, box

from yulin_gis.errors import InputFileError, SchemaError
from yulin_gis.maps import (
    TIER_LABELS_ZH,
    LayerStyle,
    Symbol,
    categorized_style,
    default_styles,
    graduated_style,
    ramp_colours,
    write_layer_styles,
)

QGIS_COLUMNS = [
    "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
    "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny plan.gpkg in EPSG:4490 with the plan layers (no joint_trenches), made once."""
    path = tmp_path_factory.mktemp("template") / "plan.gpkg"
    crs = "EPSG:4546"
    x0, y0 = 420_000.0, 2_504_000.0
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["c1", "c2", "c3", "c4"], "name": ["东苑", "西苑", "南苑", "北苑"],
         "tier": ["priority", "share", "excluded", "priority"]},
        geometry=[box(x0 + i * 100, y0, x0 + i * 100 + 80, y0 + 80) for i in range(4)], crs=crs,
    )
    packages = gpd.GeoDataFrame(
        {"package_id": ["PK-02", "PK-01"]},
        geometry=[box(x0, y0, x0 + 190, y0 + 90), box(x0 + 200, y0, x0 + 390, y0 + 90)], crs=crs,
    )
    communities = gpd.GeoDataFrame(
        {"community_id": ["m1"], "name": ["城西社区"]}, geometry=[box(x0 - 10, y0 - 10, x0 + 400, y0 + 100)],
        crs=crs,
    )
    line = [LineString([(x0, y0 - 5), (x0 + 300, y0 - 5)])]
    utilities = gpd.GeoDataFrame({"segment_id": ["s1", "s2"], "utility": ["gas", "sewer"]},
                                 geometry=line * 2, crs=crs)
    upgrades = gpd.GeoDataFrame({"segment_id": ["s1", "s2", "s3"], "plan_year": [2026, 2025, 2026]},
                                geometry=line * 3, crs=crs)
    for name, layer in [("compounds", compounds), ("packages", packages), ("communities", communities),
                        ("utilities", utilities), ("pipe_upgrades", upgrades)]:
        layer.to_crs("EPSG:4490").to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


@pytest.fixture
def gpkg(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template GeoPackage for one test."""
    path = tmp_path / "plan.gpkg"
    shutil.copyfile(template, path)
    return path


def _rows(path: Path) -> list[dict[str, object]]:
    with sqlite3.connect(path) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM layer_styles ORDER BY f_table_name, id")]


def _qml(path: Path, table: str) -> ET.Element:
    (row,) = [r for r in _rows(path) if r["f_table_name"] == table and r["useAsDefault"] == 1]
    return ET.fromstring(str(row["styleQML"]))


def test_table_has_qgis_columns_and_one_default_row_per_layer(gpkg: Path) -> None:
    styled = write_layer_styles(gpkg, styles=default_styles())
    assert styled == ["communities", "compounds", "packages", "pipe_upgrades", "utilities"]
    with sqlite3.connect(gpkg) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert cols == QGIS_COLUMNS
    rows = _rows(gpkg)
    assert sorted(r["f_table_name"] for r in rows) == styled
    assert all(r["useAsDefault"] == 1 for r in rows)
    assert all(r["f_geometry_column"] == "geom" for r in rows)  # pyogrio's geometry column
    assert all(r["f_table_catalog"] == "" and r["f_table_schema"] == "" for r in rows)
    assert all(str(r["update_time"]).endswith("Z") for r in rows)


def test_compounds_qml_is_categorized_by_tier_with_chinese_labels(gpkg: Path) -> None:
    write_layer_styles(gpkg)
    root = _qml(gpkg, "compounds")
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == "tier"
    cats = renderer.findall("categories/category")
    assert [c.get("value") for c in cats] == ["priority", "share", "excluded", ""]
    assert [c.get("label") for c in cats] == ["重点改造", "按比例纳入", "不纳入", "其他"]
    symbols = renderer.findall("symbols/symbol")
    assert [s.get("name") for s in symbols] == ["0", "1", "2", "3"]
    assert {s.get("type") for s in symbols} == {"fill"}
    colour = symbols[0].find("layer/Option/Option[@name='color']")
    assert colour is not None
    assert colour.get("value") == "215,48,31,255"  # TIER_COLOURS["priority"] #d7301f
    assert root.findtext("layerGeometryType") == "2"


def test_auto_categories_and_ranges_come_from_the_data(gpkg: Path) -> None:
    write_layer_styles(gpkg)
    packages = _qml(gpkg, "packages").find("renderer-v2")
    assert packages is not None
    assert packages.get("type") == "categorizedSymbol"
    assert [c.get("value") for c in packages.findall("categories/category")] == ["PK-01", "PK-02", ""]
    upgrades = _qml(gpkg, "pipe_upgrades").find("renderer-v2")
    assert upgrades is not None
    assert upgrades.get("type") == "graduatedSymbol"
    assert upgrades.get("attr") == "plan_year"
    ranges = upgrades.findall("ranges/range")
    assert [(float(r.get("lower", "nan")), float(r.get("upper", "nan"))) for r in ranges] == [
        (2024.5, 2025.5), (2025.5, 2026.5)]
    assert [r.get("label") for r in ranges] == ["2025年", "2026年"]
    assert {s.get("type") for s in upgrades.findall("symbols/symbol")} == {"line"}


def test_utilities_by_type_and_communities_as_outline(gpkg: Path) -> None:
    write_layer_styles(gpkg)
    util = _qml(gpkg, "utilities").find("renderer-v2")
    assert util is not None
    labels = {c.get("value"): c.get("label") for c in util.findall("categories/category")}
    assert labels["gas"] == "燃气"
    assert labels["water_supply"] == "给水"
    assert len(labels) == 9  # eight utility types and the catch-all
    assert labels[""] == "其他"
    comm = _qml(gpkg, "communities").find("renderer-v2")
    assert comm is not None
    assert comm.get("type") == "singleSymbol"
    style = comm.find("symbols/symbol/layer/Option/Option[@name='style']")
    assert style is not None
    assert style.get("value") == "no"  # outline only
    dash = comm.find("symbols/symbol/layer/Option/Option[@name='outline_style']")
    assert dash is not None
    assert dash.get("value") == "dash"
    packages = _qml(gpkg, "packages").find("renderer-v2")
    assert packages is not None
    outlines = [o.get("value") for o in
                packages.findall("symbols/symbol/layer/Option/Option[@name='outline_color']")]
    assert outlines == ["31,120,180,255", "51,160,44,255", "224,224,224,255"]  # class colours


def test_layer_styles_is_a_registered_attributes_table(gpkg: Path) -> None:
    before = gpd.read_file(gpkg, layer="compounds")
    write_layer_styles(gpkg)
    with sqlite3.connect(gpkg) as con:
        (kind,) = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
        geom_rows = con.execute(
            "SELECT COUNT(*) FROM gpkg_geometry_columns WHERE table_name = 'layer_styles'").fetchone()
    assert kind == "attributes"
    assert geom_rows == (0,)
    layers = dict(pyogrio.list_layers(gpkg))
    # GDAL lists the styles as a non-spatial table, never as a spatial layer
    assert layers["layer_styles"] is None
    assert layers["compounds"] == "Polygon"
    assert layers["pipe_upgrades"] == "LineString"
    after = gpd.read_file(gpkg, layer="compounds")
    assert after.equals(before)
    table = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert len(table) == 5
    assert set(table["useAsDefault"]) == {True}


def test_rerun_replaces_rows_and_only_one_default_per_layer(gpkg: Path) -> None:
    write_layer_styles(gpkg)
    first = {r["f_table_name"]: r["id"] for r in _rows(gpkg)}
    write_layer_styles(gpkg)
    rows = _rows(gpkg)
    assert len(rows) == len(first)
    assert all(r["id"] != first[str(r["f_table_name"])] for r in rows)  # replaced, not kept
    other = LayerStyle(symbol=Symbol("#000000"), name="另一样式")
    write_layer_styles(gpkg, styles={"compounds": other})
    comp = [r for r in _rows(gpkg) if r["f_table_name"] == "compounds"]
    assert sorted((r["styleName"], r["useAsDefault"]) for r in comp) == [
        ("yulin_gis 默认样式", 0), ("另一样式", 1)]
    with sqlite3.connect(gpkg) as con:
        (count,) = con.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'").fetchone()
    assert count == len(first) + 1


def test_missing_layers_are_skipped_and_missing_field_falls_back(gpkg: Path) -> None:
    styles = {"joint_trenches": default_styles()["joint_trenches"],
              "communities": LayerStyle(field="no_such_field", auto=True)}
    assert write_layer_styles(gpkg, styles=styles) == ["communities"]
    renderer = _qml(gpkg, "communities").find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "singleSymbol"


def test_sld_is_xml_with_one_rule_per_class() -> None:
    style = categorized_style("tier", list(TIER_LABELS_ZH), TIER_LABELS_ZH)
    root = ET.fromstring(style.to_sld("compounds", "polygon"))
    ns = {"se": "http://www.opengis.net/se"}
    rules = root.findall(".//se:Rule", ns)
    assert [r.findtext("se:Name", namespaces=ns) for r in rules] == ["重点改造", "按比例纳入", "不纳入", "其他"]
    assert rules[-1].find("se:ElseFilter", ns) is not None
    points = ET.fromstring(LayerStyle(symbol=Symbol("#ff0000")).to_sld("x", "point"))
    assert points.find(".//se:PointSymbolizer", ns) is not None


def test_labels_are_escaped_in_qml() -> None:
    style = categorized_style("name", ['a"<b>&'], {'a"<b>&': "<脚本>&\"引号\""}, other=None)
    root = ET.fromstring(style.to_qml("point"))
    (cat,) = root.findall("renderer-v2/categories/category")
    assert cat.get("value") == 'a"<b>&'
    assert cat.get("label") == '<脚本>&"引号"'


def test_graduated_style_validation_and_ramp() -> None:
    style = graduated_style("priority", [0, 50, 100])
    assert style.renderer == "graduatedSymbol"
    assert [r.label for r in style.ranges] == ["0 – 50", "50 – 100"]
    with pytest.raises(SchemaError):
        graduated_style("priority", [0, 0, 1])
    with pytest.raises(SchemaError):
        graduated_style("priority", [0, 1, 2], colours=["#ffffff"])
    assert ramp_colours(3, "#000000", "#ffffff") == ["#000000", "#808080", "#ffffff"]
    with pytest.raises(SchemaError):
        LayerStyle(symbol=Symbol("bad")).to_qml("line")


def test_bad_files_raise_input_file_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError):
        write_layer_styles(tmp_path / "missing.gpkg")
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(InputFileError):
        write_layer_styles(plain)


def test_missing_field_gives_single_symbol_and_many_values_an_expression(
    gpkg: Path, caplog: pytest.LogCaptureFixture
) -> None:
    many = gpd.GeoDataFrame({"package_id": [f"PK-{i:03d}" for i in range(61)]},
                            geometry=[box(i, 0, i + 1, 1) for i in range(61)], crs="EPSG:4546")
    many.to_file(gpkg, layer="many_packages", driver="GPKG", engine="pyogrio")  # > MAX_CATEGORIES
    styles = default_styles()
    with caplog.at_level("WARNING", logger="yulin_gis.maps._qgis_styles"):
        write_layer_styles(gpkg, styles={"many_packages": styles["packages"],
                                  "communities": styles["compounds"]})  # communities lack tier
    assert any("no field 'tier'" in r.getMessage() for r in caplog.records)
    comm = _qml(gpkg, "communities").find("renderer-v2")
    assert comm is not None
    assert comm.get("type") == "singleSymbol"
    pk = _qml(gpkg, "many_packages").find("renderer-v2")
    assert pk is not None
    assert pk.get("type") == "singleSymbol"
    prop = pk.find(".//data_defined_properties//Option[@name='outlineColor']")
    assert prop is not None
    expr = prop.find("Option[@name='expression']")
    assert expr is not None
    assert "$id" in str(expr.get("value"))
