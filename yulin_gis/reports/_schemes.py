"""One compound, one scheme (一小区一方案): a workbook per package, a sheet per compound.

``<out>/<county>/<package>.xlsx`` holds a 片区汇总 sheet (one row per compound) and one
sheet per planned compound with its scheme, in sections: 基本情况, 改造内容及投资 (by
class, with quantity and cost), 资金筹措 (by source), 居民意愿, 实施安排, 责任单位 and
长效管理 (物业服务 / 业主自治 / 托管, with the rules to draft: 管理规约、业主议事规则,
seed §六(五)). Sheets print on A4, fit to width, with the title row repeated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.io import Book, Sheet, Style, save_workbook
from yulin_gis.reports._labels import GOV_SOURCES_ZH, official_frame, yes_no

__all__ = ["management_model", "scheme_sections", "write_scheme_workbooks"]

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\[\]]+')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def safe_name(name: str, limit: int = 60) -> str:
    """A Windows-safe file or sheet name (no reserved names, no trailing dot or space)."""
    out = _UNSAFE.sub("_", str(name)).strip(" ._")[:limit] or "未命名"
    return f"_{out}" if out.upper().split(".")[0] in _RESERVED else out


def _truthy(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value.strip() in {"是", "有", "True", "true", "1"}
    return bool(value)


def management_model(compound: Mapping[str, Any] | pd.Series) -> tuple[str, str]:
    """The long-term management model and why (seed §六(五)).

    物业服务 when the compound has property management; 业主自治 when it has an owners'
    committee but no property management; otherwise 托管 (社区或国有企业托管), until the
    residents agree a model.
    """
    if _truthy(compound.get("property_management")):
        return "物业服务", "已有物业管理，改造后续签物业服务合同"
    if _truthy(compound.get("owners_committee")):
        return "业主自治", "无物业管理、已成立业主委员会，由业主自治管理"
    return "托管", "无物业管理、无业主委员会，由社区或国有企业托管，同步推进自治组织建设"


def _kv(rows: Sequence[tuple[str, Any]], value_header: str = "内容") -> pd.DataFrame:
    return pd.DataFrame({"项目": [k for k, _ in rows], value_header: [v for _, v in rows]})


def _items_frame(compound: pd.Series, profile: Any,
                 long: pd.DataFrame | None = None) -> pd.DataFrame:
    from yulin_gis.profile import CLASS_LABELS_ZH, CLASSES, UNITS
    from yulin_gis.reports._task_lists import item_table, quantity_display

    if long is None:
        long = item_table(pd.DataFrame([compound]), profile)
    classes, names = long["class"].tolist(), long["item_name"].tolist()
    quantities, units = long["quantity"].tolist(), long["unit"].tolist()
    costs = long["cost_yuan"].tolist()
    cost_array = long["cost_yuan"].to_numpy(dtype=float)
    rows: list[list[Any]] = []
    for cls in CLASSES:
        label = CLASS_LABELS_ZH[cls]
        part = [i for i, c in enumerate(classes) if c == cls]
        for i in part:
            unit = str(units[i])
            rows.append([label, names[i], quantity_display(quantities[i], unit), UNITS[unit], costs[i]])
        if part:  # the subtotal sums as pandas does (NaN as 0, numpy's summation)
            sub = cost_array[part]
            rows.append([label, f"{label}小计", None, "", float(np.where(np.isnan(sub), 0.0, sub).sum())])
    return pd.DataFrame(rows, columns=["类别", "改造内容", "工程量", "单位", "投资(元)"])


def _responsible(compound: pd.Series, profile: Any) -> pd.DataFrame:
    codes = [c for c in str(compound.get("items") or "").split(",") if c in profile.items]
    rows = [{"改造内容": profile.items[c].name_zh,
             "责任部门": "、".join(profile.departments[d] for d in profile.items[c].departments),
             "专业经营单位": "、".join(profile.utility_companies[u]
                                  for u in profile.items[c].utility_companies)} for c in codes]
    rows.append({"改造内容": "组织实施（责任主体）", "责任部门": profile.responsible_body,
                 "专业经营单位": ""})
    return pd.DataFrame(rows, columns=["改造内容", "责任部门", "专业经营单位"])


def scheme_sections(row: pd.Series, compound: pd.Series, package: Mapping[str, Any],
                    profile: Any, items: pd.DataFrame | None = None
                    ) -> list[tuple[str, pd.DataFrame]]:
    """The sections of one compound's scheme (headings and tables, before labelling).

    ``row`` is the compound's :func:`yulin_gis.reports._plan_workbooks.plan_table` row, ``compound`` its
    assessed record, ``package`` its scheduled package, ``items`` its rows of
    :func:`yulin_gis.reports._task_lists.item_table` (computed when None).
    """
    consent = _number(row.get("consent_rate"))
    known = not pd.isna(consent)
    threshold = float(profile.consent.threshold)
    model, why = management_model(compound)
    funding = [("居民出资", row.get("fund_residents_yuan")),
               ("专业经营单位出资", row.get("fund_utility_yuan")),
               ("政府出资", row.get("fund_government_yuan"))]
    funding += [(f"其中：{label}", row[f"fund_{src}_yuan"]) for src, label in GOV_SOURCES_ZH.items()
                if f"fund_{src}_yuan" in row.index]
    funding.append(("合计", row.get("cost_yuan")))
    return [
        ("一、基本情况", _kv([
            ("小区名称", row.get("name")), ("小区编号", row.get("compound_id")),
            ("地址", row.get("address")), ("县（市、区）", row.get("county")),
            ("街道", row.get("street")), ("社区", row.get("community_name")),
            ("社区代码", row.get("community_id")), ("建成年份", row.get("built_year")),
            ("楼栋数（栋）", row.get("buildings")), ("户数（户）", row.get("households")),
            ("建筑面积（平方米）", round(float(row["floor_area_m2"]))
             if pd.notna(row.get("floor_area_m2")) else None),
            ("所属片区", row.get("package_id"))])),
        ("二、改造内容及投资（基础类应改则改，完善类、提升类能改则改）",
         _items_frame(compound, profile, items)),
        ("三、资金筹措（谁受益、谁出资）", pd.DataFrame({
            "资金来源": [k for k, _ in funding], "金额(元)": [v for _, v in funding]})),
        ("四、居民意愿", _kv([
            ("居民同意率", f"{float(consent) * 100:.0f}%" if known else "未征求"),
            ("同意率要求", f"{threshold * 100:.0f}%"),
            ("是否达到", yes_no(float(consent) >= threshold) if known else "待征求意见"),
            ("方案公示、征求意见", "待开展（方案设计阶段）")])),
        ("五、实施安排", _kv([
            ("计划年度", row.get("plan_year")),
            ("方案设计开始", _day(package.get("design_start"))),
            ("计划开工", _day(package.get("planned_start", row.get("planned_start")))),
            ("基础类完工", _day(package.get("basic_end", row.get("basic_end")))),
            ("计划完工", _day(package.get("planned_completion", row.get("planned_completion"))))])),
        ("六、责任单位", _responsible(compound, profile)),
        ("七、长效管理", _kv([
            ("管理模式", model), ("确定理由", why),
            ("物业管理现状", yes_no(_truthy(compound.get("property_management")))),
            ("业主委员会", yes_no(_truthy(compound.get("owners_committee")))),
            ("需制定的规约", "管理规约、业主议事规则"),
            ("依据", f"{profile.source} 六(五)")])),
    ]


def _number(value: Any) -> Any:
    """A value as :func:`pandas.to_numeric` (``errors="coerce"``) reads it."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return value
    return pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]


def _day(value: Any) -> Any:
    ts = pd.to_datetime(value, errors="coerce")
    return None if pd.isna(ts) else ts.date()


_MONEY = Style(num_format="#,##0.00")


def _write_sections(ws: Sheet, title: str, sections: list[tuple[str, pd.DataFrame]],
                    labels: Mapping[str, str]) -> None:
    """Title, 金额单位 line, then each section: heading, bold headers, rows (portrait A4)."""
    from yulin_gis.reports._plan_workbooks import print_setup

    ws.write(0, 0, title, Style(bold=True, size=14))
    ws.write(1, 0, "金额单位：万元")
    row, width = 3, 2
    bold = Style(bold=True)
    for heading, frame in sections:
        ws.write(row, 0, heading, bold)
        table = official_frame(frame, labels)
        width = max(width, table.shape[1])
        ws.write_rows(row + 1, [[str(h) for h in table.columns]], [bold] * table.shape[1])
        row += 2
        for values in table.itertuples(index=False):  # money (floats) as #,##0.00
            ws.write_rows(row, [values], [_MONEY if isinstance(v, float) else None
                                          for v in values])
            row += 1
    for col, w in enumerate((22, 30, 22, 16, 16)):
        ws.width(col, w)
    print_setup(ws, width, row, landscape=False)


def write_scheme_workbooks(table: pd.DataFrame, state: Any, out_dir: str | Path) -> list[Path]:
    """Write ``<out_dir>/<county>/<package>.xlsx`` for every planned package.

    Parameters
    ----------
    table
        The plan table (:func:`yulin_gis.reports._plan_workbooks.plan_table`).
    state
        The pipeline state (profile, assessed compounds, scheduled packages).
    out_dir
        Folder of the schemes.

    Returns
    -------
    list of pathlib.Path
        The workbooks written.
    """
    from yulin_gis.log import progress
    from yulin_gis.reports._docmeta import profile_labels
    from yulin_gis.reports._plan_workbooks import write_table_sheet

    prof = state.profile
    labels = profile_labels(prof)
    planned = table[table["plan_year"].astype(str) != ""]
    comp = pd.DataFrame(state.compounds.drop(columns="geometry")).set_index(
        state.compounds["compound_id"].astype(str).to_numpy())
    pk = pd.DataFrame(state.packages.drop(columns="geometry")).set_index("package_id") \
        if state.packages is not None else pd.DataFrame()
    from yulin_gis.reports._task_lists import item_table

    ids = set(planned["compound_id"].astype(str))
    long = item_table(comp[comp.index.isin(ids)].reset_index(drop=True), prof)
    items = {str(k): g for k, g in long.groupby(long["compound_id"].astype(str), sort=False)}
    empty = long.iloc[0:0]
    files = []
    groups = planned.groupby(["county", "package_id"], sort=True)
    for (county, package_id), rows in progress(groups, "一小区一方案", total=groups.ngroups):
        package = ({str(k): v for k, v in pk.loc[str(package_id)].items()}
                   if str(package_id) in pk.index else {})
        book = Book()
        write_table_sheet(book.add_sheet("片区汇总"), _summary(rows, comp),
                          f"{county}{package_id}片区改造方案汇总", True, labels)
        used: set[str] = set()
        for _, row in rows.iterrows():
            compound = pd.Series(comp.loc[str(row["compound_id"])])
            name = _unique(safe_name(f"{row['name']}", 28), used)
            _write_sections(book.add_sheet(name), f"{row['name']}改造方案（一小区一方案）",
                            scheme_sections(row, compound, package, prof,
                                            items.get(str(row["compound_id"]), empty)), labels)
        target = Path(out_dir) / safe_name(str(county)) / f"{safe_name(str(package_id))}.xlsx"
        files.append(save_workbook(book, target))
    logger.info("一小区一方案: %d workbooks", len(files))
    return files


def _unique(name: str, used: set[str]) -> str:
    out, k = name, 2
    while out.lower() in used or out == "片区汇总":
        out = f"{name[:26]}_{k}"
        k += 1
    used.add(out.lower())
    return out


def _summary(rows: pd.DataFrame, comp: pd.DataFrame) -> pd.DataFrame:
    ids = rows["compound_id"].astype(str).tolist()
    fields = [c for c in ("property_management", "owners_committee") if c in comp.columns]
    found = {c: comp.loc[ids, c].tolist() for c in fields}
    models = [management_model({c: found[c][k] for c in fields})[0] for k in range(len(ids))]
    return pd.DataFrame({
        "序号": range(1, len(rows) + 1), "小区名称": rows["name"].to_numpy(),
        "地址": rows["address"].to_numpy(), "户数": rows["households"].to_numpy(),
        "居民同意率": rows["consent_rate"].to_numpy(), "总投资(元)": rows["cost_yuan"].to_numpy(),
        "居民出资(元)": rows["fund_residents_yuan"].to_numpy(),
        "专业经营单位出资(元)": rows["fund_utility_yuan"].to_numpy(),
        "政府出资(元)": rows["fund_government_yuan"].to_numpy(),
        "计划开工": pd.to_datetime(rows["planned_start"], errors="coerce").dt.date.to_numpy(),
        "计划完工": pd.to_datetime(rows["planned_completion"], errors="coerce").dt.date.to_numpy(),
        "长效管理模式": models,
    })
