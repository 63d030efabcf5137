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


def _hazards(df: pd.DataFrame, age: np.ndarray, rules: Iterable[Any]
             ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Hazard flag per row, which rule holds per (rule, row) and each rule's reason text; a
    rule holds when all its given conditions hold."""
    util = df["utility"].astype(str).to_numpy()
    mat = df["material"].astype(str).to_numpy() if "material" in df else np.full(len(df), "")
    cond = df["condition"].astype(str).to_numpy() if "condition" in df else np.full(len(df), "")
    hits: list[np.ndarray] = []
    texts: list[str] = []
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
        hits.append(hit)
        texts.append(str(_rule_get(rule, "reason_zh", "code")))
    held = np.array(hits, bool).reshape(len(hits), len(df))
    return np.asarray(held.any(axis=0), bool), held, texts


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
    rule_input = pd.DataFrame({"utility": utilities["utility"], "material": mat})
    if "condition" in utilities:
        rule_input["condition"] = utilities["condition"]
    hazard, held, rule_texts = _hazards(rule_input, age, p["hazard_rules"])
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
    texts = _reason_texts((held, rule_texts), age, life, l_cond, cond.to_numpy(dtype=object),
                          c_hh, hh.to_numpy(), road.to_numpy(dtype=object))
    return pd.DataFrame({
        "segment_id": sid, "utility": util, "age_years": age, "design_life_years": life,
        "hazard": hazard, "likelihood": likelihood.round(4), "consequence": consequence.round(4),
        "risk_score": score.round(1), "reason": texts,
    })


def _reason_texts(hazards: tuple[np.ndarray, list[str]], age: np.ndarray, life: np.ndarray,
                  l_cond: np.ndarray, cond: np.ndarray, c_hh: np.ndarray, hh: np.ndarray,
                  road: np.ndarray) -> np.ndarray:
    """The reason (Chinese) of each segment's score: hazards held, age, condition,
    households, road — each part written once per distinct value, then joined once per
    distinct combination of parts."""
    held, rule_texts = hazards
    n = len(age)
    if not n:
        return np.empty(0, dtype=object)
    parts: list[tuple[np.ndarray, list[str]]] = []
    if rule_texts:  # the texts of the rules held, in rule order
        first, inv = _distinct([np.asarray(h, np.int64) for h in held])
        texts = ["；".join(t for t, on in zip(rule_texts, held[:, i], strict=True) if on)
                 for i in first.tolist()]
        parts.append((np.where(held.any(axis=0), inv, -1), texts))
    age_code, ages = pd.factorize(np.where(np.isnan(age), -1.0, age))  # ages ≥ 0; -1: unknown
    life_code, lives = pd.factorize(life)
    first, inv = _distinct([age_code, life_code])
    parts.append((inv, [_age_text(float(ages[age_code[i]]), float(lives[life_code[i]]))
                        for i in first.tolist()]))
    parts.append(_part(l_cond >= 0.6, cond, lambda cd: f"管况{_CONDITION_ZH.get(str(cd), cd)}"))
    parts.append(_part(c_hh > 0, hh, lambda h: f"服务约{h:.0f}户"))
    named = np.array([isinstance(r, str) for r in road], bool)
    parts.append(_part(named, road, lambda rd: f"位于{_ROAD_ZH.get(rd, rd)}"))
    first, inv = _distinct([c for c, _ in parts])
    joined = ["；".join(texts[c[i]] for c, texts in parts if c[i] >= 0) for i in first.tolist()]
    return np.array(joined, dtype=object)[inv]


def _distinct(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct combinations of integer code columns (each ≥ -1): the first row of each and
    each row's combination number."""
    key = np.zeros(len(codes[0]), np.int64)
    for c in codes:
        key = key * (int(c.max()) + 2) + (c + 1)
        key = pd.factorize(key)[0].astype(np.int64)  # stays small whatever the radix
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return first, inv.ravel()


def _age_text(age: float, life: float) -> str:
    if age < 0:
        return "敷设年份不详"
    if age >= life:
        return f"管龄{age:.0f}年，超过设计年限{life:.0f}年"
    return f"管龄{age:.0f}年/设计年限{life:.0f}年"


def _part(mask: np.ndarray, values: np.ndarray, text: Any) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 where ``mask`` is False) and ``text(value)`` per distinct ``str(value)``
    (the texts depend on nothing else), written from the value itself."""
    code = np.full(len(mask), -1, np.int64)
    if not mask.any():
        return code, []
    picked = values[mask]
    codes, _ = pd.factorize(np.array([str(v) for v in picked], dtype=object))
    code[mask] = codes
    _, first = np.unique(codes, return_index=True)
    return code, [text(picked[i]) for i in first.tolist()]
