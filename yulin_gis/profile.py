"""The policy profile (政策配置): a city's renovation rules as an editable TOML file.

Yulin's 2022 rules (玉政办发〔2022〕13号) ship as ``yulin_gis/profiles/yulin.toml`` and are the
default. Another city writes its own file with the same keys; no code changes are needed.

The file holds eligibility years, exclusions, the consent threshold, the catalogue of
renovation items (基础类 / 完善类 / 提升类) with departments, utility companies, units, unit
costs, funding shares and triggers, pipe hazard criteria, life-circle distances,
waterlogging thresholds, priority weights, schedule deadlines and plan years.

:func:`load_profile` reads it with :mod:`tomllib` and validates everything at once: unknown
keys, missing keys, wrong types and contradictory rules are collected and raised together
as one :class:`~yulin_gis.errors.ProfileError` whose lines name each key path (for example
``items.gas_pipe.funding.residents``).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yulin_gis._profile_check import (
    Checker,
    _consent,
    _eligibility,
    _small_sections,
    parse_fraction,
)
from yulin_gis._profile_params import EXTRA_SECTIONS, Extras, build_extras, parameters_table
from yulin_gis._profile_sections import (
    _SURVEY_FIELDS,
    _UTILITIES,
    CLASS_LABELS_ZH,
    CLASSES,
    EVIDENCE_TOKENS,
    UNITS,
    _life_circle,
    _priority,
    _schedule,
)
from yulin_gis.errors import ProfileError
from yulin_gis.io import VOCABULARIES, InputRules, parse_input_rules

__all__ = [
    "CLASSES",
    "CLASS_LABELS_ZH",
    "DEFAULT_PROFILE_PATH",
    "EVIDENCE_TOKENS",
    "UNITS",
    "Checker",
    "Consent",
    "Eligibility",
    "Exclusions",
    "Funding",
    "HazardRule",
    "Item",
    "LifeCircle",
    "PlanYears",
    "Priority",
    "Profile",
    "Quantities",
    "Reference",
    "Schedule",
    "SurveySettings",
    "Trigger",
    "Waterlogging",
    "load_profile",
    "parse_fraction",
]

logger = logging.getLogger(__name__)

DEFAULT_PROFILE_PATH = Path(__file__).with_name("profiles") / "yulin.toml"


@dataclass(frozen=True)
class Funding:
    """Default cost shares of one item (谁受益、谁出资); they sum to 1."""

    residents: float
    utility: float
    government: float


@dataclass(frozen=True)
class Trigger:
    """What makes an item needed: any true survey boolean, or any evidence token."""

    survey: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """One renovation item (改造内容) of the catalogue.

    Attributes
    ----------
    code, name_zh, name_en
        Stable code and names; ``name_zh`` follows the seed's wording.
    item_class
        ``basic`` (基础类), ``improve`` (完善类) or ``upgrade`` (提升类).
    departments
        Codes of the departments responsible (seed §五(二)), see :attr:`Profile.departments`.
    utility_companies
        Codes of the pipeline companies (管线单位) that build and co-fund the item.
    unit, unit_cost
        Unit of measure (one of :data:`UNITS`) and default cost per unit, yuan.
    funding
        Default shares residents / utility / government.
    trigger
        Survey fields and evidence tokens that make the item needed.
    note
        Where the assignment comes from when the seed is silent.
    """

    code: str
    name_zh: str
    name_en: str
    item_class: str
    departments: tuple[str, ...]
    utility_companies: tuple[str, ...]
    unit: str
    unit_cost: float
    funding: Funding
    trigger: Trigger
    note: str = ""


@dataclass(frozen=True)
class Eligibility:
    """Eligibility by build year (seed §四(一))."""

    priority_built_until: int
    share_built_from: int
    share_built_until: int
    share_cap: float
    share_cap_basis: str
    share_cap_confirmed: bool
    later_excluded: bool


@dataclass(frozen=True)
class Exclusions:
    """Compounds left out: urban villages, self-built areas, recently renovated ones."""

    urban_village: bool
    self_built: bool
    self_built_housing_types: tuple[str, ...]
    renovated_within_years: int


@dataclass(frozen=True)
class Consent:
    """Residents' consent (居民意愿) rules."""

    threshold: float
    lift_threshold: float
    exclude_below_threshold: bool
    confirmed: bool


@dataclass(frozen=True)
class SurveySettings:
    """Survey-stage settings."""

    pipe_distance_m: float
    lift_min_floors: int
    evidence_max_segments: int
    as_of_year: int


@dataclass(frozen=True)
class Quantities:
    """Fallbacks used (and said so in the evidence) when a quantity is not surveyed."""

    m2_per_household: float
    pipe_m_per_household: float
    lifts_per_building: float


@dataclass(frozen=True)
class HazardRule:
    """One pipe hazard criterion; a segment meets it when every given condition holds."""

    code: str
    utilities: tuple[str, ...]
    materials: tuple[str, ...]
    older_than_years: float | None
    conditions: tuple[str, ...]
    reason_zh: str
    reason_en: str
    always: bool = False


@dataclass(frozen=True)
class Waterlogging:
    """Low-lying (内涝风险) thresholds on the DEM statistics."""

    rel_elev_threshold_m: float
    low_share_threshold: float
    ring_m: float
    low_quantile: float


@dataclass(frozen=True)
class LifeCircle:
    """Life-circle distances (GB 50180-2018) and the circle of each facility kind."""

    cutoff_m: float
    circles: dict[str, float]
    kinds: dict[str, str]

    @property
    def thresholds(self) -> dict[str, float]:
        """``{facility kind: walking distance threshold in metres}``."""
        return {k: self.circles[c] for k, c in self.kinds.items()}


@dataclass(frozen=True)
class Priority:
    """Priority score weights (points out of 100) and saturation points."""

    weights: dict[str, float]
    age_full_year: int
    hazard_full_at: float
    gaps_full_at: float
    class_weights: dict[str, float]
    hazard_survey_fields: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    """Deadlines (seed §六(四)) as MM-DD; ``durations_days`` (by class) is optional and
    superseded by the ``[phases]`` durations the schedule uses."""

    start_by: str
    basic_complete_by: str
    durations_days: dict[str, int]


@dataclass(frozen=True)
class PlanYears:
    """The programme's plan years (seed §二: by 2025)."""

    first_year: int
    last_year: int

    @property
    def years(self) -> tuple[int, ...]:
        """Every plan year, first to last."""
        return tuple(range(self.first_year, self.last_year + 1))


@dataclass(frozen=True)
class Reference:
    """The city's administrative reference data (paths resolved against the profile).

    Attributes
    ----------
    counties
        County-level boundaries with ``county_code`` and ``county`` (GeoJSON, any CRS).
    divisions
        CSV of official names and codes (``level``, ``code``, ``name``, ``parent_code``,
        ``county_code``, ``county_name``).
    """

    counties: Path | None = None
    divisions: Path | None = None


@dataclass(frozen=True)
class Profile:
    """A validated policy profile; see :func:`load_profile`."""

    name: str
    city: str
    source: str
    responsible_body: str
    eligibility: Eligibility
    exclusions: Exclusions
    consent: Consent
    survey: SurveySettings
    quantities: Quantities
    hazard_rules: tuple[HazardRule, ...]
    waterlogging: Waterlogging
    life_circle: LifeCircle
    priority: Priority
    schedule: Schedule
    plan: PlanYears
    departments: dict[str, str]
    utility_companies: dict[str, str]
    items: dict[str, Item]
    path: Path | None = field(default=None, compare=False)
    inputs: InputRules = field(default_factory=InputRules)
    extras: Extras | None = field(default=None, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def x(self) -> Extras:
        """The programme settings (:mod:`yulin_gis._profile_params`)."""
        assert self.extras is not None
        return self.extras

    def parameters_table(self) -> list[tuple[str, str, str, str]]:
        """Rows ``(参数, 取值, 单位, 来源)`` of every value (the 参数与口径 sheet)."""
        return parameters_table(self.raw)
    reference: Reference = field(default_factory=lambda: Reference())

    def items_of_class(self, item_class: str) -> list[Item]:
        """Items of one class, in catalogue order."""
        return [it for it in self.items.values() if it.item_class == item_class]

    def item(self, code: str) -> Item:
        """The item with ``code``; ProfileError when unknown."""
        try:
            return self.items[code]
        except KeyError:
            raise ProfileError(f"unknown item code {code!r}") from None


# --- reading and validation --------------------------------------------------------------


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and validate a policy profile.

    Parameters
    ----------
    path
        A TOML file; ``None`` loads Yulin's 2022 default (``profiles/yulin.toml``).

    Returns
    -------
    Profile
        Typed, validated settings.

    Raises
    ------
    ProfileError
        The file is missing or not TOML, or has unknown/missing/mistyped keys or
        contradictory rules; every problem is listed, each naming its key path.
    """
    p = Path(path) if path is not None else DEFAULT_PROFILE_PATH
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"profile file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {p} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ProfileError(f"profile {p} cannot be read: {exc}") from None
    chk = Checker()
    profile = _build(chk, data, p)
    if chk.problems:
        err = ProfileError(
            f"profile {p} has {len(chk.problems)} problem(s):\n"
            + "\n".join(f"  - {msg}" for msg in chk.problems)
        )
        err.problems = list(chk.problems)  # type: ignore[attr-defined]
        raise err
    assert profile is not None
    logger.info("policy profile %s loaded: %d items", p, len(profile.items))
    return profile


_TOP = {
    "profile": "table", "eligibility": "table", "exclusions": "table", "consent": "table",
    "survey": "table", "quantities": "table", "hazards": "table", "waterlogging": "table",
    "life_circle": "table", "priority": "table", "schedule": "table", "plan": "table",
    "departments": "table", "utility_companies": "table", "items": "table",
    "input": "table?", "aliases": "table?",
    **dict.fromkeys(EXTRA_SECTIONS, "table"),
    "reference": "table?",
    "duties": "table?",  # optional; read by yulin_gis.reports._duties (seed §五(二))
}


def _build(chk: Checker, data: dict[str, Any], path: Path) -> Profile | None:
    top = chk.table(data, "", _TOP)
    meta = chk.table(top.get("profile", {}), "profile", {
        "name": "str", "city": "str", "source": "str", "responsible_body": "str",
    })
    depts = chk.str_map(top.get("departments", {}), "departments")
    utils = chk.str_map(top.get("utility_companies", {}), "utility_companies")
    elig = _eligibility(chk, top.get("eligibility", {}))
    excl, survey, qty = _small_sections(chk, top)
    consent = _consent(chk, top.get("consent", {}))
    rules = _hazards(chk, top.get("hazards", {}))
    water = chk.table(top.get("waterlogging", {}), "waterlogging", {
        "rel_elev_threshold_m": "float", "low_share_threshold": "float", "ring_m": "float",
        "low_quantile": "float",
    })
    chk.ratio(water, "waterlogging", "low_share_threshold")
    chk.ratio(water, "waterlogging", "low_quantile")
    chk.at_least(water, "waterlogging", "ring_m", 0.0)
    life = _life_circle(chk, top.get("life_circle", {}))
    prio = _priority(chk, top.get("priority", {}))
    sched = _schedule(chk, top.get("schedule", {}))
    plan = chk.table(top.get("plan", {}), "plan", {"first_year": "int", "last_year": "int"})
    if {"first_year", "last_year"} <= plan.keys() and plan["last_year"] < plan["first_year"]:
        chk.add("plan.last_year", f"{plan['last_year']} is before plan.first_year {plan['first_year']}")
    items = _items(chk, top.get("items", {}), set(depts), set(utils))
    inputs = parse_input_rules(chk, top)
    extras = build_extras(chk, top, classes=CLASSES, items=set(items),
                          owner_codes=set(depts) | set(utils))
    ref = _reference(chk, top.get("reference", {}), path)
    if chk.problems:
        return None
    return Profile(
        name=meta["name"], city=meta["city"], source=meta["source"],
        responsible_body=meta["responsible_body"],
        eligibility=Eligibility(**elig),
        exclusions=Exclusions(
            excl["urban_village"], excl["self_built"],
            tuple(excl["self_built_housing_types"]), excl["renovated_within_years"],
        ),
        consent=Consent(**consent),
        survey=SurveySettings(**survey),
        quantities=Quantities(**qty),
        hazard_rules=tuple(rules),
        waterlogging=Waterlogging(**water),
        life_circle=LifeCircle(**life),
        priority=Priority(**prio),
        schedule=Schedule(**sched),
        plan=PlanYears(**plan),
        departments=depts, utility_companies=utils, items=items, path=path, inputs=inputs,
        extras=extras, raw=data, reference=ref,
    )


def _reference(chk: Checker, raw: Any, path: Path) -> Reference:
    """The ``[reference]`` table: file names relative to the profile's folder, else to the
    shipped profiles folder (so a copy of a shipped profile still finds its reference data)."""
    ref = chk.table(raw, "reference", {"counties": "str?", "divisions": "str?"})
    files: dict[str, Path] = {}
    for key, name in ref.items():
        file = (path.parent / name).resolve()
        if not file.is_file() and (DEFAULT_PROFILE_PATH.parent / name).is_file():
            file = (DEFAULT_PROFILE_PATH.parent / name).resolve()
        if not file.is_file():
            chk.add(f"reference.{key}", f"file {file} not found")
        files[key] = file
    return Reference(**files)


def _hazards(chk: Checker, raw: Any) -> list[HazardRule]:
    h = chk.table(raw, "hazards", {"rules": "list[table]"})
    rules: list[HazardRule] = []
    codes: set[str] = set()
    for i, r in enumerate(h.get("rules", [])):
        path = f"hazards.rules[{i}]"
        t = chk.table(r, path, {
            "code": "str", "utility": "list[str]", "reason_zh": "str", "reason_en": "str",
            "material": "list[str]?", "older_than_years": "float?", "condition": "list[str]?",
            "always": "bool?",
        })
        chk.members(t.get("utility", []), f"{path}.utility", _UTILITIES, "utility")
        chk.members(t.get("material", []), f"{path}.material", VOCABULARIES["material"], "material")
        chk.members(t.get("condition", []), f"{path}.condition", VOCABULARIES["condition"], "condition")
        if "utility" in t and not t["utility"]:
            chk.add(f"{path}.utility", "must name at least one utility")
        if not t.get("always") and not any(k in t for k in ("material", "older_than_years", "condition")):
            chk.add(path, "needs one of material, older_than_years, condition, or always = true")
        if t.get("code") in codes:
            chk.add(f"{path}.code", f"duplicate hazard rule code {t['code']!r}")
        codes.add(t.get("code", ""))
        chk.at_least(t, path, "older_than_years", 0.0)
        if {"code", "utility", "reason_zh", "reason_en"} <= t.keys():
            rules.append(HazardRule(
                t["code"], tuple(t["utility"]), tuple(t.get("material", ())),
                t.get("older_than_years"), tuple(t.get("condition", ())),
                t["reason_zh"], t["reason_en"], bool(t.get("always", False)),
            ))
    return rules


_ITEM_KEYS = {
    "name_zh": "str", "name_en": "str", "class": "str", "departments": "list[str]",
    "utility_companies": "list[str]?", "unit": "str", "unit_cost": "float",
    "funding": "table", "trigger": "table?", "note": "str?",
}


def _items(chk: Checker, raw: Any, depts: set[str], utils: set[str]) -> dict[str, Item]:
    items: dict[str, Item] = {}
    if isinstance(raw, dict) and not raw:
        chk.add("items", "the catalogue is empty")
    for code, body in (raw.items() if isinstance(raw, dict) else []):
        path = f"items.{code}"
        t = chk.table(body, path, _ITEM_KEYS)
        if "class" in t and t["class"] not in CLASSES:
            chk.add(f"{path}.class", f"must be one of {list(CLASSES)}, got {t['class']!r}")
        if "unit" in t and t["unit"] not in UNITS:
            chk.add(f"{path}.unit", f"must be one of {list(UNITS)}, got {t['unit']!r}")
        chk.at_least(t, path, "unit_cost", 0.0)
        chk.members(t.get("departments", []), f"{path}.departments", depts, "department code")
        if "departments" in t and not t["departments"]:
            chk.add(f"{path}.departments", "must name at least one department")
        chk.members(t.get("utility_companies", []), f"{path}.utility_companies", utils,
                    "utility company code")
        fund = chk.table(t.get("funding", {}), f"{path}.funding", {
            "residents": "float", "utility": "float", "government": "float",
        })
        for k in fund:
            chk.ratio(fund, f"{path}.funding", k)
        if len(fund) == 3 and abs(sum(fund.values()) - 1.0) > 1e-6:
            chk.add(f"{path}.funding", f"shares must sum to 1, got {sum(fund.values()):g}")
        if fund.get("utility", 0) > 0 and not t.get("utility_companies"):
            chk.add(f"{path}.funding.utility",
                    f"is {fund['utility']} but {path}.utility_companies names no company")
        trig = chk.table(t.get("trigger", {}), f"{path}.trigger",
                         {"survey": "list[str]?", "evidence": "list[str]?"})
        chk.members(trig.get("survey", []), f"{path}.trigger.survey", _SURVEY_FIELDS, "survey field")
        chk.members(trig.get("evidence", []), f"{path}.trigger.evidence", EVIDENCE_TOKENS,
                    "evidence token")
        if all(k in t for k, v in _ITEM_KEYS.items() if not v.endswith("?")) and len(fund) == 3:
            items[code] = Item(
                code, t["name_zh"], t["name_en"], t["class"], tuple(t["departments"]),
                tuple(t.get("utility_companies", ())), t["unit"], float(t["unit_cost"]),
                Funding(**fund),
                Trigger(tuple(trig.get("survey", ())), tuple(trig.get("evidence", ()))),
                t.get("note", ""),
            )
    return items
