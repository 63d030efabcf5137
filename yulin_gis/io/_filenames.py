"""File names made from data (county, company, package names) that are valid everywhere.

Windows forbids ``\\ / : * ? " < > |`` and control characters, a trailing dot or space,
and the reserved device names (CON, PRN, AUX, NUL, COM1–COM9, LPT1–LPT9, with or without
an extension). A missing value (None, NaN, ``<NA>``) never becomes a file name: it reads
as the ``missing`` label instead.
"""

from __future__ import annotations

import re

__all__ = ["safe_filename"]

_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                       *(f"LPT{i}" for i in range(1, 10))})
_MISSING = frozenset({"", "nan", "none", "<na>", "nat", "null"})


def safe_filename(name: object, missing: str = "未填") -> str:
    """A file-name-safe form of ``name`` (no path separators, no ``..``, valid on Windows).

    Parameters
    ----------
    name
        The text (any value; missing values give ``missing``).
    missing
        The name used for a missing or empty value.

    Examples
    --------
    >>> safe_filename("玉州区")
    '玉州区'
    >>> safe_filename("a/b:c?")
    'a_b_c'
    >>> safe_filename("CON")
    'CON_'
    >>> safe_filename(None)
    '未填'
    """
    text = "" if name is None else str(name)
    if text.strip().lower() in _MISSING:
        return missing
    cleaned = _BAD.sub("_", text).strip(" ._")
    if not cleaned:
        return missing
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned += "_"
    return cleaned
