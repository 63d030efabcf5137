"""The validation report: grouped lines for people, the full list for scripts and Excel.

Real tables repeat one problem on hundreds of rows. :meth:`ValidationReport.to_text`
prints ONE line per (severity, problem, file, layer, field) with the number of rows and
the first row ids; the JSON format and ``validation_report.xlsx`` (written by
:func:`write_validation_report` into the output folder) keep every row.

The report also says which commands the input can serve (:func:`capabilities`), so that
``validate`` tells the truth about ``run``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from yulin_gis.errors import Problem, group_lines

if TYPE_CHECKING:
    from yulin_gis.io._layers import Layers

__all__ = ["ValidationReport", "capabilities", "group_lines", "write_validation_report"]

_EXAMPLES = 5
_SEVERITY_ZH = {"error": "错误", "warning": "警告"}


@dataclass
class ValidationReport:
    """All problems found in one input, the rows read per layer and what can run."""

    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    blank_rows: dict[str, int] = field(default_factory=dict)
    can_run: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop a run."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Repairs and information; the run goes on."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def to_text(self) -> str:
        """A readable report: one line per (layer, field, problem), errors first."""
        lines = [f"{name}: {n} rows from {self.sources.get(name, '?')}"
                 for name, n in self.rows.items()]
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        lines += [f"  {line}" for line in group_lines(self.problems)]
        lines += self.can_run
        lines.append("OK" if self.ok else "FAILED: fix the errors above and run again")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON for scripts, with every problem row by row."""
        return json.dumps({
            "ok": self.ok, "rows": self.rows, "sources": self.sources,
            "errors": len(self.errors), "warnings": len(self.warnings),
            "can_run": self.can_run,
            "problems": [p.to_dict() for p in self.problems],
        }, ensure_ascii=False, indent=2)


def write_validation_report(report: ValidationReport, path: str | Path) -> Path:
    """Write every problem, one row each, to ``validation_report.xlsx`` (atomic).

    Sheets: 汇总 (one line per group) and 明细 (every problem with file, layer, row, field).
    """
    from yulin_gis.io._spreadsheet import save_workbook
    from yulin_gis.io._xlsx import Book

    book = Book()
    summary = book.add_sheet("汇总")
    lines = [["问题（每个图层、字段、问题一行）"], *([line] for line in group_lines(report.problems)),
             [None], *([line] for line in report.can_run)]
    summary.write_rows(0, lines, [None])
    summary.width(0, 120)
    detail = book.add_sheet("明细")
    rows = [["级别", "问题代码", "文件", "图层", "行", "字段", "说明"],
            *([_SEVERITY_ZH.get(p.severity, p.severity), p.code, p.file, p.layer, p.row, p.field,
               p.message] for p in report.problems)]
    detail.write_rows(0, rows, [None] * 7)
    for col, width in enumerate((8, 22, 40, 14, 16, 16, 90)):
        detail.width(col, width)
    return save_workbook(book, path)


def capabilities(layers: Layers | None) -> list[str]:
    """Which commands the validated input can serve, in one line (Chinese, then English).

    ``survey`` needs compounds; ``maps`` needs positions; ``packages`` (and ``plan``)
    are made per community, else within the street or county (flagged); the
    utilities stage needs a pipe layer.
    """
    if layers is None:
        return ["可运行: 无（先改正上面的错误） / can run: nothing until the errors are fixed"]
    comp = layers.compounds
    runs = ["survey", "maps"]
    has_comm = ("community_id" in comp.columns and comp["community_id"].notna().any())
    if has_comm and comp["community_id"].notna().all():
        packages = "packages, plan"
    elif has_comm:
        packages = ("packages, plan: 部分小区缺少社区 → 按街道/县区打包并标记 / some compounds "
                    "without community: packaged per street/county, flagged")
    else:
        packages = ("packages, plan: 缺少社区 → 按街道/县区打包并标记 / no community: "
                    "packaged per street/county, flagged")
    utilities = ("utilities" if layers.utilities is not None
                 else "utilities: 无管线图层 → 不做管线分析 / no pipe layer: no pipe analysis")
    costs = ("" if any(c in comp.columns for c in _gap_names())
             else "; 无调查缺项字段 → 不估算费用 / no survey gap fields: costs not estimated")
    verify = 0
    if "verify_reason" in comp.columns:
        verify = int((comp["verify_reason"].fillna("").astype(str) != "").sum())
    note = (f"; 待核实 {verify} 个小区（不纳入计划） / {verify} compound(s) to verify, never planned"
            if verify else "")
    return [f"可运行 / can run: {', '.join(runs)}; {packages}; {utilities}{costs}{note}"]


def _gap_names() -> list[str]:
    from yulin_gis.io._schema import GAP_FIELDS

    return [f.name for f in GAP_FIELDS]
