"""Survey (摸清底数): eligibility tiers, renovation items and evidence, pipe hazards, terrain, life-circle accessibility, priority and cost.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.survey._accessibility import (
        WalkNetwork,
        default_thresholds,
        life_circle_gaps,
        nearest_facility_distances,
        walking_network,
    )
    from yulin_gis.survey._assess import (
        assess_compounds,
    )
    from yulin_gis.survey._hazards import (
        compound_pipe_hazards,
        hazardous_segments,
    )
    from yulin_gis.survey._measures import (
        measure,
    )
    from yulin_gis.survey._raster import (
        geojson_like,
        group_min,
    )
    from yulin_gis.survey._terrain import (
        compound_terrain,
        waterlogging_risk,
    )

_LAZY = {
    "WalkNetwork": "_accessibility",
    "assess_compounds": "_assess",
    "compound_pipe_hazards": "_hazards",
    "compound_terrain": "_terrain",
    "default_thresholds": "_accessibility",
    "geojson_like": "_raster",
    "group_min": "_raster",
    "hazardous_segments": "_hazards",
    "life_circle_gaps": "_accessibility",
    "measure": "_measures",
    "nearest_facility_distances": "_accessibility",
    "walking_network": "_accessibility",
    "waterlogging_risk": "_terrain",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "WalkNetwork",
    "assess_compounds",
    "compound_pipe_hazards",
    "compound_terrain",
    "default_thresholds",
    "geojson_like",
    "group_min",
    "hazardous_segments",
    "life_circle_gaps",
    "measure",
    "nearest_facility_distances",
    "walking_network",
    "waterlogging_risk",
]
