"""Tests for yulin_gis.survey._terrain (DEM zonal statistics, waterlogging risk)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from rasterio.warp import Resampling, calculate_default_transform, reproject

from yulin_gis.errors import CRSError, InputFileError, SchemaError
from yulin_gis.survey import compound_terrain, waterlogging_risk

PX = 5.0
N = 120  # 120 x 120 pixels = 600 m
SIDE = N * PX
X0, Y0 = 500_000.0, 2_500_000.0 + SIDE  # top-left corner of the DEM (EPSG:4546)
NODATA = -9999.0


def _surface() -> np.ndarray:
    """A slope rising 1 m per 50 m eastwards, with a 3 m deep bowl around (250, 250)."""
    rows, cols = np.mgrid[0:N, 0:N]
    x = (cols + 0.5) * PX
    y = SIDE - (rows + 0.5) * PX  # metres north of the DEM's bottom edge
    z = 50 + x / 50.0
    z -= 3.0 * np.exp(-((x - 250) ** 2 + (y - 250) ** 2) / (2 * 25.0**2))
    return z.astype(np.float32)


def _write(path: Path, z: np.ndarray, crs: str | None = "EPSG:4546") -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=z.shape[0],
        width=z.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(X0, Y0, PX, PX),
        nodata=NODATA,
    ) as dst:
        dst.write(z, 1)
    return path


def _box(x: float, y: float, w: float, h: float | None = None) -> shapely.Polygon:
    """A box with its lower-left corner (x, y) metres from the DEM's bottom-left."""
    return shapely.box(X0 + x, Y0 - SIDE + y, X0 + x + w, Y0 - SIDE + y + (w if h is None else h))


@pytest.fixture
def z() -> np.ndarray:
    z = _surface()
    z[4:12, 4:8] = NODATA  # a nodata hole covering the west half of compound "holey"
    return z


@pytest.fixture
def dem(tmp_path: Path, z: np.ndarray) -> Path:
    return _write(tmp_path / "dem.tif", z)


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    geoms = [
        _box(230, 230, 40),  # in the bowl
        _box(420, 120, 40),  # on the plain slope
        _box(20, 540, 40),  # rows 4..11, cols 4..11: west half nodata
        _box(101, 101, 2),  # 2 m x 2 m, inside pixel (row 99, col 20), off its centre
        _box(5000, 5000, 40),  # far outside the DEM
        _box(150, 40, 60, 40),  # two neighbours whose rings overlap
        _box(215, 40, 40),
    ]
    ids = ["bowl", "slope", "holey", "tiny", "outside", "west", "east"]
    return gpd.GeoDataFrame({"compound_id": ids}, geometry=geoms, crs="EPSG:4546")


def _mask_mean(z: np.ndarray, geom, transform) -> float:
    inside = ~geometry_mask([geom], out_shape=z.shape, transform=transform)
    vals = z[inside & (z != NODATA)].astype(np.float64)
    return float(vals.mean())


def test_depression_is_low_and_flagged(dem, compounds):
    t = compound_terrain(compounds, dem)
    assert list(t.index) == list(compounds["compound_id"])
    assert t.loc["bowl", "rel_elev_m"] < -1.0
    assert abs(t.loc["slope", "rel_elev_m"]) < 0.2
    risk = waterlogging_risk(t)
    assert risk["bowl"]
    assert not risk["slope"]
    assert risk.dtype == bool
    assert t.loc["slope", "pixel_count"] == 64
    assert t.loc["slope", "low_share"] == 0.0
    # low ground: the western fifth of the slope (below the 20 % quantile)
    assert t.attrs["low_elevation_m"] == pytest.approx(
        np.quantile(_surface()[_surface() != NODATA], 0.2), abs=0.5
    )


def test_thresholds_are_arguments(dem, compounds):
    t = compound_terrain(compounds, dem)
    assert not waterlogging_risk(t, rel_elev_threshold_m=-5.0, low_share_threshold=1.1)["bowl"]
    assert waterlogging_risk(t, rel_elev_threshold_m=-5.0, low_share_threshold=0.0)["slope"]


def test_matches_per_polygon_masks(dem, z, compounds):
    """Footprints and (overlapping) rings equal independent per-polygon mask reads."""
    t = compound_terrain(compounds, dem, ring_m=100.0)
    transform = from_origin(X0, Y0, PX, PX)
    for cid in ("bowl", "slope", "holey", "west", "east"):
        geom = compounds.set_index("compound_id").geometry[cid]
        assert t.loc[cid, "elev_mean"] == pytest.approx(_mask_mean(z, geom, transform), abs=1e-9)
        ring_in = ~geometry_mask(
            [geom.buffer(100.0, quad_segs=8)], out_shape=z.shape, transform=transform
        )
        foot_in = ~geometry_mask([geom], out_shape=z.shape, transform=transform)
        vals = z[ring_in & ~foot_in & (z != NODATA)].astype(np.float64)
        assert t.loc[cid, "ring_mean"] == pytest.approx(vals.mean(), abs=1e-9)


def test_nodata_excluded(dem, z, compounds):
    t = compound_terrain(compounds, dem)
    # the compound covers rows 4..11, cols 4..11; cols 4..7 are nodata
    expected = _surface()[4:12, 8:12].astype(np.float64)
    assert t.loc["holey", "pixel_count"] == 32
    assert t.loc["holey", "elev_mean"] == pytest.approx(expected.mean(), abs=1e-9)
    assert t.loc["holey", "elev_min"] == pytest.approx(expected.min(), abs=1e-6)


def test_small_compound_supersampled(dem, compounds):
    t = compound_terrain(compounds, dem)
    assert t.loc["tiny", "supersampled"]
    assert t.loc["tiny", "pixel_count"] == 1
    assert t.loc["tiny", "elev_mean"] == pytest.approx(float(_surface()[99, 20]), abs=1e-6)
    assert not t.loc["slope", "supersampled"]


def test_outside_gets_nan_and_zero_pixels(dem, compounds):
    t = compound_terrain(compounds, dem)
    assert t.loc["outside", "pixel_count"] == 0
    assert math.isnan(t.loc["outside", "elev_mean"])
    assert math.isnan(t.loc["outside", "rel_elev_m"])
    assert math.isnan(t.loc["outside", "low_share"])
    assert not waterlogging_risk(t)["outside"]


def test_dem_in_geographic_crs_same_answer(tmp_path, z, compounds):
    src_path = _write(tmp_path / "dem4546.tif", z)
    dst_path = tmp_path / "dem4326.tif"
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4326", src.width, src.height, *src.bounds
        )
        out = np.full((height, width), NODATA, np.float32)
        reproject(
            rasterio.band(src, 1),
            out,
            dst_transform=transform,
            dst_crs="EPSG:4326",
            resampling=Resampling.bilinear,
            src_nodata=NODATA,
            dst_nodata=NODATA,
        )
    with rasterio.open(
        dst_path,
        "w",
        driver="GTiff",
        height=height,
        width=width,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=NODATA,
    ) as dst:
        dst.write(out, 1)
    a = compound_terrain(compounds, src_path)
    b = compound_terrain(compounds, dst_path)
    for cid in ("bowl", "slope", "west", "east"):
        assert b.loc[cid, "elev_mean"] == pytest.approx(a.loc[cid, "elev_mean"], abs=0.15)
        assert b.loc[cid, "rel_elev_m"] == pytest.approx(a.loc[cid, "rel_elev_m"], abs=0.15)
    assert waterlogging_risk(b)["bowl"]
    assert not waterlogging_risk(b)["slope"]
    assert b.loc["outside", "pixel_count"] == 0


def test_compounds_in_other_crs_are_reprojected(dem, compounds):
    a = compound_terrain(compounds, dem)
    b = compound_terrain(compounds.to_crs("EPSG:4490"), dem)
    assert b.loc["bowl", "elev_mean"] == pytest.approx(a.loc["bowl", "elev_mean"], abs=0.05)
    assert b.loc["bowl", "ring_mean"] == pytest.approx(a.loc["bowl", "ring_mean"], abs=0.05)


def test_absolute_low_elevation_and_no_ring(dem, compounds):
    t = compound_terrain(compounds, dem, ring_m=0, low_elevation_m=1000.0)
    assert t.loc["slope", "low_share"] == 1.0
    assert t["ring_mean"].isna().all()
    assert t.attrs["low_elevation_m"] == 1000.0


def test_unreadable_dem(tmp_path, compounds):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff at all")
    with pytest.raises(InputFileError, match=r"broken\.tif"):
        compound_terrain(compounds, bad)
    with pytest.raises(InputFileError, match=r"missing\.tif"):
        compound_terrain(compounds, tmp_path / "missing.tif")


def test_dem_without_crs(tmp_path, z, compounds):
    path = _write(tmp_path / "nocrs.tif", z, crs=None)
    with pytest.raises(CRSError, match=r"nocrs\.tif"):
        compound_terrain(compounds, path)


def test_schema_errors(dem, compounds):
    with pytest.raises(SchemaError, match="compound_id"):
        compound_terrain(compounds.drop(columns="compound_id"), dem)
    with pytest.raises(SchemaError, match="low_share"):
        waterlogging_risk(compound_terrain(compounds, dem).drop(columns="low_share"))


def test_blocks_give_the_same_answer(dem, compounds, caplog):
    """Compounds spread over more than one DEM window are processed block by block."""
    one = compound_terrain(compounds, dem, low_elevation_m=52.0)
    with caplog.at_level(logging.INFO, logger="yulin_gis.survey._terrain"):
        many = compound_terrain(compounds, dem, low_elevation_m=52.0, max_window_px=3000)
    assert "DEM windows" in caplog.text
    cols = ["elev_mean", "elev_min", "pixel_count", "ring_mean", "low_share", "supersampled"]
    np.testing.assert_allclose(
        many[cols].to_numpy(float), one[cols].to_numpy(float), rtol=0, atol=1e-9
    )
    # the quantile then comes from a decimated read of the whole region
    q = compound_terrain(compounds, dem, max_window_px=3000).attrs["low_elevation_m"]
    assert q == pytest.approx(float(np.quantile(_surface(), 0.2)), abs=0.3)


def test_point_compounds_from_survey_tables(dem):
    """Compounds known only as points take the value of the pixel they fall in."""
    pts = gpd.GeoDataFrame(
        {"compound_id": ["p1", "p2"]},
        geometry=[
            shapely.Point(X0 + 101.0, Y0 - SIDE + 101.0),  # pixel (row 99, col 20)
            shapely.Point(X0 + 252.0, Y0 - SIDE + 248.0),  # bottom of the bowl
        ],
        crs="EPSG:4546",
    )
    t = compound_terrain(pts, dem)
    assert t.loc["p1", "elev_mean"] == pytest.approx(float(_surface()[99, 20]), abs=1e-6)
    assert t.loc["p1", "pixel_count"] == 1
    assert t.loc["p2", "rel_elev_m"] < -1.5
    assert waterlogging_risk(t)["p2"]


def test_rings_without_nodata_match_masks(tmp_path, compounds):
    """Ring sums by scanlines equal per-polygon masks on a DEM with no nodata at all."""
    z = _surface()
    path = _write(tmp_path / "clean.tif", z)
    t = compound_terrain(compounds, path, ring_m=60.0)
    transform = from_origin(X0, Y0, PX, PX)
    geoms = compounds.set_index("compound_id").geometry
    for cid in ("bowl", "slope", "holey", "west", "east", "tiny"):
        ring_in = ~geometry_mask(
            [geoms[cid].buffer(60.0, quad_segs=8)], out_shape=z.shape, transform=transform
        )
        foot_in = ~geometry_mask([geoms[cid]], out_shape=z.shape, transform=transform)
        expected = z[ring_in & ~foot_in].astype(np.float64).mean()
        assert t.loc[cid, "ring_mean"] == pytest.approx(expected, abs=1e-9)


def test_ring_scanlines_equal_grouped_burning(z, compounds):
    """The two ring methods (scanlines; grouped rasterising for rotated DEMs) agree."""
    from yulin_gis.survey import _terrain as terrain

    grid = terrain._Grid(
        z=np.where(z == NODATA, np.nan, z).astype(np.float32),
        transform=from_origin(X0, Y0, PX, PX),
    )
    rings = np.asarray(compounds.geometry.buffer(100.0, quad_segs=8).values, dtype=object)
    groups = terrain._groups(rings, exact=False)
    assert len(groups) > 1  # the rings overlap
    a, b = terrain._Acc.empty(len(rings)), terrain._Acc.empty(len(rings))
    terrain._span_sums(grid, rings, a)
    terrain._burn(grid, rings, groups, b, low_thr=0.0, full=False)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_allclose(a.total, b.total, rtol=1e-12)
    assert a.weight[compounds["compound_id"].tolist().index("outside")] == 0


def test_fast_raster_helpers_equal_the_plain_calls() -> None:
    """group_min is np.minimum.at; geojson_like holds each polygon's own coordinates."""
    import numpy as np
    import shapely

    from yulin_gis.survey import geojson_like, group_min

    rng = np.random.default_rng(1)
    k = rng.integers(0, 50, 5000)
    z = rng.normal(size=5000).astype(np.float32)
    plain = np.full(60, np.inf)
    np.minimum.at(plain, k, z)
    fast = np.full(60, np.inf)
    group_min(fast, k, z)
    assert np.array_equal(plain, fast)
    geoms = np.array([shapely.box(0, 0, 2, 1), shapely.Point(3, 3),
                      shapely.box(0, 0, 9, 9).difference(shapely.box(2, 2, 4, 4)),
                      shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)])],
                     dtype=object)
    out = geojson_like(geoms)
    for g, o in zip(geoms, out, strict=True):
        if isinstance(o, dict):
            want = g.__geo_interface__["coordinates"]
            assert [list(map(list, r)) for r in want] == o["coordinates"]
        else:
            assert o is g
