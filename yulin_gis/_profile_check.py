"""The profile's collecting validator (政策配置校验): checks that collect every problem.

:class:`Checker` records each problem as a ``"key.path: message"`` string instead of
raising at the first, so that :func:`yulin_gis.profile.load_profile` can report them all
at once in one :class:`~yulin_gis.errors.ProfileError`. :func:`parse_fraction` reads
``"2/3"``-style values. The checks of the plain sections (exclusions, survey, quantities,
eligibility, consent) live here too; the sections that build profile records stay in
:mod:`yulin_gis.profile`, which re-exports :class:`Checker` and :func:`parse_fraction`.
"""

from __future__ import annotations

from typing import Any

from yulin_gis.io import VOCABULARIES

__all__ = ["Checker", "parse_fraction"]

_TYPE_NAMES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false",
               "table": "a table", "list[str]": "a list of strings", "list[table]": "a list of tables",
               "fraction": "a number or a fraction such as \"2/3\""}


def parse_fraction(value: Any) -> float:
    """Return a float from a number or a ``"a/b"`` string (e.g. ``"2/3"``)."""
    if isinstance(value, str):
        num, _, den = value.partition("/")
        return float(num) / float(den) if den else float(num)
    return float(value)


class Checker:
    """Collect profile problems as ``"key.path: message"`` strings."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.problems.append(f"{path}: {message}")

    def value(self, val: Any, path: str, kind: str) -> Any:
        """Return ``val`` if it has type ``kind`` (ints accepted as floats), else record it."""
        ok = {
            "str": isinstance(val, str),
            "int": isinstance(val, int) and not isinstance(val, bool),
            "float": isinstance(val, int | float) and not isinstance(val, bool),
            "bool": isinstance(val, bool),
            "table": isinstance(val, dict),
            "list[str]": isinstance(val, list) and all(isinstance(v, str) for v in val),
            "list[table]": isinstance(val, list) and all(isinstance(v, dict) for v in val),
        }.get(kind)
        if kind == "fraction":
            try:
                ok = not isinstance(val, bool) and isinstance(val, int | float | str)
                parse_fraction(val)
            except (ValueError, ZeroDivisionError):
                ok = False
        if not ok:
            self.add(path, f"expected {_TYPE_NAMES[kind]}, got {type(val).__name__} {val!r}")
            return None
        return float(val) if kind == "float" else val

    def table(self, raw: Any, path: str, keys: dict[str, str]) -> dict[str, Any]:
        """Check a table's keys (``"type?"`` = optional) and types; return the valid values."""
        if not isinstance(raw, dict):
            self.add(path or "(top level)", f"expected a table, got {type(raw).__name__}")
            return {}
        prefix = f"{path}." if path else ""
        out: dict[str, Any] = {}
        for key in raw:
            if key not in keys:
                self.add(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(keys))})")
        for key, kind in keys.items():
            optional = kind.endswith("?")
            if key not in raw:
                if not optional:
                    self.add(f"{prefix}{key}", "missing key")
                continue
            val = self.value(raw[key], f"{prefix}{key}", kind.rstrip("?"))
            if val is not None:
                out[key] = val
        return out

    def str_map(self, raw: Any, path: str) -> dict[str, str]:
        """Check a table of string values (code → name)."""
        if not isinstance(raw, dict):
            self.add(path, f"expected a table, got {type(raw).__name__}")
            return {}
        return {k: v for k, v in raw.items() if self.value(v, f"{path}.{k}", "str") is not None}

    def members(self, values: Any, path: str, allowed: Any, what: str) -> None:
        """Record every value not in ``allowed``."""
        for v in values:
            if v not in allowed:
                self.add(path, f"unknown {what} {v!r}")

    def at_least(self, t: dict[str, Any], path: str, key: str, low: float) -> None:
        """Record ``t[key] < low``."""
        if t.get(key) is not None and t[key] < low:
            self.add(f"{path}.{key}", f"must be ≥ {low}, got {t[key]}")

    def ratio(self, t: dict[str, Any], path: str, key: str) -> None:
        """Record ``t[key]`` outside 0–1."""
        if key in t and not 0.0 <= t[key] <= 1.0:
            self.add(f"{path}.{key}", f"must be between 0 and 1, got {t[key]}")

    def month_day(self, text: str, path: str) -> tuple[int, int] | None:
        """Parse ``MM-DD``; record a bad value."""
        import datetime as _dt

        try:
            d = _dt.datetime.strptime(f"2001-{text}", "%Y-%m-%d")
        except ValueError:
            self.add(path, f"expected a month-day such as \"06-30\", got {text!r}")
            return None
        return d.month, d.day


def _small_sections(chk: Checker, top: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The exclusions, survey and quantities tables."""
    excl = chk.table(top.get("exclusions", {}), "exclusions", {
        "urban_village": "bool", "self_built": "bool",
        "self_built_housing_types": "list[str]", "renovated_within_years": "int",
    })
    chk.members(excl.get("self_built_housing_types", []), "exclusions.self_built_housing_types",
                VOCABULARIES["housing_type"], "housing type")
    chk.at_least(excl, "exclusions", "renovated_within_years", 0)
    survey = chk.table(top.get("survey", {}), "survey", {
        "pipe_distance_m": "float", "lift_min_floors": "int", "evidence_max_segments": "int",
        "as_of_year": "int",
    })
    chk.at_least(survey, "survey", "pipe_distance_m", 0.0)
    chk.at_least(survey, "survey", "lift_min_floors", 2)
    chk.at_least(survey, "survey", "evidence_max_segments", 1)
    qty = chk.table(top.get("quantities", {}), "quantities", {
        "m2_per_household": "float", "pipe_m_per_household": "float",
        "lifts_per_building": "float",
    })
    for key in ("m2_per_household", "pipe_m_per_household", "lifts_per_building"):
        chk.at_least(qty, "quantities", key, 0.0)
    return excl, survey, qty


def _eligibility(chk: Checker, raw: Any) -> dict[str, Any]:
    e = chk.table(raw, "eligibility", {
        "priority_built_until": "int", "share_built_from": "int", "share_built_until": "int",
        "share_cap": "float", "share_cap_basis": "str", "share_cap_confirmed": "bool",
        "later_excluded": "bool",
    })
    chk.ratio(e, "eligibility", "share_cap")
    if "share_cap_basis" in e and e["share_cap_basis"] not in ("households", "compounds"):
        chk.add("eligibility.share_cap_basis",
                f"must be 'households' or 'compounds', got {e['share_cap_basis']!r}")
    if {"priority_built_until", "share_built_until"} <= e.keys() and (
        e["priority_built_until"] >= e["share_built_until"]
    ):
        chk.add("eligibility.priority_built_until",
                f"{e['priority_built_until']} must be before eligibility.share_built_until "
                f"{e['share_built_until']}")
    if {"share_built_from", "share_built_until"} <= e.keys() and (
        e["share_built_from"] > e["share_built_until"]
    ):
        chk.add("eligibility.share_built_from",
                f"{e['share_built_from']} is after eligibility.share_built_until {e['share_built_until']}")
    if {"priority_built_until", "share_built_from"} <= e.keys() and (
        e["share_built_from"] != e["priority_built_until"] + 1
    ):
        chk.add("eligibility.share_built_from",
                f"must be eligibility.priority_built_until + 1 = {e['priority_built_until'] + 1} "
                f"(no gap or overlap between the tiers), got {e['share_built_from']}")
    return e


def _consent(chk: Checker, raw: Any) -> dict[str, Any]:
    c = chk.table(raw, "consent", {
        "threshold": "fraction", "lift_threshold": "fraction",
        "exclude_below_threshold": "bool", "confirmed": "bool",
    })
    for key in ("threshold", "lift_threshold"):
        if key in c:
            c[key] = parse_fraction(c[key])
            chk.ratio(c, "consent", key)
    return c
