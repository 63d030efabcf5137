"""How real input is read: the profile's ``[input]`` thresholds and ``[aliases.*]`` tables.

``[input]`` holds the position checks (far outlier, geocoder fallback cluster), the
Gauss–Krüger zone assumed for metres without a zone number, and the rules of thumb that
estimate households from stairwell units or buildings (默认值（待确认）: assumed, to be
confirmed by the city). ``[aliases.<vocabulary>]`` maps a city's own spellings to
canonical values (``"水泥砂浆内衬球墨管" = "ductile_iron"``), merged over the built-in
spellings of :data:`yulin_gis.io._schema.VOCABULARIES`.

Both tables are optional: a profile without them gets the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yulin_gis._profile_check import Checker
from yulin_gis.io._schema import VOCABULARIES

__all__ = ["InputRules", "parse_input_rules"]


@dataclass(frozen=True)
class InputRules:
    """Thresholds and aliases for reading real data.

    Attributes
    ----------
    outlier_k, outlier_min_km
        A compound is a far outlier when its distance from the layer's median position
        exceeds ``outlier_k`` × the median distance and ``outlier_min_km``.
    same_point_min
        This many compounds on one identical coordinate are a geocoder's fallback.
    gauss_kruger_epsg
        CRS of Gauss–Krüger metres given without a zone number.
    households_per_unit, households_per_building
        Rules of thumb (默认值（待确认）) estimating households when the survey left them
        unknown; floor area uses ``quantities.m2_per_household``.
    aliases
        Vocabulary → {spelling: canonical value}.
    """

    outlier_k: float = 10.0
    outlier_min_km: float = 50.0
    same_point_min: int = 5
    gauss_kruger_epsg: str = "EPSG:4546"
    households_per_unit: float = 12.0
    households_per_building: float = 24.0
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)


def parse_input_rules(chk: Checker, top: dict[str, Any]) -> InputRules:
    """Check and build the ``[input]`` and ``[aliases]`` tables (both optional)."""
    raw = chk.table(top.get("input", {}), "input", {
        "outlier_k": "float?", "outlier_min_km": "float?", "same_point_min": "int?",
        "gauss_kruger_epsg": "str?", "households_per_unit": "float?",
        "households_per_building": "float?",
    })
    for key in ("outlier_k", "outlier_min_km", "households_per_unit", "households_per_building"):
        chk.at_least(raw, "input", key, 0.0)
    chk.at_least(raw, "input", "same_point_min", 2)
    if "gauss_kruger_epsg" in raw:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(raw["gauss_kruger_epsg"])
        except CRSError:
            chk.add("input.gauss_kruger_epsg", f"unknown CRS {raw['gauss_kruger_epsg']!r}")
            raw.pop("gauss_kruger_epsg")
    aliases: dict[str, dict[str, str]] = {}
    tables = top.get("aliases", {})
    if not isinstance(tables, dict):
        chk.add("aliases", f"expected a table, got {type(tables).__name__}")
        tables = {}
    for vocab, spellings in tables.items():
        if vocab not in VOCABULARIES:
            chk.add(f"aliases.{vocab}", f"unknown vocabulary (known: {', '.join(VOCABULARIES)})")
            continue
        mapping = chk.str_map(spellings, f"aliases.{vocab}")
        for spelling, value in mapping.items():
            if value not in VOCABULARIES[vocab]:
                chk.add(f"aliases.{vocab}.{spelling}", f"unknown {vocab} value {value!r} "
                        f"(known: {', '.join(VOCABULARIES[vocab])})")
        aliases[vocab] = {k: v for k, v in mapping.items() if v in VOCABULARIES[vocab]}
    return InputRules(**raw, aliases=aliases)
