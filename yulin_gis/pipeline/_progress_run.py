"""Progress import and county assessment over a finished run (进度调度与考核).

:func:`assess_progress` reads the packages of a run's ``plan.gpkg`` and a progress table
(package id, status, actual start and completion dates), and writes the county ranking the
seed's assessment asks for (§八(三)): a workbook, a chart and a map of package progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from yulin_gis.errors import InputFileError, Problem

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import Profile

__all__ = ["ProgressResult", "assess_progress"]

logger = logging.getLogger(__name__)

_STATUS_ZH = {"consulting": "征求意见", "publicised": "方案公示", "not_started": "未开工",
              "in_progress": "在建", "completed": "已完工"}
_COUNTY_COLUMNS = {
    "rank": "排名", "county": "县（市、区）", "tasks": "应实施片区", "households": "户数",
    "started": "已开工", "completed": "已完工", "completion_rate": "完成率（按户）",
    "late_starts": "逾期开工", "overdue_basic": "基础类逾期未完工", "score": "得分",
    "grade_zh": "等次",
}


@dataclass
class ProgressResult:
    """What :func:`assess_progress` produced."""

    packages: gpd.GeoDataFrame
    counties: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _planned_packages(plan_dir: Path) -> gpd.GeoDataFrame:
    import geopandas as gpd

    gpkg = plan_dir / "plan.gpkg"
    if not gpkg.exists():
        raise InputFileError(f"{gpkg}: not found; run `yulin-gis plan` or `run` first")
    try:
        return gpd.read_file(gpkg, layer="packages")
    except Exception as exc:
        raise InputFileError(f"{gpkg}: no readable packages layer ({exc})") from exc


def assess_progress(plan_dir: str | Path, table: str | Path, as_of: date,
                    maps: bool = True, profile: Profile | None = None) -> ProgressResult:
    """Rank counties by progress against the deadlines and map package progress.

    Parameters
    ----------
    plan_dir
        Output folder of a run (holds ``plan.gpkg``); results are written there.
    table
        Progress table (CSV/Excel: 片区编号, 状态, 实际开工, 实际完工 …).
    as_of
        Assessment date; plan years up to its year are assessed.
    maps
        Also write ``maps/progress.html`` and the progress chart.
    profile
        Deadlines, score weights and grade cut-offs (``[schedule]``, ``[assessment]``);
        default Yulin's.

    Returns
    -------
    ProgressResult
        Packages with their progress, the county table, the files written and the
        problems found in the table (unknown package ids are warnings, never dropped).
    """
    from yulin_gis.planning import assess_counties, assess_packages, read_progress
    from yulin_gis.reports import write_workbook

    out = Path(plan_dir)
    packages = _planned_packages(out)
    problems: list[Problem] = []
    progress = read_progress(table, package_ids=packages["package_id"].astype(str).tolist(),
                             problems=problems)
    for problem in problems:
        logger.warning("%s", problem)
    cols = [c for c in ("package_id", "county", "plan_year", "households") if c in packages]
    plan = pd.DataFrame(packages[cols]).fillna({"plan_year": ""})
    per_package = assess_packages(plan, progress, as_of)
    from yulin_gis.profile import load_profile

    prof = profile if profile is not None else load_profile()
    asm = prof.x.assessment
    counties = assess_counties(
        plan, progress, as_of=as_of, weights={
            "completion": asm.weights["completion"], "on_time_start": asm.weights["on_time_start"],
            "on_time_basic": asm.weights["on_time_basic"]},
        good_score=asm.good_score, poor_score=asm.poor_score,
        deadlines={"start_by": prof.schedule.start_by, "basic_by": prof.schedule.basic_complete_by})
    actual = per_package[["package_id", "status", "late_start", "overdue_basic"]].rename(
        columns={"status": "progress_status", "late_start": "started_late",
                 "overdue_basic": "basic_overdue_actual"})
    merged = packages.merge(actual, on="package_id", how="left")
    merged["progress_zh"] = merged["progress_status"].map(_STATUS_ZH).fillna("未到期")
    table_zh = counties[[c for c in _COUNTY_COLUMNS if c in counties.columns]].rename(
        columns=_COUNTY_COLUMNS)
    files = [write_workbook(out / "考核排名.xlsx", {"考核排名": table_zh},
                            {"考核排名": f"各县（市、区）老旧小区改造进度考核（截至{as_of.isoformat()}）"},
                            total_rows=False)]
    if maps:
        files += _progress_maps(merged, counties, out / "maps")
    return ProgressResult(merged, counties, files, problems)


def _progress_maps(packages: gpd.GeoDataFrame, counties: pd.DataFrame, maps_dir: Path
                   ) -> list[Path]:
    from yulin_gis.maps import MapLayer, StyleBy, write_map
    from yulin_gis.reports import chart_progress

    style = StyleBy("progress_zh", "实施进度", labels={"已完工": "已完工", "在建": "在建",
                                                   "未开工": "未开工", "未到期": "未到期"},
                    colors={"已完工": "#1a9850", "在建": "#fee08b", "未开工": "#d73027",
                            "未到期": "#bdbdbd"})
    layer = MapLayer("改造片区进度", packages, kind="polygon", style_by=style,
                     tooltip={"package_id": "片区编号", "progress_zh": "进度"},
                     popup={"package_id": "片区编号", "county": "县（市、区）",
                            "plan_year": "计划年度", "progress_zh": "进度",
                            "started_late": "逾期开工", "basic_overdue_actual": "基础类逾期"},
                     search_fields=["package_id"])
    path = maps_dir / "progress.html"
    write_map([layer], path, title="老旧小区改造实施进度")
    files = [path]
    if counties["tasks"].sum() > 0:
        files.append(chart_progress(counties.dropna(subset=["score"]),
                                    maps_dir / "charts" / "progress.png"))
    return files
