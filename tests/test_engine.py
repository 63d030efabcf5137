"""The country-scale engine: zone partitions with halos, LocalEngine vs DaskEngine.

A small synthetic city is moved onto the boundary of two Gauss–Krüger zones (109.5°E: CM
108°E = EPSG:4545 to the west, CM 111°E = EPSG:4546 to the east), cut into 1 km tiles so
that many pairs cross a tile edge, and one gas main is laid from a compound of the west
zone across the boundary so that only the halo brings it into the compound's partition.
The dask cluster runs 2 worker processes with 1 thread each (as on a real cluster, so the
tasks and their data really are pickled to other processes; ~5 s to start).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from yulin_gis.errors import SchemaError, YulinGisError
from yulin_gis.io import Layers
from yulin_gis.packaging import make_packages
from yulin_gis.pipeline import (
    PlanOptions,
    engine_package_stage,
    engine_survey_stage,
    plan_stage,
    survey_stage,
)
from yulin_gis.profile import load_profile
from yulin_gis.sample import make_city
from yulin_gis.scale import (
    DaskEngine,
    DaskNotInstalledError,
    EngineError,
    LocalEngine,
    engine_from_options,
    engine_overlay,
    engine_overlay_hazards,
    engine_packages,
    engine_pipe_hazards,
    read_partitioned,
    run_engine_survey,
    split_layers,
    write_partitioned,
)
from yulin_gis.survey import compound_pipe_hazards
from yulin_gis.utilities import overlay_totals, pipes_near_compounds

TILE = 1000.0
EDGE = "EDGE-0001"
_EDGE_COMPOUND: list[str] = []  # the west-zone compound the EDGE main passes (set by two_zones)
WEST, EAST = 4545, 4546


def _need(frame: Any) -> Any:
    """``frame``, asserted present (optional layers and results)."""
    assert frame is not None
    return frame


def _boolean(comp: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Survey booleans as the validator delivers them (nullable ``boolean``)."""
    for col in comp.columns:
        if comp[col].dtype == bool:
            comp[col] = comp[col].astype("boolean")
    return comp


def _shift(gdf: gpd.GeoDataFrame | None, dx: float, dy: float) -> gpd.GeoDataFrame | None:
    return None if gdf is None else gdf.set_geometry(gdf.geometry.translate(dx, dy))


def _counties(comp: gpd.GeoDataFrame, split_lon: float) -> None:
    """Two counties, whole communities each, split at ``split_lon``."""
    lon = comp.to_crs(4490).geometry.representative_point().x
    mean = lon.groupby(comp["community_id"].to_numpy()).transform("mean")
    comp["county"] = np.where(mean.to_numpy() < split_lon, "西县", "东县")


@pytest.fixture(scope="module")
def city() -> Layers:
    """A 400-compound grid city at Yulin (one zone, EPSG:4546), two counties."""
    layers = make_city(400, seed=3, mode="grid", dem_resolution=50).as_layers()
    layers.dem_path = None
    layers.compounds = _boolean(layers.compounds)
    _counties(layers.compounds, 110.15)
    return layers


@pytest.fixture(scope="module")
def two_zones(city: Layers) -> Layers:
    """The city moved onto 109.5°E plus a gas main crossing the zone boundary."""
    to_gk = Transformer.from_crs(4490, 4546, always_xy=True)
    x0, y0 = to_gk.transform(109.5, 22.63)
    cx, cy = city.compounds.geometry.union_all().centroid.coords[0]
    moved = {n: _shift(getattr(city, n), x0 - cx, y0 - cy) for n in
             ("compounds", "communities", "streets", "counties", "roads", "utilities", "facilities",
              "utility_nodes", "rivers")}
    layers = Layers(crs=city.crs, **moved)  # type: ignore[arg-type]
    comp = layers.compounds
    _counties(comp, 109.5)
    lon = comp.to_crs(4490).geometry.representative_point().x.to_numpy()
    west = np.flatnonzero(lon < 109.5)
    k = west[np.argmax(lon[west])]  # the west-zone compound nearest the boundary
    b = comp.geometry.iloc[k].bounds
    lat = Transformer.from_crs(4546, 4490, always_xy=True).transform(*comp.geometry.iloc[k].centroid.coords[0])[1]
    xb, _ = to_gk.transform(109.5, float(lat))
    start = b[2] + 3.0  # within the survey's 5 m and the overlay's 30 m
    end = max(xb + (xb - start) + 80.0, start + 200.0)
    mid = (b[1] + b[3]) / 2
    util = _need(layers.utilities)
    row = util.iloc[[0]].copy()
    row["segment_id"], row["utility"], row["material"] = EDGE, "gas", "grey_cast_iron"
    row["install_year"], row["condition"] = 1985, "poor"
    row = row.set_geometry([shapely.LineString([(start, mid), (end, mid)])], crs=util.crs)
    layers.utilities = gpd.GeoDataFrame(pd.concat([util, row], ignore_index=True), crs=util.crs)
    _EDGE_COMPOUND.append(str(comp["compound_id"].iloc[k]))
    return layers


@pytest.fixture(scope="module")
def folder(two_zones: Layers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("country")
    write_partitioned(two_zones, out, distance_m=30.0, tile_m=TILE)
    return out


@pytest.fixture(scope="module")
def dask_engine() -> Iterator[DaskEngine]:
    engine = DaskEngine(n_workers=2, threads_per_worker=1)
    yield engine
    engine.close()


def _zone_of(layers: Layers) -> np.ndarray:
    rep = layers.compounds.to_crs(4490).geometry.representative_point()
    return np.where(rep.x.to_numpy() < 109.5, WEST, EAST)


def _reference(layers: Layers, func: Any) -> list[Any]:
    """The single-machine function per zone: each zone's compounds with all pipes, in that zone."""
    zone = _zone_of(layers)
    return [func(layers.compounds[zone == z].to_crs(z), _need(layers.utilities).to_crs(z))
            for z in (WEST, EAST)]


def test_split_spans_two_zones_and_keeps_every_row(two_zones: Layers) -> None:
    parts = split_layers(two_zones, 30.0, TILE)
    assert {p.epsg for p in parts} == {WEST, EAST}
    for p in parts:
        assert p.compounds.crs.to_epsg() == p.epsg
        assert p.utilities is None or p.utilities.crs.to_epsg() == p.epsg
    rows = np.concatenate([p.compounds["_row"].to_numpy() for p in parts])
    assert sorted(rows.tolist()) == list(range(len(two_zones.compounds)))
    owned = np.concatenate([p.utilities.loc[p.utilities["_owned"], "_row"].to_numpy()
                            for p in parts if p.utilities is not None])
    assert sorted(owned.tolist()) == list(range(len(_need(two_zones.utilities))))
    halo = sum(int((~p.utilities["_owned"]).sum()) for p in parts if p.utilities is not None)
    assert halo > 0


def test_write_read_round_trip(two_zones: Layers, folder: Path) -> None:
    back = read_partitioned(folder, crs=two_zones.crs)
    assert back.compounds["compound_id"].tolist() == two_zones.compounds["compound_id"].tolist()
    assert _need(back.utilities)["segment_id"].tolist() == _need(two_zones.utilities)["segment_id"].tolist()
    assert len(_need(back.roads)) == len(_need(two_zones.roads))
    shift = shapely.hausdorff_distance(back.compounds.geometry.to_numpy(),
                                       two_zones.compounds.geometry.to_numpy())
    assert float(np.max(shift)) < 1e-3


def test_overlay_dask_equals_local_and_reference(two_zones: Layers, folder: Path,
                                                 dask_engine: DaskEngine) -> None:
    ref = pd.concat(_reference(two_zones, lambda c, u: pipes_near_compounds(c, u, distance_m=30.0)))
    local = engine_overlay(two_zones, LocalEngine(), 30.0, tile_m=TILE)
    dask = engine_overlay(folder, dask_engine, 30.0)
    assert local.pairs is not None and dask.pairs is not None
    pd.testing.assert_frame_equal(local.pairs, dask.pairs)
    pairs = set(zip(dask.pairs["compound_id"], dask.pairs["segment_id"], strict=True))
    assert pairs == set(zip(ref["compound_id"], ref["segment_id"], strict=True))
    assert len(pairs) == len(dask.pairs) == dask.n_pairs  # no pair counted twice
    assert (_EDGE_COMPOUND[-1], EDGE) in pairs
    merged = dask.pairs.merge(ref, on=["compound_id", "segment_id"], suffixes=("", "_ref"))
    assert np.array_equal(merged["length_in_m"], merged["length_in_m_ref"])
    pd.testing.assert_frame_equal(dask.totals, overlay_totals(ref).sort_index(), check_names=False)


def test_one_pass_equals_the_two_calls_and_the_reference(two_zones: Layers, folder: Path, tmp_path: Path,
                                                          dask_engine: DaskEngine) -> None:
    """``engine_overlay_hazards`` (each partition read once) gives what ``engine_overlay`` and
    ``engine_pipe_hazards`` give, and the per-zone functions: pairs, totals (bit for bit),
    hazards; its pair files hold the same rows, with ``_crow``/``_srow`` naming the input rows."""
    prof = load_profile()
    ref_pairs = pd.concat(_reference(two_zones, lambda c, u: pipes_near_compounds(c, u, distance_m=30.0)))
    ref_hz = pd.concat(_reference(two_zones, lambda c, u: compound_pipe_hazards(c, u, prof)))
    ref_hz = ref_hz.reindex(two_zones.compounds["compound_id"].astype(str))
    both = engine_overlay_hazards(folder, prof, LocalEngine(), 30.0)
    apart = engine_overlay(folder, LocalEngine(), 30.0)
    pd.testing.assert_frame_equal(_need(both.pairs), _need(apart.pairs))
    pd.testing.assert_frame_equal(both.totals, apart.totals, check_exact=True)
    pd.testing.assert_frame_equal(both.totals, overlay_totals(ref_pairs).sort_index(), check_exact=True,
                                  check_names=False)
    pd.testing.assert_frame_equal(_need(both.hazards), ref_hz)
    assert both.read_cpu_s > 0
    written = engine_overlay_hazards(folder, prof, dask_engine, 30.0, out_dir=tmp_path / "pairs")
    assert written.pairs is None and written.n_pairs == len(_need(both.pairs))
    pd.testing.assert_frame_equal(_need(written.hazards), ref_hz)
    pd.testing.assert_frame_equal(written.totals, both.totals, check_exact=True)
    files = pd.concat([pd.read_parquet(p) for p in written.paths], ignore_index=True)
    files = files.sort_values(["_crow", "_srow"], kind="stable").reset_index(drop=True)
    comp_ids = two_zones.compounds["compound_id"].astype(str).to_numpy()
    seg_ids = _need(two_zones.utilities)["segment_id"].astype(str).to_numpy()
    assert (comp_ids[files["_crow"].to_numpy()] == files["compound_id"].to_numpy(dtype=object)).all()
    assert (seg_ids[files["_srow"].to_numpy()] == files["segment_id"].to_numpy(dtype=object)).all()
    pd.testing.assert_frame_equal(files.drop(columns=["_crow", "_srow"]), _need(both.pairs), check_dtype=False)


def test_partition_read_with_only_the_columns_used(folder: Path) -> None:
    from yulin_gis.scale._partitions import load_partition, partition_refs

    ref = partition_refs(folder)[0]
    whole = load_partition(ref)
    few = load_partition(ref, compound_columns=["compound_id", "_row", "not_a_column"],
                         utility_columns=["segment_id", "_row"])
    assert list(few.compounds.columns) == ["compound_id", "_row", "geometry"]
    assert list(_need(few.utilities).columns) == ["segment_id", "_row", "geometry"]
    assert len(whole.compounds.columns) > 3
    assert few.compounds.geometry.equals(whole.compounds.geometry)


def test_edge_pipe_only_through_the_halo(two_zones: Layers) -> None:
    parts = {p.key: p for p in split_layers(two_zones, 30.0, TILE)}
    cid = _EDGE_COMPOUND[-1]
    home = next(p for p in parts.values() if cid in set(p.compounds["compound_id"]))
    owner = next(p for p in parts.values() if p.utilities is not None
                 and ((p.utilities["segment_id"] == EDGE) & p.utilities["_owned"]).any())
    assert (home.epsg, owner.epsg) == (WEST, EAST)
    home_util = _need(home.utilities)
    copy = home_util[home_util["segment_id"] == EDGE]
    assert len(copy) == 1 and not bool(copy["_owned"].iloc[0])
    assert copy.crs.to_epsg() == WEST


def test_pipe_hazards_dask_equals_local_and_reference(two_zones: Layers, folder: Path,
                                                      dask_engine: DaskEngine) -> None:
    prof = load_profile()
    ref = pd.concat(_reference(two_zones, lambda c, u: compound_pipe_hazards(c, u, prof)))
    ref = ref.reindex(two_zones.compounds["compound_id"].astype(str))
    local = engine_pipe_hazards(two_zones, prof, LocalEngine(), tile_m=TILE)
    dask = engine_pipe_hazards(folder, prof, dask_engine)
    pd.testing.assert_frame_equal(local, ref)
    pd.testing.assert_frame_equal(dask, ref)
    edge = dask.loc[_EDGE_COMPOUND[-1]]
    assert bool(edge["hazard_gas"]) and EDGE in edge["hazard_evidence_gas"]


def test_survey_packages_plan_dask_equals_local(two_zones: Layers, dask_engine: DaskEngine) -> None:
    opts = PlanOptions()
    states = []
    for engine in (LocalEngine(), dask_engine):
        state = engine_survey_stage(two_zones, opts, engine)
        state = plan_stage(engine_package_stage(state, engine, by="county"))
        states.append(state)
    a, b = states
    pd.testing.assert_frame_equal(a.compounds, b.compounds)
    pd.testing.assert_frame_equal(pd.DataFrame(_need(a.packages).drop(columns="geometry")),
                                  pd.DataFrame(_need(b.packages).drop(columns="geometry")))
    assert (a.compounds["status"] == "planned").sum() > 0
    assert set(_need(a.packages)["county"]) == {"西县", "东县"}


def _rows(frame: pd.DataFrame, cols: list[str]) -> dict[str, tuple[Any, ...]]:
    """One entry per compound: its values of ``cols`` (missing values as "")."""
    vals = frame[cols].astype(object).where(frame[cols].notna(), "").astype(str)
    return dict(zip(frame["compound_id"].astype(str), map(tuple, vals.to_numpy().tolist()), strict=True))


def test_every_row_equal_local_dask_and_make_packages(two_zones: Layers, folder: Path,
                                                      dask_engine: DaskEngine) -> None:
    """Row by row, not counts: each compound's package and plan year, each pipe–compound pair."""
    opts = PlanOptions()
    states = [plan_stage(engine_package_stage(engine_survey_stage(two_zones, opts, e), e))
              for e in (LocalEngine(), dask_engine)]
    local, dask = (_rows(s.compounds, ["status", "package_id", "plan_year"]) for s in states)
    assert len(local) == len(dask) == len(two_zones.compounds)
    differ = [cid for cid in local if local[cid] != dask[cid]]
    assert differ == []
    # most compounds are packaged (those below the consent threshold are held: 待征求意见)
    packaged = sum(v[1] != "" for v in local.values())
    held = sum(v[0] == "consultation" for v in local.values())
    assert held > 0 and packaged > (len(local) - held) // 2
    # make_packages called by a user on the surveyed layer: the same package per compound
    surveyed = survey_stage(two_zones, opts).compounds
    gap_m = load_profile().x.packaging.gap_m  # the pipeline's gap (PlanOptions.gap_m is None)
    mine = make_packages(surveyed, gap_m=gap_m, barriers=None).assignments
    engine = engine_packages(surveyed, dask_engine, gap_m=gap_m).assignments
    assert _rows(mine, ["package_id", "package_reason"]) == _rows(engine, ["package_id", "package_reason"])
    # every pipe–compound pair with its distance and length
    pairs = [engine_overlay(folder, e, 30.0).pairs for e in (LocalEngine(), dask_engine)]
    a, b = ({(r.compound_id, r.segment_id): (round(r.distance_m, 6), round(r.length_in_m, 6))
             for r in _need(p).itertuples()} for p in pairs)
    assert len(a) == len(_need(pairs[0])) > 0
    assert a == b


def test_engine_survey_from_folder_equals_layers(two_zones: Layers, folder: Path,
                                                 dask_engine: DaskEngine) -> None:
    prof = load_profile()
    only = Layers(compounds=two_zones.compounds, utilities=two_zones.utilities, crs=two_zones.crs)
    from_layers = run_engine_survey(only, prof, LocalEngine(), tile_m=TILE)
    from_folder = run_engine_survey(folder, prof, dask_engine)
    cols = ["compound_id", "tier", "items", "evidence", "priority", "cost_yuan", "hazard_pipes"]
    pd.testing.assert_frame_equal(pd.DataFrame(from_layers[cols]), pd.DataFrame(from_folder[cols]),
                                  check_dtype=False)


def test_single_zone_equals_the_plain_functions(city: Layers) -> None:
    overlay = engine_overlay(city, LocalEngine(), 30.0, tile_m=TILE)
    plain_pairs = pipes_near_compounds(city.compounds, _need(city.utilities), distance_m=30.0)
    pd.testing.assert_frame_equal(_need(overlay.pairs), plain_pairs)  # row for row
    opts = PlanOptions()
    plain = survey_stage(city, opts)
    state = engine_survey_stage(city, opts, LocalEngine(), tile_m=TILE)
    pd.testing.assert_frame_equal(plain.compounds, state.compounds)


def test_packages_are_make_packages_per_county(city: Layers) -> None:
    surveyed = survey_stage(city, PlanOptions()).compounds
    result = engine_packages(surveyed, LocalEngine(), by="county", gap_m=25.0)
    direct = [make_packages(surveyed[surveyed["county"] == c], gap_m=25.0) for c in ("东县", "西县")]
    want = pd.concat([d.assignments for d in direct]).set_index("compound_id")
    got = result.assignments.set_index("compound_id")
    assert got.index.tolist() == surveyed["compound_id"].tolist()  # input order
    pd.testing.assert_frame_equal(got, want.loc[got.index])
    packages = pd.concat([pd.DataFrame(d.packages.drop(columns="geometry")) for d in direct])
    pd.testing.assert_frame_equal(
        pd.DataFrame(_need(result.packages).drop(columns="geometry")).reset_index(drop=True),
        packages.sort_values("community_id", kind="stable").reset_index(drop=True))
    assert result.summary["n_packages"] == sum(d.summary["n_packages"] for d in direct)


def test_unit_across_partitions_is_refused(city: Layers) -> None:
    comp = city.compounds.copy()
    comp.loc[comp.index[0], "county"] = "别县"
    with pytest.raises(SchemaError, match="more than one county"):
        engine_packages(comp, LocalEngine(), by="county")


def test_halo_smaller_than_search_is_refused(two_zones: Layers, tmp_path: Path) -> None:
    few = Layers(compounds=two_zones.compounds.iloc[:20], utilities=_need(two_zones.utilities).iloc[:200],
                 crs=two_zones.crs)
    write_partitioned(few, tmp_path, distance_m=10.0, tile_m=TILE)
    with pytest.raises(SchemaError, match="halo"):
        engine_overlay(tmp_path, LocalEngine(), 30.0)


def test_engine_options() -> None:
    assert isinstance(engine_from_options("local", None, 2), LocalEngine)
    with pytest.raises(EngineError, match="unknown engine"):
        engine_from_options("spark", None, 2)
    with pytest.raises(EngineError, match="--scheduler"):
        engine_from_options("local", "tcp://head:8786", 2)


def test_dask_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_distributed(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "distributed":
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(DaskNotInstalledError, match=r"\[dask\]") as info:
        engine_from_options("dask", None, 2)
    assert isinstance(info.value, YulinGisError) and isinstance(info.value, ImportError)
