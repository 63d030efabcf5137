"""Renewal risk score (更新改造风险) of utility pipe segments (管线).

:func:`renewal_risk` gives a 0–100 score per segment with its reason in Chinese
(re-exported by :mod:`yulin_gis.utilities._upgrades`).

Renewal risk (all figures in :data:`DEFAULT_RISK_PARAMS`, overridable by the policy profile
through ``params``):

* likelihood = 1 − (1 − age)(1 − hazard)(1 − condition) ("noisy OR"), where
  age = min(1, age / design life of the material), design lives in
  :data:`DESIGN_LIFE_YEARS` (per material; per utility when the material is unknown;
  typical service lives from manufacturers' and utilities' practice — unconfirmed, editable);
  an unknown install year counts as ``unknown_age_likelihood``; hazard =
  ``hazard_likelihood`` when a hazard rule of DOMAIN.md §2 (国办发〔2022〕22号) holds:
  grey cast-iron gas; steel/PE gas over 20 years; cement, asbestos-cement or unlined
  cast-iron water; water over 30 years; combined sewers; plain-concrete drains; condition
  from ``condition_likelihood`` (good 0, fair 0.2, poor 0.6, bad 0.9);
* consequence = 0.5·households + 0.3·road + 0.2·utility, with households =
  min(1, households served / ``households_full``), road class weights (arterial 1.0,
  secondary 0.7, branch 0.4, internal 0.2) and utility weights (gas 1.0 … cable TV 0.3);
* score = 100 · likelihood · (0.4 + 0.6 · consequence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.errors import ProfileError
from yulin_gis.utilities._common import _need

__all__ = [
    "DEFAULT_RISK_PARAMS",
    "DESIGN_LIFE_YEARS",
    "renewal_risk",
]

DESIGN_LIFE_YEARS: dict[str, float] = {
    "grey_cast_iron": 40, "unlined_cast_iron": 40, "ductile_iron": 50, "steel": 30,
    "galvanized_steel": 20, "pe": 50, "pvc": 40, "asbestos_cement": 30, "cement": 30,
    "concrete": 50, "reinforced_concrete": 60, "clay": 50, "copper": 30, "fibre": 25,
    "aluminium": 30, "cable": 30, "steel_plastic": 30, "ppr": 40, "grp": 50, "brick": 50,
    "other": 40,
}
"""Design life in years per pipe material (typical values, unconfirmed; editable)."""

_LIFE_BY_UTILITY: dict[str, float] = {
    "water_supply": 40, "gas": 30, "storm": 50, "sewer": 50, "combined_sewer": 50,
    "power": 30, "telecom": 20, "cable_tv": 20,
}

_HAZARD_RULES: list[dict[str, Any]] = [
    {"code": "gas_grey_iron", "utility": ["gas"], "material": ["grey_cast_iron", "unlined_cast_iron"],
     "reason_zh": "灰口铸铁燃气管"},
    {"code": "gas_old_steel_pe", "utility": ["gas"], "material": ["steel", "galvanized_steel", "pe"],
     "older_than_years": 20, "reason_zh": "钢质/PE燃气管超过20年"},
    {"code": "gas_bad_condition", "utility": ["gas"], "condition": ["poor", "bad"],
     "reason_zh": "燃气管管况差"},
    {"code": "water_bad_material", "utility": ["water_supply"],
     "material": ["asbestos_cement", "cement", "unlined_cast_iron", "grey_cast_iron"],
     "reason_zh": "水泥/石棉水泥/无内衬铸铁供水管"},
    {"code": "water_old", "utility": ["water_supply"], "older_than_years": 30,
     "reason_zh": "供水管超过30年"},
    {"code": "combined_sewer", "utility": ["combined_sewer"], "always": True, "reason_zh": "雨污合流管"},
    {"code": "drain_plain_concrete", "utility": ["storm", "sewer"],
     "material": ["concrete", "cement", "clay"], "reason_zh": "平口/素混凝土、水泥或陶土排水管"},
    {"code": "bad_condition", "utility": ["storm", "sewer", "water_supply", "power", "telecom",
                                          "cable_tv"],
     "condition": ["bad"], "reason_zh": "管况严重破损"},
]

DEFAULT_RISK_PARAMS: dict[str, Any] = {
    "design_life_years": DESIGN_LIFE_YEARS,
    "design_life_by_utility": _LIFE_BY_UTILITY,
    "hazard_rules": _HAZARD_RULES,  # same shape as the profile's [[hazards.rules]]
    "hazard_likelihood": 0.9,
    "unknown_age_likelihood": 0.5,
    "condition_likelihood": {"good": 0.0, "fair": 0.2, "poor": 0.6, "bad": 0.9},
    "unknown_condition_likelihood": 0.2,
    "households_full": 500.0,
    "road_class_weight": {"arterial": 1.0, "secondary": 0.7, "branch": 0.4, "internal": 0.2},
    "unknown_road_weight": 0.3,
    "utility_weight": {"gas": 1.0, "water_supply": 0.8, "combined_sewer": 0.8, "sewer": 0.7,
                       "power": 0.7, "storm": 0.6, "telecom": 0.3, "cable_tv": 0.3},
    "consequence_weights": {"households": 0.5, "road": 0.3, "utility": 0.2},
    "consequence_floor": 0.4,
}
"""Renewal-risk parameters; ``renewal_risk(params=...)`` overrides any key (dicts merged)."""

_ROAD_ZH = {"arterial": "主干路", "secondary": "次干路", "branch": "支路", "internal": "小区内部道路"}
_CONDITION_ZH = {"good": "良好", "fair": "一般", "poor": "较差", "bad": "严重破损"}


def _merged_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_RISK_PARAMS.items()}
    for key, val in (params or {}).items():
        if key not in merged:
            raise ProfileError(f"unknown renewal-risk parameter {key!r}")
        merged[key] = {**merged[key], **val} if isinstance(merged[key], dict) else val
    return merged


def _rule_get(rule: Any, *names: str) -> Any:
    for name in names:
        val = rule.get(name) if isinstance(rule, Mapping) else getattr(rule, name, None)
        if val not in (None, (), []):
            return val
    return None


def _hazards(df: pd.DataFrame, age: np.ndarray, rules: Iterable[Any]) -> tuple[np.ndarray, list[list[str]]]:
    """Hazard flag and reasons per row; a rule holds when all its given conditions hold."""
    util = df["utility"].astype(str).to_numpy()
    mat = df["material"].astype(str).to_numpy() if "material" in df else np.full(len(df), "")
    cond = df["condition"].astype(str).to_numpy() if "condition" in df else np.full(len(df), "")
    reasons: list[list[str]] = [[] for _ in range(len(df))]
    flag = np.zeros(len(df), bool)
    for rule in rules:
        hit = np.isin(util, list(_rule_get(rule, "utility", "utilities") or []))
        mats = _rule_get(rule, "material", "materials")
        if mats:
            hit &= np.isin(mat, list(mats))
        conds = _rule_get(rule, "condition", "conditions")
        if conds:
            hit &= np.isin(cond, list(conds))
        older = _rule_get(rule, "older_than_years")
        if older is not None:
            hit &= np.nan_to_num(age, nan=-1) > float(older)
        if not (mats or conds or older is not None or _rule_get(rule, "always")):
            continue
        flag |= hit
        text = str(_rule_get(rule, "reason_zh", "code"))
        for i in np.flatnonzero(hit):
            reasons[i].append(text)
    return flag, reasons


def renewal_risk(utilities: pd.DataFrame, *, as_of_year: int,
                 households_served: pd.Series | Mapping[str, float] | None = None,
                 road_classes: pd.Series | Mapping[str, str] | None = None,
                 params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Renewal risk score (更新改造风险) per segment, 0–100, with the reason in Chinese.

    Parameters
    ----------
    utilities
        Segments: ``segment_id``, ``utility``; optional ``material``, ``install_year``,
        ``condition``.
    as_of_year
        Year ages are computed for.
    households_served
        segment_id → households near it (:func:`~yulin_gis.utilities._upgrades.households_near_segments`); 0 if absent.
    road_classes
        segment_id → road class (:func:`~yulin_gis.utilities._upgrades.segment_road_classes`); unknown if absent.
    params
        Overrides of :data:`DEFAULT_RISK_PARAMS` (the policy profile passes its hazard rules
        as ``hazard_rules``; dicts are merged key by key).

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``utility``, ``age_years``, ``design_life_years``, ``hazard``,
        ``likelihood``, ``consequence``, ``risk_score`` (0–100), ``reason``; input order.
    """
    _need(utilities, ["segment_id", "utility"], "utilities")
    p = _merged_params(params)
    sid = utilities["segment_id"].astype(str).to_numpy()
    util = utilities["utility"].astype(str).to_numpy()
    mat = utilities["material"].astype("string").fillna("") if "material" in utilities else pd.Series("", index=utilities.index)
    year = (pd.to_numeric(utilities["install_year"], errors="coerce").to_numpy(float)
            if "install_year" in utilities else np.full(len(sid), np.nan))
    age = np.maximum(as_of_year - year, 0)
    life = mat.map(p["design_life_years"]).to_numpy(float, na_value=np.nan)
    life = np.where(np.isnan(life), pd.Series(util).map(p["design_life_by_utility"]).to_numpy(float, na_value=40.0), life)
    l_age = np.where(np.isnan(age), p["unknown_age_likelihood"], np.clip(age / life, 0, 1))
    hazard, reasons = _hazards(utilities.assign(material=mat), age, p["hazard_rules"])
    cond = (utilities["condition"].astype("string") if "condition" in utilities
            else pd.Series(pd.NA, index=utilities.index, dtype="string"))
    l_cond = cond.map(p["condition_likelihood"]).to_numpy(float, na_value=np.nan)
    l_cond = np.nan_to_num(l_cond, nan=p["unknown_condition_likelihood"])
    l_haz = np.where(hazard, p["hazard_likelihood"], 0.0)
    likelihood = 1 - (1 - l_age) * (1 - l_haz) * (1 - l_cond)
    hh = pd.Series(sid).map(pd.Series(households_served) if households_served is not None else {})
    c_hh = np.clip(hh.to_numpy(float, na_value=0.0) / p["households_full"], 0, 1)
    road = pd.Series(sid).map(pd.Series(road_classes) if road_classes is not None else {})
    c_road = road.map(p["road_class_weight"]).to_numpy(float, na_value=np.nan)
    c_road = np.nan_to_num(c_road, nan=p["unknown_road_weight"])
    c_util = pd.Series(util).map(p["utility_weight"]).to_numpy(float, na_value=0.5)
    w = p["consequence_weights"]
    consequence = (w["households"] * c_hh + w["road"] * c_road + w["utility"] * c_util) / sum(w.values())
    floor = p["consequence_floor"]
    score = 100 * likelihood * (floor + (1 - floor) * consequence)
    texts = []
    for i in range(len(sid)):
        parts = list(reasons[i])
        if np.isnan(age[i]):
            parts.append("敷设年份不详")
        elif age[i] >= life[i]:
            parts.append(f"管龄{age[i]:.0f}年，超过设计年限{life[i]:.0f}年")
        else:
            parts.append(f"管龄{age[i]:.0f}年/设计年限{life[i]:.0f}年")
        if l_cond[i] >= 0.6:
            parts.append(f"管况{_CONDITION_ZH.get(str(cond.iloc[i]), cond.iloc[i])}")
        if c_hh[i] > 0:
            parts.append(f"服务约{hh.iloc[i]:.0f}户")
        if isinstance(road.iloc[i], str):
            parts.append(f"位于{_ROAD_ZH.get(road.iloc[i], road.iloc[i])}")
        texts.append("；".join(parts))
    return pd.DataFrame({
        "segment_id": sid, "utility": util, "age_years": age, "design_life_years": life,
        "hazard": hazard, "likelihood": likelihood.round(4), "consequence": consequence.round(4),
        "risk_score": score.round(1), "reason": texts,
    })
