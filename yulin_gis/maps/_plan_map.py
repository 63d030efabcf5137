"""Plan maps as folium objects: ``yulin_gis.plan_map(source) -> folium.Map``.

The map of a run, for a notebook or a script::

    import folium
    import yulin_gis

    m = yulin_gis.plan_map("out/")                   # a run's folder, a plan.gpkg or a result
    folium.CircleMarker([22.63, 110.16], radius=8, tooltip="现场踏勘点").add_to(m)
    m                                                  # shown inline in Jupyter
    yulin_gis.save_map(m, "out/maps/my_map.html")      # or m.save(...)

The CLI writes its overview, per-county and per-utility maps with the same function
(the pipeline's map writer), so the two cannot drift apart; they share one
:class:`~yulin_gis.maps._cache.MapCache`, so each layer is built and encoded once. The map is offline
(Leaflet and plugins inline) unless ``offline=False``; it makes no request at all unless an
online ``basemap`` is chosen.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yulin_gis.errors import InputFileError

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

    from yulin_gis.maps._assets import RasterOverlay
    from yulin_gis.maps._cache import MapCache

__all__ = ["PlanLayers", "plan_map", "save_map"]

PlanState = Any
"""A :class:`yulin_gis.PlanState` (maps read results and never import orchestration)."""

logger = logging.getLogger(__name__)


@dataclass
class PlanLayers:
    """The layers a plan map draws (any CRS each); None when absent.

    Build it with :meth:`from_state` (a pipeline state) or :meth:`from_gpkg` (a run's
    ``plan.gpkg``), or directly from GeoDataFrames.
    """

    compounds: gpd.GeoDataFrame
    packages: gpd.GeoDataFrame | None = None
    pipe_upgrades: gpd.GeoDataFrame | None = None
    joint_trenches: gpd.GeoDataFrame | None = None
    counties: gpd.GeoDataFrame | None = None
    streets: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    utilities: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
    city: str | None = None

    @classmethod
    def from_state(cls, state: PlanState) -> PlanLayers:
        """The layers of a pipeline state (:class:`~yulin_gis.PlanState`)."""
        lay = state.layers
        return cls(state.compounds, state.packages, state.pipe_upgrades, state.joint_trenches,
                   lay.counties, lay.streets, lay.communities, lay.utilities, lay.facilities,
                   city=state.profile.city)

    @classmethod
    def from_gpkg(cls, path: str | os.PathLike[str]) -> PlanLayers:
        """Read the layers of a run's ``plan.gpkg`` (those present)."""
        import geopandas as gpd
        import pyogrio

        path = Path(path)
        try:
            present = {str(row[0]) for row in pyogrio.list_layers(path)}
        except Exception as exc:  # pyogrio raises several error types for unreadable files
            raise InputFileError(f"cannot read {path}: {exc}") from exc
        if "compounds" not in present:
            raise InputFileError(f"{path} has no 'compounds' layer; is it a plan.gpkg of a run?")
        found = {f.name: gpd.read_file(path, layer=f.name) for f in fields(cls)
                 if f.name in present}
        return cls(**found)


def _is_state(obj: Any) -> bool:
    """A pipeline state (duck-typed: maps never import the orchestration)."""
    return all(hasattr(obj, a) for a in ("layers", "profile", "options", "compounds", "packages"))


def _layers_of(source: Any) -> PlanLayers:
    from yulin_gis.io import Layers

    if isinstance(source, PlanLayers):
        return source
    if _is_state(source):
        return PlanLayers.from_state(source)
    if _is_state(getattr(source, "state", None)):  # a RunResult
        return PlanLayers.from_state(source.state)
    if isinstance(source, Layers):
        return PlanLayers(source.compounds, counties=source.counties, streets=source.streets,
                          communities=source.communities, utilities=source.utilities,
                          facilities=source.facilities)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        gpkg = path / "plan.gpkg" if path.is_dir() else path
        if not gpkg.is_file():
            raise InputFileError(f"{gpkg} does not exist: give a run's output folder, its "
                                 "plan.gpkg, a run result or PlanLayers")
        return PlanLayers.from_gpkg(gpkg)
    raise InputFileError(f"plan_map cannot read a {type(source).__name__}: give a run's "
                         "output folder, its plan.gpkg, a run result or PlanLayers")


def _default_city() -> str:
    from yulin_gis.profile import load_profile

    return str(load_profile().city)


def plan_map(
    source: Any,
    *,
    county: str | None = None,
    company: str | None = None,
    basemap: str | Sequence[str] = "offline",
    title: str | None = None,
    offline: bool = True,
    rasters: Sequence[RasterOverlay] = (),
    cache: MapCache | None = None,
    **options: Any,
) -> folium.Map:
    """A plan map as a ``folium.Map``: compounds, packages, boundaries, facilities, utilities.

    Parameters
    ----------
    source
        A run's output folder, its ``plan.gpkg``, a :class:`~yulin_gis.RunResult`,
        a :class:`~yulin_gis.PlanState`, :class:`PlanLayers` or input
        :class:`~yulin_gis.io._layers.Layers`.
    county
        Only this county's compounds and packages (the per-county map).
    company
        Only this utility company's networks and upgrades (the per-utility map).
    basemap
        ``"offline"`` (no tiles, no request), ``"osm"``, ``"tianditu"``, ``"gaode"``, … or
        an XYZ/WMTS template, or a list (see :func:`yulin_gis.maps._webmap.layers_map`).
    title
        Map title (default: the city's overview, county or company title).
    offline
        Leaflet and plugins inline (default) or from folium's CDNs.
    rasters
        GeoTIFF overlays (DEM, orthophoto): :class:`~yulin_gis.maps._assets.RasterOverlay`.
    cache
        A :class:`~yulin_gis.maps._cache.MapCache` given to every map of one source (the
        CLI's overview, per-county and per-utility maps): each layer is built and encoded
        once. The maps are the same as without it.
    **options
        Passed on to :func:`yulin_gis.maps._webmap.layers_map` (``decimals``, ``renderer``,
        ``gaode_shift``, ``tianditu_key``, ``max_zoom``, …).

    Returns
    -------
    folium.Map
        Display it in Jupyter, add any folium element, ``save()`` it (or
        :func:`save_map` for an atomic write).

    Raises
    ------
    InputFileError
        The source cannot be read.
    """
    from yulin_gis.maps._plan_layers import plan_map_layers
    from yulin_gis.maps._webmap import layers_map

    src = _layers_of(source)
    city = src.city or _default_city()
    if title is None:
        title = (f"{county}老旧小区改造规划" if county else f"{company}管线改造计划" if company
                 else f"{city}城镇老旧小区改造规划总览")
    layers = plan_map_layers(src, county=county, owner=company, cache=cache)
    opts = {"fit": ["小区"], **options}
    return layers_map(layers, title=title, basemap=basemap, offline=offline, raster_overlays=rasters,
                      cache=cache, **opts)


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Save a folium map atomically (never a half-written page); return the path.

    Raises
    ------
    OutputError
        The folder cannot be created or written.
    """
    from yulin_gis.maps._webmap import save_html

    return save_html(path, m.get_root().render())
