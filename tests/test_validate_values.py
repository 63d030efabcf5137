"""Validation reads each distinct value once: every row still gets its own problems and value.

The field reader (:func:`yulin_gis.io._validate_fields._parse_field`) reads a distinct value
once and replays its outcome on every row holding it; these tests compare it with the
value-by-value parsers of :mod:`yulin_gis.io._values` row by row.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yulin_gis.errors import Problem
from yulin_gis.io import _values as parse
from yulin_gis.io._readers import _TOTALS, drop_totals_rows
from yulin_gis.io._schema import LAYERS, header_key
from yulin_gis.io._validate_fields import _Collector, _parse_field

SAMPLE_DEM = Path(__file__).resolve().parents[1] / "layers" / "yulin_dem.tif"
_PARSERS = {"str": parse.parse_str, "int": parse.parse_int, "float": parse.parse_float,
            "bool": parse.parse_bool, "year": parse.parse_year, "ratio": parse.parse_ratio}


def _read(name: str, values: list[object], dtype: object = object) -> tuple[list, list[Problem]]:
    fs = LAYERS["compounds"].field(name)
    problems: list[Problem] = []
    col = _Collector("f.csv", "compounds", problems)
    labels = [f"C{i}" for i in range(len(values))]
    return _parse_field(pd.Series(values, dtype=dtype), fs, labels, col, 2025), problems


def _one_by_one(name: str, values: list[object]) -> list[object]:
    fs = LAYERS["compounds"].field(name)
    return [_PARSERS[fs.kind](v)[0] for v in values]


MESSY = ["1998", "1998年", "不详", "abc", None, "不详", "1998", 1998, 1998.0, "九十年代", "abc",
         "2099", float("nan"), " 1998 ", "—", True]


@pytest.mark.parametrize("name", ["built_year", "households", "floor_area_m2", "address",
                                  "has_lift", "consent_rate"])
def test_repeated_values_read_as_one_by_one(name: str) -> None:
    got, problems = _read(name, MESSY)
    want = _one_by_one(name, MESSY)
    out_of_range = {p.row for p in problems if p.code in {"out-of-range", "future-year"}}
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g is None if f"C{i}" in out_of_range else (g == w and type(g) is type(w))
    rows = [int(p.row[1:]) for p in problems if p.row is not None]
    assert rows == sorted(rows)  # problems in row order, as read row by row


def test_every_row_of_a_repeated_bad_value_is_reported() -> None:
    values = ["12", "abc", "7", "abc", "不详", "abc", "不详"]
    got, problems = _read("households", values)
    bad = [p.row for p in problems if p.code == "bad-value"]
    holders = [p.row for p in problems if p.code == "placeholder" and p.row is not None]
    assert bad == ["C1", "C3", "C5"]
    assert holders == ["C4", "C6"]
    assert got == [12, None, 7, None, None, None, None]
    summary = [p.message for p in problems if p.code == "placeholder" and p.row is None]
    assert summary and "'不详' ×2" in summary[0]


def test_zero_and_negative_zero_are_read_apart() -> None:
    got, _ = _read("floor_area_m2", [0.0, -0.0, 0.0, -0.0])
    assert [math.copysign(1.0, v) for v in got] == [1.0, -1.0, 1.0, -1.0]
    typed, _ = _read("floor_area_m2", [0.0, -0.0, 5.5], dtype="float64")
    assert [math.copysign(1.0, v) for v in typed] == [1.0, -1.0, 1.0]


def test_one_and_true_are_read_apart_in_a_text_field() -> None:
    got, _ = _read("address", [1, True, 1.0, "1", True])
    assert got == [parse.parse_str(v)[0] for v in [1, True, 1.0, "1", True]]


def test_typed_columns_match_one_by_one() -> None:
    rng = np.random.default_rng(0)
    ints = rng.integers(1960, 2030, 500)
    got, problems = _read("built_year", ints.tolist(), dtype="int64")
    assert got == [None if y > 2025 else int(y) for y in ints]
    assert sum(p.code == "future-year" for p in problems) == int((ints > 2025).sum())
    text = pd.Series(rng.choice(["有", "无", "是", "不详", None], 300), dtype="str")
    got, _ = _read("has_lift", text.tolist(), dtype="str")
    assert got == _one_by_one("has_lift", text.tolist())


def test_totals_rows_found_as_before() -> None:
    words = ["合计", "Total", " TOTALS ", "Sub-Total", "总 计：", "ｔｏｔａｌ", "P001", "total1",
             "tota", "SUM.", "sum of", "小计", "x", ""]
    frame = pd.DataFrame({"compound_id": words, "n": range(len(words))})
    kept, dropped = drop_totals_rows(frame)
    want = [i + 1 for i, w in enumerate(words) if header_key(w) in _TOTALS]
    assert dropped == want and len(want) == 8
    assert len(kept) == len(words) - len(want)


def test_dem_pixels_read_in_one_window_match_sample() -> None:
    import rasterio

    from yulin_gis.io._coordinate_checks import _pixel_values

    with rasterio.open(SAMPLE_DEM) as src:
        rng = np.random.default_rng(1)
        b = src.bounds
        x, y = rng.uniform(b.left, b.right, 400), rng.uniform(b.bottom, b.top, 400)
        rows, cols = (np.asarray(a) for a in rasterio.transform.rowcol(src.transform, x, y))
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        want = np.array([v[0] for v in src.sample(zip(x[inside], y[inside], strict=True))],
                        dtype=float)
        for limit in (16_000_000, 0):  # one window, and pixel by pixel
            got = _pixel_values(src, rows[inside], cols[inside], max_pixels=limit)
            assert np.array_equal(got, want, equal_nan=True)
