"""Compare two run folders: every workbook cell by cell, every table's row count.

Usage::

    python scripts/compare_outputs.py OLD_RUN NEW_RUN [--max-diffs 20]

Every ``.xlsx`` under either folder is matched by its relative path and compared sheet
by sheet (same sheet names in the same order) and cell by cell (values read with
``openpyxl`` in read-only mode, trailing blank cells and rows ignored; ``1`` equals
``1.0``, nothing else is tolerated). ``.csv`` files are compared by row count and
``.gpkg`` files layer by layer by feature count. A file present on one side only is a
difference. Prints every difference (at most ``--max-diffs`` per sheet) and exits 1 on
any, 0 when the outputs are identical.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SUFFIXES = (".xlsx", ".csv", ".gpkg")


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix.lower() in _SUFFIXES and not p.name.startswith("~$")}


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for row in ws.iter_rows(values_only=True):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        rows.append(tuple(values))
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (a != a and b != b)
    return type(a) is type(b) and a == b


def compare_workbooks(old: Path, new: Path, max_diffs: int = 20) -> Iterator[str]:
    """Differences between two workbooks (sheet names, then cells), as lines."""
    from openpyxl import load_workbook

    wa = load_workbook(old, read_only=True, data_only=False)
    wb = load_workbook(new, read_only=True, data_only=False)
    try:
        if wa.sheetnames != wb.sheetnames:
            yield f"sheets differ: {wa.sheetnames} != {wb.sheetnames}"
        for name in wa.sheetnames:
            if name not in wb.sheetnames:
                continue
            ra, rb = _rows(wa[name]), _rows(wb[name])
            shown = 0
            if len(ra) != len(rb):
                yield f"[{name}] {len(ra)} rows != {len(rb)} rows"
            for i, (xa, xb) in enumerate(zip(ra, rb, strict=False), start=1):
                for j in range(max(len(xa), len(xb))):
                    va = xa[j] if j < len(xa) else None
                    vb = xb[j] if j < len(xb) else None
                    if not _same(va, vb):
                        shown += 1
                        if shown <= max_diffs:
                            yield f"[{name}] row {i} col {j + 1}: {va!r} != {vb!r}"
            if shown > max_diffs:
                yield f"[{name}] ... {shown - max_diffs} more differing cells"
    finally:
        wa.close()
        wb.close()


def _csv_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.reader(fh))


def _gpkg_counts(path: Path) -> dict[str, int]:
    import pyogrio

    return {str(name): int(pyogrio.read_info(path, layer=str(name))["features"])
            for name, _ in pyogrio.list_layers(path)}


def compare_runs(old: Path, new: Path, max_diffs: int = 20) -> list[str]:
    """Every difference between the outputs of two run folders."""
    fa, fb = _files(old), _files(new)
    diffs = [f"{rel}: only in {old}" for rel in sorted(set(fa) - set(fb))]
    diffs += [f"{rel}: only in {new}" for rel in sorted(set(fb) - set(fa))]
    for rel in sorted(set(fa) & set(fb)):
        suffix = Path(rel).suffix.lower()
        if suffix == ".xlsx":
            diffs += [f"{rel}: {d}" for d in compare_workbooks(fa[rel], fb[rel], max_diffs)]
        elif suffix == ".csv":
            na, nb = _csv_rows(fa[rel]), _csv_rows(fb[rel])
            if na != nb:
                diffs.append(f"{rel}: {na} rows != {nb} rows")
        else:
            ca, cb = _gpkg_counts(fa[rel]), _gpkg_counts(fb[rel])
            if ca != cb:
                diffs.append(f"{rel}: layer feature counts {ca} != {cb}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the reference run folder")
    parser.add_argument("new", type=Path, help="the run folder to check")
    parser.add_argument("--max-diffs", type=int, default=20, help="differences shown per sheet")
    args = parser.parse_args(argv)
    for folder in (args.old, args.new):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    diffs = compare_runs(args.old, args.new, args.max_diffs)
    n = len(_files(args.old))
    for line in diffs:
        print(line)
    print(f"{n} files compared: " + ("identical" if not diffs else f"{len(diffs)} difference(s)"))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
