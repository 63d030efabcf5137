"""yulin_gis: plan urban old-compound renovation (城镇老旧小区改造) with GIS.

Survey compounds, decide eligibility and renovation items, group them into contiguous
community-based packages (连片规划), schedule annual plans, split costs, hand utilities
their pipeline upgrades, and show it all on offline interactive maps.
"""

from __future__ import annotations

import logging

from yulin_gis.errors import (
    ConservationError,
    CRSError,
    DatabaseError,
    InputFileError,
    OutputError,
    Problem,
    ProfileError,
    SchemaError,
    ValidationError,
    YulinGisError,
)

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Public functions, imported on first use so that ``import yulin_gis`` stays light.
_LAZY = {
    "run": "yulin_gis.pipeline",
    "RunResult": "yulin_gis.pipeline",
    "PlanOptions": "yulin_gis.pipeline",
    "validate_input": "yulin_gis.io",
    "load_layers": "yulin_gis.io",
    "Layers": "yulin_gis.io",
    "load_profile": "yulin_gis.profile",
    "assess_compounds": "yulin_gis.survey",
    "compound_adjacency": "yulin_gis.packaging",
    "make_packages": "yulin_gis.packaging",
    "allocate_plan": "yulin_gis.planning",
    "schedule_packages": "yulin_gis.planning",
    "package_funding": "yulin_gis.planning",
    "read_progress": "yulin_gis.planning",
    "assess_counties": "yulin_gis.planning",
    "build_networks": "yulin_gis.utilities",
    "pipes_near_compounds": "yulin_gis.utilities",
    "renewal_risk": "yulin_gis.utilities",
    "utility_upgrade_plan": "yulin_gis.utilities",
    "joint_trenches": "yulin_gis.utilities",
    "nearest_facility_distances": "yulin_gis.survey",
    "compound_terrain": "yulin_gis.survey",
    "MapLayer": "yulin_gis.maps",
    "StyleBy": "yulin_gis.maps",
    "write_map": "yulin_gis.maps",
    "layers_map": "yulin_gis.maps",
    "plan_map": "yulin_gis.maps",
    "save_map": "yulin_gis.maps",
    "PlanLayers": "yulin_gis.maps",
    "make_offline": "yulin_gis.maps",
    "CompactLayer": "yulin_gis.maps",
    "render_static_map": "yulin_gis.maps",
    "write_layer_styles": "yulin_gis.maps",
    "gcj02_to_wgs84": "yulin_gis.crs",
    "wgs84_to_gcj02": "yulin_gis.crs",
    "bd09_to_wgs84": "yulin_gis.crs",
    "wgs84_to_bd09": "yulin_gis.crs",
    "get_path": "yulin_gis.sample",
    "read_postgis_input": "yulin_gis.io",
    "publish_gpkg": "yulin_gis.io",
    # result and option types
    "PackageResult": "yulin_gis.packaging",
    "PlanResult": "yulin_gis.planning",
    "StaticLayer": "yulin_gis.maps",
    "MapPage": "yulin_gis.maps",
    "LayerStyle": "yulin_gis.maps",
    "ValidationReport": "yulin_gis.io",
    "RawLayer": "yulin_gis.io",
    "Profile": "yulin_gis.profile",
    "NetworkSet": "yulin_gis.utilities",
    "UtilityNetwork": "yulin_gis.utilities",
    "WalkNetwork": "yulin_gis.survey",
    "ProgressResult": "yulin_gis.pipeline",
    "LocalEngine": "yulin_gis.scale",
    "DaskEngine": "yulin_gis.scale",
}


def __getattr__(name: str) -> object:
    """Import the public functions lazily (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'yulin_gis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CRSError",
    "CompactLayer",
    "ConservationError",
    "DaskEngine",
    "DatabaseError",
    "InputFileError",
    "LayerStyle",
    "Layers",
    "LocalEngine",
    "MapLayer",
    "MapPage",
    "NetworkSet",
    "OutputError",
    "PackageResult",
    "PlanLayers",
    "PlanOptions",
    "PlanResult",
    "Problem",
    "Profile",
    "ProfileError",
    "ProgressResult",
    "RawLayer",
    "RunResult",
    "SchemaError",
    "StaticLayer",
    "StyleBy",
    "UtilityNetwork",
    "ValidationError",
    "ValidationReport",
    "WalkNetwork",
    "YulinGisError",
    "__version__",
    "allocate_plan",
    "assess_compounds",
    "assess_counties",
    "bd09_to_wgs84",
    "build_networks",
    "compound_adjacency",
    "compound_terrain",
    "gcj02_to_wgs84",
    "get_path",
    "joint_trenches",
    "layers_map",
    "load_layers",
    "load_profile",
    "make_offline",
    "make_packages",
    "nearest_facility_distances",
    "package_funding",
    "pipes_near_compounds",
    "plan_map",
    "publish_gpkg",
    "read_postgis_input",
    "read_progress",
    "render_static_map",
    "renewal_risk",
    "run",
    "save_map",
    "schedule_packages",
    "utility_upgrade_plan",
    "validate_input",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "write_layer_styles",
    "write_map",
]
