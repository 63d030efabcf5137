"""Cell values as planners type them."""

from __future__ import annotations

import datetime as dt

import pytest

from yulin_gis.io import (
    LAYERS,
    match_headers,
    parse_bool,
    parse_category,
    parse_float,
    parse_int,
    parse_ratio,
    parse_year,
)


@pytest.mark.parametrize(
    ("raw", "expected", "note"),
    [
        (1998, 1998, None), (1998.0, 1998, None), ("1998", 1998, None),
        ("1998年", 1998, "mapped"), ("1998年5月", 1998, "mapped"), ("1998-05-01", 1998, "mapped"),
        ("一九九八年", 1998, "mapped"), ("九十年代", 1995, "mapped"), ("90年代末", 1998, "mapped"),
        ("八十年代初", 1982, "mapped"), ("1990年代中期", 1995, "mapped"),
        (dt.date(2001, 3, 1), 2001, None), ("", None, None), (None, None, None),
        ("很久以前", None, "invalid"), ("85年代", None, "invalid"), (1998.5, None, "invalid"),
    ],
)
def test_parse_year(raw: object, expected: int | None, note: str | None) -> None:
    assert parse_year(raw) == (expected, note)


@pytest.mark.parametrize(
    ("raw", "expected", "note"),
    [(120, 120, None), ("1,200", 1200, "mapped"), ("1，200", 1200, "mapped"),
     ("120户", 120, "mapped"), ("１２０", 120, None), ("12.5", None, "invalid"),
     ("十二", None, "invalid"), (True, None, "invalid")],
)
def test_parse_int(raw: object, expected: int | None, note: str | None) -> None:
    assert parse_int(raw) == (expected, note)


def test_parse_float_units() -> None:
    assert parse_float("3,456.5㎡") == (3456.5, "mapped")
    assert parse_float("12万元") == (120000.0, "mapped")
    assert parse_float(float("inf")) == (None, "invalid")


def test_parse_ratio_and_bool() -> None:
    assert parse_ratio("85%") == (0.85, "mapped")
    assert parse_ratio(85) == (0.85, "mapped")
    assert parse_ratio(0.7) == (0.7, None)
    assert parse_bool("有") == (True, "mapped")
    assert parse_bool("无") == (False, "mapped")
    assert parse_bool(1) == (True, None)
    assert parse_bool("也许") == (None, "invalid")


def test_parse_category_chinese_values() -> None:
    assert parse_category("灰口铸铁", "material") == ("grey_cast_iron", "mapped")
    assert parse_category("燃气", "utility") == ("gas", "mapped")
    assert parse_category("幼儿园", "facility_kind") == ("kindergarten", "mapped")
    assert parse_category("gas", "utility") == ("gas", None)
    assert parse_category("PE管", "material") == ("pe", "mapped")
    assert parse_category("黄金管", "material") == (None, "invalid")


def test_header_aliases_and_truncated_shapefile_names() -> None:
    rename, ambiguous = match_headers(
        ["小区名称", "建成年代", "户数", "楼栋数", "所属社区", "compound_i", "floor_area"],
        LAYERS["compounds"])
    assert rename == {"小区名称": "name", "建成年代": "built_year", "户数": "households",
                      "楼栋数": "buildings", "所属社区": "community_id",
                      "compound_i": "compound_id", "floor_area": "floor_area_m2"}
    assert ambiguous == []


def test_second_header_for_same_field_is_kept_and_reported() -> None:
    rename, ambiguous = match_headers(["name", "小区名称"], LAYERS["compounds"])
    assert rename == {}
    assert len(ambiguous) == 1 and "小区名称" in ambiguous[0]
