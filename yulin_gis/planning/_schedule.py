"""Package schedule (施工计划): planned dates and deadline flags per package.

Split out of :mod:`yulin_gis.planning._plan`, which re-exports every public name here.

The seed (玉政办发〔2022〕13号 §六(四)) asks projects to start by 30 June and finish
in-compound water, power, road and gas works by 31 December.

Schedule (:func:`schedule_packages`)
------------------------------------
Per scheduled package: design and approval (设计审批) from ``plan_start`` of the plan year
(brought forward by up to ``design_lead`` days, into the previous year's last quarter, when
the basic works would otherwise end after ``basic_by``), then construction: utility (pipe) works (管线改造) first, surface works that lie over the
pipes (roads, paving) after them, building-body basic works (roofs, facades, stairwells)
in parallel, improvement/upgrade works (完善类/提升类) after the basic works, then
acceptance (竣工验收). Construction durations scale with ``sqrt(households / 500)``
clipped to 0.5–2. Flags say when the start falls after ``start_by`` (06-30) or the basic
works end after ``basic_by`` (12-31).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd

from yulin_gis.errors import ProfileError
from yulin_gis.io import require_columns

__all__ = [
    "DEADLINE_ALIASES",
    "DEFAULT_DEADLINES",
    "DEFAULT_DURATIONS_DAYS",
    "apply_plan_to_compounds",
    "deadline_date",
    "deadline_settings",
    "schedule_packages",
]

logger = logging.getLogger(__name__)

DEFAULT_DEADLINES: dict[str, str] = {
    "plan_start": "01-01",  # design/approval starts (the plan was submitted the year before)
    "start_by": "06-30",  # seed §六(四): start construction by 30 June
    "basic_by": "12-31",  # seed §六(四): in-compound water/power/road/gas basically done
}
"""Deadlines as ``MM-DD`` within the plan year."""

DEFAULT_DURATIONS_DAYS: dict[str, float] = {
    "design": 90,  # design with residents, publicity, approval, tendering
    "utility": 60,  # in-compound pipe works: water, drainage, power, gas, telecom
    "surface": 45,  # roads and paving over the pipes, after the utility works
    "building": 90,  # roofs, facades, stairwells: in parallel with the pipe works
    "improve": 60,  # improvement/upgrade works after the basic works
    "acceptance": 30,  # completion acceptance (竣工验收)
    "design_lead": 92,  # design may start this many days before plan_start (from 1 October
    # of the year before) when the basic works would otherwise miss their deadline
}
"""Typical durations for a package of ``reference_households`` households (editable)."""


DEADLINE_ALIASES: dict[str, str] = {"basic_complete_by": "basic_by"}
"""Other names accepted for a deadline key (the profile's ``[schedule]`` table says
``basic_complete_by``); :func:`deadline_settings` maps them, so the code knows one key."""


def deadline_settings(deadlines: Mapping[str, str] | None = None) -> dict[str, str]:
    """:data:`DEFAULT_DEADLINES` overridden by ``deadlines``, under the one set of keys.

    Raises
    ------
    ProfileError
        When a key and its alias are both given with different dates.
    """
    out = dict(DEFAULT_DEADLINES)
    given: dict[str, str] = {}
    for key, value in (deadlines or {}).items():
        canon = DEADLINE_ALIASES.get(key, key)
        if canon in given and given[canon] != value:
            raise ProfileError(f"deadline {canon!r} given twice: {given[canon]!r} and {value!r}")
        given[canon] = value
    out.update(given)
    return out


def deadline_date(text: str, year: int, key: str = "deadline") -> date:
    """The date of an ``MM-DD`` deadline in ``year``: the one date parser of the deadlines.

    Raises
    ------
    ProfileError
        Naming ``key`` when ``text`` is not ``MM-DD`` or not a date.
    """
    try:
        month, day = (int(x) for x in str(text).split("-"))
        return date(year, month, day)
    except ValueError as exc:
        raise ProfileError(f"deadline {key!r} must be 'MM-DD', got {text!r}") from exc


def schedule_packages(
    packages: pd.DataFrame,
    *,
    deadlines: Mapping[str, str] | None = None,
    durations_days: Mapping[str, float] | None = None,
    reference_households: float = 500.0,
    has_improvement: Mapping[str, bool] | None = None,
    not_before: date | None = None,
    programme_end: date | None = None,
) -> pd.DataFrame:
    """Add planned dates and deadline flags to scheduled packages.

    Parameters
    ----------
    packages
        Packages with ``package_id``, ``plan_year`` (str or int; ``""``/NaN unscheduled)
        and ``households``; e.g. ``PlanResult.packages``.
    deadlines
        ``MM-DD`` strings overriding :data:`DEFAULT_DEADLINES` (``basic_complete_by``, the
        profile's name, is accepted for ``basic_by``).
    durations_days
        Durations overriding :data:`DEFAULT_DURATIONS_DAYS`; the profile's per-class
        keys ``basic``, ``improve``, ``upgrade``, ``lift`` are accepted too (``basic`` is
        split 60/40 into utility then surface works, building works run alongside).
    reference_households
        Package size the typical durations are for; construction durations scale with
        ``sqrt(households / reference_households)`` clipped to 0.5–2.
    has_improvement
        package_id → whether it has improvement/upgrade items (完善类/提升类); when
        absent, taken from ``items_improve + items_upgrade > 0`` columns if present,
        else True.
    not_before
        No work (design included) starts before this date: the rules' effective date
        (the profile's ``programme.effective_date``; seed issued 2022-08-03).
    programme_end
        Every class of works should be accepted by this date (``programme.deadline``);
        later completions are flagged (``beyond_programme``).

    Returns
    -------
    pandas.DataFrame
        A copy with ``design_start, planned_start, utility_start, utility_end,
        surface_start, basic_end, improve_start, improve_end, planned_completion,
        start_deadline, basic_deadline`` (Timestamps; NaT when unscheduled),
        ``late_start``, ``basic_overdue``, ``beyond_programme`` (bool) and
        ``schedule_flag`` (str).
    """
    dl = deadline_settings(deadlines)
    du = _durations(durations_days)
    for key, value in du.items():
        if float(value) < 0:
            raise ProfileError(f"duration {key!r} must be ≥ 0 days, got {value!r}")
    if reference_households <= 0:
        raise ProfileError("reference_households must be > 0")
    out = packages.copy()
    improve = _improvement_flags(out, has_improvement)
    cols = ["design_start", "planned_start", "utility_start", "utility_end", "surface_start",
            "basic_end", "improve_start", "improve_end", "planned_completion",
            "start_deadline", "basic_deadline"]
    records: list[dict[str, Any]] = []
    for pid, year, hh, imp in zip(out["package_id"].astype(str), out["plan_year"],
                                  out["households"], improve, strict=True):
        rec = _schedule_one(str(pid), year, float(hh), imp, dl, du, reference_households,
                            not_before, programme_end)
        rec["beyond_programme"] = bool(programme_end is not None and "planned_completion" in rec
                                       and rec["planned_completion"] > programme_end)
        if rec["beyond_programme"]:
            rec["schedule_flag"] = "; ".join(filter(None, [
                rec["schedule_flag"],
                (f"completion {rec['planned_completion'].isoformat()} after the programme "
                 f"deadline {programme_end}")]))
        records.append(rec)
    sched = pd.DataFrame(records, index=out.index)
    for col in cols:
        out[col] = pd.to_datetime(sched[col]) if len(sched) else pd.Series(dtype="datetime64[ns]")
    out["late_start"] = sched["late_start"].astype(bool) if len(sched) else False
    out["basic_overdue"] = sched["basic_overdue"].astype(bool) if len(sched) else False
    out["beyond_programme"] = sched["beyond_programme"].astype(bool) if len(sched) else False
    out["schedule_flag"] = sched["schedule_flag"].astype(str) if len(sched) else ""
    n_late, n_overdue = int(out["late_start"].sum()), int(out["basic_overdue"].sum())
    if n_late or n_overdue:
        logger.info("schedule: %d package(s) start late, %d end basic works after the deadline "
                    "(see schedule_flag)", n_late, n_overdue)
    return out


def _durations(given: Mapping[str, float] | None) -> dict[str, float]:
    """Merge durations over the defaults; accept the profile's per-class keys.

    ``basic`` (whole basic works) becomes ``building`` = basic, ``utility`` = 60 % and
    ``surface`` = 40 % of it unless those are given; ``improve``/``upgrade``/``lift``
    set the improvement phase to the longest of them.
    """
    g = dict(given or {})
    du = {**DEFAULT_DURATIONS_DAYS, **{k: v for k, v in g.items() if k in DEFAULT_DURATIONS_DAYS}}
    if "basic" in g:
        basic = float(g["basic"])
        du.setdefault("building", basic)
        if "building" not in g:
            du["building"] = basic
        if "utility" not in g:
            du["utility"] = round(basic * 0.6)
        if "surface" not in g:
            du["surface"] = basic - du["utility"]
    phase = [float(g[k]) for k in ("improve", "upgrade", "lift") if k in g]
    if phase:
        du["improve"] = max(phase)
    return du


def _improvement_flags(df: pd.DataFrame, given: Mapping[str, bool] | None) -> list[bool]:
    if given is not None:
        return [bool(given.get(str(p), True)) for p in df["package_id"]]
    if {"items_improve", "items_upgrade"} <= set(df.columns):
        n = pd.to_numeric(df["items_improve"], errors="coerce").fillna(0) + pd.to_numeric(
            df["items_upgrade"], errors="coerce").fillna(0)
        return [bool(v > 0) for v in n]
    return [True] * len(df)


def _schedule_one(pid: str, year: Any, households: float, improve: bool,
                  dl: Mapping[str, str], du: Mapping[str, float], ref: float,
                  not_before: date | None = None,
                  programme_end: date | None = None) -> dict[str, Any]:
    empty: dict[str, Any] = {"late_start": False, "basic_overdue": False, "schedule_flag": ""}
    if year is None or (isinstance(year, float) and math.isnan(year)) or str(year).strip() == "":
        return empty
    y = int(float(year))
    factor = min(2.0, max(0.5, math.sqrt(max(households, 0.0) / ref)))

    def days(key: str, scaled: bool = True) -> timedelta:
        return timedelta(days=math.ceil(float(du[key]) * (factor if scaled else 1.0)))

    design_start = deadline_date(dl["plan_start"], y, "plan_start")
    start_deadline = deadline_date(dl["start_by"], y, "start_by")
    basic_deadline = deadline_date(dl["basic_by"], y, "basic_by")
    start = design_start + days("design", scaled=False)
    basic_len = max(days("utility") + days("surface"), days("building"))
    whole = basic_len + (days("improve") if improve else timedelta(0)) + days("acceptance", scaled=False)
    late_all = programme_end is not None and start + whole > programme_end
    if start + basic_len > basic_deadline or late_all:  # bring design forward, ≤ design_lead days
        earliest = design_start - days("design_lead", scaled=False)
        target = basic_deadline - basic_len
        if late_all and programme_end is not None:
            target = min(target, programme_end - whole)
        design_start = max(earliest, min(design_start, target - days("design", scaled=False)))
    if not_before is not None and design_start < not_before:  # not before the rules exist
        design_start = not_before
    start = design_start + days("design", scaled=False)
    utility_end = start + days("utility")
    surface_start = utility_end  # surface works lie over the pipes: after them
    basic_end = max(surface_start + days("surface"), start + days("building"))
    improve_start = basic_end
    improve_end = improve_start + (days("improve") if improve else timedelta(0))
    completion = improve_end + days("acceptance", scaled=False)
    late, overdue = start > start_deadline, basic_end > basic_deadline
    flags = []
    if late:
        flags.append(f"start {start.isoformat()} after the {start_deadline.isoformat()} deadline")
    if overdue:
        flags.append(f"basic works end {basic_end.isoformat()} after the "
                     f"{basic_deadline.isoformat()} deadline")
    if flags:
        logger.debug("package %s: %s", pid, "; ".join(flags))
    return {"design_start": design_start, "planned_start": start, "utility_start": start,
            "utility_end": utility_end, "surface_start": surface_start, "basic_end": basic_end,
            "improve_start": improve_start, "improve_end": improve_end,
            "planned_completion": completion, "start_deadline": start_deadline,
            "basic_deadline": basic_deadline, "late_start": late, "basic_overdue": overdue,
            "schedule_flag": "; ".join(flags)}


def apply_plan_to_compounds(compounds: pd.DataFrame, packages: pd.DataFrame) -> pd.DataFrame:
    """Copy each package's plan year and dates onto its compounds.

    Parameters
    ----------
    compounds
        Compounds with ``package_id`` (empty/NaN when not in a package).
    packages
        Planned packages (``PlanResult.packages``, optionally through
        :func:`schedule_packages`).

    Returns
    -------
    pandas.DataFrame
        A copy of ``compounds`` with ``plan_year`` (str, ``""`` when none),
        ``unscheduled_reason`` and, when present on ``packages``, ``planned_start``,
        ``basic_end`` and ``planned_completion``. Every compound is kept.
    """
    require_columns(compounds, ["package_id"], layer="compounds")
    cols = [c for c in ("plan_year", "unscheduled_reason", "planned_start", "basic_end",
                        "planned_completion") if c in packages.columns]
    lookup = packages.assign(package_id=packages["package_id"].astype(str)).set_index(
        "package_id")[cols]
    out = compounds.copy()
    keys = out["package_id"].where(out["package_id"].notna(), "").astype(str)
    known = keys.isin(lookup.index)
    for col in cols:
        values = keys.map(lookup[col])
        if col in ("plan_year", "unscheduled_reason"):
            values = values.where(known, "").astype(str)
        out[col] = values.to_numpy()
    if "unscheduled_reason" in out.columns:
        out.loc[~known.to_numpy(), "unscheduled_reason"] = [
            "not in a package" if k == "" else f"package {k} not in the plan" for k in keys[~known]]
    return out


def households_limit_by_year(
    years: tuple[int, ...],
    *,
    deadlines: Mapping[str, str] | None = None,
    durations_days: Mapping[str, float] | None = None,
    reference_households: float = 500.0,
    not_before: date | None = None,
    programme_end: date | None = None,
) -> dict[int, float | None]:
    """Largest package (households) whose works fit in each plan year (None: any size).

    Durations scale with ``f = clip(sqrt(households / reference_households), 0.5, 2)``
    (see :func:`schedule_packages`). In year Y the works start at the earliest
    ``max(1 January − design_lead, not_before) + design``; the basic works must end by
    ``basic_by`` of Y (seed §六(四)) and, with ``programme_end``, every class of works and
    the acceptance by that date. Solving for ``f`` gives the limit; 0 when no package fits.
    """
    dl = deadline_settings(deadlines)
    du = _durations(durations_days)
    basic = max(float(du["utility"]) + float(du["surface"]), float(du["building"]))
    out: dict[int, float | None] = {}
    for y in years:
        design_start = deadline_date(dl["plan_start"], y, "plan_start") - timedelta(days=float(du["design_lead"]))
        if not_before is not None:
            design_start = max(design_start, not_before)
        start = design_start + timedelta(days=float(du["design"]))
        room = (deadline_date(dl["basic_by"], y, "basic_by") - start).days - 1
        factor = room / basic if basic > 0 else math.inf
        if programme_end is not None:
            room_all = (programme_end - start).days - 1 - float(du["acceptance"])
            span = basic + float(du["improve"])
            factor = min(factor, room_all / span if span > 0 else math.inf)
        if factor >= 2.0:
            out[y] = None
        elif factor < 0.5:
            out[y] = 0.0
        else:
            out[y] = math.floor(reference_households * factor * factor)
    return out
