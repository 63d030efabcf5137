"""Planning (年度计划): allocation of packages to plan years, schedule, funding split, progress import.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.planning._funding import (
        FUNDER_LABELS_ZH,
        FUNDERS,
        FUNDING_COLUMNS,
        funding_by_county_year,
        package_funding,
        split_costs,
        validate_shares,
    )
    from yulin_gis.planning._plan import (
        PlanResult,
        allocate_plan,
        budget_needed_for_full_coverage,
        normalise_limits,
    )
    from yulin_gis.planning._progress import (
        assess_counties,
        assess_packages,
        read_progress,
    )
    from yulin_gis.planning._reasons import reason_zh
    from yulin_gis.planning._rules import (
        budget_left,
        fund_optional,
        gate_consent,
        optional_rank,
        pacing_capacity,
        plan_parts,
    )
    from yulin_gis.planning._schedule import (
        apply_plan_to_compounds,
        households_limit_by_year,
        schedule_packages,
    )

_LAZY = {
    "reason_zh": "_reasons",
    "FUNDERS": "_funding",
    "FUNDER_LABELS_ZH": "_funding",
    "FUNDING_COLUMNS": "_funding",
    "PlanResult": "_plan",
    "allocate_plan": "_plan",
    "apply_plan_to_compounds": "_schedule",
    "assess_counties": "_progress",
    "assess_packages": "_progress",
    "budget_left": "_rules",
    "budget_needed_for_full_coverage": "_plan",
    "fund_optional": "_rules",
    "funding_by_county_year": "_funding",
    "gate_consent": "_rules",
    "households_limit_by_year": "_schedule",
    "normalise_limits": "_plan",
    "optional_rank": "_rules",
    "pacing_capacity": "_rules",
    "package_funding": "_funding",
    "plan_parts": "_rules",
    "read_progress": "_progress",
    "schedule_packages": "_schedule",
    "split_costs": "_funding",
    "validate_shares": "_funding",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "FUNDERS",
    "FUNDER_LABELS_ZH",
    "FUNDING_COLUMNS",
    "PlanResult",
    "allocate_plan",
    "apply_plan_to_compounds",
    "assess_counties",
    "assess_packages",
    "budget_left",
    "budget_needed_for_full_coverage",
    "fund_optional",
    "funding_by_county_year",
    "gate_consent",
    "households_limit_by_year",
    "normalise_limits",
    "optional_rank",
    "pacing_capacity",
    "package_funding",
    "plan_parts",
    "read_progress",
    "reason_zh",
    "schedule_packages",
    "split_costs",
    "validate_shares",
]
