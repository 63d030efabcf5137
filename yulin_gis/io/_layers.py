"""The :class:`Layers` bundle: the validated, projected input layers of one run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["LAYER_NAMES", "Layers"]

LAYER_NAMES = ("compounds", "communities", "streets", "counties", "roads", "utilities",
               "facilities", "utility_nodes", "rivers")
"""Names of the vector input layers, in the order they are read and reported."""


@dataclass
class Layers:
    """The input layers of one run, with canonical fields, in one metric CRS.

    Attributes
    ----------
    compounds
        Residential compounds (小区), polygons or points; ``compound_id`` unique.
    communities, streets, counties, roads, utilities, facilities, utility_nodes, rivers
        Optional layers (社区, 街道, 县区, 道路, 管线, 公共服务设施, 管网节点 with role
        source/outfall, 河流); None when absent.
    dem_path
        Optional DEM GeoTIFF for the waterlogging evidence.
    crs
        The analysis CRS of every layer, e.g. ``"EPSG:4546"``.
    sources
        Layer name → the file (and layer) it was read from, for messages.
    """

    compounds: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None = None
    streets: gpd.GeoDataFrame | None = None
    counties: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    utilities: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
    utility_nodes: gpd.GeoDataFrame | None = None
    rivers: gpd.GeoDataFrame | None = None
    dem_path: Path | None = None
    crs: str = "EPSG:4546"
    sources: dict[str, str] = field(default_factory=dict)

    def present(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the vector layers that are present, by name."""
        out: dict[str, gpd.GeoDataFrame] = {}
        for name in LAYER_NAMES:
            layer = getattr(self, name)
            if layer is not None:
                out[name] = layer
        return out

    def to_crs(self, crs: str) -> Layers:
        """Return a copy with every vector layer reprojected to ``crs``."""
        changed = {name: layer.to_crs(crs) for name, layer in self.present().items()}
        return replace(self, crs=crs, **changed)
