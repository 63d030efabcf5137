"""Documents an official can sign (issue 13 §4–§9): read back the real workbooks of a run.

Each test opens the workbooks the pipeline wrote for :func:`small_run` (150 synthetic
compounds, whole pipeline, no budget) with openpyxl and asserts on their content.
Seed clauses are those of 玉政办发〔2022〕13号.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook

from yulin_gis.profile import load_profile
from yulin_gis.reports import (
    UNCONSTRAINED_ZH,
    budget_constrained,
    management_model,
    official_frame,
    official_value,
    parameters_frame,
    quantity_display,
    safe_name,
    zh_text,
)

ENGLISH = re.compile(r"[A-Za-z]{3,}")
ALLOWED = {"EPSG"}
"""Tokens that may appear in a cell (kept tiny on purpose)."""
CODE_HEADERS = {"参数代码"}
"""Columns that hold profile key paths (codes in their own column)."""
BAD_TEXT = {"True", "False", "nan", "NaN", "None", "<NA>", "NaT"}


def _books(run: Any) -> list[Path]:
    return sorted(run.out_dir.rglob("*.xlsx"))


def _table(path: Path, sheet: str) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=sheet, header=1, dtype={"社区代码": str, "片区编号": str})


def audit_workbook(path: Path) -> list[str]:
    """Problems of one workbook: English words, float noise, bool/NaN text, bool cells."""
    problems = []
    wb = load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        headers = [str(v) for v in rows[1]] if len(rows) > 1 else []
        skip = {j for j, h in enumerate(headers) if h in CODE_HEADERS}
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                where = f"{path.name}!{ws.title}!R{i}C{j + 1}: {v!r}"
                if isinstance(v, bool):
                    problems.append(f"bool {where}")
                elif isinstance(v, str):
                    words = set(ENGLISH.findall(v)) - ALLOWED
                    if words and j not in skip:
                        problems.append(f"english {where}")
                    if v.strip() in BAD_TEXT:
                        problems.append(f"missing-value text {where}")
                elif isinstance(v, float) and round(v, 2) != v:
                    problems.append(f"float noise {where}")
    return problems


def test_every_workbook_is_chinese_without_float_noise(small_run) -> None:
    """Issue 13 §4: no English cell, no float noise, no True/False/nan in any workbook."""
    # validation_report.xlsx is a diagnostic of the input (it quotes the input's own headers
    # and values and the command names); the documents an official signs are the others
    books = [b for b in _books(small_run) if Path(b).name != "validation_report.xlsx"]
    assert len(books) >= 10
    problems = [p for book in books for p in audit_workbook(book)]
    assert problems == [], f"{len(problems)} problems, first: {problems[:8]}"


def test_the_audit_catches_what_it_should(tmp_path) -> None:
    """The audit itself fails on the cells the issue quotes."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["标题"])
    ws.append(["材质", "长度"])
    ws.append(["grey_cast_iron", 7.99999999954])
    ws.append(["True", 0.0093])
    ws.append([True, 1.5])
    wb.save(tmp_path / "bad.xlsx")
    kinds = sorted(p.split()[0] for p in audit_workbook(tmp_path / "bad.xlsx"))
    assert kinds == ["bool", "english", "english", "float", "float", "missing-value"]


def test_money_in_wan_with_unit_stated_and_totals_agree(small_run) -> None:
    """Issue 13 §4: money in 万元 (two decimals), 单位 stated, 合计 = sum of the rows."""
    out = small_run.out_dir
    books = [out / "全市汇总.xlsx", *sorted((out / "年度计划").glob("*.xlsx"))]
    for book in books:
        wb = load_workbook(book, read_only=True)
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(max_row=2, values_only=True))
            if len(rows) < 2 or ws.title in {"编制说明", "参数与口径"}:
                continue
            headers = [str(h) for h in rows[1] if h is not None]
            assert not [h for h in headers if "(元)" in h or "（元）" in h], (book.name, headers)
            if any("万元" in h for h in headers):
                assert any(isinstance(v, str) and v.startswith("单位：") and "万元" in v
                           for v in rows[0]), (book.name, ws.title, rows[0])
    plan = sorted((out / "年度计划").glob("*.xlsx"))[0]
    df = _table(plan, pd.ExcelFile(plan).sheet_names[0])
    body, total = df[df["序号"] != "合计"], df[df["序号"] == "合计"].iloc[0]
    assert total["总投资(万元)"] == pytest.approx(body["总投资(万元)"].sum(), abs=0.011)
    assert body["户数"].map(lambda v: float(v).is_integer()).all()


def test_names_not_codes_and_address(small_run, small_city) -> None:
    """Issue 13 §4: 所属社区 is the community's name, its code in 社区代码; the address shown."""
    plan = sorted((small_run.out_dir / "年度计划").glob("*.xlsx"))[0]
    df = _table(plan, pd.ExcelFile(plan).sheet_names[0])
    body = df[df["序号"] != "合计"]
    comm = gpd.read_file(small_city["gpkg"], layer="communities")
    names = dict(zip(comm["community_id"].astype(str), comm["name"], strict=True))
    codes = body["社区代码"].astype(str)
    assert (body["所属社区"] == codes.map(names)).all()
    assert not body["所属社区"].astype(str).str.fullmatch(r"\d+").any()
    assert body["地址"].notna().all()


def test_city_summary_funding_filled_and_per_household(small_run) -> None:
    """Seed §八(二) 谁受益、谁出资: 全市汇总's funding columns filled, adding up to the total,
    with the residents' share per household."""
    df = _table(small_run.out_dir / "全市汇总.xlsx", "分年度汇总")
    body = df[df["县（市、区）"] != "合计"]
    parts = body[["居民出资(万元)", "管线单位出资(万元)", "政府出资(万元)"]]
    assert parts.notna().all().all()
    assert (parts.sum(axis=1) - body["总投资(万元)"]).abs().max() <= 0.03
    some = body[body["户数"] > 0]
    per_hh = some["居民出资(万元)"] * 10_000 / some["户数"]
    assert some["户均居民出资（元/户）"].to_numpy() == pytest.approx(per_hh.to_numpy(), rel=1e-3)
    sources = [c for c in body.columns if str(c).startswith("其中：")]
    if sources:  # present when the profile sets [funding_sources]
        assert (body[sources].sum(axis=1) - body["政府出资(万元)"]).abs().max() <= 0.06


def test_parameters_sheet_lists_every_value_with_its_source(small_run) -> None:
    """Issue 13 §6: a 参数与口径 sheet; seed clauses where given, else 默认值（待确认）."""
    df = _table(small_run.out_dir / "全市汇总.xlsx", "参数与口径")
    assert df["来源"].notna().all()
    by_code = dict(zip(df["参数代码"], df["来源"], strict=True))
    assert "六(四)" in by_code["schedule.start_by"]  # 当年6月30日前开工
    assert "四(一)" in by_code["eligibility.priority_built_until"]
    assert "默认值（待确认）" in by_code["eligibility.share_cap"]  # Yulin gives no figure
    frame = parameters_frame(load_profile())
    assert len(df) == len(frame)
    plan = sorted((small_run.out_dir / "年度计划").glob("*.xlsx"))[0]
    assert "参数与口径" in load_workbook(plan, read_only=True).sheetnames


DUTIES = {  # seed §五(二): department → phrases its duties must hold
    "市委组织部": ["党组织建设", "述职评议考核"],
    "市委宣传部": ["宣传报道"],
    "市发展改革委": ["前期审批", "年度计划", "中央预算内投资"],
    "市财政局": ["补助资金", "拨付"],
    "市自然资源局": ["规划", "不动产登记"],
    "市大数据发展和政务服务局": ["一窗受理"],
    "市民政局": ["居民自治组织"],
    "市公安局": ["施工期间的交通组织"],
    "各县（市、区）人民政府": ["纠纷", "宣传", "改造资金", "居民自筹资金", "长效管理",
                        "专业经营单位"],
}


def test_department_duties_from_seed_5_2(small_run) -> None:
    """Seed §五(二): every department's duties, tied to packages and their dates."""
    df = _table(small_run.out_dir / "部门任务清单.xlsx", "部门职责")
    for dept, phrases in DUTIES.items():
        mine = df[df["责任单位"] == dept]
        text = " ".join(mine["职责"].astype(str))
        for phrase in phrases:
            assert phrase in text, (dept, phrase)
        assert mine["依据"].astype(str).str.contains("五").all()
    packages = gpd.read_file(small_run.out_dir / "plan.gpkg", layer="packages")
    planned = packages[packages["plan_year"].astype(str).str.len() > 0].set_index("package_id")
    traffic = df[df["职责"].astype(str).str.contains("施工期间")]
    assert set(traffic["片区编号"]) == set(planned.index)
    for _, row in traffic.iterrows():
        start = pd.Timestamp(planned.loc[row["片区编号"], "planned_start"]).date()
        assert pd.Timestamp(row["开始日期"]).date() == start


def test_a_bureau_is_never_filed_as_a_company(small_run) -> None:
    """Issue 13 §7: 管线单位 holds only the profile's 专业经营单位."""
    prof = load_profile()
    files = sorted((small_run.out_dir / "管线单位").glob("*.xlsx"))
    assert files
    owners = {f.stem.split("_", 1)[1] for f in files}
    assert owners <= set(prof.utility_companies.values())
    upgrades = gpd.read_file(small_run.out_dir / "plan.gpkg", layer="pipe_upgrades")
    bureaus = set(upgrades["owner"]) - set(prof.utility_companies.values())
    dept_files = {f.stem.split("_", 1)[1] for f in (small_run.out_dir / "部门管网改造").glob("*.xlsx")}
    assert dept_files == bureaus


def test_one_compound_one_scheme(small_run) -> None:
    """Seed §六(三)(五): a scheme per planned compound — items by class, funding, consent,
    schedule, responsible units and the long-term management model; printable on A4."""
    out = small_run.out_dir
    comp = gpd.read_file(out / "plan.gpkg", layer="compounds")
    planned = comp[comp["status"] == "planned"]
    books = sorted((out / "一小区一方案").rglob("*.xlsx"))
    assert len(books) == planned["package_id"].nunique()
    sheets = 0
    for book in books:
        assert re.fullmatch(r"[^\\/:*?\"<>|]+\.xlsx", book.name)
        wb = load_workbook(book)
        summary = wb["片区汇总"]
        assert str(summary.page_setup.paperSize) == str(summary.PAPERSIZE_A4)
        for ws in wb.worksheets[1:]:
            sheets += 1
            text = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
            for heading in ("一、基本情况", "二、改造内容及投资", "三、资金筹措", "四、居民意愿",
                            "五、实施安排", "六、责任单位", "七、长效管理"):
                assert any(t.startswith(heading) for t in text), (book.name, ws.title, heading)
            assert "管理规约、业主议事规则" in text
            assert {"物业服务", "业主自治", "托管"} & set(text)
            assert ws.print_title_rows and ws.sheet_properties.pageSetUpPr.fitToPage
    assert sheets == len(planned)


def test_management_model_follows_the_property_field() -> None:
    """Seed §六(五): 物业服务 / 业主自治 / 托管 chosen from the compound's fields."""
    assert management_model({"property_management": True})[0] == "物业服务"
    assert management_model({"property_management": "否", "owners_committee": "是"})[0] == "业主自治"
    assert management_model({"property_management": False, "owners_committee": None})[0] == "托管"
    assert safe_name("CON") == "_CON" and safe_name('a/b:c*"') == "a_b_c"


def test_unconstrained_plan_says_so(small_run) -> None:
    """Issue 13 §9: without --budget, every plan title and the notes say so."""
    out = small_run.out_dir
    for book in [out / "全市汇总.xlsx", *sorted((out / "年度计划").glob("*.xlsx"))]:
        wb = load_workbook(book, read_only=True)
        first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True))
        assert UNCONSTRAINED_ZH in str(first[0]), book.name
        notes = [r[0] for r in wb["编制说明"].iter_rows(values_only=True)]
        assert any(UNCONSTRAINED_ZH in str(n) for n in notes)
        assert "填报单位：" in notes


def test_budget_constrained_reads_budget_source() -> None:
    class Plan:
        budget_source = "explicit"

    assert budget_constrained(Plan(), None, None)
    assert not budget_constrained(object(), pd.DataFrame({"budget_source": ["none"]}), None)
    assert budget_constrained(object(), None, 1e8)
    assert not budget_constrained(object(), None, None)


def test_labels() -> None:
    """Codes, English reasons, money and quantities as officials read them."""
    assert zh_text("grey_cast_iron") == "灰口铸铁"
    assert zh_text("water_supply") == "给水"
    assert zh_text("trunk") == "上下游干管"
    assert zh_text("island: no neighbour within reach") == "孤立小区，周边无可合并小区"
    assert zh_text("7层无电梯 / 7 floors, no lift") == "7层无电梯"
    reason = ("2001–2005 share cap 15%: no year with room has enough pre-2000 households "
              "to take its 2001–2005 households")
    assert not ENGLISH.search(zh_text(reason))
    assert official_value(2_021_952_583.84, "money") == 202195.26
    assert official_value(7.99999999954, "whole") == 8
    assert official_value(True) == "是"
    assert official_value(float("nan")) is None
    assert quantity_display(0.0093, "compound") == "按户分摊"
    assert quantity_display(3.0, "lift") == 3
    frame = official_frame(pd.DataFrame({"总投资(元)": [12345.678], "覆盖率": [0.2082],
                                         "长度(米)": [7.99999999954]}))
    assert list(frame.columns) == ["总投资(万元)", "覆盖率(%)", "长度(米)"]
    assert frame.iloc[0].tolist() == [1.23, 20.82, 8]


def test_summary_html_reads_in_chinese(small_run) -> None:
    """Issue 13 §4: the one-page summary's tables and facts hold no English, money in 万元."""
    page = (small_run.out_dir / "maps" / "summary.html").read_text(encoding="utf-8")
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", page)
    assert cells
    assert [c for c in cells if ENGLISH.search(c)] == []
    assert "总投资(万元)" in cells
    assert not [c for c in cells if re.fullmatch(r"2,0\d\d", c)], "years with a thousands comma"
    assert UNCONSTRAINED_ZH in page


def test_duties_name_known_departments(tmp_path) -> None:
    """Seed §五(二): a duty of an unknown department or with a bad scope is a ProfileError."""
    from yulin_gis.errors import ProfileError
    from yulin_gis.reports import load_duties

    text = Path(load_profile().path).read_text(encoding="utf-8")
    bad = (text + '\n[[duties.no_such_bureau]]\ntask = "x"\nclause = "五(二)"\n'
           + '\n[[duties.finance]]\ntask = "y"\nclause = "五(二)"\nscope = "street"\n')
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_duties(load_profile(path))
    assert "duties.no_such_bureau" in str(err.value)
    assert "duties.finance[3].scope" in str(err.value)
    assert {d.department for d in load_duties(load_profile())} >= set(load_profile().departments)


def test_not_surveyed_fields_and_sources_read_in_chinese() -> None:
    """A table with no pipes, DEM or roads lists what was not surveyed in Chinese (issue 13 §4)."""
    from yulin_gis.reports._task_lists import _not_surveyed_zh

    text = _not_surveyed_zh("has_lift, consent_rate, pipes, terrain, walk")
    assert text == "有无电梯、改造意愿、管线图层、数字高程模型、道路与设施（步行距离）"
    assert not re.search(r"[A-Za-z]{3,}", str(text))



def test_deferred_share_reason_reads_in_chinese() -> None:
    """The deferred 2001–2005 part's reason (issue 13 §3) is Chinese in every table."""
    from yulin_gis.reports._labels import zh_text

    text = zh_text("2001–2005 share cap 15%: deferred beyond the last plan year "
                   "(its pre-2000 part is planned)")
    assert text.startswith("2001—2005年建成部分按年度任务比例（15%）纳入")
    assert not re.search(r"[A-Za-z]{3,}", text)
