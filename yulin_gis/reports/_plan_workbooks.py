"""Plan workbooks (年度改造计划表): one per county and year, plus a city summary.

Every sheet has a title in row 1 (merged), Chinese headers in row 2 (:data:`HEADER_ROW`)
and data from row 3, ending with a 合计 (total) row where sums make sense. Read back
with ``pandas.read_excel(path, header=1)``. Text cells beginning with ``= + - @`` (or a
tab/CR) are stored as text, never as formulas (formula injection). Files are written under
a temporary name and renamed into place (atomic).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from yulin_gis.io import Book, Sheet, Style, require_columns, save_workbook
from yulin_gis.planning import FUNDING_COLUMNS, split_costs
from yulin_gis.reports._labels import GOV_SOURCES_ZH, UNCONSTRAINED_ZH, official_frame, unit_note

__all__ = [
    "CLASS_LABELS_ZH",
    "HEADER_ROW",
    "PLAN_COLUMNS_ZH",
    "plan_table",
    "summary_tables",
    "write_city_summary_workbook",
    "write_county_plan_workbook",
    "write_plan_workbooks",
    "write_workbook",
]

logger = logging.getLogger(__name__)

HEADER_ROW = 2
"""1-based row of the headers in every sheet (``header=1`` for pandas)."""

CLASS_LABELS_ZH: dict[str, str] = {"basic": "基础类", "improve": "完善类", "upgrade": "提升类"}

PLAN_COLUMNS_ZH: dict[str, str] = {
    "seq": "序号",
    "name": "小区名称",
    "compound_id": "小区编号",
    "package_id": "片区编号",
    "county": "所属县区",
    "street": "所属街道",
    "community_name": "所属社区",
    "community_id": "社区代码",
    "address": "地址",
    "built_year": "建成年份",
    "buildings": "楼栋数",
    "households": "户数",
    "floor_area_m2": "建筑面积(m²)",
    "items_basic": "基础类(项)",
    "items_basic_text": "基础类改造内容",
    "items_improve": "完善类(项)",
    "items_improve_text": "完善类改造内容",
    "items_upgrade": "提升类(项)",
    "items_upgrade_text": "提升类改造内容",
    "consent_rate": "居民同意率",
    "cost_yuan": "总投资(元)",
    "fund_residents_yuan": "居民出资(元)",
    "fund_utility_yuan": "管线单位出资(元)",
    "fund_government_yuan": "政府出资(元)",
    "planned_start": "计划开工",
    "basic_end": "基础类计划完工",
    "planned_completion": "计划完工",
}
"""Canonical column → Chinese header of the county plan table, in sheet order."""

_SUM_HINTS = ("户数", "楼栋数", "面积", "(元)", "万元", "(项)", "片区数", "小区数", "预算", "户")
_NO_SUM = ("序号", "年度", "建成年份", "排名", "率", "得分", "编号")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _py(value: Any) -> Any:
    """Convert a pandas/numpy value to what a cell holds (None for NaN/NaT/NA, dates)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, datetime | date | str | bool | int | float):
        return value
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):  # numpy scalar
        return _py(value.item())
    return str(value)


def _items_text(codes: str, item_classes: Mapping[str, str], item_labels: Mapping[str, str],
                cls: str) -> str:
    parts = [c.strip() for c in str(codes or "").replace("，", ",").split(",") if c.strip()]
    return "、".join(item_labels.get(c, c) for c in parts if item_classes.get(c) == cls)


def plan_table(
    compounds: pd.DataFrame,
    packages: pd.DataFrame | None = None,
    *,
    item_classes: Mapping[str, str] | None = None,
    item_labels: Mapping[str, str] | None = None,
    funding_shares: Mapping[str, Any] | None = None,
    item_weights: Mapping[str, float] | None = None,
    community_names: Mapping[str, str] | None = None,
    gov_shares: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Build the county plan table (canonical column names, one row per compound).

    Parameters
    ----------
    compounds
        Planned compounds: ``compound_id``, ``name``, ``package_id``, ``county``,
        ``plan_year`` and the fields of :data:`PLAN_COLUMNS_ZH` that exist; missing ones
        are left blank.
    packages
        Scheduled packages; their ``plan_year`` and dates are copied onto the compounds
        when the compounds lack them.
    item_classes, item_labels
        Item code → class / Chinese name, to list the items of each class; without
        ``item_classes`` the text columns stay blank and the counts come from
        ``items_basic``/``items_improve``/``items_upgrade``.
    funding_shares, item_weights
        Passed to :func:`yulin_gis.planning._funding.split_costs` when the funding columns are absent.
    community_names
        Community code → name (所属社区); the code stays in its own column (社区代码).
    gov_shares
        Government source code (:data:`yulin_gis.reports._labels.GOV_SOURCES_ZH`) → share of the
        government money, used when the compounds lack ``fund_<source>_yuan`` columns.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`PLAN_COLUMNS_ZH` (canonical names), the government-source
        columns ``fund_<source>_yuan`` that exist, ``residents_per_household_yuan`` and
        ``plan_year``; sorted by county, plan year, package and compound.
    """
    require_columns(compounds, ["compound_id"], layer="compounds")
    df = pd.DataFrame(compounds).copy()
    if packages is not None and "package_id" in df.columns:
        from yulin_gis.planning import apply_plan_to_compounds

        missing = [c for c in ("plan_year", "planned_start", "basic_end", "planned_completion")
                   if c not in df.columns and c in packages.columns]
        if missing:
            pk = packages[["package_id", *missing]]
            merged = apply_plan_to_compounds(df.drop(columns=["unscheduled_reason"],
                                                     errors="ignore"), pk)
            for col in missing:
                df[col] = merged[col].to_numpy()
    if "cost_yuan" in df.columns and not set(FUNDING_COLUMNS) <= set(df.columns):
        df = split_costs(df.assign(cost_yuan=pd.to_numeric(df["cost_yuan"]).fillna(0.0)),
                         funding_shares, item_classes=item_classes, item_weights=item_weights)
    classes = dict(item_classes or {})
    labels = dict(item_labels or {})
    for cls in CLASS_LABELS_ZH:
        text = f"items_{cls}_text"
        if classes and "items" in df.columns:
            df[text] = [_items_text(v, classes, labels, cls) for v in df["items"]]
            counted = [len([x for x in t.split("、") if x]) for t in df[text]]
            if f"items_{cls}" not in df.columns:
                df[f"items_{cls}"] = counted
        else:
            df[text] = ""
    if community_names is not None and "community_id" in df.columns:
        df["community_name"] = df["community_id"].map(
            lambda c: community_names.get(str(c), "") if isinstance(c, str) else "")
    sources = _gov_sources(df, gov_shares)
    for col in PLAN_COLUMNS_ZH:
        if col not in df.columns and col != "seq":
            df[col] = None
    hh = pd.to_numeric(df["households"], errors="coerce")
    df["residents_per_household_yuan"] = (
        pd.to_numeric(df["fund_residents_yuan"], errors="coerce") / hh.where(hh > 0))
    if "plan_year" not in df.columns:
        df["plan_year"] = ""
    df["plan_year"] = df["plan_year"].astype(str).replace({"nan": "", "None": "", "<NA>": ""})
    df = df.sort_values(["county", "plan_year", "package_id", "compound_id"], kind="mergesort",
                        key=lambda s: s.astype(str))
    df["seq"] = range(1, len(df) + 1)
    return df[[*PLAN_COLUMNS_ZH, *sources, "residents_per_household_yuan", "plan_year"]
              ].reset_index(drop=True)


def _gov_sources(df: pd.DataFrame, gov_shares: Mapping[str, float] | None) -> list[str]:
    """Add ``fund_<source>_yuan`` from ``gov_shares`` when absent; the columns present."""
    cols = [f"fund_{src}_yuan" for src in GOV_SOURCES_ZH]
    if not any(c in df.columns for c in cols) and gov_shares and "fund_government_yuan" in df:
        gov = pd.to_numeric(df["fund_government_yuan"], errors="coerce")
        for src in GOV_SOURCES_ZH:
            df[f"fund_{src}_yuan"] = gov * float(gov_shares.get(src, 0.0))
    return [c for c in cols if c in df.columns]


def plan_headers(table: pd.DataFrame) -> dict[str, str]:
    """Canonical column → Chinese header for the columns of a :func:`plan_table`."""
    headers = {c: h for c, h in PLAN_COLUMNS_ZH.items() if c in table.columns}
    for src, label in GOV_SOURCES_ZH.items():
        if f"fund_{src}_yuan" in table.columns:
            headers[f"fund_{src}_yuan"] = f"其中：{label}(元)"
    headers["residents_per_household_yuan"] = "户均居民出资（元/户）"
    return headers


def _summable(header: str) -> bool:
    return any(h in header for h in _SUM_HINTS) and not any(h in header for h in _NO_SUM)


_TITLE = Style(bold=True, size=14)
_NOTE = Style(align="right", valign="bottom")
_HEADER = Style(bold=True, align="center", valign="center", wrap=True)
_BOLD = Style(bold=True)
_BIG_BOOK = 2_000_000
"""Cells above which a workbook is written row by row (XlsxWriter ``constant_memory``)."""
_PLAIN_TYPES = frozenset({str, int, float, type(None)})


def _write_sheet(ws: Sheet, frame: pd.DataFrame, title: str, total_row: bool,
                 labels: Mapping[str, str] | None = None) -> None:
    """Title (row 1, with the 单位 note at the right), headers (row 2), data, 合计 row.

    The frame passes through :func:`yulin_gis.reports._labels.official_frame` first (万元, whole
    units, 是/否, Chinese text); the sheet is set up to print on A4, fit to width, with
    the title and header rows repeated on every page. ``ws`` is a
    :class:`yulin_gis.io.Sheet` (rows are written top to bottom).
    """
    frame = official_frame(frame, labels)
    ncol = max(1, frame.shape[1])
    note = unit_note(frame)
    title_end = ncol - 1 if note and ncol > 2 else ncol
    if title_end > 1:
        ws.merge(0, 0, title_end - 1, title, _TITLE)
    else:
        ws.write(0, 0, title, _TITLE)
    if note:
        ws.write(0, ncol - 1 if ncol > 2 else ncol, note, _NOTE)
    headers = [str(h) for h in frame.columns]
    ws.write_rows(HEADER_ROW - 1, [headers], [_HEADER] * len(headers))
    formats = []
    for j, header in enumerate(headers):
        head = frame.iloc[:30, j]
        width = max([len(header) * 2, *(len(str(v)) for v in head)], default=8)
        ws.width(j, min(40, max(8, width + 2)))
        formats.append("#,##0.00" if "万元" in header
                       else "yyyy-mm-dd" if any(isinstance(v, date) for v in head) else None)
    styles = [Style(num_format=f) if f else None for f in formats]
    last = ws.write_rows(HEADER_ROW, zip(*_columns(frame), strict=True), styles)
    if total_row and len(frame):
        totals: list[Any] = ["合计"]
        for j, header in enumerate(headers[1:], start=1):
            total = None
            if _summable(header):
                values = pd.to_numeric(frame.iloc[:, j], errors="coerce")
                if values.notna().any():
                    total = round(float(values.sum()), 2) + 0.0
                    total = int(total) if total == int(total) and "万元" not in header else total
            totals.append(total)
        styles[0] = _BOLD.with_format(formats[0]) if frame.shape[1] else _BOLD
        last = ws.write_rows(last, [totals[:max(1, len(headers))]],
                             styles if frame.shape[1] else [_BOLD])
    ws.freeze(HEADER_ROW)
    print_setup(ws, ncol, last)


def _columns(frame: pd.DataFrame) -> list[list[Any]]:
    """The frame's columns as lists of what the cells hold (:func:`_py` where needed)."""
    out = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j].tolist()
        if not all(type(v) in _PLAIN_TYPES for v in values):
            values = [v if type(v) in _PLAIN_TYPES else _py(v) for v in values]
        out.append(values)
    return out


write_table_sheet = _write_sheet
"""Public name of the sheet writer (title, 单位, headers, data, 合计, print setup)."""


def print_setup(ws: Sheet, ncol: int, last_row: int, *, landscape: bool = True) -> None:
    """A4 (landscape), fit to one page wide, title and header rows repeated, print area set.

    ``ncol`` and ``last_row`` are 1-based: the print area is ``A1`` to the last column of
    ``max(last_row, HEADER_ROW)``.
    """
    ws.print_setup(max(ncol, 1), max(last_row, HEADER_ROW), HEADER_ROW, landscape=landscape)


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", name).strip("'")[:31] or "Sheet"
    out, k = base, 2
    while out in used:
        out = f"{base[:28]}_{k}"
        k += 1
    used.add(out)
    return out


def write_workbook(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    titles: Mapping[str, str] | None = None,
    *,
    total_rows: bool | Sequence[str] = True,
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> Path:
    """Write DataFrames as sheets (title row, header row, data, 合计 row), atomically.

    Parameters
    ----------
    path
        Target ``.xlsx`` file.
    sheets
        Sheet name → table (headers as written).
    titles
        Sheet name → title for row 1 (default: the sheet name).
    total_rows
        Add a 合计 row to every sheet (True), to none (False) or to the named sheets.
    notes
        Lines of the 编制说明 sheet (added last, with the signature block) when given.
    labels
        Extra code → Chinese for :func:`yulin_gis.reports._labels.zh_text` (e.g. item names).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputError
        The file cannot be written; an existing file is left untouched.
    """
    book = Book(constant_memory=sum(f.size for f in sheets.values()) > _BIG_BOOK)
    used: set[str] = set()
    for name, frame in sheets.items():
        ws = book.add_sheet(_sheet_name(str(name), used))
        totals = total_rows if isinstance(total_rows, bool) else name in total_rows
        _write_sheet(ws, frame, (titles or {}).get(name, str(name)), totals, labels)
    if notes:
        write_notes_sheet(book.add_sheet(_sheet_name("编制说明", used)), notes)
    if not sheets:
        book.add_sheet("空")
    target = save_workbook(book, path)
    logger.info("wrote %s", target)
    return target


SIGNATURE = ("填报单位：", "填报人：", "联系电话：", "填报日期：")
"""The signature block officials fill in (DOMAIN §6)."""


def write_notes_sheet(ws: Sheet, notes: Sequence[str]) -> None:
    """The 编制说明 sheet: numbered notes, then the signature block left blank."""
    ws.write(0, 0, "编制说明", _TITLE)
    wrap = Style(wrap=True, valign="top")
    row = ws.write_rows(1, [(f"{k}. {line}",) for k, line in enumerate(notes, start=1)], [wrap])
    row = ws.write_rows(row + 1, [(label,) for label in SIGNATURE], [None])
    ws.width(0, 100)
    print_setup(ws, 1, row + 1)


def _to_zh(table: pd.DataFrame) -> pd.DataFrame:
    headers = plan_headers(table)
    out = table[list(headers)].rename(columns=headers)
    for col in ("计划开工", "基础类计划完工", "计划完工"):
        out[col] = pd.to_datetime(out[col], errors="coerce")
    return out


def write_county_plan_workbook(path: str | Path, table: pd.DataFrame, county: str,
                               year: int | str, *, constrained: bool = True,
                               notes: Sequence[str] = (),
                               parameters: pd.DataFrame | None = None) -> Path:
    """Write one county's plan table for one year (年度改造计划表).

    Parameters
    ----------
    path
        Target ``.xlsx``.
    table
        From :func:`plan_table`; the rows of ``county`` and ``year`` are written.
    county, year
        Which county and plan year.
    constrained, notes, parameters
        As for :func:`write_city_summary_workbook`.
    """
    sub = table[(table["county"].astype(str) == str(county))
                & (table["plan_year"].astype(str) == str(year))].copy()
    sub["seq"] = range(1, len(sub) + 1)
    tail = "" if constrained else f"（{UNCONSTRAINED_ZH}）"
    sheets = {f"{year}年改造计划": _to_zh(sub)}
    titles = {f"{year}年改造计划": f"{county}{year}年城镇老旧小区改造计划表{tail}"}
    if parameters is not None:
        sheets["参数与口径"] = parameters
        titles["参数与口径"] = "参数与口径"
    return write_workbook(path, sheets, titles, notes=notes, total_rows=[f"{year}年改造计划"])


def write_plan_workbooks(out_dir: str | Path, table: pd.DataFrame, **options: Any) -> list[Path]:
    """Write one workbook per county and plan year: ``<county>_<year>_年度改造计划表.xlsx``.

    Rows without a plan year are not written here (see the city summary's 未纳入计划).
    ``options`` (``constrained``, ``notes``, ``parameters``) go to
    :func:`write_county_plan_workbook`.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """
    out = Path(out_dir)
    planned = table[table["plan_year"].astype(str) != ""]
    pairs = sorted({(str(c), str(y)) for c, y in zip(planned["county"], planned["plan_year"],
                                                      strict=True)})
    paths = []
    from yulin_gis.io import safe_filename

    for county, year in pairs:
        safe = safe_filename(county, missing="未填县区")
        paths.append(write_county_plan_workbook(out / f"{safe}_{year}_年度改造计划表.xlsx", table,
                                                county, year, **options))
    return paths


def summary_tables(plan: Any, funding: pd.DataFrame | None = None,
                   assessment: pd.DataFrame | None = None, *,
                   constrained: bool = True) -> dict[str, pd.DataFrame]:
    """The city summary's sheets (Chinese headers) from a ``PlanResult``.

    Parameters
    ----------
    plan
        A :class:`yulin_gis.planning._plan.PlanResult`.
    funding
        Per county and year funding: ``county``, ``plan_year``, ``cost_yuan``, the
        :data:`~yulin_gis.planning._funding.FUNDING_COLUMNS` and any ``fund_<source>_yuan``
        government-source columns (:func:`funding_table`).
    assessment
        From :func:`yulin_gis.planning._progress.assess_counties`.
    constrained
        False when no budget was given: the 年度预算 column is left out (it would only
        echo the plan's own cost).
    """
    t = plan.totals.copy()
    if funding is not None and len(funding):
        f = funding.assign(plan_year=funding["plan_year"].astype(int))
        # the plan's own totals win where they carry a column (yulin_gis.pipeline._plan_stage)
        f = f.drop(columns=[c for c in f.columns if c in t.columns and c not in ("county", "plan_year")])
        t = t.merge(f, on=["county", "plan_year"], how="left")
        empty = pd.to_numeric(t["cost_yuan"], errors="coerce").fillna(0) == 0
        for col in f.columns.drop(["county", "plan_year"]):
            t.loc[empty, col] = t.loc[empty, col].fillna(0.0)
    else:
        for col in FUNDING_COLUMNS:
            if col not in t.columns:  # the plan's totals carry them (yulin_gis.pipeline._plan_stage)
                t[col] = float("nan")
    summary = pd.DataFrame({
        "县（市、区）": t["county"], "年度": t["plan_year"], "片区数": t["packages"],
        "户数": t["households"], "其中2000年前户数": t["pre2000_households"],
        "其中2001-2005年户数": t["share_households"], "总投资(元)": t["cost_yuan"],
        **({"年度预算(元)": t["budget_yuan"]} if constrained else {}),
        "居民出资(元)": t[FUNDING_COLUMNS[0]],
        "管线单位出资(元)": t[FUNDING_COLUMNS[1]], "政府出资(元)": t[FUNDING_COLUMNS[2]],
        **{f"其中：{label}(元)": t[f"fund_{src}_yuan"] for src, label in GOV_SOURCES_ZH.items()
           if f"fund_{src}_yuan" in t.columns},
        "户均居民出资（元/户）": pd.to_numeric(t[FUNDING_COLUMNS[0]], errors="coerce")
        / pd.to_numeric(t["households"], errors="coerce").where(lambda h: h > 0),
    })
    cov = plan.coverage
    need = plan.budget_needed
    extra = need.extra_yuan_by_county if need is not None else {}
    coverage = pd.DataFrame({
        "县（市、区）": cov["county"], "2000年前户数": cov["pre2000_households"],
        "已纳入计划户数": cov["pre2000_covered"], "未纳入户数": cov["pre2000_uncovered"],
        "是否全覆盖": cov["covered"].map({True: "是", False: "否"}),
        "全覆盖尚需追加预算(元)": [extra.get(c, 0.0 if ok else float("nan"))
                           for c, ok in zip(cov["county"], cov["covered"], strict=True)],
    })
    by_year = plan.coverage_by_year
    yearly = pd.DataFrame({
        "县（市、区）": by_year["county"], "年度": by_year["plan_year"],
        "累计纳入2000年前户数": by_year["pre2000_covered"],
        "2000年前总户数": by_year["pre2000_households"],
        "覆盖率": by_year["coverage_rate"].round(4),
    })
    un = plan.unscheduled
    left = pd.DataFrame({
        "片区编号": un["package_id"], "县（市、区）": un["county"], "户数": un["households"],
        "其中2000年前户数": un["pre2000_households"], "总投资(元)": un["cost_yuan"],
        "未纳入原因": un["unscheduled_reason"],
    })
    sheets = {"分年度汇总": summary, "覆盖情况": coverage, "逐年覆盖": yearly, "未纳入计划": left}
    if assessment is not None:
        a = assessment
        sheets["考核排名"] = pd.DataFrame({
            "排名": a["rank"], "县（市、区）": a["county"], "任务片区数": a["tasks"],
            "完成率": a["completion_rate"].round(4), "延期开工数": a["late_starts"],
            "基础类逾期数": a["overdue_basic"], "得分": a["score"].round(2),
            "评价": a["grade_zh"],
        })
    return sheets


def funding_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per county and plan year: cost, the funding parts and the government sources.

    ``table`` is a :func:`plan_table`; rows without a plan year are skipped.
    """
    money = ["cost_yuan", *FUNDING_COLUMNS, *[c for c in table.columns
                                               if c.startswith("fund_") and c.endswith("_yuan")
                                               and c not in FUNDING_COLUMNS]]
    sub = table[table["plan_year"].astype(str) != ""].copy()
    sub["plan_year"] = sub["plan_year"].astype(float).astype(int)
    for col in money:
        sub[col] = pd.to_numeric(sub[col], errors="coerce")
    return sub.groupby(["county", "plan_year"], as_index=False)[money].sum()


def write_city_summary_workbook(path: str | Path, plan: Any, funding: pd.DataFrame | None = None,
                                assessment: pd.DataFrame | None = None,
                                 city: str = "", *, constrained: bool = True,
                                 notes: Sequence[str] = (),
                                 parameters: pd.DataFrame | None = None,
                                 extra_sheets: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write the city summary workbook (全市汇总): sheets of :func:`summary_tables`.

    ``parameters`` (from :func:`yulin_gis.reports._docmeta.parameters_frame`) adds the 参数与口径
    sheet; ``notes`` the 编制说明 sheet; ``extra_sheets`` (e.g. the 待核实清单) come last;
    without a budget (``constrained=False``) every title says the plan is unconstrained.
    """
    sheets = summary_tables(plan, funding, assessment, constrained=constrained)
    if parameters is not None:
        sheets["参数与口径"] = parameters
    sheets.update(extra_sheets or {})
    years = f"{plan.years[0]}—{plan.years[-1]}" if plan.years else ""
    tail = "" if constrained else f"（{UNCONSTRAINED_ZH}）"
    titles = {
        "参数与口径": f"{city}城镇老旧小区改造计划参数与口径",
        "分年度汇总": f"{city}{years}年城镇老旧小区改造计划汇总表{tail}",
        "覆盖情况": f"{city}2000年底前建成老旧小区改造覆盖情况",
        "逐年覆盖": f"{city}2000年前老旧小区逐年累计覆盖",
        "未纳入计划": f"{city}未纳入改造计划的片区及原因{tail}",
        "考核排名": f"{city}各县（市、区）老旧小区改造考核排名",
    }
    return write_workbook(path, sheets, titles, notes=notes,
                          total_rows=["分年度汇总", "覆盖情况", "未纳入计划"])
