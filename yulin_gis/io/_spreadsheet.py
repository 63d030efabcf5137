"""Shared spreadsheet safety: formula-injection guard and atomic workbook saving.

Every workbook the toolkit writes is a :class:`yulin_gis.io._xlsx.Book` (XlsxWriter,
which writes text as text: a compound named ``=HYPERLINK(...)`` is shown, never
evaluated) saved through :func:`save_workbook` (temporary file, then rename).
:func:`formula_like` tells which text a spreadsheet would read as a formula.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from yulin_gis.errors import OutputError

__all__ = ["FORMULA_START", "formula_like", "save_workbook"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make spreadsheet programs treat text as a formula."""


def formula_like(value: object) -> bool:
    """True for text that a spreadsheet would read as a formula (write it as text)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def save_workbook(workbook: Any, path: str | os.PathLike[str]) -> Path:
    """Save a workbook atomically; :class:`OutputError` when it cannot be written.

    ``workbook`` is a :class:`yulin_gis.io._xlsx.Book` (or anything with ``save(path)``,
    such as an openpyxl workbook).
    """
    from yulin_gis.io._readers import atomic_path

    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            workbook.save(str(tmp))
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the workbook ({exc})") from exc
    return target
