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
    "PlanOptions": "yulin_gis.stages",
    "validate_input": "yulin_gis.validate",
    "load_layers": "yulin_gis.validate",
    "Layers": "yulin_gis.layers",
    "load_profile": "yulin_gis.profile",
    "assess_compounds": "yulin_gis.survey",
    "compound_adjacency": "yulin_gis.adjacency",
    "make_packages": "yulin_gis.packages",
    "allocate_plan": "yulin_gis.plan",
    "schedule_packages": "yulin_gis.plan",
    "package_funding": "yulin_gis.funding",
    "read_progress": "yulin_gis.progress",
    "assess_counties": "yulin_gis.progress",
    "build_networks": "yulin_gis.network",
    "pipes_near_compounds": "yulin_gis.utilities",
    "renewal_risk": "yulin_gis.utilities",
    "utility_upgrade_plan": "yulin_gis.utilities",
    "joint_trenches": "yulin_gis.utilities",
    "nearest_facility_distances": "yulin_gis.accessibility",
    "compound_terrain": "yulin_gis.terrain",
    "MapLayer": "yulin_gis.webmap",
    "StyleBy": "yulin_gis.webmap",
    "write_map": "yulin_gis.webmap",
    "layers_map": "yulin_gis.webmap",
    "plan_map": "yulin_gis.planmap",
    "save_map": "yulin_gis.planmap",
    "PlanLayers": "yulin_gis.planmap",
    "make_offline": "yulin_gis.offline",
    "CompactLayer": "yulin_gis.mapelements",
    "render_static_map": "yulin_gis.staticmap",
    "write_layer_styles": "yulin_gis.qgis_styles",
    "gcj02_to_wgs84": "yulin_gis.crs",
    "wgs84_to_gcj02": "yulin_gis.crs",
    "bd09_to_wgs84": "yulin_gis.crs",
    "wgs84_to_bd09": "yulin_gis.crs",
    "get_path": "yulin_gis.datasets",
    "read_postgis_input": "yulin_gis.postgis",
    "publish_gpkg": "yulin_gis.postgis_publish",
    # result and option types
    "PackageResult": "yulin_gis.packages",
    "PlanResult": "yulin_gis.plan",
    "StaticLayer": "yulin_gis.symbology",
    "MapPage": "yulin_gis.webmap",
    "LayerStyle": "yulin_gis.qgis_styles",
    "ValidationReport": "yulin_gis.validate",
    "RawLayer": "yulin_gis.io",
    "Profile": "yulin_gis.profile",
    "NetworkSet": "yulin_gis.network",
    "UtilityNetwork": "yulin_gis.network",
    "WalkNetwork": "yulin_gis.accessibility",
    "ProgressResult": "yulin_gis.assessment",
    "LocalEngine": "yulin_gis.engine",
    "DaskEngine": "yulin_gis.engine",
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
