"""Write a synthetic province/country as partitioned GeoParquet (never into the repository).

Grid cities from :func:`yulin_gis.sample._city.make_city` (``mode="grid"``) are moved to
several longitudes — each in its own CGCS2000 Gauss–Krüger zone, one column astride the
109.5°E zone boundary — and several latitudes, renamed so that ids and county/street/
community names are unique, and written city by city with
:func:`yulin_gis.scale._partitions.write_partitioned` (``append=True``): memory stays that of one
city. Default: 16 cities × 12,500 compounds × 312,500 pipe segments = 200,000 compounds and
5,000,000 segments. The first four cities lie in four different zones, so
``--cities 4`` (or the first four batches of the full folder) is the 50,000 × 1,250,000 case.

Usage::

    python scripts/make_country.py --out /tmp/yulin_country            # 200k × 5M
    python scripts/make_country.py --out /tmp/country_small --cities 4 # 50k × 1.25M
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer

from yulin_gis.crs import gauss_kruger_epsg
from yulin_gis.io import Layers
from yulin_gis.sample import CORE, make_city
from yulin_gis.scale import write_partitioned

LONGITUDES = (105.0, 108.0, 109.5, 114.0)  # CM 105, CM 108, astride 109.5 (CM 108|111), CM 114
LATITUDES = (22.6, 24.2, 25.8, 27.4)


def city_layers(index: int, n_compounds: int, n_pipes: int, seed: int) -> Layers:
    """City ``index`` moved to its longitude/latitude, in that zone, with unique names."""
    lon = LONGITUDES[index % len(LONGITUDES)]
    lat = LATITUDES[(index // len(LONGITUDES)) % len(LATITUDES)]
    city = make_city(n_compounds, seed=seed + index, n_pipes=n_pipes, mode="grid", dem_resolution=250.0)
    epsg = gauss_kruger_epsg(lon)
    x, y = Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
    dx, dy = x - CORE[0], y - CORE[1]
    tag = f"C{index:02d}"

    def moved(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return gdf.set_geometry(gdf.geometry.translate(dx, dy)).set_crs(epsg, allow_override=True)

    comp = moved(city.compounds)
    comp["compound_id"] = tag + "-" + comp["compound_id"].astype(str)
    comp["community_id"] = tag + "-" + comp["community_id"].astype(str)
    comp["street"] = tag + comp["street"].astype(str)
    comp["county"] = f"{tag}{comp['county'].iloc[0]}"
    for col in comp.columns:
        if comp[col].dtype == bool:
            comp[col] = comp[col].astype("boolean")
    util = moved(city.utilities)
    util["segment_id"] = tag + "-" + util["segment_id"].astype(str)
    util["road_id"] = np.where(util["road_id"].astype(str) != "", tag + "-" + util["road_id"].astype(str), "")
    roads = moved(city.roads)
    roads["road_id"] = tag + "-" + roads["road_id"].astype(str)
    rivers = moved(city.rivers)
    rivers["river_id"] = tag + "-" + rivers["river_id"].astype(str)
    return Layers(compounds=comp, utilities=util, roads=roads, rivers=rivers, crs=f"EPSG:{epsg}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/yulin_country"), help="output folder")
    ap.add_argument("--cities", type=int, default=16)
    ap.add_argument("--compounds", type=int, default=12500, help="compounds per city")
    ap.add_argument("--pipes", type=int, default=312500, help="pipe segments per city")
    ap.add_argument("--tile-m", type=float, default=20000.0)
    ap.add_argument("--distance-m", type=float, default=30.0, help="halo (largest search distance)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    repo = Path(__file__).resolve().parents[1]
    if args.out.resolve().is_relative_to(repo):
        ap.error(f"write outside the repository, not into {args.out}")
    if args.out.exists():
        shutil.rmtree(args.out)
    t0 = time.perf_counter()
    n_c = n_u = 0
    for i in range(args.cities):
        t = time.perf_counter()
        layers = city_layers(i, args.compounds, args.pipes, args.seed)
        t_gen = time.perf_counter() - t
        write_partitioned(layers, args.out, distance_m=args.distance_m, tile_m=args.tile_m, append=True)
        n_c += len(layers.compounds)
        n_u += len(layers.utilities) if layers.utilities is not None else 0
        print(f"city {i:2d} {layers.crs}: {len(layers.compounds):,} compounds, "
              f"{0 if layers.utilities is None else len(layers.utilities):,} segments; "
              f"generate {t_gen:.1f} s, write {time.perf_counter() - t - t_gen:.1f} s", flush=True)
        del layers
    print(f"{n_c:,} compounds, {n_u:,} segments in {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
