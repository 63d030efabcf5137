"""The worked scripts in docs/examples run on the embedded sample and give what run gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from yulin_gis.sample import get_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``run`` on the embedded sample up to the annual plan (no maps): out/plan.gpkg."""
    from yulin_gis.pipeline import run

    out = tmp_path_factory.mktemp("sample_plan")
    run(get_path("gpkg"), out, dem=get_path("dem"), until="plan", maps=False)
    return out / "plan.gpkg"


def _script(name: str, *args: object, cwd: Path) -> str:
    env_path = str(ROOT)
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=600,
                          env={**__import__("os").environ, "PYTHONPATH": env_path})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_group_into_zones_gives_the_packages_of_run(planned: Path, tmp_path: Path) -> None:
    out = tmp_path / "zones.gpkg"
    stdout = _script("group_into_zones.py", get_path("gpkg"), "--dem", get_path("dem"),
                     "--out", out, cwd=tmp_path)
    assert "zones" in stdout
    mine = gpd.read_file(out, layer="compounds").set_index("compound_id")["package_id"]
    theirs = gpd.read_file(planned, layer="compounds").set_index("compound_id")["package_id"]
    assert len(mine) == len(theirs) == 1500
    mine, theirs = mine.fillna("").astype(str), theirs.fillna("").astype(str)
    # every compound's package, row by row (not counts)
    assert mine.reindex(theirs.index).tolist() == theirs.tolist()
    assert (theirs != "").sum() > len(theirs) // 2  # most packaged (low consent is held back)
    zones = gpd.read_file(out, layer="zones")
    assert sorted(zones["package_id"]) == sorted(set(theirs[theirs != ""]))


def test_pipes_under_next_year(planned: Path, tmp_path: Path) -> None:
    pipes = gpd.read_file(get_path("gpkg"), layer="utilities")
    owner = pipes["owner"].value_counts().index[0]
    mine = pipes[pipes["owner"] == owner]
    mine.to_file(tmp_path / "my_pipes.geojson", driver="GeoJSON")
    packages = gpd.read_file(planned, layer="packages")
    packages["plan_year"] = pd.to_numeric(packages["plan_year"], errors="coerce")
    year = int(packages["plan_year"].min())
    out = tmp_path / "pipes.csv"
    stdout = _script("pipes_under_next_year.py", tmp_path / "my_pipes.geojson", planned,
                     "--year", year, "--distance-m", 10, "--out", out, cwd=tmp_path)
    assert str(year) in stdout
    table = pd.read_csv(out, dtype={"segment_id": str, "package_id": str})
    assert len(table) > 0
    assert set(table["plan_year"]) == {year}
    assert set(table["segment_id"]) <= set(mine["segment_id"])
    # independent check: every pair within 10 m, and every pipe within 10 m of such a package listed
    chosen = packages[packages["plan_year"] == year].to_crs(4546).set_index("package_id")
    seg = mine.to_crs(4546).set_index("segment_id")
    d = shapely.distance(chosen.geometry.loc[table["package_id"]].to_numpy(),
                         seg.geometry.loc[table["segment_id"]].to_numpy())
    assert (d <= 10.0 + 1e-6).all()
    expect = set()
    tree = shapely.STRtree(seg.geometry.to_numpy())
    for pid, geom in chosen.geometry.items():
        for j in tree.query(geom, predicate="dwithin", distance=10.0):
            expect.add((pid, seg.index[j]))
    got = set(zip(table["package_id"], table["segment_id"], strict=True))
    assert got == expect
    assert np.isfinite(table["length_in_m"]).all()
