"""Utility overlay (管线叠加): pipes near compounds, renewal risk, upgrade plans, joint trenches.

The seed (玉政办发〔2022〕13号 §五) makes the water, gas, power and telecom companies put the
compounds' pipeline upgrades first into their annual renewal plans, share the cost and
agree a co-ordinated construction plan (统筹施工方案) so that a street is dug once. This
module gives each company (管线单位) exactly that:

* :func:`pipes_near_compounds` — segment × compound pairs within a distance, found with
  ``shapely.STRtree.query(predicate="dwithin")`` (exact distances, no buffers), and
  :func:`overlay_totals` — length per utility per compound or package;
* :func:`renewal_risk` — a 0–100 renewal risk score per segment with its reason (in
  :mod:`yulin_gis.utilities._renewal`, which describes the score);
* :func:`utility_upgrade_plan` — the ``pipe_upgrades`` layer: segments to renew per
  package and plan year, cost and funding split;
* :func:`joint_trenches` — the ``joint_trenches`` layer: roads dug by two or more parties in
  one package, the suggested order, the window in the plan year and conflicts with the
  utilities' own plans (in :mod:`yulin_gis.utilities._trenches`);
* the workbook of each company is written by ``yulin_gis.reports.write_company_workbooks`` (in
  :mod:`yulin_gis.reports._company_workbooks`).

The functions in the other modules are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yulin_gis.crs import require_metric, require_same_crs
from yulin_gis.errors import SchemaError
from yulin_gis.utilities._common import _need
from yulin_gis.utilities._renewal import DEFAULT_RISK_PARAMS, DESIGN_LIFE_YEARS, renewal_risk
from yulin_gis.utilities._trenches import TRENCH_DURATIONS_DAYS, TRENCH_ORDER, joint_trenches
from yulin_gis.utilities._types import UTILITY_TYPES
from yulin_gis.utilities._upgrade_plan import (
    DEFAULT_FUNDING_SHARES,
    DEFAULT_UNIT_COSTS,
    _units,
    _upgrade_plan,
)
from yulin_gis.utilities._within import _length_within, _near_pairs

__all__ = [
    "DEFAULT_FUNDING_SHARES",
    "DEFAULT_RISK_PARAMS",
    "DEFAULT_UNIT_COSTS",
    "DESIGN_LIFE_YEARS",
    "TRENCH_DURATIONS_DAYS",
    "TRENCH_ORDER",
    "households_near_segments",
    "joint_trenches",
    "overlay_totals",
    "pipes_near_compounds",
    "renewal_risk",
    "segment_road_classes",
    "utility_upgrade_plan",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- overlay


def pipes_near_compounds(compounds: gpd.GeoDataFrame, utilities: gpd.GeoDataFrame, *,
                         distance_m: float = 30.0, id_field: str = "compound_id",
                         lengths: Literal["within", "inside", "full", "none"] = "within",
                         method: Literal["envelope", "dwithin"] = "envelope") -> pd.DataFrame:
    """Pairs of compound (小区) and pipe segment within ``distance_m`` (exact distance).

    Both methods give the same pairs, those with ``shapely.distance ≤ distance_m`` — no
    buffers. ``"envelope"`` (default) queries a ``shapely.STRtree`` of the segments with
    each compound's bounding box grown by ``distance_m`` and keeps candidates by their exact
    distance, which it needs for ``distance_m`` anyway (about 0.6× the time of the
    ``dwithin`` query alone, see benchmarks/overlay.md); ``"dwithin"`` uses
    ``STRtree.query(predicate="dwithin", distance=...)`` then computes the distances.

    Parameters
    ----------
    compounds
        Polygons (or points) with ``id_field``; package polygons work too
        (``id_field="package_id"``). Metric CRS.
    utilities
        Segments with ``segment_id`` and ``utility``; same CRS.
    distance_m
        Maximum distance; 0 means touching or inside.
    lengths
        What ``length_in_m`` measures: ``"within"`` (default) the part of the segment
        within ``distance_m`` of the polygon (closed form for straight segments and convex
        polygons; otherwise clipped by an 8-segments-per-quarter buffer — a measurement
        only, the pairs stay exact);
        ``"inside"`` the part inside the polygon; ``"full"`` the whole segment (fast);
        ``"none"`` NaN (fastest).
    method
        ``"envelope"`` or ``"dwithin"``, as above.

    Returns
    -------
    pandas.DataFrame
        ``id_field``, ``segment_id``, ``utility``, ``distance_m``, ``length_in_m``; sorted by
        compound row, then segment row. Rows with missing geometry pair with nothing.
    """
    _need(compounds, [id_field], "compounds")
    _need(utilities, ["segment_id", "utility"], "utilities")
    require_metric(compounds.crs, "compounds")
    require_metric(utilities.crs, "utilities")
    require_same_crs(compounds, utilities, "compounds and utilities")
    pipes = utilities.geometry.to_numpy()
    polys = compounds.geometry.to_numpy()
    ci, si, dist = _near_pairs(polys, pipes, max(distance_m, 0.0), method)
    if lengths == "full":
        length = shapely.length(pipes)[si]
    elif lengths == "inside":
        length = shapely.length(shapely.intersection(pipes[si], polys[ci]))
    elif lengths == "within":
        length = _length_within(polys, pipes, ci, si, distance_m)
    else:
        length = np.full(len(si), np.nan)
    return pd.DataFrame({  # take() on the string arrays: no round trip through objects
        id_field: compounds[id_field].astype(str).array.take(ci),
        "segment_id": utilities["segment_id"].astype(str).array.take(si),
        "utility": utilities["utility"].astype(str).array.take(si),
        "distance_m": dist, "length_in_m": length,
    })


def overlay_totals(pairs: pd.DataFrame, by: str = "compound_id",
                   membership: pd.DataFrame | Mapping[str, str] | None = None,
                   value: str = "length_in_m") -> pd.DataFrame:
    """Length of each utility per compound or package (wide table, metres).

    Parameters
    ----------
    pairs
        From :func:`pipes_near_compounds`.
    by
        Column to total by: ``"compound_id"`` (or the pairs' id field), or a column of
        ``membership`` such as ``"package_id"``.
    membership
        Compound → group: a DataFrame with ``compound_id`` and ``by``, or a mapping. A
        segment near several compounds of one group counts once (its largest length).
    value
        Column summed.

    Returns
    -------
    pandas.DataFrame
        Index ``by``; one column per utility present (in :data:`UTILITY_TYPES` order) and
        ``total``.
    """
    df = pairs
    if by not in df.columns:
        if membership is None:
            raise SchemaError(f"pairs have no {by!r} column; pass membership")
        if isinstance(membership, pd.DataFrame):
            _need(membership, ["compound_id", by], "membership")
            mapping = dict(zip(membership["compound_id"].astype(str), membership[by].astype(str),
                               strict=True))
        else:
            mapping = {str(k): str(v) for k, v in membership.items()}
        df = df.assign(**{by: df["compound_id"].map(mapping)}).dropna(subset=[by])
        df = df.groupby([by, "utility", "segment_id"], sort=True)[value].max().reset_index()
    wide = df.pivot_table(index=by, columns="utility", values=value, aggfunc="sum", fill_value=0.0)
    cols = [u for u in UTILITY_TYPES if u in wide.columns] + sorted(
        c for c in wide.columns if c not in UTILITY_TYPES)
    wide = wide[cols]
    wide["total"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide.sort_index()


def households_near_segments(pairs: pd.DataFrame, compounds: pd.DataFrame) -> pd.Series:
    """Households (户数) of the compounds near each segment, summed: segment_id → households."""
    hh = pd.to_numeric(compounds["households"], errors="coerce").fillna(0)
    hh.index = compounds["compound_id"].astype(str)
    per = pairs["compound_id"].map(hh).fillna(0)
    return per.groupby(pairs["segment_id"]).sum().rename("households")


def segment_road_classes(utilities: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                         max_distance_m: float = 15.0) -> pd.Series:
    """Road class (道路等级) of the road each segment runs under: segment_id → road_class.

    The segment's ``road_id`` is used when present, else the nearest road within
    ``max_distance_m``; segments with neither are left out.
    """
    _need(roads, ["road_id", "road_class"], "roads")
    cls = dict(zip(roads["road_id"].astype(str), roads["road_class"].astype(str), strict=True))
    sid = utilities["segment_id"].astype(str).to_numpy()
    out = pd.Series(pd.NA, index=sid, dtype="object")
    if "road_id" in utilities.columns:
        out[:] = utilities["road_id"].astype("string").map(cls).to_numpy()
    todo = np.flatnonzero(out.isna().to_numpy())
    if len(todo):
        tree = shapely.STRtree(roads.geometry.to_numpy())
        qi, ri = tree.query_nearest(utilities.geometry.to_numpy()[todo], max_distance=max_distance_m)
        first = np.r_[True, qi[1:] != qi[:-1]][: len(qi)]
        out.iloc[todo[qi[first]]] = roads["road_class"].astype(str).to_numpy()[ri[first]]
    return out.dropna().rename("road_class")


# --------------------------------------------------------------------------- upgrade plan


def utility_upgrade_plan(compounds_assessed_or_packages: gpd.GeoDataFrame,
                         utilities: gpd.GeoDataFrame, *, packages: gpd.GeoDataFrame | None = None,
                         plan_years: Mapping[str, int] | None = None, risk: pd.DataFrame | None = None,
                         unit_costs: Mapping[str, float] | None = None,
                         funding_shares: Mapping[str, Mapping[str, float]] | None = None,
                         distance_m: float = 30.0, min_score: float = 50.0,
                         as_of_year: int | None = None, traces: pd.DataFrame | None = None,
                         risk_params: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Segments each utility company should renew, per package and plan year (layer ``pipe_upgrades``).

    A segment within ``distance_m`` of a selected compound (eligible, when the column is
    there) or package polygon is renewed when it is hazardous, scores at least
    ``min_score``, or lies inside a compound whose ``items`` include the utility's item
    (``water_supply``, ``drainage``, ``gas_pipe``, ``power_supply``, ``low_voltage``).
    Segments of ``traces`` (upstream/downstream of a package, :func:`trace_package`) are
    added as ``scope="trunk"`` when hazardous or at least ``min_score``. A segment near
    several packages goes to the earliest plan year, then the smallest package id.

    Parameters
    ----------
    compounds_assessed_or_packages
        Compounds after the survey (``compound_id``, ``households``, optional ``eligible``,
        ``items``, ``package_id``, ``plan_year``) or package polygons (``package_id``,
        optional ``plan_year``, ``items``).
    utilities
        Segments (canonical fields); same metric CRS.
    packages
        Optional package polygons: gives compounds their ``package_id`` (by location) and
        ``plan_year`` when the compounds lack them.
    plan_years
        Optional package_id → plan year, overriding the columns.
    risk
        Output of :func:`renewal_risk`; computed here when None (households near each
        segment, no road classes) for ``as_of_year`` (default: the earliest plan year,
        else 2022).
    unit_costs
        Yuan per metre per utility, over :data:`DEFAULT_UNIT_COSTS`.
    funding_shares
        Per utility ``{"utility": .., "government": .., "residents": ..}`` summing to 1, over
        :data:`DEFAULT_FUNDING_SHARES`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id``, ``utility``, ``utility_zh``, ``owner``, ``package_id``, ``plan_year``
        (Int64, NA when unknown), ``scope`` (package/trunk), ``compound_ids``,
        ``households``, ``material``, ``install_year``, ``length_m``, ``risk_score``,
        ``hazard``, ``reason``, ``est_cost_yuan``, ``funding_utility_yuan``,
        ``funding_government_yuan``, ``funding_residents_yuan``; the segments' geometry.
    """
    _need(utilities, ["segment_id", "utility"], "utilities")
    units = _units(compounds_assessed_or_packages, packages, plan_years)
    pairs = pipes_near_compounds(units, utilities, distance_m=distance_m, id_field="unit_id",
                                 lengths="none")
    return _upgrade_plan(units, pairs, utilities, risk=risk, unit_costs=unit_costs,
                         funding_shares=funding_shares, min_score=min_score,
                         as_of_year=as_of_year, traces=traces, risk_params=risk_params)
