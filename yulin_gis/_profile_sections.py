"""Vocabulary and plain-table sections of the policy profile (政策配置).

The item classes (基础类 / 完善类 / 提升类), units of measure and evidence tokens a profile
may name, and the checks of the ``[life_circle]``, ``[priority]`` and ``[schedule]``
sections, which :func:`yulin_gis.profile.load_profile` runs with its collecting
:class:`~yulin_gis._profile_check.Checker` (every bad key is named) and turns into the
profile's settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yulin_gis.io import GAP_FIELDS, VOCABULARIES

if TYPE_CHECKING:
    from yulin_gis._profile_check import Checker


#: Item classes of seed §四(二), in order: 基础类, 完善类, 提升类.
CLASSES: tuple[str, ...] = ("basic", "improve", "upgrade")
CLASS_LABELS_ZH: dict[str, str] = {"basic": "基础类", "improve": "完善类", "upgrade": "提升类"}

#: Units of measure an item may use and the Chinese label of each.
UNITS: dict[str, str] = {
    "m2": "平方米(建筑面积)",
    "roof_m2": "平方米(屋面)",
    "facade_m2": "平方米(外墙)",
    "site_m2": "平方米(道路)",
    "household": "户",
    "compound": "个小区",
    "lift": "部",
    "m": "米(管线)",
}

_UTILITIES = tuple(VOCABULARIES["utility"])
_KINDS = tuple(VOCABULARIES["facility_kind"])
_SURVEY_FIELDS = tuple(f.name for f in GAP_FIELDS)

#: Evidence an item may be triggered by besides the survey booleans:
#: ``hazard:<utility>`` (hazardous pipe nearby), ``gap:<facility kind>`` (life-circle gap),
#: ``waterlogging`` (low-lying on the DEM), ``lift`` (floors ≥ threshold, no lift) and
#: ``no_property_management``.
EVIDENCE_TOKENS: tuple[str, ...] = (
    *(f"hazard:{u}" for u in _UTILITIES),
    *(f"gap:{k}" for k in _KINDS),
    "waterlogging",
    "lift",
    "no_property_management",
)



def _life_circle(chk: Checker, raw: Any) -> dict[str, Any]:
    lc = chk.table(raw, "life_circle", {"cutoff_m": "float", "circles": "table", "kinds": "table"})
    circles: dict[str, float] = {}
    for name, val in lc.get("circles", {}).items():
        v = chk.value(val, f"life_circle.circles.{name}", "float")
        if v is not None:
            if v <= 0:
                chk.add(f"life_circle.circles.{name}", f"must be > 0, got {v}")
            circles[name] = float(v)
    kinds = chk.str_map(lc.get("kinds", {}), "life_circle.kinds")
    chk.members(list(kinds), "life_circle.kinds", _KINDS, "facility kind")
    for kind, circ in kinds.items():
        if circ not in circles:
            chk.add(f"life_circle.kinds.{kind}", f"names unknown circle {circ!r}; known: {sorted(circles)}")
    ordered = list(circles.values())
    if ordered != sorted(ordered):
        chk.add("life_circle.circles", "distances must increase from the smallest circle to the largest")
    if "cutoff_m" in lc and circles and lc["cutoff_m"] < max(circles.values()):
        chk.add("life_circle.cutoff_m",
                f"{lc['cutoff_m']} is below the largest circle distance {max(circles.values())}")
    return {"cutoff_m": float(lc.get("cutoff_m", 0.0)), "circles": circles, "kinds": kinds}


def _priority(chk: Checker, raw: Any) -> dict[str, Any]:
    p = chk.table(raw, "priority", {
        "weights": "table", "age_full_year": "int", "hazard_full_at": "float",
        "gaps_full_at": "float", "class_weights": "table", "hazard_survey_fields": "list[str]",
    })
    weights = chk.table(p.get("weights", {}), "priority.weights", {
        "age": "float", "hazard": "float", "gaps": "float", "consent": "float",
    })
    for k, v in weights.items():
        if v < 0:
            chk.add(f"priority.weights.{k}", f"must be ≥ 0, got {v}")
    if len(weights) == 4 and abs(sum(weights.values()) - 100.0) > 1e-6:
        chk.add("priority.weights", f"must sum to 100 points, got {sum(weights.values()):g}")
    cw = chk.table(p.get("class_weights", {}), "priority.class_weights",
                   dict.fromkeys(CLASSES, "float"))
    for key in ("hazard_full_at", "gaps_full_at"):
        if key in p and p[key] <= 0:
            chk.add(f"priority.{key}", f"must be > 0, got {p[key]}")
    chk.members(p.get("hazard_survey_fields", []), "priority.hazard_survey_fields",
                (*_SURVEY_FIELDS, "seismic_not_ok"), "survey field")
    p["weights"], p["class_weights"] = weights, cw
    p["hazard_survey_fields"] = tuple(p.get("hazard_survey_fields", ()))
    return p


def _schedule(chk: Checker, raw: Any) -> dict[str, Any]:
    s = chk.table(raw, "schedule", {
        "start_by": "str", "basic_complete_by": "str", "durations_days": "table?",
    })
    parsed = {}
    for key in ("start_by", "basic_complete_by"):
        if key in s:
            md = chk.month_day(s[key], f"schedule.{key}")
            if md is not None:
                parsed[key] = md
    if len(parsed) == 2 and parsed["basic_complete_by"] <= parsed["start_by"]:
        chk.add("schedule.basic_complete_by",
                f"{s['basic_complete_by']} is not after schedule.start_by {s['start_by']}")
    dur = chk.table(s.get("durations_days", {}), "schedule.durations_days",  # legacy: [phases]
                    {**dict.fromkeys(CLASSES, "int?"), "lift": "int?"})
    for k, v in dur.items():
        if v <= 0:
            chk.add(f"schedule.durations_days.{k}", f"must be > 0, got {v}")
    s["durations_days"] = dur
    return s

