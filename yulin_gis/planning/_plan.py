"""Annual renovation plans (年度改造计划): multi-year allocation, coverage, what-if and schedule.

The seed (玉政办发〔2022〕13号 §六(二)) has each county (县/市/区, the responsible body)
submit next year's plan, whole packages (连片改造片区) at a time, within what it can fund;
§二 sets the goal of basically finishing pre-2000 compounds by 2025; §四(一) lets
2001–2005 compounds in "at a certain share" of each year's task; §六(四) asks projects to
start by 30 June and finish in-compound water, power, road and gas works by 31 December.

Allocation rule (:func:`allocate_plan`)
---------------------------------------
Counties are planned independently. Inside a county, packages are taken in a fixed order
— packages holding pre-2000 households first (seed §四(一): 重点改造2000年底前建成的小区;
``pre2000_first=False`` turns this off), then by ``priority`` descending, then
``package_id`` ascending — and each goes, whole, into the *earliest* plan year that still
has room for it:

* its ``cost_yuan`` fits the year's remaining budget (when budgets are given);
* its ``households`` fit the year's remaining household capacity (when given);
* after adding it, the year's 2001–2005 households stay within ``share_cap`` × the year's
  households (the share cap is checked after every addition, so it always holds).

Packages blocked only by the share cap are retried (in the same order) once further
pre-2000 packages have loosened it. A package whose cost exceeds the county's largest
yearly budget (or whose households exceed the largest yearly capacity) is **left
unscheduled** with a reason, never squeezed in: budgets and capacities are never exceeded.
Unscheduled packages get ``plan_year == ""`` and an ``unscheduled_reason``.

The input checks, limit expansion and packing behind :func:`allocate_plan` live in
:mod:`yulin_gis.planning._allocation` (:func:`normalise_limits` is re-exported here).

Coverage and what-if
--------------------
The result says whether every pre-2000 household (``pre2000_households``) is in a
scheduled package. :func:`budget_needed_for_full_coverage` finds, for each county, the
smallest uniform scale factor of that county's yearly budgets under which the allocation
covers all its pre-2000 households (bisection, re-running the allocation), and returns the
budgets it verified by a final re-run.

Schedule
--------
:func:`schedule_packages` and :func:`apply_plan_to_compounds` live in
:mod:`yulin_gis.planning._schedule` and are re-exported here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.errors import Problem, ProfileError
from yulin_gis.planning._allocation import (
    LimitSpec,
    Row,
    _allocate_county,
    _check_packages,
    _order,
    _parents,
    _rows,
    _run_allocation,
    normalise_limits,
)
from yulin_gis.planning._schedule import (
    DEFAULT_DEADLINES,
    DEFAULT_DURATIONS_DAYS,
    apply_plan_to_compounds,
    schedule_packages,
)

__all__ = [
    "DEFAULT_DEADLINES",
    "DEFAULT_DURATIONS_DAYS",
    "DEFAULT_YEARS",
    "BudgetWhatIf",
    "LimitSpec",
    "PlanResult",
    "Row",
    "allocate_plan",
    "apply_plan_to_compounds",
    "budget_needed_for_full_coverage",
    "normalise_limits",
    "schedule_packages",
]

logger = logging.getLogger(__name__)

DEFAULT_YEARS: tuple[int, ...] = (2022, 2023, 2024, 2025)
"""Plan years of Yulin's programme (seed §二: basically finish by 2025)."""


@dataclass
class BudgetWhatIf:
    """Budget needed to cover every pre-2000 household by the last plan year.

    Attributes
    ----------
    feasible
        True when some budget covers everything (False when, e.g., household capacity
        alone prevents full coverage); see ``reasons``.
    scale_by_county
        County → factor applied to its given yearly budgets (1.0 when already covered).
    budget_by_county_year
        ``(county, year)`` → budget (yuan, rounded up) verified to give full coverage.
    extra_yuan_by_county
        County → budget needed minus budget given, summed over the years.
    reasons
        County → why no budget can cover it (only for infeasible counties).
    """

    feasible: bool
    scale_by_county: dict[str, float]
    budget_by_county_year: dict[tuple[str, int], float]
    extra_yuan_by_county: dict[str, float]
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def extra_yuan(self) -> float:
        """Extra budget needed over all counties and years (yuan)."""
        return float(sum(self.extra_yuan_by_county.values()))

    def to_frame(self) -> pd.DataFrame:
        """One row per county and year: ``county, plan_year, budget_needed_yuan``."""
        rows = [
            {"county": c, "plan_year": y, "budget_needed_yuan": b}
            for (c, y), b in sorted(self.budget_by_county_year.items())
        ]
        return pd.DataFrame(rows, columns=["county", "plan_year", "budget_needed_yuan"])


@dataclass
class PlanResult:
    """The multi-year plan.

    Attributes
    ----------
    packages
        The input packages plus ``plan_year`` (str, ``""`` when unscheduled),
        ``unscheduled_reason`` (str) and ``plan_order`` (1-based rank in the county).
    totals
        Per county and plan year: ``packages, households, pre2000_households,
        share_households, cost_yuan, budget_yuan, capacity_households, share_ratio``.
    coverage
        Per county: ``pre2000_households, pre2000_covered, pre2000_uncovered, covered``.
    coverage_by_year
        Per county and year: cumulative ``pre2000_covered`` and ``coverage_rate``.
    covered
        Whether every pre-2000 household is in a scheduled package by the last year.
    budget_needed
        The what-if answer when not covered and budgets were given, else None.
    """

    packages: pd.DataFrame
    totals: pd.DataFrame
    coverage: pd.DataFrame
    coverage_by_year: pd.DataFrame
    covered: bool
    years: tuple[int, ...]
    share_cap: float | None
    budget_by_county_year: dict[tuple[str, int], float | None]
    capacity_by_county_year: dict[tuple[str, int], float | None]
    budget_needed: BudgetWhatIf | None = None
    problems: list[Problem] = field(default_factory=list)
    budget_source: str = "explicit"
    """``"explicit"`` (a budget was given) or ``"none"`` (unconstrained by money)."""
    notes: list[str] = field(default_factory=list)
    """Notes for every plan table (e.g. that no budget constrains the plan)."""
    constraints: pd.DataFrame | None = None
    """Per county: pre-2000 households held back by budget, capacity or consent."""

    @property
    def scheduled(self) -> pd.DataFrame:
        """The packages that have a plan year."""
        return self.packages[self.packages["plan_year"] != ""]

    @property
    def unscheduled(self) -> pd.DataFrame:
        """The packages left out, with ``unscheduled_reason``."""
        return self.packages[self.packages["plan_year"] == ""]



def allocate_plan(
    packages: pd.DataFrame, *,
    years: Sequence[int] = DEFAULT_YEARS,
    budget_by_county_year: LimitSpec = None,
    households_capacity: LimitSpec = None,
    share_cap: float | None = 0.15,
    compute_budget_needed: bool = True,
    pre2000_first: bool = True,
    size_limit: Mapping[int, float | None] | None = None,
) -> PlanResult:
    """Schedule whole packages into plan years per county (see the module docstring).

    Parameters
    ----------
    packages
        One row per package (连片改造片区): ``package_id``, ``county``, ``households``,
        ``cost_yuan``, ``priority`` (higher first), ``pre2000_households`` and
        ``share_households`` (2001–2005; taken as 0 with a warning when absent).
        Other columns are carried through.
    years
        Plan years, ascending (default 2022–2025).
    budget_by_county_year, households_capacity
        Yearly limits per county, in any form :func:`normalise_limits` accepts; ``None``
        means no limit. With neither, every package fits the first year.
    share_cap
        Largest share of a year's households (per county) that may be in 2001–2005
        compounds (default 0.15, a profile setting); ``None`` disables the cap.
    compute_budget_needed
        When budgets are given and coverage is incomplete, also run the what-if
        (:func:`budget_needed_for_full_coverage`).
    pre2000_first
        Allocate packages holding pre-2000 households before packages of 2001–2005
        compounds only (seed §四(一): 重点改造2000年底前建成的小区), each group by priority;
        False uses priority alone.
    size_limit
        Year → largest package (households) whose works fit in that year
        (:func:`yulin_gis.planning._schedule.households_limit_by_year`); None: any size.

    Returns
    -------
    PlanResult

    Raises
    ------
    ValidationError
        Missing fields, duplicate ids, negative or non-numeric values.
    ProfileError
        Bad years, limits or share cap.
    """
    years_t = tuple(int(y) for y in years)
    if not years_t or list(years_t) != sorted(set(years_t)):
        raise ProfileError(f"plan years must be distinct and ascending, got {list(years)}")
    if share_cap is not None and not 0 <= share_cap <= 1:
        raise ProfileError(f"share_cap must be within 0–1, got {share_cap}")
    df, problems = _check_packages(packages)
    counties = sorted(df["county"].unique().tolist())
    budgets = normalise_limits(budget_by_county_year, counties, years_t, "budget")
    caps = normalise_limits(households_capacity, counties, years_t, "household capacity")
    for name, spec, lim in (("budget", budget_by_county_year, budgets),
                            ("household capacity", households_capacity, caps)):
        if spec is None:
            continue
        for c in counties:
            if all(lim[(c, y)] is None for y in years_t):
                problems.append(Problem("warning", "no-limit",
                                        f"no {name} given for county {c}: treated as unlimited",
                                        layer="packages", field="county", row=c))
    placed, reasons = _run_allocation(df, years_t, budgets, caps, share_cap, pre2000_first,
                                      size_limit)
    ordered = _order(df, pre2000_first)
    df["plan_order"] = ordered.groupby("county").cumcount().add(1).reindex(df.index)
    df["plan_year"] = [str(placed[p]) if p in placed else "" for p in df["package_id"]]
    df["unscheduled_reason"] = [reasons.get(p, "") for p in df["package_id"]]
    totals = _totals(df, years_t, counties, budgets, caps)
    coverage, by_year = _coverage(df, years_t, counties)
    covered = bool(coverage["covered"].all()) if len(coverage) else True
    result = PlanResult(df, totals, coverage, by_year, covered, years_t, share_cap,
                        budgets, caps, None, problems,
                        budget_source="none" if budget_by_county_year is None else "explicit")
    if not covered and compute_budget_needed and budget_by_county_year is not None:
        result.budget_needed = budget_needed_for_full_coverage(
            df, years_t, budget_by_county_year, households_capacity, share_cap,
            pre2000_first=pre2000_first, size_limit=size_limit)
    logger.info("plan: %d of %d packages scheduled; pre-2000 covered: %s",
                len(placed), len(df), covered)
    return result


def _totals(df: pd.DataFrame, years: tuple[int, ...], counties: Sequence[str],
            budgets: Mapping[tuple[str, int], float | None],
            caps: Mapping[tuple[str, int], float | None]) -> pd.DataFrame:
    sched = df[df["plan_year"] != ""].assign(plan_year=lambda d: d["plan_year"].astype(int))
    agg = sched.groupby(["county", "plan_year"]).agg(
        packages=("package_id", "size"), households=("households", "sum"),
        pre2000_households=("pre2000_households", "sum"),
        share_households=("share_households", "sum"), cost_yuan=("cost_yuan", "sum"))
    idx = pd.MultiIndex.from_product([counties, years], names=["county", "plan_year"])
    out = agg.reindex(idx, fill_value=0).reset_index()
    out["packages"] = out["packages"].astype(int)
    out["budget_yuan"] = [budgets[(c, y)] for c, y in zip(out["county"], out["plan_year"], strict=True)]
    out["capacity_households"] = [caps[(c, y)]
                                  for c, y in zip(out["county"], out["plan_year"], strict=True)]
    out[["budget_yuan", "capacity_households"]] = out[["budget_yuan", "capacity_households"]].astype(float)
    out["share_ratio"] = np.where(out["households"] > 0,
                                  out["share_households"] / out["households"].where(out["households"] > 0, 1), 0.0)
    return out


def _coverage(df: pd.DataFrame, years: tuple[int, ...],
              counties: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    pre: dict[Any, float] = df.groupby(["county", "plan_year"])["pre2000_households"].sum().to_dict()
    total = df.groupby("county")["pre2000_households"].sum().reindex(list(counties), fill_value=0.0)
    per_year = pd.DataFrame(
        [(c, y, float(pre.get((c, str(y)), 0.0))) for c in counties for y in years],
        columns=["county", "plan_year", "added"]).astype({"added": float})
    per_year["pre2000_households"] = per_year["county"].map(total).astype(float)
    per_year["pre2000_covered"] = per_year.groupby("county")["added"].cumsum()
    per_year["coverage_rate"] = (per_year["pre2000_covered"] / per_year["pre2000_households"]
                                 .where(per_year["pre2000_households"] > 0)).fillna(1.0)
    by_year = per_year.drop(columns="added")
    uncovered = [float(pre.get((c, ""), 0.0)) for c in counties]
    coverage = pd.DataFrame({"county": list(counties), "pre2000_households": total.to_numpy(float),
                             "pre2000_uncovered": uncovered})
    coverage.insert(2, "pre2000_covered", coverage["pre2000_households"] - coverage["pre2000_uncovered"])
    coverage["covered"] = coverage["pre2000_uncovered"] <= 0
    return coverage, by_year


# --- what-if -------------------------------------------------------------------------------


def budget_needed_for_full_coverage(
    packages: pd.DataFrame,
    years: Sequence[int] = DEFAULT_YEARS,
    budget_by_county_year: LimitSpec = None,
    households_capacity: LimitSpec = None,
    share_cap: float | None = 0.15,
    *,
    rel_tol: float = 1e-7,
    trim: bool = True,
    pre2000_first: bool = True,
    size_limit: Mapping[int, float | None] | None = None,
) -> BudgetWhatIf:
    """Find the yearly budgets under which every pre-2000 household gets a plan year.

    Counties are solved independently. First the county's given yearly budgets are
    multiplied by one factor (the shape across years is kept; a county with no or zero
    budgets gets an equal amount per year) and the allocation re-run: bisection finds the
    smallest factor that covers all its pre-2000 households (to ``rel_tol``). Then, with
    ``trim``, each year's budget from the last year back is lowered as far as coverage
    allows, but never below the given budget, so the extra money lands in the years that
    need it. Budgets are whole yuan and the final set is verified by a re-run.

    Parameters
    ----------
    packages, years, budget_by_county_year, households_capacity, share_cap
        As for :func:`allocate_plan`.
    rel_tol
        Relative precision of the scale factor.
    trim
        Lower each year's scaled budget back towards the given one where possible.
    pre2000_first
        As for :func:`allocate_plan`.

    Returns
    -------
    BudgetWhatIf
        ``feasible`` is False for counties that no budget can cover (household capacity
        or the share cap block some pre-2000 package); those are listed in ``reasons``,
        with no budgets and NaN extra. Counties already covered keep their budgets
        (scale 1, extra 0; no budget entries when they had no budget limit).
    """
    years_t = tuple(int(y) for y in years)
    df, _ = _check_packages(packages)
    counties = sorted(df["county"].unique().tolist())
    base = normalise_limits(budget_by_county_year, counties, years_t, "budget")
    caps = normalise_limits(households_capacity, counties, years_t, "household capacity")
    out = BudgetWhatIf(True, {}, {}, {}, {})
    for c in counties:
        given = {y: base[(c, y)] for y in years_t}
        factor, budgets, reason = _county_budget_needed(
            df[df["county"] == c], c, years_t, given, caps, share_cap, rel_tol, trim,
            pre2000_first, size_limit)
        out.scale_by_county[c] = factor
        if reason:
            out.reasons[c] = reason
            out.extra_yuan_by_county[c] = float("nan")
            continue
        if budgets is not None:
            out.budget_by_county_year.update({(c, y): budgets[y] for y in years_t})
            out.extra_yuan_by_county[c] = sum(budgets.values()) - sum(
                v or 0.0 for v in given.values())
        else:
            out.extra_yuan_by_county[c] = 0.0
    out.feasible = not out.reasons
    return out


def _county_budget_needed(
    sub: pd.DataFrame, c: str, years: tuple[int, ...], given: Mapping[int, float | None],
    caps: Mapping[tuple[str, int], float | None], share_cap: float | None, rel_tol: float,
    trim: bool, pre2000_first: bool, size_limit: Mapping[int, float | None] | None = None,
) -> tuple[float, dict[int, float] | None, str]:
    """Solve one county: (scale factor, verified budgets or None, reason if infeasible)."""

    ordered = _order(sub, pre2000_first)
    rows = _rows(ordered, pre2000_first)
    must = set(ordered.loc[ordered["pre2000_households"] > 0, "package_id"])
    cap = {y: caps[(c, y)] for y in years}
    parents = _parents(sub)

    def run(b: Mapping[int, float | None]) -> bool:
        placed, _ = _allocate_county(rows, years, b, cap, share_cap, parents, size_limit)
        return must <= placed.keys()

    def scaled(shape: Mapping[int, float], f: float) -> dict[int, float]:
        return {y: float(math.ceil(shape[y] * f)) for y in years}

    free, why = _allocate_county(rows, years, dict.fromkeys(years), cap, share_cap, parents,
                                 size_limit)
    if not must <= free.keys():
        left = sorted(must - free.keys())
        shown = ", ".join(f"{p} ({why[p]})" for p in left[:5])
        more = f" and {len(left) - 5} more" if len(left) > 5 else ""
        return float("nan"), None, (f"no budget covers all pre-2000 households; left out even "
                                    f"without budget limits: {shown}{more}")
    if all(v is None for v in given.values()):
        return 1.0, None, ""  # no budget limit and covered
    if None not in given.values() and run(given):
        return 1.0, {y: float(v or 0.0) for y, v in given.items()}, ""
    shape = {y: float(v or 0.0) for y, v in given.items()}
    total = float(sub["cost_yuan"].sum()) + 1.0
    if sum(shape.values()) <= 0:
        shape = dict.fromkeys(years, 1.0)
    hi = max(1.0, total / min(v for v in shape.values() if v > 0))
    if not run(scaled(shape, hi)):  # zero-budget years matter: spread evenly instead
        shape, hi = dict.fromkeys(years, 1.0), total
    lo = 0.0
    while hi - lo > rel_tol * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if run(scaled(shape, mid)) else (mid, hi)
    while not run(scaled(shape, hi)):  # guard against a non-monotone step
        hi *= 1 + 10 * rel_tol
    budgets = scaled(shape, hi)
    if trim:
        budgets = _trim_years(budgets, given, years, run)
    return hi, budgets, ""


def _trim_years(budgets: dict[int, float], given: Mapping[int, float | None],
                years: tuple[int, ...], run: Any) -> dict[int, float]:
    """Lower each year's budget (last year first) while coverage holds, not below given."""
    b = dict(budgets)
    for y in reversed(years):
        floor = float(math.ceil(given[y] or 0.0))
        if b[y] <= floor:
            continue
        if run({**b, y: floor}):
            b[y] = floor
            continue
        lo, hi = floor, b[y]  # run fails at lo, holds at hi
        while hi - lo > 1:
            mid = float(math.floor((lo + hi) / 2))
            lo, hi = (lo, mid) if run({**b, y: mid}) else (mid, hi)
        b[y] = hi
    return b if run(b) else budgets
