"""Tests of the survey stage: hazards, assess_compounds, task lists and workbooks."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from yulin_gis.errors import SchemaError
from yulin_gis.io import Layers
from yulin_gis.profile import DEFAULT_PROFILE_PATH, load_profile
from yulin_gis.reports import (
    department_tasks,
    item_table,
    utility_tasks,
    write_survey_workbook,
    write_task_workbooks,
)
from yulin_gis.survey import assess_compounds, compound_pipe_hazards, hazardous_segments

CRS = "EPSG:4546"
X0, Y0 = 400000.0, 2500000.0


def _box(i: int) -> object:
    return box(X0 + 300 * i, Y0, X0 + 300 * i + 100, Y0 + 100)


@pytest.fixture(scope="module")
def profile():
    return load_profile()


@pytest.fixture
def compounds():
    return gpd.GeoDataFrame(
        {
            "compound_id": ["A", "B", "C", "D", "E"],
            "name": ["甲小区", "乙小区", "丙小区", "=HYPERLINK(\"http://x\")", "戊小区"],
            "built_year": [1998, 2003, 2010, 1990, 1995],
            "households": [100, 200, 50, 80, 60],
            "floors": [6, 3, 7, 6, 6],
            "floor_area_m2": [7000.0, np.nan, 3000.0, 5000.0, 4000.0],
            "units": [4, 2, 2, 2, np.nan],
            "buildings": [2, 3, 1, 1, 3],
            "has_lift": [False, False, True, False, None],
            "urban_village": [False, False, False, True, False],
            "roof_leak": [True, None, False, False, False],
            "property_management": [False, True, True, True, None],
            "consent_rate": [0.9, 0.5, np.nan, 0.8, 0.7],
            "county": ["玉州区", "玉州区", "福绵区", "玉州区", "-福绵区"],
        },
        geometry=[_box(i) for i in range(5)],
        crs=CRS,
    )


def _pipes(offset: float) -> gpd.GeoDataFrame:
    """G-123: grey cast-iron gas pipe ``offset`` m west of A; G-PE85 / G-PE15 beside B."""
    return gpd.GeoDataFrame(
        {
            "segment_id": ["G-123", "G-PE85", "G-PE15", "W-9"],
            "utility": ["gas", "gas", "gas", "water_supply"],
            "material": ["grey_cast_iron", "pe", "pe", None],
            "install_year": [1985, 1985, 2015, None],
            "condition": [None, "fair", "good", None],
        },
        geometry=[
            LineString([(X0 - offset, Y0), (X0 - offset, Y0 + 100)]),
            LineString([(X0 + 302, Y0 - 500), (X0 + 302, Y0 - 410)]),  # 410 m from B: not near
            LineString([(X0 + 398, Y0 + 10), (X0 + 398, Y0 + 90)]),  # inside B, but 2015
            LineString([(X0 + 1250, Y0 + 50), (X0 + 1250, Y0 + 60)]),  # inside E, unknown
        ],
        crs=CRS,
    )


# --- hazards -----------------------------------------------------------------------------


def test_hazard_criteria_by_material_and_age(profile):
    pipes = _pipes(3.0)
    hz = hazardous_segments(pipes, profile, as_of_year=2022)
    assert list(hz["segment_id"]) == ["G-123", "G-PE85"]
    reasons = dict(zip(hz["segment_id"], hz["rules"], strict=True))
    assert reasons == {"G-123": "gas_grey_iron", "G-PE85": "gas_old_steel_pe"}
    assert hz.set_index("segment_id").loc["G-PE85", "age_years"] == 37
    both = hazardous_segments(pipes, profile, 2022, include_undetermined=True)
    assert both.set_index("segment_id").loc["W-9", "status"] == "undetermined"
    # the 2015 PE pipe becomes hazardous only when it is over 20 years old
    assert "G-PE15" in set(hazardous_segments(pipes, profile, as_of_year=2036)["segment_id"])


def test_pipe_3m_away_is_evidence_50m_is_not(profile, compounds):
    near = compound_pipe_hazards(compounds, _pipes(3.0), profile)
    assert near.loc["A", "hazard_gas"]
    assert near.loc["A", "hazard_evidence_gas"] == "G-123 灰口铸铁 1985, 3.0 m"
    assert near.loc["A", "hazard_len_gas_m"] == pytest.approx(100.0)
    assert near.loc["A", "hazard_pipes"] == 1
    assert not near.loc["B", "hazard_gas"]  # the 2015 pipe inside B is not hazardous
    assert near.loc["E", "pipes_undetermined"] == 1
    far = compound_pipe_hazards(compounds, _pipes(50.0), profile)
    assert not far.loc["A", "hazard_gas"]
    assert far.loc["A", "hazard_pipes"] == 0


# --- assessment --------------------------------------------------------------------------


def _walk(ids, kg):
    return pd.DataFrame({"walk_kindergarten_m": kg}, index=pd.Index(ids, name="compound_id"))


@pytest.fixture
def assessed(profile, compounds):
    walk = _walk(list(compounds["compound_id"]), [250.0, 800.0, np.nan, 100.0, 120.0])
    terrain = pd.DataFrame({"rel_elev_m": [-0.1, -2.5, 0.0, 0.3, np.nan],
                            "low_share": [0.0, 0.8, 0.1, 0.0, np.nan]},
                           index=pd.Index(list(compounds["compound_id"]), name="compound_id"))
    return assess_compounds(Layers(compounds, utilities=_pipes(3.0)), profile=profile,
                            walk=walk, terrain=terrain)


def test_every_compound_kept_in_order(assessed, compounds):
    assert list(assessed["compound_id"]) == list(compounds["compound_id"])
    assert isinstance(assessed, gpd.GeoDataFrame)
    assert assessed.crs == compounds.crs


def test_tiers_and_reasons(assessed):
    a = assessed.set_index("compound_id")
    assert a.loc["A", "tier"] == "priority"
    assert a.loc["A", "eligible"]
    assert "1998" in a.loc["A", "tier_reason"]
    assert "built by 2000" in a.loc["A", "tier_reason"]
    assert a.loc["B", "tier"] == "share"
    assert a.loc["B", "eligible"]
    assert "15%" in a.loc["B", "tier_reason"]
    assert "unconfirmed" in a.loc["B", "tier_reason"]
    assert a.loc["C", "tier"] == "excluded"
    assert not a.loc["C", "eligible"]
    assert a.loc["C", "exclusion_reason"] == "2005年后建成（2010）/ built after 2005 (2010)"
    assert a.loc["D", "tier"] == "excluded"
    assert "城中村 / urban village" in a.loc["D", "exclusion_reason"]
    assert a.loc["A", "exclusion_reason"] == ""
    assert a.loc["D", "priority"] == 0.0
    assert a.loc["C", "priority"] == 0.0


def test_items_and_evidence(assessed):
    a = assessed.set_index("compound_id")
    items_a = a.loc["A", "items"].split(",")
    assert "gas_pipe" in items_a
    assert "gas_pipe: G-123 灰口铸铁 1985, 3.0 m" in a.loc["A", "evidence"]
    assert "lift" in items_a
    assert "6层无电梯" in a.loc["A", "evidence"]
    assert "roof_repair" in items_a
    assert "property_room" in items_a
    assert "no property management" in a.loc["A", "notes"]
    assert "education" not in items_a  # kindergarten at 250 m ≤ 300 m
    assert "lift needs 75% consent" not in a.loc["A", "notes"]  # consent 0.9
    # B: walk 800 m > 300 m → education; low-lying → drainage; 3 floors → no lift
    items_b = a.loc["B", "items"].split(",")
    assert "education" in items_b
    assert "800 m > 300 m" in a.loc["B", "evidence"]
    assert "drainage" in items_b
    assert bool(a.loc["B", "waterlogging_risk"])
    assert "lift" not in items_b
    assert "gas_pipe" not in items_b
    # C: no kindergarten within the cutoff
    assert "no kindergarten within 2000 m" in a.loc["C", "evidence"]
    # E: 6 floors but has_lift not surveyed → no lift item, said so
    assert "lift" not in a.loc["E", "items"].split(",")
    assert "has_lift" in a.loc["E", "not_surveyed"].split(", ")
    assert pd.isna(a.loc["E", "waterlogging_risk"])
    counts = a.loc["A", ["items_basic", "items_improve", "items_upgrade"]].tolist()
    assert counts == [2, 2, 0]


def test_cost_is_unit_cost_times_quantity(assessed, profile):
    a = assessed.set_index("compound_id")
    it = profile.items
    # A: gas 100 m of pipe, roof = footprint = 7,000 m² floor area / 6 floors (seed §四(二)1:
    # 屋面维修 is measured on the roof, not on every storey), property room 1, 4 lifts
    floors = float(a.loc["A", "floors"])
    roof = 7000 / floors
    expected = (100 * it["gas_pipe"].unit_cost + roof * it["roof_repair"].unit_cost
                + it["property_room"].unit_cost + 4 * it["lift"].unit_cost)
    assert a.loc["A", "cost_yuan"] == pytest.approx(expected)
    assert a.loc["A", "cost_basic"] == pytest.approx(100 * 350.0 + roof * 60.0)
    assert a.loc["A", "quantities"] == (f"gas_pipe=100,roof_repair={roof:.12g},property_room=1,"
                                        "lift=4")
    f = a.loc["A", ["fund_residents", "fund_utility", "fund_government"]].sum()
    assert f == pytest.approx(a.loc["A", "cost_yuan"])
    # B: floor area missing → drainage by households × 3 m, marked as estimated
    assert "quantity estimated" in a.loc["B", "evidence"]
    long = item_table(assessed, profile)
    assert long.groupby("compound_id")["cost_yuan"].sum().reindex(a.index, fill_value=0).to_numpy() == \
        pytest.approx(a["cost_yuan"].to_numpy())


def test_priority_components(assessed, profile):
    a = assessed.set_index("compound_id")
    comps = a.loc["A", ["prio_age", "prio_hazard", "prio_gaps", "prio_consent"]].sum()
    assert a.loc["A", "priority"] == pytest.approx(comps, abs=0.02)
    assert a.loc["A", "prio_consent"] == pytest.approx(0.9 * profile.priority.weights["consent"])
    assert a.loc["A", "prio_hazard"] > 0  # gas hazard + roof leak
    assert a["priority"].min() >= 0
    assert a["priority"].max() <= 100
    assert a.loc["A", "priority"] > a.loc["B", "priority"]


def test_minimal_survey_never_crashes_and_says_not_surveyed(profile):
    comp = gpd.GeoDataFrame({"compound_id": ["X"], "name": ["只有必填"], "built_year": [1995],
                             "households": [40]}, geometry=[Point(X0, Y0)], crs=CRS)
    out = assess_compounds(Layers(comp), profile=profile)
    row = out.iloc[0]
    assert row["tier"] == "priority"
    assert row["items"] == ""
    assert row["cost_yuan"] == 0
    missing = row["not_surveyed"].split(", ")
    for name in ("has_lift", "floors", "roof_leak", "pipes", "terrain", "walk"):
        assert name in missing
    assert pd.isna(row["gap_kindergarten"])
    assert np.isnan(row["walk_kindergarten_m"])


def test_duplicate_ids_rejected(profile, compounds):
    dup = compounds.copy()
    dup.loc[1, "compound_id"] = "A"
    with pytest.raises(SchemaError, match="duplicate compound_id A"):
        assess_compounds(Layers(dup), profile=profile)


def test_other_city_profile_changes_decisions(compounds):
    other = load_profile(DEFAULT_PROFILE_PATH.with_name("example_other_city.toml"))
    out = assess_compounds(Layers(compounds, utilities=_pipes(8.0)), profile=other,
                           walk=_walk(list(compounds["compound_id"]), [250.0] * 5)).set_index("compound_id")
    # built 2003 is still "share" but consent 0.5 < 0.75 excludes B in this city
    assert out.loc["B", "tier"] == "excluded"
    assert "consent" in out.loc["B", "exclusion_reason"]
    # the 8 m pipe is within this city's 10 m distance
    assert "gas_pipe" in out.loc["A", "items"].split(",")


def test_layers_terrain_and_walk_modules_are_used(tmp_path, profile, compounds):
    import rasterio
    from rasterio.transform import from_origin

    # DEM at 5 m: 10 m everywhere, compound B sunk to 7 m
    res, x_min, y_max = 5.0, X0 - 300, Y0 + 400
    w, h = 2000 // 5, 800 // 5
    z = np.full((h, w), 10.0, dtype="float32")
    col0, row0 = int((X0 + 300 - x_min) / res), int((y_max - (Y0 + 100)) / res)
    z[row0:row0 + 20, col0:col0 + 20] = 7.0
    dem = tmp_path / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs=CRS, transform=from_origin(x_min, y_max, res, res)) as dst:
        dst.write(z, 1)
    roads = gpd.GeoDataFrame({"road_id": ["R1"], "road_class": ["branch"]},
                             geometry=[LineString([(X0 - 50, Y0 - 20), (X0 + 1500, Y0 - 20)])], crs=CRS)
    facilities = gpd.GeoDataFrame({"facility_id": ["K1"], "kind": ["kindergarten"]},
                                  geometry=[Point(X0 + 50, Y0 - 30)], crs=CRS)
    layers = Layers(compounds, roads=roads, facilities=facilities, dem_path=dem)
    out = assess_compounds(layers, profile=profile).set_index("compound_id")
    assert out.loc["B", "rel_elev_m"] == pytest.approx(-3.0, abs=0.2)
    assert bool(out.loc["B", "waterlogging_risk"])
    assert not bool(out.loc["A", "waterlogging_risk"])
    assert "drainage" in out.loc["B", "items"].split(",")
    # A is 20 m from the road, K1 beside it: walk ≥ straight line, ≤ 300 m
    assert out.loc["A", "walk_kindergarten_m"] <= 300
    assert not out.loc["A", "gap_kindergarten"]
    assert out.loc["E", "walk_kindergarten_m"] > 1000
    assert out.loc["E", "gap_kindergarten"]
    # the facilities layer records no market at all: unknown, not a gap everywhere
    assert "market" not in out.loc["A", "items"].split(",")
    assert "walk_market" in out.loc["A", "not_surveyed"].split(", ")
    assert pd.isna(out.loc["A", "gap_market"])


# --- outputs -----------------------------------------------------------------------------


def test_task_lists_follow_division_of_duties(assessed, profile):
    dept = department_tasks(assessed, profile)
    housing = dept["市住房城乡建设局"]
    assert {("A", "lift"), ("A", "roof_repair"), ("A", "gas_pipe")} <= set(
        zip(housing["compound_id"], housing["item"], strict=True))
    assert "C" not in set(housing["compound_id"])  # excluded compounds get no tasks
    edu = dept["市教育局"]
    assert list(edu["compound_id"]) == ["B"]
    assert edu.iloc[0]["cost_yuan"] == 1_500_000
    assert dept["市消防救援支队"].empty
    util = utility_tasks(assessed, profile)
    gas = util["玉林中燃公司"]
    row = gas[(gas["compound_id"] == "A") & (gas["item"] == "gas_pipe")].iloc[0]
    assert row["quantity"] == pytest.approx(100.0)
    assert row["unit"] == "m"
    assert row["company_share_yuan"] == pytest.approx(100 * 350.0 * 0.6)
    assert "G-123" in row["item_evidence"]
    assert util["玉林水务集团"].empty


def test_survey_workbook_chinese_headers_and_no_formulas(tmp_path, assessed, profile):
    from openpyxl import load_workbook

    path = write_survey_workbook(assessed, tmp_path / "survey.xlsx", profile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["survey.xlsx"]  # no temp file left
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["汇总", "县区汇总"]
    assert {"玉州区", "福绵区", "-福绵区"} <= set(wb.sheetnames)
    yz = wb["玉州区"]
    assert yz["A1"].value == "玉州区城镇老旧小区摸底调查评估表"
    header = [c.value for c in yz[2]]
    assert header[:3] == ["小区编号", "小区名称", "所属街道"]
    assert "纳入/排除理由" in header
    assert "步行至幼儿园距离(m)" in header
    names = {r[1].value: r[1] for r in yz.iter_rows(min_row=3)}
    evil = names['=HYPERLINK("http://x")']
    assert evil.data_type == "s"
    county_cell = wb["-福绵区"]
    assert county_cell.title == "-福绵区"
    summary = {r[1]: r for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    gas = summary["供气设施改造（燃气管道）"]
    assert gas[0] == "基础类"
    assert gas[4] == 1  # compounds
    assert gas[5] == 100  # metres, whole
    assert len([k for k in summary if k and not k.endswith("合计")]) == len(profile.items)
    with zipfile.ZipFile(path) as zf:
        xml = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml
    assert "<f " not in xml


def test_task_workbooks(tmp_path, assessed, profile):
    from openpyxl import load_workbook

    paths = write_task_workbooks(assessed, tmp_path, profile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["管线单位任务清单.xlsx", "部门任务清单.xlsx"]
    wb = load_workbook(paths["utilities"])
    assert "玉林中燃公司" in wb.sheetnames
    rows = list(wb["玉林中燃公司"].iter_rows(values_only=True))
    assert rows[1][0] == "所属县区"
    assert "本单位出资(万元)" in rows[1]
    assert any("G-123" in str(v) for v in rows[2])
    usum = list(wb["汇总"].iter_rows(values_only=True))
    assert "统筹施工方案" in usum[2][-1]
    dwb = load_workbook(paths["departments"])
    assert dwb.sheetnames[:2] == ["部门职责", "汇总"]
    summary = {r[0]: r for r in dwb["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["市教育局"][2] == 1  # compounds with an education item
    assert summary["市发展改革委"][1] >= 3  # 职责条数: seed §五(二) gives it three duties


def test_evidence_lists_nearest_segments_then_count(profile, compounds):
    k = profile.survey.evidence_max_segments
    n = k + 2
    pipes = gpd.GeoDataFrame(
        {"segment_id": [f"G-{i}" for i in range(n)], "utility": "gas",
         "material": "grey_cast_iron", "install_year": 1980},
        geometry=[LineString([(X0 - 1 - i * 0.5, Y0), (X0 - 1 - i * 0.5, Y0 + 50)]) for i in range(n)],
        crs=CRS)
    ev = compound_pipe_hazards(compounds, pipes, profile).loc["A", "hazard_evidence_gas"]
    parts = ev.split("; ")
    assert parts[:k] == [f"G-{i} 灰口铸铁 1980, {1 + i * 0.5:.1f} m" for i in range(k)]
    assert parts[-1] == "+2 more"


def test_rows_missing_from_precomputed_frames_are_not_surveyed(profile, compounds):
    walk = _walk(["A", "B", "C", "D"], [250.0, 800.0, 900.0, 100.0])  # no row for E
    pipes = compound_pipe_hazards(compounds, _pipes(3.0), profile).drop(index="A")
    out = assess_compounds(Layers(compounds), profile=profile, walk=walk, pipes=pipes).set_index("compound_id")
    assert pd.isna(out.loc["E", "gap_kindergarten"])
    assert "education" not in out.loc["E", "items"].split(",")
    assert "walk" in out.loc["E", "not_surveyed"].split(", ")
    assert "walk" not in out.loc["C", "not_surveyed"].split(", ")
    assert not out.loc["A", "hazard_gas"]
    assert "pipes" in out.loc["A", "not_surveyed"].split(", ")
    assert "pipes" not in out.loc["B", "not_surveyed"].split(", ")


def test_unparsed_chinese_booleans_are_read_not_truthy(profile):
    comp = gpd.GeoDataFrame({"compound_id": ["P", "Q"], "name": ["p", "q"], "built_year": [1995, 1995],
                             "households": [40, 40], "roof_leak": ["是", "否"],
                             "facade_damaged": ["无法判断", None]},
                            geometry=[_box(0), _box(1)], crs=CRS)
    out = assess_compounds(Layers(comp), profile=profile).set_index("compound_id")
    assert out.loc["P", "items"].split(",") == ["roof_repair"]
    assert out.loc["Q", "items"] == ""
    assert "facade_damaged" in out.loc["P", "not_surveyed"].split(", ")


def test_rerun_on_assessed_layer_is_identical(assessed, profile, compounds):
    walk = _walk(list(compounds["compound_id"]), [250.0, 800.0, np.nan, 100.0, 120.0])
    again = assess_compounds(Layers(assessed, utilities=_pipes(3.0)), profile=profile, walk=walk,
                             terrain=pd.DataFrame({"rel_elev_m": [-0.1, -2.5, 0.0, 0.3, np.nan],
                                                   "low_share": [0.0, 0.8, 0.1, 0.0, np.nan]},
                                                  index=pd.Index(list(compounds["compound_id"]))))
    assert list(again.columns) == list(assessed.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")),
                                  pd.DataFrame(assessed.drop(columns="geometry")))


def test_lift_consent_and_management_notes(profile):
    comp = gpd.GeoDataFrame({"compound_id": ["L"], "name": ["l"], "built_year": [1995],
                             "households": [40], "floors": [6], "has_lift": [False],
                             "consent_rate": [0.7], "owners_committee": [False],
                             "seismic_ok": [False]},
                            geometry=[_box(0)], crs=CRS)
    row = assess_compounds(Layers(comp), profile=profile).iloc[0]
    # 0.7 < 3/4: no lift item (Civil Code art. 278), a note instead
    assert "lift" not in row["items"].split(",")
    assert row["eligible"]  # 0.7 ≥ 2/3: consent_ok
    assert bool(row["consent_ok"])
    assert "lift needs 75% consent: not included" in row["notes"]
    assert "no owners' committee" in row["notes"]
    assert "below seismic standard" in row["notes"]
    agreed = assess_compounds(Layers(comp.assign(consent_rate=[0.8])), profile=profile).iloc[0]
    assert "lift" in agreed["items"].split(",")
    assert "lift needs" not in agreed["notes"]


def test_unwritable_output_raises_output_error(tmp_path, assessed, profile):
    from yulin_gis.errors import OutputError

    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="not_a_dir"):
        write_survey_workbook(assessed, blocker / "survey.xlsx", profile)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_dir"]


def test_service_facility_is_shared_per_community(profile):
    # Three compounds lacking a kindergarten: two in community K1, one in K2. One
    # kindergarten per community is costed, split by households (提升类 facilities serve
    # the community, not one compound).
    comp = gpd.GeoDataFrame({"compound_id": ["A", "B", "C"], "name": ["a", "b", "c"],
                             "built_year": [1990, 1992, 1995], "households": [300, 100, 50],
                             "community_id": ["K1", "K1", "K2"]},
                            geometry=[_box(0), _box(1), _box(2)], crs=CRS)
    out = assess_compounds(Layers(comp), profile=profile,
                           walk=_walk(["A", "B", "C"], [900.0, 900.0, 900.0])).set_index(
        "compound_id")
    unit = profile.items["education"].unit_cost
    share = {cid: float(q.split("=")[1]) for cid, qs in out["quantities"].items()
             for q in qs.split(",") if q.startswith("education=")}
    assert share == pytest.approx({"A": 0.75, "B": 0.25, "C": 1.0})
    assert sum(share[c] for c in ("A", "B")) * unit == pytest.approx(unit)
    assert "shared by households" in out.loc["A", "evidence"]
