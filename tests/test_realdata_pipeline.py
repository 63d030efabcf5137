"""Real data end to end (issue 12, pipeline side): tables shaped like real ones go through
every stage, degrade instead of crashing, and account for every compound.

Inputs are cut from the embedded survey table: no community and no county (points inside
Yulin, some moved into 北流市), community names instead of codes, county only in the
address, compounds to verify (待核实), no survey gap fields.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

from yulin_gis.io import county_from_address, fill_divisions, match_community, safe_filename
from yulin_gis.pipeline import run
from yulin_gis.profile import load_profile
from yulin_gis.sample import get_path

N = 60
BEILIU_SHIFT = (110.354 - 110.147, 22.708 - 22.639)  # urban 玉州区 → urban 北流市 (GCJ-02)
ADMIN = ["所属县区", "所属街道", "所属社区", "社区名称"]
NA_TEXT = re.compile(r"<NA>|\bnan\b|\bNaT\b|\bNone\b|NA-P\d")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The first compounds of the embedded survey table (urban 玉州区, GCJ-02)."""
    return pd.read_excel(get_path("survey"), nrows=N)


def _points_no_admin(table: pd.DataFrame) -> pd.DataFrame:
    """No community, street or county; the last third moved into 北流市."""
    t = table.drop(columns=ADMIN).copy()
    moved = t.index >= 2 * N // 3
    t.loc[moved, "经度"] += BEILIU_SHIFT[0]
    t.loc[moved, "纬度"] += BEILIU_SHIFT[1]
    return t


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_excel(path, index=False)
    return path


def _cells(path: Path) -> list[str]:
    wb = load_workbook(path, read_only=True)
    out = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
           for v in row if v is not None]
    wb.close()
    return out


def _assert_clean(out: Path, result, ids: list[str]) -> None:
    """Every compound once; no <NA>/nan anywhere in file names, ids or workbook cells."""
    comp = result.compounds
    assert sorted(comp["compound_id"].astype(str)) == sorted(ids)
    assert comp["status"].notna().all()
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in files if NA_TEXT.search(p.name)]
    if result.state.packages is not None:
        pids = result.state.packages["package_id"].astype(str)
        assert not pids.str.contains(NA_TEXT).any()
    for book in sorted(out.rglob("*.xlsx")):
        bad = [c for c in _cells(book) if NA_TEXT.search(c)]
        assert not bad, (book.name, bad[:5])


def test_points_without_community_or_county_run_end_to_end(table, tmp_path: Path) -> None:
    src = _write(_points_no_admin(table), tmp_path / "小区.xlsx")
    out = tmp_path / "out"
    result = run(src, out, input_crs="gcj02", maps=False)
    comp = result.compounds
    _assert_clean(out, result, table["小区编号"].astype(str).tolist())
    moved = comp["compound_id"].isin(table["小区编号"].iloc[2 * N // 3:])
    assert set(comp.loc[moved, "county"]) == {"北流市"}
    assert set(comp.loc[~moved, "county"]) == {"玉州区"}
    pk = result.state.packages
    assert len(pk) and (pk["community_unknown"] == 1).all()
    assert pk["flag_reason"].str.contains("社区未知").all()
    assert set(pk["package_id"].str.split("-").str[0]) == {"450902", "450981"}
    assert (comp["status"] == "planned").any()
    assert sorted(p.name for p in (out / "年度计划").iterdir())[0].startswith("北流市_")
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["notes"] == [("no community_id: 60 compounds per county, packages flagged "
                                 "社区未知")]
    assert all(not Path(k).is_absolute() and ".." not in k for k in manifest["outputs"])
    assert "plan.gpkg" in manifest["outputs"]


def test_points_with_maps(table, tmp_path: Path) -> None:
    """Point compounds through every stage, maps included: packages are hull polygons."""
    src = _write(_points_no_admin(table).head(30), tmp_path / "t.xlsx")
    result = run(src, tmp_path / "out", input_crs="gcj02", maps=True)
    pk = result.state.packages
    assert set(pk.geom_type) == {"Polygon"}
    assert (pk.geometry.area > 0).all()
    assert result.maps_dir is not None and any(result.maps_dir.glob("*.html"))


def test_community_names_matched_to_official_codes(table, tmp_path: Path) -> None:
    t = table.drop(columns=["所属社区"]).rename(columns={"社区名称": "所属社区"})
    t.loc[t.index[:5], "所属社区"] = t.loc[t.index[:5], "所属社区"].str.replace("社区", "")
    src = _write(t, tmp_path / "names.xlsx")
    out = tmp_path / "out"
    result = run(src, out, input_crs="gcj02", maps=False)
    _assert_clean(out, result, table["小区编号"].astype(str).tolist())
    got = result.compounds.set_index("compound_id")["community_id"]
    want = table.set_index("小区编号")["所属社区"].astype(str)
    assert (got.loc[want.index] == want).all()
    assert (result.state.packages["community_unknown"] == 0).all()


def test_match_community_exact_suffix_and_ambiguous() -> None:
    div = pd.read_csv(load_profile().reference.divisions, dtype=str)
    assert match_community("东成社区", div)[0] == "450902001001"
    assert match_community("东成", div)[0] == "450902001001"
    assert match_community("东成社区居委会", div)[0] == "450902001001"
    code, cands = match_community("城西社区", div)  # in 容县 and in 兴业县
    assert code is None and len(cands) >= 2
    assert match_community("城西社区", div, county="容县")[0] == "450921100004"
    assert match_community("不存在社区", div) == (None, [])


def test_county_from_address_and_unplaced_compounds() -> None:
    names = ["玉州区", "北流市", "容县"]
    assert county_from_address("广西玉林市北流市城南路1号", names) == "北流市"
    assert county_from_address("容县容州镇", names) == "容县"
    assert county_from_address("某路1号", names) is None
    comp = gpd.GeoDataFrame(
        {"compound_id": ["a", "b", "c"], "address": ["玉林市北流市新荣路", None, "玉州区人民路"]},
        geometry=[None, None, Point(110.15, 22.63)], crs="EPSG:4490")
    out, rep = fill_divisions(comp, load_profile())
    assert out["county"].tolist()[0] == "北流市" and out["county"].tolist()[2] == "玉州区"
    assert rep.county_by_address == 1 and rep.county_by_location == 1
    assert out["needs_verification"].tolist() == [False, True, False]
    assert out["package_unit"].tolist() == ["450981", "", "450902"]


def test_address_only_gives_the_county(table, tmp_path: Path) -> None:
    t = _points_no_admin(table)
    t["地址"] = np.where(t.index >= 2 * N // 3, "玉林市北流市" + t["地址"].str[6:],
                       "玉林市" + t["地址"])
    result = run(_write(t, tmp_path / "a.xlsx"), tmp_path / "out", input_crs="gcj02",
                 until="survey", maps=False)
    assert set(result.compounds["county"]) == {"玉州区", "北流市"}


def test_compounds_to_verify_are_never_planned(table, tmp_path: Path) -> None:
    t = table.copy()
    t["needs_verification"] = ["是" if i % 10 == 0 else "否" for i in range(N)]
    t["verification_reason"] = ["建成年份不详" if i % 10 == 0 else "" for i in range(N)]
    out = tmp_path / "out"
    result = run(_write(t, tmp_path / "v.xlsx"), out, input_crs="gcj02", maps=False)
    comp = result.compounds.set_index("compound_id")
    held = t.loc[t.index % 10 == 0, "小区编号"].astype(str).tolist()
    assert (comp.loc[held, "status"] == "待核实").all()
    assert comp.loc[held, "exclusion_reason"].str.contains("建成年份不详").all()
    assert (comp.loc[held, "package_id"].fillna("") == "").all()
    assert [n for n in result.notes if "待核实" in n] == [
        f"6 compounds to verify (待核实), never planned: {', '.join(held)}"]
    for book in ("摸底调查评估表.xlsx", "全市汇总.xlsx"):
        wb = load_workbook(out / book, read_only=True)
        ws = wb["待核实清单"]
        listed = {str(r[0]) for r in ws.iter_rows(values_only=True) if r and r[0] in held}
        wb.close()
        assert listed == set(held), book


def test_no_survey_fields_costs_not_estimated(table, tmp_path: Path) -> None:
    from yulin_gis.io import GAP_FIELDS

    gap_headers = {f.label_zh for f in GAP_FIELDS}
    t = table[[c for c in table.columns if c not in gap_headers]]
    out = tmp_path / "out"
    result = run(_write(t, tmp_path / "bare.xlsx"), out, input_crs="gcj02", maps=False)
    _assert_clean(out, result, table["小区编号"].astype(str).tolist())
    assert "no survey gap fields: costs not estimated (未估算)" in result.notes
    assert result.compounds["cost_yuan"].isna().all()
    assert result.state.packages["cost_yuan"].isna().all()
    years = result.compounds["plan_year"].replace("", np.nan).dropna().astype(int)
    assert years.nunique() > 1  # spread by households, not all in the first year
    book = sorted((out / "年度计划").iterdir())[0]
    rows = list(load_workbook(book, read_only=True).worksheets[0].iter_rows(values_only=True))
    col = next(i for i, h in enumerate(rows[1]) if str(h or "").startswith("总投资"))
    costs = [r[col] for r in rows[2:] if isinstance(r[0], int)]
    assert costs and costs == [None] * len(costs)  # blank (未估算), never 0 yuan
    con = sqlite3.connect(out / "plan.gpkg")
    assert con.execute("select count(*) from compounds where cost_yuan is not null"
                       ).fetchone()[0] == 0
    con.close()


def test_plan_gpkg_types(table, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(_write(table, tmp_path / "t.xlsx"), out, input_crs="gcj02", maps=False)
    con = sqlite3.connect(out / "plan.gpkg")
    layers = [r[0] for r in con.execute("select table_name from gpkg_contents where "
                                        "table_name != 'layer_styles'")]  # QGIS's own table
    assert {"compounds", "packages"} <= set(layers)
    for layer in layers:
        cols = [r[1] for r in con.execute(f'pragma table_info("{layer}")')]
        for col in cols:
            blank = con.execute(f'select count(*) from "{layer}" where "{col}" in '
                                "('', 'nan', '<NA>', 'None')").fetchone()
            assert blank[0] == 0, (layer, col)
            types = {r[0] for r in con.execute(f'select distinct typeof("{col}") from "{layer}"')}
            if col.endswith("_year") or col in {"households", "buildings", "n_compounds"}:
                assert types <= {"integer", "null"}, (layer, col, types)
            if col in {"flag", "eligible", "community_unknown"}:
                assert types <= {"integer", "null"}, (layer, col, types)
                vals = {r[0] for r in con.execute(f'select distinct "{col}" from "{layer}"')}
                assert vals <= {0, 1, None}
            if col.endswith("_id"):
                assert types <= {"text", "null"}, (layer, col, types)
    n = con.execute("select count(*) from compounds").fetchone()[0]
    nulls = con.execute("select count(*) from compounds where plan_year is null").fetchone()[0]
    later = con.execute("select count(*) from compounds where plan_year > 2023").fetchone()[0]
    planned = con.execute("select count(*) from compounds where plan_year between 2022 and 2025"
                          ).fetchone()[0]
    con.close()
    assert 0 < nulls < n and 0 < later < planned and planned + nulls == n


@pytest.mark.parametrize(("name", "want"), [
    ("玉州区", "玉州区"), ('a/b:c*?"<>|', "a_b_c"), ("name. ", "name"), ("CON", "CON_"),
    ("lpt1.txt", "lpt1.txt_"), (None, "未填"), (float("nan"), "未填"), ("<NA>", "未填"),
])
def test_safe_filename(name: object, want: str) -> None:
    assert safe_filename(name) == want


def test_help_shows_example_and_only_used_options() -> None:
    from click.testing import CliRunner

    from yulin_gis.cli.main import cli

    runner = CliRunner()
    for name in ("validate", "run", "demo", "survey", "packages", "plan", "utilities",
                 "progress"):
        text = runner.invoke(cli, [name, "--help"]).output
        assert "Example:" in text and f"yulin-gis {name} " in text, name
    survey = runner.invoke(cli, ["survey", "--help"]).output
    for option in ("--budget", "--capacity", "--min-households", "--max-households", "--unit"):
        assert option not in survey
    packages = runner.invoke(cli, ["packages", "--help"]).output
    assert "--min-households" in packages and "--budget" not in packages
    assert "--budget" in runner.invoke(cli, ["run", "--help"]).output


def test_closing_line_says_where_files_went(table, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from yulin_gis.cli.main import cli

    src = _write(_points_no_admin(table).head(20), tmp_path / "t.xlsx")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["survey", str(src), "--input-crs", "gcj02", "--out",
                                   str(out), "--no-maps"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[-1].endswith("(plan.gpkg, workbooks; no maps; manifest: run_manifest.json)")
    assert str(out) in lines[-1]
    notes = [ln for ln in lines if ln.startswith("note:")]
    assert notes == ["note: no community_id: 20 compounds per county, packages flagged 社区未知"]


def test_county_from_community_code_when_position_is_outside() -> None:
    comp = gpd.GeoDataFrame(
        {"compound_id": ["a", "b"], "community_id": ["450902001001", None],
         "address": ["玉州区人民路", "玉州区人民路"]},
        geometry=[Point(117.0, 36.6), Point(117.0, 36.6)], crs="EPSG:4490")  # Shandong
    out, rep = fill_divisions(comp, load_profile())
    assert out["county"].tolist() == ["玉州区", None]
    assert rep.county_by_code == 1 and rep.county_unknown_ids == ["b"]


def test_package_shape_of_points_and_mixed_members() -> None:
    from shapely.geometry import box

    from yulin_gis.packaging._packages import POINT_HULL_BUFFER_M, _package_shape

    pts = np.array([Point(0, 0), Point(100, 0), Point(0, 100)], dtype=object)
    hull = _package_shape(pts)
    assert hull.geom_type == "Polygon"
    assert all(hull.contains(p) for p in pts)
    assert hull.area > 100 * 100 / 2  # the triangle plus its buffer
    assert hull.exterior.distance(Point(0, 0)) == pytest.approx(POINT_HULL_BUFFER_M, rel=0.05)
    mixed = _package_shape(np.array([box(500, 500, 600, 600), Point(0, 0)], dtype=object))
    assert mixed.area > 100 * 100 and mixed.contains(Point(550, 550))
    assert _package_shape(np.array([], dtype=object)) is None


def test_second_city_without_reference_data_degrades(table, tmp_path: Path) -> None:
    """A profile with no county boundaries, a table with no county and no community: the
    survey is written, every compound is 待核实 with its reason, no empty plan tables."""
    from yulin_gis.pipeline import PlanOptions
    from yulin_gis.profile import DEFAULT_PROFILE_PATH

    other = DEFAULT_PROFILE_PATH.parent / "example_other_city.toml"
    src = _write(_points_no_admin(table).head(20), tmp_path / "t.xlsx")
    out = tmp_path / "out"
    result = run(src, out, input_crs="gcj02", maps=False,
                 options=PlanOptions(profile_path=other))
    _assert_clean(out, result, table["小区编号"].head(20).astype(str).tolist())
    assert set(result.compounds["status"]) == {"待核实"}
    assert result.compounds["exclusion_reason"].str.contains("无所属社区、街道或县区").all()
    assert "no packages: no annual plan" in result.notes
    assert result.notes[0].startswith("no county for 20 compounds (none given, and the "
                                      "profile names no county boundaries)")
    assert (out / "摸底调查评估表.xlsx").exists() and not (out / "年度计划").exists()
