"""Colour classes of the web map layers: :class:`StyleBy`, palettes, legend classes.

:func:`style_option` turns one :class:`StyleBy` and a column into the page's style record:
classes (label, colour, count) and one class code per feature (varint-encoded), so the
page holds one style object per class, never one per feature.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from yulin_gis.maps._encoding import display_value, encode_varints

__all__ = ["CATEGORICAL_PALETTE", "NUMERIC_RAMPS", "StyleBy", "style_option"]

CATEGORICAL_PALETTE = [
    "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#17becf",
]
"""Distinct colours cycled over categories without explicit colours."""

NUMERIC_RAMPS: dict[str, list[str]] = {
    "YlOrRd": ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    "Blues": ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
    "Greens": ["#edf8e9", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],
    "RdYlGn": ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850"],
    "Viridis": ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"],
}
"""Colour ramps (low → high) for numeric classes, interpolated to the number of classes."""

_MISSING_COLOR = "#bdbdbd"
_OTHER_COLOR = "#969696"
COLOR_RE = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9., %]+\)")


@dataclass(frozen=True)
class StyleBy:
    """One way of colouring a layer: by a categorical or a numeric column.

    Parameters
    ----------
    column
        Column of the layer.
    title
        Chinese title for the legend and the style switch (default: the column name).
    labels
        Categorical: ``{value: 中文图例}``; its order is the legend's order, values not in
        it fall into "其他". Without labels, all distinct values are classes (sorted).
    colors
        Categorical: ``{value: colour}`` or a list cycled over the classes. Numeric: a key
        of :data:`NUMERIC_RAMPS` or a list with one colour per class.
    bins
        Numeric class edges ``[b0, b1, ...]`` giving classes ``< b0``, ``b0–b1``, …,
        ``≥ bn`` (a value equal to an edge goes to the upper class).
    bin_labels
        Labels for the numeric classes (``len(bins) + 1`` of them).
    k
        Number of quantile classes for a numeric column without bins.
    """

    column: str
    title: str = ""
    labels: Mapping[Any, str] | None = None
    colors: Mapping[Any, str] | Sequence[str] | str | None = None
    bins: Sequence[float] | None = None
    bin_labels: Sequence[str] | None = None
    k: int = 5




def _ramp(colors: Sequence[str], n: int) -> list[str]:
    if n <= 0:
        return []
    stops = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)
    t = np.linspace(0, len(stops) - 1, n)
    lo = np.floor(t).astype(int).clip(0, len(stops) - 2)
    rgb = stops[lo] * (1 - (t - lo))[:, None] + stops[lo + 1] * (t - lo)[:, None]
    return ["#{:02x}{:02x}{:02x}".format(*np.rint(c).astype(int)) for c in rgb]


def _is_numeric(spec: StyleBy, s: pd.Series) -> bool:
    if spec.bins is not None:
        return True
    if spec.labels is not None or not pd.api.types.is_numeric_dtype(s):
        return False
    return not pd.api.types.is_bool_dtype(s) and s.nunique(dropna=True) > 12


def _numeric_classes(spec: StyleBy, s: pd.Series) -> tuple[NDArray[np.int64], list[str], list[str]]:
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if spec.bins is not None:
        edges = [float(b) for b in spec.bins]
    else:
        good = vals[np.isfinite(vals)]
        qs = np.quantile(good, np.linspace(0, 1, spec.k + 1)[1:-1]) if good.size else []
        edges = sorted({float(f"{q:.3g}") for q in qs})
    codes = np.searchsorted(np.asarray(edges), vals, side="right").astype(np.int64)
    fmt = [f"{e:g}" for e in edges]
    labels = list(spec.bin_labels) if spec.bin_labels is not None else (
        [f"< {fmt[0]}"] + [f"{a} – {b}" for a, b in itertools.pairwise(fmt)]
        + [f"≥ {fmt[-1]}"] if fmt else ["全部"]
    )
    raw = spec.colors if spec.colors is not None else "YlOrRd"
    colors = _ramp(NUMERIC_RAMPS[raw], len(labels)) if isinstance(raw, str) else list(raw)  # type: ignore[arg-type]
    codes[~np.isfinite(vals)] = -1
    return codes, labels, colors


def _categorical_classes(spec: StyleBy, s: pd.Series) -> tuple[NDArray[np.int64], list[str], list[str]]:
    if spec.labels is not None:
        cats = list(spec.labels)
        labels = [str(spec.labels[c]) for c in cats]
    else:
        uniq = pd.unique(s.dropna())
        cats = sorted(uniq.tolist(), key=lambda v: (type(v).__name__, v))
        labels = [display_value(c) for c in cats]
    codes = pd.Index(cats, dtype=object).get_indexer(s.astype(object)).astype(np.int64)
    codes[codes < 0] = -2
    codes[s.isna().to_numpy()] = -1
    raw = spec.colors
    if isinstance(raw, Mapping):
        palette = [str(raw.get(c, CATEGORICAL_PALETTE[i % len(CATEGORICAL_PALETTE)]))
                   for i, c in enumerate(cats)]
    else:
        seq = CATEGORICAL_PALETTE if raw is None or isinstance(raw, str) else list(raw)
        palette = [seq[i % len(seq)] for i in range(len(cats))]
    return codes, labels, palette


def style_option(spec: StyleBy | None, s: pd.Series | None, layer: Any) -> dict[str, Any]:
    """The style record of one option (``layer`` gives the name and colour without a spec)."""
    if spec is None or s is None:
        return {"title": "", "classes": [{"label": layer.name, "color": layer.color,
                                          "count": None}], "codes": None}
    numeric = _is_numeric(spec, s)
    codes, labels, colors = (_numeric_classes if numeric else _categorical_classes)(spec, s)
    classes: list[dict[str, Any]] = [{"label": lab, "color": col} for lab, col in zip(labels, colors, strict=False)]
    for code, label, color in ((-2, "其他", _OTHER_COLOR), (-1, "无数据", _MISSING_COLOR)):
        if (codes == code).any():
            codes[codes == code] = len(classes)
            classes.append({"label": label, "color": color})
    counts = np.bincount(codes, minlength=len(classes))
    for c, cnt in zip(classes, counts, strict=False):
        c["count"] = int(cnt)
    return {"title": spec.title or spec.column, "classes": classes,
            "codes": None if not codes.any() else encode_varints(codes)}
