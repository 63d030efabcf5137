"""Tests of the plan workbooks: Chinese headers, numbers read back, formula injection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from yulin_gis.errors import OutputError
from yulin_gis.planning import (
    allocate_plan,
    assess_counties,
    funding_by_county_year,
    package_funding,
    schedule_packages,
)
from yulin_gis.reports import (
    HEADER_ROW,
    PLAN_COLUMNS_ZH,
    plan_table,
    write_city_summary_workbook,
    write_plan_workbooks,
    write_workbook,
)

ITEM_CLASSES = {"water": "basic", "road": "basic", "lift": "improve", "clinic": "upgrade"}
ITEM_LABELS = {"water": "供水", "road": "道路", "lift": "加装电梯", "clinic": "卫生服务站"}


@pytest.fixture
def compounds() -> pd.DataFrame:
    return pd.DataFrame({
        "compound_id": ["c1", "c2", "c3", "c4"],
        "name": ["=HYPERLINK(\"http://x\")", "南江小区", "+城北宿舍", "福绵新村"],
        "package_id": ["P1", "P1", "P2", "Q1"],
        "community_id": ["S01", "S01", "S02", "S09"],
        "street": ["南江街道", "南江街道", "城北街道", "福绵镇"],
        "county": ["玉州区", "玉州区", "玉州区", "福绵区"],
        "built_year": [1995, 1998, 2003, 1990],
        "buildings": [3, 2, 4, 1],
        "households": [60, 40, 120, 30],
        "floor_area_m2": [5000.5, 3000.0, 9000.0, 2100.0],
        "items": ["water,road,lift", "road", "water,clinic", "-road"],
        "items_basic": [2, 1, 1, 0], "items_improve": [1, 0, 0, 0], "items_upgrade": [0, 0, 1, 0],
        "cost_yuan": [300000.0, 100000.0, 500000.0, 80000.0],
    })


@pytest.fixture
def plan(compounds: pd.DataFrame):
    packages = pd.DataFrame({
        "package_id": ["P1", "P2", "Q1"], "county": ["玉州区", "玉州区", "福绵区"],
        "households": [100, 120, 30], "cost_yuan": [400000.0, 500000.0, 80000.0],
        "priority": [90, 50, 70], "pre2000_households": [100, 0, 30],
        "share_households": [0, 120, 0],
    })
    return allocate_plan(packages, years=(2022, 2023), budget_by_county_year={"玉州区": 500000, "福绵区": 50000},
                         share_cap=None)


def test_county_workbooks_read_back(tmp_path: Path, compounds: pd.DataFrame, plan) -> None:
    sched = schedule_packages(plan.packages)
    table = plan_table(compounds, sched, item_classes=ITEM_CLASSES, item_labels=ITEM_LABELS)
    paths = write_plan_workbooks(tmp_path, table)
    assert [p.name for p in paths] == ["玉州区_2022_年度改造计划表.xlsx",
                                       "玉州区_2023_年度改造计划表.xlsx"]
    df = pd.read_excel(paths[0], header=HEADER_ROW - 1)
    expected = [h.replace("(元)", "(万元)") for h in PLAN_COLUMNS_ZH.values()]
    expected = [f"{h}(%)" if h == "居民同意率" else h for h in expected]
    assert list(df.columns) == [*expected, "户均居民出资（元/户）"]
    body, total = df.iloc[:-1], df.iloc[-1]
    assert list(body["小区编号"]) == ["c1", "c2"]
    assert list(body["户数"]) == [60, 40]
    assert total["序号"] == "合计"
    assert total["户数"] == 100
    assert total["总投资(万元)"] == pytest.approx(40.0)  # 400,000 元 in 万元
    funders = body[["居民出资(万元)", "管线单位出资(万元)", "政府出资(万元)"]].sum(axis=1)
    assert funders.to_list() == pytest.approx(body["总投资(万元)"].to_list(), abs=0.02)
    assert body.loc[0, "基础类改造内容"] == "供水、道路"
    assert body.loc[0, "完善类改造内容"] == "加装电梯"
    assert body.loc[0, "建筑面积(m²)"] == 5000  # whole square metres
    assert pd.Timestamp(body.loc[0, "计划开工"]) == pd.Timestamp(date(2022, 4, 1))

    wb = openpyxl.load_workbook(paths[0])
    ws = wb.active
    assert ws.title == "2022年改造计划"
    assert ws["A1"].value == "玉州区2022年城镇老旧小区改造计划表"
    assert any(str(c.value).startswith("单位：万元") for c in ws[1])
    name_cell = ws.cell(row=HEADER_ROW + 1, column=2)
    assert name_cell.value == "=HYPERLINK(\"http://x\")"
    assert name_cell.data_type == "s"
    ws2 = openpyxl.load_workbook(paths[1]).active
    assert ws2.cell(row=HEADER_ROW + 1, column=2).value == "+城北宿舍"
    assert ws2.cell(row=HEADER_ROW + 1, column=2).data_type == "s"
    assert ws2.cell(row=HEADER_ROW + 1, column=19).value == "卫生服务站"  # 提升类改造内容


def test_city_summary_read_back(tmp_path: Path, compounds: pd.DataFrame, plan) -> None:
    funded = package_funding(plan.packages, compounds, item_classes=ITEM_CLASSES)
    funding = funding_by_county_year(funded)
    progress = pd.DataFrame({"package_id": ["P1"], "status": ["completed"],
                             "actual_start": [pd.Timestamp("2022-04-01")],
                             "actual_completion": [pd.Timestamp("2022-11-01")],
                             "actual_basic_completion": [pd.NaT]})
    assessment = assess_counties(plan, progress, as_of=date(2023, 1, 10), years={2022})
    path = write_city_summary_workbook(tmp_path / "out" / "全市汇总.xlsx", plan, funding,
                                       assessment)
    sheets = pd.read_excel(path, sheet_name=None, header=HEADER_ROW - 1)
    assert list(sheets) == ["分年度汇总", "覆盖情况", "逐年覆盖", "未纳入计划", "考核排名"]
    summary = sheets["分年度汇总"]
    body = summary.iloc[:-1]
    assert summary.iloc[-1]["县（市、区）"] == "合计"
    assert summary.iloc[-1]["总投资(万元)"] == pytest.approx(plan.totals["cost_yuan"].sum() / 1e4,
                                                         abs=0.01)
    y22 = body[(body["县（市、区）"] == "玉州区") & (body["年度"] == 2022)].iloc[0]
    assert y22["户数"] == 100
    assert y22["居民出资(万元)"] + y22["管线单位出资(万元)"] + y22["政府出资(万元)"] == pytest.approx(
        40.0, abs=0.02)
    cov = sheets["覆盖情况"].set_index("县（市、区）")
    assert cov.loc["福绵区", "是否全覆盖"] == "否"
    assert cov.loc["玉州区", "是否全覆盖"] == "是"
    assert cov.loc["福绵区", "全覆盖尚需追加预算(万元)"] == pytest.approx(
        plan.budget_needed.extra_yuan_by_county["福绵区"] / 1e4, abs=0.005)
    left = sheets["未纳入计划"]
    assert left.iloc[0]["片区编号"] == "Q1"
    assert "超过本县区最大年度预算" in left.iloc[0]["未纳入原因"]
    rank = sheets["考核排名"]
    assert rank.iloc[0]["县（市、区）"] == "玉州区"
    assert rank.iloc[0]["排名"] == 1
    assert not list((tmp_path / "out").glob(".*part*"))


def test_write_workbook_atomic_and_injection(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "t.xlsx"
    write_workbook(path, {"a/b": pd.DataFrame({"名称": ["@SUM(A1)", "-1+2", "ok"],
                                                "户数": [1, 2, 3]})}, total_rows=False)
    wb = openpyxl.load_workbook(path)
    ws = wb["a_b"]
    assert [ws.cell(row=r, column=1).value for r in (3, 4, 5)] == ["@SUM(A1)", "-1+2", "ok"]
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in (3, 4, 5))
    assert ws.max_row == 5  # no total row
    before = path.read_bytes()

    def broken_close(self) -> None:  # the writer dies half-way through the file
        Path(self.filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", broken_close)
    with pytest.raises(OutputError, match="disk full"):
        write_workbook(path, {"x": pd.DataFrame({"a": [1]})})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]


def test_chart_without_cjk_font_still_renders(tmp_path: Path, plan, monkeypatch) -> None:
    import yulin_gis.reports._charts as charts

    monkeypatch.setattr(charts, "cjk_font_family", lambda: None)
    png = charts.chart_coverage(plan.coverage_by_year, tmp_path / "c.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_charts_and_html_summary(tmp_path: Path, compounds: pd.DataFrame, plan) -> None:
    from yulin_gis.reports import cjk_font_family, plan_charts, write_plan_summary_html

    funding = funding_by_county_year(package_funding(plan.packages, compounds))
    progress = pd.DataFrame({"package_id": ["P1"], "status": ["in_progress"],
                             "actual_start": [pd.Timestamp("2022-07-10")],
                             "actual_completion": [pd.NaT], "actual_basic_completion": [pd.NaT]})
    assessment = assess_counties(plan, progress, as_of=date(2023, 1, 10), years={2022})
    charts = plan_charts(plan, tmp_path / "a", funding, assessment)
    assert sorted(charts) == ["coverage", "funding", "households_cost", "progress"]
    for png in charts.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = plan_charts(plan, tmp_path / "b", funding, assessment)
    assert charts["coverage"].read_bytes() == again["coverage"].read_bytes()
    font = cjk_font_family()
    assert font is None or isinstance(font, str)

    evil = "<script>alert(1)</script>"
    page = write_plan_summary_html(
        tmp_path / "summary.html", title=f"玉林市 {evil}",
        images={"户数与投资": charts["households_cost"], evil: charts["coverage"]},
        tables={"考核": assessment.assign(county=evil)},
        facts={"全覆盖": plan.covered, "尚需追加预算(元)": plan.budget_needed.extra_yuan},
        notes=[f"note {evil}"],
    )
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("data:image/png;base64,") == 2
    assert "http://" not in text
    assert "https://" not in text
    assert "户数与投资" in text
    assert "<td>否</td>" in text
