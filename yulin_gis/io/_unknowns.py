"""Unknown values of compounds: estimate what can be estimated, mark the rest 待核实.

* **Households unknown** (blank, a placeholder, unreadable): estimated from the floor
  area (``quantities.m2_per_household``), else stairwell units
  (``input.households_per_unit``), else buildings (``input.households_per_building``),
  all rules of thumb labelled 默认值（待确认）; the row gets ``households_estimated`` and a
  note 估算. With none of these the compound is 待核实.
* **Built year unknown**: the compound is 待核实 (its eligibility cannot be decided).

The reasons collect in ``verify_reason`` (待核实原因); the survey gives such compounds
status ``待核实`` and never plans them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.io._positions import append_reason

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import Profile

__all__ = ["VERIFY_STATUS", "fill_unknowns"]

VERIFY_STATUS = "待核实"
"""The ``status`` of a compound whose data must be checked before it can be planned."""


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def estimate_households(frame: pd.DataFrame, profile: Profile
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households estimated per row: ``(value, estimated mask, basis text)``."""
    rules, m2 = profile.inputs, profile.quantities.m2_per_household
    hh = _column(frame, "households")
    basis = np.full(len(frame), "", dtype=object)
    est = np.full(len(frame), np.nan)
    for name, per, text in (
        ("floor_area_m2", 1.0 / m2 if m2 > 0 else np.nan,
         f"建筑面积÷{m2:g}平方米/户（默认值（待确认））"),
        ("units", rules.households_per_unit,
         f"单元数×{rules.households_per_unit:g}户（默认值（待确认））"),
        ("buildings", rules.households_per_building,
         f"楼栋数×{rules.households_per_building:g}户（默认值（待确认））"),
    ):
        value = _column(frame, name) * per
        use = np.isnan(est) & np.isfinite(value) & (value > 0)
        est[use] = np.maximum(1.0, np.round(value[use]))
        basis[use] = text
    estimated = np.isnan(hh) & np.isfinite(est)
    return np.where(estimated, est, hh), estimated, basis


def fill_unknowns(out: gpd.GeoDataFrame, labels: list[str], col: Any, profile: Profile,
                  reasons: np.ndarray) -> gpd.GeoDataFrame:
    """Add ``verify_reason`` and ``households_estimated`` to validated compounds."""
    out = out.copy()
    hh, estimated, basis = estimate_households(out, profile)
    for i in np.flatnonzero(estimated):
        col.add("warning", "households-estimated", f"户数未知，估算为 {int(hh[i])} 户（{basis[i]}）"
                f" / households unknown: estimated {int(hh[i])}", labels[i], "households")
    out["households"] = pd.array([None if np.isnan(v) else int(v) for v in hh], dtype="Int64")
    out["households_estimated"] = estimated
    unknown_hh = np.isnan(hh)
    append_reason(reasons, unknown_hh, "户数不详且无法估算 / households unknown")
    year = _column(out, "built_year")
    append_reason(reasons, np.isnan(year), "建成年份不详 / built year unknown")
    year_text = "建成年份不详，列为待核实 / built year unknown: to verify, never planned"
    hh_text = "户数不详且无法估算，列为待核实 / households unknown and not estimable: to verify"
    for mask, fld, text in ((np.isnan(year), "built_year", year_text),
                            (unknown_hh, "households", hh_text)):
        for i in np.flatnonzero(mask):
            col.add("warning", "to-verify", text, labels[i], fld)
    out["verify_reason"] = pd.array(list(reasons), dtype="string")
    return out
