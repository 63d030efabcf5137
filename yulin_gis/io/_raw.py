"""A layer as read, before validation (原始图层), and how its name is recognised."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from yulin_gis.io._schema import LAYERS, header_key

__all__ = ["RawLayer", "layer_name_for"]


@dataclass
class RawLayer:
    """One layer as read from a file, before validation.

    Attributes
    ----------
    name
        Canonical layer name (``compounds`` ...).
    frame
        The data; a GeoDataFrame for vector files, a DataFrame for survey tables.
    source
        File path (and ``:layer`` for multi-layer files) for messages.
    from_table
        True when the geometry must still be built from lon/lat columns.
    """

    name: str
    frame: pd.DataFrame
    source: str
    from_table: bool = False


def layer_name_for(label: str) -> str | None:
    """The canonical layer name of a file, sheet, layer or table name (English or Chinese)."""
    key = header_key(label)
    for spec in LAYERS.values():
        if key in {header_key(spec.name), header_key(spec.label_zh)} | {
            header_key(a) for a in spec.aliases
        }:
            return spec.name
    return None
