"""Task lists per department and utility company, and the survey workbook (摸底调查表).

The seed's division of duties (§五(二)) assigns each renovation item to city departments
and, for pipeline items, to the utility companies (管线单位). :func:`department_tasks` and
:func:`utility_tasks` turn the assessed compounds into those lists (which compounds, which
items, quantities, estimated cost); :func:`write_task_workbooks` and
:func:`write_survey_workbook` write them as Excel workbooks with Chinese headers.

Every workbook is written atomically (a temporary file in the same folder, then
``os.replace``). Text cells that start with ``= + - @`` (or a tab/CR) are stored as text,
never as formulas (CSV/Excel formula injection).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.errors import OutputError
from yulin_gis.io import GAP_FIELDS, LAYERS, VERIFY_STATUS, VOCABULARIES
from yulin_gis.profile import CLASS_LABELS_ZH, CLASSES, UNITS, Profile, load_profile

if TYPE_CHECKING:
    pass

__all__ = [
    "TIER_LABELS_ZH",
    "department_tasks",
    "item_table",
    "utility_tasks",
    "write_survey_workbook",
    "write_task_workbooks",
]

logger = logging.getLogger(__name__)

TIER_LABELS_ZH = {"priority": "重点改造（2000年底前）", "share": "按比例纳入（2001—2005年）",
                  "excluded": "不纳入"}
_KIND_ZH = {k: v[0] for k, v in VOCABULARIES["facility_kind"].items()}
_UTIL_ZH = {k: v[0] for k, v in VOCABULARIES["utility"].items()}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")

_HEADERS_ZH: dict[str, str] = {
    "compound_id": "小区编号", "name": "小区名称", "county": "所属县区", "street": "所属街道",
    "community_id": "社区代码", "community_name": "所属社区", "address": "地址",
    "built_year": "建成年份", "households": "户数",
    "buildings": "楼栋数", "floors": "楼层数", "floor_area_m2": "建筑面积(m²)",
    "tier": "纳入类别", "eligible": "是否纳入", "tier_reason": "纳入/排除理由",
    "exclusion_reason": "排除理由", "consent_ok": "意愿达标", "consent_rate": "居民同意率",
    "item_names": "改造内容", "items_basic": "基础类项数",
    "items_improve": "完善类项数", "items_upgrade": "提升类项数", "quantities": "工程量",
    "quantity_text": "工程量",
    "evidence": "依据", "not_surveyed": "未调查字段", "notes": "备注", "priority": "优先级得分",
    "prio_age": "年代得分", "prio_hazard": "隐患得分", "prio_gaps": "短板得分",
    "prio_consent": "意愿得分", "cost_yuan": "估算投资(元)", "cost_basic": "基础类投资(元)",
    "cost_improve": "完善类投资(元)", "cost_upgrade": "提升类投资(元)",
    "fund_residents": "居民出资(元)", "fund_utility": "管线单位出资(元)",
    "fund_government": "政府出资(元)", "hazard_pipes": "隐患管段数",
    "pipes_undetermined": "待核实管段数", "rel_elev_m": "相对周边高程(m)",
    "low_share": "低洼占比", "waterlogging_risk": "内涝风险",
    # task lists
    "item_name": "改造内容", "class": "类别", "quantity": "工程量",
    "unit": "单位", "unit_cost": "单价(元)", "residents_yuan": "居民出资(元)",
    "utility_yuan": "管线单位出资(元)", "government_yuan": "政府出资(元)",
    "departments": "责任部门", "utility_companies": "管线单位", "company_share_yuan": "本单位出资(元)",
    "item_evidence": "依据", "compounds": "小区数",
}


def _header(col: str) -> str:
    if col in _HEADERS_ZH:
        return _HEADERS_ZH[col]
    m = re.fullmatch(r"walk_(\w+)_m", col)
    if m:
        return f"步行至{_KIND_ZH.get(m.group(1), m.group(1))}距离(m)"
    m = re.fullmatch(r"gap_(\w+)", col)
    if m:
        return f"{_KIND_ZH.get(m.group(1), m.group(1))}缺口"
    m = re.fullmatch(r"hazard_len_(\w+)_m", col)
    if m:
        return f"{_UTIL_ZH.get(m.group(1), m.group(1))}隐患管长(m)"
    m = re.fullmatch(r"hazard_evidence_(\w+)", col)
    if m:
        return f"{_UTIL_ZH.get(m.group(1), m.group(1))}隐患管段"
    m = re.fullmatch(r"hazard_(\w+)", col)
    if m:
        return f"{_UTIL_ZH.get(m.group(1), m.group(1))}管线隐患"
    return col


# --- task lists --------------------------------------------------------------------------


def item_table(assessed: pd.DataFrame, profile: Profile | None = None) -> pd.DataFrame:
    """One row per (compound, item) from the ``items`` and ``quantities`` columns.

    Returns
    -------
    pandas.DataFrame
        ``compound_id``, ``name``, ``county``, ``street``, ``community_id``, ``tier``,
        ``eligible``, ``item``, ``item_name``, ``class``, ``quantity``, ``unit``,
        ``unit_cost``, ``cost_yuan``, ``residents_yuan``, ``utility_yuan``,
        ``government_yuan``, ``departments``, ``utility_companies`` (codes, comma-separated).
    """
    prof = profile if profile is not None else load_profile()
    keep = [c for c in ("compound_id", "name", "county", "street", "community_id", "tier", "eligible")
            if c in assessed.columns]
    cols = [*keep, "item", "item_name", "class", "quantity", "unit", "unit_cost", "cost_yuan",
            "residents_yuan", "utility_yuan", "government_yuan", "departments", "utility_companies"]
    pos: list[int] = []
    code_list: list[str] = []
    qty_list: list[float] = []
    for i, quant in enumerate(assessed["quantities"].tolist()):
        if not isinstance(quant, str) or not quant:
            continue
        for part in quant.split(","):
            code, _, q = part.partition("=")
            pos.append(i)
            code_list.append(code)
            qty_list.append(float(q) if q else float("nan"))
    if not pos:
        return pd.DataFrame(columns=cols)
    base = pd.DataFrame(assessed[keep]).reset_index(drop=True).iloc[pos].reset_index(drop=True)
    codes = np.array(code_list, dtype=object)
    unknown = sorted(set(codes) - set(prof.items))
    if unknown:
        prof.item(unknown[0])  # raises ProfileError naming the code
    items = [prof.items[c] for c in codes]
    qty = np.array(qty_list, dtype=float)
    unit_cost = np.array([it.unit_cost for it in items], dtype=float)
    cost = qty * unit_cost
    out = base.assign(
        item=codes, item_name=[it.name_zh for it in items], **{"class": [it.item_class for it in items]},
        quantity=qty, unit=[it.unit for it in items], unit_cost=unit_cost, cost_yuan=cost,
        residents_yuan=cost * np.array([it.funding.residents for it in items], dtype=float),
        utility_yuan=cost * np.array([it.funding.utility for it in items], dtype=float),
        government_yuan=cost * np.array([it.funding.government for it in items], dtype=float),
        departments=[",".join(it.departments) for it in items],
        utility_companies=[",".join(it.utility_companies) for it in items],
    )
    return out[cols]


def _item_evidence(assessed: pd.DataFrame, long: pd.DataFrame) -> list[str]:
    """The evidence text of each (compound, item) row of ``long``."""
    lookup: dict[tuple[str, str], str] = {}
    for cid, ev in zip(assessed["compound_id"].astype(str).tolist(), assessed["evidence"].tolist(), strict=True):
        if isinstance(ev, str) and ev:
            for part in ev.split(" | "):
                code, _, text = part.partition(": ")
                lookup[(cid, code)] = text
    return [lookup.get((c, i), "") for c, i in zip(long["compound_id"].astype(str).tolist(),
                                                   long["item"].tolist(), strict=True)]


def _long(assessed: pd.DataFrame, prof: Profile, eligible_only: bool) -> pd.DataFrame:
    data = assessed[assessed["eligible"].astype(bool)] if eligible_only else assessed
    long = item_table(data, prof)
    long["item_evidence"] = _item_evidence(data, long) if len(long) else []
    if "priority" in data.columns:
        long["priority"] = long["compound_id"].map(dict(zip(data["compound_id"], data["priority"], strict=True)))
    return long


def _named(long: pd.DataFrame, prof: Profile) -> pd.DataFrame:
    """Replace department and company codes by their Chinese names."""
    long = long.copy()
    long["departments"] = long["item"].map(
        {c: "、".join(prof.departments[d] for d in it.departments) for c, it in prof.items.items()})
    long["utility_companies"] = long["item"].map(
        {c: "、".join(prof.utility_companies[u] for u in it.utility_companies) for c, it in prof.items.items()})
    return long


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("county", "priority", "compound_id", "item") if c in frame.columns]
    asc = [c != "priority" for c in keys]
    return frame.sort_values(keys, ascending=asc, kind="stable").reset_index(drop=True)


def department_tasks(
    assessed: pd.DataFrame, profile: Profile | None = None, *, eligible_only: bool = True
) -> dict[str, pd.DataFrame]:
    """Task list of every department named in the catalogue (seed §五(二)).

    Parameters
    ----------
    assessed
        Output of :func:`~yulin_gis.survey._assess.assess_compounds`.
    profile
        The profile used for the survey (departments, items); default Yulin's.
    eligible_only
        Only compounds with ``eligible`` True (default).

    Returns
    -------
    dict of str to pandas.DataFrame
        Department's Chinese name → one row per (compound, item) it is responsible for:
        compound columns, ``item``, ``item_name``, ``class``, ``quantity``, ``unit``,
        ``unit_cost``, ``cost_yuan``, the funding split, ``departments`` (all responsible
        departments, Chinese), ``utility_companies`` and ``item_evidence``; sorted by
        county, priority (highest first), compound. Departments without tasks get an
        empty frame.
    """
    prof = profile if profile is not None else load_profile()
    long = _named(_long(assessed, prof, eligible_only), prof)
    out: dict[str, pd.DataFrame] = {}
    for code, name in prof.departments.items():
        mine = [it.code for it in prof.items.values() if code in it.departments]
        out[name] = _sorted(long[long["item"].isin(mine)])
    return out


def utility_tasks(
    assessed: pd.DataFrame, profile: Profile | None = None, *, eligible_only: bool = True
) -> dict[str, pd.DataFrame]:
    """Task list of every utility company (管线单位) for the pipeline items.

    The utility share of an item's cost is split equally between the companies the item
    names (``company_share_yuan``); the evidence names the hazardous segments found.

    Returns
    -------
    dict of str to pandas.DataFrame
        Company's Chinese name → rows as in :func:`department_tasks` plus
        ``company_share_yuan``.
    """
    prof = profile if profile is not None else load_profile()
    long = _long(assessed, prof, eligible_only)
    n_comp = long["item"].map({c: max(len(it.utility_companies), 1) for c, it in prof.items.items()})
    long["company_share_yuan"] = long["utility_yuan"] / n_comp.astype(float)
    long = _named(long, prof)
    out: dict[str, pd.DataFrame] = {}
    for code, name in prof.utility_companies.items():
        mine = [it.code for it in prof.items.values() if code in it.utility_companies]
        out[name] = _sorted(long[long["item"].isin(mine)])
    return out


# --- workbook writing --------------------------------------------------------------------


def quantity_display(quantity: float, unit: str) -> Any:
    """A quantity as officials read it: whole 米/平方米/户, whole 个/部, else 分摊.

    A community facility shared by households (0.02 个幼儿园 per compound) is not a count:
    it is shown as ``按户分摊`` and its cost carries the share.
    """
    if quantity is None or (isinstance(quantity, float) and np.isnan(quantity)):
        return None
    q = float(quantity)
    if unit in ("compound", "lift") and abs(q - round(q)) > 1e-6:
        return "按户分摊"
    return round(q)


def _zh_frame(frame: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Canonical columns → Chinese headers, with the community name beside its code."""
    out = frame.copy()
    if names is not None and "community_id" in out.columns and "community_name" not in out.columns:
        pos = list(out.columns).index("community_id")
        out.insert(pos, "community_name", out["community_id"].map(
            lambda c: names.get(str(c), "") if isinstance(c, str) else ""))
    return out.rename(columns={c: _header(c) for c in out.columns})


_EVIDENCE_SOURCES_ZH = {"pipes": "管线图层", "terrain": "数字高程模型", "walk": "道路与设施（步行距离）"}


def _not_surveyed_zh(value: object) -> object:
    """``"gap_lift, pipes, walk"`` → ``"加装电梯缺项、管线图层、道路与设施（步行距离）"``."""
    if not isinstance(value, str) or not value.strip():
        return value
    fields = {f.name: f.label_zh for f in (*LAYERS["compounds"].fields, *GAP_FIELDS)}
    return "、".join(_EVIDENCE_SOURCES_ZH.get(k, fields.get(k, k))
                    for k in (s.strip() for s in value.split(",")) if k)


def _check_target(path: str | os.PathLike[str]) -> Path:
    """Create the parent folder and check it is writable, before any work is done."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc}") from exc
    if not os.access(target.parent, os.W_OK):
        raise OutputError(f"cannot write {target}: folder {target.parent} is not writable")
    return target


def _summary(assessed: pd.DataFrame, prof: Profile) -> pd.DataFrame:
    long = _long(assessed, prof, eligible_only=True)
    rows: list[dict[str, Any]] = []
    for cls in CLASSES:
        for it in prof.items_of_class(cls):
            sel = long[long["item"] == it.code]
            rows.append({"class": CLASS_LABELS_ZH[cls], "item_name": it.name_zh,
                         "unit": UNITS[it.unit], "unit_cost": it.unit_cost,
                         "compounds": sel["compound_id"].nunique(),
                         "quantity": quantity_display(sel["quantity"].sum(), it.unit),
                         "cost_yuan": sel["cost_yuan"].sum(), "residents_yuan": sel["residents_yuan"].sum(),
                         "utility_yuan": sel["utility_yuan"].sum(),
                         "government_yuan": sel["government_yuan"].sum()})
        part = [r for r in rows if r["class"] == CLASS_LABELS_ZH[cls]]
        rows.append({"class": CLASS_LABELS_ZH[cls], "item_name": f"{CLASS_LABELS_ZH[cls]}合计",
                     "unit": "", "unit_cost": None,
                     "compounds": long.loc[long["class"] == cls, "compound_id"].nunique(),
                     "quantity": None,
                     **{k: float(sum(float(r[k]) for r in part)) for k in
                        ("cost_yuan", "residents_yuan", "utility_yuan", "government_yuan")}})
    return pd.DataFrame(rows)


def _county_summary(assessed: pd.DataFrame) -> pd.DataFrame:
    county = assessed["county"].fillna("未填县区") if "county" in assessed.columns else pd.Series(
        "未填县区", index=assessed.index)
    df = pd.DataFrame({"county": county.astype(str), "tier": assessed["tier"],
                       "eligible": assessed["eligible"].astype(bool),
                       "households": pd.to_numeric(assessed["households"], errors="coerce")
                       if "households" in assessed.columns else 0.0,
                       "cost_yuan": assessed["cost_yuan"]})
    g = df.groupby("county", sort=True)
    out = pd.DataFrame({
        "小区数": g.size(),
        "重点改造": g["tier"].agg(lambda t: int((t == "priority").sum())),
        "按比例纳入": g["tier"].agg(lambda t: int((t == "share").sum())),
        "不纳入": g["tier"].agg(lambda t: int((t == "excluded").sum())),
        "纳入户数": df[df["eligible"]].groupby("county")["households"].sum(),
        "纳入估算投资(元)": df[df["eligible"]].groupby("county")["cost_yuan"].sum(),
    }).fillna(0)
    return out.reset_index()


_SURVEY_SHEET_COLS: Sequence[str] = (
    "compound_id", "name", "street", "community_id", "built_year", "households", "floors",
    "floor_area_m2", "tier", "eligible", "tier_reason", "item_names", "items", "items_basic",
    "items_improve", "items_upgrade", "quantities", "evidence", "not_surveyed", "notes", "priority",
    "prio_age", "prio_hazard", "prio_gaps", "prio_consent", "consent_rate", "cost_yuan",
    "cost_basic", "cost_improve", "cost_upgrade", "fund_residents", "fund_utility",
    "fund_government", "hazard_pipes", "pipes_undetermined", "rel_elev_m", "low_share",
    "waterlogging_risk",
)


def _quantity_text(quantities: Any, prof: Profile) -> str:
    """``water_supply=543,roads=13860.7`` → ``供水设施改造543米、道路改造13861平方米``."""
    if not isinstance(quantities, str) or not quantities:
        return ""
    parts = []
    for part in quantities.split(","):
        code, _, q = part.partition("=")
        item = prof.items.get(code)
        if item is None or not q:
            continue
        shown = quantity_display(float(q), item.unit)
        parts.append(f"{item.name_zh}{shown}" + ("" if isinstance(shown, str) else UNITS[item.unit]))
    return "、".join(parts)


def write_survey_workbook(
    assessed: pd.DataFrame, path: str | os.PathLike[str], profile: Profile | None = None, *,
    community_names: dict[str, str] | None = None,
) -> Path:
    """Write the survey workbook: a summary by class and item, then one sheet per county.

    Parameters
    ----------
    assessed
        Output of :func:`~yulin_gis.survey._assess.assess_compounds`.
    path
        The ``.xlsx`` file to write (atomically).
    profile
        The profile used for the survey; default Yulin's.
    community_names
        Community code → name (所属社区 beside 社区代码).

    Returns
    -------
    pathlib.Path
        The file written. Sheets: ``汇总`` (eligible compounds by class and item: number of
        compounds, quantity, cost, funding split), ``县区汇总`` (tiers, households and cost
        per county), then one sheet per county with every compound (excluded ones too),
        highest priority first. Title in row 1, Chinese headers in row 2; money in 万元.
    """
    from yulin_gis.reports._docmeta import profile_labels
    from yulin_gis.reports._plan_workbooks import write_workbook

    prof = profile if profile is not None else load_profile()
    _check_target(path)
    sheets = {"汇总": _zh_frame(_summary(assessed, prof)),
              "县区汇总": _zh_frame(_county_summary(assessed))}
    titles = {"汇总": "摸底调查汇总（符合条件小区，按改造内容）", "县区汇总": "摸底调查分县区汇总"}
    df = pd.DataFrame(assessed.drop(columns="geometry", errors="ignore"))
    for col in ("street", "community_id"):
        if col not in df.columns:
            df[col] = None
    df["item_names"] = df["items"].map(
        lambda s: "、".join(prof.item(c).name_zh for c in s.split(",") if c) if isinstance(s, str) else "")
    df["quantities"] = [_quantity_text(q, prof) for q in df["quantities"]]
    df["tier"] = df["tier"].map(lambda t: TIER_LABELS_ZH.get(t, t))
    if "not_surveyed" in df.columns:
        df["not_surveyed"] = df["not_surveyed"].map(_not_surveyed_zh)
    extra = [c for c in df.columns if c.startswith(("walk_", "gap_"))]
    cols = [c for c in (*_SURVEY_SHEET_COLS, *extra) if c in df.columns and c != "items"]
    county = df["county"].fillna("未填县区").astype(str) if "county" in df.columns else pd.Series(
        "未填县区", index=df.index)
    for name in sorted(county.unique()):
        part = df[county == name].sort_values(["priority", "compound_id"], ascending=[False, True], kind="stable")
        sheets[name] = _zh_frame(part[cols], community_names or {})
        titles[name] = f"{name}城镇老旧小区摸底调查评估表"
    verify = verification_table(df)
    if len(verify):
        sheets["待核实清单"] = verify
        titles["待核实清单"] = "待核实小区清单（数据待核实，暂不纳入改造计划）"
    return write_workbook(Path(path), sheets, titles, labels=profile_labels(prof),
                          total_rows=["县区汇总"])  # write_workbook logs the file


def write_task_workbooks(
    assessed: pd.DataFrame, out_dir: str | os.PathLike[str], profile: Profile | None = None,
    *, eligible_only: bool = True, packages: pd.DataFrame | None = None,
    community_names: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write ``部门任务清单.xlsx`` and ``管线单位任务清单.xlsx`` into ``out_dir``.

    The department workbook opens with ``部门职责`` (every department's duties from the
    seed §五(二), tied to the plan years, packages and compounds where each applies;
    :func:`yulin_gis.reports._duties.duty_table`), then ``汇总`` and one sheet per department with
    its items. The company workbook lists the profile's 专业经营单位 only.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"departments": path, "utilities": path}``.
    """
    from yulin_gis.reports._docmeta import profile_labels
    from yulin_gis.reports._duties import duty_table
    from yulin_gis.reports._plan_workbooks import write_workbook

    prof = profile if profile is not None else load_profile()
    out = Path(out_dir)
    _check_target(out / "部门任务清单.xlsx")
    labels = profile_labels(prof)
    paths: dict[str, Path] = {}
    for key, fname, tasks in (
        ("departments", "部门任务清单.xlsx", department_tasks(assessed, prof, eligible_only=eligible_only)),
        ("utilities", "管线单位任务清单.xlsx", utility_tasks(assessed, prof, eligible_only=eligible_only)),
    ):
        sheets: dict[str, pd.DataFrame] = {}
        titles: dict[str, str] = {}
        if key == "departments":
            sheets["部门职责"] = duty_table(prof, assessed, packages)
            titles["部门职责"] = f"{prof.city}城镇老旧小区改造部门职责与任务清单（依据实施细则五(二)）"
        money = "company_share_yuan" if key == "utilities" else "cost_yuan"
        sched = prof.schedule
        duty = (f"纳入本单位年度更新改造计划；开工前形成统筹施工方案（当年{sched.start_by}前开工，"
                f"小区内水电路气{sched.basic_complete_by}前基本完工）") if key == "utilities" else ""
        duty_rows = (sheets["部门职责"]["责任单位"].value_counts() if "部门职责" in sheets
                     else pd.Series(dtype=int))
        sheets["汇总"] = pd.DataFrame([
            {"单位": name, **({"职责条数": int(duty_rows.get(name, 0))} if key == "departments" else {}),
             "小区数": t["compound_id"].nunique(), "任务数": len(t),
             "估算投资(元)": t["cost_yuan"].sum(), _header(money): t[money].sum(),
             **({"要求": duty} if duty else {})}
            for name, t in tasks.items()
        ])
        titles["汇总"] = "专业经营单位任务汇总" if key == "utilities" else "部门任务汇总"
        cols = ["county", "street", "community_id", "compound_id", "name", "tier", "priority",
                "item_name", "class", "quantity", "unit", "unit_cost", "cost_yuan",
                "residents_yuan", "utility_yuan", "government_yuan",
                *(["company_share_yuan"] if key == "utilities" else []),
                "departments", "utility_companies", "item_evidence"]
        for name, t in tasks.items():
            frame = t[[c for c in cols if c in t.columns]].copy()
            frame["class"] = frame["class"].map(CLASS_LABELS_ZH)
            frame["quantity"] = [quantity_display(q, u) for q, u in zip(t["quantity"], t["unit"],
                                                                       strict=True)]
            frame["unit"] = frame["unit"].map(UNITS)
            if "tier" in frame.columns:
                frame["tier"] = frame["tier"].map(lambda v: TIER_LABELS_ZH.get(v, v))
            sheets[name] = _zh_frame(frame, community_names or {})
            titles[name] = f"{name}城镇老旧小区改造任务清单"
        paths[key] = write_workbook(out / fname, sheets, titles, labels=labels,
                                    total_rows=["汇总"])
    return paths


def verification_table(comp: pd.DataFrame) -> pd.DataFrame:
    """The 待核实清单: compounds to verify with their reason (Chinese headers, may be empty)."""
    cols = {"compound_id": "小区编号", "name": "小区名称", "county": "县（市、区）",
            "street": "街道", "address": "地址", "exclusion_reason": "待核实原因"}
    if "status" not in comp.columns:
        return pd.DataFrame(columns=list(cols.values()))
    part = pd.DataFrame(comp.loc[comp["status"] == VERIFY_STATUS, [c for c in cols if c in comp.columns]])
    part = part.sort_values("compound_id", kind="stable").rename(columns=cols)
    return part.astype(object).where(part.notna(), "").reset_index(drop=True)
