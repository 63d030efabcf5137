"""Joint trenches (统筹施工): roads dug by two or more parties in one package.

The seed (玉政办发〔2022〕13号 §五) asks the utilities to agree a co-ordinated
construction plan so that a street is dug once. :func:`joint_trenches` gives the
``joint_trenches`` layer: the road sections, the suggested digging order
(:data:`TRENCH_ORDER`), the window in the plan year and conflicts with the utilities' own
plans (re-exported by :mod:`yulin_gis.utilities._upgrades`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from yulin_gis.crs import require_metric, require_same_crs
from yulin_gis.utilities._common import _LABELS_ZH, _need

__all__ = [
    "TRENCH_DURATIONS_DAYS",
    "TRENCH_ORDER",
    "joint_trenches",
]

logger = logging.getLogger(__name__)

TRENCH_ORDER: tuple[str, ...] = (
    "storm", "sewer", "combined_sewer", "gas", "water_supply", "power", "telecom", "cable_tv", "road",
)
"""The suggested digging order — drainage (deepest) first, then gas, water, power, telecom and
cable TV, the road surface last (建办城〔2021〕50号: drainage and gas first)."""

TRENCH_DURATIONS_DAYS: dict[str, int] = {
    "storm": 30, "sewer": 30, "combined_sewer": 40, "gas": 20, "water_supply": 20, "power": 15,
    "telecom": 10, "cable_tv": 10, "road": 20,
}
"""Working days per party for a trench up to 500 m (scaled by length beyond); typical, editable."""

_ROAD_ITEM = re.compile(r"road|道路", re.IGNORECASE)


def _segment_roads(pipe_upgrades: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, buffer_m: float,
                   along_share: float) -> pd.DataFrame:
    """(upgrade row, road row) pairs: the segment runs along the road (share within buffer).

    ``along`` is the length of the segment inside the road's buffer polygon
    (``quad_segs=8``). Straight segments against straight roads (a convex buffer) get it in
    closed form (:func:`_along_convex`); GEOS's overlay (``shapely.intersection``) gives it
    for the other pairs and for every pair of a segment whose choice is within
    :data:`_DECIDE_M` of a threshold or of a tie, so the chosen road is GEOS's.
    """
    segs = pipe_upgrades.geometry.to_numpy()
    rgeom = roads.geometry.to_numpy()
    si, ri = shapely.STRtree(rgeom).query(segs, predicate="dwithin", distance=buffer_m)
    zone = np.full(len(rgeom), None, dtype=object)
    used = np.unique(ri)
    zone[used] = shapely.buffer(rgeom[used], buffer_m, quad_segs=8)
    total = np.maximum(shapely.length(segs[si]), 1e-9)
    along = _along_convex(segs, rgeom, zone, si, ri)
    for exact in (np.isnan(along), None):
        if exact is None:  # then every pair of a segment whose choice is close
            exact = _undecided(si, along, total, along_share)
        along[exact] = shapely.length(shapely.intersection(segs[si[exact]], zone[ri[exact]]))
    keep = (along / total >= along_share) | (along >= 20.0)
    df = pd.DataFrame({"s": si[keep], "r": ri[keep], "along": along[keep]})
    return df.sort_values(["s", "along", "r"], ascending=[True, False, True]).drop_duplicates("s")


_DECIDE_M = 1e-4
"""Closed-form lengths closer than this (m) to a threshold or to a rival road's are
recomputed by GEOS (the closed form agrees with GEOS's overlay to ~1e-9 m)."""


def _undecided(si: np.ndarray, along: np.ndarray, total: np.ndarray, share: float) -> np.ndarray:
    """Pairs whose segment's choice of road could differ with GEOS's lengths: every pair of
    a segment with a length near the thresholds or two candidates near the top."""
    eps = _DECIDE_M
    a = np.nan_to_num(along, nan=np.inf)
    near = (np.abs(a - share * total) <= eps) | (np.abs(a - 20.0) <= eps)
    cand = (a >= share * total - eps) | (a >= 20.0 - eps)
    score = np.where(cand, a, -np.inf)
    order = np.lexsort((-score, si))
    s_o, sc_o = si[order], score[order]
    first = np.r_[True, s_o[1:] != s_o[:-1]]
    top = np.maximum.accumulate(np.where(first, np.arange(len(s_o)), 0))
    rival = ~first & np.isfinite(sc_o) & (sc_o >= sc_o[top] - 2 * eps)
    bad = np.zeros(len(si), bool)
    bad[order[rival]] = True
    bad |= near & cand
    flagged = np.unique(si[bad])
    return np.isin(si, flagged)


def _along_convex(segs: np.ndarray, rgeom: np.ndarray, zone: np.ndarray, si: np.ndarray,
                  ri: np.ndarray, chunk: int = 20_000) -> np.ndarray:
    """Length of each straight segment inside the (convex) buffer of a straight road,
    clipped against the buffer polygon's edges (Cyrus–Beck); NaN for other pairs."""
    out = np.full(len(si), np.nan)
    seg_n = shapely.get_num_coordinates(segs)
    road_n = shapely.get_num_coordinates(rgeom)
    ok = (seg_n[si] == 2) & (road_n[ri] == 2) & (shapely.get_type_id(segs[si]) == 1)
    ok &= shapely.get_type_id(rgeom[ri]) == 1
    poly_ok = np.zeros(len(zone), bool)
    roads_used = np.unique(ri[ok])
    poly_ok[roads_used] = (shapely.get_type_id(zone[roads_used]) == 3) & (
        shapely.get_num_interior_rings(zone[roads_used]) == 0)
    ok &= poly_ok[ri]
    rows = np.flatnonzero(ok)
    if not len(rows):
        return out
    edges, starts, counts = _ring_edges(zone, roads_used)
    p = shapely.get_coordinates(segs[si[rows]]).reshape(-1, 2, 2)
    length = shapely.length(segs[si[rows]])
    for lo in range(0, len(rows), chunk):
        sl = slice(lo, lo + chunk)
        out[rows[sl]] = _clip_interval(edges, starts, counts, ri[rows[sl]], p[sl]) * length[sl]
    return out


def _ring_edges(zone: np.ndarray, used: np.ndarray
                ) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Edges of the polygons' exterior rings, oriented counter-clockwise: start point,
    direction and length per edge (``ax, ay, ex, ey, elen``), first edge and count per ring."""
    rings = np.full(len(zone), None, dtype=object)
    rings[used] = shapely.get_exterior_ring(zone[used])
    xy, owner = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[owner[1:] != owner[:-1], True]  # closing vertex: no edge starts there
    ax, ay = xy[:-1, 0], xy[:-1, 1]
    ex, ey = xy[1:, 0] - ax, xy[1:, 1] - ay
    keep = ~last[:-1]
    area2 = np.bincount(owner[:-1][keep], (ax * xy[1:, 1] - xy[1:, 0] * ay)[keep],
                        minlength=len(zone))
    flip = np.where(area2 < 0, -1.0, 1.0)[owner[:-1][keep]]  # inside: left of each edge
    ax, ay, ex, ey = ax[keep], ay[keep], ex[keep] * flip, ey[keep] * flip
    counts = np.bincount(owner[:-1][keep], minlength=len(zone))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    return (ax, ay, ex, ey, np.hypot(ex, ey)), starts, counts


def _clip_interval(edges: tuple[np.ndarray, ...], starts: np.ndarray, counts: np.ndarray,
                   r: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Share of each segment ``p[k]`` (two points) inside convex ring ``r[k]``;
    NaN when the segment runs along an edge (in or out by a rounding error)."""
    ne = counts[r]
    k = np.repeat(np.arange(len(r)), ne)
    grp = np.r_[0, np.cumsum(ne)[:-1]]
    vi = np.repeat(starts[r] - grp, ne) + np.arange(len(k))
    ax, ay, ex, ey, elen = (e[vi] for e in edges)
    p0x, p0y = p[:, 0, 0], p[:, 0, 1]
    dx, dy = p[:, 1, 0] - p0x, p[:, 1, 1] - p0y
    h0 = ex * (p0y[k] - ay) - ey * (p0x[k] - ax)
    hd = ex * dy[k] - ey * dx[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -h0 / hd
    enter = np.where(hd > 0, t, -np.inf)
    leave = np.where(hd < 0, t, np.inf)
    never = (hd == 0) & (h0 < 0)
    along_edge = (np.abs(hd) <= 1e-9 * elen * np.hypot(dx, dy)[k]) & (np.abs(h0) <= 1e-6 * elen)
    t_lo = np.maximum(np.maximum.reduceat(enter, grp), 0.0)
    t_hi = np.minimum(np.minimum.reduceat(leave, grp), 1.0)
    inside = np.where(np.logical_or.reduceat(never, grp), 0.0, np.maximum(t_hi - t_lo, 0.0))
    return np.where(np.logical_or.reduceat(along_edge & (elen > 0), grp), np.nan, inside)


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


def joint_trenches(pipe_upgrades: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, *,
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
        From :func:`~yulin_gis.utilities._upgrades.utility_upgrade_plan` (``segment_id``, ``utility``, ``package_id``,
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
    require_same_crs(pipe_upgrades, roads, "pipe_upgrades and roads")
    require_metric(roads.crs, "roads")
    durations = {**TRENCH_DURATIONS_DAYS, **(durations_days or {})}
    pu = pipe_upgrades.reset_index(drop=True)
    sr = _segment_roads(pu, roads, buffer_m, along_share)
    g = _groups(pu, sr["s"].to_numpy(), sr["r"].to_numpy(), len(roads))
    road = np.zeros(len(g["pkg"]), bool)
    where = {key: i for i, key in enumerate(zip(g["pkg"].tolist(), g["r"].tolist(), strict=True))}
    for key in _road_works(roads, packages, compounds, road_works_m):
        if key in where:
            road[where[key]] = True
    rid = _texts(roads["road_id"])
    n_parties = g["n_utilities"] + (road & ~g["has_road"])
    order = sorted(np.flatnonzero(n_parties >= 2).tolist(),
                   key=lambda i: (g["pkg"][i], rid[g["r"][i]]))  # stable: first seen first
    pgeom = (dict(zip(packages["package_id"].astype(str), packages.geometry, strict=True))
             if packages is not None else {})
    rows = _trench_rows(g, np.array(order, np.int64), road, roads, rid, pgeom)
    for row in rows:
        row.update(_schedule(row["_parties"], row["plan_year"], row["length_m"], start, end,
                             durations))
        row["conflicts"] = _conflicts(row, own_plans)
        row["has_conflict"] = bool(row["conflicts"])
        if row["_mixed"]:
            row["conflicts"] = "；".join(filter(None, [row["conflicts"], row["_mixed"]]))
            row["has_conflict"] = True
    cols = ["trench_id", "package_id", "road_id", "road_name", "road_class", "plan_year",
            "parties", "order_zh", "n_parties", "segment_ids", "length_m", "schedule_zh",
            "window_start", "window_end", "overrun", "conflicts", "has_conflict"]
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=[*cols, "geometry"]), geometry="geometry",
                           crs=pipe_upgrades.crs)
    out["plan_year"] = pd.array(out["plan_year"], dtype="Int64")
    logger.info("joint trenches: %d road sections, %d with conflicts", len(out),
                int(out["has_conflict"].sum()))
    return out


def _texts(values: pd.Series) -> np.ndarray:
    """``str()`` of each value, as an object array."""
    return np.array([str(v) for v in values.to_numpy(dtype=object)], dtype=object)


def _groups(pu: pd.DataFrame, s: np.ndarray, r: np.ndarray, n_roads: int) -> dict[str, Any]:
    """The (package, road) groups of the segment–road pairs, in order of first appearance:
    package, road row, the segments' ids and plan years (in pair order), distinct utilities
    and which of :data:`TRENCH_ORDER` are among them."""
    pkg = _texts(pu["package_id"])[s]
    util = _texts(pu["utility"])[s]
    years = (pu["plan_year"] if "plan_year" in pu else pd.Series(pd.NA, index=pu.index))
    year = years.to_numpy(dtype=object)[s]
    codes, _ = pd.factorize(pkg)
    gid, _ = pd.factorize(codes.astype(np.int64) * max(n_roads, 1) + r)
    ng = int(gid.max()) + 1 if len(gid) else 0
    first = np.full(ng, len(gid), np.int64)
    np.minimum.at(first, gid, np.arange(len(gid)))
    ucode, uniq = pd.factorize(util)
    distinct = np.unique(gid.astype(np.int64) * max(len(uniq), 1) + ucode)
    present = np.zeros((ng, len(TRENCH_ORDER)), bool)
    slot = np.array([TRENCH_ORDER.index(u) if u in TRENCH_ORDER else -1 for u in uniq], np.int64)
    known = slot[ucode] >= 0
    present[gid[known], slot[ucode][known]] = True
    order = np.argsort(gid, kind="stable")
    ends = np.searchsorted(gid[order], np.arange(ng + 1))
    return {"pkg": pkg[first], "r": r[first], "segs": _texts(pu["segment_id"])[s][order],
            "years": year[order], "rows": s[order], "year_column": years, "ends": ends,
            "present": present,
            "n_utilities": np.bincount(distinct // max(len(uniq), 1), minlength=ng),
            "has_road": present[:, TRENCH_ORDER.index("road")]}


def _trench_rows(g: dict[str, Any], order: np.ndarray, road: np.ndarray,
                 roads: gpd.GeoDataFrame, rid: np.ndarray,
                 pgeom: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per trench (group of ``order``): ids, parties, year, segments, clipped road."""
    r = g["r"][order]
    pkg = g["pkg"][order]
    present = g["present"][order]
    present[:, TRENCH_ORDER.index("road")] |= road[order]
    names = _texts(roads["name"])[r] if "name" in roads else np.full(len(r), "", dtype=object)
    classes = (_texts(roads["road_class"])[r] if "road_class" in roads
               else np.full(len(r), "", dtype=object))
    geoms = _clip_roads(roads.geometry.to_numpy()[r],
                        np.array([pgeom.get(p) for p in pkg.tolist()], dtype=object))
    lengths = shapely.length(geoms).tolist()
    rows = []
    for i, grp in enumerate(order.tolist()):
        parties = [p for p, on in zip(TRENCH_ORDER, present[i], strict=True) if on]
        segs = g["segs"][g["ends"][grp]:g["ends"][grp + 1]].tolist()
        yrs = [y for y in g["years"][g["ends"][grp]:g["ends"][grp + 1]] if not pd.isna(y)]
        year = int(min(yrs)) if yrs else pd.NA
        rows.append({
            "trench_id": f"JT-{pkg[i]}-{rid[r[i]]}", "package_id": pkg[i], "road_id": rid[r[i]],
            "road_name": names[i], "road_class": classes[i], "plan_year": year,
            "parties": ",".join(parties), "order_zh": "→".join(_LABELS_ZH[p] for p in parties),
            "n_parties": len(parties), "segment_ids": ",".join(sorted(segs)),
            "_segments": set(segs), "_parties": parties, "length_m": round(lengths[i], 2),
            "geometry": geoms[i],
            "_mixed": (_mixed_years(g["year_column"], g["rows"][g["ends"][grp]:g["ends"][grp + 1]])
                       if len(set(yrs)) > 1 else "")})
    return rows


def _mixed_years(column: pd.Series, rows: np.ndarray) -> str:
    """The conflict text of a trench whose segments (``rows``) have different plan years."""
    yrs = pd.Series([column.iloc[i] for i in rows.tolist()]).dropna()
    return f"片区内管段计划年度不一：{sorted(set(yrs))}"


def _clip_roads(road: np.ndarray, package: np.ndarray) -> np.ndarray:
    """Each road's part inside its package polygon, as (multi)lines; the whole road where
    there is no package polygon or no line inside it."""
    out = road.copy()
    has = np.flatnonzero(~shapely.is_missing(road) & ~shapely.is_missing(package))
    if not len(has):
        return out
    parts, idx = shapely.get_parts(shapely.intersection(road[has], package[has]),
                                   return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    parts, idx = parts[keep], idx[keep]
    count = np.bincount(idx, minlength=len(has))
    single = np.flatnonzero(count == 1)
    out[has[single]] = parts[np.searchsorted(idx, single)]
    multi = np.flatnonzero(count > 1)
    if len(multi):
        sel = np.isin(idx, multi)
        out[has[multi]] = shapely.multilinestrings(parts[sel],
                                                   indices=np.searchsorted(multi, idx[sel]))
    return out
