"""The seed's planning rules between the survey and the annual plan (计划编制规则).

* **Consent is a gate** (seed §四(一) 居民改造意愿强烈, §三(四) 响应居民意愿):
  :func:`gate_consent` marks eligible compounds whose surveyed consent rate is below the
  profile's threshold ``consultation`` (待征求意见): they are not packaged or planned and
  keep their rate; compounds with no surveyed rate are planned provisionally with
  ``consent_pending`` (待征求意见) set.
* **The 2001–2005 share never strands a pre-2000 compound** (§四(一): 可按年度改造任务一定
  比例纳入): :func:`plan_parts` cuts each package that mixes tiers into its pre-2000 part
  (the package id) and its 2001–2005 part (``<id>-B``, ``parent_id`` = the package). The
  allocation places every pre-2000 part first; a 2001–2005 part goes in the same or a
  later year, only where the year's share allows. So the share defers 2001–2005
  households and never blocks pre-2000 ones.
* **Must-do before optional** (§六(三): 基础类应改则改，完善类、提升类能改则改):
  parts are allocated on their 基础类 cost; :func:`fund_optional` then funds optional
  items city-wide from what each county-year's budget has left, in the profile's
  ``programme.optional_order``, higher priority first. Lifts only where the surveyed
  consent reaches ``consent.lift_threshold`` (3/4).
* **Without a budget the plan is unconstrained**: :func:`pacing_capacity` spreads each
  county's households evenly over the plan years (the deadline, §二), plus a slack.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.profile import CLASSES

if TYPE_CHECKING:
    from yulin_gis.profile import Profile

__all__ = [
    "CONSENT_STATUS_ZH",
    "fund_optional",
    "gate_consent",
    "optional_rank",
    "pacing_capacity",
    "plan_parts",
]

logger = logging.getLogger(__name__)

CONSENT_STATUS_ZH: dict[str, str] = {"ok": "同意率达标", "pending": "待征求意见",
                                     "below": "待征求意见（同意率不足）"}
"""Chinese labels of ``consent_status``."""


def gate_consent(comp: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Add ``consent_status`` / ``consent_pending`` and hold back low-consent compounds.

    Eligible compounds with a surveyed ``consent_rate`` below ``consent.threshold`` get
    ``status = "consultation"`` (待征求意见) and an ``exclusion_reason`` giving the rate.
    Modifies and returns ``comp``.
    """
    thr = profile.consent.threshold
    rate = (pd.to_numeric(comp["consent_rate"], errors="coerce") if "consent_rate" in comp.columns
            else pd.Series(np.nan, index=comp.index))
    known = rate.notna().to_numpy()
    below = known & (rate.to_numpy(dtype=float) < thr - 1e-9)
    comp["consent_status"] = np.where(~known, "pending", np.where(below, "below", "ok"))
    eligible = (comp["status"] == "eligible").to_numpy()
    comp["consent_pending"] = eligible & ~known
    gate = eligible & below
    comp.loc[gate, "status"] = "consultation"
    comp.loc[gate, "exclusion_reason"] = [
        f"居民同意率{r:.0%}低于{thr:.0%}：待征求意见，暂不纳入计划" for r in rate[gate]]
    logger.info("consent: %d compounds held for consultation (below %.0f%%), %d provisional "
                "(rate not surveyed)", int(gate.sum()), thr * 100, int((eligible & ~known).sum()))
    return comp


def plan_parts(comp: pd.DataFrame, packages: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Cut packages into allocation parts: pre-2000 part and deferred 2001–2005 part.

    Returns
    -------
    parts
        One row per part: ``package_id`` (the part id), ``parent_id`` (``""``, or the
        package id for a ``-B`` part), ``package`` (the package), ``county``,
        ``households``, ``pre2000_households``, ``share_households``, ``cost_yuan``
        (基础类 cost), ``cost_all_yuan`` and ``priority`` (the package's).
    part_of
        Compound index → part id (``""`` outside packages).
    """
    inpk = comp["package_id"].astype(object).where(comp["package_id"].notna(), "").astype(str)
    tier = comp["tier"].astype(str) if "tier" in comp.columns else pd.Series("priority", index=comp.index)
    has_pre = inpk.map(inpk[tier == "priority"].value_counts()).fillna(0) > 0
    part = np.where((tier == "share") & has_pre, inpk + "-B", inpk)
    part_of = pd.Series(np.where(inpk != "", part, ""), index=comp.index)
    hh = pd.to_numeric(comp["households"], errors="coerce").fillna(0.0)
    frame = pd.DataFrame({
        "package_id": part_of, "households": hh,
        "pre2000_households": np.where(tier == "priority", hh, 0.0),
        "share_households": np.where(tier == "share", hh, 0.0),
        "cost_yuan": pd.to_numeric(comp.get("cost_basic", 0.0), errors="coerce"),
        "cost_all_yuan": pd.to_numeric(comp.get("cost_yuan", 0.0), errors="coerce"),
    })[part_of != ""]
    parts = frame.groupby("package_id", sort=True).sum().reset_index()
    parts = parts.fillna({"cost_yuan": 0.0, "cost_all_yuan": 0.0})
    parts["package"] = parts["package_id"].str.replace(r"-B$", "", regex=True)
    parts["parent_id"] = np.where(parts["package"] != parts["package_id"], parts["package"], "")
    pk = packages.set_index(packages["package_id"].astype(str))
    parts["county"] = parts["package"].map(pk["county"]).fillna("").astype(str)
    parts["priority"] = parts["package"].map(pk["priority"]).astype(float).fillna(0.0)
    return parts, part_of


def pacing_capacity(parts: pd.DataFrame, years: tuple[int, ...], slack: float,
                    full_years: int | None = None) -> dict[str, float]:
    """Households per county and year when no budget is given: even spread over the years.

    ``ceil(total / full_years × (1 + slack))``, at least the county's largest part;
    ``full_years`` counts the years whose whole works season is inside the programme
    (default: all; the year the rules are issued may be too short for most packages).
    """
    out: dict[str, float] = {}
    n = max(full_years if full_years is not None else len(years), 1)
    for county, grp in parts.groupby("county"):
        total = float(grp["households"].sum())
        even = float(np.ceil(total / n * (1.0 + slack)))
        out[str(county)] = max(even, float(grp["households"].max()))
    return out


def optional_rank(profile: Profile) -> dict[str, int]:
    """Funding order of optional items: ``programme.optional_order`` expanded.

    Item codes keep their place; a class name stands for its items (catalogue order) not
    named elsewhere in the list. Items in no listed class come last.
    """
    order = profile.x.programme.optional_order
    named = {c for c in order if c in profile.items}
    seq: list[str] = []
    for entry in order:
        if entry in profile.items:
            seq.append(entry)
        elif entry in CLASSES:
            seq += [i.code for i in profile.items_of_class(entry) if i.code not in named]
    seq += [c for c, i in profile.items.items() if i.item_class != "basic" and c not in seq]
    return {c: k for k, c in enumerate(dict.fromkeys(seq))}


def fund_optional(long: pd.DataFrame, left: Mapping[tuple[str, int], float | None],
                  profile: Profile, consent: Mapping[str, float]) -> pd.DataFrame:
    """Decide which optional items of planned compounds are funded (能改则改).

    Parameters
    ----------
    long
        One row per (planned compound, item): ``compound_id``, ``county``,
        ``plan_year`` (int), ``priority``, ``item``, ``class``, ``cost_yuan``.
    left
        Budget left per ``(county, year)`` after every 基础类 item (None: unlimited).
    profile
        Item order (``programme.optional_order``) and the lift consent threshold.
    consent
        compound_id → surveyed consent rate (absent: not surveyed).

    Returns
    -------
    pandas.DataFrame
        ``long`` with ``funded`` (bool), ``funded_year`` (the compound's plan year, or a
        later one when only a later year's budget has room: a second phase, 分期实施; 0 when
        not funded) and ``unfunded_reason`` (Chinese); 基础类 rows are always funded.
    """
    out = long.copy()
    basic = (out["class"] == "basic").to_numpy()
    funded = basic.copy()
    reason = np.full(len(out), "", dtype=object)
    rank = optional_rank(profile)
    lift_thr = profile.consent.lift_threshold
    remaining = dict(left)
    opt = out[~basic].assign(_rank=out["item"].map(rank).fillna(len(rank)),
                             _row=np.flatnonzero(~basic))
    opt = opt.sort_values(["_rank", "priority", "compound_id"], ascending=[True, False, True],
                          kind="mergesort")
    funded_year = np.where(basic, out["plan_year"].to_numpy(dtype=int), 0)
    years_of: dict[str, list[int]] = {}
    for c, y in sorted(remaining):
        years_of.setdefault(c, []).append(y)
    lift_codes = {c for c, i in profile.items.items() if i.unit == "lift"}
    for k, cid, county, year, code, cost in zip(
            opt["_row"].tolist(), opt["compound_id"].astype(str).tolist(), opt["county"].astype(str).tolist(),
            opt["plan_year"].tolist(), opt["item"].tolist(), opt["cost_yuan"].astype(float).tolist(),
            strict=True):
        if code in lift_codes and not consent.get(cid, -1.0) >= lift_thr - 1e-9:
            reason[k] = f"加装电梯需业主{lift_thr:.0%}同意，待征求意见"
            continue
        key = _first_year_with_room(remaining, county, years_of.get(county, ()), int(year), cost)
        if key is None:
            reason[k] = "计划期内各年度预算已用于基础类及更优先内容"
            continue
        funded[k] = True
        funded_year[k] = key[1]
        room = remaining.get(key)
        if room is not None:
            remaining[key] = room - cost
    out["funded"] = funded
    out["funded_year"] = funded_year
    out["unfunded_reason"] = reason
    return out


def _first_year_with_room(remaining: Mapping[tuple[str, int], float | None], county: str,
                          years: Any, year: int, cost: float) -> tuple[str, int] | None:
    """The compound's plan year, or the first later plan year, whose budget left takes
    ``cost`` (a later year is a second phase of optional works, 分期实施); a year with no
    budget entry counts as unlimited."""
    room = remaining.get((county, year))
    if room is None or cost <= room + 1e-6:
        return (county, year)
    for y in years:
        if y > year:
            room = remaining.get((county, y))
            if room is None or cost <= room + 1e-6:
                return (county, y)
    return None


def budget_left(totals: pd.DataFrame) -> dict[tuple[str, int], float | None]:
    """``(county, year)`` → budget minus the 基础类 cost placed there (None: no budget)."""
    out: dict[tuple[str, int], float | None] = {}
    for c, y, b, cost in zip(totals["county"], totals["plan_year"], totals["budget_yuan"],
                             totals["cost_yuan"], strict=True):
        out[(str(c), int(y))] = None if pd.isna(b) else max(float(b) - float(cost), 0.0)
    return out

