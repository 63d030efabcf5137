"""Progress import and county assessment (进度调度与考核, seed §六(四), §八(三)).

A progress table (进度表) has one row per package: package id (片区编号), status (状态:
未开工 / 在建 / 已完工), actual start (实际开工) and actual completion (实际完工) dates, and
optionally the date the basic in-compound works were done (基础类完工). Chinese or English
headers and values are accepted; CSV (UTF-8 or GBK) or Excel.

Assessment (:func:`assess_counties`)
------------------------------------
The seed has the city office check and rank the counties (检查考评), favouring good
performers with funds and naming poor ones (§八(三)), against the deadlines of §六(四).
Per assessed package (plan years given by ``years``; default every plan year ≤
``as_of.year``, so a mid-year check includes the current year's tasks; pass
``years={2023}`` for the annual check of one year's task):

* **late start**: started after ``start_by`` (06-30) of its plan year, or not started
  and ``as_of`` is past that date;
* **overdue basic works**: basic works (else the whole package) done after ``basic_by``
  (12-31), or not done and ``as_of`` is past that date.

Per county: ``completion_rate`` (completed households / planned households; packages
when households are unknown), ``late_start_rate`` and ``overdue_basic_rate`` (per package),
and

    score = 100 × (0.5 × completion_rate + 0.25 × (1 − late_start_rate)
                   + 0.25 × (1 − overdue_basic_rate))

(weights editable). Counties are ranked by score (descending; ties: completion rate,
then county name), rank 1 best, equal scores share a rank. ``grade`` is ``good``
(score ≥ 85: 资金倾斜), ``poor`` (< 60: 通报批评) or ``fair``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from yulin_gis.errors import Problem, ProfileError, ValidationError
from yulin_gis.io import header_key, require_columns
from yulin_gis.planning._schedule import deadline_date, deadline_settings

__all__ = [
    "DEFAULT_SCORE_WEIGHTS",
    "PRE_WORK_STATUSES",
    "PROGRESS_HEADERS",
    "STATUS_ALIASES",
    "STATUS_LABELS_ZH",
    "assess_counties",
    "assess_packages",
    "read_progress",
]

logger = logging.getLogger(__name__)

STATUS_LABELS_ZH: dict[str, str] = {
    "consulting": "征求意见", "publicised": "方案公示",
    "not_started": "未开工", "in_progress": "在建", "completed": "已完工",
}
PRE_WORK_STATUSES = ("consulting", "publicised", "not_started")
"""Statuses before construction (seed §六(三): 方案公示征求意见 comes before the works)."""
STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "consulting": ("征求意见", "征求意见中", "意见征询", "待征求意见", "consulting", "consultation"),
    "publicised": ("方案公示", "公示", "公示中", "方案已公示", "publicised", "publicized",
                   "scheme published"),
    "not_started": ("未开工", "未开始", "待开工", "前期", "not started", "notstarted", "planned"),
    "in_progress": ("在建", "施工中", "已开工", "进行中", "开工", "in progress", "inprogress",
                    "started", "ongoing", "under construction"),
    "completed": ("已完工", "完工", "竣工", "已竣工", "完成", "已完成", "completed", "complete",
                  "done", "finished"),
}
PROGRESS_HEADERS: dict[str, tuple[str, ...]] = {
    "package_id": ("package_id", "片区编号", "项目包编号", "片区代码", "项目编号", "package"),
    "status": ("status", "状态", "进度状态", "施工状态", "项目状态"),
    "actual_start": ("actual_start", "实际开工", "实际开工日期", "开工日期", "开工时间"),
    "actual_completion": ("actual_completion", "实际完工", "实际完工日期", "竣工日期",
                          "完工日期", "完工时间"),
    "actual_basic_completion": ("actual_basic_completion", "基础类完工", "基础类完工日期",
                                "水电路气完工日期", "basic_completion"),
    "scheme_publicised": ("scheme_publicised", "方案公示日期", "公示日期"),
    "consultation_done": ("consultation_done", "征求意见完成日期", "意见征询完成日期"),
}
DEFAULT_SCORE_WEIGHTS: dict[str, float] = {
    "completion": 0.5, "on_time_start": 0.25, "on_time_basic": 0.25,
}
"""How a county's progress score weighs completion, on-time start and on-time basic works."""
_DATE_FIELDS = ("actual_start", "actual_completion", "actual_basic_completion",
                "scheme_publicised", "consultation_done")
_STATUS_LOOKUP = {header_key(a): k for k, aliases in STATUS_ALIASES.items()
                  for a in (*aliases, k)}


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return bool(value is pd.NaT) or str(value).strip() in ("", "nan", "NaT", "None", "-", "—")


def _parse_date(value: Any) -> date | None:
    """Parse a date cell: date/datetime, ``2023-05-01``, ``2023/5/1``, ``2023年5月1日``,
    ``2023.5.1``, ``20230501`` or an Excel serial day number. Raise ValueError if bad."""
    if isinstance(value, datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # Excel serial day (1954–2119)
            return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(value))).date()
        value = str(int(value))
    text = str(value).strip()
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                     r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?", text)
    if m is None:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m is None:
        raise ValueError(text)
    return date(int(m[1]), int(m[2]), int(m[3]))


def _map_headers(columns: list[Any]) -> dict[Any, str]:
    lookup = {header_key(a): k for k, aliases in PROGRESS_HEADERS.items() for a in aliases}
    rename: dict[Any, str] = {}
    for col in columns:
        target = lookup.get(header_key(col))
        if target is not None and target not in rename.values():
            rename[col] = target
    return rename


def read_progress(
    path: str | Path,
    *,
    package_ids: Collection[str] | None = None,
    problems: list[Problem] | None = None,
    sheet: str | int = 0,
) -> pd.DataFrame:
    """Read a progress table (进度表) from CSV or Excel.

    Parameters
    ----------
    path
        ``.csv`` (UTF-8 with or without BOM, else GBK) or ``.xlsx``.
    package_ids
        The planned package ids. Rows naming another id are kept with
        ``known_package == False`` and reported as ``unknown-package`` warnings.
    problems
        A list that receives every problem found (warnings included).
    sheet
        Excel sheet name or index.

    Returns
    -------
    pandas.DataFrame
        ``package_id`` (str), ``status`` (``consulting`` 征求意见 / ``publicised``
        方案公示 / ``not_started`` / ``in_progress`` /
        ``completed``), ``actual_start``, ``actual_completion``,
        ``actual_basic_completion`` (Timestamps or NaT), ``known_package`` (bool),
        ``source_row`` (the spreadsheet row number, header = 1) and any extra columns.
        ``attrs["problems"]`` holds the problems as dicts.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    ValidationError
        Missing id/status columns, blank ids, unknown statuses, bad or inconsistent dates,
        duplicate ids: all listed at once, each naming file, row and field.
    """
    from yulin_gis.io import read_table

    raw = read_table(path, sheet)
    fname = str(path)
    found: list[Problem] = []
    df = raw.rename(columns=_map_headers(list(raw.columns)))
    if "package_id" not in df.columns:
        found.append(Problem("error", "missing-field", "no package id column (片区编号)",
                             file=fname, field="package_id"))
        _finish(found, problems)
    if "status" not in df.columns:
        df["status"] = None
    for col in _DATE_FIELDS:
        if col not in df.columns:
            df[col] = None
    df = df.reset_index(drop=True)
    df["source_row"] = range(2, len(df) + 2)
    ids, statuses = [], []
    dates: dict[str, list[date | None]] = {c: [] for c in _DATE_FIELDS}
    for rec in df.to_dict("records"):
        row = str(rec["source_row"])
        pid = "" if _blank(rec["package_id"]) else str(rec["package_id"]).strip()
        if pid.endswith(".0") and pid[:-2].isdigit():
            pid = pid[:-2]  # Excel turned a numeric id into a float
        if not pid:
            found.append(Problem("error", "missing-id", "package id is blank", file=fname,
                                 row=row, field="package_id"))
        ids.append(pid)
        for col in _DATE_FIELDS:
            value = None
            if not _blank(rec[col]):
                try:
                    value = _parse_date(rec[col])
                except ValueError:
                    found.append(Problem("error", "bad-date", f"not a date: {rec[col]!r}",
                                         file=fname, row=row, field=col))
            dates[col].append(value)
        statuses.append(_status(rec["status"], dates["actual_start"][-1],
                                dates["actual_completion"][-1], fname, row, found))
    df["package_id"] = ids
    df["status"] = statuses
    for col in _DATE_FIELDS:
        df[col] = pd.to_datetime(pd.Series(dates[col], index=df.index, dtype=object))
    _check_rows(df, fname, package_ids, found)
    df["known_package"] = (df["package_id"].isin(set(map(str, package_ids)))
                           if package_ids is not None else True)
    df.attrs["problems"] = [p.to_dict() for p in found]
    _finish(found, problems)
    return df


def _status(value: Any, start: date | None, done: date | None, fname: str, row: str,
            found: list[Problem]) -> str:
    if _blank(value):
        inferred = "completed" if done else "in_progress" if start else "not_started"
        found.append(Problem("warning", "status-inferred",
                             f"status blank; taken as {inferred} from the dates",
                             file=fname, row=row, field="status"))
        return inferred
    key = _STATUS_LOOKUP.get(header_key(value))
    if key is None:
        found.append(Problem("error", "bad-status",
                             f"unknown status {value!r}; use 征求意见, 方案公示, 未开工, 在建 or 已完工",
                             file=fname, row=row, field="status"))
        return ""
    return key


def _check_rows(df: pd.DataFrame, fname: str, package_ids: Collection[str] | None,
                found: list[Problem]) -> None:
    known = set(map(str, package_ids)) if package_ids is not None else None
    seen: dict[str, str] = {}
    for rec in df.to_dict("records"):
        row, pid, status = str(rec["source_row"]), rec["package_id"], rec["status"]
        start, done = rec["actual_start"], rec["actual_completion"]
        if pid and pid in seen:
            found.append(Problem("error", "duplicate-id",
                                 f"package {pid} already reported in row {seen[pid]}",
                                 file=fname, row=row, field="package_id"))
        seen.setdefault(pid, row)
        if pid and known is not None and pid not in known:
            found.append(Problem("warning", "unknown-package",
                                 f"package {pid} is not in the plan; row kept but not assessed",
                                 file=fname, row=row, field="package_id"))
        if pd.notna(start) and pd.notna(done) and done < start:
            found.append(Problem("error", "date-order", "completion is before start",
                                 file=fname, row=row, field="actual_completion"))
        if status == "completed" and pd.isna(done):
            found.append(Problem("warning", "missing-date", "completed without a completion date",
                                 file=fname, row=row, field="actual_completion"))
        if status in PRE_WORK_STATUSES and (pd.notna(start) or pd.notna(done)):
            found.append(Problem("warning", "status-dates",
                                 f"status {STATUS_LABELS_ZH[status]} but works dates are given",
                                 file=fname, row=row, field="status"))


def _finish(found: list[Problem], sink: list[Problem] | None) -> None:
    if sink is not None:
        sink.extend(found)
    for p in found:
        if p.severity == "warning":
            logger.warning("%s", p)
    if any(p.severity == "error" for p in found):
        raise ValidationError(found, "Progress table has errors")


def assess_packages(
    plan: Any,
    progress: pd.DataFrame,
    as_of: date,
    *,
    deadlines: Mapping[str, str] | None = None,
    years: Collection[int] | None = None,
) -> pd.DataFrame:
    """Per-package progress against the deadlines (for the map and the county table).

    Parameters
    ----------
    plan
        Planned packages (``package_id``, ``county``, ``plan_year``, optional
        ``households``), or a ``PlanResult``.
    progress
        From :func:`read_progress`; packages absent from it count as not started.
    as_of
        The assessment date.
    deadlines
        ``start_by`` and ``basic_by`` as ``MM-DD`` (defaults 06-30 and 12-31;
        ``basic_complete_by`` accepted).
    years
        Plan years to assess; default every year ≤ ``as_of.year``.

    Returns
    -------
    pandas.DataFrame
        The due packages with ``status``, ``started``, ``completed``, ``late_start``,
        ``overdue_basic``, ``start_deadline``, ``basic_deadline``.
    """
    packages = getattr(plan, "packages", plan)
    require_columns(packages, ("package_id", "county", "plan_year"), layer="plan")
    dl = deadline_settings(deadlines)
    as_of_ts = pd.Timestamp(as_of)
    pk = packages.assign(package_id=packages["package_id"].astype(str),
                         year=pd.to_numeric(packages["plan_year"].astype(str).replace("", None),
                                            errors="coerce"))
    pk = pk[pk["year"].notna()].copy()
    pk["year"] = pk["year"].astype(int)
    pk = pk[pk["year"].isin(set(years))] if years is not None else pk[pk["year"] <= as_of.year]
    prog = progress.drop_duplicates("package_id").set_index("package_id")
    cols = ["status", "actual_start", "actual_completion", "actual_basic_completion"]
    joined = pk.join(prog.reindex(columns=cols), on="package_id")
    joined["status"] = joined["status"].fillna("not_started").replace("", "not_started")
    rows = []
    for rec in joined.to_dict("records"):
        sd = pd.Timestamp(deadline_date(dl["start_by"], rec["year"], "start_by"))
        bd = pd.Timestamp(deadline_date(dl["basic_by"], rec["year"], "basic_by"))
        started = rec["status"] in ("in_progress", "completed") or pd.notna(rec["actual_start"])
        completed = rec["status"] == "completed"
        basic_date = rec["actual_basic_completion"]
        if pd.isna(basic_date):
            basic_date = rec["actual_completion"]
        basic_done = pd.notna(basic_date) or completed
        late = (pd.notna(rec["actual_start"]) and rec["actual_start"] > sd) or (
            not started and as_of_ts > sd)
        overdue = (pd.notna(basic_date) and basic_date > bd) or (not basic_done and as_of_ts > bd)
        rows.append({"started": bool(started), "completed": bool(completed),
                     "late_start": bool(late), "overdue_basic": bool(overdue),
                     "start_deadline": sd, "basic_deadline": bd})
    flags = pd.DataFrame(rows, index=joined.index,
                         columns=["started", "completed", "late_start", "overdue_basic",
                                  "start_deadline", "basic_deadline"])
    return pd.concat([joined.drop(columns="year"), flags], axis=1)


def assess_counties(
    plan: Any,
    progress: pd.DataFrame, *,
    as_of: date,
    deadlines: Mapping[str, str] | None = None,
    years: Collection[int] | None = None,
    weights: Mapping[str, float] | None = None,
    good_score: float = 85.0,
    poor_score: float = 60.0,
) -> pd.DataFrame:
    """Completion rate, late starts, overdue basic works, score and rank per county.

    Parameters
    ----------
    plan, progress, as_of, deadlines, years
        As for :func:`assess_packages`.
    weights
        ``completion``, ``on_time_start``, ``on_time_basic`` (summing to 1); default
        :data:`DEFAULT_SCORE_WEIGHTS`.
    good_score, poor_score
        Grade thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per county of the plan, sorted by rank: ``county, tasks, households,
        started, completed, completion_rate, completion_rate_packages, late_starts,
        late_start_rate, overdue_basic, overdue_basic_rate, score, rank, grade,
        grade_zh``. Counties with no task due have ``tasks == 0``, NaN score and no rank.
    """
    w = {**DEFAULT_SCORE_WEIGHTS, **(weights or {})}
    if abs(sum(w.values()) - 1) > 1e-6 or any(v < 0 for v in w.values()):
        raise ProfileError(f"score weights must be ≥ 0 and sum to 1, got {w}")
    packages = getattr(plan, "packages", plan)
    due = assess_packages(plan, progress, as_of, deadlines=deadlines, years=years)
    hh = (pd.to_numeric(due["households"], errors="coerce").fillna(0)
          if "households" in due.columns else pd.Series(0.0, index=due.index))
    due = due.assign(_hh=hh, _hh_done=hh.where(due["completed"], 0.0))
    rows = []
    for county in sorted(packages["county"].astype(str).unique()):
        sub = due[due["county"].astype(str) == county]
        n = len(sub)
        r: dict[str, Any] = {"county": county, "tasks": n, "households": float(sub["_hh"].sum()),
                             "started": int(sub["started"].sum()),
                             "completed": int(sub["completed"].sum()),
                             "late_starts": int(sub["late_start"].sum()),
                             "overdue_basic": int(sub["overdue_basic"].sum())}
        nan = float("nan")
        r["completion_rate_packages"] = r["completed"] / n if n else nan
        r["completion_rate"] = (float(sub["_hh_done"].sum()) / r["households"]
                                if r["households"] > 0 else r["completion_rate_packages"])
        r["late_start_rate"] = r["late_starts"] / n if n else nan
        r["overdue_basic_rate"] = r["overdue_basic"] / n if n else nan
        r["score"] = 100 * (w["completion"] * r["completion_rate"]
                            + w["on_time_start"] * (1 - r["late_start_rate"])
                            + w["on_time_basic"] * (1 - r["overdue_basic_rate"])) if n else nan
        rows.append(r)
    cols = ["county", "tasks", "households", "started", "completed", "completion_rate",
            "completion_rate_packages", "late_starts", "late_start_rate", "overdue_basic",
            "overdue_basic_rate", "score"]
    out = pd.DataFrame(rows, columns=cols)
    out = out.assign(_s=out["score"].round(6).fillna(-1), _c=out["completion_rate"].fillna(-1))
    out = out.sort_values(["_s", "_c", "county"], ascending=[False, False, True],
                          kind="mergesort").drop(columns=["_s", "_c"]).reset_index(drop=True)
    out["rank"] = out["score"].round(6).rank(method="min", ascending=False).astype("Int64")
    out["grade"] = [("no tasks due" if pd.isna(s) else "good" if s >= good_score
                     else "poor" if s < poor_score else "fair") for s in out["score"]]
    out["grade_zh"] = out["grade"].map({"good": "成绩突出", "fair": "一般", "poor": "通报批评",
                                        "no tasks due": "无到期任务"})
    return out
