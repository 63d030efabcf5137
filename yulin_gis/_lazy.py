"""Lazy public names of a package (PEP 562): one helper for every subpackage ``__init__``.

Each subpackage lists ``name -> private module`` in ``_LAZY``; the name is imported on first
use, so importing one module of a subpackage does not load the others and
``import yulin_gis`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, table: Mapping[str, str], namespace: MutableMapping[str, Any]
               ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in ``table``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    table
        Public name → module, relative to ``package`` (``"_engine"``) or absolute
        (``"yulin_gis.crs"``).
    namespace
        The package's ``globals()``: a name is cached there once imported.
    """

    def __getattr__(name: str) -> object:
        if name in table:
            module = table[name]
            path = module if module.startswith("yulin_gis") else f"{package}.{module}"
            value = getattr(importlib.import_module(path), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
