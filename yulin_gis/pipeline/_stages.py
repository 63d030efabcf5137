"""The pipeline's stages over one :class:`PlanState`: survey, packages, plan, utilities.

Each stage reads the state, adds its results and keeps every compound: the ``status``
column says how far each compound got (``excluded`` → ``eligible`` → ``packaged`` →
``planned``) and ``exclusion_reason`` says why it stopped where it did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.io import VERIFY_STATUS

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io import Layers
    from yulin_gis.packaging import PackageResult
    from yulin_gis.planning import PlanResult
    from yulin_gis.profile import Profile
    from yulin_gis.scale import Engine

__all__ = [
    "PlanOptions",
    "PlanState",
    "engine_package_stage",
    "engine_survey_stage",
    "package_stage",
    "plan_stage",
    "survey_stage",
    "utility_stage",
]

logger = logging.getLogger(__name__)



@dataclass
class PlanOptions:
    """Options of a run beyond the input files (CLI flags map onto these).

    Attributes
    ----------
    profile_path
        Policy profile TOML; None uses Yulin's 2022 rules.
    unit
        Planning unit packages never cross: ``community_id`` (社区) or ``street`` (街道).
    min_households, max_households
        Floor and ceiling of households per package (None: the profile's ``[packaging]``).
    gap_m
        Compounds within this distance are neighbours (a branch road between them);
        None: the profile's.
    barrier_classes
        Road classes that packages never cross (rivers are always barriers); None: the
        profile's.
    budget
        Yearly budget per county in yuan (one number for all), a CSV with ``county``,
        ``plan_year``, ``budget_yuan``, or None: no budget (the plan is unconstrained by
        money and paced evenly to the deadline; ``PlanResult.budget_source == "none"``).
    capacity
        Yearly household capacity per county, or None for no limit.
    pipe_distance_m
        Pipes within this distance of a compound are its pipes (overlay).
    basemap
        Basemap of the web maps: ``none`` (offline), ``osm``, ``tianditu``, ``gaode`` or
        an XYZ template.
    online
        Link Leaflet from a CDN instead of inlining it.
    rasters
        Local GeoTIFFs (orthophoto, waterlogging map ...) drawn under the overview map;
        an RGB orthophoto serves as an offline basemap.
    engine, scheduler, workers
        Where the heavy steps run: ``local``, or ``dask`` on the cluster at ``scheduler``
        (``tcp://host:8786``) or on a local cluster of ``workers`` processes.
    """

    profile_path: Path | None = None
    unit: str = "community_id"
    min_households: float | None = None
    max_households: float | None = None
    gap_m: float | None = None
    barrier_classes: tuple[str, ...] | None = None
    budget: float | Path | None = None
    capacity: float | None = None
    pipe_distance_m: float = 30.0
    basemap: str = "none"
    online: bool = False
    rasters: tuple[Path, ...] = ()
    engine: str = "local"
    scheduler: str | None = None
    workers: int = 2


@dataclass
class PlanState:
    """Everything the stages produced so far."""

    layers: Layers
    profile: Profile
    options: PlanOptions
    compounds: gpd.GeoDataFrame
    packages: gpd.GeoDataFrame | None = None
    plan: PlanResult | None = None
    pipe_upgrades: gpd.GeoDataFrame | None = None
    joint_trenches: gpd.GeoDataFrame | None = None
    topology: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def survey_stage(layers: Layers, options: PlanOptions, *,
                 pipes: pd.DataFrame | None = None) -> PlanState:
    """Assess every compound (摸清底数): tier, items with evidence, priority, cost.

    ``pipes`` is precomputed pipe-hazard evidence (e.g. from the dask engine).
    """
    from yulin_gis.profile import load_profile
    from yulin_gis.survey import assess_compounds

    profile = load_profile(options.profile_path)
    assessed = assess_compounds(layers, profile=profile, pipes=pipes)
    notes = _unestimated_costs(assessed, profile)
    prior = (assessed["status"].astype(str).to_numpy() if "status" in assessed.columns
             else None)
    eligible = assessed["eligible"].fillna(False).astype(bool).to_numpy()
    assessed["status"] = np.where(eligible, "eligible", "excluded")
    if "verify_reason" in assessed.columns:  # data to verify first: 待核实, never planned
        verify = assessed["verify_reason"].fillna("").astype(str) != ""
        assessed.loc[verify, "status"] = VERIFY_STATUS
    reason = assessed["exclusion_reason"].fillna("").astype(str)
    assessed["exclusion_reason"] = reason.where(~eligible | (reason != ""), "")
    from yulin_gis.planning import gate_consent

    assessed = gate_consent(assessed, profile)  # seed §四(一): 居民改造意愿; below → 待征求意见
    notes += hold_for_verification(assessed, prior_status=prior)
    return PlanState(layers, profile, options, assessed, extras={"notes": notes})


VERIFY = "待核实"
"""Status of compounds whose data must be checked before they can be planned."""


def _truthy(series: pd.Series) -> np.ndarray:
    text = series.astype(object).where(series.notna(), "").astype(str).str.strip().str.lower()
    return np.asarray(text.isin(["true", "1", "1.0", "yes", "是"]), dtype=bool)


def hold_for_verification(comp: pd.DataFrame, *,
                          prior_status: np.ndarray | None = None) -> list[str]:
    """Never plan compounds to verify (待核实): status, ``needs_verification`` or no unit.

    A compound whose ``status`` was ``待核实`` before the survey (``prior_status``), whose
    ``needs_verification`` is true, or which has no planning unit at all (no community,
    street or county) gets status ``待核实``, ``eligible`` False and its reason
    (``verification_reason`` when given) in ``exclusion_reason``.
    Returns the note for the run summary (empty when none).
    """
    n = len(comp)
    hold = (np.zeros(n, dtype=bool) if prior_status is None
            else np.asarray(prior_status == VERIFY, dtype=bool))
    if "needs_verification" in comp.columns:
        hold |= _truthy(comp["needs_verification"])
    reason = (comp["verification_reason"].fillna("").astype(str).to_numpy()
              if "verification_reason" in comp.columns else np.full(n, "", dtype=object))
    if "package_unit" in comp.columns:
        no_unit = (comp["package_unit"].fillna("").astype(str) == "").to_numpy()
        reason = np.where(no_unit & (reason == ""), "无所属社区、街道或县区，无法成片 / no "
                          "community, street or county: cannot be packaged", reason)
        hold |= no_unit
    if not hold.any():
        return []
    old = comp["exclusion_reason"].fillna("").astype(str).to_numpy()
    reason = np.where(reason == "", old, reason)
    comp.loc[hold, "status"] = VERIFY
    comp.loc[hold, "eligible"] = False
    comp.loc[hold, "exclusion_reason"] = [f"{VERIFY}: {r}" if r else VERIFY for r in reason[hold]]
    ids = comp.loc[hold, "compound_id"].astype(str).tolist()
    more = ", ..." if len(ids) > 10 else ""
    return [(f"{len(ids)} compounds to verify ({VERIFY}), never planned: "
            f"{', '.join(ids[:10])}{more}")]


def _unestimated_costs(comp: pd.DataFrame, profile: Profile) -> list[str]:
    """Blank the costs when no survey gap field was given (cost unknown, not 0 yuan)."""
    from yulin_gis.io import GAP_FIELDS

    fields = {f.name for f in GAP_FIELDS} | {f for it in profile.items.values()
                                             for f in it.trigger.survey}
    present = [f for f in fields if f in comp.columns and comp[f].notna().any()]
    if present:
        return []
    cost_cols = [c for c in comp.columns if c == "cost_yuan" or c.startswith(("cost_", "fund_"))]
    for col in cost_cols:
        comp[col] = np.nan
    comp["cost_note"] = "未估算：无摸底调查缺项字段 / not estimated: no survey gap fields"
    return ["no survey gap fields: costs not estimated (未估算)"]


def _barriers(layers: Layers, classes: tuple[str, ...]) -> gpd.GeoDataFrame | None:
    import geopandas as gpd

    parts = []
    if layers.roads is not None and classes:
        parts.append(layers.roads[layers.roads["road_class"].isin(list(classes))][["geometry"]])
    if layers.rivers is not None:
        parts.append(layers.rivers[["geometry"]])
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=layers.crs)


def package_stage(state: PlanState, packager: Callable[..., Any] | None = None) -> PlanState:
    """Group eligible compounds into contiguous packages per community (连片规划).

    ``packager`` replaces :func:`yulin_gis.packaging._packages.make_packages` (same signature and
    result), e.g. the dask engine's per-county packaging.
    """
    from yulin_gis.packaging import make_packages

    opts = state.options
    comp = state.compounds
    unit = "package_unit" if "package_unit" in comp.columns else opts.unit
    pk_prof = state.profile.x.packaging
    held = (comp["status"] == "consultation").to_numpy() if "status" in comp.columns else False
    result = (packager or make_packages)(
        comp.assign(eligible=comp["eligible"].fillna(False).astype(bool) & ~held),
        unit=unit,
        min_households=_or(opts.min_households, pk_prof.min_households),
        max_households=_or(opts.max_households, pk_prof.max_households),
        gap_m=_or(opts.gap_m, pk_prof.gap_m),
        barriers=_barriers(state.layers, _or(opts.barrier_classes, pk_prof.barrier_classes)))
    assign = result.assignments.set_index("compound_id")
    ids = comp["compound_id"].astype(str)
    comp["package_id"] = ids.map(assign["package_id"]).fillna("").to_numpy()
    comp["package_reason"] = ids.map(assign["package_reason"]).fillna("").to_numpy()
    packaged = (comp["package_id"] != "").to_numpy()
    comp.loc[packaged, "status"] = "packaged"
    lost = (comp["status"] == "eligible").to_numpy()
    comp.loc[lost, "exclusion_reason"] = ("未成片 / not packaged: "
                                          + comp.loc[lost, "package_reason"].astype(str))
    packages = _unit_columns(result.packages.copy(), comp, opts.unit)
    for col in ("county", "street"):  # plans are per county, even with no package at all
        if col not in packages.columns:
            packages[col] = pd.Series([None] * len(packages), index=packages.index, dtype=object)
    if "cost_note" in comp.columns:
        packages["cost_yuan"] = np.nan
    sums = _household_groups(comp[packaged], state.profile)
    for col in sums.columns:
        packages[col] = packages["package_id"].map(sums[col]).fillna(0).to_numpy()
    state.packages = packages
    state.extras["package_summary"] = result.summary
    logger.info("packages: %d from %d eligible compounds (%d flagged)", len(packages),
                int(packaged.sum()) + int(lost.sum()), int(packages["flag"].sum()))
    return state


def _or(value: Any, default: Any) -> Any:
    """``value`` unless it is None (an option not given: the profile's value)."""
    return default if value is None else value


def _unit_columns(packages: gpd.GeoDataFrame, comp: pd.DataFrame, unit: str) -> gpd.GeoDataFrame:
    """The asked-for unit column, its level and the 社区未知 flag of each package.

    Packages made per street or county (the compounds' community unknown) get
    ``community_unknown`` 1 and the reason in ``flag_reason``; the unit itself is
    ``package_unit`` / ``package_unit_level``.
    """
    from yulin_gis.io import COMMUNITY_UNKNOWN

    if "package_unit" not in packages.columns:
        return packages
    members = pd.DataFrame(comp[comp["package_id"] != ""].drop(columns=comp.geometry.name))
    first = members.drop_duplicates("package_id").set_index("package_id")
    pid = packages["package_id"].astype(str)
    level = pid.map(first["package_unit_level"]).fillna("").astype(str)
    if unit in first.columns:
        known = level == unit
        packages[unit] = pid.map(first[unit]).where(known, None).to_numpy()
    packages["package_unit_level"] = level.to_numpy()
    unknown = (level != unit).to_numpy()
    packages["community_unknown"] = unknown.astype(int)
    label = {"street": "街道", "county": "县（市、区）"}
    note = [f"{COMMUNITY_UNKNOWN}：按{label.get(lv, lv)}成片 / community unknown: packaged "
            f"per {lv}" if u else "" for lv, u in zip(level, unknown, strict=True)]
    old = packages["flag_reason"].fillna("").astype(str).to_numpy()
    packages["flag_reason"] = ["；".join(p for p in (o, n) if p) for o, n in
                               zip(old, note, strict=True)]
    packages["flag"] = packages["flag_reason"] != ""
    return packages


def _household_groups(comp: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Per package: households built ≤ the priority year, and in the share years."""
    e = profile.eligibility
    year = pd.to_numeric(comp["built_year"], errors="coerce")
    hh = pd.to_numeric(comp["households"], errors="coerce").fillna(0)
    frame = pd.DataFrame({
        "package_id": comp["package_id"].to_numpy(),
        "pre2000_households": np.where(year <= e.priority_built_until, hh, 0),
        "share_households": np.where((year > e.priority_built_until)
                                     & (year <= e.share_built_until), hh, 0),
    })
    return frame.groupby("package_id").sum()


def profile_funding(profile: Profile) -> dict[str, Any]:
    """Keyword arguments for :mod:`yulin_gis.planning._funding` from the profile's item catalogue."""
    items = profile.items.values()
    return {
        "funding_shares": {i.code: (i.funding.residents, i.funding.utility, i.funding.government)
                           for i in items},
        "item_classes": {i.code: i.item_class for i in items},
        "item_weights": {i.code: float(i.unit_cost) for i in items},
    }


def plan_stage(state: PlanState) -> PlanState:
    """Schedule packages into plan years per county (年度计划), date them and fund them.

    See :mod:`yulin_gis.pipeline._plan_stage`: pre-2000 parts first, 2001–2005 parts within the
    yearly share, 基础类 before optional items, no circular budget.
    """
    from yulin_gis.pipeline._plan_stage import plan_compounds

    if state.packages is not None and not len(state.packages):  # nothing to schedule: say so
        state.compounds["plan_year"] = ""
        state.compounds["unscheduled_reason"] = "not in a package"
        state.extras.setdefault("notes", []).append("no packages: no annual plan")
        return state
    return plan_compounds(state)


def utility_stage(state: PlanState) -> PlanState:
    """Pipeline upgrades per company, traces, joint trenches and topology (管线改造).

    For each package, the upstream path from the source (water, gas) and the downstream
    path to the outfall (storm, sewer) are traced; hazardous or high-risk trunk segments on
    them join the upgrades (``scope="trunk"``). Water and gas upgrades carry the households
    cut off while the segment is isolated.
    """
    from yulin_gis.utilities import (
        build_networks,
        joint_trenches,
        topology_report,
        trace_package,
        utility_upgrade_plan,
    )

    layers = state.layers
    if layers.utilities is None:
        logger.info("no utilities layer: pipeline upgrades skipped")
        return state
    nets = build_networks(layers.utilities)
    state.topology = topology_report(nets)
    years: dict[str, int] = {}
    traces = None
    if state.packages is not None and len(state.packages):
        if "plan_year" in state.packages.columns:
            years = {str(p): int(y) for p, y in zip(state.packages["package_id"],
                                                     state.packages["plan_year"], strict=True)
                     if str(y).strip() not in {"", "nan", "<NA>"}}
        traces = trace_package(nets, state.packages, layers.utility_nodes)
        state.extras["traces"] = traces
    us = state.profile.x.utilities
    upgrades = utility_upgrade_plan(state.compounds, layers.utilities, packages=state.packages,
                                    plan_years=years, distance_m=state.options.pipe_distance_m,
                                    as_of_year=state.profile.survey.as_of_year, traces=traces,
                                    unit_costs=us.unit_costs, funding_shares=us.funding)
    upgrades = _profile_owners(upgrades, state.profile)
    upgrades = _with_isolation(upgrades, nets, state)
    state.pipe_upgrades = upgrades
    if layers.roads is not None and len(upgrades):
        state.joint_trenches = joint_trenches(upgrades, layers.roads, packages=state.packages,
                                              compounds=state.compounds)
    logger.info("utilities: %d segments to renew, %d joint trenches", len(upgrades),
                0 if state.joint_trenches is None else len(state.joint_trenches))
    return state


def _profile_owners(upgrades: gpd.GeoDataFrame, profile: Profile) -> gpd.GeoDataFrame:
    """The responsible company (专业经营单位) per utility (seed §五(二)): the recorded
    ``owner`` when it is one of the profile's companies or departments, else the profile's
    owner of that utility; the input's value is kept as ``owner_recorded``."""
    names = {**profile.departments, **profile.utility_companies}
    known = set(names.values())
    owners = {u: names[c] for u, c in profile.x.utilities.owners.items() if c in names}
    recorded = (upgrades["owner"].astype(object).where(upgrades["owner"].notna(), "")
                if "owner" in upgrades.columns else pd.Series("", index=upgrades.index))
    upgrades["owner_recorded"] = recorded.astype(str).to_numpy()
    mapped = upgrades["utility"].astype(str).map(owners).fillna("")
    keep = recorded.astype(str).isin(known)
    upgrades["owner"] = recorded.astype(str).where(keep, mapped).to_numpy()
    return upgrades


def _with_isolation(upgrades: gpd.GeoDataFrame, nets: Any, state: PlanState) -> gpd.GeoDataFrame:
    """Add ``households_cut_off`` (water and gas) to the upgrades: who loses supply."""
    from yulin_gis.utilities import isolation_impact

    pressured = upgrades[upgrades["utility"].isin(["water_supply", "gas"])]
    if not len(pressured):
        upgrades["households_cut_off"] = 0
        return upgrades
    impact = isolation_impact(nets, pressured["segment_id"].astype(str).tolist(),
                              state.compounds, state.layers.utility_nodes)
    cut = impact.groupby("segment_id")["households_cut_off"].max()
    upgrades["households_cut_off"] = (upgrades["segment_id"].astype(str).map(cut)
                                      .fillna(0).astype(int).to_numpy())
    return upgrades


# --------------------------------------------------------------------------- stages on an engine


def engine_survey_stage(layers: Layers, options: PlanOptions, engine: Engine, *,
                        tile_m: float = 20000.0) -> PlanState:
    """:func:`survey_stage` with the pipe evidence computed by ``engine``."""
    from yulin_gis.profile import load_profile
    from yulin_gis.scale import engine_pipe_hazards

    profile = load_profile(options.profile_path)
    pipes = (engine_pipe_hazards(layers, profile, engine, tile_m=tile_m)
             if layers.utilities is not None else None)
    return survey_stage(layers, options, pipes=pipes)


def engine_package_stage(state: PlanState, engine: Engine, by: str = "county") -> PlanState:
    """:func:`package_stage` with ``make_packages`` run per ``by`` by ``engine``."""
    from yulin_gis.scale import engine_packages

    def packager(compounds: gpd.GeoDataFrame, **kwargs: Any) -> PackageResult:
        return engine_packages(compounds, engine, by=by, **kwargs)

    return package_stage(state, packager=packager)
