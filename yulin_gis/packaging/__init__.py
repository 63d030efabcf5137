"""Packaging (连片规划): the neighbour graph and contiguous packages per community.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.packaging._adjacency import (
        adjacency_report,
        compound_adjacency,
        graph_arrays,
    )
    from yulin_gis.packaging._packages import (
        REASON_ISLAND,
        REASON_PIECE_BELOW,
        REASON_SINGLE_ABOVE,
        REASON_UNIT_BELOW,
        PackageResult,
        make_packages,
        partition_arrays,
        polsby_popper,
    )

_LAZY = {
    "PackageResult": "_packages",
    "REASON_ISLAND": "_packages",
    "REASON_PIECE_BELOW": "_packages",
    "REASON_SINGLE_ABOVE": "_packages",
    "REASON_UNIT_BELOW": "_packages",
    "adjacency_report": "_adjacency",
    "compound_adjacency": "_adjacency",
    "graph_arrays": "_adjacency",
    "make_packages": "_packages",
    "partition_arrays": "_packages",
    "polsby_popper": "_packages",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "REASON_ISLAND",
    "REASON_PIECE_BELOW",
    "REASON_SINGLE_ABOVE",
    "REASON_UNIT_BELOW",
    "PackageResult",
    "adjacency_report",
    "compound_adjacency",
    "graph_arrays",
    "make_packages",
    "partition_arrays",
    "polsby_popper",
]
