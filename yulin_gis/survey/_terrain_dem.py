"""Reading the DEM for the terrain statistics (数字高程模型读取).

Helpers of :func:`yulin_gis.survey._terrain.compound_terrain`: open the DEM (a clear error when
the file is missing, unreadable or has no CRS), bring the compound footprints and their
ring buffers (buffered in metres) into the DEM's CRS, read the window covering a set of
compounds with nodata and infinite values as NaN, and group compounds into blocks whose
windows stay under the pixel budget. The raster itself is never resampled.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from yulin_gis.crs import layer_zone_epsg
from yulin_gis.errors import CRSError, InputFileError

if TYPE_CHECKING:
    import geopandas as gpd
    from affine import Affine

logger = logging.getLogger(__name__)


@dataclass
class _Grid:
    """The DEM window read: float32 values (NaN where nodata) and its transform."""

    z: np.ndarray
    transform: Affine
    has_nodata: bool = True

    @property
    def shape(self) -> tuple[int, int]:
        return self.z.shape  # type: ignore[return-value]


def _open_dem(dem_path: str | os.PathLike[str]) -> Any:
    import rasterio
    from rasterio.errors import RasterioIOError

    path = os.fspath(dem_path)
    if not os.path.exists(path):
        raise InputFileError(f"DEM file not found: {path}")
    try:
        src = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputFileError(f"cannot read DEM {path}: {exc}") from exc
    if src.crs is None:
        src.close()
        raise CRSError(f"DEM {path} has no CRS; assign one (e.g. EPSG:4546) before use")
    return src


def _geometries_in_dem_crs(
    compounds: gpd.GeoDataFrame, dem_crs: Any, ring_m: float, path: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Footprints and ring buffers (buffered in metres) in the DEM's CRS."""
    import geopandas as gpd

    crs = compounds.crs
    if crs is None:
        if dem_crs.is_geographic and ring_m > 0:
            raise CRSError(
                f"compounds have no CRS and DEM {path} is geographic; cannot buffer rings in metres"
            )
        logger.warning("compounds have no CRS; assuming the DEM's CRS (%s)", dem_crs)
        crs = dem_crs
    from pyproj import CRS

    geo = gpd.GeoSeries(compounds.geometry.values, crs=crs)
    metric = geo.to_crs(epsg=layer_zone_epsg(geo)) if geo.crs.is_geographic else geo
    target = CRS.from_user_input(dem_crs)

    def to_dem(series: gpd.GeoSeries) -> np.ndarray:
        same = series.crs is not None and series.crs.equals(target)
        return np.asarray((series if same else series.to_crs(target)).values, dtype=object)

    foot = to_dem(metric)
    if ring_m <= 0:
        return foot, None
    buf = shapely.buffer(np.asarray(metric.values), ring_m, quad_segs=8)
    return foot, to_dem(gpd.GeoSeries(buf, crs=metric.crs))


def _window_of(src: Any, bounds: Any) -> Any:
    """The DEM window covering ``bounds`` (rounded outwards, clipped), or None."""
    from rasterio.windows import Window, from_bounds

    win = from_bounds(*bounds, transform=src.transform)
    c0 = max(0, math.floor(win.col_off))
    r0 = max(0, math.floor(win.row_off))
    c1 = min(src.width, math.ceil(win.col_off + win.width) + 1)
    r1 = min(src.height, math.ceil(win.row_off + win.height) + 1)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _nodata_to_nan(src: Any, band: int, z: np.ndarray) -> np.ndarray:
    nodata = src.nodatavals[band - 1]
    if nodata is not None and not np.isnan(nodata):
        z[z == np.float32(nodata)] = np.nan
    z[np.isinf(z)] = np.nan
    return z


def _read_window(src: Any, bounds: Any, band: int) -> _Grid | None:
    """Read the DEM window covering ``bounds`` (minx, miny, maxx, maxy), or None."""
    window = _window_of(src, bounds)
    if window is None:
        return None
    z = _nodata_to_nan(src, band, src.read(band, window=window, out_dtype=np.float32))
    return _Grid(z=z, transform=src.window_transform(window), has_nodata=bool(np.isnan(z).any()))


def _blocks(src: Any, every: np.ndarray, max_window_px: int) -> list[np.ndarray]:
    """Group compounds so that each group's DEM window stays under ``max_window_px``.

    Compounds are binned by the centre of their (ring) bounding box on a grid of half the
    largest window's side; one group when everything fits in one window.
    """
    idx = np.flatnonzero(~(shapely.is_missing(every) | shapely.is_empty(every)))
    if len(idx) == 0:
        return []
    b = shapely.bounds(every[idx])
    total = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    win = _window_of(src, total)
    if win is None:
        return []
    if win.width * win.height <= max_window_px:
        return [idx]
    side = math.sqrt(max_window_px) / 2
    size_x, size_y = abs(src.transform.a) * side, abs(src.transform.e) * side
    kx = np.floor(((b[:, 0] + b[:, 2]) / 2 - total[0]) / size_x).astype(np.int64)
    ky = np.floor(((b[:, 1] + b[:, 3]) / 2 - total[1]) / size_y).astype(np.int64)
    key = kx * (int(ky.max()) + 1) + ky
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return [np.sort(part) for part in np.split(idx[order], cuts)]

