"""Tests of the policy profile (yulin_gis.profile, profiles/*.toml)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yulin_gis.errors import ProfileError
from yulin_gis.profile import CLASSES, DEFAULT_PROFILE_PATH, load_profile

EXAMPLE = DEFAULT_PROFILE_PATH.with_name("example_other_city.toml")

# Every item seed §四(二) enumerates, by its Chinese wording, with its class. Written out
# independently of the profile file.
SEED_ITEMS: list[tuple[str, str]] = [
    # 1. 基础类
    ("供水", "basic"), ("排水", "basic"), ("供电", "basic"), ("弱电", "basic"),
    ("道路", "basic"), ("供气", "basic"), ("消防", "basic"), ("安防", "basic"),
    ("生活垃圾分类", "basic"), ("移动通信", "basic"), ("光纤入户", "basic"),
    ("架空线规整（入地）", "basic"), ("屋面", "basic"), ("外墙", "basic"), ("楼梯间", "basic"),
    # 2. 完善类
    ("党群服务阵地", "improve"), ("拆除违法建设", "improve"), ("绿化", "improve"),
    ("照明", "improve"), ("适老设施", "improve"), ("无障碍设施", "improve"),
    ("停车库（场）", "improve"), ("电动自行车及汽车充电设施", "improve"),
    ("智能快件箱", "improve"), ("智能信包箱", "improve"), ("文化休闲设施", "improve"),
    ("体育健身设施", "improve"), ("物业用房", "improve"), ("建筑节能改造", "improve"),
    ("加装电梯", "improve"),
    # 3. 提升类
    ("社区综合服务设施", "upgrade"), ("卫生服务站", "upgrade"), ("幼儿园", "upgrade"),
    ("周界防护", "upgrade"), ("养老", "upgrade"), ("托育", "upgrade"), ("助餐", "upgrade"),
    ("家政保洁", "upgrade"), ("便民市场", "upgrade"), ("便利店", "upgrade"),
    ("邮政快递末端综合服务站", "upgrade"),
]


@pytest.fixture(scope="module")
def yulin():
    return load_profile()


def test_every_seed_item_is_in_the_catalogue_with_its_class(yulin):
    missing = []
    for term, cls in SEED_ITEMS:
        hits = [it for it in yulin.items.values() if term in it.name_zh]
        if not hits or not any(it.item_class == cls for it in hits):
            missing.append((term, cls))
    assert missing == []
    # one item per enumerated seed item (no item merges two of them)
    assert len(yulin.items) == len(SEED_ITEMS)
    assert {c: len(yulin.items_of_class(c)) for c in CLASSES} == {"basic": 15, "improve": 15, "upgrade": 11}


def test_division_of_duties_and_utility_companies(yulin):
    dept = {code: {yulin.departments[d] for d in it.departments} for code, it in yulin.items.items()}
    util = {code: {yulin.utility_companies[u] for u in it.utility_companies}
            for code, it in yulin.items.items()}
    assert "市消防救援支队" in dept["fire_safety"]
    assert "市公安局" in dept["security"]
    assert "市公安局" in dept["parking"]
    assert "市教育局" in dept["education"]
    assert "市卫生健康委" in dept["health_station"]
    assert "市园林服务中心" in dept["greening"]
    assert "市城市管理监督局" in dept["illegal_demolition"]
    assert "市城市管理监督局" in dept["drainage"]
    assert "市文化广电体育和旅游局" in dept["sports_fitness"]
    assert "市商务局" in dept["market"]
    assert "市通管办" in dept["fibre_home"]
    assert util["water_supply"] == {"玉林水务集团"}
    assert util["gas_pipe"] == {"玉林中燃公司"}
    assert util["power_supply"] == {"玉林供电局"}
    assert {"中国电信玉林分公司", "中国移动玉林分公司", "中国联通玉林分公司", "广电网络玉林分公司"} <= util["fibre_home"]
    for it in yulin.items.values():
        f = it.funding
        assert f.residents + f.utility + f.government == pytest.approx(1.0)
        assert it.unit in {"m2", "household", "compound", "lift", "m", "roof_m2", "facade_m2",
                           "site_m2"}
        assert it.unit_cost > 0


def test_yulin_rules(yulin):
    e = yulin.eligibility
    assert (e.priority_built_until, e.share_built_from, e.share_built_until) == (2000, 2001, 2005)
    assert e.share_cap == 0.15
    assert e.share_cap_confirmed is False
    assert e.later_excluded
    assert yulin.consent.threshold == pytest.approx(2 / 3)
    assert yulin.exclusions.urban_village
    assert yulin.exclusions.self_built
    assert (yulin.schedule.start_by, yulin.schedule.basic_complete_by) == ("06-30", "12-31")
    assert yulin.plan.years == (2022, 2023, 2024, 2025)
    assert yulin.life_circle.circles == {"5min": 300.0, "10min": 500.0, "15min": 1000.0}
    assert yulin.life_circle.thresholds["kindergarten"] == 300.0
    assert sum(yulin.priority.weights.values()) == pytest.approx(100.0)
    rules = {r.code: r for r in yulin.hazard_rules}
    assert rules["gas_grey_iron"].materials == ("grey_cast_iron",)
    assert rules["gas_old_steel_pe"].older_than_years == 20
    assert rules["water_old"].older_than_years == 30
    assert rules["combined_sewer"].always


def _edited(tmp_path: Path, edit) -> Path:
    text = DEFAULT_PROFILE_PATH.read_text(encoding="utf-8")
    out = tmp_path / "edited.toml"
    out.write_text(edit(text), encoding="utf-8")
    return out


def _item_block_edit(code: str, old: str, new: str):
    def edit(text: str) -> str:
        start = text.index(f"[items.{code}]")
        end = text.index("[items.", start + 5)
        block = text[start:end]
        assert old in block
        return text[:start] + block.replace(old, new) + text[end:]
    return edit


def test_mistyped_key_is_named(tmp_path):
    path = _edited(tmp_path, _item_block_edit("gas_pipe", "residents = 0.1", 'residents = "ten"'))
    with pytest.raises(ProfileError, match=re.escape("items.gas_pipe.funding.residents")):
        load_profile(path)


def test_missing_and_unknown_keys_are_named(tmp_path):
    def edit(text: str) -> str:
        text = text.replace('threshold = "2/3"\n', "")
        return text.replace("later_excluded = true", "later_excluded = true\nshare_kap = 0.2")
    with pytest.raises(ProfileError) as info:
        load_profile(_edited(tmp_path, edit))
    msg = str(info.value)
    assert "consent.threshold: missing key" in msg
    assert "eligibility.share_kap: unknown key" in msg


def test_contradictions_are_all_collected_once(tmp_path):
    def edit(text: str) -> str:
        text = text.replace("share_cap = 0.15", "share_cap = 1.5")
        text = text.replace("priority_built_until = 2000", "priority_built_until = 2005")
        text = _item_block_edit("water_supply", "government = 0.4", "government = 0.5")(text)
        text = _item_block_edit("fire_safety", 'departments = ["fire_rescue"]', 'departments = ["firemen"]')(text)
        return text.replace('start_by = "06-30"', 'start_by = "13-45"')
    with pytest.raises(ProfileError) as info:
        load_profile(_edited(tmp_path, edit))
    msg = str(info.value)
    for path in ("eligibility.share_cap", "eligibility.priority_built_until",
                 "items.water_supply.funding", "items.fire_safety.departments", "schedule.start_by"):
        assert f"  - {path}" in msg, path
    assert info.value.problems
    assert len(info.value.problems) >= 5


def test_missing_item_key_is_named(tmp_path):
    path = _edited(tmp_path, _item_block_edit("gas_pipe", 'unit = "m"\n', ""))
    with pytest.raises(ProfileError, match=re.escape("items.gas_pipe.unit: missing key")):
        load_profile(path)


def test_utility_share_without_company_is_contradictory(tmp_path):
    path = _edited(tmp_path, _item_block_edit("roads", "utility = 0.0, government = 0.9",
                                              "utility = 0.5, government = 0.4"))
    with pytest.raises(ProfileError, match=re.escape("items.roads.funding.utility")):
        load_profile(path)


def test_unknown_trigger_and_hazard_vocabulary_named(tmp_path):
    def edit(text: str) -> str:
        text = _item_block_edit("roof_repair", 'survey = ["roof_leak"]', 'survey = ["roof_leek"]')(text)
        return text.replace('material = ["grey_cast_iron"]', 'material = ["grey_iron_typo"]', 1)
    with pytest.raises(ProfileError) as info:
        load_profile(_edited(tmp_path, edit))
    assert "items.roof_repair.trigger.survey: unknown survey field 'roof_leek'" in str(info.value)
    assert "hazards.rules[0].material: unknown material 'grey_iron_typo'" in str(info.value)


def test_bad_file_errors(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profile\nname = 1", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad)


def test_other_city_profile_loads_without_code_changes():
    other = load_profile(EXAMPLE)
    assert other.city == "示例市"
    assert other.consent.threshold == 0.75
    assert other.consent.exclude_below_threshold
    assert set(other.items) == {"gas_pipe", "water_supply", "drainage", "roof_repair", "lift",
                                "kindergarten", "clinic"}
    assert other.utility_companies["gas"] == "示例燃气有限公司"
    assert other.life_circle.thresholds == {"kindergarten": 300.0, "health_station": 1000.0}
