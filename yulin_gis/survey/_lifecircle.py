"""Life-circle thresholds and gaps (生活圈服务缺口), GB 50180-2018.

The 5-, 10- and 15-minute life circles are walking distances of 300 m, 500 m and
800–1,000 m. :func:`life_circle_gaps` compares the walking distances of
:func:`yulin_gis.survey._accessibility.nearest_facility_distances` with them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from yulin_gis.errors import ProfileError, SchemaError

__all__ = [
    "DEFAULT_KIND_CIRCLE",
    "LIFE_CIRCLE_DISTANCES_M",
    "default_thresholds",
    "life_circle_gaps",
]

#: Walking distance of each GB 50180-2018 life circle (生活圈), metres. The 15-minute
#: circle is 800–1,000 m; the upper bound is used.
LIFE_CIRCLE_DISTANCES_M: dict[str, float] = {"5min": 300.0, "10min": 500.0, "15min": 1000.0}

#: The life circle each facility kind belongs to (GB 50180-2018 appendix B and the
#: 完整居住社区建设标准（试行）2020). ``other`` has no circle.
DEFAULT_KIND_CIRCLE: dict[str, str] = {
    "kindergarten": "5min",  # 幼儿园
    "nursery": "5min",  # 托儿所
    "elderly_care": "5min",  # 老年人日间照料中心
    "community_service": "5min",  # 社区服务站
    "convenience_store": "5min",  # 便利店
    "express_station": "5min",  # 邮件和快件送达设施
    "health_station": "10min",  # 社区卫生服务站
    "market": "10min",  # 菜市场或生鲜超市
    "school": "10min",  # 小学
    "park": "10min",  # 居住区公园
}


def default_thresholds() -> dict[str, float]:
    """Return ``{kind: metres}`` from :data:`DEFAULT_KIND_CIRCLE` and the circle distances."""
    return {k: LIFE_CIRCLE_DISTANCES_M[c] for k, c in DEFAULT_KIND_CIRCLE.items()}



def _threshold_m(kind: str, value: object) -> float:
    """A threshold in metres from a number or a life-circle name."""
    if isinstance(value, str):
        if value not in LIFE_CIRCLE_DISTANCES_M:
            raise ProfileError(
                f"life-circle threshold for {kind!r}: unknown circle {value!r} "
                f"(expected one of {', '.join(LIFE_CIRCLE_DISTANCES_M)} or metres)"
            )
        return LIFE_CIRCLE_DISTANCES_M[value]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        limit = float(value)
        if math.isfinite(limit) and limit > 0:
            return limit
    raise ProfileError(
        f"life-circle threshold for {kind!r} must be a positive number, got {value!r}"
    )


def life_circle_gaps(
    distances: pd.DataFrame, thresholds: Mapping[str, float | str] | None = None
) -> pd.DataFrame:
    """Flag compounds without the facility of a kind within its life-circle distance.

    Parameters
    ----------
    distances
        Output of :func:`nearest_facility_distances` (columns ``walk_<kind>_m``).
    thresholds
        ``{kind: metres}`` or ``{kind: circle}`` with a circle name of
        :data:`LIFE_CIRCLE_DISTANCES_M` (``"5min"``, ``"10min"``, ``"15min"``); the policy
        profile passes these. Default:
        :func:`default_thresholds` (5-min 300 m for kindergarten, nursery, elderly care,
        community service, convenience store, express station; 10-min 500 m for health
        station, market, school, park), applied to the kinds present in ``distances``.
        Kinds passed explicitly must have a ``walk_<kind>_m`` column.

    Returns
    -------
    pandas.DataFrame
        Boolean ``gap_<kind>`` columns, same index: True when the walking distance is
        above the threshold or no facility was found within the cutoff (NaN).
    """
    present = {
        c[len("walk_") : -len("_m")]
        for c in distances.columns
        if isinstance(c, str) and c.startswith("walk_") and c.endswith("_m")
    }
    use: dict[str, float | str]
    if thresholds is None:
        use = {k: t for k, t in default_thresholds().items() if k in present}
    else:
        missing = sorted(k for k in thresholds if k not in present)
        if missing:
            raise SchemaError(
                "life-circle thresholds name kind(s) without a distance column: "
                + ", ".join(f"walk_{k}_m" for k in missing)
            )
        use = dict(thresholds)
    gaps = {}
    for kind in sorted(use):
        limit = _threshold_m(kind, use[kind])
        d = distances[f"walk_{kind}_m"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            gaps[f"gap_{kind}"] = ~(d <= limit)
    return pd.DataFrame(gaps, index=distances.index)
