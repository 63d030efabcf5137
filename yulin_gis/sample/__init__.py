"""The embedded sample (示例数据): the synthetic Yulin city and the data files shipped with the package.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.sample._city import (
        ANALYSIS_CRS,
        CORE,
        SyntheticCity,
        hazard_of,
        load_real_divisions,
        make_city,
    )
    from yulin_gis.sample._datasets import (
        get_path,
        write_city,
    )

_LAZY = {
    "ANALYSIS_CRS": "_city",
    "CORE": "_city",
    "SyntheticCity": "_city",
    "get_path": "_datasets",
    "hazard_of": "_city",
    "load_real_divisions": "_city",
    "make_city": "_city",
    "write_city": "_datasets",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "ANALYSIS_CRS",
    "CORE",
    "SyntheticCity",
    "get_path",
    "hazard_of",
    "load_real_divisions",
    "make_city",
    "write_city",
]
