"""Utility overlay (管线叠加): pipes near compounds, renewal risk, upgrade plans, joint trenches.

The seed (玉政办发〔2022〕13号 §五) makes the water, gas, power and telecom companies put the
compounds' pipeline upgrades first into their annual renewal plans, share the cost and
agree a co-ordinated construction plan (统筹施工方案) so that a street is dug once. This
module gives each company (管线单位) exactly that:

* :func:`pipes_near_compounds` — segment × compound pairs within a distance, found with
  ``shapely.STRtree.query(predicate="dwithin")`` (exact distances, no buffers), and
  :func:`overlay_totals` — length per utility per compound or package;
* :func:`renewal_risk` — a 0–100 renewal risk score per segment with its reason;
* :func:`utility_upgrade_plan` — the ``pipe_upgrades`` layer: segments to renew per
  package and plan year, cost and funding split;
* :func:`joint_trenches` — the ``joint_trenches`` layer: roads dug by two or more parties in
  one package, the suggested order, the window in the plan year and conflicts with the
  utilities' own plans;
* :func:`write_company_workbooks` — one Chinese workbook per company.

Renewal risk (all figures in :data:`DEFAULT_RISK_PARAMS`, overridable by the policy profile
through ``params``):

* likelihood = 1 − (1 − age)(1 − hazard)(1 − condition) ("noisy OR"), where
  age = min(1, age / design life of the material), design lives in
  :data:`DESIGN_LIFE_YEARS` (per material; per utility when the material is unknown;
  typical service lives from manufacturers' and utilities' practice — unconfirmed, editable);
  an unknown install year counts as ``unknown_age_likelihood``; hazard =
  ``hazard_likelihood`` when a hazard rule of DOMAIN.md §2 (国办发〔2022〕22号) holds:
  grey cast-iron gas; steel/PE gas over 20 years; cement, asbestos-cement or unlined
  cast-iron water; water over 30 years; combined sewers; plain-concrete drains; condition
  from ``condition_likelihood`` (good 0, fair 0.2, poor 0.6, bad 0.9);
* consequence = 0.5·households + 0.3·road + 0.2·utility, with households =
  min(1, households served / ``households_full``), road class weights (arterial 1.0,
  secondary 0.7, branch 0.4, internal 0.2) and utility weights (gas 1.0 … cable TV 0.3);
* score = 100 · likelihood · (0.4 + 0.6 · consequence).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yulin_gis.errors import CRSError, OutputError, ProfileError, SchemaError
from yulin_gis.network import DEFAULT_OWNERS, UTILITY_LABELS_ZH, UTILITY_TYPES

__all__ = [
    "DEFAULT_FUNDING_SHARES",
    "DEFAULT_RISK_PARAMS",
    "DEFAULT_UNIT_COSTS",
    "DESIGN_LIFE_YEARS",
    "TRENCH_DURATIONS_DAYS",
    "TRENCH_ORDER",
    "households_near_segments",
    "joint_trenches",
    "overlay_totals",
    "pipes_near_compounds",
    "renewal_risk",
    "segment_road_classes",
    "utility_upgrade_plan",
    "write_company_workbooks",
]

logger = logging.getLogger(__name__)

DESIGN_LIFE_YEARS: dict[str, float] = {
    "grey_cast_iron": 40, "unlined_cast_iron": 40, "ductile_iron": 50, "steel": 30,
    "galvanized_steel": 20, "pe": 50, "pvc": 40, "asbestos_cement": 30, "cement": 30,
    "concrete": 50, "reinforced_concrete": 60, "clay": 50, "copper": 30, "fibre": 25,
    "aluminium": 30, "other": 40,
}
"""Design life in years per pipe material (typical values, unconfirmed; editable)."""

_LIFE_BY_UTILITY: dict[str, float] = {
    "water_supply": 40, "gas": 30, "storm": 50, "sewer": 50, "combined_sewer": 50,
    "power": 30, "telecom": 20, "cable_tv": 20,
}

_HAZARD_RULES: list[dict[str, Any]] = [
    {"code": "gas_grey_iron", "utility": ["gas"], "material": ["grey_cast_iron", "unlined_cast_iron"],
     "reason_zh": "灰口铸铁燃气管"},
    {"code": "gas_old_steel_pe", "utility": ["gas"], "material": ["steel", "galvanized_steel", "pe"],
     "older_than_years": 20, "reason_zh": "钢质/PE燃气管超过20年"},
    {"code": "gas_bad_condition", "utility": ["gas"], "condition": ["poor", "bad"],
     "reason_zh": "燃气管管况差"},
    {"code": "water_bad_material", "utility": ["water_supply"],
     "material": ["asbestos_cement", "cement", "unlined_cast_iron", "grey_cast_iron"],
     "reason_zh": "水泥/石棉水泥/无内衬铸铁供水管"},
    {"code": "water_old", "utility": ["water_supply"], "older_than_years": 30,
     "reason_zh": "供水管超过30年"},
    {"code": "combined_sewer", "utility": ["combined_sewer"], "always": True, "reason_zh": "雨污合流管"},
    {"code": "drain_plain_concrete", "utility": ["storm", "sewer"],
     "material": ["concrete", "cement", "clay"], "reason_zh": "平口/素混凝土、水泥或陶土排水管"},
    {"code": "bad_condition", "utility": ["storm", "sewer", "water_supply", "power", "telecom",
                                          "cable_tv"],
     "condition": ["bad"], "reason_zh": "管况严重破损"},
]

DEFAULT_RISK_PARAMS: dict[str, Any] = {
    "design_life_years": DESIGN_LIFE_YEARS,
    "design_life_by_utility": _LIFE_BY_UTILITY,
    "hazard_rules": _HAZARD_RULES,  # same shape as the profile's [[hazards.rules]]
    "hazard_likelihood": 0.9,
    "unknown_age_likelihood": 0.5,
    "condition_likelihood": {"good": 0.0, "fair": 0.2, "poor": 0.6, "bad": 0.9},
    "unknown_condition_likelihood": 0.2,
    "households_full": 500.0,
    "road_class_weight": {"arterial": 1.0, "secondary": 0.7, "branch": 0.4, "internal": 0.2},
    "unknown_road_weight": 0.3,
    "utility_weight": {"gas": 1.0, "water_supply": 0.8, "combined_sewer": 0.8, "sewer": 0.7,
                       "power": 0.7, "storm": 0.6, "telecom": 0.3, "cable_tv": 0.3},
    "consequence_weights": {"households": 0.5, "road": 0.3, "utility": 0.2},
    "consequence_floor": 0.4,
}
"""Renewal-risk parameters; ``renewal_risk(params=...)`` overrides any key (dicts merged)."""

DEFAULT_UNIT_COSTS: dict[str, float] = {
    "water_supply": 400.0, "storm": 600.0, "sewer": 600.0, "combined_sewer": 900.0,
    "gas": 350.0, "power": 500.0, "telecom": 200.0, "cable_tv": 150.0,
}
"""Renewal cost, yuan per metre incl. trench and reinstatement. Water, drainage and gas
follow the profile's items; combined sewer assumes separation (a second pipe); power and
telecom are placeholders (unconfirmed)."""

DEFAULT_FUNDING_SHARES: dict[str, dict[str, float]] = {
    "water_supply": {"utility": 0.5, "government": 0.4, "residents": 0.1},
    "gas": {"utility": 0.6, "government": 0.3, "residents": 0.1},
    "power": {"utility": 0.7, "government": 0.3, "residents": 0.0},
    "telecom": {"utility": 0.8, "government": 0.2, "residents": 0.0},
    "cable_tv": {"utility": 0.8, "government": 0.2, "residents": 0.0},
    "storm": {"utility": 0.0, "government": 0.9, "residents": 0.1},
    "sewer": {"utility": 0.0, "government": 0.9, "residents": 0.1},
    "combined_sewer": {"utility": 0.0, "government": 0.9, "residents": 0.1},
}
"""Funding split per utility (谁受益、谁出资, seed §八(二)); as the profile's items, unconfirmed."""

TRENCH_ORDER: tuple[str, ...] = (
    "storm", "sewer", "combined_sewer", "gas", "water_supply", "power", "telecom", "cable_tv", "road",
)
"""Suggested digging order: drainage (deepest) first, then gas, water, power, telecom and
cable TV, the road surface last (建办城〔2021〕50号: drainage and gas first)."""

TRENCH_DURATIONS_DAYS: dict[str, int] = {
    "storm": 30, "sewer": 30, "combined_sewer": 40, "gas": 20, "water_supply": 20, "power": 15,
    "telecom": 10, "cable_tv": 10, "road": 20,
}
"""Working days per party for a trench up to 500 m (scaled by length beyond); typical, editable."""

_LABELS_ZH = {**UTILITY_LABELS_ZH, "road": "道路面层"}
_ITEM_UTILITIES: dict[str, tuple[str, ...]] = {
    "water_supply": ("water_supply",), "drainage": ("storm", "sewer", "combined_sewer"),
    "gas_pipe": ("gas",), "power_supply": ("power",), "low_voltage": ("telecom", "cable_tv"),
}
_ROAD_ZH = {"arterial": "主干路", "secondary": "次干路", "branch": "支路", "internal": "小区内部道路"}
_CONDITION_ZH = {"good": "良好", "fair": "一般", "poor": "较差", "bad": "严重破损"}
_ROAD_ITEM = re.compile(r"road|道路", re.IGNORECASE)


def _check_metric(gdf: gpd.GeoDataFrame, name: str) -> None:
    if gdf.crs is not None and gdf.crs.is_geographic:
        raise CRSError(f"{name} are in a geographic CRS ({gdf.crs.to_string()}); project them "
                       "to a metric CRS such as EPSG:4546 first")


def _same_crs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, names: str) -> None:
    if a.crs is not None and b.crs is not None and not a.crs.equals(b.crs):
        raise CRSError(f"{names} are in different CRSs ({a.crs.to_string()} vs "
                       f"{b.crs.to_string()}); project both to the analysis CRS first")


def _need(df: pd.DataFrame, cols: Iterable[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{name} lack column(s) {', '.join(missing)}")


# --------------------------------------------------------------------------- overlay


def pipes_near_compounds(compounds: gpd.GeoDataFrame, utilities: gpd.GeoDataFrame,
                         distance_m: float = 30.0, id_field: str = "compound_id",
                         lengths: Literal["within", "inside", "full", "none"] = "within",
                         method: Literal["envelope", "dwithin"] = "envelope") -> pd.DataFrame:
    """Pairs of compound (小区) and pipe segment within ``distance_m`` (exact distance).

    Both methods give the same pairs, those with ``shapely.distance ≤ distance_m`` — no
    buffers. ``"envelope"`` (default) queries a ``shapely.STRtree`` of the segments with
    each compound's bounding box grown by ``distance_m`` and keeps candidates by their exact
    distance, which it needs for ``distance_m`` anyway (about 0.6× the time of the
    ``dwithin`` query alone, see benchmarks/overlay.md); ``"dwithin"`` uses
    ``STRtree.query(predicate="dwithin", distance=...)`` then computes the distances.

    Parameters
    ----------
    compounds
        Polygons (or points) with ``id_field``; package polygons work too
        (``id_field="package_id"``). Metric CRS.
    utilities
        Segments with ``segment_id`` and ``utility``; same CRS.
    distance_m
        Maximum distance; 0 means touching or inside.
    lengths
        What ``length_in_m`` measures: ``"within"`` (default) the part of the segment
        within ``distance_m`` of the polygon (closed form for straight segments and convex
        polygons; otherwise clipped by an 8-segments-per-quarter buffer — a measurement
        only, the pairs stay exact);
        ``"inside"`` the part inside the polygon; ``"full"`` the whole segment (fast);
        ``"none"`` NaN (fastest).
    method
        ``"envelope"`` or ``"dwithin"``, as above.

    Returns
    -------
    pandas.DataFrame
        ``id_field``, ``segment_id``, ``utility``, ``distance_m``, ``length_in_m``; sorted by
        compound row, then segment row. Rows with missing geometry pair with nothing.
    """
    _need(compounds, [id_field], "compounds")
    _need(utilities, ["segment_id", "utility"], "utilities")
    _check_metric(compounds, "compounds")
    _check_metric(utilities, "utilities")
    _same_crs(compounds, utilities, "compounds and utilities")
    pipes = utilities.geometry.to_numpy()
    polys = compounds.geometry.to_numpy()
    ci, si, dist = _near_pairs(polys, pipes, max(distance_m, 0.0), method)
    if lengths == "full":
        length = shapely.length(pipes)[si]
    elif lengths == "inside":
        length = shapely.length(shapely.intersection(pipes[si], polys[ci]))
    elif lengths == "within":
        length = _length_within(polys, pipes, ci, si, distance_m)
    else:
        length = np.full(len(si), np.nan)
    return pd.DataFrame({  # take() on the string arrays: no round trip through objects
        id_field: compounds[id_field].astype(str).array.take(ci),
        "segment_id": utilities["segment_id"].astype(str).array.take(si),
        "utility": utilities["utility"].astype(str).array.take(si),
        "distance_m": dist, "length_in_m": length,
    })


def _near_pairs(polys: np.ndarray, pipes: np.ndarray, d: float, method: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row pairs (polygon, segment) with exact distance ≤ d, sorted, with the distances."""
    tree = shapely.STRtree(pipes)
    if method == "dwithin":
        ci, si = tree.query(polys, predicate="dwithin" if d > 0 else "intersects",
                            **({"distance": d} if d > 0 else {}))
        order = np.lexsort((si, ci))
        ci, si = ci[order], si[order]
        return ci, si, shapely.distance(polys[ci], pipes[si])
    if method != "envelope":
        raise SchemaError(f"unknown overlay method {method!r}; use 'envelope' or 'dwithin'")
    b = shapely.bounds(polys)
    ok = ~np.isnan(b).any(axis=1)
    env = np.full(len(polys), None, dtype=object)
    env[ok] = shapely.box(b[ok, 0] - d, b[ok, 1] - d, b[ok, 2] + d, b[ok, 3] + d)
    ci, si = tree.query(env)
    dist = shapely.distance(polys[ci], pipes[si])
    keep = dist <= d
    ci, si, dist = ci[keep], si[keep], dist[keep]
    order = np.lexsort((si, ci))
    return ci[order], si[order], dist[order]


def _length_within(polys: np.ndarray, pipes: np.ndarray, ci: np.ndarray, si: np.ndarray,
                   d: float) -> np.ndarray:
    """Length of each paired segment within ``d`` of its polygon.

    Straight two-point segments against convex polygons without holes (most pairs) are
    solved exactly in closed form (:func:`_length_within_convex`); the others are clipped
    by the polygon's buffer (8 segments per quarter circle).
    """
    length = _length_within_convex(polys, pipes, ci, si, d)
    rest = np.flatnonzero(np.isnan(length))
    if len(rest):
        used = np.unique(ci[rest])
        zone = np.full(len(polys), None, dtype=object)
        zone[used] = shapely.buffer(polys[used], d, quad_segs=8) if d > 0 else polys[used]
        shapely.prepare(zone[used])
        full = shapely.length(pipes[si[rest]])
        part = ~shapely.contains(zone[ci[rest]], pipes[si[rest]])
        full[part] = shapely.length(shapely.intersection(pipes[si[rest][part]],
                                                         zone[ci[rest][part]]))
        length[rest] = full
    return length


def _convex_rings(polys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Polygon vertices as ragged arrays: ``xy``, index of the next vertex, start and count
    per polygon, orientation sign (+1 counter-clockwise) and whether it is convex."""
    simple = (shapely.get_type_id(polys) == 3) & (shapely.get_num_interior_rings(polys) == 0)
    rings = np.full(len(polys), None, dtype=object)
    rings[simple] = shapely.get_exterior_ring(polys[simple])
    xy, owner = shapely.get_coordinates(rings, return_index=True)
    if not len(xy):
        empty = np.zeros(len(polys), np.int64)
        return xy, np.empty(0, np.int64), empty, empty, np.ones(len(polys)), simple & False
    # drop the closing vertex and repeated vertices
    nxt = np.r_[xy[1:], xy[:1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    dup = np.all(np.isclose(xy, nxt), axis=1) & ~last
    keep = ~last & ~dup
    xy, owner = xy[keep], owner[keep]
    counts = np.bincount(owner, minlength=len(polys))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    idx_next = np.arange(len(xy)) + 1
    ends = starts + counts
    wrap = idx_next == np.repeat(ends, counts)
    idx_next[wrap] = np.repeat(starts, counts)[wrap]
    e = xy[idx_next] - xy
    area2 = np.bincount(owner, xy[:, 0] * xy[idx_next, 1] - xy[idx_next, 0] * xy[:, 1], minlength=len(polys))
    sign = np.where(area2 >= 0, 1.0, -1.0)
    e_next = e[idx_next]
    cross = (e[:, 0] * e_next[:, 1] - e[:, 1] * e_next[:, 0]) * sign[owner]
    scale = np.hypot(*e.T) * np.hypot(*e_next.T)
    bad = np.bincount(owner, cross < -1e-9 * np.maximum(scale, 1e-12), minlength=len(polys)) > 0
    convex = simple & (counts >= 3) & ~bad
    return xy, idx_next, starts, counts, sign, convex


def _length_within_convex(polys: np.ndarray, pipes: np.ndarray, ci: np.ndarray, si: np.ndarray,
                          d: float, chunk: int = 400_000) -> np.ndarray:
    """Exact length of straight two-point segments within ``d`` of convex polygons.

    The zone (polygon ⊕ disk of radius ``d``) is convex, so its intersection with the
    segment's line is one interval: the hull of the line's intervals in the polygon, in
    each edge's rectangle (half-width ``d``) and in each vertex's disk — all closed form.
    NaN for pairs this does not apply to (curved or multi-part lines, concave polygons,
    holes). Pairs are processed in chunks to bound memory.
    """
    out = np.full(len(ci), np.nan)
    if not len(ci):
        return out
    xy, idx_next, starts, counts, sign, convex = _convex_rings(polys)
    coords, owner = shapely.get_coordinates(pipes, return_index=True)
    npts = np.bincount(owner, minlength=len(pipes))
    pstart = np.r_[0, np.cumsum(npts)[:-1]]
    ok = convex[ci] & (npts[si] == 2)
    rows = np.flatnonzero(ok)
    for lo in range(0, len(rows), chunk):
        r = rows[lo:lo + chunk]
        out[r] = _chunk(xy, idx_next, starts, counts, sign, coords, pstart, ci[r], si[r], d)
    return out


def _chunk(xy: np.ndarray, idx_next: np.ndarray, starts: np.ndarray, counts: np.ndarray,
           sign: np.ndarray, coords: np.ndarray, pstart: np.ndarray, c: np.ndarray,
           s: np.ndarray, d: float) -> np.ndarray:
    """Within-distance lengths for one chunk of (polygon, segment) pairs."""
    p0 = coords[pstart[s]]
    D = coords[pstart[s] + 1] - p0
    L = np.hypot(D[:, 0], D[:, 1])
    nv = counts[c]
    k = np.repeat(np.arange(len(c)), nv)
    grp = np.r_[0, np.cumsum(nv)[:-1]]
    vi = np.repeat(starts[c] - grp, nv) + np.arange(len(k))
    A = xy[vi]
    B = xy[idx_next[vi]]
    P0, DD = p0[k], D[k]
    W = P0 - A
    # circles at vertices
    a = np.einsum("ij,ij->i", DD, DD)
    b = 2 * np.einsum("ij,ij->i", DD, W)
    cc = np.einsum("ij,ij->i", W, W) - d * d
    disc = b * b - 4 * a * cc
    with np.errstate(divide="ignore", invalid="ignore"):
        sq = np.sqrt(np.maximum(disc, 0))
        c_lo = np.where(disc >= 0, (-b - sq) / (2 * a), np.inf)
        c_hi = np.where(disc >= 0, (-b + sq) / (2 * a), -np.inf)
        # rectangles around edges
        E = B - A
        elen = np.hypot(E[:, 0], E[:, 1])
        e = E / elen[:, None]
        n = np.column_stack([-e[:, 1], e[:, 0]])
        r_lo, r_hi = _slab(np.einsum("ij,ij->i", W, e), np.einsum("ij,ij->i", DD, e), 0.0, elen)
        q_lo, q_hi = _slab(np.einsum("ij,ij->i", W, n), np.einsum("ij,ij->i", DD, n), -d, d)
        r_lo, r_hi = np.maximum(r_lo, q_lo), np.minimum(r_hi, q_hi)
        # polygon half-planes (inside: left of CCW edges)
        h0 = (E[:, 0] * W[:, 1] - E[:, 1] * W[:, 0]) * sign[c][k]
        hD = (E[:, 0] * DD[:, 1] - E[:, 1] * DD[:, 0]) * sign[c][k]
        t_cross = -h0 / hD
    enter = np.where(hD > 0, t_cross, -np.inf)
    exit_ = np.where(hD < 0, t_cross, np.inf)
    never = (hD == 0) & (h0 < 0)
    p_lo = np.maximum.reduceat(enter, grp)
    p_hi = np.minimum.reduceat(exit_, grp)
    p_empty = np.logical_or.reduceat(never, grp) | (p_lo > p_hi)
    valid_r = r_lo <= r_hi
    lo_all = np.minimum(np.where(disc >= 0, c_lo, np.inf), np.where(valid_r, r_lo, np.inf))
    hi_all = np.maximum(np.where(disc >= 0, c_hi, -np.inf), np.where(valid_r, r_hi, -np.inf))
    lo = np.minimum.reduceat(lo_all, grp)
    hi = np.maximum.reduceat(hi_all, grp)
    lo = np.where(p_empty, lo, np.minimum(lo, p_lo))
    hi = np.where(p_empty, hi, np.maximum(hi, p_hi))
    t0, t1 = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
    return np.where(L > 0, np.maximum(t1 - t0, 0.0) * L, 0.0)


def _slab(s0: np.ndarray, sD: np.ndarray, lo: float | np.ndarray, hi: float | np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Parameter interval where ``lo ≤ s0 + t·sD ≤ hi`` (empty: lo > hi)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - s0) / sD, (hi - s0) / sD
    flat = sD == 0
    inside = (s0 >= lo) & (s0 <= hi)
    t_lo = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(ta, tb))
    t_hi = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(ta, tb))
    return t_lo, t_hi


def overlay_totals(pairs: pd.DataFrame, by: str = "compound_id",
                   membership: pd.DataFrame | Mapping[str, str] | None = None,
                   value: str = "length_in_m") -> pd.DataFrame:
    """Length of each utility per compound or package (wide table, metres).

    Parameters
    ----------
    pairs
        From :func:`pipes_near_compounds`.
    by
        Column to total by: ``"compound_id"`` (or the pairs' id field), or a column of
        ``membership`` such as ``"package_id"``.
    membership
        Compound → group: a DataFrame with ``compound_id`` and ``by``, or a mapping. A
        segment near several compounds of one group counts once (its largest length).
    value
        Column summed.

    Returns
    -------
    pandas.DataFrame
        Index ``by``; one column per utility present (in :data:`UTILITY_TYPES` order) and
        ``total``.
    """
    df = pairs
    if by not in df.columns:
        if membership is None:
            raise SchemaError(f"pairs have no {by!r} column; pass membership")
        if isinstance(membership, pd.DataFrame):
            _need(membership, ["compound_id", by], "membership")
            mapping = dict(zip(membership["compound_id"].astype(str), membership[by].astype(str),
                               strict=True))
        else:
            mapping = {str(k): str(v) for k, v in membership.items()}
        df = df.assign(**{by: df["compound_id"].map(mapping)}).dropna(subset=[by])
        df = df.groupby([by, "utility", "segment_id"], sort=True)[value].max().reset_index()
    wide = df.pivot_table(index=by, columns="utility", values=value, aggfunc="sum", fill_value=0.0)
    cols = [u for u in UTILITY_TYPES if u in wide.columns] + sorted(
        c for c in wide.columns if c not in UTILITY_TYPES)
    wide = wide[cols]
    wide["total"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide.sort_index()


def households_near_segments(pairs: pd.DataFrame, compounds: pd.DataFrame) -> pd.Series:
    """Households (户数) of the compounds near each segment, summed: segment_id → households."""
    hh = pd.to_numeric(compounds["households"], errors="coerce").fillna(0)
    hh.index = compounds["compound_id"].astype(str)
    per = pairs["compound_id"].map(hh).fillna(0)
    return per.groupby(pairs["segment_id"]).sum().rename("households")


def segment_road_classes(utilities: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                         max_distance_m: float = 15.0) -> pd.Series:
    """Road class (道路等级) of the road each segment runs under: segment_id → road_class.

    The segment's ``road_id`` is used when present, else the nearest road within
    ``max_distance_m``; segments with neither are left out.
    """
    _need(roads, ["road_id", "road_class"], "roads")
    cls = dict(zip(roads["road_id"].astype(str), roads["road_class"].astype(str), strict=True))
    sid = utilities["segment_id"].astype(str).to_numpy()
    out = pd.Series(pd.NA, index=sid, dtype="object")
    if "road_id" in utilities.columns:
        out[:] = utilities["road_id"].astype("string").map(cls).to_numpy()
    todo = np.flatnonzero(out.isna().to_numpy())
    if len(todo):
        tree = shapely.STRtree(roads.geometry.to_numpy())
        qi, ri = tree.query_nearest(utilities.geometry.to_numpy()[todo], max_distance=max_distance_m)
        first = np.r_[True, qi[1:] != qi[:-1]][: len(qi)]
        out.iloc[todo[qi[first]]] = roads["road_class"].astype(str).to_numpy()[ri[first]]
    return out.dropna().rename("road_class")


# --------------------------------------------------------------------------- risk


def _merged_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_RISK_PARAMS.items()}
    for key, val in (params or {}).items():
        if key not in merged:
            raise ProfileError(f"unknown renewal-risk parameter {key!r}")
        merged[key] = {**merged[key], **val} if isinstance(merged[key], dict) else val
    return merged


def _rule_get(rule: Any, *names: str) -> Any:
    for name in names:
        val = rule.get(name) if isinstance(rule, Mapping) else getattr(rule, name, None)
        if val not in (None, (), []):
            return val
    return None


def _hazards(df: pd.DataFrame, age: np.ndarray, rules: Iterable[Any]) -> tuple[np.ndarray, list[list[str]]]:
    """Hazard flag and reasons per row; a rule holds when all its given conditions hold."""
    util = df["utility"].astype(str).to_numpy()
    mat = df["material"].astype(str).to_numpy() if "material" in df else np.full(len(df), "")
    cond = df["condition"].astype(str).to_numpy() if "condition" in df else np.full(len(df), "")
    reasons: list[list[str]] = [[] for _ in range(len(df))]
    flag = np.zeros(len(df), bool)
    for rule in rules:
        hit = np.isin(util, list(_rule_get(rule, "utility", "utilities") or []))
        mats = _rule_get(rule, "material", "materials")
        if mats:
            hit &= np.isin(mat, list(mats))
        conds = _rule_get(rule, "condition", "conditions")
        if conds:
            hit &= np.isin(cond, list(conds))
        older = _rule_get(rule, "older_than_years")
        if older is not None:
            hit &= np.nan_to_num(age, nan=-1) > float(older)
        if not (mats or conds or older is not None or _rule_get(rule, "always")):
            continue
        flag |= hit
        text = str(_rule_get(rule, "reason_zh", "code"))
        for i in np.flatnonzero(hit):
            reasons[i].append(text)
    return flag, reasons


def renewal_risk(utilities: pd.DataFrame, as_of_year: int,
                 households_served: pd.Series | Mapping[str, float] | None = None,
                 road_classes: pd.Series | Mapping[str, str] | None = None,
                 params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Renewal risk score (更新改造风险) per segment, 0–100, with the reason in Chinese.

    Parameters
    ----------
    utilities
        Segments: ``segment_id``, ``utility``; optional ``material``, ``install_year``,
        ``condition``.
    as_of_year
        Year ages are computed for.
    households_served
        segment_id → households near it (:func:`households_near_segments`); 0 if absent.
    road_classes
        segment_id → road class (:func:`segment_road_classes`); unknown if absent.
    params
        Overrides of :data:`DEFAULT_RISK_PARAMS` (the policy profile passes its hazard rules
        as ``hazard_rules``; dicts are merged key by key).

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``utility``, ``age_years``, ``design_life_years``, ``hazard``,
        ``likelihood``, ``consequence``, ``risk_score`` (0–100), ``reason``; input order.
    """
    _need(utilities, ["segment_id", "utility"], "utilities")
    p = _merged_params(params)
    sid = utilities["segment_id"].astype(str).to_numpy()
    util = utilities["utility"].astype(str).to_numpy()
    mat = utilities["material"].astype("string").fillna("") if "material" in utilities else pd.Series("", index=utilities.index)
    year = (pd.to_numeric(utilities["install_year"], errors="coerce").to_numpy(float)
            if "install_year" in utilities else np.full(len(sid), np.nan))
    age = np.maximum(as_of_year - year, 0)
    life = mat.map(p["design_life_years"]).to_numpy(float, na_value=np.nan)
    life = np.where(np.isnan(life), pd.Series(util).map(p["design_life_by_utility"]).to_numpy(float, na_value=40.0), life)
    l_age = np.where(np.isnan(age), p["unknown_age_likelihood"], np.clip(age / life, 0, 1))
    hazard, reasons = _hazards(utilities.assign(material=mat), age, p["hazard_rules"])
    cond = (utilities["condition"].astype("string") if "condition" in utilities
            else pd.Series(pd.NA, index=utilities.index, dtype="string"))
    l_cond = cond.map(p["condition_likelihood"]).to_numpy(float, na_value=np.nan)
    l_cond = np.nan_to_num(l_cond, nan=p["unknown_condition_likelihood"])
    l_haz = np.where(hazard, p["hazard_likelihood"], 0.0)
    likelihood = 1 - (1 - l_age) * (1 - l_haz) * (1 - l_cond)
    hh = pd.Series(sid).map(pd.Series(households_served) if households_served is not None else {})
    c_hh = np.clip(hh.to_numpy(float, na_value=0.0) / p["households_full"], 0, 1)
    road = pd.Series(sid).map(pd.Series(road_classes) if road_classes is not None else {})
    c_road = road.map(p["road_class_weight"]).to_numpy(float, na_value=np.nan)
    c_road = np.nan_to_num(c_road, nan=p["unknown_road_weight"])
    c_util = pd.Series(util).map(p["utility_weight"]).to_numpy(float, na_value=0.5)
    w = p["consequence_weights"]
    consequence = (w["households"] * c_hh + w["road"] * c_road + w["utility"] * c_util) / sum(w.values())
    floor = p["consequence_floor"]
    score = 100 * likelihood * (floor + (1 - floor) * consequence)
    texts = []
    for i in range(len(sid)):
        parts = list(reasons[i])
        if np.isnan(age[i]):
            parts.append("敷设年份不详")
        elif age[i] >= life[i]:
            parts.append(f"管龄{age[i]:.0f}年，超过设计年限{life[i]:.0f}年")
        else:
            parts.append(f"管龄{age[i]:.0f}年/设计年限{life[i]:.0f}年")
        if l_cond[i] >= 0.6:
            parts.append(f"管况{_CONDITION_ZH.get(str(cond.iloc[i]), cond.iloc[i])}")
        if c_hh[i] > 0:
            parts.append(f"服务约{hh.iloc[i]:.0f}户")
        if isinstance(road.iloc[i], str):
            parts.append(f"位于{_ROAD_ZH.get(road.iloc[i], road.iloc[i])}")
        texts.append("；".join(parts))
    return pd.DataFrame({
        "segment_id": sid, "utility": util, "age_years": age, "design_life_years": life,
        "hazard": hazard, "likelihood": likelihood.round(4), "consequence": consequence.round(4),
        "risk_score": score.round(1), "reason": texts,
    })


# --------------------------------------------------------------------------- upgrade plan


def _shares(funding_shares: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    shares = {k: dict(v) for k, v in DEFAULT_FUNDING_SHARES.items()}
    for ut, val in (funding_shares or {}).items():
        shares[ut] = {"utility": 0.0, "government": 0.0, "residents": 0.0, **val}
        if abs(sum(shares[ut].values()) - 1) > 1e-6 or min(shares[ut].values()) < 0:
            raise ProfileError(f"funding shares of {ut!r} must be ≥ 0 and sum to 1: {shares[ut]}")
    return shares


def _units(units: gpd.GeoDataFrame, packages: gpd.GeoDataFrame | None,
           plan_years: Mapping[str, int] | None) -> gpd.GeoDataFrame:
    """Renovation units (compounds or packages) with unit_id, package_id, plan_year, items."""
    if "compound_id" in units.columns:
        u = units
        if "eligible" in u.columns:
            u = u[u["eligible"].fillna(False).astype(bool)]
        u = u.assign(unit_id=u["compound_id"].astype(str))
        if "package_id" not in u.columns and packages is not None:
            _need(packages, ["package_id"], "packages")
            pts = gpd.GeoDataFrame(geometry=u.geometry.representative_point(), crs=u.crs)
            hit = gpd.sjoin(pts, packages[["package_id", "geometry"]], predicate="within")
            hit = hit[~hit.index.duplicated()]
            u = u.assign(package_id=hit["package_id"].reindex(u.index))
    else:
        _need(units, ["package_id"], "packages")
        u = units.assign(unit_id=units["package_id"].astype(str))
    u = u.copy()
    u["package_id"] = u["package_id"].astype("string").fillna("") if "package_id" in u else ""
    if "plan_year" not in u.columns and packages is not None and "plan_year" in packages.columns:
        u["plan_year"] = u["package_id"].map(dict(zip(packages["package_id"].astype(str),
                                                      packages["plan_year"], strict=True)))
    if plan_years:
        u["plan_year"] = u["package_id"].map({str(k): v for k, v in plan_years.items()})
    u["plan_year"] = pd.to_numeric(u.get("plan_year", pd.Series(pd.NA, index=u.index)),
                                   errors="coerce").astype("Int64")
    u["items"] = u["items"].fillna("").astype(str) if "items" in u.columns else ""
    u["households"] = (pd.to_numeric(u["households"], errors="coerce").fillna(0)
                       if "households" in u.columns else 0.0)
    return u.reset_index(drop=True)


def _item_wants(items: pd.Series, utility: pd.Series) -> np.ndarray:
    """Whether the unit's items (comma-separated codes) include the utility's item."""
    out = np.zeros(len(items), bool)
    for code, utils in _ITEM_UTILITIES.items():
        has = items.str.contains(rf"(?:^|[,，\s]){code}(?:$|[,，\s])", regex=True).to_numpy()
        out |= has & utility.isin(utils).to_numpy()
    return out


def utility_upgrade_plan(compounds_assessed_or_packages: gpd.GeoDataFrame,
                         utilities: gpd.GeoDataFrame, packages: gpd.GeoDataFrame | None = None,
                         plan_years: Mapping[str, int] | None = None, risk: pd.DataFrame | None = None,
                         unit_costs: Mapping[str, float] | None = None,
                         funding_shares: Mapping[str, Mapping[str, float]] | None = None,
                         distance_m: float = 30.0, min_score: float = 50.0,
                         as_of_year: int | None = None, traces: pd.DataFrame | None = None,
                         risk_params: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """Segments each utility company should renew, per package and plan year (layer ``pipe_upgrades``).

    A segment within ``distance_m`` of a selected compound (eligible, when the column is
    there) or package polygon is renewed when it is hazardous, scores at least
    ``min_score``, or lies inside a compound whose ``items`` include the utility's item
    (``water_supply``, ``drainage``, ``gas_pipe``, ``power_supply``, ``low_voltage``).
    Segments of ``traces`` (upstream/downstream of a package, :func:`trace_package`) are
    added as ``scope="trunk"`` when hazardous or at least ``min_score``. A segment near
    several packages goes to the earliest plan year, then the smallest package id.

    Parameters
    ----------
    compounds_assessed_or_packages
        Compounds after the survey (``compound_id``, ``households``, optional ``eligible``,
        ``items``, ``package_id``, ``plan_year``) or package polygons (``package_id``,
        optional ``plan_year``, ``items``).
    utilities
        Segments (canonical fields); same metric CRS.
    packages
        Optional package polygons: gives compounds their ``package_id`` (by location) and
        ``plan_year`` when the compounds lack them.
    plan_years
        Optional package_id → plan year, overriding the columns.
    risk
        Output of :func:`renewal_risk`; computed here when None (households near each
        segment, no road classes) for ``as_of_year`` (default: the earliest plan year,
        else 2022).
    unit_costs
        Yuan per metre per utility, over :data:`DEFAULT_UNIT_COSTS`.
    funding_shares
        Per utility ``{"utility": .., "government": .., "residents": ..}`` summing to 1, over
        :data:`DEFAULT_FUNDING_SHARES`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id``, ``utility``, ``utility_zh``, ``owner``, ``package_id``, ``plan_year``
        (Int64, NA when unknown), ``scope`` (package/trunk), ``compound_ids``,
        ``households``, ``material``, ``install_year``, ``length_m``, ``risk_score``,
        ``hazard``, ``reason``, ``est_cost_yuan``, ``funding_utility_yuan``,
        ``funding_government_yuan``, ``funding_residents_yuan``; the segments' geometry.
    """
    _need(utilities, ["segment_id", "utility"], "utilities")
    units = _units(compounds_assessed_or_packages, packages, plan_years)
    pairs = pipes_near_compounds(units, utilities, distance_m, id_field="unit_id", lengths="none")
    seg = utilities.assign(segment_id=utilities["segment_id"].astype(str)).set_index("segment_id",
                                                                                      drop=False)
    if risk is None:
        years = units["plan_year"].dropna()
        year = as_of_year or (int(years.min()) if len(years) else 2022)
        served = pairs.merge(units[["unit_id", "households"]], on="unit_id").groupby(
            "segment_id")["households"].sum()
        risk = renewal_risk(seg.reset_index(drop=True), year, served, None, risk_params)
    rk = risk.assign(segment_id=risk["segment_id"].astype(str)).set_index("segment_id")
    u_idx = units.set_index("unit_id")
    df = pairs.join(u_idx[["package_id", "plan_year", "items"]], on="unit_id")
    df = df.join(rk[["risk_score", "hazard", "reason"]], on="segment_id")
    inside = shapely.intersects(u_idx.geometry.to_numpy()[u_idx.index.get_indexer(df["unit_id"])],
                                seg.geometry.to_numpy()[seg.index.get_indexer(df["segment_id"])])
    wanted = df["hazard"].fillna(False).to_numpy(bool) | (df["risk_score"].fillna(0) >= min_score)
    wanted |= inside & _item_wants(df["items"], df["utility"])
    df = df[wanted].assign(scope="package")
    if traces is not None and len(traces):
        tr = traces[traces["role"].isin(["upstream", "downstream"])][["package_id", "segment_id"]]
        tr = tr.astype(str).join(rk[["risk_score", "hazard", "reason"]], on="segment_id")
        tr = tr[tr["hazard"].fillna(False).astype(bool) | (tr["risk_score"].fillna(0) >= min_score)]
        pyear = units.groupby("package_id")["plan_year"].min()
        tr = tr.assign(unit_id="", scope="trunk", plan_year=tr["package_id"].map(pyear),
                       utility=seg["utility"].reindex(tr["segment_id"]).astype(str).to_numpy())
        df = pd.concat([df, tr], ignore_index=True)
    return _plan_frame(df, seg, units, unit_costs, funding_shares, utilities.crs)


def _plan_frame(df: pd.DataFrame, seg: gpd.GeoDataFrame, units: pd.DataFrame,
                unit_costs: Mapping[str, float] | None,
                funding_shares: Mapping[str, Mapping[str, float]] | None, crs: Any) -> gpd.GeoDataFrame:
    costs = {**DEFAULT_UNIT_COSTS, **(unit_costs or {})}
    shares = _shares(funding_shares)
    df = df.assign(_year=df["plan_year"].fillna(9999), _scope=(df["scope"] == "trunk").astype(int))
    df = df.sort_values(["segment_id", "_scope", "_year", "package_id", "unit_id"], kind="stable")
    first = df.drop_duplicates("segment_id").set_index("segment_id")
    near = df[df["package_id"].to_numpy() == first["package_id"].reindex(df["segment_id"]).to_numpy()]
    near = near[near["unit_id"] != ""]
    compound_ids = near.groupby("segment_id")["unit_id"].agg(lambda s: ",".join(sorted(set(s))))
    hh = units.set_index("unit_id")["households"]
    households = near.drop_duplicates(["segment_id", "unit_id"]).assign(
        h=lambda d: d["unit_id"].map(hh)).groupby("segment_id")["h"].sum()
    ids = first.index
    s = seg.loc[ids]
    length = shapely.length(s.geometry.to_numpy())
    util = s["utility"].astype(str)
    cost = length * util.map(costs).fillna(0).to_numpy(float)
    out = gpd.GeoDataFrame({
        "segment_id": ids.to_numpy(), "utility": util.to_numpy(),
        "utility_zh": util.map(_LABELS_ZH).fillna(util).to_numpy(),
        "owner": (s["owner"].astype("string") if "owner" in s else pd.Series(pd.NA, index=s.index,
                                                                             dtype="string"))
        .where(lambda o: o.str.strip() != "").fillna(util.map(DEFAULT_OWNERS)).fillna("").to_numpy(),
        "package_id": first["package_id"].astype(str).to_numpy(),
        "plan_year": pd.array(first["plan_year"].to_numpy(), dtype="Int64"),
        "scope": first["scope"].to_numpy(),
        "compound_ids": compound_ids.reindex(ids).fillna("").to_numpy(),
        "households": households.reindex(ids).fillna(0).astype(int).to_numpy(),
        "material": s["material"].to_numpy() if "material" in s else None,
        "install_year": s["install_year"].to_numpy() if "install_year" in s else None,
        "length_m": length.round(2),
        "risk_score": first["risk_score"].to_numpy(float),
        "hazard": first["hazard"].fillna(False).astype(bool).to_numpy(),
        "reason": first["reason"].fillna("").to_numpy(),
        "est_cost_yuan": cost.round(0),
    }, geometry=s.geometry.to_numpy(), crs=crs)
    for party in ("utility", "government", "residents"):
        share = util.map({k: v[party] for k, v in shares.items()}).fillna(0).to_numpy(float)
        out.insert(len(out.columns) - 1, f"funding_{party}_yuan", (cost * share).round(0))
    out = out.sort_values(["owner", "plan_year", "package_id", "utility", "segment_id"],
                          kind="stable", na_position="last").reset_index(drop=True)
    logger.info("pipe upgrades: %d segments, %.1f km, %.0f yuan", len(out),
                out["length_m"].sum() / 1000, out["est_cost_yuan"].sum())
    return out


# --------------------------------------------------------------------------- joint trenches


def _segment_roads(pipe_upgrades: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, buffer_m: float,
                   along_share: float) -> pd.DataFrame:
    """(upgrade row, road row) pairs: the segment runs along the road (share within buffer)."""
    segs = pipe_upgrades.geometry.to_numpy()
    rgeom = roads.geometry.to_numpy()
    si, ri = shapely.STRtree(rgeom).query(segs, predicate="dwithin", distance=buffer_m)
    zone = shapely.buffer(rgeom, buffer_m, quad_segs=8)
    along = shapely.length(shapely.intersection(segs[si], zone[ri]))
    total = np.maximum(shapely.length(segs[si]), 1e-9)
    keep = (along / total >= along_share) | (along >= 20.0)
    df = pd.DataFrame({"s": si[keep], "r": ri[keep], "along": along[keep]})
    return df.sort_values(["s", "along", "r"], ascending=[True, False, True]).drop_duplicates("s")


def _road_works(roads: gpd.GeoDataFrame, packages: gpd.GeoDataFrame | None,
                compounds: gpd.GeoDataFrame | None, near_m: float) -> set[tuple[str, int]]:
    """(package_id, road row) where the compounds' own road works (items mention road) dig."""
    out: set[tuple[str, int]] = set()
    tree = shapely.STRtree(roads.geometry.to_numpy())
    for layer in (packages, compounds):
        if layer is None or "items" not in layer.columns or "package_id" not in layer.columns:
            continue
        has = layer[layer["items"].fillna("").astype(str).str.contains(_ROAD_ITEM)]
        if not len(has):
            continue
        qi, ri = tree.query(has.geometry.to_numpy(), predicate="dwithin", distance=near_m)
        pk = has["package_id"].astype(str).to_numpy()
        out |= set(zip(pk[qi].tolist(), ri.tolist(), strict=True))
    return out


def _clip_road(road: Any, package: Any) -> Any:
    """The road's part inside the package polygon, as (multi)lines; the whole road if none."""
    if package is None or road is None:
        return road
    parts = shapely.get_parts(shapely.intersection(road, package))
    lines = [p for p in parts if p.geom_type == "LineString" and p.length > 0]
    if not lines:
        return road
    return lines[0] if len(lines) == 1 else shapely.multilinestrings(lines)


def _schedule(parties: list[str], year: Any, length_m: float, start: str, end: str,
              durations: Mapping[str, int]) -> dict[str, Any]:
    scale = max(1.0, length_m / 500.0)
    days = [max(1, round(durations.get(p, 15) * scale)) for p in parties]
    if pd.isna(year):
        offset, parts = 0, []
        for p, d in zip(parties, days, strict=True):
            parts.append(f"{_LABELS_ZH[p]} 第{offset + 1}–{offset + d}天")
            offset += d
        return {"schedule_zh": "；".join(parts), "window_start": "", "window_end": "",
                "overrun": False}
    m, d0 = (int(x) for x in start.split("-"))
    em, ed = (int(x) for x in end.split("-"))
    day = date(int(year), m, d0)
    parts = []
    for p, d in zip(parties, days, strict=True):
        last = day + timedelta(days=d - 1)
        parts.append(f"{_LABELS_ZH[p]} {day:%m-%d}—{last:%m-%d}")
        day = last + timedelta(days=1)
    finish = day - timedelta(days=1)
    return {"schedule_zh": "；".join(parts), "window_start": f"{int(year)}-{m:02d}-{d0:02d}",
            "window_end": finish.isoformat(), "overrun": finish > date(int(year), em, ed)}


def _conflicts(trench: Mapping[str, Any], own_plans: pd.DataFrame | None) -> str:
    if own_plans is None or not len(own_plans) or pd.isna(trench["plan_year"]):
        return ""
    hit = np.zeros(len(own_plans), bool)
    if "segment_id" in own_plans.columns:
        hit |= own_plans["segment_id"].astype(str).isin(trench["_segments"]).to_numpy()
    if "road_id" in own_plans.columns:
        hit |= (own_plans["road_id"].astype(str) == trench["road_id"]).to_numpy()
    rows = own_plans[hit]
    years = pd.to_numeric(rows["plan_year"], errors="coerce")
    rows = rows[years.notna() & (years != trench["plan_year"])]
    texts = []
    for _, r in rows.iterrows():
        who = _LABELS_ZH.get(str(r.get("utility", "")), str(r.get("utility", "") or "管线单位"))
        what = f"管段{r['segment_id']}" if pd.notna(r.get("segment_id")) else "本路"
        texts.append(f"{who}自有计划{int(r['plan_year'])}年在{what}施工（本片区{int(trench['plan_year'])}年）")
    return "；".join(dict.fromkeys(texts))


def joint_trenches(pipe_upgrades: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                   packages: gpd.GeoDataFrame | None = None, buffer_m: float = 8.0,
                   own_plans: pd.DataFrame | None = None, compounds: gpd.GeoDataFrame | None = None,
                   start: str = "03-01", end: str = "12-31",
                   durations_days: Mapping[str, int] | None = None,
                   along_share: float = 0.5, road_works_m: float = 30.0) -> gpd.GeoDataFrame:
    """Roads dug by two or more parties in one package (统筹施工, layer ``joint_trenches``).

    A segment of ``pipe_upgrades`` lies on a road when at least ``along_share`` of it (or
    20 m) is within ``buffer_m`` of the road's centre line. The compounds' own road works
    join as a party (``road``) on roads within ``road_works_m`` of a package polygon or a
    compound whose ``items`` mention road (``roads``/道路); a road section with works of
    two or more parties is a joint trench.

    Parameters
    ----------
    pipe_upgrades
        From :func:`utility_upgrade_plan` (``segment_id``, ``utility``, ``package_id``,
        ``plan_year``; line geometry).
    roads
        ``road_id``, ``road_class``, optional ``name``; lines; same CRS.
    packages
        Optional package polygons (``package_id``, optional ``items``): trench geometry
        is the road clipped to the package.
    buffer_m
        Half-width searched around the road centre line.
    own_plans
        Optional utilities' own renewal plans: ``plan_year`` with ``segment_id`` and/or
        ``road_id`` (optional ``utility``); a different year on a trench's road or
        segments is a conflict.
    compounds
        Optional compounds with ``package_id`` and ``items`` (road works).
    start, end
        Works start after ``start`` (MM-DD) of the plan year; basic works done by ``end``
        (seed §六(四): water, power, road, gas basically complete by 12-31).
    durations_days
        Working days per party for up to 500 m, over :data:`TRENCH_DURATIONS_DAYS`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``trench_id``, ``package_id``, ``road_id``, ``road_name``, ``road_class``,
        ``plan_year``, ``parties`` (codes in :data:`TRENCH_ORDER`), ``order_zh``,
        ``n_parties``, ``segment_ids``, ``length_m``, ``schedule_zh``, ``window_start``,
        ``window_end``, ``overrun``, ``conflicts``, ``has_conflict``; road geometry.
    """
    _need(pipe_upgrades, ["segment_id", "utility", "package_id"], "pipe_upgrades")
    _need(roads, ["road_id"], "roads")
    _same_crs(pipe_upgrades, roads, "pipe_upgrades and roads")
    _check_metric(roads, "roads")
    durations = {**TRENCH_DURATIONS_DAYS, **(durations_days or {})}
    pu = pipe_upgrades.reset_index(drop=True)
    sr = _segment_roads(pu, roads, buffer_m, along_share)
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    years = pu["plan_year"] if "plan_year" in pu else pd.Series(pd.NA, index=pu.index)
    for s, r in zip(sr["s"].tolist(), sr["r"].tolist(), strict=True):
        g = groups.setdefault((str(pu.at[s, "package_id"]), r), {"parties": set(), "segs": [],
                                                                  "years": []})
        g["parties"].add(str(pu.at[s, "utility"]))
        g["segs"].append(str(pu.at[s, "segment_id"]))
        g["years"].append(years.iloc[s])
    for key in _road_works(roads, packages, compounds, road_works_m):
        if key in groups:
            groups[key]["parties"].add("road")
    rid = roads["road_id"].astype(str).to_numpy()
    pgeom = (dict(zip(packages["package_id"].astype(str), packages.geometry, strict=True))
             if packages is not None else {})
    rows = []
    for (pkg, r), g in sorted(groups.items(), key=lambda kv: (kv[0][0], rid[kv[0][1]])):
        if len(g["parties"]) < 2:
            continue
        parties = [p for p in TRENCH_ORDER if p in g["parties"]]
        yrs = pd.Series(g["years"]).dropna()
        year = int(yrs.min()) if len(yrs) else pd.NA
        geom = _clip_road(roads.geometry.iloc[r], pgeom.get(pkg))
        row = {"trench_id": f"JT-{pkg}-{rid[r]}", "package_id": pkg, "road_id": rid[r],
               "road_name": str(roads["name"].iloc[r]) if "name" in roads else "",
               "road_class": str(roads["road_class"].iloc[r]) if "road_class" in roads else "",
               "plan_year": year, "parties": ",".join(parties),
               "order_zh": "→".join(_LABELS_ZH[p] for p in parties), "n_parties": len(parties),
               "segment_ids": ",".join(sorted(g["segs"])), "_segments": set(g["segs"]),
               "length_m": round(float(geom.length), 2), "geometry": geom}
        row.update(_schedule(parties, year, row["length_m"], start, end, durations))
        row["conflicts"] = _conflicts(row, own_plans)
        row["has_conflict"] = bool(row["conflicts"])
        if yrs.nunique() > 1:
            row["conflicts"] = "；".join(filter(None, [row["conflicts"],
                                                      f"片区内管段计划年度不一：{sorted(set(yrs))}"]))
            row["has_conflict"] = True
        rows.append(row)
    cols = ["trench_id", "package_id", "road_id", "road_name", "road_class", "plan_year",
            "parties", "order_zh", "n_parties", "segment_ids", "length_m", "schedule_zh",
            "window_start", "window_end", "overrun", "conflicts", "has_conflict"]
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=[*cols, "geometry"]), geometry="geometry",
                           crs=pipe_upgrades.crs)
    out["plan_year"] = pd.array(out["plan_year"], dtype="Int64")
    logger.info("joint trenches: %d road sections, %d with conflicts", len(out),
                int(out["has_conflict"].sum()))
    return out


# --------------------------------------------------------------------------- workbooks

_UPGRADE_HEADERS: dict[str, str] = {
    "segment_id": "管段编号", "utility_zh": "管线类型", "owner": "权属单位", "package_id": "片区编号",
    "plan_year": "计划年度", "scope": "范围", "compound_ids": "涉及小区", "households": "涉及户数",
    "material": "材质", "install_year": "敷设年份", "length_m": "长度(米)",
    "risk_score": "风险评分", "hazard": "是否隐患", "reason": "改造理由", "est_cost_yuan": "估算投资(元)",
    "funding_utility_yuan": "管线单位出资(元)", "funding_government_yuan": "政府补助(元)",
    "funding_residents_yuan": "居民出资(元)",
}
_TRENCH_HEADERS: dict[str, str] = {
    "trench_id": "统筹编号", "package_id": "片区编号", "road_id": "道路编号", "road_name": "道路名称",
    "road_class": "道路等级", "plan_year": "计划年度", "order_zh": "建议施工顺序",
    "segment_ids": "涉及管段", "length_m": "长度(米)", "schedule_zh": "施工安排",
    "window_start": "开工日期", "window_end": "完工日期", "overrun": "是否超出年度期限",
    "conflicts": "计划冲突",
}
_FORMULA_START = ("=", "+", "-", "@")


def _safe_filename(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("._") or "未注明单位"


def _write_sheet(ws: Any, frame: pd.DataFrame, headers: Mapping[str, str]) -> None:
    cols = [c for c in headers if c in frame.columns]
    ws.append([headers[c] for c in cols])
    for rec in frame[cols].itertuples(index=False):
        ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                   v.item() if isinstance(v, np.generic) else v for v in rec])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True
    ws.freeze_panes = "A2"
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(headers[c]) * 2 + 4))


def write_company_workbooks(pipe_upgrades: pd.DataFrame, joint_trenches: pd.DataFrame | None,
                            out_dir: str | Path) -> dict[str, Path]:
    """Write one Excel workbook per utility company (管线单位), headers in Chinese.

    Sheets: 管线改造清单 (the company's segments), 统筹施工 (joint trenches on which it
    digs) and 汇总 (totals per plan year and package). Strings starting with ``= + - @``
    are written as text (no formula injection). Each file is written to a temporary file
    beside the target and renamed into place.

    Parameters
    ----------
    pipe_upgrades
        From :func:`utility_upgrade_plan`.
    joint_trenches
        From :func:`joint_trenches`, or None.
    out_dir
        Folder, created when missing.

    Returns
    -------
    dict
        Owner → path of its workbook ``管线改造计划_<owner>.xlsx``.

    Raises
    ------
    OutputError
        The folder or a file cannot be written.
    """
    from openpyxl import Workbook

    from yulin_gis.io import atomic_path

    out: dict[str, Path] = {}
    owners = sorted(pipe_upgrades["owner"].fillna("").astype(str).unique())
    for owner in owners:
        mine = pipe_upgrades[pipe_upgrades["owner"].fillna("").astype(str) == owner]
        wb = Workbook()
        ws = wb.active
        ws.title = "管线改造清单"
        _write_sheet(ws, mine, _UPGRADE_HEADERS)
        ws2 = wb.create_sheet("统筹施工")
        if joint_trenches is not None and len(joint_trenches):
            ids = set(mine["segment_id"].astype(str))
            hit = [bool(ids.intersection(s.split(",")))
                   for s in joint_trenches["segment_ids"].astype(str)]
            _write_sheet(ws2, joint_trenches[hit], _TRENCH_HEADERS)
        else:
            _write_sheet(ws2, pd.DataFrame(columns=list(_TRENCH_HEADERS)), _TRENCH_HEADERS)
        money = ["length_m", "est_cost_yuan", "funding_utility_yuan", "funding_government_yuan",
                 "funding_residents_yuan"]
        summary = (mine.assign(plan_year=mine["plan_year"].astype("string").fillna("未定"))
                   .groupby(["plan_year", "package_id", "utility_zh"], sort=True)
                   .agg(segments=("segment_id", "size"), **{c: (c, "sum") for c in money})
                   .reset_index())
        _write_sheet(wb.create_sheet("汇总"), summary,
                     {"plan_year": "计划年度", "package_id": "片区编号", "utility_zh": "管线类型",
                      "segments": "管段数", **{c: _UPGRADE_HEADERS[c] for c in money}})
        target = Path(out_dir) / f"管线改造计划_{_safe_filename(owner)}.xlsx"
        try:
            with atomic_path(target) as tmp:
                wb.save(tmp)
        except OSError as exc:
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"{target}: cannot write workbook ({exc})") from exc
        out[owner] = target
        logger.info("workbook for %s: %s (%d segments)", owner, target, len(mine))
    return out
