"""Tests of the multi-year allocation, coverage what-if, schedule and funding split."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yulin_gis.errors import ProfileError, SchemaError, ValidationError
from yulin_gis.planning import (
    FUNDING_COLUMNS,
    allocate_plan,
    apply_plan_to_compounds,
    budget_needed_for_full_coverage,
    funding_by_county_year,
    normalise_limits,
    package_funding,
    schedule_packages,
    split_costs,
    validate_shares,
)

YEARS = (2022, 2023, 2024, 2025)


def make_packages(rows: list[tuple]) -> pd.DataFrame:
    """rows: (package_id, county, households, cost, priority, pre2000, share)."""
    cols = ["package_id", "county", "households", "cost_yuan", "priority",
            "pre2000_households", "share_households"]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture
def simple() -> pd.DataFrame:
    return make_packages([
        ("P1", "玉州区", 100, 100.0, 90, 100, 0),
        ("P2", "玉州区", 100, 100.0, 80, 100, 0),
        ("P3", "玉州区", 100, 100.0, 70, 100, 0),
        ("P4", "玉州区", 100, 100.0, 60, 100, 0),
        ("P5", "玉州区", 100, 100.0, 50, 100, 0),
        ("Q1", "福绵区", 50, 300.0, 10, 50, 0),
    ])


def years_of(result) -> dict[str, str]:
    return dict(zip(result.packages["package_id"], result.packages["plan_year"], strict=True))


def test_budget_respected_priority_order_and_whole_packages(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 100, "福绵区": 1000}, share_cap=None)
    assert years_of(res) == {"P1": "2022", "P2": "2023", "P3": "2024", "P4": "2025",
                             "P5": "", "Q1": "2022"}
    reason = res.packages.set_index("package_id").loc["P5", "unscheduled_reason"]
    assert "higher-priority" in reason
    tot = res.totals.set_index(["county", "plan_year"])
    assert (tot["cost_yuan"] <= tot["budget_yuan"]).all()
    assert tot.loc[("玉州区", 2022), "packages"] == 1


def test_oversized_package_left_unscheduled_with_reason(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 500, "福绵区": 200}, share_cap=None,
                        compute_budget_needed=False)
    row = res.packages.set_index("package_id").loc["Q1"]
    assert row["plan_year"] == ""
    assert "exceeds the county's largest yearly budget" in row["unscheduled_reason"]
    assert not res.covered
    assert res.budget_needed is None


def test_household_capacity_respected(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, households_capacity={"玉州区": 250, "福绵区": 50},
                        share_cap=None)
    assert years_of(res) == {"P1": "2022", "P2": "2022", "P3": "2023", "P4": "2023",
                             "P5": "2024", "Q1": "2022"}
    assert res.covered


def test_lower_priority_fills_leftover_budget() -> None:
    pk = make_packages([("A", "X", 10, 60.0, 90, 10, 0), ("B", "X", 10, 60.0, 80, 10, 0),
                        ("C", "X", 10, 40.0, 70, 10, 0)])
    res = allocate_plan(pk, years=(2022, 2023), budget_by_county_year=100, share_cap=None)
    assert years_of(res) == {"A": "2022", "B": "2023", "C": "2022"}


def test_share_cap_holds_and_retries_after_pre2000_packages() -> None:
    pk = make_packages([
        ("S", "X", 100, 10.0, 99, 70, 30),  # 30 % share: blocked alone
        ("A", "X", 100, 10.0, 50, 100, 0),
        ("B", "X", 100, 10.0, 40, 100, 0),
    ])
    res = allocate_plan(pk, years=(2022,), budget_by_county_year=None, share_cap=0.15)
    assert years_of(res) == {"S": "2022", "A": "2022", "B": "2022"}  # 30 / 300 = 10 %
    res2 = allocate_plan(pk, years=(2022,), budget_by_county_year=None, share_cap=0.05)
    assert years_of(res2)["S"] == ""
    assert "share cap" in res2.packages.set_index("package_id").loc["S", "unscheduled_reason"]
    assert (res2.totals["share_ratio"] <= 0.05 + 1e-9).all()


def test_deterministic_under_row_order(simple: pd.DataFrame) -> None:
    a = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 150, "福绵区": 300})
    b = allocate_plan(simple.sample(frac=1, random_state=3), years=YEARS, budget_by_county_year={"玉州区": 150, "福绵区": 300})
    assert years_of(a) == years_of(b)
    tie = make_packages([("b", "X", 1, 1.0, 50, 1, 0), ("a", "X", 1, 1.0, 50, 1, 0)])
    assert years_of(allocate_plan(tie, years=(2022, 2023), budget_by_county_year=1)) == {"a": "2022", "b": "2023"}


def test_coverage_true_and_by_year(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 200, "福绵区": 300})
    assert res.covered
    assert res.budget_needed is None
    cum = res.coverage_by_year.set_index(["county", "plan_year"])["pre2000_covered"]
    assert list(cum.loc["玉州区"]) == [200, 400, 500, 500]


def test_budget_needed_what_if(simple: pd.DataFrame) -> None:
    budget = {"玉州区": 100, "福绵区": 250}
    res = allocate_plan(simple, years=YEARS, budget_by_county_year=budget)
    assert not res.covered
    need = res.budget_needed
    assert need is not None
    assert need.feasible
    rerun = allocate_plan(simple, years=YEARS, budget_by_county_year=need.budget_by_county_year)
    assert rerun.covered
    less = {k: v * 0.999 for k, v in need.budget_by_county_year.items()}
    for county in ("玉州区", "福绵区"):
        part = {k: (v if k[0] == county else need.budget_by_county_year[k])
                for k, v in less.items()}
        assert not allocate_plan(simple, years=YEARS, budget_by_county_year=part, compute_budget_needed=False).covered
    # trimmed: the extra money goes where it is needed, never below the given budgets
    assert [need.budget_by_county_year[("玉州区", y)] for y in YEARS] == [200, 100, 100, 100]
    assert [need.budget_by_county_year[("福绵区", y)] for y in YEARS] == [300, 250, 250, 250]
    assert need.extra_yuan_by_county == {"玉州区": 100, "福绵区": 50}
    assert need.extra_yuan == 150
    uniform = budget_needed_for_full_coverage(simple, YEARS, budget, trim=False)
    assert uniform.scale_by_county["玉州区"] == pytest.approx(2.0, abs=0.011)  # ceil to yuan
    assert allocate_plan(simple, years=YEARS, budget_by_county_year=uniform.budget_by_county_year).covered
    assert set(need.to_frame().columns) == {"county", "plan_year", "budget_needed_yuan"}


def test_budget_needed_infeasible_when_capacity_blocks(simple: pd.DataFrame) -> None:
    need = budget_needed_for_full_coverage(simple, YEARS, 100, {"玉州区": 50, "福绵区": 100})
    assert not need.feasible
    assert "玉州区" in need.reasons
    assert "福绵区" not in need.reasons


def test_limits_forms_and_errors() -> None:
    lim = normalise_limits({("X", 2022): 5, "Y": {2023: 7}, 2024: 1}, ["X", "Y"], YEARS)
    assert lim[("X", 2022)] == 5
    assert lim[("Y", 2023)] == 7
    assert lim[("X", 2024)] == 1
    assert lim[("X", 2023)] is None
    frame = pd.DataFrame({"county": ["X"], "plan_year": [2025], "budget": [9]})
    assert normalise_limits(frame, ["X"], YEARS)[("X", 2025)] == 9
    with pytest.raises(ProfileError):
        normalise_limits({"X": -1}, ["X"], YEARS)
    with pytest.raises(ProfileError):
        allocate_plan(make_packages([("A", "X", 1, 1.0, 1, 1, 0)]), years=(2023, 2022))


def test_bad_packages_collected() -> None:
    pk = make_packages([("A", "X", -1, 1.0, 1, 1, 0), ("A", "X", 1, "x", 1, 1, 0)])
    with pytest.raises(ValidationError) as err:
        allocate_plan(pk)
    codes = {p.code for p in err.value.problems}
    assert codes == {"duplicate-id", "bad-value"}
    with pytest.raises(ValidationError):
        allocate_plan(pk.drop(columns=["pre2000_households"]))


package_rows = st.lists(
    st.tuples(st.sampled_from(["X", "Y"]), st.integers(0, 400), st.integers(0, 1000),
              st.integers(0, 100), st.integers(0, 100), st.integers(0, 100)),
    min_size=1, max_size=25,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=package_rows, budget=st.integers(0, 2000), cap=st.integers(0, 800),
       share_cap=st.sampled_from([None, 0.0, 0.15, 0.5]))
def test_property_limits_never_exceeded(rows, budget, cap, share_cap) -> None:
    pk = make_packages([
        (f"p{i:02d}", c, hh, float(cost), pr, hh * pre // 100, hh * (100 - pre) * sh // 10000)
        for i, (c, hh, cost, pr, pre, sh) in enumerate(rows)
    ])
    res = allocate_plan(pk, years=(2022, 2023, 2024), budget_by_county_year=budget, households_capacity=cap, share_cap=share_cap,
                        compute_budget_needed=False)
    tot = res.totals
    assert (tot["cost_yuan"] <= budget + 1e-6).all()
    assert (tot["households"] <= cap + 1e-6).all()
    if share_cap is not None:
        assert (tot["share_households"] <= share_cap * tot["households"] + 1e-6).all()
    out = res.packages
    assert len(out) == len(pk)
    assert ((out["plan_year"] != "") ^ (out["unscheduled_reason"] != "")).all()
    again = allocate_plan(pk.iloc[::-1], years=(2022, 2023, 2024), budget_by_county_year=budget, households_capacity=cap, share_cap=share_cap,
                          compute_budget_needed=False)
    assert years_of(res) == years_of(again)


@settings(max_examples=12, deadline=None)
@given(rows=package_rows, budget=st.integers(1, 1500))
def test_property_what_if_budget_covers(rows, budget) -> None:
    pk = make_packages([(f"p{i:02d}", c, hh, float(cost), pr, hh * pre // 100, 0)
                        for i, (c, hh, cost, pr, pre, _sh) in enumerate(rows)])
    need = budget_needed_for_full_coverage(pk, YEARS, budget, None, None)
    assert need.feasible
    assert allocate_plan(pk, years=YEARS, budget_by_county_year=need.budget_by_county_year or budget).covered


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 12), per_year=st.integers(1, 4))
def test_property_equal_packages_follow_priority(n, per_year) -> None:
    pk = make_packages([(f"p{i:02d}", "X", 10, 10.0, (i * 37) % 101, 10, 0) for i in range(n)])
    res = allocate_plan(pk, years=YEARS, budget_by_county_year=10.0 * per_year, share_cap=None)
    ordered = res.packages.sort_values("plan_order")
    ranks = [int(y) if y else 9999 for y in ordered["plan_year"]]
    assert ranks == sorted(ranks)


# --- schedule -------------------------------------------------------------------------------


def test_schedule_respects_deadlines_and_pipes_first(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 100, "福绵区": 1000}, share_cap=None)
    sched = schedule_packages(res.packages).set_index("package_id")
    p1 = sched.loc["P1"]
    assert p1["planned_start"] <= pd.Timestamp("2022-06-30")
    assert p1["basic_end"] <= pd.Timestamp("2022-12-31")
    assert p1["surface_start"] >= p1["utility_end"]
    assert p1["planned_completion"] >= p1["basic_end"]
    assert not p1["late_start"]
    assert not p1["basic_overdue"]
    assert p1["schedule_flag"] == ""
    assert sched.loc["P4", "planned_start"].year == 2025
    assert pd.isna(sched.loc["P5", "planned_start"])


def test_schedule_flags_when_durations_do_not_fit() -> None:
    pk = make_packages([("A", "X", 2000, 1.0, 1, 1, 0)]).assign(plan_year="2023")
    out = schedule_packages(pk, durations_days={"design": 200, "utility": 150, "design_lead": 0})
    row = out.iloc[0]
    assert row["late_start"]
    assert row["basic_overdue"]
    assert "2023-06-30" in row["schedule_flag"]
    assert "2023-12-31" in row["schedule_flag"]
    big = schedule_packages(pk.assign(households=4000)).iloc[0]
    small = schedule_packages(pk.assign(households=50)).iloc[0]
    assert big["basic_end"] > small["basic_end"]
    prof = schedule_packages(pk.assign(households=500), durations_days={"basic": 100},
                             deadlines={"basic_complete_by": "10-01"}).iloc[0]
    assert prof["utility_end"] - prof["utility_start"] == pd.Timedelta(days=60)
    assert prof["basic_deadline"] == pd.Timestamp("2023-10-01")
    with pytest.raises(ProfileError):
        schedule_packages(pk, deadlines={"start_by": "June 30"})


def test_design_brought_forward_so_basic_works_meet_the_deadline() -> None:
    # 4,000 households: construction twice the reference durations; from 01-01 the basic
    # works would end in January; design starts in the previous autumn instead
    pk = make_packages([("A", "X", 4000, 1.0, 1, 1, 0)]).assign(plan_year="2023")
    yulin = {"basic": 150}  # the Yulin profile's basic-works duration
    row = schedule_packages(pk, durations_days=yulin).iloc[0]
    assert row["design_start"] < pd.Timestamp("2023-01-01")
    assert row["design_start"] >= pd.Timestamp("2022-10-01")
    assert row["basic_end"] <= pd.Timestamp("2023-12-31")
    assert not row["basic_overdue"]
    assert row["schedule_flag"] == ""
    fixed = schedule_packages(pk, durations_days={**yulin, "design_lead": 0}).iloc[0]
    assert fixed["design_start"] == pd.Timestamp("2023-01-01")
    assert fixed["basic_overdue"]
    small = schedule_packages(pk.assign(households=300), durations_days=yulin).iloc[0]
    assert small["design_start"] == pd.Timestamp("2023-01-01")  # only when needed


def test_apply_plan_to_compounds_keeps_every_compound(simple: pd.DataFrame) -> None:
    res = allocate_plan(simple, years=YEARS, budget_by_county_year={"玉州区": 100, "福绵区": 1000}, share_cap=None)
    sched = schedule_packages(res.packages)
    comp = pd.DataFrame({"compound_id": ["c1", "c2", "c3", "c4"],
                         "package_id": ["P1", "P5", None, "ZZ"]})
    out = apply_plan_to_compounds(comp, sched)
    assert list(out["plan_year"]) == ["2022", "", "", ""]
    assert out.loc[2, "unscheduled_reason"] == "not in a package"
    assert "ZZ" in out.loc[3, "unscheduled_reason"]
    assert "higher-priority" in out.loc[1, "unscheduled_reason"]
    assert out.loc[0, "planned_start"] == pd.Timestamp(date(2022, 4, 1))
    with pytest.raises(SchemaError):
        apply_plan_to_compounds(comp.drop(columns="package_id"), sched)


# --- funding --------------------------------------------------------------------------------


def test_funding_split_sums_to_cost() -> None:
    comp = pd.DataFrame({
        "compound_id": ["a", "b", "c"], "package_id": ["P1", "P1", "P2"],
        "items": ["water,road", "lift", ""], "cost_yuan": [1000.0, 333.33, 50.0],
    })
    shares = {"water": (0.0, 1.0, 0.0), "basic": (0.1, 0.0, 0.9), "improve": (0.5, 0.0, 0.5),
              "default": (0.2, 0.2, 0.6)}
    out = split_costs(comp, shares, item_classes={"road": "basic", "lift": "improve"})
    total = out[list(FUNDING_COLUMNS)].sum(axis=1)
    assert total.to_list() == pytest.approx(comp["cost_yuan"].to_list(), abs=0.005)
    assert out.loc[0, "fund_utility_yuan"] == pytest.approx(500.0)
    assert out.loc[0, "fund_residents_yuan"] == pytest.approx(50.0)
    assert out.loc[1, "fund_residents_yuan"] == pytest.approx(166.67, abs=0.01)
    assert out.loc[2, "fund_residents_yuan"] == pytest.approx(10.0)
    weighted = split_costs(comp.iloc[:1], shares, item_classes={"road": "basic"},
                           item_weights={"water": 3, "road": 1})
    assert weighted.loc[0, "fund_utility_yuan"] == pytest.approx(750.0)
    explicit = comp.iloc[:1].assign(cost_by_item='{"water": 100, "road": 400}')
    ex = split_costs(explicit, shares, item_classes={"road": "basic"})
    assert ex.loc[0, "fund_utility_yuan"] == pytest.approx(100 + 500 * 0.2)

    packages = pd.DataFrame({"package_id": ["P1", "P2"], "county": ["X", "X"],
                             "plan_year": ["2022", "2023"], "cost_yuan": [1500.0, 50.0]})
    pf = package_funding(packages, comp, funding_shares=shares, item_classes={"road": "basic", "lift": "improve"})
    assert pf[list(FUNDING_COLUMNS)].sum(axis=1).to_list() == pytest.approx([1500.0, 50.0])
    summary = funding_by_county_year(pf)
    assert list(summary["plan_year"]) == [2022, 2023]
    assert summary["cost_yuan"].sum() == pytest.approx(1550.0)


def test_funding_shares_validated() -> None:
    with pytest.raises(ProfileError, match="sum to 1"):
        validate_shares({"gas": (0.5, 0.5, 0.5)})
    with pytest.raises(ProfileError, match="three"):
        validate_shares({"gas": (0.5, 0.5)})
    assert validate_shares({"x": {"residents": 0.2, "utility": 0.3, "government": 0.5}}) == {
        "x": (0.2, 0.3, 0.5)}
    with pytest.raises(SchemaError):
        split_costs(pd.DataFrame({"cost_yuan": [-1.0]}))


def test_pre2000_packages_go_before_share_only_packages() -> None:
    pk = make_packages([
        ("NEW", "X", 15, 10.0, 99, 0, 15),  # 2001–2005 only, top priority
        ("MIX", "X", 100, 10.0, 50, 80, 20),
        ("OLD", "X", 100, 10.0, 10, 100, 0),
    ])
    res = allocate_plan(pk, years=(2022,), budget_by_county_year=None, share_cap=0.17)
    assert years_of(res) == {"NEW": "2022", "MIX": "2022", "OLD": "2022"}  # 35/215
    assert list(res.packages.sort_values("plan_order")["package_id"]) == ["MIX", "OLD", "NEW"]
    tight = allocate_plan(pk, years=(2022,), budget_by_county_year=None, share_cap=0.15)
    assert years_of(tight) == {"NEW": "", "MIX": "2022", "OLD": "2022"}  # 20/200 fits
    plain = allocate_plan(pk, years=(2022,), budget_by_county_year=None, share_cap=0.15, pre2000_first=False)
    assert years_of(plain)["MIX"] == ""  # NEW took the share room first
    assert not plain.covered
    need = budget_needed_for_full_coverage(pk, (2022,), 100, None, 0.15, pre2000_first=False)
    assert not need.feasible
    assert "MIX" in need.reasons["X"]
    assert "share cap" in need.reasons["X"]


def test_empty_packages_give_empty_plan() -> None:
    empty = make_packages([]).astype({"households": float, "cost_yuan": float})
    res = allocate_plan(empty, years=YEARS, budget_by_county_year=10)
    assert res.covered
    assert len(res.totals) == 0
    assert len(res.coverage_by_year) == 0
    assert len(schedule_packages(res.packages)) == 0
