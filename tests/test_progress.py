"""Tests of progress import and the county assessment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from yulin_gis.errors import InputFileError, Problem, ValidationError
from yulin_gis.planning import assess_counties, assess_packages, read_progress


@pytest.fixture
def plan() -> pd.DataFrame:
    return pd.DataFrame({
        "package_id": ["A1", "A2", "B1", "B2", "C1", "D1", "N1"],
        "county": ["玉州区", "玉州区", "容县", "容县", "北流市", "陆川县", "玉州区"],
        "plan_year": ["2023", "2023", "2023", "2023", "2023", "2024", ""],
        "households": [100, 100, 150, 50, 200, 80, 10],
    })


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_read_chinese_csv_gbk_and_unknown_package_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "进度.csv",
                     "片区编号,状态,实际开工,实际完工\n"
                     "A1,已完工,2023/3/1,2023年11月30日\n"
                     "A2,在建,2023-07-15,\n"
                     "ZZ9,未开工,,\n", encoding="gbk")
    problems: list[Problem] = []
    df = read_progress(path, package_ids=["A1", "A2", "B1"], problems=problems)
    assert list(df["package_id"]) == ["A1", "A2", "ZZ9"]
    assert list(df["status"]) == ["completed", "in_progress", "not_started"]
    assert df.loc[0, "actual_completion"] == pd.Timestamp("2023-11-30")
    assert list(df["known_package"]) == [True, True, False]
    unknown = [p for p in problems if p.code == "unknown-package"]
    assert len(unknown) == 1
    assert unknown[0].row == "4"
    assert unknown[0].field == "package_id"
    assert unknown[0].file == str(path)
    assert df.attrs["problems"][0]["code"] == "unknown-package"


def test_read_english_excel(tmp_path: Path) -> None:
    path = tmp_path / "progress.xlsx"
    pd.DataFrame({"package_id": ["B1", "B2"], "status": ["completed", "In Progress"],
                  "actual_start": [pd.Timestamp("2023-04-01"), pd.Timestamp("2023-05-02")],
                  "actual_completion": [pd.Timestamp("2023-10-01"), None],
                  "note": ["ok", "备注"]}).to_excel(path, index=False)
    df = read_progress(path, package_ids=["B1", "B2"])
    assert list(df["status"]) == ["completed", "in_progress"]
    assert df.loc[1, "actual_start"] == pd.Timestamp("2023-05-02")
    assert list(df["note"]) == ["ok", "备注"]
    assert df["known_package"].all()


def test_read_errors_collected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv",
                     "package_id,status,actual_start,actual_completion\n"
                     "A1,halfway,2023-01-01,\n"
                     "A2,completed,2023-05-01,2023-04-01\n"
                     ",in_progress,soon,\n"
                     "A1,completed,,\n")
    with pytest.raises(ValidationError) as err:
        read_progress(path)
    codes = sorted(p.code for p in err.value.problems if p.severity == "error")
    assert codes == ["bad-date", "bad-status", "date-order", "duplicate-id", "missing-id"]
    rows = {p.code: p.row for p in err.value.problems}
    assert rows["bad-status"] == "2"
    assert rows["date-order"] == "3"
    with pytest.raises(InputFileError):
        read_progress(tmp_path / "missing.csv")
    no_id = write_csv(tmp_path / "noid.csv", "name,status\nx,在建\n")
    with pytest.raises(ValidationError, match="package id"):
        read_progress(no_id)


def test_blank_status_inferred(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", "片区编号,状态,实际开工,实际完工\nA1,,2023-03-01,\n")
    problems: list[Problem] = []
    df = read_progress(path, problems=problems)
    assert df.loc[0, "status"] == "in_progress"
    assert [p.code for p in problems] == ["status-inferred"]


def progress_frame(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["package_id", "status", "actual_start", "actual_completion"])
    for col in ("actual_start", "actual_completion"):
        df[col] = pd.to_datetime(df[col])
    df["actual_basic_completion"] = pd.NaT
    return df


def test_assess_packages_flags(plan: pd.DataFrame) -> None:
    prog = progress_frame([
        ("A1", "completed", "2023-03-01", "2023-11-30"),
        ("A2", "in_progress", "2023-07-15", None),
        ("B1", "completed", "2023-05-01", "2024-02-01"),
    ])
    out = assess_packages(plan, prog, date(2024, 1, 15)).set_index("package_id")
    assert set(out.index) == {"A1", "A2", "B1", "B2", "C1", "D1"}  # N1 unplanned
    assert not out.loc["D1", "late_start"]  # 2024 task, its start deadline not reached
    assert not out.loc["A1", "late_start"]
    assert not out.loc["A1", "overdue_basic"]
    assert out.loc["A2", "late_start"]
    assert out.loc["A2", "overdue_basic"]
    assert out.loc["B1", "overdue_basic"]
    assert out.loc["B2", "late_start"]  # never started, past 30 June
    assert out.loc["B2", "status"] == "not_started"
    mid = assess_packages(plan, prog, date(2023, 6, 1)).set_index("package_id")
    assert not mid.loc["B2", "late_start"]  # deadline not passed yet


def test_ranking_on_hand_made_case(plan: pd.DataFrame) -> None:
    prog = progress_frame([
        ("A1", "completed", "2023-03-01", "2023-11-30"),
        ("A2", "completed", "2023-04-01", "2023-12-20"),
        ("B1", "completed", "2023-05-01", "2024-02-01"),
        ("B2", "in_progress", "2023-08-01", None),
    ])
    res = assess_counties(plan, prog, as_of=date(2024, 1, 15), years={2023}).set_index("county")
    # 玉州区: all done on time -> 100; 容县: 150/200 done, 1 late start, 2 overdue
    assert res.loc["玉州区", "score"] == pytest.approx(100.0)
    assert res.loc["容县", "completion_rate"] == pytest.approx(0.75)
    assert res.loc["容县", "late_starts"] == 1
    assert res.loc["容县", "overdue_basic"] == 2
    assert res.loc["容县", "score"] == pytest.approx(100 * (0.5 * 0.75 + 0.25 * 0.5 + 0.25 * 0))
    assert res.loc["北流市", "score"] == pytest.approx(0.0)
    assert list(res["rank"].iloc[:3]) == [1, 2, 3]
    assert list(res.index[:3]) == ["玉州区", "容县", "北流市"]
    assert res.loc["玉州区", "grade"] == "good"
    assert res.loc["北流市", "grade_zh"] == "通报批评"
    assert res.loc["陆川县", "tasks"] == 0
    assert pd.isna(res.loc["陆川县", "rank"])
    later = assess_counties(plan, prog, as_of=date(2025, 1, 15)).set_index("county")
    assert later.loc["陆川县", "tasks"] == 1
    assert later.loc["陆川县", "score"] == pytest.approx(0.0)


def test_equal_scores_share_rank() -> None:
    plan = pd.DataFrame({"package_id": ["x", "y"], "county": ["乙", "甲"],
                         "plan_year": [2023, 2023], "households": [1, 1]})
    prog = progress_frame([("x", "completed", "2023-03-01", "2023-10-01"),
                           ("y", "completed", "2023-03-01", "2023-10-01")])
    res = assess_counties(plan, prog, as_of=date(2024, 1, 1))
    assert list(res["county"]) == ["乙", "甲"]
    assert list(res["rank"]) == [1, 1]
    with pytest.raises(ValueError, match="weights"):
        assess_counties(plan, prog, as_of=date(2024, 1, 1), weights={"completion": 0.9})
