"""The synthetic Yulin city and the embedded sample in layers/."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from yulin_gis.crs import STORAGE_CRS, gcj02_to_wgs84
from yulin_gis.errors import InputFileError
from yulin_gis.io import GAP_FIELDS, VOCABULARIES
from yulin_gis.sample import (
    ANALYSIS_CRS,
    SyntheticCity,
    hazard_of,
    load_real_divisions,
    make_city,
)
from yulin_gis.sample import _datasets as datasets

SOURCE = Path(__file__).resolve().parent.parent / "layers" / "source"


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return make_city(300, seed=3, dem_resolution=20.0)


def test_same_seed_gives_identical_layers(city: SyntheticCity) -> None:
    again = make_city(300, seed=3, dem_resolution=20.0)
    for name, layer in city.vector_layers().items():
        assert_geodataframe_equal(layer, again.vector_layers()[name])
    assert np.array_equal(city.dem, again.dem)
    assert city.truth == again.truth


def test_counts_and_values_in_range(city: SyntheticCity) -> None:
    c = city.compounds
    assert len(c) == 300
    assert c.compound_id.is_unique
    assert 40 <= len(city.communities) <= 60
    assert c.built_year.between(1975, 2015).all()
    assert (c.built_year <= 2000).mean() > 0.5
    assert c.households.between(20, 1500).all()
    assert c.floors.between(2, 18).all()
    assert set(c.housing_type) <= set(VOCABULARIES["housing_type"])
    assert set(city.utilities.utility) == set(VOCABULARIES["utility"])
    assert set(city.utilities.material) <= set(VOCABULARIES["material"])
    assert set(city.utilities.condition) <= set(VOCABULARIES["condition"])
    assert set(city.roads.road_class) == set(VOCABULARIES["road_class"]) - {"other"}
    assert set(city.facilities.kind) == set(VOCABULARIES["facility_kind"])
    assert set(city.utility_nodes.role) == {"source", "outfall"}
    assert {f.name for f in GAP_FIELDS} <= set(c.columns)
    assert c.urban_village.any()
    assert c.renovated_year.notna().any()
    assert all(layer.crs == ANALYSIS_CRS for layer in city.vector_layers().values())


def test_compounds_inside_real_converted_boundaries(city: SyntheticCity) -> None:
    counties, _ = load_real_divisions(SOURCE, SOURCE / "yulin_divisions_2023.csv")
    assert city.compounds.geometry.within(counties.geometry.union_all()).all()
    raw = gpd.read_file(SOURCE / "450902.geojson").set_crs("EPSG:4326", allow_override=True)
    shift = raw.to_crs(ANALYSIS_CRS).centroid.iloc[0].distance(counties.centroid.iloc[0])
    assert 400 < shift < 700  # the GCJ-02 offset was removed


def test_communities_use_real_codes(city: SyntheticCity) -> None:
    div = pd.read_csv(SOURCE / "yulin_divisions_2023.csv", dtype=str)
    real = div[(div.level == "village") & div.name.str.contains("社区")].set_index("code")
    comm = city.communities
    assert comm.community_id.is_unique
    assert set(comm.community_id) <= set(real.index)
    assert all(real.loc[cid, "name"].startswith(name) for cid, name in zip(comm.community_id, comm.name, strict=False))
    assert set(comm.street) == {"玉城街道", "南江街道", "城西街道", "城北街道", "名山街道", "福绵镇"}
    assert comm.community_id.str.len().eq(12).all()


def test_compound_community_matches_containing_polygon(city: SyntheticCity) -> None:
    pts = gpd.GeoDataFrame(city.compounds[["compound_id", "community_id"]],
                           geometry=city.compounds.representative_point(), crs=ANALYSIS_CRS)
    joined = gpd.sjoin(pts, city.communities[["community_id", "geometry"]], predicate="within")
    assert len(joined) == len(pts)
    assert (joined.community_id_left == joined.community_id_right).all()


def test_planted_hazard_pipes_are_real(city: SyntheticCity) -> None:
    truth = city.truth["hazard_compounds"]
    assert len(truth) > 10
    seg = city.utilities.set_index("segment_id")
    comp = city.compounds.set_index("compound_id")
    kinds = set()
    for cid, hazards in truth.items():
        for hazard, sid in hazards.items():
            row = seg.loc[sid]
            assert row.geometry.distance(comp.loc[cid].geometry) <= 5.0
            assert hazard_of([row.utility], [row.material], [row.install_year])[0] == hazard
            for year in (2022, 2027):
                assert hazard_of([row.utility], [row.material], [row.install_year], year)[0] == hazard
            kinds.add(hazard)
    assert {"gas_grey_cast_iron", "gas_old_steel", "water_asbestos_cement", "combined_sewer"} <= kinds


def test_no_unlisted_hazard_pipe_touches_a_compound(city: SyntheticCity) -> None:
    u = city.utilities
    for year in (2022, 2025, 2027):
        bad = u[hazard_of(u.utility, u.material, u.install_year, year) != ""]
        tree = shapely.STRtree(bad.geometry.values)
        idx_c, _ = tree.query(city.compounds.geometry.values, predicate="dwithin", distance=5.0)
        touched = set(city.compounds.compound_id.iloc[np.unique(idx_c)])
        assert touched == set(city.truth["hazard_compounds"])


def test_poor_condition_marks_only_hazards_where_rules_use_it(city: SyntheticCity) -> None:
    u = city.utilities
    hazard = hazard_of(u.utility, u.material, u.install_year) != ""
    assert hazard[u.condition == "bad"].all()
    assert hazard[(u.utility == "gas") & (u.condition == "poor")].all()
    assert (u.condition[~hazard] == "poor").any()


def test_networks_are_noded(city: SyntheticCity) -> None:
    roads = city.roads
    inner = roads[roads.road_class == "internal"]
    grid_vertices = shapely.get_coordinates(roads[roads.road_class != "internal"].geometry.values)
    starts = shapely.get_coordinates(shapely.get_point(inner.geometry.values, 0))
    known = {tuple(v) for v in np.round(grid_vertices, 6)}
    assert len(inner) and all(tuple(p) in known for p in np.round(starts, 6))
    nodes = city.utility_nodes
    assert {"water_supply", "gas", "power", "sewer", "storm"} <= set(nodes.utility)


def _dem_at(city: SyntheticCity, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a, _, c, _, e, f = city.dem_transform
    col = ((np.asarray(x) - c) / a).astype(int)
    row = ((np.asarray(y) - f) / e).astype(int)
    return city.dem[row, col]


def test_planted_depressions_are_closed_sinks(city: SyntheticCity) -> None:
    deps = city.truth["depressions"]
    assert {d["kind"] for d in deps} == {"depression", "river"}
    assert {"depression", "river"} == set(city.truth["low_lying"].values())
    for d in deps:
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        rim = _dem_at(city, d["x"] + 1.1 * d["radius_m"] * np.cos(ang), d["y"] + 1.1 * d["radius_m"] * np.sin(ang))
        assert _dem_at(city, [d["x"]], [d["y"]])[0] < rim.min() - 1.0
    river = city.rivers.geometry.iloc[0]
    comp = city.compounds.set_index("compound_id").geometry
    for cid, kind in city.truth["low_lying"].items():
        assert (comp[cid].centroid.distance(river) <= 500) == (kind == "river")


def test_planted_service_gaps(city: SyntheticCity) -> None:
    for kind in ("kindergarten", "health_station"):
        gaps = city.truth["service_gaps"][kind]
        assert gaps
        fac = city.facilities[city.facilities.kind == kind].geometry.union_all()
        comp = city.compounds.set_index("compound_id").geometry
        assert all(comp[k].distance(fac) > 1500 for k in gaps)
        others = comp.drop(gaps)
        assert (others.distance(fac) <= 1500).all()


def test_isolated_and_scattered_buildings(city: SyntheticCity) -> None:
    comp = city.compounds.set_index("compound_id")
    assert city.truth["isolated"]
    for k in city.truth["isolated"]:
        assert comp.drop(k).geometry.distance(comp.geometry[k]).min() > 500
    scattered = city.truth["scattered_old_buildings"]
    assert scattered
    for k in scattered:
        row = comp.loc[k]
        assert row.housing_type == "single_building"
        assert row.buildings == 1
        assert row.built_year <= 2000
        others = comp.drop(k)
        near = others[others.geometry.centroid.distance(row.geometry.centroid) < 299]
        assert len(near) >= 3
        assert (near.built_year > 2000).mean() >= 0.7


def test_survey_table_round_trips_gcj02(city: SyntheticCity) -> None:
    table = city.survey_table()
    assert {"小区编号", "小区名称", "地址", "所属社区", "建成年代", "户数", "楼栋数", "经度", "纬度"} <= set(table.columns)
    assert table["建成年代"].map(lambda v: isinstance(v, str) and v.endswith("年")).any()
    lon, lat = gcj02_to_wgs84(table["经度"].to_numpy(float), table["纬度"].to_numpy(float))
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=STORAGE_CRS).to_crs(ANALYSIS_CRS)
    assert (pts.distance(city.compounds.centroid, align=False) < 1.0).all()
    shifted = gpd.GeoSeries(gpd.points_from_xy(table["经度"], table["纬度"]), crs=STORAGE_CRS).to_crs(ANALYSIS_CRS)
    assert (shifted.distance(city.compounds.centroid, align=False) > 300).all()


def test_grid_mode_reaches_pipe_count() -> None:
    big = make_city(400, seed=1, mode="grid", n_pipes=12_000)
    assert len(big.compounds) == 400
    assert len(big.utilities) == 12_000
    assert big.utilities.segment_id.is_unique
    assert big.communities.community_id.str.startswith("99").all()
    assert big.truth["hazard_compounds"]
    assert big.compounds.representative_point().within(big.communities.geometry.union_all()).all()
    assert (big.compounds.built_year <= 2000).mean() > 0.3


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 20"):
        make_city(5)
    with pytest.raises(ValueError, match="mode"):
        make_city(100, mode="city")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode='grid'"):
        make_city(4000, mode="sample")
    with pytest.raises(InputFileError, match="450902"):
        make_city(100, boundaries=tmp_path)


def test_write_and_read_back(city: SyntheticCity, tmp_path: Path) -> None:
    paths = city.to_files(tmp_path, survey=False)
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(paths["gpkg"])}
    assert {"compounds", "communities", "roads", "utilities", "utility_nodes", "facilities", "rivers"} <= layers
    back = gpd.read_file(paths["gpkg"], layer="compounds")
    assert back.crs.to_epsg() == 4490
    assert list(back.compound_id) == list(city.compounds.compound_id)
    import rasterio

    with rasterio.open(paths["dem"]) as src:
        assert src.crs.to_epsg() == 4546
        assert src.dtypes[0] == "float32"
        assert src.block_shapes[0] == (256, 256)
        assert src.compression.name.lower() == "lzw"
        assert abs(src.res[0] - 20) < 1e-9
    assert json.loads(paths["truth"].read_text(encoding="utf-8"))["n_compounds"] == 300
    again = city.to_files(tmp_path / "again", survey=False)
    assert all(again[k].read_bytes() == paths[k].read_bytes() for k in ("gpkg", "dem", "truth"))


def test_committed_sample_matches_generator(tmp_path: Path) -> None:
    city = make_city()
    fresh = city.to_files(tmp_path, survey=False)
    for layer in ("compounds", "communities", "roads", "utilities", "utility_nodes", "facilities", "rivers",
                  "streets", "counties"):
        assert_geodataframe_equal(gpd.read_file(datasets.get_path("gpkg"), layer=layer),
                                  gpd.read_file(fresh["gpkg"], layer=layer))
    import rasterio

    with rasterio.open(datasets.get_path("dem")) as a, rasterio.open(fresh["dem"]) as b:
        assert a.transform == b.transform
        assert np.array_equal(a.read(1), b.read(1))
    from openpyxl import load_workbook

    book = load_workbook(datasets.get_path("survey"), read_only=True)
    committed = [list(r) for r in book[datasets.SURVEY_SHEET].iter_rows(values_only=True)]
    book.close()
    assert committed == datasets._sheet_rows(city.survey_table())
    assert datasets.get_path("truth").read_text(encoding="utf-8") == fresh["truth"].read_text(encoding="utf-8")


def test_datasets_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert datasets.get_path("gpkg").name == "yulin_sample.gpkg"
    with pytest.raises(KeyError):
        datasets.get_path("nope")
    monkeypatch.setattr(datasets, "_candidates", lambda: [tmp_path / "missing"])
    with pytest.raises(InputFileError, match="make_sample"):
        datasets.sample_dir()
