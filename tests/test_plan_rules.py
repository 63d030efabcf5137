"""The seed's planning rules: consent gate, the 2001–2005 share, must-do before optional,
quantities, the programme window, funding sources and the profile's parameters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from yulin_gis._profile_params import FUNDING_SOURCES
from yulin_gis.errors import ProfileError
from yulin_gis.planning import (
    allocate_plan,
    fund_optional,
    gate_consent,
    households_limit_by_year,
    optional_rank,
    plan_parts,
    schedule_packages,
)
from yulin_gis.profile import DEFAULT_PROFILE_PATH, load_profile
from yulin_gis.survey import measure

PROFILE = load_profile()
OTHER = DEFAULT_PROFILE_PATH.with_name("example_other_city.toml")


def test_consent_below_threshold_is_held_for_consultation() -> None:
    """Seed §四(一) (居民改造意愿强烈) and §六(三) (根据居民意愿): a known rate below the
    threshold holds the compound back as 待征求意见 with its rate; an unknown rate is
    planned provisionally with consent_pending."""
    comp = pd.DataFrame({"compound_id": ["a", "b", "c", "d"],
                         "status": ["eligible", "eligible", "eligible", "excluded"],
                         "exclusion_reason": ["", "", "", "城中村"],
                         "consent_rate": [0.06, np.nan, 0.9, 0.1]})
    out = gate_consent(comp, PROFILE)
    assert out["status"].tolist() == ["consultation", "eligible", "eligible", "excluded"]
    assert "6%" in out.loc[0, "exclusion_reason"] and "待征求意见" in out.loc[0, "exclusion_reason"]
    assert out["consent_pending"].tolist() == [False, True, False, False]
    assert out["consent_status"].tolist() == ["below", "pending", "ok", "below"]


def _mixed_compounds() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Package A: 100 pre-2000 households and 900 of 2001–2005; package B: pre-2000 only."""
    comp = pd.DataFrame({
        "compound_id": ["a1", "a2", "b1"], "package_id": ["A", "A", "B"],
        "tier": ["priority", "share", "priority"], "households": [100.0, 900.0, 500.0],
        "cost_basic": [1e6, 9e6, 5e6], "cost_yuan": [2e6, 1.8e7, 1e7],
        "county": ["X", "X", "X"]})
    packages = pd.DataFrame({"package_id": ["A", "B"], "county": ["X", "X"],
                             "priority": [90.0, 50.0]})
    return comp, packages


def test_share_defers_2001_2005_part_never_the_pre2000_part() -> None:
    """Seed §四(一): 2001–2005 compounds enter at a share of each year's task; the share
    never strands a pre-2000 compound: a mixed package is cut and its pre-2000 part is
    planned even when its 2001–2005 part exceeds the share."""
    comp, packages = _mixed_compounds()
    parts, part_of = plan_parts(comp, packages)
    assert part_of.tolist() == ["A", "A-B", "B"]
    assert parts.set_index("package_id").loc["A-B", "parent_id"] == "A"
    res = allocate_plan(parts, years=(2023, 2024), share_cap=0.15)
    years = dict(zip(res.packages["package_id"], res.packages["plan_year"], strict=True))
    assert years["A"] == "2023" and years["B"] == "2023"
    assert years["A-B"] == ""  # 900 of 1,500 households would break the 15 % share
    assert "share" in res.packages.set_index("package_id").loc["A-B", "unscheduled_reason"]
    assert res.covered
    # with room for the share, the deferred part goes no earlier than its parent
    big = pd.concat([parts, pd.DataFrame([{
        "package_id": "C", "parent_id": "", "package": "C", "county": "X", "households": 9000.0,
        "pre2000_households": 9000.0, "share_households": 0.0, "cost_yuan": 0.0,
        "cost_all_yuan": 0.0, "priority": 10.0}])], ignore_index=True)
    res = allocate_plan(big, years=(2023, 2024), share_cap=0.15,
                        households_capacity={2023: 600.0, 2024: 1e5})
    years = dict(zip(res.packages["package_id"], res.packages["plan_year"], strict=True))
    assert years["A"] == "2023" and years["A-B"] == "2024"


def test_budget_fills_must_do_before_optional_and_lifts_need_three_quarters() -> None:
    """Seed §六(三): 基础类应改则改，完善类、提升类能改则改; lifts only with the owners'
    3/4 (profile consent.lift_threshold)."""
    long = pd.DataFrame({
        "compound_id": ["a", "a", "a", "b", "b"], "county": "X", "plan_year": 2023,
        "priority": [80.0, 80.0, 80.0, 40.0, 40.0],
        "item": ["roof_repair", "greening", "lift", "roof_repair", "greening"],
        "class": ["basic", "improve", "improve", "basic", "improve"],
        "cost_yuan": [5e6, 1e5, 5e5, 5e6, 1e5]})
    out = fund_optional(long, {("X", 2023): 1.5e5}, PROFILE, {"a": 0.7, "b": 0.9})
    funded = dict(zip(zip(out["compound_id"], out["item"], strict=True), out["funded"], strict=True))
    assert funded[("a", "roof_repair")] and funded[("b", "roof_repair")]  # always
    assert funded[("a", "greening")] and not funded[("b", "greening")]  # budget, by priority
    assert not funded[("a", "lift")]  # 70 % < 3/4
    assert "75%" in out.loc[2, "unfunded_reason"]
    free = fund_optional(long, {("X", 2023): None}, PROFILE, {"a": 0.8})
    assert free["funded"].all()
    # a later year's budget left over takes optional works as a second phase (分期实施)
    later = fund_optional(long, {("X", 2023): 1.5e5, ("X", 2024): 1e5}, PROFILE, {"a": 0.7})
    row = later[(later["compound_id"] == "b") & (later["item"] == "greening")].iloc[0]
    assert row["funded"] and row["funded_year"] == 2024
    assert later.loc[later["class"] == "basic", "funded_year"].eq(2023).all()


def test_optional_order_follows_the_profile() -> None:
    """Seed §三(三) 先民生再提升: 完善类 before 提升类, lifts last (profile order)."""
    rank = optional_rank(PROFILE)
    assert rank["greening"] < rank["community_service"] < rank["lift"]
    assert "roof_repair" not in rank


def test_roof_facade_road_not_measured_by_floor_area() -> None:
    """Seed §四(二)1 (屋面、外墙、道路): roof = footprint, facade = perimeter × height,
    road = a share of the site; floor area would count every storey."""
    comp = gpd.GeoDataFrame({
        "floor_area_m2": [6000.0], "floors": [6.0], "buildings": [2.0], "site_area_m2": [np.nan]},
        geometry=[shapely.box(0, 0, 100, 50)], crs="EPSG:4546")
    m = PROFILE.x.measures
    roof, est = measure("roof_m2", comp, PROFILE)
    assert roof[0] == pytest.approx(1000.0) and not est[0]
    facade, _ = measure("facade_m2", comp, PROFILE)
    depth = np.sqrt(500.0 / m.building_aspect)
    assert facade[0] == pytest.approx(2 * 2 * depth * (1 + m.building_aspect) * 6 * m.storey_height_m)
    road, est = measure("site_m2", comp, PROFILE)
    assert road[0] == pytest.approx(5000.0 * m.road_share_of_site) and est[0]
    assert roof[0] < comp["floor_area_m2"][0] and road[0] < comp["floor_area_m2"][0]


def test_no_work_before_the_rules_and_basic_works_by_year_end() -> None:
    """Seed 落款 (issued 2022-08-03) and §六(四) (12月31日前基本完工): design never starts
    before the effective date; the year's size limit keeps basic works inside the year."""
    x = PROFILE.x
    timing = {"deadlines": {"basic_complete_by": "12-31"}, "durations_days": x.phases_days,
              "reference_households": x.reference_households,
              "not_before": x.programme.effective_date, "programme_end": x.programme.deadline}
    limits = households_limit_by_year((2022, 2023), **timing)
    assert limits[2023] is None and 0 < (limits[2022] or 0) < 1000
    pk = pd.DataFrame({"package_id": ["s", "m"], "plan_year": ["2022", "2023"],
                       "households": [limits[2022], 3000.0]})
    out = schedule_packages(pk, **timing)
    assert (out["design_start"] >= pd.Timestamp(x.programme.effective_date)).all()
    assert not out["basic_overdue"].any() and not out["beyond_programme"].any()
    late = schedule_packages(pk.assign(plan_year="2025", households=3000.0),
                             **{**timing, "programme_end": dt.date(2025, 9, 30)})
    assert late["beyond_programme"].all() and "programme deadline" in late["schedule_flag"][0]


def test_profile_parameters_table_and_bad_keys_named(tmp_path: Path) -> None:
    """Every value with its source (参数与口径); seed clauses cited where they exist."""
    rows = PROFILE.parameters_table()
    by_key = {r[0].split("：", 1)[1]: r for r in rows}
    assert by_key["programme.effective_date"][1] == "2022-08-03"
    assert "2022年8月3日" in by_key["programme.effective_date"][3]
    assert by_key["funding_sources.central"][3] == "默认值（待确认）"
    assert by_key["items.roof_repair.unit_cost"][2] == "元/平方米（屋面）"
    assert by_key["eligibility.share_built_from"][2] == "年"
    assert by_key["eligibility.share_cap"][2] == "比例"
    assert by_key["phases.design"][2] == "天"
    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("pacing_slack = 0.05", "pacing_slak = 0.05").replace(
        "central = 0.40", "central = 0.50"), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(bad)
    msg = str(err.value)
    assert "programme.pacing_slak" in msg and "programme.pacing_slack: missing" in msg
    assert "funding_sources: shares must sum to 1" in msg


def test_second_city_profile_holds_no_yulin_name() -> None:
    """A second city's profile is complete on its own (seed-specific names stay in yulin.toml)."""
    other = load_profile(OTHER)
    assert "玉林" not in OTHER.read_text(encoding="utf-8")
    assert other.x.programme.effective_date == dt.date(2024, 3, 1)
    assert set(other.x.funding_sources) == set(FUNDING_SOURCES)


# --- whole runs ------------------------------------------------------------------------------


def test_run_without_budget_is_unconstrained_and_gated(small_run) -> None:
    """Seed §六(二) (annual plans within what can be funded): with no budget the plan says
    it is unconstrained by money (no circular budget); consent gates it (§四(一))."""
    state = small_run.state
    plan = state.plan
    assert plan.budget_source == "none" and "未设定年度预算" in plan.notes[0]
    comp = state.compounds
    rate = pd.to_numeric(comp["consent_rate"], errors="coerce")
    planned = comp["status"] == "planned"
    assert not (planned & (rate < PROFILE.consent.threshold - 1e-9)).any()
    held = comp[comp["status"] == "consultation"]
    assert len(held) and held["exclusion_reason"].str.contains("待征求意见").all()
    assert (comp.loc[planned & rate.isna(), "consent_pending"]).all()
    # must-do and optional cost apart; funders add up; sources add up to government
    p = comp[planned]
    assert np.allclose(p["cost_planned_yuan"], p["cost_basic_yuan"] + p["cost_optional_yuan"])
    funders = p[["fund_residents_yuan", "fund_utility_yuan", "fund_government_yuan"]].sum(axis=1)
    assert np.allclose(funders, p["cost_planned_yuan"], atol=0.05)
    sources = p[[f"fund_{s}_yuan" for s in FUNDING_SOURCES]].sum(axis=1)
    assert np.allclose(sources, p["fund_government_yuan"], atol=0.06)
    t = plan.totals  # the city summary's money: planned cost and funders per county-year
    assert t["cost_yuan"].sum() == pytest.approx(p["cost_planned_yuan"].sum(), abs=1.0)
    assert t["fund_government_yuan"].sum() == pytest.approx(p["fund_government_yuan"].sum(), abs=1.0)
    # 年底完工 beside 已纳入计划
    by = plan.coverage_by_year
    assert (by["pre2000_completed"] <= by["pre2000_scheduled"] + 1e-9).all()
    starts = pd.to_datetime(state.packages["design_start"]).dropna()
    assert starts.min() >= pd.Timestamp(PROFILE.x.programme.effective_date)


def test_covering_budget_plans_every_consenting_pre2000_compound(small_city, tmp_path) -> None:
    """Seed §二: by 2025 basically finish the pre-2000 compounds. With a budget that covers
    them, every eligible consenting pre-2000 compound is planned by the last plan year."""
    from yulin_gis.pipeline import PlanOptions, run

    res = run(small_city["gpkg"], tmp_path / "out", options=PlanOptions(budget=1e10),
              maps=False, until="plan")
    comp = res.state.compounds
    assert res.state.plan.budget_source == "explicit"
    pre = comp[(comp["tier"] == "priority") & comp["eligible"].astype(bool)
               & (comp["status"] != "consultation")]
    assert len(pre) and (pre["status"] == "planned").all()
    assert pre["plan_year"].astype(int).max() <= PROFILE.plan.last_year
    cons = res.state.plan.constraints
    assert (cons["budget_households"] == 0).all()


def _texts_with(path: Path, needle: str) -> list[str]:
    """Cells of every workbook under ``path`` that contain ``needle`` (file: sheet!cell)."""
    from openpyxl import load_workbook

    hits = []
    for book in sorted(path.rglob("*.xlsx")):
        if needle in book.name:
            hits.append(book.name)
        wb = load_workbook(book, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                hits += [f"{book.name}: {v}" for v in row if isinstance(v, str) and needle in v]
    return hits


def test_second_city_run_writes_no_yulin(small_city, tmp_path) -> None:
    """Everything city-specific lives in the profile: a run with the second city's profile
    names the city of that profile, never 玉林, in every workbook and in the plan layers
    (input values such as a pipe's recorded owner stay in ``owner_recorded``)."""
    from yulin_gis.pipeline import PlanOptions, run

    res = run(small_city["gpkg"], tmp_path / "out", options=PlanOptions(profile_path=OTHER),
              maps=False)
    hits = _texts_with(tmp_path / "out", "玉林")
    assert not hits, hits[:10]
    state = res.state
    for frame in (state.compounds, state.packages, state.pipe_upgrades):
        text = frame.drop(columns=[c for c in ("geometry", "owner_recorded") if c in frame])
        cols = [c for c in text.columns
                if text[c].dtype == object or pd.api.types.is_string_dtype(text[c])]
        assert len(cols) > 5
        hits = [c for c in cols if text[c].astype(str).str.contains("玉林").any()]
        assert not hits, hits
    assert set(state.pipe_upgrades["owner"]) <= {*load_profile(OTHER).utility_companies.values(),
                                                 *load_profile(OTHER).departments.values()}


def test_progress_tracks_publicity_and_consultation(tmp_path) -> None:
    """Seed §六(三): 通过方案公示征求意见 before the works: the progress table accepts
    方案公示 and 征求意见 as statuses, and their dates as columns."""
    from yulin_gis.planning import read_progress

    table = tmp_path / "进度表.csv"
    table.write_text("片区编号,状态,方案公示日期,征求意见完成日期,实际开工\n"
                     "P1,方案公示,2023-03-01,,\nP2,征求意见,,2023-02-10,\nP3,在建,2023-01-05,"
                     "2023-02-01,2023-04-01\n", encoding="utf-8")
    df = read_progress(table, package_ids=["P1", "P2", "P3"]).set_index("package_id")
    assert df["status"].tolist() == ["publicised", "consulting", "in_progress"]
    assert df.loc["P1", "scheme_publicised"] == pd.Timestamp("2023-03-01")
    assert df.loc["P2", "consultation_done"] == pd.Timestamp("2023-02-10")


def test_what_if_names_budget_not_the_share() -> None:
    """Seed §四(一) and §八(二): with a tight budget, the unplanned pre-2000 households are
    held back by the budget (named), never by the 2001–2005 share; consent-held ones are
    named too."""
    from yulin_gis.pipeline import binding_constraints

    comp, packages = _mixed_compounds()
    parts, _ = plan_parts(comp, packages)
    res = allocate_plan(parts, years=(2023,), budget_by_county_year=2e6, share_cap=0.15,
                        compute_budget_needed=False)
    held = pd.DataFrame({"status": ["consultation"], "tier": ["priority"], "county": ["X"],
                         "households": [300.0]})
    from yulin_gis.planning import reason_zh

    kinds = dict(zip(res.packages["package_id"], (reason_zh(r) for r in
                                                   res.packages["unscheduled_reason"]), strict=True))
    assert kinds["B"] == ("budget", "基础类投资500.00万元超过本县（市、区）最大年度预算200.00万元")
    assert kinds["A"] == ("", "")
    cons = binding_constraints(res, held).set_index("county")
    assert cons.loc["X", "budget_households"] == 500.0  # package B (5 m yuan) does not fit
    assert cons.loc["X", "consent_households"] == 300.0
    assert cons.loc["X", "constraint"] == "预算、居民意愿"
    assert cons.loc["X", "share_deferred_households"] == 900.0
