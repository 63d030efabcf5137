"""Which of my pipes lie under next year's packages? A utility company's worked example.

A gas or water company holds its own pipe layer. The city publishes its renovation plan
as ``plan.gpkg`` (written by ``yulin-gis run``; layer ``packages`` with ``plan_year``).
Digging a street once is cheaper than twice, so the company wants every pipe segment
within a few metres of a package renovated next year: the list to inspect, and to upgrade
in the same trench.

The script writes a CSV with one row per pipe–package pair (segment, package, county,
plan year, metres of pipe within reach) and prints the totals.

    python docs/examples/pipes_under_next_year.py my_pipes.gpkg out/plan.gpkg --year 2023 --out pipes.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd

import yulin_gis as yg
from yulin_gis.crs import layer_zone_epsg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipes", type=Path, help="the company's pipe layer (GeoPackage/GeoJSON)")
    parser.add_argument("plan", type=Path, help="plan.gpkg written by yulin-gis run")
    parser.add_argument("--pipes-layer", default=None, help="layer in the pipes GeoPackage")
    parser.add_argument("--year", type=int, default=None,
                        help="plan year (default: the earliest year in the plan)")
    parser.add_argument("--distance-m", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("pipes_under_packages.csv"))
    args = parser.parse_args()

    packages = gpd.read_file(args.plan, layer="packages")
    # unscheduled packages have no plan year (an empty cell)
    packages["plan_year"] = pd.to_numeric(packages["plan_year"], errors="coerce").astype("Int64")
    year = args.year if args.year is not None else int(packages["plan_year"].min())
    chosen = packages[packages["plan_year"] == year]
    pipes = gpd.read_file(args.pipes, layer=args.pipes_layer)
    zone = layer_zone_epsg(chosen)  # the CGCS2000 Gauss–Krüger zone: distances in metres
    chosen, pipes = chosen.to_crs(epsg=zone), pipes.to_crs(epsg=zone)

    pairs = yg.pipes_near_compounds(chosen, pipes, distance_m=args.distance_m,
                                    id_field="package_id", lengths="within")
    info = chosen.set_index("package_id")[["county", "plan_year"]]
    table = pairs.join(info, on="package_id").sort_values(["package_id", "segment_id"])
    table.to_csv(args.out, index=False, encoding="utf-8")
    print(f"{year}: {len(chosen)} packages, {table['segment_id'].nunique()} pipe segments "
          f"within {args.distance_m:g} m -> {args.out}")


if __name__ == "__main__":
    main()
