"""Shared fixtures: tiny layers made in code, in Yulin's urban core."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box


def _compound_frame(n: int = 4) -> gpd.GeoDataFrame:
    x0, y0, step = 110.150, 22.630, 0.002
    return gpd.GeoDataFrame(
        {
            "compound_id": [f"C{i:03d}" for i in range(n)],
            "name": [f"小区{i}" for i in range(n)],
            "built_year": [1985 + 5 * i for i in range(n)],
            "households": [100 + 50 * i for i in range(n)],
            "buildings": [2 + i for i in range(n)],
        },
        geometry=[box(x0 + i * step, y0, x0 + i * step + 0.001, y0 + 0.001) for i in range(n)],
        crs="EPSG:4490",
    )


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    """Four square compounds near 110.15°E 22.63°N, canonical English fields."""
    return _compound_frame()


@pytest.fixture
def communities() -> gpd.GeoDataFrame:
    """Two communities covering the compounds of :func:`compounds`."""
    return gpd.GeoDataFrame(
        {"community_id": ["450902001001", "450902001002"], "name": ["东社区", "西社区"],
         "street": ["玉城街道", "玉城街道"], "county": ["玉州区", "玉州区"]},
        geometry=[box(110.149, 22.629, 110.1535, 22.632), box(110.1535, 22.629, 110.158, 22.632)],
        crs="EPSG:4490",
    )


@pytest.fixture
def sample_gpkg(tmp_path: Path, compounds: gpd.GeoDataFrame,
                communities: gpd.GeoDataFrame) -> Path:
    """A GeoPackage with compounds and communities layers."""
    path = tmp_path / "input.gpkg"
    compounds.to_file(path, layer="compounds")
    communities.to_file(path, layer="communities")
    return path


@pytest.fixture
def survey_table(compounds: gpd.GeoDataFrame) -> pd.DataFrame:
    """The compounds as a Chinese-header survey table with WGS84 lon/lat."""
    cents = compounds.geometry.centroid
    return pd.DataFrame({
        "小区编号": compounds["compound_id"], "小区名称": compounds["name"],
        "建成年代": [f"{y}年" for y in compounds["built_year"]],
        "户数": [f"{h:,}" for h in compounds["households"]],
        "经度": cents.x, "纬度": cents.y,
    })


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 150-compound synthetic Yulin written as files (gpkg, dem, survey, truth)."""
    from yulin_gis.sample import make_city, write_city

    return write_city(make_city(150, seed=3), tmp_path_factory.mktemp("small_city"))


@pytest.fixture(scope="session")
def small_run(small_city: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The whole pipeline run once on :func:`small_city` (maps included)."""
    from yulin_gis.pipeline import run

    out = tmp_path_factory.mktemp("small_run")
    return run(small_city["gpkg"], out, dem=small_city["dem"])
