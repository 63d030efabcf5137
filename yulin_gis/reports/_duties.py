"""Department duties (seed §五(二)) tied to the plan years, packages and compounds.

The profile's ``[duties]`` table lists, per department code (or ``pipeline_units`` for
all 专业经营单位), the duties the seed gives it::

    [[duties.development_reform]]
    task = "老旧小区改造项目前期审批，合理简化审批手续和前期工作流程"
    scope = "package"          # city | county | package | compound
    when = "design"            # plan | design | basic | construction | completion | long_term | year
    clause = "五(二)"
    where = "owners_committee" # optional (compound scope): compounds where this field is false

:func:`duty_table` expands them over the plan: a ``city`` duty gives one row per plan
year, ``county`` one per county and year, ``package`` one per planned package with its
dates, ``compound`` one per package listing the compounds it concerns.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from yulin_gis.errors import ProfileError

__all__ = ["SCOPES", "WHEN", "Duty", "duty_table", "load_duties"]

logger = logging.getLogger(__name__)

SCOPES = ("city", "county", "package", "compound")
WHEN: dict[str, tuple[str | None, str | None, str]] = {
    "plan": (None, "design_start", "计划下达、方案设计开始前"),
    "design": ("design_start", "planned_start", "方案设计至开工前"),
    "basic": ("planned_start", "basic_end", "开工至基础类完工"),
    "construction": ("planned_start", "planned_completion", "施工期间"),
    "completion": ("basic_end", "planned_completion", "竣工验收前"),
    "long_term": ("planned_completion", None, "竣工后长期"),
    "year": ("design_start", "planned_completion", "计划年度内"),
}
"""When a duty applies: (start column, end column of the packages, Chinese phrase)."""

_ALL_UNITS = "pipeline_units"
_SCOPE_ZH = {"city": "全市", "county": "县（市、区）", "package": "片区", "compound": "小区"}


@dataclass(frozen=True)
class Duty:
    """One duty of one department."""

    department: str
    task: str
    scope: str
    when: str
    clause: str
    where: str | None = None


def _raw(profile: Any) -> dict[str, Any]:
    raw = getattr(profile, "raw", None)
    if isinstance(raw, dict) and raw:
        return raw
    if profile.path is None:
        return {}
    with open(profile.path, "rb") as fh:
        return tomllib.load(fh)


def load_duties(profile: Any) -> list[Duty]:
    """The profile's ``[duties]``, validated against its departments.

    Raises
    ------
    ProfileError
        A duty names an unknown department, scope or time, or lacks its task or clause;
        every problem is listed with its key path.
    """
    table = _raw(profile).get("duties", {})
    problems: list[str] = []
    duties: list[Duty] = []
    known = set(profile.departments) | {_ALL_UNITS}
    for code, entries in table.items():
        if code not in known:
            problems.append(f"duties.{code}: not a department code of [departments]")
            continue
        for k, entry in enumerate(entries if isinstance(entries, list) else [entries], start=1):
            path = f"duties.{code}[{k}]"
            if not isinstance(entry, dict) or not entry.get("task") or not entry.get("clause"):
                problems.append(f"{path}: needs task and clause")
                continue
            scope, when = entry.get("scope", "city"), entry.get("when", "year")
            if scope not in SCOPES:
                problems.append(f"{path}.scope: {scope!r} is not one of {', '.join(SCOPES)}")
            if when not in WHEN:
                problems.append(f"{path}.when: {when!r} is not one of {', '.join(WHEN)}")
            duties.append(Duty(code, str(entry["task"]), scope, when, str(entry["clause"]),
                               entry.get("where")))
    if problems:
        raise ProfileError(f"profile {profile.path} has {len(problems)} problem(s) in [duties]:\n"
                           + "\n".join(f"  - {p}" for p in problems))
    return duties


def _unit_name(profile: Any, code: str) -> str:
    if code == _ALL_UNITS:
        return "、".join(profile.utility_companies.values()) or "各专业经营单位"
    return str(profile.departments[code])


def _dates(group: pd.DataFrame, when: str) -> tuple[Any, Any]:
    start_col, end_col, _ = WHEN[when]
    start = (pd.to_datetime(group[start_col], errors="coerce").min()
             if start_col and start_col in group else None)
    end = (pd.to_datetime(group[end_col], errors="coerce").max()
           if end_col and end_col in group else None)
    if when == "plan" and end_col in group:
        end = pd.to_datetime(group[end_col], errors="coerce").min()
    return (None if start is None or pd.isna(start) else start.date(),
            None if end is None or pd.isna(end) else end.date())


def _compound_names(comp: pd.DataFrame, where: str | None, limit: int = 12) -> tuple[int, str]:
    if where and where in comp.columns:
        field = comp[where]
        comp = comp[~field.fillna(False).astype(bool)] if field.dtype != object else comp[
            ~field.astype(str).isin(["True", "true", "是", "1"])]
    names = [str(n) for n in comp.get("name", pd.Series(dtype=str)).tolist()]
    shown = "、".join(names[:limit]) + (f"等{len(names)}个" if len(names) > limit else "")
    return len(names), shown


def duty_table(profile: Any, compounds: pd.DataFrame,
               packages: pd.DataFrame | None) -> pd.DataFrame:
    """Every department's duties over the plan (the 部门职责 sheet, Chinese headers).

    Parameters
    ----------
    profile
        The policy profile (``[duties]`` and ``[departments]``).
    compounds
        Compounds with ``package_id``, ``name`` and the fields duties filter on.
    packages
        Scheduled packages (``plan_year``, ``county``, dates); without them only the
        duties themselves are listed.

    Returns
    -------
    pandas.DataFrame
        序号, 责任单位, 职责, 依据, 适用范围, 县（市、区）, 计划年度, 片区编号, 涉及小区数,
        涉及小区, 开始日期, 完成时限, 时间要求.
    """
    duties = load_duties(profile)
    pk = pd.DataFrame(packages.drop(columns="geometry", errors="ignore")) if packages is not None \
        else pd.DataFrame(columns=["package_id", "county", "plan_year"])
    if "plan_year" in pk.columns:
        pk = pk[~pk["plan_year"].astype(str).str.strip().isin(["", "nan", "None", "<NA>"])]
    comp = pd.DataFrame(compounds.drop(columns="geometry", errors="ignore"))
    by_package = ({str(k): g for k, g in comp.groupby(comp["package_id"].astype(str), sort=False)}
                  if "package_id" in comp.columns else {})
    rows: list[dict[str, Any]] = []
    for duty in duties:
        rows += _expand(duty, profile, pk, by_package)
    out = pd.DataFrame(rows, columns=["责任单位", "职责", "依据", "适用范围", "县（市、区）", "计划年度",
                                      "片区编号", "涉及小区数", "涉及小区", "开始日期", "完成时限",
                                      "时间要求"])
    out.insert(0, "序号", range(1, len(out) + 1))
    return out


def _expand(duty: Duty, profile: Any, pk: pd.DataFrame,
            by_package: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    base = {"责任单位": _unit_name(profile, duty.department), "职责": duty.task,
            "依据": f"{profile.source} {duty.clause}", "适用范围": _SCOPE_ZH[duty.scope],
            "时间要求": WHEN[duty.when][2]}
    if not len(pk) or "plan_year" not in pk.columns:
        return [{**base, "县（市、区）": "", "计划年度": "", "片区编号": "", "涉及小区数": None,
                 "涉及小区": "", "开始日期": None, "完成时限": None}]
    keys = {"city": ["plan_year"], "county": ["county", "plan_year"],
            "package": ["package_id"], "compound": ["package_id"]}[duty.scope]
    rows = []
    for _, group in pk.groupby(keys, sort=True):
        first = group.iloc[0]
        parts = [by_package[p] for p in group["package_id"].astype(str) if p in by_package]
        mine = pd.concat(parts) if parts else pd.DataFrame(columns=["name"])
        n, names = _compound_names(mine, duty.where)
        if duty.scope == "compound" and n == 0:
            continue
        start, end = _dates(group, duty.when)
        rows.append({**base, "县（市、区）": "" if duty.scope == "city" else str(first.get("county", "")),
                     "计划年度": str(first["plan_year"]),
                     "片区编号": str(first["package_id"]) if duty.scope in ("package", "compound") else "",
                     "涉及小区数": n, "涉及小区": names if duty.scope != "city" else "",
                     "开始日期": start, "完成时限": end})
    return rows
