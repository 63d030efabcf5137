"""The survey stage (摸清底数): eligibility, renovation items with evidence, priority, cost.

:func:`assess_compounds` is the single entry point. For every input compound (小区) it
decides the eligibility tier from the build year and the exclusions of the policy profile,
finds the renovation items needed and says why (survey booleans, hazardous pipes nearby,
low-lying ground on the DEM, life-circle walking distances, missing lifts), scores a
priority out of 100 with its components, and estimates the cost from the catalogue's
units and unit costs. Every row is explainable: ``tier_reason``, ``exclusion_reason``,
``evidence`` (per item), ``not_surveyed`` (fields that could not be used) and ``notes``.

Items are computed for excluded compounds too (what they would need), but their
``priority`` is 0; task lists and summaries filter on ``eligible``.

Columns added (besides ``hazard_*``, ``walk_<kind>_m`` and ``gap_<kind>``):

- ``tier`` (priority / share / excluded), ``eligible``, ``tier_reason`` and
  ``exclusion_reason`` (Chinese / English), ``consent_ok`` (NA when not surveyed);
- ``items`` (item codes, catalogue order), ``items_basic|improve|upgrade`` (counts),
  ``quantities`` (``code=quantity`` in the item's unit), ``evidence`` (``code: why`` per
  item, joined by `` | ``; ``[数量估算 / quantity estimated]`` when a fallback was used);
- ``priority`` (0–100; 0 when excluded) = ``prio_age + prio_hazard + prio_gaps +
  prio_consent`` (weights in the profile);
- ``cost_yuan``, ``cost_basic|improve|upgrade``, ``fund_residents|utility|government``;
- ``hazard_pipes``, ``pipes_undetermined``, ``rel_elev_m``, ``low_share``,
  ``waterlogging_risk``;
- ``not_surveyed`` (fields and evidence sources that could not be used for the row:
  survey fields left blank, ``pipes``, ``terrain``, ``walk`` or ``walk_<kind>``) and
  ``notes`` (property management, owners' committee, maintenance fund, seismic, lift
  consent).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.io import GAP_FIELDS, VOCABULARIES, require_unique_ids
from yulin_gis.profile import CLASSES, Profile, load_profile
from yulin_gis.survey._evidence import (
    Missing,
    _nullable,
    _pipe_evidence,
    _terrain_evidence,
    _walk_evidence,
)
from yulin_gis.survey._hazards import UTILITIES
from yulin_gis.survey._measures import MEASURED_UNITS, measure

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io import Layers

__all__ = ["SURVEY_COLUMNS", "assess_compounds"]

logger = logging.getLogger(__name__)

_GAP_LABEL = {f.name: f.label_zh for f in GAP_FIELDS}
_KIND_ZH = {k: v[0] for k, v in VOCABULARIES["facility_kind"].items()}
_UTIL_ZH = {k: v[0] for k, v in VOCABULARIES["utility"].items()}

#: Columns :func:`assess_compounds` adds (``walk_<kind>_m``/``gap_<kind>`` and the
#: ``hazard_*`` columns follow the profile's kinds and the utility types).
SURVEY_COLUMNS: tuple[str, ...] = (
    "tier", "eligible", "tier_reason", "exclusion_reason", "consent_ok", "verify_reason", "items",
    "items_basic", "items_improve", "items_upgrade", "quantities", "evidence", "not_surveyed",
    "notes", "priority", "prio_age", "prio_hazard", "prio_gaps", "prio_consent", "cost_yuan",
    "cost_basic", "cost_improve", "cost_upgrade", "fund_residents", "fund_utility",
    "fund_government", "hazard_pipes", "pipes_undetermined", "rel_elev_m", "low_share",
    "waterlogging_risk",
)


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _flag(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(is_true, is_missing)`` of a boolean survey field (absent column: all missing).

    Boolean columns are used as they are; other values (是/否, 有/无 ... in unvalidated
    input) go through :func:`yulin_gis.io._values.parse_bool`, unparseable ones count as missing.
    """
    n = len(frame)
    if name not in frame.columns:
        return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    col = frame[name]
    missing = np.array(col.isna(), dtype=bool)
    if pd.api.types.is_bool_dtype(col.dtype):
        return np.array(col.fillna(False), dtype=bool), missing
    from yulin_gis.io import parse_bool

    parsed = [None if m else (v if isinstance(v, bool | np.bool_) else parse_bool(v)[0])
              for v, m in zip(col.to_numpy(dtype=object), missing, strict=True)]
    unknown = np.fromiter((p is None for p in parsed), dtype=bool, count=n)
    return np.fromiter((bool(p) for p in parsed), dtype=bool, count=n), unknown


def _join(parts: list[np.ndarray], sep: str, n: int) -> np.ndarray:
    """Row-wise join of string arrays, skipping empty strings."""
    out = np.full(n, "", dtype=object)
    for part in parts:
        p = np.asarray(part, dtype=object)
        has = p != ""
        if not has.any():
            continue
        prev = out
        both = has & (prev != "")
        out = np.where(has, p, prev).astype(object)
        if both.any():
            out[both] = (prev[both] + sep) + p[both]
    return out


# --- eligibility -------------------------------------------------------------------------


def _tiers(comp: pd.DataFrame, prof: Profile, year: int) -> pd.DataFrame:
    e, x = prof.eligibility, prof.exclusions
    n = len(comp)
    by = _num(comp, "built_year")
    tier = np.full(n, "excluded", dtype=object)
    reason = np.full(n, "", dtype=object)
    excl: list[np.ndarray] = []
    lo, hi = _year_span(comp, by)
    yr = np.array(["" if np.isnan(b) else str(int(b)) if a == b else f"{int(a)}—{int(b)}"
                   for a, b in zip(lo, hi, strict=True)], dtype=object)
    with np.errstate(invalid="ignore"):  # a decade counts when its whole range is inside
        prio = hi <= e.priority_built_until
        share = (lo >= e.share_built_from) & (hi <= e.share_built_until)
        later = lo > e.share_built_until
    straddle = np.isfinite(lo) & ~(prio | share | later)
    tier[prio] = "priority"
    reason[prio] = (f"{e.priority_built_until}年底前建成（" + yr[prio] + f"）/ built by "
                    f"{e.priority_built_until} (" + yr[prio] + ")")
    tier[share] = "share"
    cap = f"{e.share_cap:.0%}" + ("" if e.share_cap_confirmed else "，待确认")
    cap_en = f"{e.share_cap:.0%}" + ("" if e.share_cap_confirmed else ", unconfirmed")
    reason[share] = (f"{e.share_built_from}—{e.share_built_until}年建成（" + yr[share]
                     + f"），按年度任务比例纳入（{cap}）/ built {e.share_built_from}–"
                     f"{e.share_built_until} (" + yr[share] + f"), within the yearly share ({cap_en})")
    late_txt = np.where(later, f"{e.share_built_until}年后建成（" + yr + f"）/ built after "
                        f"{e.share_built_until} (" + yr + ")", "")
    if e.later_excluded:
        excl.append(late_txt)
    else:
        tier[later] = "share"
        reason[later] = late_txt[later] + "，按配置纳入 / eligible by profile rule"
    excl.append(np.where(np.isnan(by), "建成年份未调查 / built year not surveyed", ""))
    verify = (comp["verify_reason"].fillna("").astype(str).to_numpy(dtype=object)
              if "verify_reason" in comp.columns else np.full(n, "", dtype=object))
    verify = verify.copy()
    span_txt = ("建成年代" + yr + f"跨越政策分界（{e.priority_built_until}/{e.share_built_until}年），"
                "待核实具体年份 / built-year range " + yr + " straddles a policy boundary")
    verify[straddle] = np.where(verify[straddle] != "", verify[straddle] + "；", "") + span_txt[straddle]
    excl.append(np.where(verify != "", "待核实：" + verify, ""))
    uv, _ = _flag(comp, "urban_village")
    if x.urban_village:
        excl.append(np.where(uv, "城中村 / urban village", ""))
    sb, _ = _flag(comp, "self_built")
    if "housing_type" in comp.columns:
        sb |= comp["housing_type"].isin(list(x.self_built_housing_types)).to_numpy()
    if x.self_built:
        excl.append(np.where(sb, "自建房片区 / self-built housing area", ""))
    ren = _num(comp, "renovated_year")
    with np.errstate(invalid="ignore"):
        recent = (year - ren) < x.renovated_within_years
    ren_txt = np.array(["" if np.isnan(r) else str(int(r)) for r in ren], dtype=object)
    excl.append(np.where(recent, "已于" + ren_txt + f"年改造（{x.renovated_within_years}年内）/ "
                         "renovated in " + ren_txt, ""))
    consent = _num(comp, "consent_rate")
    with np.errstate(invalid="ignore"):
        low = consent < prof.consent.threshold - 1e-9
    if prof.consent.exclude_below_threshold:
        excl.append(np.where(low, f"居民同意率低于{prof.consent.threshold:.0%} / consent below "
                             f"{prof.consent.threshold:.0%}", ""))
    exclusion = _join(excl, "；", n)
    excluded = exclusion != ""
    tier[excluded] = "excluded"
    reason[excluded] = exclusion[excluded]
    consent_ok = _nullable(~low, np.isnan(consent))
    return pd.DataFrame({
        "tier": tier, "eligible": ~excluded, "tier_reason": reason,
        "exclusion_reason": exclusion, "consent_ok": consent_ok, "verify_reason": verify,
    }, index=comp.index)


def _year_span(comp: pd.DataFrame, by: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The built-year range per compound (a decade such as 1990年代 is 1990–1999)."""
    lo, hi = by.copy(), by.copy()
    if {"built_year_min", "built_year_max"} <= set(comp.columns):
        a, b = _num(comp, "built_year_min"), _num(comp, "built_year_max")
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(by)
        lo[ok], hi[ok] = a[ok], b[ok]
    return lo, hi


# --- evidence ----------------------------------------------------------------------------


def _sparse(mask: np.ndarray, make: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, text)`` with ``text`` filled by ``make(row positions)`` only where ``mask``."""
    text = np.full(len(mask), "", dtype=object)
    idx = np.flatnonzero(mask)
    if len(idx):
        text[idx] = make(idx)
    return mask, text


def _walk_texts(d: np.ndarray, head: str, tail: str, none: str) -> np.ndarray:
    """``head + f"{d:.0f}" + tail`` per distance (``none`` for NaN), built column-wise."""
    out = np.full(len(d), none, dtype=object)
    ok = np.isfinite(d) & (d >= 0)
    out[ok] = head + np.rint(d[ok]).astype(np.int64).astype(str).astype(object) + tail
    odd = np.flatnonzero(~ok & ~np.isnan(d))  # ±inf, negative: as the f-string writes them
    out[odd] = [f"{head}{x:.0f}{tail}" for x in d[odd].tolist()]
    return out


def _signals(comp: pd.DataFrame, ev: pd.DataFrame, prof: Profile) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Trigger key → (true mask, evidence text) for every survey field and evidence token."""
    sig: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, label in _GAP_LABEL.items():
        sig[name] = _sparse(_flag(comp, name)[0], lambda idx, lab=label: lab)
    for u in UTILITIES:
        txt = ev[f"hazard_evidence_{u}"].fillna("").to_numpy(dtype=object)
        sig[f"hazard:{u}"] = _sparse(ev[f"hazard_{u}"].to_numpy(dtype=bool), lambda idx, t=txt: t[idx])
    rel, low = ev["rel_elev_m"].to_numpy(dtype=float), ev["low_share"].to_numpy(dtype=float)
    sig["waterlogging"] = _sparse(
        ev["waterlogging_risk"].fillna(False).to_numpy(dtype=bool),
        lambda idx: [f"低洼易涝 low-lying: rel_elev {rel[i]:.1f} m, low_share {low[i]:.2f}" for i in idx])
    lc = prof.life_circle
    for k, thr in lc.thresholds.items():
        d = ev[f"walk_{k}_m"].to_numpy(dtype=float)
        zh = _KIND_ZH.get(k, k)
        none = f"{lc.cutoff_m:.0f} m内无{zh} / no {k} within {lc.cutoff_m:.0f} m"
        sig[f"gap:{k}"] = _sparse(
            ev[f"gap_{k}"].fillna(False).to_numpy(dtype=bool),
            lambda idx, d=d, zh=zh, k=k, thr=thr, none=none: _walk_texts(
                d[idx], f"{zh}步行 / walk to {k} ", f" m > {thr:.0f} m", none))
    floors = _num(comp, "floors")
    has_lift, lift_missing = _flag(comp, "has_lift")
    consent = _num(comp, "consent_rate")
    with np.errstate(invalid="ignore"):
        lift = (floors >= prof.survey.lift_min_floors) & ~has_lift & ~lift_missing
        # 有条件的楼栋: a lift needs 3/4 of the owners (Civil Code art. 278); a compound
        # surveyed below the threshold gets a note instead of the item (see _notes)
        lift &= ~(consent < prof.consent.lift_threshold - 1e-9)
    sig["lift"] = _sparse(lift, lambda idx: [f"{int(floors[i])}层无电梯 / {int(floors[i])} floors, no lift"
                                             for i in idx])
    pm, pm_missing = _flag(comp, "property_management")
    sig["no_property_management"] = _sparse(~pm & ~pm_missing,
                                            lambda idx: "无物业管理 / no property management")
    return sig


def _gather(n: int, rows: list[np.ndarray], texts: list[np.ndarray], sep: str) -> np.ndarray:
    """Join the texts of each row (in the order added) with ``sep``; ``""`` for none."""
    out = np.full(n, "", dtype=object)
    if not rows or not any(len(r) for r in rows):
        return out
    idx = np.concatenate(rows)
    txt = np.concatenate([np.asarray(t, dtype=object) for t in texts])
    order = np.argsort(idx, kind="stable")
    idx, txt = idx[order], txt[order].tolist()
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    for r, a, b in zip(idx[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        out[r] = sep.join(txt[a:b])
    return out


# --- quantities and cost -----------------------------------------------------------------


def _quantity(unit: str, comp: pd.DataFrame, ev: pd.DataFrame, prof: Profile,
              tokens: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Quantity per compound in ``unit`` and whether it was estimated from a fallback."""
    n = len(comp)
    q = prof.quantities
    hh = np.nan_to_num(_num(comp, "households"))
    if unit == "compound":
        return np.ones(n), np.zeros(n, dtype=bool)
    if unit == "household":
        return hh, np.zeros(n, dtype=bool)
    if unit in MEASURED_UNITS:  # roofs, facades, roads: not from floor area
        return measure(unit, comp, prof)
    if unit == "m2":
        area = _num(comp, "floor_area_m2")
        est = ~(area > 0)
        return np.where(est, hh * q.m2_per_household, area), est
    if unit == "lift":
        units, bld = _num(comp, "units"), _num(comp, "buildings")
        est = ~(units > 0)
        lifts = np.where(est, np.ceil(np.where(bld > 0, bld, 1.0) * q.lifts_per_building), units)
        return lifts, est
    length = np.zeros(n)
    for tok in tokens:
        if tok.startswith("hazard:"):
            u = tok.split(":", 1)[1]
            length += np.where(ev[f"hazard_{u}"].to_numpy(dtype=bool),
                               ev[f"hazard_len_{u}_m"].to_numpy(dtype=float), 0.0)
    est = ~(length > 0)
    return np.where(est, hh * q.pipe_m_per_household, length), est


def _items(comp: pd.DataFrame, ev: pd.DataFrame, prof: Profile) -> dict[str, Any]:
    n = len(comp)
    sig = _signals(comp, ev, prof)
    rows: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    evid: list[np.ndarray] = []
    qtys: list[np.ndarray] = []
    count = {c: np.zeros(n, dtype=int) for c in CLASSES}
    cost = {c: np.zeros(n) for c in CLASSES}
    fund = {k: np.zeros(n) for k in ("residents", "utility", "government")}
    weighted = np.zeros(n)
    for item in prof.items.values():
        keys = (*item.trigger.survey, *item.trigger.evidence)
        if not keys:
            continue
        needed = np.zeros(n, dtype=bool)
        for key in keys:
            needed |= sig[key][0]
        idx = np.flatnonzero(needed)
        if not len(idx):
            continue
        qty, est = _quantity(item.unit, comp, ev, prof, item.trigger.evidence)
        shared = _is_shared_facility(item.unit, item.item_class, keys) and "community_id" in comp
        if shared:  # one facility serves the community: split its cost by households
            qty = np.where(needed, _community_share(needed, comp), qty)
        c = np.where(needed, qty * item.unit_cost, 0.0)
        cost[item.item_class] += c
        for k in fund:
            fund[k] += c * getattr(item.funding, k)
        count[item.item_class] += needed
        weighted += needed * prof.priority.class_weights[item.item_class]
        why = _join([sig[key][1][idx] for key in keys], "; ", len(idx))
        mark = est[idx]
        why[mark] = why[mark] + " [数量估算 / quantity estimated]"
        if shared:
            why = why + " [社区内按户分摊一处设施 / one facility per community, shared by households]"
        rows.append(idx)
        codes.append(np.full(len(idx), item.code, dtype=object))
        evid.append(f"{item.code}: " + why)
        qtys.append(np.array([f"{item.code}={q:.12g}" for q in qty[idx].tolist()], dtype=object))
    return {
        "items": _gather(n, rows, codes, ","), "evidence": _gather(n, rows, evid, " | "),
        "quantities": _gather(n, rows, qtys, ","), "count": count, "cost": cost, "fund": fund,
        "weighted": weighted,
    }


def _is_shared_facility(unit: str, item_class: str, keys: tuple[str, ...]) -> bool:
    """A 提升类 service facility (triggered by a life-circle gap) built once per community."""
    return unit == "compound" and item_class == "upgrade" and any(
        k.startswith("gap:") for k in keys)


def _community_share(needed: np.ndarray, comp: pd.DataFrame) -> np.ndarray:
    """Each needing compound's share of one facility per community, by households.

    Compounds without a community (or households) count as a community of their own.
    """
    community = comp["community_id"].astype(object).where(comp["community_id"].notna(), None)
    hh = np.nan_to_num(_num(comp, "households"))
    key = np.array([c if c is not None else f"__{i}" for i, c in enumerate(community)],
                   dtype=object)
    frame = pd.DataFrame({"key": key, "hh": np.where(needed, np.maximum(hh, 0.0), 0.0),
                          "n": needed.astype(float)})
    totals = frame.groupby("key")[["hh", "n"]].transform("sum")
    by_hh = np.divide(frame["hh"], totals["hh"], out=np.zeros(len(frame)),
                      where=totals["hh"].to_numpy() > 0)
    by_count = np.divide(frame["n"], totals["n"], out=np.zeros(len(frame)),
                         where=totals["n"].to_numpy() > 0)
    return np.where(totals["hh"].to_numpy() > 0, by_hh, by_count)


# --- priority ----------------------------------------------------------------------------


def _priority(comp: pd.DataFrame, ev: pd.DataFrame, prof: Profile, weighted: np.ndarray,
              eligible: np.ndarray) -> pd.DataFrame:
    p, e = prof.priority, prof.eligibility
    by = _num(comp, "built_year")
    span = max(e.share_built_until + 1 - p.age_full_year, 1)
    age = np.nan_to_num(np.clip((e.share_built_until + 1 - by) / span, 0.0, 1.0))
    signals = sum(ev[f"hazard_{u}"].to_numpy(dtype=int) for u in UTILITIES)
    signals = signals + ev["waterlogging_risk"].fillna(False).to_numpy(dtype=int)
    for name in p.hazard_survey_fields:
        if name == "seismic_not_ok":
            ok, missing = _flag(comp, "seismic_ok")
            signals = signals + (~ok & ~missing)
        else:
            signals = signals + _flag(comp, name)[0]
    hazard = np.minimum(signals / p.hazard_full_at, 1.0)
    gaps = np.minimum(weighted / p.gaps_full_at, 1.0)
    consent = np.nan_to_num(np.clip(_num(comp, "consent_rate"), 0.0, 1.0))
    w = p.weights
    out = pd.DataFrame({
        "prio_age": (w["age"] * age).round(2), "prio_hazard": (w["hazard"] * hazard).round(2),
        "prio_gaps": (w["gaps"] * gaps).round(2), "prio_consent": (w["consent"] * consent).round(2),
    }, index=comp.index)
    total = out.sum(axis=1).to_numpy()
    out.insert(0, "priority", np.where(eligible, np.round(total, 2), 0.0))
    return out


def _not_surveyed(comp: pd.DataFrame, prof: Profile, missing: Missing) -> np.ndarray:
    n = len(comp)
    fields = sorted({f for it in prof.items.values() for f in it.trigger.survey}
                    | {"has_lift", "floors", "property_management", "consent_rate", "built_year"})
    rows: list[np.ndarray] = []
    names: list[np.ndarray] = []
    for name in fields:
        if name in _GAP_LABEL or name == "property_management":
            unknown = _flag(comp, name)[1]
        else:
            unknown = comp[name].isna().to_numpy() if name in comp.columns else np.ones(n, dtype=bool)
        rows.append(np.flatnonzero(unknown))
        names.append(np.full(len(rows[-1]), name, dtype=object))
    for source, mask in missing.items():
        rows.append(np.flatnonzero(mask))
        names.append(np.full(len(rows[-1]), source, dtype=object))
    return _gather(n, rows, names, ", ")


def _notes(comp: pd.DataFrame, prof: Profile, items: np.ndarray) -> np.ndarray:
    """Management and consent notes that are not renovation items."""
    n = len(comp)

    def absent(name: str) -> np.ndarray:
        val, missing = _flag(comp, name)
        return ~val & ~missing

    floors = _num(comp, "floors")
    has_lift, lift_missing = _flag(comp, "has_lift")
    consent = _num(comp, "consent_rate")
    thr = prof.consent.lift_threshold
    with np.errstate(invalid="ignore"):
        lift_low = ((floors >= prof.survey.lift_min_floors) & ~has_lift & ~lift_missing
                    & (consent < thr - 1e-9))
    return _join([
        np.where(absent("property_management"), "无物业管理：改造后确定长效管理模式 / no property "
                 "management: agree long-term management after renovation", ""),
        np.where(absent("owners_committee"), "无业主委员会：推进小区自治组织建设 / no owners' committee",
                 ""),
        np.where(absent("maintenance_fund"), "无维修资金 / no maintenance fund", ""),
        np.where(absent("seismic_ok"), "抗震不达标（目录无对应改造内容）/ below seismic standard "
                 "(no catalogue item)", ""),
        np.where(lift_low, f"加装电梯需{thr:.0%}同意，同意率不足，暂不纳入 / lift needs {thr:.0%} "
                 "consent: not included", ""),
    ], "；", n)


_ORDER = SURVEY_COLUMNS


def _result_columns(tiers: pd.DataFrame, res: dict[str, Any], prio: pd.DataFrame,
                    ev: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The survey's new columns as one frame (no geometry)."""
    cols: dict[str, Any] = {c: tiers[c].to_numpy() if c != "consent_ok" else tiers[c].array
                            for c in tiers.columns}
    cols["items"] = res["items"]
    cols.update({f"items_{c}": res["count"][c] for c in CLASSES})
    cols["quantities"] = res["quantities"]
    cols["evidence"] = res["evidence"]
    cols.update({c: prio[c].to_numpy() for c in prio.columns})
    cols["cost_yuan"] = np.round(sum(res["cost"].values()), 2)
    cols.update({f"cost_{c}": np.round(res["cost"][c], 2) for c in CLASSES})
    cols.update({f"fund_{k}": np.round(v, 2) for k, v in res["fund"].items()})
    cols.update({c: ev[c].array for c in ev.columns})
    return pd.DataFrame(cols, index=index)


def assess_compounds(
    layers: Layers, *,
    profile: Profile | None = None,
    walk: pd.DataFrame | None = None,
    terrain: pd.DataFrame | None = None,
    pipes: pd.DataFrame | None = None,
    as_of_year: int | None = None,
) -> gpd.GeoDataFrame:
    """Survey every compound: tier, items with evidence, priority and cost.

    Parameters
    ----------
    layers
        Validated, projected input layers; utilities, roads + facilities and the DEM are
        used when present.
    profile
        Policy profile; default Yulin's (:func:`~yulin_gis.profile.load_profile`).
    walk
        Precomputed :func:`~yulin_gis.survey._accessibility.nearest_facility_distances` output
        (indexed by ``compound_id``); otherwise computed from roads and facilities.
    terrain
        Precomputed :func:`~yulin_gis.survey._terrain.compound_terrain` output; otherwise
        computed from ``layers.dem_path``.
    pipes
        Precomputed :func:`~yulin_gis.survey._hazards.compound_pipe_hazards` output (e.g. from
        the dask engine); otherwise computed from ``layers.utilities``.
    as_of_year
        Year for pipe ages and "renovated within N years"; default
        ``profile.survey.as_of_year``.

    Returns
    -------
    geopandas.GeoDataFrame
        Every input compound, in input order, with its columns plus :data:`SURVEY_COLUMNS`,
        the ``hazard_<utility>`` / ``hazard_len_<utility>_m`` / ``hazard_evidence_<utility>``
        columns and ``walk_<kind>_m`` / ``gap_<kind>`` for the profile's facility kinds.
        Layers that are absent leave their columns NaN/NA and are listed in
        ``not_surveyed`` (``pipes``, ``terrain``, ``walk``).
    """
    prof = profile if profile is not None else load_profile()
    year = prof.survey.as_of_year if as_of_year is None else int(as_of_year)
    comp = layers.compounds
    require_unique_ids(comp)
    pipe_ev, pipe_missing = _pipe_evidence(layers, comp, prof, year, pipes)
    terr_ev, terr_missing = _terrain_evidence(layers, comp, prof, terrain)
    walk_ev, walk_missing = _walk_evidence(layers, comp, prof, walk)
    ev = pd.concat([pipe_ev.reset_index(drop=True), terr_ev.reset_index(drop=True),
                    walk_ev.reset_index(drop=True)], axis=1)
    ev.index = comp.index
    tiers = _tiers(comp, prof, year)
    res = _items(comp, ev, prof)
    prio = _priority(comp, ev, prof, res["weighted"], tiers["eligible"].to_numpy())
    new = _result_columns(tiers, res, prio, ev, comp.index)
    new["not_surveyed"] = _not_surveyed(comp, prof, {**pipe_missing, **terr_missing, **walk_missing})
    new["notes"] = _notes(comp, prof, res["items"])
    new = new[[c for c in _ORDER if c in new.columns] + [c for c in new.columns if c not in _ORDER]]
    import geopandas as gpd

    kept = comp.drop(columns=[c for c in new.columns if c in comp.columns])  # a re-run replaces them
    out = gpd.GeoDataFrame(pd.concat([kept, new], axis=1), geometry=comp.geometry.name, crs=comp.crs)
    logger.info("survey: %d compounds, %d eligible (%d priority, %d share), %.0f yuan",
                len(out), int(out["eligible"].sum()), int((out["tier"] == "priority").sum()),
                int((out["tier"] == "share").sum()), float(out.loc[out["eligible"], "cost_yuan"].sum()))
    return out
