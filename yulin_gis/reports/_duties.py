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

import numpy as np
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


_COLUMNS = ["责任单位", "职责", "依据", "适用范围", "县（市、区）", "计划年度", "片区编号", "涉及小区数",
            "涉及小区", "开始日期", "完成时限", "时间要求"]
_SHOWN = 12  # compounds named in 涉及小区 before "等N个"
_KEYS = {"city": ("plan_year",), "county": ("county", "plan_year"),
         "package": ("package_id",), "compound": ("package_id",)}


def _day(value: Any) -> Any:
    return None if value is None or pd.isna(value) else value.date()


class _Plan:
    """The scheduled packages grouped once per scope, with their compounds' names.

    Every duty of a scope shares the scope's groups (in ``groupby(sort=True)`` order),
    their first rows, their date spans and the names of the compounds each package holds
    (filtered once per ``where`` field).
    """

    def __init__(self, pk: pd.DataFrame, comp: pd.DataFrame) -> None:
        self.pk = pk
        self.comp = comp
        self._groups: dict[tuple[str, ...], tuple[list[np.ndarray], np.ndarray]] = {}
        self._names: dict[str | None, dict[str, list[str]]] = {}
        self._spans: dict[tuple[tuple[str, ...], str], list[tuple[Any, Any]]] = {}
        self._lists: dict[str, list[Any]] = {}

    def column(self, name: str) -> list[Any]:
        if name not in self._lists:
            self._lists[name] = self.pk[name].tolist()
        return self._lists[name]

    def groups(self, keys: tuple[str, ...]) -> list[np.ndarray]:
        """Row positions of each group of ``keys`` (groups sorted, rows in table order)."""
        if keys not in self._groups:
            number = self.pk.groupby(list(keys), sort=True).ngroup()
            codes = number.to_numpy(dtype=float)
            valid = np.flatnonzero(~np.isnan(codes))
            order = valid[np.argsort(codes[valid], kind="stable")]
            cuts = np.flatnonzero(np.diff(codes[order])) + 1
            self._groups[keys] = (np.split(order, cuts) if len(order) else [], codes)
        return self._groups[keys][0]

    def names(self, where: str | None) -> dict[str, list[str]]:
        """Package id → names of its compounds (those where ``where`` is false)."""
        if where not in self._names:
            comp = self.comp
            if "package_id" not in comp.columns:
                self._names[where] = {}
                return self._names[where]
            if where and where in comp.columns:
                field = comp[where]
                keep = (~field.fillna(False).astype(bool) if field.dtype != object
                        else ~field.astype(str).isin(["True", "true", "是", "1"]))
            else:
                keep = pd.Series(True, index=comp.index)
            names = (comp["name"].tolist() if "name" in comp.columns else [None] * len(comp))
            by: dict[str, list[str]] = {}
            for pid, name, ok in zip(comp["package_id"].astype(str).tolist(), names,
                                     keep.tolist(), strict=True):
                mine = by.setdefault(pid, [])
                if ok and "name" in comp.columns:
                    mine.append(str(name))
            self._names[where] = by
        return self._names[where]

    def spans(self, keys: tuple[str, ...], when: str) -> list[tuple[Any, Any]]:
        """(start, end) dates of each group of ``keys`` for a duty's ``when``."""
        if (keys, when) not in self._spans:
            groups = self.groups(keys)
            start_col, end_col, _ = WHEN[when]
            start = self._reduce(keys, groups, start_col, "min")
            end = self._reduce(keys, groups, end_col, "min" if when == "plan" else "max")
            self._spans[(keys, when)] = [(_day(a), _day(b)) for a, b in zip(start, end, strict=True)]
        return self._spans[(keys, when)]

    def _reduce(self, keys: tuple[str, ...], groups: list[np.ndarray], col: str | None,
                how: str) -> list[Any]:
        if not col or col not in self.pk.columns:
            return [None] * len(groups)
        values = self.pk[col]
        if pd.api.types.is_datetime64_dtype(values.dtype):
            codes = self._groups[keys][1]
            agg = values.groupby(codes, sort=True).agg(how)
            return [agg.get(float(k)) for k in range(len(groups))]
        return [getattr(pd.to_datetime(values.iloc[g], errors="coerce"), how)() for g in groups]


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
    plan = _Plan(pk, pd.DataFrame(compounds.drop(columns="geometry", errors="ignore")))
    rows: list[list[Any]] = []
    for duty in duties:
        rows += _expand(duty, profile, plan)
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out.insert(0, "序号", range(1, len(out) + 1))
    return out


def _expand(duty: Duty, profile: Any, plan: _Plan) -> list[list[Any]]:
    unit, source = _unit_name(profile, duty.department), f"{profile.source} {duty.clause}"
    base = [unit, duty.task, source, _SCOPE_ZH[duty.scope]]
    phrase = WHEN[duty.when][2]
    pk = plan.pk
    if not len(pk) or "plan_year" not in pk.columns:
        return [[*base, "", "", "", None, "", None, None, phrase]]
    keys = _KEYS[duty.scope]
    names = plan.names(duty.where)
    county = plan.column("county") if "county" in pk.columns else None
    years, ids = plan.column("plan_year"), plan.column("package_id")
    rows = []
    for group, (start, end) in zip(plan.groups(keys), plan.spans(keys, duty.when), strict=True):
        first = int(group[0])
        mine = [n for p in group.tolist() for n in names.get(str(ids[p]), ())]
        if duty.scope == "compound" and not mine:
            continue
        shown = "、".join(mine[:_SHOWN]) + (f"等{len(mine)}个" if len(mine) > _SHOWN else "")
        rows.append([*base, "" if duty.scope == "city" else str(county[first] if county else ""),
                     str(years[first]),
                     str(ids[first]) if duty.scope in ("package", "compound") else "",
                     len(mine), shown if duty.scope != "city" else "", start, end, phrase])
    return rows
