"""Utilities (管线改造): utility networks, pipes near compounds, renewal risk, traces, joint trenches.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.utilities._network import (
        UTILITY_TYPES,
        NetworkSet,
        UtilityNetwork,
        build_networks,
        isolation_impact,
        topology_report,
        trace_package,
    )
    from yulin_gis.utilities._types import (
        DEFAULT_OWNERS,
    )
    from yulin_gis.utilities._upgrades import (
        households_near_segments,
        joint_trenches,
        overlay_totals,
        pipes_near_compounds,
        renewal_risk,
        segment_road_classes,
        utility_upgrade_plan,
    )

_LAZY = {
    "DEFAULT_OWNERS": "_types",
    "NetworkSet": "_network",
    "UTILITY_TYPES": "_network",
    "UtilityNetwork": "_network",
    "build_networks": "_network",
    "households_near_segments": "_upgrades",
    "isolation_impact": "_network",
    "joint_trenches": "_upgrades",
    "overlay_totals": "_upgrades",
    "pipes_near_compounds": "_upgrades",
    "renewal_risk": "_upgrades",
    "segment_road_classes": "_upgrades",
    "topology_report": "_network",
    "trace_package": "_network",
    "utility_upgrade_plan": "_upgrades",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "DEFAULT_OWNERS",
    "UTILITY_TYPES",
    "NetworkSet",
    "UtilityNetwork",
    "build_networks",
    "households_near_segments",
    "isolation_impact",
    "joint_trenches",
    "overlay_totals",
    "pipes_near_compounds",
    "renewal_risk",
    "segment_road_classes",
    "topology_report",
    "trace_package",
    "utility_upgrade_plan",
]
