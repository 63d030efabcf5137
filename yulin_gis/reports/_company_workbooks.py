"""Company workbooks (管线单位改造计划表): one Chinese Excel workbook per utility company.

:func:`write_company_workbooks` (re-exported by :mod:`yulin_gis.utilities._upgrades`) writes each
company's segments to renew, the joint trenches it digs in and totals per plan year and
package; ``openpyxl`` is imported inside the function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

__all__ = ["write_company_workbooks"]

logger = logging.getLogger(__name__)

_UPGRADE_HEADERS: dict[str, str] = {
    "segment_id": "管段编号", "utility_zh": "管线类型", "owner": "权属单位", "package_id": "片区编号",
    "plan_year": "计划年度", "scope": "范围", "compound_ids": "涉及小区", "households": "涉及户数",
    "material": "材质", "install_year": "敷设年份", "length_m": "长度(米)",
    "risk_score": "风险评分", "hazard": "是否隐患", "reason": "改造理由", "est_cost_yuan": "估算投资(元)",
    "funding_utility_yuan": "管线单位出资(元)", "funding_government_yuan": "政府补助(元)",
    "funding_residents_yuan": "居民出资(元)",
}
_TRENCH_HEADERS: dict[str, str] = {
    "trench_id": "统筹编号", "package_id": "片区编号", "road_id": "道路编号", "road_name": "道路名称",
    "road_class": "道路等级", "plan_year": "计划年度", "order_zh": "建议施工顺序",
    "segment_ids": "涉及管段", "length_m": "长度(米)", "schedule_zh": "施工安排",
    "window_start": "开工日期", "window_end": "完工日期", "overrun": "是否超出年度期限",
    "conflicts": "计划冲突",
}


def _safe_filename(name: str) -> str:
    from yulin_gis.io import safe_filename

    return safe_filename(re.sub(r"\s+", "_", str(name)), missing="未注明单位")


def _frame(frame: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    cols = [c for c in headers if c in frame.columns]
    return pd.DataFrame(frame[cols]).rename(columns={c: headers[c] for c in cols})


def write_company_workbooks(pipe_upgrades: pd.DataFrame, joint_trenches: pd.DataFrame | None,
                            out_dir: str | Path, *, companies: Collection[str] | None = None,
                            department_dir: str | Path | None = None) -> dict[str, Path]:
    """Write one Excel workbook per pipeline owner, headers and values in Chinese.

    Sheets: 管线改造清单 (the owner's segments), 统筹施工 (joint trenches on which it
    digs) and 汇总 (totals per plan year and package); money in 万元, lengths in whole
    metres, materials, scopes and road classes in Chinese. Strings starting with
    ``= + - @`` are written as text (no formula injection). Each file is written to a
    temporary file beside the target and renamed into place.

    Parameters
    ----------
    pipe_upgrades
        From :func:`~yulin_gis.utilities._upgrades.utility_upgrade_plan`.
    joint_trenches
        From :func:`~yulin_gis.utilities._trenches.joint_trenches`, or None.
    out_dir
        Folder of the 专业经营单位 (pipeline companies), created when missing.
    companies
        Names of the profile's 专业经营单位. An owner not among them (a city bureau such
        as the urban-management bureau owning the drains) is never filed as a company:
        its workbook ``市政管网改造计划_<owner>.xlsx`` goes to ``department_dir``
        (default: ``out_dir``'s sibling ``部门管网改造``). None treats every owner as a
        company.

    Returns
    -------
    dict
        Owner → path of its workbook.

    Raises
    ------
    OutputError
        The folder or a file cannot be written.
    """
    from yulin_gis.reports._plan_workbooks import write_workbook

    out: dict[str, Path] = {}
    dept_dir = Path(department_dir) if department_dir is not None else (
        Path(out_dir).parent / "部门管网改造")
    owner_of = pipe_upgrades["owner"].fillna("").astype(str)
    owners = sorted(owner_of.unique())
    diggers = _trench_owners(pipe_upgrades, owner_of, joint_trenches)
    for owner in owners:
        mine = pipe_upgrades[owner_of == owner]
        trenches = pd.DataFrame(columns=list(_TRENCH_HEADERS))
        if joint_trenches is not None and len(joint_trenches):
            hit = [owner in d for d in diggers]
            trenches = pd.DataFrame(joint_trenches[hit].drop(columns="geometry", errors="ignore"))
        money = ["length_m", "est_cost_yuan", "funding_utility_yuan", "funding_government_yuan",
                 "funding_residents_yuan"]
        summary = (mine.assign(plan_year=mine["plan_year"].astype("string").fillna("未定")
                               .str.replace(r"\.0$", "", regex=True))
                   .groupby(["plan_year", "package_id", "utility_zh"], sort=True)
                   .agg(segments=("segment_id", "size"), **{c: (c, "sum") for c in money})
                   .reset_index())
        is_company = companies is None or owner in companies
        kind = "管线改造计划" if is_company else "市政管网改造计划"
        sheets = {"管线改造清单": _frame(mine.assign(plan_year=_year_text(mine["plan_year"])),
                                       _UPGRADE_HEADERS),
                  "统筹施工": _frame(trenches, _TRENCH_HEADERS),
                  "汇总": _frame(summary, {"plan_year": "计划年度", "package_id": "片区编号",
                                           "utility_zh": "管线类型", "segments": "管段数",
                                           **{c: _UPGRADE_HEADERS[c] for c in money}})}
        titles = {"管线改造清单": f"{owner}{kind}（管段清单）", "统筹施工": f"{owner}统筹施工安排",
                  "汇总": f"{owner}{kind}汇总"}
        folder = Path(out_dir) if is_company else dept_dir
        target = folder / f"{kind}_{_safe_filename(owner)}.xlsx"
        write_workbook(target, sheets, titles, total_rows=["汇总"])
        out[owner] = target
        logger.info("workbook for %s: %s (%d segments)", owner, target, len(mine))
    return out


def _trench_owners(pipe_upgrades: pd.DataFrame, owner_of: pd.Series,
                   joint_trenches: pd.DataFrame | None) -> list[set[str]]:
    """For each joint trench, the owners of the segments it lists (read once)."""
    if joint_trenches is None or not len(joint_trenches):
        return []
    owners_of: dict[str, set[str]] = {}
    for seg, owner in zip(pipe_upgrades["segment_id"].astype(str).tolist(), owner_of.tolist(),
                          strict=True):
        owners_of.setdefault(seg, set()).add(owner)
    empty: set[str] = set()
    return [set().union(*(owners_of.get(s, empty) for s in ids.split(",")))
            for ids in joint_trenches["segment_ids"].astype(str).tolist()]


def _year_text(years: pd.Series) -> pd.Series:
    """Plan years as text (``2023``, not ``2023.0``); blank when unscheduled."""
    num = pd.to_numeric(years, errors="coerce")
    return num.map(lambda y: "" if pd.isna(y) else str(int(y)))
