"""Utility types (管线类型): codes, Chinese labels, default owners, gravity and pressure sets.

The vocabulary shared by :mod:`yulin_gis.network`, :mod:`yulin_gis.traces` and the utility
modules (all re-exported by :mod:`yulin_gis.network`).
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
    "water_supply": "玉林水务集团",
    "gas": "玉林中燃公司",
    "power": "玉林供电局",
    "telecom": "中国电信玉林分公司",
    "cable_tv": "广电网络玉林分公司",
    "storm": "市城市管理监督局",
    "sewer": "市城市管理监督局",
    "combined_sewer": "市城市管理监督局",
}
"""Owner company (权属单位) per utility type when a segment's ``owner`` is missing (seed §五(二))."""
