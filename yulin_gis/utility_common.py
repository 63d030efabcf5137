"""Shared input checks and labels of the utility modules (管线: overlay, renewal, trenches).

Private helpers used by :mod:`yulin_gis.utilities`, :mod:`yulin_gis.renewal` and
:mod:`yulin_gis.trenches`; nothing public.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from yulin_gis.errors import SchemaError
from yulin_gis.utility_types import UTILITY_LABELS_ZH

__all__: list[str] = []

_LABELS_ZH = {**UTILITY_LABELS_ZH, "road": "道路面层"}


def _need(df: pd.DataFrame, cols: Iterable[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{name} lack column(s) {', '.join(missing)}")
