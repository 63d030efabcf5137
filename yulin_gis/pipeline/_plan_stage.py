"""The plan stage's body (年度计划编制): parts, allocation, schedule, optional items, money.

:func:`plan_compounds` is what :func:`yulin_gis.pipeline._stages.plan_stage` runs. In order:

1. cut packages into pre-2000 parts and deferred 2001–2005 parts
   (:func:`yulin_gis.planning._rules.plan_parts`, seed §四(一));
2. allocate the parts on their 基础类 cost (seed §六(三) 应改则改) under the explicit budget
   (``budget_source = "explicit"``), or, without one, unconstrained by money and paced
   evenly over the plan years (``budget_source = "none"``; seed §二 by 2025);
3. date every part within the programme: nothing before the rules' effective date,
   basic works by 31 December of the plan year, completion by the programme deadline or
   flagged (seed §六(四));
4. fund optional items (能改则改) from what the budgets have left
   (:func:`yulin_gis.planning._rules.fund_optional`);
5. split the money by funder (谁受益、谁出资, §八(二)) and the government share by source
   (:data:`~yulin_gis._profile_params.FUNDING_SOURCES`, profile ``[funding_sources]``),
   with the residents' share per household;
6. report coverage as both 已纳入计划 (scheduled) and 年底完工 (completed by year end), and
   name what holds back each county's unplanned pre-2000 households (budget, capacity,
   consent).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis._profile_params import FUNDING_SOURCES
from yulin_gis.planning import (
    budget_left,
    fund_optional,
    households_limit_by_year,
    pacing_capacity,
    plan_parts,
    reason_zh,
)

if TYPE_CHECKING:
    from yulin_gis.pipeline._stages import PlanState
    from yulin_gis.planning import PlanResult

__all__ = ["COMPOUND_PLAN_COLUMNS", "binding_constraints", "plan_compounds"]

logger = logging.getLogger(__name__)

_FUNDERS = ("residents", "utility", "government")
COMPOUND_PLAN_COLUMNS: tuple[str, ...] = (
    "plan_part", "cost_basic_yuan", "cost_optional_yuan", "cost_planned_yuan",
    "optional_funded", "optional_unfunded", "optional_later_year", "fund_residents_yuan", "fund_utility_yuan",
    "fund_government_yuan", *(f"fund_{s}_yuan" for s in FUNDING_SOURCES),
    "residents_per_household_yuan",
)
"""Columns :func:`plan_compounds` adds to every compound (0 / ``""`` when not planned)."""


def budget_spec(state: PlanState) -> tuple[Any, str]:
    """The explicit yearly budget (number or table) and ``"explicit"``, or ``(None, "none")``."""
    budget = state.options.budget
    if isinstance(budget, Path):
        from yulin_gis.io import read_table

        table = read_table(budget)
        table.columns = [str(c).strip() for c in table.columns]
        return table, "explicit"
    if budget is not None:
        return float(budget), "explicit"
    return None, "none"


def _allocate(state: PlanState, parts: pd.DataFrame) -> PlanResult:
    from yulin_gis.planning import allocate_plan

    prof = state.profile
    years = prof.plan.years
    budget, source = budget_spec(state)
    capacity: Any = state.options.capacity
    limits = households_limit_by_year(years, **_timing(prof))
    full = sum(1 for v in limits.values() if v is None)
    if capacity is None and source == "none":
        capacity = pacing_capacity(parts, years, prof.x.programme.pacing_slack, full)
    result = allocate_plan(parts, years=years, budget_by_county_year=budget,
                           households_capacity=capacity, share_cap=prof.eligibility.share_cap,
                           size_limit=limits)
    result.budget_source = source
    if source == "none":
        result.notes.append("未设定年度预算：计划不受资金约束，按完成期限将户数均衡安排到各年度"
                            f"（完整实施年度每年约总户数的1/{max(full, 1)}，上浮"
                            f"{prof.x.programme.pacing_slack:.0%}）。")
    else:
        result.notes.append("年度预算为输入的预算表；基础类内容优先安排，余额按顺序安排完善类、提升类。")
    return result


def _timing(prof: Any) -> dict[str, Any]:
    """The schedule's deadlines, durations and programme window from the profile."""
    x = prof.x
    return {"deadlines": {"start_by": prof.schedule.start_by,
                          "basic_complete_by": prof.schedule.basic_complete_by},
            "durations_days": x.phases_days, "reference_households": x.reference_households,
            "not_before": x.programme.effective_date, "programme_end": x.programme.deadline}


def _schedule(state: PlanState, result: PlanResult) -> pd.DataFrame:
    from yulin_gis.planning import schedule_packages

    return schedule_packages(result.packages, **_timing(state.profile))


def _items_long(comp: pd.DataFrame, state: PlanState, planned: np.ndarray) -> pd.DataFrame:
    from yulin_gis.reports import item_table

    sub = comp[planned]
    long = item_table(pd.DataFrame(sub.drop(columns="geometry", errors="ignore")), state.profile)
    meta = pd.DataFrame({"county": sub["county"].astype(str).to_numpy(),
                         "plan_year": sub["plan_year"].astype(int).to_numpy(),
                         "priority": pd.to_numeric(sub["priority"], errors="coerce").fillna(0).to_numpy()},
                        index=sub["compound_id"].astype(str).to_numpy())
    cid = long["compound_id"].astype(str)
    for col in ("plan_year", "priority"):
        long[col] = cid.map(meta[col]).to_numpy()
    long["county"] = cid.map(meta["county"]).to_numpy()
    return long


def _money(comp: pd.DataFrame, long: pd.DataFrame, state: PlanState) -> pd.DataFrame:
    """Per compound: cost by class (must-do / funded optional), funders and sources."""
    prof = state.profile
    names = {c: i.name_zh for c, i in prof.items.items()}
    f = long[long["funded"]]
    opt = f["class"] != "basic"
    g = f.groupby(f["compound_id"].astype(str))
    out = pd.DataFrame(index=comp["compound_id"].astype(str))
    out["cost_basic_yuan"] = f[~opt].groupby(f.loc[~opt, "compound_id"].astype(str))["cost_yuan"].sum()
    out["cost_optional_yuan"] = f[opt].groupby(f.loc[opt, "compound_id"].astype(str))["cost_yuan"].sum()
    out = out.fillna(0.0)
    out["cost_planned_yuan"] = out["cost_basic_yuan"] + out["cost_optional_yuan"]
    fo = f[opt]
    out["optional_funded"] = fo["item"].map(names).groupby(fo["compound_id"].astype(str)).agg(
        "、".join)
    later = f[opt & (f["funded_year"] > f["plan_year"])]
    out["optional_later_year"] = later.groupby(later["compound_id"].astype(str))["funded_year"].max()
    un = long[~long["funded"]]
    texts: dict[str, list[str]] = {}
    for cid, code, why in zip(un["compound_id"].astype(str), un["item"], un["unfunded_reason"],
                              strict=True):
        texts.setdefault(cid, []).append(f"{names[code]}（{why}）")
    out["optional_unfunded"] = out.index.map({k: "；".join(v) for k, v in texts.items()})
    for k in _FUNDERS:
        out[f"fund_{k}_yuan"] = g[f"{k}_yuan"].sum()
    out = out.fillna({c: 0.0 for c in out.columns if c.endswith("_yuan")})
    out["optional_later_year"] = out["optional_later_year"].map(
        lambda v: "" if pd.isna(v) else str(int(v)))
    for col in ("optional_funded", "optional_unfunded"):
        out[col] = out[col].astype(object).where(out[col].notna(), "")
    shares = prof.x.funding_sources
    for s in FUNDING_SOURCES:
        out[f"fund_{s}_yuan"] = out["fund_government_yuan"] * shares.get(s, 0.0)
    hh = pd.to_numeric(comp["households"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["residents_per_household_yuan"] = np.where(hh > 0, out["fund_residents_yuan"] / hh, 0.0)
    money = [c for c in out.columns if c.endswith("_yuan")]
    out[money] = out[money].astype(float).round(2)
    return out


def _package_rollup(packages: pd.DataFrame, comp: pd.DataFrame, parts: pd.DataFrame) -> pd.DataFrame:
    """Package table: plan year of its main part, its deferred part's year, money sums."""
    pk = packages.copy()
    ids = pk["package_id"].astype(str)
    year = dict(zip(parts["package_id"], parts["plan_year"], strict=True))
    main = ids.map(year).fillna("")
    b_year = (ids + "-B").map(year)
    pk["share_plan_year"] = b_year.fillna("").astype(str).to_numpy()
    pk["plan_year"] = np.where(main != "", main, pk["share_plan_year"])
    pk["share_deferred"] = (b_year.notna() & (pk["share_plan_year"] != pk["plan_year"])).to_numpy()
    rest = [c for c in parts.columns if c not in pk.columns and c not in (
        "parent_id", "package", "plan_order", "cost_all_yuan")]
    main_rows = parts.set_index("package_id")
    for col in rest:
        pk[col] = ids.map(main_rows[col]).to_numpy()
    sums = comp[comp["plan_part"] != ""].groupby("package_id")[
        [c for c in COMPOUND_PLAN_COLUMNS if c.endswith("_yuan") and c != "residents_per_household_yuan"]].sum()
    pk["cost_needs_yuan"] = pk["cost_yuan"]
    for col in sums.columns:
        pk[col] = ids.map(sums[col]).fillna(0.0).round(2).to_numpy()
    pk["cost_yuan"] = pk["cost_planned_yuan"]
    hh = pd.to_numeric(pk["households"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pk["residents_per_household_yuan"] = np.round(np.where(
            hh > 0, pk["fund_residents_yuan"] / hh, 0.0), 2)
    return pk


def _completion_coverage(result: PlanResult, sched: pd.DataFrame) -> None:
    """Add 年底完工 to ``coverage_by_year``: pre-2000 households whose part is accepted by
    31 December of the year (cumulative), beside the scheduled ones (已纳入计划)."""
    done = sched[sched["plan_year"] != ""]
    comp_year = pd.to_datetime(done["planned_completion"]).dt.year
    by = result.coverage_by_year
    vals = []
    for c, y in zip(by["county"], by["plan_year"], strict=True):
        m = (done["county"].astype(str) == str(c)) & (comp_year <= int(y))
        vals.append(float(done.loc[m, "pre2000_households"].sum()))
    by["pre2000_scheduled"] = by["pre2000_covered"]
    by["pre2000_completed"] = vals
    by["completion_rate"] = (by["pre2000_completed"] / by["pre2000_households"]
                             .where(by["pre2000_households"] > 0)).fillna(1.0)


def _money_totals(result: PlanResult, long: pd.DataFrame, shares: dict[str, float]) -> None:
    """Per county and year in ``totals``, by the year the money is spent (optional works
    funded from a later year's budget count there): 基础类 and optional cost, the planned
    cost (``cost_yuan``), funders and government sources."""
    f = long[long["funded"]].assign(
        year=lambda d: d["funded_year"].astype(int), basic=lambda d: d["class"] == "basic")
    f = f.assign(cost_basic_yuan=f["cost_yuan"].where(f["basic"], 0.0),
                 cost_optional_yuan=f["cost_yuan"].where(~f["basic"], 0.0),
                 fund_residents_yuan=f["residents_yuan"], fund_utility_yuan=f["utility_yuan"],
                 fund_government_yuan=f["government_yuan"])
    cols = ["cost_basic_yuan", "cost_optional_yuan", "fund_residents_yuan", "fund_utility_yuan",
            "fund_government_yuan"]
    sums = f.groupby([f["county"].astype(str), "year"])[cols].sum()
    t = result.totals
    key = pd.MultiIndex.from_arrays([t["county"].astype(str), t["plan_year"].astype(int)])
    got = sums.reindex(key).fillna(0.0)
    for col in cols:
        t[col] = got[col].round(2).to_numpy()
    t["cost_planned_yuan"] = (t["cost_basic_yuan"] + t["cost_optional_yuan"]).round(2)
    t["cost_yuan"] = t["cost_planned_yuan"]
    for src in FUNDING_SOURCES:
        t[f"fund_{src}_yuan"] = (t["fund_government_yuan"] * shares.get(src, 0.0)).round(2)


def binding_constraints(result: PlanResult, comp: pd.DataFrame) -> pd.DataFrame:
    """Per county: pre-2000 households left out, and what holds them back.

    ``budget`` / ``capacity`` come from the unscheduled pre-2000 parts' reasons,
    ``consent`` from compounds held for consultation (待征求意见). The 2001–2005 share
    never holds back a pre-2000 household (its parts are allocated first); deferred
    2001–2005 households are counted as ``share_deferred``.
    """
    un = result.unscheduled
    pre = un["pre2000_households"].astype(float)
    kind = np.array([reason_zh(str(r))[0] for r in un["unscheduled_reason"]], dtype=object)
    if result.budget_source == "none":  # no money limit: what is full is the yearly capacity
        kind = np.where(kind == "budget", "capacity", kind)
    rows = []
    held = comp[(comp["status"] == "consultation") & (comp["tier"] == "priority")]
    for c in sorted(set(result.coverage["county"].astype(str))):
        m = (un["county"].astype(str) == c).to_numpy()
        share_m = m & (un["pre2000_households"].astype(float) <= 0).to_numpy()
        rows.append({
            "county": c,
            "budget_households": float(pre[m & (kind == "budget")].sum()),
            "capacity_households": float(pre[m & (kind == "capacity")].sum()),
            "time_households": float(pre[m & (kind == "time")].sum()),
            "consent_households": float(pd.to_numeric(
                held.loc[held["county"].astype(str) == c, "households"], errors="coerce").sum()),
            "share_deferred_households": float(un.loc[share_m, "share_households"].astype(float).sum()),
        })
    out = pd.DataFrame(rows)
    if len(out):
        cols = ["budget_households", "capacity_households", "time_households", "consent_households"]
        out["constraint"] = [
            "、".join(label for col, label in zip(cols, ("预算", "年度实施能力", "工期", "居民意愿"),
                                                  strict=True)
                     if r[col] > 0) or "无" for _, r in out.iterrows()]
    return out


def _blank_money(frame: pd.DataFrame) -> None:
    """Set every cost and funding column to NULL (未估算), in place."""
    money = [c for c in frame.columns if c == "cost_yuan" or c.startswith(("cost_", "fund_"))
             or c.endswith("_yuan")]
    for col in money:
        frame[col] = np.nan


def plan_compounds(state: PlanState) -> PlanState:
    """Run the plan stage on ``state`` (see the module docstring)."""
    from yulin_gis.planning import apply_plan_to_compounds

    comp, pk = state.compounds, state.packages
    assert pk is not None, "run package_stage first"
    parts, part_of = plan_parts(comp, pd.DataFrame(pk.drop(columns="geometry")))
    result = _allocate(state, parts)
    sched = _schedule(state, result)
    kinds = [reason_zh(str(r)) for r in sched["unscheduled_reason"]]
    sched["unscheduled_kind"] = [k for k, _ in kinds]
    sched["unscheduled_reason_zh"] = [t for _, t in kinds]
    real_pkg = comp["package_id"].copy()
    comp = apply_plan_to_compounds(comp.assign(package_id=part_of.to_numpy()), sched)
    comp["plan_part"] = comp["package_id"].astype(str)
    comp["package_id"] = real_pkg.to_numpy()
    planned = (comp["plan_year"] != "").to_numpy()
    comp.loc[planned, "status"] = "planned"
    waiting = ((comp["status"] == "packaged") & ~planned).to_numpy()
    why = dict(zip(sched["package_id"].astype(str), sched["unscheduled_reason_zh"], strict=True))
    comp.loc[waiting, "exclusion_reason"] = ["未排入计划：" + why.get(p, "") for p in
                                             comp.loc[waiting, "plan_part"]]
    long = _items_long(comp, state, planned)
    consent = (pd.to_numeric(comp["consent_rate"], errors="coerce") if "consent_rate" in comp.columns
               else pd.Series(np.nan, index=comp.index))
    rates = {c: float(r) for c, r in zip(comp["compound_id"].astype(str), consent, strict=True) if pd.notna(r)}
    long = fund_optional(long, budget_left(result.totals), state.profile, rates)
    money = _money(comp, long, state)
    for col in money.columns:
        comp[col] = comp["compound_id"].astype(str).map(money[col]).to_numpy()
    result.packages = sched
    _money_totals(result, long, state.profile.x.funding_sources)
    _completion_coverage(result, sched)
    result.constraints = binding_constraints(result, comp)
    state.packages = _package_rollup(state.packages, comp, sched) if state.packages is not None else None
    if "cost_note" in comp.columns:  # costs not estimated (no survey gap fields): NULL, never 0
        _blank_money(comp)
        if state.packages is not None:
            _blank_money(state.packages)
    state.compounds, state.plan = comp, result
    state.extras["plan_items"] = long
    logger.info("plan %d–%d (budget: %s): %d of %d parts scheduled; pre-2000 covered: %s",
                result.years[0], result.years[-1], result.budget_source, len(result.scheduled),
                len(parts), result.covered)
    return state
