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
