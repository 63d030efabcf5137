"""Company workbooks (管线单位改造计划表): one Chinese Excel workbook per utility company.

:func:`write_company_workbooks` (re-exported by :mod:`yulin_gis.utilities`) writes each
company's segments to renew, the joint trenches it digs in and totals per plan year and
package; ``openpyxl`` is imported inside the function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.xlsx import formula_like, save_workbook

__all__ = ["write_company_workbooks"]

logger = logging.getLogger(__name__)

_UPGRADE_HEADERS: dict[str, str] = {
    "segment_id": "管段编号", "utility_zh": "管线类型", "owner": "权属单位", "package_id": "片区编号",
    "plan_year": "计划年度", "scope": "范围", "compound_ids": "涉及小区", "households": "涉及户数",
    "material": "材质", "install_year": "敷设年份", "length_m": "长度(米)",
    "risk_score": "风险评分", "hazard": "是否隐患", "reason": "改造理由", "est_cost_yuan": "估算投资(元)",
    "funding_utility_yuan": "管线单位出资(元)", "funding_government_yuan": "政府补助(元)",
    "funding_residents_yuan": "居民出资(元)",
}
_TRENCH_HEADERS: dict[str, str] = {
    "trench_id": "统筹编号", "package_id": "片区编号", "road_id": "道路编号", "road_name": "道路名称",
    "road_class": "道路等级", "plan_year": "计划年度", "order_zh": "建议施工顺序",
    "segment_ids": "涉及管段", "length_m": "长度(米)", "schedule_zh": "施工安排",
    "window_start": "开工日期", "window_end": "完工日期", "overrun": "是否超出年度期限",
    "conflicts": "计划冲突",
}


def _safe_filename(name: str) -> str:
    from yulin_gis.filenames import safe_filename

    return safe_filename(re.sub(r"\s+", "_", str(name)), missing="未注明单位")


def _write_sheet(ws: Any, frame: pd.DataFrame, headers: Mapping[str, str]) -> None:
    cols = [c for c in headers if c in frame.columns]
    ws.append([headers[c] for c in cols])
    for rec in frame[cols].itertuples(index=False):
        ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                   v.item() if isinstance(v, np.generic) else v for v in rec])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if formula_like(cell.value):
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True
    ws.freeze_panes = "A2"
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(headers[c]) * 2 + 4))


def write_company_workbooks(pipe_upgrades: pd.DataFrame, joint_trenches: pd.DataFrame | None,
                            out_dir: str | Path) -> dict[str, Path]:
    """Write one Excel workbook per utility company (管线单位), headers in Chinese.

    Sheets: 管线改造清单 (the company's segments), 统筹施工 (joint trenches on which it
    digs) and 汇总 (totals per plan year and package). Strings starting with ``= + - @``
    are written as text (no formula injection). Each file is written to a temporary file
    beside the target and renamed into place.

    Parameters
    ----------
    pipe_upgrades
        From :func:`~yulin_gis.utilities.utility_upgrade_plan`.
    joint_trenches
        From :func:`~yulin_gis.trenches.joint_trenches`, or None.
    out_dir
        Folder, created when missing.

    Returns
    -------
    dict
        Owner → path of its workbook ``管线改造计划_<owner>.xlsx``.

    Raises
    ------
    OutputError
        The folder or a file cannot be written.
    """
    from openpyxl import Workbook


    out: dict[str, Path] = {}
    owners = sorted(pipe_upgrades["owner"].fillna("").astype(str).unique())
    for owner in owners:
        mine = pipe_upgrades[pipe_upgrades["owner"].fillna("").astype(str) == owner]
        wb = Workbook()
        ws = wb.active
        ws.title = "管线改造清单"
        _write_sheet(ws, mine, _UPGRADE_HEADERS)
        ws2 = wb.create_sheet("统筹施工")
        if joint_trenches is not None and len(joint_trenches):
            ids = set(mine["segment_id"].astype(str))
            hit = [bool(ids.intersection(s.split(",")))
                   for s in joint_trenches["segment_ids"].astype(str)]
            _write_sheet(ws2, joint_trenches[hit], _TRENCH_HEADERS)
        else:
            _write_sheet(ws2, pd.DataFrame(columns=list(_TRENCH_HEADERS)), _TRENCH_HEADERS)
        money = ["length_m", "est_cost_yuan", "funding_utility_yuan", "funding_government_yuan",
                 "funding_residents_yuan"]
        summary = (mine.assign(plan_year=mine["plan_year"].astype("string").fillna("未定"))
                   .groupby(["plan_year", "package_id", "utility_zh"], sort=True)
                   .agg(segments=("segment_id", "size"), **{c: (c, "sum") for c in money})
                   .reset_index())
        _write_sheet(wb.create_sheet("汇总"), summary,
                     {"plan_year": "计划年度", "package_id": "片区编号", "utility_zh": "管线类型",
                      "segments": "管段数", **{c: _UPGRADE_HEADERS[c] for c in money}})
        target = Path(out_dir) / f"管线改造计划_{_safe_filename(owner)}.xlsx"
        save_workbook(wb, target)
        out[owner] = target
        logger.info("workbook for %s: %s (%d segments)", owner, target, len(mine))
    return out
