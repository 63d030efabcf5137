"""Progress import and county assessment over a finished run."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
from click.testing import CliRunner

from yulin_gis.cli.main import cli
from yulin_gis.pipeline import assess_progress


def _progress_table(plan_dir: Path, path: Path) -> pd.DataFrame:
    packages = gpd.read_file(plan_dir / "plan.gpkg", layer="packages")
    due = packages[packages["plan_year"].isin([2022, 2023])].sort_values("package_id")  # integers
    due = due.sort_values(["plan_year", "package_id"])
    rows = [{"片区编号": pid, "状态": "已完工", "实际开工": "2022-04-01", "实际完工": "2022-11-30"}
            for pid in due["package_id"].iloc[:1]]
    rows += [{"片区编号": pid, "状态": "在建", "实际开工": "2022-08-01", "实际完工": ""}
             for pid in due["package_id"].iloc[1:2]]
    rows.append({"片区编号": "不存在-P01", "状态": "在建", "实际开工": "2022-05-01", "实际完工": ""})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return due


def test_progress_ranks_counties_and_reports_unknown_ids(small_run, tmp_path: Path) -> None:
    plan_dir = tmp_path / "run"
    shutil.copytree(small_run.out_dir, plan_dir)
    due = _progress_table(plan_dir, tmp_path / "progress.csv")
    result = assess_progress(plan_dir, tmp_path / "progress.csv", dt.date(2023, 3, 1))
    assert any(p.code == "unknown-package" and "不存在-P01" in p.message for p in result.problems)
    assessed = result.counties[result.counties["tasks"] > 0]
    assert assessed["tasks"].sum() == len(due)
    assert assessed["completed"].sum() == min(1, len(due))
    ranking = pd.read_excel(plan_dir / "考核排名.xlsx", header=1)
    assert "排名" in ranking.columns
    assert (plan_dir / "maps" / "progress.html").exists()
    late = result.packages.set_index("package_id")["started_late"]
    if len(due) > 1:
        assert bool(late[due["package_id"].iloc[1]])  # started 08-01, after 06-30


def test_progress_command(small_run, tmp_path: Path) -> None:
    plan_dir = tmp_path / "run"
    shutil.copytree(small_run.out_dir, plan_dir)
    _progress_table(plan_dir, tmp_path / "p.csv")
    result = CliRunner().invoke(cli, ["progress", str(plan_dir), str(tmp_path / "p.csv"),
                                      "--as-of", "2023-03-01", "--no-maps"])
    assert result.exit_code == 0, result.output
    assert "score" in result.output
    missing = CliRunner().invoke(cli, ["progress", str(tmp_path), str(tmp_path / "p.csv")])
    assert missing.exit_code == 2
    assert "plan.gpkg" in missing.output
