"""GCJ-02 / BD-09 conversion and zone choice."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from yulin_gis import crs
from yulin_gis.errors import CRSError

# Published reference values of the public formula (wandergis/coordTransform README,
# the vectors reproduced by eviltransform and many ports).
REF = (116.404, 39.915)


def _metres(dlon: np.ndarray, dlat: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.hypot(dlon * 111_320.0 * np.cos(np.radians(lat)), dlat * 110_574.0)


def test_wgs84_to_gcj02_matches_published_reference() -> None:
    lon, lat = crs.wgs84_to_gcj02(*REF)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)


def test_gcj02_to_bd09_matches_published_reference() -> None:
    lon, lat = crs.gcj02_to_bd09(*REF)
    assert lon == pytest.approx(116.41036949371029, abs=1e-12)
    assert lat == pytest.approx(39.92133699351021, abs=1e-12)


def test_wgs84_to_bd09_matches_published_reference() -> None:
    lon, lat = crs.wgs84_to_bd09(*REF)
    assert lon == pytest.approx(116.41662724378733, abs=1e-12)
    assert lat == pytest.approx(39.922699552216216, abs=1e-12)


def test_inverses_agree_with_published_approximate_inverses_to_a_few_metres() -> None:
    # The published one-step inverses are approximate; ours are exact, so they differ a bit.
    lon, lat = crs.gcj02_to_wgs84(*REF)
    assert _metres(lon - 116.39775550083061, lat - 39.91359571849836, lat) < 2.0
    lon, lat = crs.bd09_to_gcj02(*REF)
    assert _metres(lon - 116.39762729119315, lat - 39.90865673957631, lat) < 2.0


def test_round_trip_100k_points_within_1mm() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(73.7, 134.7, 100_000)
    lat = rng.uniform(18.2, 53.5, 100_000)
    for fwd, inv in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84),
                     (crs.wgs84_to_bd09, crs.bd09_to_wgs84),
                     (crs.gcj02_to_bd09, crs.bd09_to_gcj02)):
        back_lon, back_lat = inv(*fwd(lon, lat))
        assert _metres(back_lon - lon, back_lat - lat, lat).max() < 0.001


def test_shift_size_at_yulin_matches_domain_figures() -> None:
    lon, lat = np.array([110.15]), np.array([22.63])
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = crs.wgs84_to_bd09(lon, lat)
    assert 450 < _metres(g_lon - lon, g_lat - lat, lat)[0] < 650
    assert 1000 < _metres(b_lon - lon, b_lat - lat, lat)[0] < 1300


def test_outside_china_is_not_shifted() -> None:
    lon, lat = crs.wgs84_to_gcj02([2.35, 139.9], [48.85, 35.7])  # Paris; Tokyo east of box
    assert lon[0] == 2.35 and lat[0] == 48.85
    assert lon[1] == 139.9


def test_gauss_kruger_zone_choice() -> None:
    assert crs.gauss_kruger_epsg(110.15, 22.63) == 4546  # Yulin core, CM 111E
    assert crs.gauss_kruger_epsg(109.3, 22.0) == 4545  # west Bobai, CM 108E
    assert crs.gauss_kruger_epsg(116.4, 39.9) == 4548  # Beijing, CM 117E
    with pytest.raises(CRSError):
        crs.gauss_kruger_epsg(2.35, 48.85)


def test_parse_input_crs() -> None:
    assert crs.parse_input_crs("GCJ-02") == "gcj02"
    assert crs.parse_input_crs("baidu") == "bd09"
    assert crs.parse_input_crs("wgs84") == "EPSG:4326"
    assert crs.parse_input_crs("EPSG:4546") == "EPSG:4546"
    assert crs.parse_input_crs(None) is None
    with pytest.raises(CRSError, match="Unknown input CRS"):
        crs.parse_input_crs("EPSG:999999")


def test_to_storage_crs_converts_gcj02_layer() -> None:
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(110.15, 22.63)
    layer = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(gcj_lon, gcj_lat)])
    out = crs.to_storage_crs(layer, "gcj02")
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[0].x == pytest.approx(110.15, abs=1e-9)
    assert out.geometry.iloc[0].y == pytest.approx(22.63, abs=1e-9)
    assert out["a"].tolist() == [1]


def test_to_storage_crs_needs_a_crs() -> None:
    layer = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="no coordinate reference system"):
        crs.to_storage_crs(layer)


def test_convert_geometries_keeps_polygon_holes() -> None:
    poly = box(110.1, 22.6, 110.2, 22.7).difference(box(110.12, 22.62, 110.13, 22.63))
    layer = gpd.GeoDataFrame(geometry=[poly], crs="EPSG:4326")
    out = crs.convert_geometries(layer, crs.wgs84_to_gcj02)
    assert len(out.geometry.iloc[0].interiors) == 1
    assert out.geometry.iloc[0].area == pytest.approx(poly.area, rel=2e-2)  # shift varies a little
