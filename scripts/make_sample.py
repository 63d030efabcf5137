#!/usr/bin/env python
"""Rebuild the embedded Yulin sample in ``layers/`` (or a bigger synthetic city elsewhere).

Usage::

    python scripts/make_sample.py                      # rebuilds layers/ exactly
    python scripts/make_sample.py --out /tmp/big --compounds 100000 --pipes 1000000

The default run is deterministic: the committed files are what it writes.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from yulin_gis.sample import make_city  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, generate the city and write its files; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "layers", help="output folder (default: layers/)")
    parser.add_argument("--compounds", type=int, default=1500, help="number of compounds (default 1500)")
    parser.add_argument("--pipes", type=int, default=None, help="split mains to reach this many segments")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--mode", choices=["auto", "sample", "grid"], default="auto")
    parser.add_argument("--no-survey", action="store_true", help="skip the Excel survey table")
    parser.add_argument("--no-dem", action="store_true", help="skip the DEM GeoTIFF")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    city = make_city(args.compounds, seed=args.seed, n_pipes=args.pipes, mode=args.mode)
    t1 = time.perf_counter()
    paths = city.to_files(args.out, dem=not args.no_dem, survey=not args.no_survey)
    t2 = time.perf_counter()
    print(f"generated {len(city.compounds)} compounds, {len(city.utilities)} pipe segments, "
          f"{len(city.roads)} roads, {len(city.facilities)} facilities in {t1 - t0:.1f} s; "
          f"wrote in {t2 - t1:.1f} s:")
    for kind, path in paths.items():
        print(f"  {kind:7s} {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
