"""Property-based tests: random valid and invalid compound layers through validate and run.

For any layer: no uncaught exception (only :class:`ValidationError`); when it passes,
every non-blank input row is in the output exactly once; the same input gives the same
output. Bounded: tiny layers, few examples, no deadline.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from yulin_gis.errors import ValidationError
from yulin_gis.io import parse_str, validate_input
from yulin_gis.pipeline import run

X0, Y0, STEP = 110.150, 22.630, 0.0015

IDS = st.one_of(st.sampled_from(["C1", "C2", "C3", " C1 ", "", "  ", None, "小区-4", "0007"]),
                st.text(alphabet="ABC123-_ 小区", min_size=1, max_size=5))
YEARS = st.one_of(st.integers(1940, 2030).map(str),
                  st.integers(1950, 2005).map(lambda y: f"{y}年"),
                  st.sampled_from(["九十年代", "八十年代末", "一九九八年", "很久以前", "1998.0",
                                   "2099", None]))
HOUSEHOLDS = st.one_of(st.integers(-20, 5000).map(str),
                       st.integers(1000, 5000).map(lambda n: f"{n:,}"),
                       st.integers(1, 900).map(lambda n: f"{n}户"),
                       st.sampled_from(["很多", "1.5", "inf", "nan", "1e3", None]))
SHAPES = st.sampled_from(["box", "box", "box", "bowtie", "point", "empty", "none",
                          "flat", "line"])
COMMUNITY = st.sampled_from(["K1", "K2", None])


def _geometry(shape: str, k: int) -> Any:
    x, y = X0 + k * STEP, Y0
    return {
        "box": box(x, y, x + 0.001, y + 0.001),
        "bowtie": Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)]),
        "point": Point(x + 0.0005, y + 0.0005),
        "empty": Polygon(),
        "none": None,
        "flat": Polygon([(x, y), (x + 0.0005, y), (x + 0.001, y)]),
        "line": LineString([(x, y), (x + 0.001, y + 0.001)]),
    }[shape]


MESSY_ROWS = st.lists(st.tuples(IDS, YEARS, HOUSEHOLDS, SHAPES, COMMUNITY, st.booleans()),
                      min_size=1, max_size=6)
CLEAN_ROWS = st.lists(
    st.tuples(st.text(alphabet="ABC123-小区", min_size=1, max_size=4).map(lambda t: f" {t}"),
              st.one_of(st.integers(1950, 2010).map(str),
                        st.integers(1950, 2005).map(lambda y: f"{y}年"),
                        st.sampled_from(["九十年代", "八十年代末", "一九九八年"])),
              st.one_of(st.integers(0, 999).map(str),
                        st.integers(1000, 4000).map(lambda n: f"{n:,}"),
                        st.integers(1, 900).map(lambda n: f"{n}户")),
              st.sampled_from(["box", "box", "bowtie", "point"]),
              st.sampled_from(["K1", "K2"]),
              st.just(False)),
    min_size=1, max_size=6, unique_by=lambda r: r[0].strip())
ROWS = st.one_of(CLEAN_ROWS, MESSY_ROWS)


def _layer(rows: list[tuple]) -> gpd.GeoDataFrame:
    records, geoms = [], []
    for k, (cid, year, hh, shape, community, blank) in enumerate(rows):
        if blank:  # an entirely blank row, as left below a spreadsheet
            records.append({"compound_id": None, "name": None, "built_year": None,
                            "households": None, "community_id": None})
            geoms.append(None)
            continue
        records.append({"compound_id": cid, "name": f"小区{k}", "built_year": year,
                        "households": hh, "community_id": community})
        geoms.append(_geometry(shape, k))
    frame = pd.DataFrame(records, dtype=object)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4490")


def _expected_ids(layer: gpd.GeoDataFrame) -> list[str]:
    ids = []
    for _, row in layer.iterrows():
        if row["name"] is None and row.geometry is None:
            continue
        ids.append(parse_str(row["compound_id"])[0])
    return ids


def _write(layer: gpd.GeoDataFrame, folder: Path) -> Path:
    path = folder / "compounds.gpkg"
    layer.to_file(path, layer="compounds")
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_validate_never_crashes_loses_nothing_and_is_deterministic(rows: list[tuple]) -> None:
    layer = _layer(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(layer, Path(tmp))
        first, report = validate_input(path)
        second, again = validate_input(path)
    assert [p.to_dict() for p in report.problems] == [p.to_dict() for p in again.problems]
    expected = _expected_ids(layer)
    if first is None:
        assert report.errors, "rejected without an error"
        assert all(p.layer == "compounds" and p.file for p in report.errors)
        return
    assert report.ok
    out = first.compounds["compound_id"].tolist()
    assert sorted(out) == sorted(expected) and len(set(out)) == len(out)
    assert all(e is not None and e != "" for e in expected)
    pd.testing.assert_frame_equal(pd.DataFrame(first.compounds), pd.DataFrame(second.compounds))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_run_until_packages_never_crashes_and_keeps_every_compound(rows: list[tuple]) -> None:
    layer = _layer(rows)
    cols = ["compound_id", "status", "package_id", "exclusion_reason"]
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(layer, Path(tmp))
        valid, _ = validate_input(path)
        refused: ValidationError | None = None
        try:
            result = run(path, Path(tmp) / "a", until="packages", maps=False)
        except ValidationError as exc:
            refused = exc
        if refused is not None:
            event("refused")
            errors = [p for p in refused.problems if p.severity == "error"]
            assert errors
            if valid is not None:  # valid input refused only for lack of a planning unit
                assert {p.field for p in errors} == {"community_id"}
            return
        assert valid is not None
        event("ran")
        out = result.compounds
        assert sorted(out["compound_id"]) == sorted(_expected_ids(layer))
        assert out["compound_id"].is_unique
        assert set(out["status"]) <= {"excluded", "eligible", "packaged", "待核实"}
        verify = out["status"] == "待核实"  # unknown build year or households: never packaged
        assert (out.loc[verify, "package_id"].fillna("") == "").all()
        unused = out[out["status"] != "packaged"]
        assert (unused["exclusion_reason"].fillna("").str.len() > 0).all()
        assert (Path(tmp) / "a" / "run_manifest.json").exists()
        again = run(path, Path(tmp) / "b", until="packages", maps=False)
        pd.testing.assert_frame_equal(
            pd.DataFrame(out[cols]).reset_index(drop=True),
            pd.DataFrame(again.compounds[cols]).reset_index(drop=True))


COORD = st.one_of(st.floats(-0.01, 0.01).map(lambda d: f"{d:.6f}"), st.just(""),
                  st.sampled_from(["东经110度", "nan", "inf", "1e3", "  "]))
TABLE_ROWS = st.lists(st.tuples(IDS, YEARS, HOUSEHOLDS, COORD, COORD, st.booleans()),
                      min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=TABLE_ROWS, encoding=st.sampled_from(["utf-8-sig", "gbk"]),
       swap=st.booleans())
def test_survey_table_never_crashes_and_loses_nothing(rows: list[tuple], encoding: str,
                                                      swap: bool) -> None:
    records = []
    for k, (cid, year, hh, dx, dy, blank) in enumerate(rows):
        lon = f"{X0 + float(dx):.6f}" if dx and dx.strip() and _finite(dx) else dx
        lat = f"{Y0 + float(dy):.6f}" if dy and dy.strip() and _finite(dy) else dy
        if swap:
            lon, lat = lat, lon
        records.append(["", "", "", "", "", ""] if blank else
                       [cid or "", f"小区{k}", year or "", hh or "", lon, lat])
    table = pd.DataFrame(records, columns=["小区编号", "小区名称", "建成年代", "户数", "经度", "纬度"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "摸底调查表.csv"
        try:
            table.to_csv(path, index=False, encoding=encoding)
        except UnicodeEncodeError:
            return
        layers, report = validate_input(path, input_crs="wgs84")
    if layers is None:
        assert report.errors
        return
    wanted = [parse_str(r[0])[0] for r in records if any(v != "" for v in r)]
    out = layers.compounds["compound_id"].tolist()
    assert sorted(out) == sorted(wanted) and len(set(out)) == len(out)


def _finite(text: str) -> bool:
    try:
        return abs(float(text)) < 1
    except ValueError:
        return False
