"""Report tables built once for all packages and compounds: same rows as built one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from yulin_gis.profile import load_profile
from yulin_gis.reports._duties import WHEN, duty_table, load_duties
from yulin_gis.reports._labels import official_frame, zh_text
from yulin_gis.reports._schemes import _items_frame, _summary


@pytest.fixture(scope="module")
def profile() -> Any:
    return load_profile()


def _plan(dates_as_text: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 9
    start = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    packages = pd.DataFrame({
        "package_id": [f"P{k:02d}" for k in range(n)][::-1],
        "county": ["榆阳区", "神木市", "榆阳区"] * 3,
        "plan_year": ["2025", "2024", "2024", "", "2025", "2024", "2025", "2024", "2025"],
        "design_start": start, "planned_start": start + pd.Timedelta(days=60),
        "basic_end": start + pd.Timedelta(days=150),
        "planned_completion": (start + pd.Timedelta(days=240)).where(np.arange(n) != 2),
    })
    if dates_as_text:
        packages["design_start"] = packages["design_start"].dt.strftime("%Y-%m-%d").astype(object)
    compounds = pd.DataFrame({
        "compound_id": [f"C{k:03d}" for k in range(40)],
        "name": [f"小区{k}" for k in range(40)],
        "package_id": [f"P{k % 8:02d}" for k in range(40)],
        "owners_committee": [k % 3 == 0 or k % 8 == 1 for k in range(40)],
    })
    compounds.loc[:15, "package_id"] = "P04"  # one package of 16+ compounds: 等N个
    return packages, compounds


def _reference(profile: Any, compounds: pd.DataFrame, packages: pd.DataFrame) -> pd.DataFrame:
    """The duty table built group by group (as before the duty table was vectorised)."""
    pk = packages[packages["plan_year"].astype(str).str.strip() != ""]
    rows = []
    for duty in load_duties(profile):
        keys = {"city": ["plan_year"], "county": ["county", "plan_year"]}.get(duty.scope,
                                                                            ["package_id"])
        for _, group in pk.groupby(keys, sort=True):
            comp = compounds[compounds["package_id"].isin(group["package_id"])]
            comp = comp.set_index("package_id").loc[
                [p for p in group["package_id"] if p in set(comp["package_id"])]]
            if duty.where:
                comp = comp[~comp[duty.where].astype(bool)]
            names = comp["name"].tolist()
            if duty.scope == "compound" and not names:
                continue
            start_col, end_col, phrase = WHEN[duty.when]
            start = pd.to_datetime(group[start_col]).min() if start_col else pd.NaT
            end = (pd.to_datetime(group[end_col]).min() if duty.when == "plan"
                   else pd.to_datetime(group[end_col]).max()) if end_col else pd.NaT
            first = group.iloc[0]
            rows.append({
                "县（市、区）": "" if duty.scope == "city" else first["county"],
                "计划年度": first["plan_year"],
                "片区编号": first["package_id"] if duty.scope in ("package", "compound") else "",
                "涉及小区数": len(names),
                "涉及小区": "" if duty.scope == "city" else "、".join(names[:12]) + (
                    f"等{len(names)}个" if len(names) > 12 else ""),
                "开始日期": None if pd.isna(start) else start.date(),
                "完成时限": None if pd.isna(end) else end.date(), "时间要求": phrase})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("dates_as_text", [False, True])
def test_duty_table_matches_group_by_group(profile: Any, dates_as_text: bool) -> None:
    packages, compounds = _plan(dates_as_text)
    got = duty_table(profile, compounds, packages)
    want = _reference(profile, compounds, packages)
    assert got["序号"].tolist() == list(range(1, len(want) + 1))
    cols = list(want.columns)
    assert got[cols].astype(object).where(got[cols].notna(), None).to_dict("records") == \
        want.astype(object).where(want.notna(), None).to_dict("records")
    assert got["涉及小区"].str.contains("等19个").any()
    assert (got["适用范围"] == "小区").sum() < (got["适用范围"] == "片区").sum()


def test_duty_table_without_plan_lists_duties_once(profile: Any) -> None:
    _, compounds = _plan()
    table = duty_table(profile, compounds, None)
    assert len(table) == len(load_duties(profile))
    assert set(table["计划年度"]) == {""} and table["涉及小区数"].isna().all()


def test_translations_follow_their_labels() -> None:
    assert zh_text("water_supply", {"water_supply": "供水改造"}) == "供水改造"
    assert zh_text("water_supply") == "给水"
    assert zh_text("water_supply", {"water_supply": "供水管网"}) == "供水管网"
    frame = pd.DataFrame({"改造内容": ["water_supply", "water_supply"], "覆盖率": [0, 1],
                          "同意率": [0.5, 1.5]})
    out = official_frame(frame, {"water_supply": "供水改造"})
    assert list(out.columns) == ["改造内容", "覆盖率(%)", "同意率"]
    assert out.iloc[:, 0].tolist() == ["供水改造", "供水改造"]
    assert out.iloc[:, 1].tolist() == [0, 100] and out.iloc[:, 2].tolist() == [0.5, 1.5]


def test_items_frame_orders_classes_and_subtotals(profile: Any) -> None:
    codes = {it.item_class: it for it in profile.items.values()}
    basic, upgrade = codes["basic"], codes["upgrade"]
    long = pd.DataFrame({
        "class": ["upgrade", "basic", "basic"], "item_name": [upgrade.name_zh, basic.name_zh, "x"],
        "quantity": [2.0, 10.4, 1.0], "unit": [upgrade.unit, "m", "m"],
        "cost_yuan": [100.0, 0.1, np.nan]})
    frame = _items_frame(pd.Series(dtype=object), profile, long)
    assert frame["改造内容"].tolist() == [basic.name_zh, "x", "基础类小计", upgrade.name_zh, "提升类小计"]
    assert frame["工程量"].tolist()[:2] == [10, 1]
    assert frame["投资(元)"].tolist()[2] == 0.1 and frame["投资(元)"].tolist()[4] == 100.0


def test_summary_management_models() -> None:
    comp = pd.DataFrame({"property_management": [True, False, False],
                         "owners_committee": [False, True, None]}, index=["a", "b", "c"])
    rows = pd.DataFrame({"compound_id": ["c", "a", "b"], "name": ["丙", "甲", "乙"], "address": "",
                         "households": 1, "consent_rate": 0.9, "cost_yuan": 1.0,
                         "fund_residents_yuan": 0.0, "fund_utility_yuan": 0.0,
                         "fund_government_yuan": 1.0, "planned_start": "2025-04-01",
                         "planned_completion": None})
    assert _summary(rows, comp)["长效管理模式"].tolist() == ["托管", "物业服务", "业主自治"]
