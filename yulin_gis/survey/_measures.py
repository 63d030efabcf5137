"""Quantities of roofs, facades and roads (屋面、外墙、道路工程量), measured the right way.

Floor area (建筑面积) counts every storey and inflates these works several-fold. Instead:

* **roof area** (``roof_m2``) is the buildings' footprint: a surveyed ``footprint_m2``;
  else ``floor_area_m2 / floors``; else the site polygon's area × the profile's
  ``measures.building_coverage`` (estimated);
* **facade area** (``facade_m2``) is perimeter × height: each building's footprint taken
  as a slab ``building_aspect`` times as long as it is deep (perimeter
  ``2·d·(1 + aspect)`` with ``d = sqrt(footprint / aspect)``), times ``floors ×
  storey_height_m``, times the number of buildings;
* **road area** (``site_m2``) is the site (``site_area_m2``, else the polygon's area) ×
  ``measures.road_share_of_site``.

Each quantity comes with a mask of the rows where a fallback was used, so the survey's
evidence can say ``[数量估算]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from yulin_gis.profile import Profile

__all__ = ["MEASURED_UNITS", "measure"]

MEASURED_UNITS: tuple[str, ...] = ("roof_m2", "facade_m2", "site_m2")
"""Units whose quantity :func:`measure` computes."""


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _polygon_area(frame: pd.DataFrame) -> np.ndarray:
    geom = getattr(frame, "geometry", None)
    if geom is None:
        return np.full(len(frame), np.nan)
    crs = getattr(frame, "crs", None)
    if crs is not None and crs.is_geographic:
        return np.full(len(frame), np.nan)
    area = np.asarray(geom.area, dtype=float)
    return np.where(area > 0, area, np.nan)


def _footprint(comp: pd.DataFrame, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    direct = _num(comp, "footprint_m2")
    floors = _num(comp, "floors")
    with np.errstate(invalid="ignore", divide="ignore"):
        from_floor = np.where(floors > 0, _num(comp, "floor_area_m2") / floors, np.nan)
    site = _site(comp)[0]
    out = np.where(direct > 0, direct, np.where(from_floor > 0, from_floor, site * coverage))
    est = ~(direct > 0) & ~(from_floor > 0)
    return np.nan_to_num(out), est


def _site(comp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    surveyed = _num(comp, "site_area_m2")
    poly = _polygon_area(comp)
    return np.where(surveyed > 0, surveyed, poly), ~(surveyed > 0)


def measure(unit: str, comp: pd.DataFrame, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Quantity per compound in ``unit`` (one of :data:`MEASURED_UNITS`) and the estimated mask.

    Parameters
    ----------
    unit
        ``roof_m2``, ``facade_m2`` or ``site_m2``.
    comp
        Compounds (a GeoDataFrame in a metric CRS for the polygon fallbacks).
    profile
        Supplies ``measures`` (storey height, coverage, aspect, road share).

    Returns
    -------
    tuple of numpy.ndarray
        Quantities in square metres (0 where nothing is known) and a boolean mask of rows
        where a fallback was used.
    """
    m = profile.x.measures
    if unit == "site_m2":
        site, est = _site(comp)
        return np.nan_to_num(site * m.road_share_of_site), est | np.isnan(site)
    foot, est = _footprint(comp, m.building_coverage)
    if unit == "roof_m2":
        return foot, est
    if unit != "facade_m2":
        raise ValueError(f"measure() does not know unit {unit!r}")
    bld = _num(comp, "buildings")
    n = np.where(bld > 0, bld, 1.0)
    floors = _num(comp, "floors")
    height = np.where(floors > 0, floors, 1.0) * m.storey_height_m
    depth = np.sqrt(foot / n / m.building_aspect)
    perimeter = 2.0 * depth * (1.0 + m.building_aspect)
    return np.nan_to_num(n * perimeter * height), est | ~(bld > 0) | ~(floors > 0)
