"""Shared input checks and labels of the utility modules (管线: overlay, renewal, trenches).

Private helpers used by :mod:`yulin_gis.utilities`, :mod:`yulin_gis.renewal` and
:mod:`yulin_gis.trenches`; nothing public.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from yulin_gis.errors import CRSError, SchemaError
from yulin_gis.utility_types import UTILITY_LABELS_ZH

__all__: list[str] = []

_LABELS_ZH = {**UTILITY_LABELS_ZH, "road": "道路面层"}


def _check_metric(gdf: gpd.GeoDataFrame, name: str) -> None:
    if gdf.crs is not None and gdf.crs.is_geographic:
        raise CRSError(f"{name} are in a geographic CRS ({gdf.crs.to_string()}); project them "
                       "to a metric CRS such as EPSG:4546 first")


def _same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, names: str) -> None:
    if a.crs is not None and b.crs is not None and not a.crs.equals(b.crs):
        raise CRSError(f"{names} are in different CRSs ({a.crs.to_string()} vs "
                       f"{b.crs.to_string()}); project both to the analysis CRS first")


def _need(df: pd.DataFrame, cols: Iterable[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{name} lack column(s) {', '.join(missing)}")
