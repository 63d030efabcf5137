"""Tests of yulin_gis.utilities._upgrades: overlay, renewal risk, upgrade plans, joint trenches, workbooks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, box

from yulin_gis.errors import ProfileError
from yulin_gis.reports import write_company_workbooks
from yulin_gis.utilities import (
    DEFAULT_OWNERS,
    households_near_segments,
    joint_trenches,
    overlay_totals,
    pipes_near_compounds,
    renewal_risk,
    segment_road_classes,
    utility_upgrade_plan,
)

CRS = "EPSG:4546"


@pytest.fixture
def street() -> dict[str, gpd.GeoDataFrame]:
    """Road R1 (y=0) with storm, gas and water under it next to compound C1 (package P1,
    2024); road R2 (y=100) with old gas next to C2 (package P2, 2025)."""
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1", "R2"], "name": ["人民路", "江滨路"], "road_class": ["arterial", "branch"]},
        geometry=[LineString([(0, 0), (200, 0)]), LineString([(0, 100), (200, 100)])], crs=CRS)
    utilities = gpd.GeoDataFrame({
        "segment_id": ["W1", "G1", "S1", "T1", "G2", "W2"],
        "utility": ["water_supply", "gas", "storm", "telecom", "gas", "water_supply"],
        "material": ["grey_cast_iron", "grey_cast_iron", "concrete", "fibre", "steel", "pe"],
        "install_year": [1985, 1985, 1990, 2020, 1995, 2019],
        "condition": ["poor", "fair", None, "good", "fair", "good"],
        "owner": [None, None, None, None, "=HYPERLINK(\"http://x\")", None],
    }, geometry=[LineString([(0, 2), (200, 2)]), LineString([(0, -3), (200, -3)]),
                 LineString([(0, -1), (200, -1)]), LineString([(0, 5), (200, 5)]),
                 LineString([(0, 97), (200, 97)]), LineString([(0, 103), (200, 103)])], crs=CRS)
    compounds = gpd.GeoDataFrame({
        "compound_id": ["C1", "C2", "C3"], "households": [100, 50, 30],
        "eligible": [True, True, False], "package_id": ["P1", "P2", "P2"],
        "plan_year": [2024, 2025, 2025], "items": ["water_supply", "gas_pipe,roads", ""],
    }, geometry=[box(50, 10, 150, 60), box(50, 40, 150, 90), box(300, 300, 310, 310)], crs=CRS)
    return {"roads": roads, "utilities": utilities, "compounds": compounds}


def test_dwithin_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 500, (300, 2))
    ends = starts + rng.uniform(-40, 40, (300, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    centres = rng.uniform(0, 500, (60, 2))
    polys = shapely.box(centres[:, 0], centres[:, 1], centres[:, 0] + 25, centres[:, 1] + 15)
    utilities = gpd.GeoDataFrame({"segment_id": [f"s{i}" for i in range(300)],
                                  "utility": ["gas"] * 300}, geometry=lines, crs=CRS)
    compounds = gpd.GeoDataFrame({"compound_id": [f"c{i}" for i in range(60)]}, geometry=polys, crs=CRS)
    pairs = pipes_near_compounds(compounds, utilities, distance_m=30.0)
    by_dwithin = pipes_near_compounds(compounds, utilities, distance_m=30.0, method="dwithin")
    pd.testing.assert_frame_equal(pairs, by_dwithin)
    d = shapely.distance(polys[:, None], lines[None, :])
    ci, si = np.nonzero(d <= 30.0)
    expected = {(f"c{c}", f"s{s}") for c, s in zip(ci, si, strict=True)}
    assert set(zip(pairs["compound_id"], pairs["segment_id"], strict=True)) == expected
    assert len(pairs) == len(expected)
    np.testing.assert_allclose(pairs["distance_m"].to_numpy(), d[ci, si][np.lexsort((si, ci))])
    assert (pairs["length_in_m"] <= shapely.length(lines)[[int(s[1:]) for s in pairs["segment_id"]]] + 1e-6).all()


def test_overlay_totals_per_compound_and_package(street: dict[str, gpd.GeoDataFrame]) -> None:
    pairs = pipes_near_compounds(street["compounds"], street["utilities"], distance_m=30.0, lengths="full")
    per_compound = overlay_totals(pairs, value="length_in_m")
    assert per_compound.loc["C1", "gas"] == pytest.approx(200.0)
    per_pkg = overlay_totals(pairs, by="package_id", membership=street["compounds"])
    # C1 and C2 lie in different packages; W1 is near both but counts once per package
    assert per_pkg.loc["P1", "water_supply"] == pytest.approx(200.0)
    one = overlay_totals(pairs, by="package_id", membership={"C1": "X", "C2": "X"})
    assert one.loc["X", "water_supply"] == pytest.approx(400.0)  # W1 and W2, each once


def test_risk_grey_iron_gas_above_recent_pe() -> None:
    segs = pd.DataFrame({"segment_id": ["old", "new"], "utility": ["gas", "gas"],
                         "material": ["grey_cast_iron", "pe"], "install_year": [1985, 2018],
                         "condition": ["fair", "fair"]})
    risk = renewal_risk(segs, as_of_year=2024).set_index("segment_id")
    assert risk.at["old", "risk_score"] > risk.at["new", "risk_score"]
    assert risk.at["old", "hazard"]
    assert not risk.at["new", "hazard"]
    assert "灰口铸铁" in risk.at["old", "reason"]
    assert risk["risk_score"].between(0, 100).all()
    old_pe = renewal_risk(segs.assign(install_year=[1985, 1998]), as_of_year=2024).set_index("segment_id")
    assert old_pe.at["new", "hazard"]  # PE gas over 20 years


def test_risk_consequence_and_params() -> None:
    segs = pd.DataFrame({"segment_id": ["a", "b"], "utility": ["water_supply"] * 2,
                         "material": ["ductile_iron"] * 2, "install_year": [2000, 2000]})
    kw = {"households_served": {"a": 600}, "road_classes": {"a": "arterial", "b": "internal"}}
    base = renewal_risk(segs, as_of_year=2024, **kw).set_index("segment_id")
    assert base.at["a", "risk_score"] > base.at["b", "risk_score"]
    shorter = renewal_risk(segs, as_of_year=2024, params={"design_life_years": {"ductile_iron": 20}}, **kw)
    assert (shorter["risk_score"].to_numpy() > base["risk_score"].to_numpy()).all()
    with pytest.raises(ProfileError):
        renewal_risk(segs, as_of_year=2024, params={"no_such_key": 1})


def test_helpers_households_and_road_class(street: dict[str, gpd.GeoDataFrame]) -> None:
    pairs = pipes_near_compounds(street["compounds"], street["utilities"], distance_m=30.0)
    hh = households_near_segments(pairs, street["compounds"])
    assert hh["W1"] == 100
    assert hh["G2"] == 50
    rc = segment_road_classes(street["utilities"], street["roads"])
    assert rc["G1"] == "arterial"
    assert rc["W2"] == "branch"


def test_upgrade_plan_columns_years_and_funding(street: dict[str, gpd.GeoDataFrame]) -> None:
    plan = utility_upgrade_plan(street["compounds"], street["utilities"])
    by_id = plan.set_index("segment_id")
    assert {"W1", "G1", "S1", "G2"} <= set(by_id.index)
    assert "T1" not in by_id.index  # new fibre, no item asked for it
    assert by_id.at["G1", "plan_year"] == 2024
    assert by_id.at["G2", "plan_year"] == 2025
    assert by_id.at["W1", "package_id"] == "P1"  # near P1 (2024) and P2 (2025): earliest wins
    assert by_id.at["G1", "owner"] == DEFAULT_OWNERS["gas"]  # generic: the pipeline names the profile's
    split = plan[["funding_utility_yuan", "funding_government_yuan", "funding_residents_yuan"]].sum(axis=1)
    np.testing.assert_allclose(split, plan["est_cost_yuan"], atol=2)
    assert by_id.at["S1", "funding_utility_yuan"] == 0  # drainage: government and residents
    no_year = utility_upgrade_plan(street["compounds"].drop(columns="plan_year"),
                                   street["utilities"], as_of_year=2024)
    assert no_year["plan_year"].isna().all()
    with pytest.raises(ProfileError):
        utility_upgrade_plan(street["compounds"], street["utilities"],
                             funding_shares={"gas": {"utility": 0.9, "government": 0.9}})


def test_joint_trench_order_window_and_conflict(street: dict[str, gpd.GeoDataFrame]) -> None:
    plan = utility_upgrade_plan(street["compounds"], street["utilities"])
    own = pd.DataFrame({"utility": ["gas", "water_supply"], "road_id": ["R1", "R1"],
                        "plan_year": [2026, 2024]})
    jt = joint_trenches(plan, street["roads"], own_plans=own, compounds=street["compounds"])
    r1 = jt.set_index("road_id").loc["R1"]
    assert r1["package_id"] == "P1"
    assert r1["parties"] == "storm,gas,water_supply"
    assert r1["order_zh"] == "雨水→燃气→给水"
    assert r1["window_start"] == "2024-03-01"
    assert not r1["overrun"]
    assert r1["has_conflict"]
    assert "2026" in r1["conflicts"]
    assert "给水" not in r1["conflicts"]
    r2 = jt.set_index("road_id").loc["R2"]  # gas plus C2's own road works
    assert r2["parties"] == "gas,road"
    assert r2["order_zh"].endswith("道路面层")
    assert not r2["has_conflict"]
    same_year = joint_trenches(plan, street["roads"], own_plans=own.assign(plan_year=2024))
    assert not same_year["has_conflict"].any()


def test_company_workbooks_read_back(street: dict[str, gpd.GeoDataFrame], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    plan = utility_upgrade_plan(street["compounds"], street["utilities"])
    jt = joint_trenches(plan, street["roads"])
    paths = write_company_workbooks(plan, jt, tmp_path / "wb")
    assert set(paths) == set(plan["owner"])
    wb = load_workbook(paths[DEFAULT_OWNERS["gas"]])
    assert wb.sheetnames == ["管线改造清单", "统筹施工", "汇总"]
    ws = wb["管线改造清单"]
    header = [c.value for c in ws[2]]
    assert header[:3] == ["管段编号", "管线类型", "权属单位"]
    assert {r[0] for r in ws.iter_rows(min_row=3, values_only=True)} == {"G1"}
    assert wb["统筹施工"].max_row == 3  # title, header and the R1 trench
    evil = load_workbook(paths['=HYPERLINK("http://x")'])["管线改造清单"]
    cell = evil.cell(3, header.index("权属单位") + 1)
    assert cell.value == '=HYPERLINK("http://x")'
    assert cell.data_type == "s"
    assert not [p for p in (tmp_path / "wb").iterdir() if p.suffix != ".xlsx"]


def test_risk_takes_profile_hazard_rules() -> None:
    from yulin_gis.profile import load_profile

    rules = load_profile().hazard_rules
    segs = pd.DataFrame({"segment_id": ["g", "c", "p"], "utility": ["gas", "combined_sewer", "gas"],
                         "material": ["grey_cast_iron", "concrete", "pe"],
                         "install_year": [2010, 2015, 2015]})
    risk = renewal_risk(segs, as_of_year=2024, params={"hazard_rules": rules}).set_index("segment_id")
    assert risk.at["g", "hazard"]
    assert risk.at["c", "hazard"]  # rule "always"
    assert not risk.at["p", "hazard"]
    assert "雨污合流" in risk.at["c", "reason"]


def test_layers_write_to_gpkg_and_empty_inputs(street: dict[str, gpd.GeoDataFrame],
                                               tmp_path: Path) -> None:
    packages = gpd.GeoDataFrame({"package_id": ["P1"], "plan_year": [2024], "items": ["roads"]},
                                geometry=[box(50, -20, 150, 60)], crs=CRS)
    plan = utility_upgrade_plan(packages, street["utilities"])
    assert list(plan.columns)[-1] == "geometry"
    jt = joint_trenches(plan, street["roads"], packages=packages)
    assert jt.geometry.iloc[0].equals(LineString([(50, 0), (150, 0)]))  # clipped to P1
    assert jt["parties"].iloc[0].endswith(",road")
    out = tmp_path / "plan.gpkg"
    plan.to_file(out, layer="pipe_upgrades")
    jt.to_file(out, layer="joint_trenches")
    assert len(gpd.read_file(out, layer="joint_trenches")) == len(jt)
    far = gpd.GeoDataFrame({"compound_id": ["X"], "households": [5]},
                           geometry=[box(5000, 5000, 5010, 5010)], crs=CRS)
    empty = utility_upgrade_plan(far, street["utilities"])
    assert len(empty) == 0
    assert len(joint_trenches(empty, street["roads"])) == 0
    assert write_company_workbooks(empty, None, tmp_path / "none") == {}


def test_crs_mismatch_and_geographic_rejected(street: dict[str, gpd.GeoDataFrame]) -> None:
    from yulin_gis.errors import CRSError

    other = street["utilities"].set_crs("EPSG:4547", allow_override=True)
    with pytest.raises(CRSError, match="different CRSs"):
        pipes_near_compounds(street["compounds"], other)
    with pytest.raises(CRSError, match="geographic"):
        pipes_near_compounds(street["compounds"].set_crs(4490, allow_override=True),
                             street["utilities"])


def test_within_lengths_match_clipping() -> None:
    rng = np.random.default_rng(11)
    pts = rng.uniform(0, 60, (40, 6, 2)) + rng.uniform(0, 600, (40, 1, 2))
    convex = list(shapely.convex_hull(shapely.multipoints(pts)))
    concave = shapely.Polygon([(0, 0), (60, 0), (60, 20), (20, 20), (20, 60), (0, 60)])
    holed = shapely.Polygon([(300, 300), (360, 300), (360, 360), (300, 360)],
                            [[(320, 320), (340, 320), (340, 340), (320, 340)]])
    polys = np.array([*convex, concave, holed, shapely.Point(500, 100)], dtype=object)
    starts = rng.uniform(0, 650, (600, 2))
    lines = list(shapely.linestrings(np.stack([starts, starts + rng.uniform(-90, 90, (600, 2))], 1)))
    lines.append(LineString([(0, 10), (30, 40), (80, 40)]))  # a bent line
    compounds = gpd.GeoDataFrame({"compound_id": [f"c{i}" for i in range(len(polys))]},
                                 geometry=polys, crs=CRS)
    utilities = gpd.GeoDataFrame({"segment_id": [f"s{i}" for i in range(len(lines))],
                                  "utility": "water_supply"}, geometry=lines, crs=CRS)
    pairs = pipes_near_compounds(compounds, utilities, distance_m=30.0)
    assert len(pairs) > 100
    ci = pairs["compound_id"].str[1:].astype(int).to_numpy()
    si = pairs["segment_id"].str[1:].astype(int).to_numpy()
    geoms = utilities.geometry.to_numpy()
    zone = shapely.buffer(polys, 30.0, quad_segs=256)
    expected = shapely.length(shapely.intersection(geoms[si], zone[ci]))
    np.testing.assert_allclose(pairs["length_in_m"].to_numpy(), expected, atol=0.5)
    inside = pipes_near_compounds(compounds, utilities, distance_m=30.0, lengths="inside")
    assert (inside["length_in_m"] <= pairs["length_in_m"] + 1e-6).all()
