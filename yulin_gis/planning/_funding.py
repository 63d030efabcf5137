"""Funding split (资金筹措): "whoever benefits pays" (谁受益、谁出资, seed §八(二)).

Each renovation item's cost is shared between residents (居民出资), utility companies
(管线单位出资) and government (政府出资) by the shares of the policy profile. Shares are
looked up for an item by its code, then by its class (``basic``/``improve``/``upgrade``,
基础类/完善类/提升类), then under ``"default"``.

Item costs come, in this order of preference, from a ``cost_by_item`` column (a mapping or
JSON text ``{item code: yuan}``), from ``cost_<item code>`` columns, or by spreading
``cost_yuan`` over the row's ``items`` (comma-separated codes) in proportion to
``item_weights`` (equal weights when none are given). Any part of ``cost_yuan`` not
explained by item costs is split with the ``"default"`` shares, so the three parts always
add up to ``cost_yuan`` (to the fen; government takes the rounding).

The default shares below are placeholders: the seed names the principle but no figures.
Pass the profile's per-item shares.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from yulin_gis.errors import ProfileError, SchemaError
from yulin_gis.io import require_columns

__all__ = [
    "DEFAULT_FUNDING_SHARES",
    "FUNDERS",
    "FUNDER_LABELS_ZH",
    "FUNDING_COLUMNS",
    "funding_by_county_year",
    "package_funding",
    "split_costs",
    "validate_shares",
]

logger = logging.getLogger(__name__)

FUNDERS: tuple[str, ...] = ("residents", "utility", "government")
FUNDER_LABELS_ZH: dict[str, str] = {
    "residents": "居民出资", "utility": "管线单位出资", "government": "政府出资",
}
FUNDING_COLUMNS: tuple[str, ...] = tuple(f"fund_{f}_yuan" for f in FUNDERS)
"""Columns added by :func:`split_costs`: residents, utility companies, government."""

DEFAULT_FUNDING_SHARES: dict[str, tuple[float, float, float]] = {
    "basic": (0.05, 0.10, 0.85),
    "improve": (0.15, 0.00, 0.85),
    "upgrade": (0.10, 0.00, 0.90),
    "default": (0.10, 0.05, 0.85),
}
"""Placeholder shares (residents, utility, government) by item class; not from the seed."""

Shares = tuple[float, float, float]


def validate_shares(shares: Mapping[str, Any]) -> dict[str, Shares]:
    """Check funding shares: three numbers ≥ 0 per key that sum to 1.

    Parameters
    ----------
    shares
        Key (item code, class or ``"default"``) → ``(residents, utility, government)``, or a
        mapping with those three keys, or an object with those attributes (the profile's
        ``Funding``).

    Returns
    -------
    dict
        Key → a ``(residents, utility, government)`` tuple of floats.

    Raises
    ------
    ProfileError
        Naming every bad key at once.
    """
    out: dict[str, Shares] = {}
    bad: list[str] = []
    for key, value in shares.items():
        if isinstance(value, Mapping):
            value = tuple(value.get(f) for f in FUNDERS)
        elif all(hasattr(value, f) for f in FUNDERS):
            value = tuple(getattr(value, f) for f in FUNDERS)
        try:
            triple = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            bad.append(f"{key}: not three numbers ({value!r})")
            continue
        if len(triple) != 3 or any(math.isnan(v) or v < 0 for v in triple):
            bad.append(f"{key}: need three shares ≥ 0, got {value!r}")
        elif abs(sum(triple) - 1.0) > 1e-6:
            bad.append(f"{key}: shares must sum to 1, got {sum(triple):g}")
        else:
            out[str(key)] = (triple[0], triple[1], triple[2])
    if bad:
        raise ProfileError("bad funding shares: " + "; ".join(bad))
    return out


def _items_of(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).replace("，", ",").replace("、", ",").split(",")
            if v.strip()]


def _parse_cost_by_item(value: Any) -> dict[str, float] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"cost_by_item is not JSON: {value[:60]!r}") from exc
    if not isinstance(value, Mapping):
        raise SchemaError(f"cost_by_item must map item code → yuan, got {type(value).__name__}")
    return {str(k): float(v) for k, v in value.items()}


def _row_item_costs(row: Mapping[Any, Any], cost_cols: Mapping[str, str],
                    weights: Mapping[str, float] | None) -> dict[str, float]:
    """Item code → yuan for one row (may explain only part of ``cost_yuan``)."""
    if "cost_by_item" in row:
        parsed = _parse_cost_by_item(row["cost_by_item"])
        if parsed is not None:
            return parsed
    if cost_cols:
        found = {code: float(row[col]) for code, col in cost_cols.items()
                 if pd.notna(row[col]) and float(row[col]) != 0}
        if found:
            return found
    items = _items_of(row.get("items"))
    total = float(row.get("cost_yuan") or 0.0)
    if not items or total == 0:
        return {}
    w = [float((weights or {}).get(code, 1.0)) for code in items]
    if sum(w) <= 0:
        w = [1.0] * len(items)
    return {code: total * wi / sum(w) for code, wi in zip(items, w, strict=True)}


def _shares_for(code: str, shares: Mapping[str, Shares],
                item_classes: Mapping[str, str]) -> Shares:
    if code in shares:
        return shares[code]
    cls = item_classes.get(code)
    if cls is not None and cls in shares:
        return shares[cls]
    return shares["default"]


def split_costs(
    table: pd.DataFrame,
    funding_shares: Mapping[str, Any] | None = None,
    *,
    item_classes: Mapping[str, str] | None = None,
    item_weights: Mapping[str, float] | None = None,
    by_item: bool = False,
) -> pd.DataFrame:
    """Split each row's ``cost_yuan`` into residents / utility companies / government.

    Parameters
    ----------
    table
        Compounds or packages with ``cost_yuan`` and optionally ``items``,
        ``cost_by_item`` or ``cost_<item>`` columns (only for codes named in ``item_classes`` or
        ``funding_shares``; see the module docstring).
    funding_shares
        Item code / class / ``"default"`` → ``(residents, utility, government)``; merged
        over :data:`DEFAULT_FUNDING_SHARES`.
    item_classes
        Item code → class (``basic``, ``improve``, ``upgrade``) for class-level shares.
    item_weights
        Item code → relative cost, to spread ``cost_yuan`` over items when no item costs
        are given (e.g. the profile's unit costs).
    by_item
        Return one row per (input row, item) instead: ``row, item, item_class, cost_yuan``
        and the three funding columns; the remainder appears as item ``""``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with :data:`FUNDING_COLUMNS` added (or the long table).

    Raises
    ------
    SchemaError
        ``cost_yuan`` missing, negative or not a number; unreadable ``cost_by_item``.
    ProfileError
        Bad shares.
    """
    require_columns(table, ["cost_yuan"], layer="cost table")
    shares = validate_shares({**DEFAULT_FUNDING_SHARES, **(funding_shares or {})})
    classes = dict(item_classes or {})
    cost = pd.to_numeric(table["cost_yuan"], errors="coerce")
    if (cost.isna() | (cost < 0)).any():
        bad = [str(i) for i in table.index[cost.isna() | (cost < 0)][:10]]
        raise SchemaError(f"cost_yuan must be a number ≥ 0 (rows {', '.join(bad)})")
    known = (set(classes) | set(shares)) - {"basic", "improve", "upgrade", "default"}
    cost_cols = {c[len("cost_"):]: c for c in table.columns
                 if str(c).startswith("cost_") and str(c)[len("cost_"):] in known}
    long_rows: list[dict[str, Any]] = []
    wide: list[tuple[float, float, float]] = []
    for idx, row, total in zip(table.index, table.to_dict("records"), cost, strict=True):
        parts = _row_item_costs(row, cost_cols, item_weights)
        explained = sum(parts.values())
        if explained > total + 0.005:
            logger.warning("row %s: item costs %.2f exceed cost_yuan %.2f; scaled down",
                           idx, explained, total)
            parts = {k: v * total / explained for k, v in parts.items()}
        remainder = total - sum(parts.values())
        if remainder > 0.005:
            parts[""] = remainder
        acc = [0.0, 0.0, 0.0]
        for code, amount in parts.items():
            sh = shares["default"] if code == "" else _shares_for(code, shares, classes)
            split = [amount * s for s in sh]
            acc = [a + s for a, s in zip(acc, split, strict=True)]
            if by_item:
                long_rows.append({"row": idx, "item": code, "item_class": classes.get(code, ""),
                                  "cost_yuan": amount,
                                  **dict(zip(FUNDING_COLUMNS, split, strict=True))})
        res, util = round(acc[0], 2), round(acc[1], 2)
        wide.append((res, util, round(float(total) - res - util, 2)))
    if by_item:
        cols = ["row", "item", "item_class", "cost_yuan", *FUNDING_COLUMNS]
        return pd.DataFrame(long_rows, columns=cols)
    out = table.copy()
    for i, col in enumerate(FUNDING_COLUMNS):
        out[col] = [w[i] for w in wide]
    return out


def package_funding(
    packages: pd.DataFrame,
    compounds: pd.DataFrame | None = None, *,
    funding_shares: Mapping[str, Any] | None = None,
    item_classes: Mapping[str, str] | None = None,
    item_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Funding split per package.

    With ``compounds`` (having ``package_id`` and items), each package's parts are the
    sums of its compounds' parts; any difference between the package's ``cost_yuan`` and
    its compounds' costs (e.g. shared works of the package) is split with the
    ``"default"`` shares. Without compounds, the package rows are split directly.

    Returns
    -------
    pandas.DataFrame
        A copy of ``packages`` with :data:`FUNDING_COLUMNS`; each row's three parts sum to
        its ``cost_yuan``.
    """
    kw: dict[str, Any] = {"item_classes": item_classes, "item_weights": item_weights}
    if compounds is None:
        return split_costs(packages, funding_shares, **kw)
    require_columns(compounds, ["package_id"], layer="compounds")
    parts = split_costs(compounds, funding_shares, **kw)
    parts = parts[parts["package_id"].notna()]
    sums = parts.groupby(parts["package_id"].astype(str))[["cost_yuan", *FUNDING_COLUMNS]].sum()
    out = packages.copy()
    keys = out["package_id"].astype(str)
    base = sums.reindex(keys).fillna(0.0)
    remainder = pd.to_numeric(out["cost_yuan"], errors="coerce").to_numpy() - base[
        "cost_yuan"].to_numpy()
    rest = split_costs(pd.DataFrame({"cost_yuan": remainder.clip(min=0)}), funding_shares, **kw)
    if (remainder < -0.005).any():
        logger.warning("%d package(s) cost less than their compounds; compound sums kept",
                       int((remainder < -0.005).sum()))
        out["cost_yuan"] = out["cost_yuan"].where(remainder >= -0.005, base["cost_yuan"].to_numpy())
    for col in FUNDING_COLUMNS:
        out[col] = (base[col].to_numpy() + rest[col].to_numpy()).round(2)
    res_util = out[FUNDING_COLUMNS[0]] + out[FUNDING_COLUMNS[1]]
    out[FUNDING_COLUMNS[2]] = (pd.to_numeric(out["cost_yuan"]) - res_util).round(2)
    return out


def funding_by_county_year(table: pd.DataFrame) -> pd.DataFrame:
    """Sum cost and the three funding parts per county and plan year.

    Parameters
    ----------
    table
        Rows with ``county``, ``plan_year`` (str or int; ``""`` rows are skipped),
        ``cost_yuan`` and :data:`FUNDING_COLUMNS` (from :func:`split_costs` or
        :func:`package_funding`).

    Returns
    -------
    pandas.DataFrame
        ``county, plan_year`` (int), ``cost_yuan`` and the funding columns, sorted.
    """
    need = ["county", "plan_year", "cost_yuan", *FUNDING_COLUMNS]
    require_columns(table, need, layer="funding table")
    year = table["plan_year"].astype(str).str.strip()
    sub = table.loc[~year.isin(["", "nan", "None", "<NA>"]), need].copy()
    sub["plan_year"] = sub["plan_year"].astype(float).astype(int)
    sub["county"] = sub["county"].astype(str)
    sub["cost_yuan"] = pd.to_numeric(sub["cost_yuan"])
    out = sub.groupby(["county", "plan_year"], as_index=False)[need[2:]].sum()
    return out.sort_values(["county", "plan_year"], kind="mergesort").reset_index(drop=True)
