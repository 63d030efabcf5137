"""Shared input checks and labels of the utility modules (管线: overlay, renewal, trenches).

Private helpers used by :mod:`yulin_gis.utilities._upgrades`, :mod:`yulin_gis.utilities._renewal` and
:mod:`yulin_gis.utilities._trenches`; nothing public.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from yulin_gis.io import require_columns
from yulin_gis.utilities._types import UTILITY_LABELS_ZH

__all__: list[str] = []

_LABELS_ZH = {**UTILITY_LABELS_ZH, "road": "道路面层"}


def _need(df: pd.DataFrame, cols: Iterable[str], name: str) -> None:
    require_columns(df, cols, layer=name)
