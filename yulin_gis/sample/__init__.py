"""The embedded sample (示例数据): the synthetic Yulin city and the data files shipped with the package.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str) -> object:
    """Import a public name of this subpackage on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
