"""Compare every workbook of two output folders cell by cell (values read with openpyxl).

Usage: ``python scripts/compare_workbooks.py OLD_DIR NEW_DIR [--format-sheets N]``

Checks, for every ``.xlsx`` under OLD_DIR: the same file exists under NEW_DIR, with the
same sheet names, and every cell holds the same value (openpyxl's reading: text, numbers,
dates, None). For the first N sheets of every workbook it also compares the merged
ranges, number formats, fonts (bold, size), alignment, column widths, frozen panes and
the print settings (Excel's defaults written or left out count as equal: font size 11,
bottom alignment, fit to 1 page wide; adjacent columns of one width read as one range).
Prints the differences and exits 1 when there are any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter


def _format_of(ws: Any) -> dict[str, Any]:
    cells = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None and c.number_format == "General" and not c.font.b:
                continue
            cells[c.coordinate] = (c.number_format, bool(c.font.b), c.font.sz or 11.0,
                                   c.alignment.horizontal, c.alignment.vertical or "bottom",
                                   bool(c.alignment.wrap_text))
    widths = {get_column_letter(j): d.width for d in ws.column_dimensions.values()
              if d.customWidth and d.min for j in range(d.min, (d.max or d.min) + 1)}
    ps = ws.page_setup
    return {
        "merged": sorted(str(r) for r in ws.merged_cells.ranges), "cells": cells,
        "widths": widths, "freeze": ws.freeze_panes,
        "print": (str(ps.paperSize), ps.orientation, ps.fitToWidth or 1, ps.fitToHeight,
                  ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr
                  else None, ws.print_title_rows, ws.print_area),
    }


def compare(old: Path, new: Path, format_sheets: int = 2) -> tuple[list[str], int, int]:
    """Differences, the number of workbooks and of cells compared."""
    diffs: list[str] = []
    books = cells = 0
    for path in sorted(old.rglob("*.xlsx")):
        rel = path.relative_to(old)
        other = new / rel
        if not other.exists():
            diffs.append(f"{rel}: missing")
            continue
        books += 1
        a = openpyxl.load_workbook(path)
        b = openpyxl.load_workbook(other)
        if a.sheetnames != b.sheetnames:
            diffs.append(f"{rel}: sheets {a.sheetnames} != {b.sheetnames}")
            continue
        for k, name in enumerate(a.sheetnames):
            wa, wb = a[name], b[name]
            va = [list(r) for r in wa.iter_rows(values_only=True)]
            vb = [list(r) for r in wb.iter_rows(values_only=True)]
            width = max([len(r) for r in va + vb], default=0)
            va = _trim([r + [None] * (width - len(r)) for r in va])
            vb = _trim([r + [None] * (width - len(r)) for r in vb])
            cells += sum(len(r) for r in va)
            if va != vb:
                bad = next(((i, j, x, y) for i, (ra, rb) in enumerate(zip(va, vb, strict=False))
                            for j, (x, y) in enumerate(zip(ra, rb, strict=True))
                            if x != y or type(x) is not type(y)),
                           (len(va), len(vb)))
                diffs.append(f"{rel}[{name}]: values differ, first {bad!r}")
            if k < format_sheets:
                fa, fb = _format_of(wa), _format_of(wb)
                for key in fa:
                    if fa[key] != fb[key]:
                        diffs.append(f"{rel}[{name}]: {key} differ: {_first(fa[key], fb[key])}")
    return diffs, books, cells


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


def _first(a: Any, b: Any) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        bad = [k for k in keys if a.get(k) != b.get(k)]
        return f"{len(bad)} keys, e.g. {bad[0]}: {a.get(bad[0])!r} != {b.get(bad[0])!r}"
    return f"{a!r} != {b!r}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--format-sheets", type=int, default=2)
    args = parser.parse_args()
    diffs, books, cells = compare(args.old, args.new, args.format_sheets)
    for line in diffs[:200]:
        print(line)
    print(f"{books} workbooks, {cells} cells compared: {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
