"""Utility types (管线类型): codes, Chinese labels, default owners, gravity and pressure sets.

The vocabulary shared by :mod:`yulin_gis.utilities._network`, :mod:`yulin_gis.utilities._traces` and the utility
modules (all re-exported by :mod:`yulin_gis.utilities._network`).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_OWNERS",
    "DRAINAGE",
    "PRESSURE",
    "UTILITY_LABELS_ZH",
    "UTILITY_TYPES",
]

UTILITY_TYPES: tuple[str, ...] = (
    "water_supply", "storm", "sewer", "combined_sewer", "gas", "power", "telecom", "cable_tv",
)
"""Utility types, in the order they are reported."""

DRAINAGE = frozenset({"storm", "sewer", "combined_sewer"})
"""Gravity networks traced downstream to the outfall."""

PRESSURE = frozenset({"water_supply", "gas"})
"""Pressure networks traced upstream to the source; isolation cuts households off."""

UTILITY_LABELS_ZH: dict[str, str] = {
    "water_supply": "给水", "storm": "雨水", "sewer": "污水", "combined_sewer": "雨污合流",
    "gas": "燃气", "power": "电力", "telecom": "通信", "cable_tv": "有线电视",
}

DEFAULT_OWNERS: dict[str, str] = {
    "water_supply": "供水企业",
    "gas": "燃气企业",
    "power": "供电企业",
    "telecom": "通信运营企业",
    "cable_tv": "广电网络企业",
    "storm": "城市排水主管部门",
    "sewer": "城市排水主管部门",
    "combined_sewer": "城市排水主管部门",
}
"""Generic owner (权属单位) per utility type when a segment's ``owner`` is missing. A city's
companies are named in its profile (``[utilities] owners``, seed §五(二)), which the
pipeline applies to the pipe upgrades."""
