"""Allocation core of the annual plans (年度计划分配): input checks, limits and the packing.

Split out of :mod:`yulin_gis.planning._plan` (which re-exports :func:`normalise_limits`,
``LimitSpec`` and ``Row``): :func:`normalise_limits` expands budget and capacity
specifications to ``(county, year)`` limits, ``_check_packages`` validates the package
table (collecting every problem) and ``_run_allocation`` packs whole packages into the
earliest plan year with room, county by county, by the rule described in
:mod:`yulin_gis.planning._plan`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from yulin_gis.errors import Problem, ProfileError, ValidationError
from yulin_gis.io import missing_column_problems

__all__ = ["LimitSpec", "Row", "normalise_limits"]

LimitSpec = float | int | Mapping[Any, Any] | pd.DataFrame | None

_REQUIRED = ("package_id", "county", "households", "cost_yuan", "priority", "pre2000_households")
_NUMERIC = ("households", "cost_yuan", "priority", "pre2000_households", "share_households")
_EPS = 1e-6


# --- input checks --------------------------------------------------------------------------


def _check_packages(packages: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate and normalise the package table; raise ValidationError on errors."""
    problems: list[Problem] = []
    problems += missing_column_problems(packages, _REQUIRED, layer="packages")
    if problems:
        raise ValidationError(problems, "Cannot plan packages")
    df = packages.copy()
    if "share_households" not in df.columns:
        df["share_households"] = 0
        problems.append(Problem("warning", "missing-field",
                                "no share_households field: 2001–2005 households taken as 0",
                                layer="packages", field="share_households"))
    df["package_id"] = df["package_id"].astype(str)
    df["county"] = df["county"].astype(str)
    dup = df["package_id"][df["package_id"].duplicated()]
    for pid in sorted(set(dup)):
        problems.append(Problem("error", "duplicate-id", "package_id appears more than once",
                                layer="packages", row=pid, field="package_id"))
    for col in _NUMERIC:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values < 0)
        for pid in df.loc[bad, "package_id"]:
            problems.append(Problem("error", "bad-value", f"{col} must be a number ≥ 0",
                                    layer="packages", row=pid, field=col))
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            df[col] = values.astype(float)
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems, "Cannot plan packages")
    return df, problems



def normalise_limits(
    spec: LimitSpec, counties: Sequence[str], years: Sequence[int], name: str = "budget"
) -> dict[tuple[str, int], float | None]:
    """Expand a budget or capacity specification to ``(county, year) → limit or None``.

    Parameters
    ----------
    spec
        ``None`` (no limit); a number (every county, every year); a mapping keyed by
        ``(county, year)``, by county (value: a number for every year, or a mapping
        year → number), or by year (int keys: the same for every county); or a DataFrame
        with ``county``, ``plan_year`` (or ``year``) and one numeric value column.
    counties, years
        The counties and plan years to cover. Pairs not given get ``None`` (no limit).
    name
        Used in error messages.

    Raises
    ------
    ProfileError
        When a value is negative or not a number.
    """
    out: dict[tuple[str, int], float | None] = {(c, y): None for c in counties for y in years}
    if spec is None:
        return out
    if isinstance(spec, pd.DataFrame):
        ycol = "plan_year" if "plan_year" in spec.columns else "year"
        vcols = [c for c in spec.columns if c not in ("county", ycol)]
        if "county" not in spec.columns or ycol not in spec.columns or len(vcols) != 1:
            raise ProfileError(f"{name} table needs county, plan_year and one value column")
        spec = {(str(r["county"]), int(r[ycol])): r[vcols[0]] for _, r in spec.iterrows()}
    if isinstance(spec, int | float):
        items: list[tuple[tuple[str, int], Any]] = [((c, y), spec) for c in counties for y in years]
    else:
        items = []
        for key, value in spec.items():
            if isinstance(key, tuple):
                items.append(((str(key[0]), int(key[1])), value))
            elif isinstance(key, int) and not isinstance(value, Mapping):
                items += [((c, key), value) for c in counties]
            elif isinstance(value, Mapping):
                items += [((str(key), int(y)), v) for y, v in value.items()]
            else:
                items += [((str(key), y), value) for y in years]
    for key, value in items:
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{name} for {key} is not a number: {value!r}") from exc
        if math.isnan(number) or number < 0:
            raise ProfileError(f"{name} for {key} must be ≥ 0, got {value!r}")
        if key in out:
            out[key] = number
    return out


# --- allocation ----------------------------------------------------------------------------


Row = tuple[str, float, float, float, int]


def _allocate_county(
    rows: list[Row],
    years: Sequence[int],
    budget: Mapping[int, float | None],
    capacity: Mapping[int, float | None],
    share_cap: float | None,
    parents: Mapping[str, str] | None = None,
    size_limit: Mapping[int, float | None] | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    """First-fit one county's packages, in the given order, into the years.

    ``rows`` are ``(package_id, cost, households, share_households, phase)`` in
    allocation order; phases are allocated one after the other (share-cap retries happen
    within a phase). ``parents`` maps a deferred part (the 2001–2005 part of a package)
    to its package's pre-2000 part: it goes no earlier than its parent's year and is
    left out when the parent is. Returns package → year and package → reason for those
    left out.
    """
    parents = parents or {}
    size_limit = size_limit or {}
    rem_b = {y: budget[y] for y in years}
    rem_c = {y: capacity[y] for y in years}
    hh = dict.fromkeys(years, 0.0)
    share = dict.fromkeys(years, 0.0)
    placed: dict[str, int] = {}
    last_why: dict[str, list[str]] = {}

    def fits(y: int, cost: float, h: float, s: float) -> str:
        rb, rc = rem_b[y], rem_c[y]
        if rb is not None and cost > rb + _EPS:
            return "budget"
        if rc is not None and h > rc + _EPS:
            return "capacity"
        lim = size_limit.get(y)
        if lim is not None and h > lim + _EPS:
            return "time"
        if share_cap is not None and share[y] + s > share_cap * (hh[y] + h) + _EPS:
            return "share"
        return ""

    for phase in sorted({r[4] for r in rows}):
        _passes([r for r in rows if r[4] == phase], years, fits, placed, last_why,
                (rem_b, rem_c, hh, share), parents)
    reasons: dict[str, str] = {}
    b_all = [budget[y] for y in years]
    c_all = [capacity[y] for y in years]
    max_b = max(b for b in b_all if b is not None) if None not in b_all else None
    max_c = max(c for c in c_all if c is not None) if None not in c_all else None
    for pid, cost, h, _s, _ in rows:
        if pid in placed:
            continue
        if pid in parents and parents[pid] not in placed:
            reasons[pid] = f"pre-2000 part {parents[pid]} of the package not scheduled"
        elif "share" in last_why.get(pid, []) and pid in parents:
            reasons[pid] = (f"2001–2005 share cap {share_cap:.0%}: deferred beyond the last plan "
                            "year (its pre-2000 part is planned)")
        elif max_b is not None and cost > max_b + _EPS:
            reasons[pid] = (f"cost {cost:,.0f} yuan exceeds the county's largest yearly budget "
                            f"{max_b:,.0f} yuan")
        elif all(w == "time" for w in last_why.get(pid, [])):
            reasons[pid] = ("time: in no plan year can its works start after the rules' effective "
                            "date and end by the deadlines")
        elif max_c is not None and h > max_c + _EPS:
            reasons[pid] = (f"{h:,.0f} households exceed the county's largest yearly capacity "
                            f"{max_c:,.0f}")
        elif "share" in last_why.get(pid, []):
            reasons[pid] = (f"2001–2005 share cap {share_cap:.0%}: no year with room has enough "
                            "pre-2000 households to take its 2001–2005 households")
        else:
            reasons[pid] = ("budget or capacity of every plan year taken by higher-priority "
                            "packages")
    return placed, reasons


def _passes(rows: list[Row], years: Sequence[int], fits: Any, placed: dict[str, int],
            last_why: dict[str, list[str]], state: tuple[dict[int, Any], ...],
            parents: Mapping[str, str]) -> None:
    """First-fit passes over ``rows``; later passes retry packages the share cap blocked."""
    rem_b, rem_c, hh, share = state
    while True:
        placed_now = 0
        for pid, cost, h, s, _ in rows:
            if pid in placed:
                continue
            parent = parents.get(pid)
            if parent is not None and parent not in placed:
                last_why[pid] = ["parent"] * len(years)
                continue
            first = placed[parent] if parent is not None else years[0]
            why = [fits(y, cost, h, s) if y >= first else "parent" for y in years]
            last_why[pid] = why
            if "" not in why:
                continue
            y = years[why.index("")]
            placed[pid] = y
            placed_now += 1
            rb, rc = rem_b[y], rem_c[y]
            rem_b[y] = None if rb is None else rb - cost
            rem_c[y] = None if rc is None else rc - h
            hh[y] += h
            share[y] += s
        blocked = [p for p, w in last_why.items() if p not in placed and "share" in w]
        if placed_now == 0 or not blocked:
            return


def _order(df: pd.DataFrame, pre2000_first: bool = True) -> pd.DataFrame:
    """Allocation order: county, [packages with pre-2000 households first], priority
    descending, package_id."""
    if not pre2000_first:
        return df.sort_values(["county", "priority", "package_id"],
                              ascending=[True, False, True], kind="mergesort")
    key = df.assign(_pre=df["pre2000_households"] > 0)
    return df.loc[key.sort_values(["county", "_pre", "priority", "package_id"],
                                  ascending=[True, False, False, True], kind="mergesort").index]


def _rows(ordered: pd.DataFrame, pre2000_first: bool) -> list[Row]:
    phase = ((ordered["pre2000_households"] <= 0).astype(int) if pre2000_first
             else pd.Series(0, index=ordered.index))
    return list(zip(ordered["package_id"], ordered["cost_yuan"], ordered["households"],
                    ordered["share_households"], phase, strict=True))


def _parents(df: pd.DataFrame) -> dict[str, str]:
    """Deferred part → its package's pre-2000 part, from an optional ``parent_id`` column."""
    if "parent_id" not in df.columns:
        return {}
    par = df["parent_id"].astype(object).where(df["parent_id"].notna(), "").astype(str)
    return {p: q for p, q in zip(df["package_id"].astype(str), par, strict=True) if q}


def _run_allocation(
    df: pd.DataFrame,
    years: tuple[int, ...],
    budgets: Mapping[tuple[str, int], float | None],
    caps: Mapping[tuple[str, int], float | None],
    share_cap: float | None,
    pre2000_first: bool = True,
    size_limit: Mapping[int, float | None] | None = None,
) -> tuple[dict[str, int], dict[str, str]]:
    placed: dict[str, int] = {}
    reasons: dict[str, str] = {}
    ordered = _order(df, pre2000_first)
    parents = _parents(df)
    for county, group in ordered.groupby("county", sort=True):
        rows = _rows(group, pre2000_first)
        p, r = _allocate_county(
            rows, years, {y: budgets[(str(county), y)] for y in years},
            {y: caps[(str(county), y)] for y in years}, share_cap, parents, size_limit,
        )
        placed.update(p)
        reasons.update(r)
    return placed, reasons
