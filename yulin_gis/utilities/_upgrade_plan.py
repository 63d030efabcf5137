"""Pipe upgrade plan (管线改造计划): the segments each utility company should renew.

:func:`~yulin_gis.utilities._upgrades.utility_upgrade_plan` gives the ``pipe_upgrades``
layer — segments to renew per package and plan year, cost and funding split — from the
compounds (or packages) and their pairs with the segments, the renewal risk
(:mod:`yulin_gis.utilities._renewal`) and the traces (:mod:`yulin_gis.utilities._traces`);
the work after the overlay is here (:func:`_upgrade_plan`).

Everything runs on row numbers: pairs, risk and traces become integer arrays, the choice of
package per segment one ``lexsort``, the compounds per segment one sort.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yulin_gis.errors import ProfileError
from yulin_gis.utilities._common import _LABELS_ZH, _need
from yulin_gis.utilities._renewal import renewal_risk
from yulin_gis.utilities._types import DEFAULT_OWNERS

__all__ = [
    "DEFAULT_FUNDING_SHARES",
    "DEFAULT_UNIT_COSTS",
]

logger = logging.getLogger(__name__)

DEFAULT_UNIT_COSTS: dict[str, float] = {
    "water_supply": 400.0, "storm": 600.0, "sewer": 600.0, "combined_sewer": 900.0,
    "gas": 350.0, "power": 500.0, "telecom": 200.0, "cable_tv": 150.0,
}
"""Renewal cost, yuan per metre incl. trench and reinstatement. Water, drainage and gas
follow the profile's items; combined sewer assumes separation (a second pipe); power and
telecom are placeholders (unconfirmed)."""

DEFAULT_FUNDING_SHARES: dict[str, dict[str, float]] = {
    "water_supply": {"utility": 0.5, "government": 0.4, "residents": 0.1},
    "gas": {"utility": 0.6, "government": 0.3, "residents": 0.1},
    "power": {"utility": 0.7, "government": 0.3, "residents": 0.0},
    "telecom": {"utility": 0.8, "government": 0.2, "residents": 0.0},
    "cable_tv": {"utility": 0.8, "government": 0.2, "residents": 0.0},
    "storm": {"utility": 0.0, "government": 0.9, "residents": 0.1},
    "sewer": {"utility": 0.0, "government": 0.9, "residents": 0.1},
    "combined_sewer": {"utility": 0.0, "government": 0.9, "residents": 0.1},
}
"""Funding split per utility (谁受益、谁出资, seed §八(二)); as the profile's items, unconfirmed."""

_ITEM_UTILITIES: dict[str, tuple[str, ...]] = {
    "water_supply": ("water_supply",), "drainage": ("storm", "sewer", "combined_sewer"),
    "gas_pipe": ("gas",), "power_supply": ("power",), "low_voltage": ("telecom", "cable_tv"),
}


def _shares(funding_shares: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    shares = {k: dict(v) for k, v in DEFAULT_FUNDING_SHARES.items()}
    for ut, val in (funding_shares or {}).items():
        shares[ut] = {"utility": 0.0, "government": 0.0, "residents": 0.0, **val}
        if abs(sum(shares[ut].values()) - 1) > 1e-6 or min(shares[ut].values()) < 0:
            raise ProfileError(f"funding shares of {ut!r} must be ≥ 0 and sum to 1: {shares[ut]}")
    return shares


def _units(units: gpd.GeoDataFrame, packages: gpd.GeoDataFrame | None,
           plan_years: Mapping[str, int] | None) -> gpd.GeoDataFrame:
    """Renovation units (compounds or packages) with unit_id, package_id, plan_year, items."""
    if "compound_id" in units.columns:
        u = units
        if "eligible" in u.columns:
            u = u[u["eligible"].fillna(False).astype(bool)]
        u = u.assign(unit_id=u["compound_id"].astype(str))
        if "package_id" not in u.columns and packages is not None:
            _need(packages, ["package_id"], "packages")
            pts = gpd.GeoDataFrame(geometry=u.geometry.representative_point(), crs=u.crs)
            hit = gpd.sjoin(pts, packages[["package_id", "geometry"]], predicate="within")
            hit = hit[~hit.index.duplicated()]
            u = u.assign(package_id=hit["package_id"].reindex(u.index))
    else:
        _need(units, ["package_id"], "packages")
        u = units.assign(unit_id=units["package_id"].astype(str))
    u = u.copy()
    u["package_id"] = u["package_id"].astype("string").fillna("") if "package_id" in u else ""
    if "plan_year" not in u.columns and packages is not None and "plan_year" in packages.columns:
        u["plan_year"] = u["package_id"].map(dict(zip(packages["package_id"].astype(str),
                                                      packages["plan_year"], strict=True)))
    if plan_years:
        u["plan_year"] = u["package_id"].map({str(k): v for k, v in plan_years.items()})
    u["plan_year"] = pd.to_numeric(u.get("plan_year", pd.Series(pd.NA, index=u.index)),
                                   errors="coerce").astype("Int64")
    u["items"] = u["items"].fillna("").astype(str) if "items" in u.columns else ""
    u["households"] = (pd.to_numeric(u["households"], errors="coerce").fillna(0)
                       if "households" in u.columns else 0.0)
    return u.reset_index(drop=True)


def _upgrade_plan(units: gpd.GeoDataFrame, pairs: pd.DataFrame, utilities: gpd.GeoDataFrame, *,
                  risk: pd.DataFrame | None, unit_costs: Mapping[str, float] | None,
                  funding_shares: Mapping[str, Mapping[str, float]] | None, min_score: float,
                  as_of_year: int | None, traces: pd.DataFrame | None,
                  risk_params: Mapping[str, Any] | None) -> gpd.GeoDataFrame:
    """:func:`~yulin_gis.utilities._upgrades.utility_upgrade_plan` from its units
    (:func:`_units`) and their pairs with the segments (``pipes_near_compounds``)."""
    seg = utilities.assign(segment_id=utilities["segment_id"].astype(str)).set_index(
        "segment_id", drop=False)
    ui = pd.Index(units["unit_id"]).get_indexer(pairs["unit_id"])
    si = seg.index.get_indexer(pairs["segment_id"])
    if risk is None:
        years = units["plan_year"].dropna()
        year = as_of_year or (int(years.min()) if len(years) else 2022)
        near = np.unique(si)
        served = np.bincount(si, units["households"].to_numpy(float)[ui], minlength=len(seg))
        risk = renewal_risk(seg.reset_index(drop=True), as_of_year=year,
                            households_served=pd.Series(served[near], index=seg.index[near]),
                            params=risk_params)
    rk = risk.assign(segment_id=risk["segment_id"].astype(str)).set_index("segment_id")
    rk = rk[~rk.index.duplicated()][["risk_score", "hazard", "reason"]].reindex(seg.index)
    renew = (rk["hazard"].fillna(False).to_numpy(bool)
             | (rk["risk_score"].fillna(0) >= min_score).to_numpy())
    rows = _package_rows(units, seg, ui, si, renew)
    if traces is not None and len(traces):
        trunk = _trunk_rows(traces, units, seg, renew)
        rows = {k: np.concatenate([rows[k], trunk[k]]) for k in rows}
    return _plan_frame(rows, seg, rk, units, unit_costs, funding_shares, utilities.crs)


def _item_bits(items: pd.Series) -> np.ndarray:
    """Per unit, a bit per item of :data:`_ITEM_UTILITIES` its items (comma-separated
    codes) include; each distinct list is matched once."""
    inv, uniq = pd.factorize(items, use_na_sentinel=False)
    distinct = pd.Series(uniq, dtype=items.dtype)
    bits = np.zeros(len(uniq), np.int64)
    for k, code in enumerate(_ITEM_UTILITIES):
        has = distinct.str.contains(rf"(?:^|[,，\s]){re.escape(code)}(?:$|[,，\s])", regex=True)
        bits |= has.to_numpy(bool) << k
    return bits[inv]


def _utility_bit(utility: pd.Series) -> np.ndarray:
    """Per segment, the bit of the item that renews its utility (-1: none)."""
    bit = {u: k for k, utils in enumerate(_ITEM_UTILITIES.values()) for u in utils}
    return utility.astype(str).map(bit).fillna(-1).to_numpy(np.int64)


def _package_rows(units: gpd.GeoDataFrame, seg: gpd.GeoDataFrame, ui: np.ndarray,
                  si: np.ndarray, renew: np.ndarray) -> dict[str, np.ndarray]:
    """Candidate rows from the pairs: the segment is renewed (hazard or score) or lies in a
    unit whose items include its utility's item."""
    bit = _utility_bit(seg["utility"])[si]
    wants = (bit >= 0) & ((_item_bits(units["items"])[ui] >> np.maximum(bit, 0)) & 1 == 1)
    keep = renew[si].copy()
    check = np.flatnonzero(~keep & wants)
    keep[check] = shapely.intersects(units.geometry.to_numpy()[ui[check]],
                                     seg.geometry.to_numpy()[si[check]])
    ui, si = ui[keep], si[keep]
    year = units["plan_year"].to_numpy(dtype=float, na_value=np.nan)[ui]
    return {"seg": si, "unit": ui, "package": units["package_id"].astype(str).to_numpy(
        dtype=object)[ui], "year": year, "scope": np.zeros(len(si), np.int8)}


def _trunk_rows(traces: pd.DataFrame, units: gpd.GeoDataFrame, seg: gpd.GeoDataFrame,
                renew: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of the trunk segments traced upstream/downstream of each package (hazard or
    score), in the package's earliest plan year."""
    tr = traces[traces["role"].isin(["upstream", "downstream"])][["package_id", "segment_id"]]
    tr = tr.astype(str)
    at = seg.index.get_indexer(tr["segment_id"])
    ok = at >= 0
    ok[ok] = renew[at[ok]]
    tr, at = tr[ok], at[ok]
    pyear = units.groupby("package_id")["plan_year"].min()
    year = tr["package_id"].map(pyear)
    return {"seg": at, "unit": np.full(len(at), -1, np.int64),
            "package": tr["package_id"].to_numpy(dtype=object),
            "year": pd.to_numeric(year, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
            "scope": np.ones(len(at), np.int8)}


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each string in sorted order (equal strings, equal ranks)."""
    codes, _ = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return codes


def _choose(rows: dict[str, np.ndarray], unit_ids: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment, the row it goes to — package scope before trunk, earliest plan year,
    smallest package id, smallest unit id, then input order — and its units in that package.

    Returns the chosen rows (ascending segment row) and the (segment position, unit row)
    pairs of the chosen package's units, sorted by position then unit id.
    """
    ranks = _ranks(np.r_[unit_ids, [""]])  # "" (trunk rows) sorts first, as in a string sort
    unit_rank = ranks[np.where(rows["unit"] >= 0, rows["unit"], len(unit_ids))]
    pkg_rank = _ranks(rows["package"])
    year = np.where(np.isnan(rows["year"]), 9999.0, rows["year"])
    order = np.lexsort((unit_rank, pkg_rank, year, rows["scope"], rows["seg"]))
    sorted_seg = rows["seg"][order]
    chosen = order[np.r_[True, sorted_seg[1:] != sorted_seg[:-1]]] if len(order) else order
    pos = np.searchsorted(rows["seg"][chosen], rows["seg"])
    near = np.flatnonzero((pkg_rank == pkg_rank[chosen][pos]) & (rows["unit"] >= 0))
    n_units = max(len(unit_ids), 1)
    pairs = np.unique(pos[near].astype(np.int64) * n_units + rows["unit"][near])
    p_pos, p_unit = pairs // n_units, pairs % n_units
    by_id = np.lexsort((ranks[p_unit], p_pos))
    return chosen, p_pos[by_id], p_unit[by_id]


def _plan_frame(rows: dict[str, np.ndarray], seg: gpd.GeoDataFrame, rk: pd.DataFrame,
                units: pd.DataFrame, unit_costs: Mapping[str, float] | None,
                funding_shares: Mapping[str, Mapping[str, float]] | None,
                crs: Any) -> gpd.GeoDataFrame:
    """The ``pipe_upgrades`` layer from the candidate rows (see :func:`_choose`)."""
    costs = {**DEFAULT_UNIT_COSTS, **(unit_costs or {})}
    shares = _shares(funding_shares)
    unit_ids = units["unit_id"].astype(str).to_numpy(dtype=object)
    chosen, p_pos, p_unit = _choose(rows, unit_ids)
    rows_s = rows["seg"][chosen]
    n = len(rows_s)
    ends = np.searchsorted(p_pos, np.arange(n + 1))
    names = unit_ids[p_unit].tolist()
    compound_ids = np.array([",".join(names[ends[i]:ends[i + 1]]) for i in range(n)],
                            dtype=object)
    households = np.bincount(p_pos, units["households"].to_numpy(float)[p_unit], minlength=n)
    s = seg.iloc[rows_s]
    r = rk.iloc[rows_s]
    length = shapely.length(s.geometry.to_numpy())
    util = s["utility"].astype(str)
    cost = length * util.map(costs).fillna(0).to_numpy(float)
    out = gpd.GeoDataFrame({
        "segment_id": s.index.to_numpy(), "utility": util.to_numpy(),
        "utility_zh": util.map(_LABELS_ZH).fillna(util).to_numpy(),
        "owner": (s["owner"].astype("string") if "owner" in s else pd.Series(pd.NA, index=s.index,
                                                                             dtype="string"))
        .where(lambda o: o.str.strip() != "").fillna(util.map(DEFAULT_OWNERS)).fillna("").to_numpy(),
        "package_id": rows["package"][chosen].astype(str),
        "plan_year": pd.array(rows["year"][chosen], dtype="Int64"),
        "scope": np.where(rows["scope"][chosen] == 1, "trunk", "package").astype(object),
        "compound_ids": compound_ids,
        "households": households.astype(int),
        "material": s["material"].to_numpy() if "material" in s else None,
        "install_year": s["install_year"].to_numpy() if "install_year" in s else None,
        "length_m": length.round(2),
        "risk_score": r["risk_score"].to_numpy(float),
        "hazard": r["hazard"].fillna(False).astype(bool).to_numpy(),
        "reason": r["reason"].fillna("").to_numpy(),
        "est_cost_yuan": cost.round(0),
    }, geometry=s.geometry.to_numpy(), crs=crs)
    for party in ("utility", "government", "residents"):
        share = util.map({k: v[party] for k, v in shares.items()}).fillna(0).to_numpy(float)
        out.insert(len(out.columns) - 1, f"funding_{party}_yuan", (cost * share).round(0))
    out = out.sort_values(["owner", "plan_year", "package_id", "utility", "segment_id"],
                          kind="stable", na_position="last").reset_index(drop=True)
    logger.info("pipe upgrades: %d segments, %.1f km, %.0f yuan", len(out),
                out["length_m"].sum() / 1000, out["est_cost_yuan"].sum())
    return out
