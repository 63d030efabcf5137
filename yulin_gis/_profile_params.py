"""The profile's programme settings and the 参数与口径 table (every value and its source).

The sections read here hold what used to be constants in code: the programme window
(``[programme]``: the rules' effective date, the deadline, the order optional items are
funded in), the split of the government share by source (``[funding_sources]``),
package size bounds (``[packaging]``), the schedule's work durations (``[phases]``), the
county assessment (``[assessment]``), the owners, unit costs and funding shares of
pipelines (``[utilities]``) and a ``[sources]`` table that names, per key path, the seed
clause a value comes from or ``默认值（待确认）``.

:func:`build_extras` validates them with the profile's collecting
:class:`~yulin_gis._profile_check.Checker` (every bad key is named);
:func:`parameters_table` flattens a profile's raw TOML into rows of
``(参数, 取值, 单位, 来源)`` for the assumptions sheet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from yulin_gis._profile_check import Checker

__all__ = [
    "ASSUMED",
    "FUNDING_SOURCES",
    "FUNDING_SOURCE_LABELS_ZH",
    "Assessment",
    "Extras",
    "Packaging",
    "Programme",
    "UtilitySettings",
    "build_extras",
    "parameters_table",
]

ASSUMED = "默认值（待确认）"
"""Source label of a value no document gives."""

#: Government funding sources (资金来源), in table order.
FUNDING_SOURCES: tuple[str, ...] = ("central", "region", "city_county", "special_bonds", "social")
FUNDING_SOURCE_LABELS_ZH: dict[str, str] = {
    "central": "中央补助资金", "region": "自治区资金", "city_county": "市县财政资金",
    "special_bonds": "地方政府专项债券", "social": "社会资本/金融",
}

_PHASES = ("design", "utility", "surface", "building", "improve", "acceptance", "design_lead")
_UTILS = ("water_supply", "storm", "sewer", "combined_sewer", "gas", "power", "telecom",
          "cable_tv")


@dataclass(frozen=True)
class Programme:
    """The programme window (seed 落款 2022-08-03, §二 by 2025) and the optional order."""

    effective_date: dt.date
    deadline: dt.date
    optional_order: tuple[str, ...]
    pacing_slack: float


@dataclass(frozen=True)
class Packaging:
    """Package size bounds (households) and the neighbour gap (m)."""

    min_households: float
    max_households: float
    gap_m: float
    barrier_classes: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """County assessment (seed §八(三)): score weights and grade cut-offs."""

    weights: dict[str, float]
    good_score: float
    poor_score: float


@dataclass(frozen=True)
class UtilitySettings:
    """Pipeline owners (owner code per utility), unit costs (yuan/m) and funding shares."""

    owners: dict[str, str]
    unit_costs: dict[str, float]
    funding: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Measures:
    """How roof, facade and road quantities are measured (not from floor area)."""

    storey_height_m: float
    building_coverage: float
    building_aspect: float
    road_share_of_site: float


@dataclass(frozen=True)
class Extras:
    """Everything :func:`build_extras` reads."""

    programme: Programme
    funding_sources: dict[str, float]
    funding_sources_confirmed: bool
    packaging: Packaging
    phases_days: dict[str, float]
    reference_households: float
    assessment: Assessment
    utilities: UtilitySettings
    sources: dict[str, str]
    measures: Measures


EXTRA_SECTIONS = ("programme", "funding_sources", "packaging", "phases", "assessment",
                  "utilities", "sources", "measures")


def _date(chk: Checker, raw: Any, path: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        chk.add(path, f"expected a date YYYY-MM-DD, got {raw!r}")
        return None


def _programme(chk: Checker, raw: Any, classes: tuple[str, ...], items: set[str]) -> Programme:
    p = chk.table(raw, "programme", {"effective_date": "str", "deadline": "str",
                                     "optional_order": "list[str]", "pacing_slack": "float"})
    eff = _date(chk, p["effective_date"], "programme.effective_date") if "effective_date" in p else None
    end = _date(chk, p["deadline"], "programme.deadline") if "deadline" in p else None
    if eff and end and end <= eff:
        chk.add("programme.deadline", f"{end} is not after programme.effective_date {eff}")
    for i, code in enumerate(p.get("optional_order", [])):
        if code not in (*classes, *items):
            chk.add(f"programme.optional_order[{i}]",
                    f"{code!r} is neither an item class {list(classes)} nor an item code")
    chk.at_least(p, "programme", "pacing_slack", 0.0)
    return Programme(eff or dt.date(1900, 1, 1), end or dt.date(2100, 1, 1),
                     tuple(p.get("optional_order", ())), float(p.get("pacing_slack", 0.0)))


def _shares(chk: Checker, raw: Any, path: str, keys: tuple[str, ...]) -> dict[str, float]:
    t = chk.table(raw, path, dict.fromkeys(keys, "float"))
    for k in t:
        chk.ratio(t, path, k)
    if len(t) == len(keys) and abs(sum(t.values()) - 1.0) > 1e-6:
        chk.add(path, f"shares must sum to 1, got {sum(t.values()):g}")
    return {k: float(v) for k, v in t.items()}


def _utilities(chk: Checker, raw: Any, owners_known: set[str]) -> UtilitySettings:
    u = chk.table(raw, "utilities", {"owners": "table", "unit_costs_yuan_per_m": "table",
                                     "funding": "table"})
    owners = chk.str_map(u.get("owners", {}), "utilities.owners")
    chk.members(list(owners), "utilities.owners", _UTILS, "utility")
    for util, code in owners.items():
        if code not in owners_known:
            chk.add(f"utilities.owners.{util}", f"{code!r} is not a utility company or department code")
    costs = chk.table(u.get("unit_costs_yuan_per_m", {}), "utilities.unit_costs_yuan_per_m",
                      dict.fromkeys(_UTILS, "float"))
    for k in costs:
        chk.at_least(costs, "utilities.unit_costs_yuan_per_m", k, 0.0)
    funding = {}
    for util, shares in (u.get("funding", {}) or {}).items():
        if util not in _UTILS:
            chk.add(f"utilities.funding.{util}", f"unknown utility (known: {', '.join(_UTILS)})")
            continue
        funding[util] = _shares(chk, shares, f"utilities.funding.{util}",
                                ("residents", "utility", "government"))
    return UtilitySettings(owners, {k: float(v) for k, v in costs.items()}, funding)


def build_extras(chk: Checker, top: dict[str, Any], *, classes: tuple[str, ...],
                 items: set[str], owner_codes: set[str]) -> Extras:
    """Validate the programme sections of a profile's top-level table (see module doc)."""
    prog = _programme(chk, top.get("programme", {}), classes, items)
    fs = chk.table(top.get("funding_sources", {}), "funding_sources",
                   {**dict.fromkeys(FUNDING_SOURCES, "float"), "confirmed": "bool"})
    shares = _shares(chk, {k: v for k, v in fs.items() if k != "confirmed"}, "funding_sources",
                     FUNDING_SOURCES)
    pk = chk.table(top.get("packaging", {}), "packaging", {
        "min_households": "float", "max_households": "float", "gap_m": "float",
        "barrier_classes": "list[str]"})
    for k in ("min_households", "gap_m"):
        chk.at_least(pk, "packaging", k, 0.0)
    if {"min_households", "max_households"} <= pk.keys() and pk["max_households"] < max(pk["min_households"], 1):
        chk.add("packaging.max_households", f"{pk['max_households']} is below min_households")
    ph = chk.table(top.get("phases", {}), "phases",
                   {**dict.fromkeys(_PHASES, "float"), "reference_households": "float"})
    for k in ph:
        chk.at_least(ph, "phases", k, 0.0)
    if ph.get("reference_households", 1) <= 0:
        chk.add("phases.reference_households", "must be > 0")
    asm = chk.table(top.get("assessment", {}), "assessment",
                    {"weights": "table", "good_score": "float", "poor_score": "float"})
    weights = _shares(chk, asm.get("weights", {}), "assessment.weights",
                      ("completion", "on_time_start", "on_time_basic"))
    if {"good_score", "poor_score"} <= asm.keys() and asm["poor_score"] > asm["good_score"]:
        chk.add("assessment.poor_score", "is above assessment.good_score")
    util = _utilities(chk, top.get("utilities", {}), owner_codes)
    sources = chk.str_map(top.get("sources", {}), "sources")
    me = chk.table(top.get("measures", {}), "measures", {
        "storey_height_m": "float", "building_coverage": "float", "building_aspect": "float",
        "road_share_of_site": "float"})
    for k in ("building_coverage", "road_share_of_site"):
        chk.ratio(me, "measures", k)
    for k in ("storey_height_m", "building_aspect"):
        if me.get(k, 1.0) <= 0:
            chk.add(f"measures.{k}", f"must be > 0, got {me[k]}")
    return Extras(
        prog, shares, bool(fs.get("confirmed", False)),
        Packaging(float(pk.get("min_households", 0.0)), float(pk.get("max_households", 1.0)),
                  float(pk.get("gap_m", 0.0)), tuple(pk.get("barrier_classes", ()))),
        {k: float(v) for k, v in ph.items() if k != "reference_households"},
        float(ph.get("reference_households", 1.0)),
        Assessment(weights, float(asm.get("good_score", 0.0)), float(asm.get("poor_score", 0.0))),
        util, sources,
        Measures(float(me.get("storey_height_m", 1.0)), float(me.get("building_coverage", 0.0)),
                 float(me.get("building_aspect", 1.0)), float(me.get("road_share_of_site", 0.0))))


# --- the 参数与口径 table --------------------------------------------------------------------

_SECTION_ZH = {
    "profile": "基本信息", "eligibility": "改造对象", "exclusions": "不纳入情形", "consent": "居民意愿",
    "survey": "摸底调查", "quantities": "工程量估算", "waterlogging": "内涝风险", "life_circle": "生活圈",
    "priority": "优先级评分", "schedule": "实施时序", "plan": "计划年度", "programme": "实施期限",
    "funding_sources": "政府资金来源比例", "packaging": "片区划分", "phases": "工期（天）",
    "assessment": "绩效考核", "utilities": "管线", "measures": "工程量口径", "items": "改造内容", "departments": "责任部门",
    "utility_companies": "专业经营单位", "hazards": "隐患判定",
}
_ITEM_UNIT_COST = {"m2": "元/平方米（建筑面积）", "roof_m2": "元/平方米（屋面）",
                   "facade_m2": "元/平方米（外墙）", "site_m2": "元/平方米（道路）",
                   "household": "元/户", "compound": "元/个小区", "lift": "元/部", "m": "元/米"}
_SUFFIX_UNITS = (("_yuan_per_m", "元/米"), ("_year", "年"), ("_built_until", "年"),
                 ("_built_from", "年"), ("_days", "天"), ("_m2", "平方米"), ("_m", "米"),
                 ("households", "户"), ("_score", "分"))


def _unit(path: str, value: Any, raw: dict[str, Any]) -> str:
    """The unit of one value, from its key (``""`` for text, switches and codes)."""
    if isinstance(value, bool | str | list):
        return ""
    parts = path.split(".")
    last = parts[-1]
    if parts[0] == "items" and last == "unit_cost":
        unit = (raw.get("items", {}).get(parts[1], {}) or {}).get("unit", "")
        return _ITEM_UNIT_COST.get(unit, "元")
    if "durations_days" in parts:
        return "天"
    if last == "older_than_years":
        return "年"
    if parts[0] == "phases":
        return "户" if last == "reference_households" else "天"
    if parts[0] == "priority" and "weights" in parts[1]:
        return "分" if parts[1] == "weights" else "权重"
    if last.endswith(("_year", "_built_until", "_built_from")):
        return "年"
    if any(k in path for k in ("funding", "share", "threshold", "weights", "coverage", "quantile")):
        return "比例"
    for suffix, unit in _SUFFIX_UNITS:
        if last.endswith(suffix):
            return unit
    return ""


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, value))


def _source(path: str, sources: dict[str, str]) -> str:
    """The most specific ``[sources]`` entry for ``path`` (the key, then its parents)."""
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in sources:
            return sources[key]
    return ASSUMED


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    return str(value)


_CLASS_ZH = {"basic": "基础类", "improve": "完善类", "upgrade": "提升类"}
_UNIT_ZH = {"m2": "平方米（建筑面积）", "roof_m2": "平方米（屋面）", "facade_m2": "平方米（外墙）",
            "site_m2": "平方米（道路）", "household": "户", "compound": "个小区", "lift": "部",
            "m": "米"}


def _value_zh(path: str, value: Any, raw: dict[str, Any]) -> Any:
    """Codes shown by their Chinese names: classes, units, departments and companies."""
    last = path.rsplit(".", 1)[-1]
    names = {**(raw.get("departments") or {}), **(raw.get("utility_companies") or {}),
             **{c: (i or {}).get("name_zh", c) for c, i in (raw.get("items") or {}).items()}}
    if path.startswith("items.") and last == "class":
        return _CLASS_ZH.get(value, value)
    if path.startswith("items.") and last == "unit":
        return _UNIT_ZH.get(value, value)
    if last in ("departments", "utility_companies") and isinstance(value, list):
        return [names.get(v, v) for v in value]
    if path.startswith("utilities.owners.") or path == "programme.optional_order":
        if isinstance(value, list):
            return [_CLASS_ZH.get(v, names.get(v, v)) for v in value]
        return names.get(value, value)
    return value


def parameters_table(raw: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows ``(参数, 取值, 单位, 来源)`` for every value of a profile's raw TOML.

    ``参数`` is the section's Chinese name and the key path; ``来源`` comes from the
    profile's ``[sources]`` table (the key, else its nearest parent), else
    :data:`ASSUMED`. English-only values (``name_en``, ``reason_en``, ``note``) and the
    ``[sources]`` and ``[reference]`` (data file names) tables are left out.
    """
    rows: list[tuple[str, str, str, str]] = []
    sources = {str(k): str(v) for k, v in (raw.get("sources") or {}).items()}
    flat: list[tuple[str, Any]] = []
    for section, body in raw.items():
        if section in ("sources", "reference"):  # reference data files are listed by name elsewhere
            continue
        _flatten(section, body, flat)
    for path, value in flat:
        last = path.rsplit(".", 1)[-1]
        if last in {"name_en", "reason_en", "note", "trigger"} or ".trigger." in path:
            continue
        section = path.split(".", 1)[0].split("[", 1)[0]
        label = f"{_SECTION_ZH.get(section, section)}：{path}"
        rows.append((label, _text(_value_zh(path, value, raw)), _unit(path, value, raw),
                     _source(path, sources)))
    return rows
