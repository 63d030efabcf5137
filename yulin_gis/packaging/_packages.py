"""Contiguous renovation packages (连片改造片区/项目包).

Groups eligible compounds (小区) into packages that never cross the planning unit
(community 社区 by default, or sub-district 街道), are connected in the neighbour graph,
hold between a floor and a ceiling of households (optionally a ceiling of buildings and
of cost), are compact and group compounds of similar priority. Scattered small old
buildings ("插花式") are absorbed into a neighbouring package of the same unit when within
reach. Where a unit cannot meet the limits, the package is kept and flagged with the
reason (unit total below the floor, a single compound above the ceiling, an island with
no neighbour within reach): nothing is glued on silently and nothing is dropped.

The solver (:func:`partition_arrays`, in :mod:`yulin_gis.packaging._partition` and re-exported
here) works on integer arrays, every connected piece of every unit at once; its steps
(spanning forest, bottom-up cut at the floor, leftovers, restarts, local improvement)
are described there. Same input and ``seed`` give the same packages.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from yulin_gis.errors import Problem, SchemaError, ValidationError
from yulin_gis.io import missing_column_problems
from yulin_gis.packaging._adjacency import _adjacency, graph_arrays
from yulin_gis.packaging._partition import partition_arrays
from yulin_gis.packaging._partitions import package_by_partition, partition_key

__all__ = [
    "PackageResult",
    "make_packages",
    "partition_arrays",
    "polsby_popper",
]

logger = logging.getLogger(__name__)

REASON_NOT_ELIGIBLE = "not eligible"
REASON_UNIT_BELOW = "unit total below floor"
REASON_ISLAND = "island: no neighbour within reach"
REASON_PIECE_BELOW = "disconnected piece below floor: no neighbour within reach"
REASON_NEIGHBOURS_FULL = "below floor: neighbouring packages full"
REASON_SINGLE_ABOVE = "single compound above ceiling"
REASON_ABOVE = "above ceiling: no contiguous split"
REASON_NO_GEOMETRY = "no geometry: cannot be placed"


# --------------------------------------------------------------------------- metrics


def polsby_popper(geoms: Any, closing_m: float = 0.0) -> np.ndarray:
    """Polsby–Popper compactness 4πA/P² of each geometry (1 = a disc).

    Parameters
    ----------
    geoms
        Array-like of (Multi)Polygons.
    closing_m
        When positive, a morphological closing (buffer out, then in) of this radius is
        applied first, so compounds of one package separated by a road count as one area.

    Returns
    -------
    numpy.ndarray
        Values in [0, 1]; NaN for empty or non-areal geometries.
    """
    arr = np.asarray(geoms, dtype=object)
    if closing_m > 0:
        arr = shapely.buffer(shapely.buffer(arr, closing_m, quad_segs=4), -closing_m, quad_segs=4)
    area = shapely.area(arr)
    perim = shapely.length(arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = 4 * np.pi * area / perim**2
    return np.where((perim > 0) & (area > 0), pp, np.nan)


# --------------------------------------------------------------------------- public API


@dataclass
class PackageResult:
    """Packages made by :func:`make_packages`.

    Attributes
    ----------
    assignments
        One row per input compound: ``compound_id``, the unit column, ``eligible``,
        ``package_id`` (``""`` when none) and ``package_reason`` (``""`` when the
        compound sits in a package within the limits; else the flag reason, or
        ``"not eligible"``).
    packages
        One row per package with union geometry, totals, ``priority``
        (household-weighted mean), ``compactness`` (Polsby–Popper), ``flag`` and
        ``flag_reason``.
    summary
        Counts and timings (``solve_seconds`` excludes graph building).
    graph
        The neighbour graph used, with the reach edges added for absorbed scattered
        compounds (edge ``kind="reach"``); every package is connected in it.
    """

    assignments: pd.DataFrame
    packages: gpd.GeoDataFrame
    summary: dict[str, Any]
    graph: nx.Graph


def _validate(compounds: gpd.GeoDataFrame, unit: str, floor: float, ceiling: float) -> None:
    """Collect the problems that make packaging impossible and raise them once."""
    problems: list[Problem] = []
    problems += missing_column_problems(compounds, ("compound_id", unit, "households"),
                                        layer="compounds", purpose="needed for packages")
    if not 0 <= floor <= ceiling:
        problems.append(Problem("error", "bad-option",
                                f"household limits must satisfy 0 <= floor <= ceiling, got "
                                f"{floor} and {ceiling}", field="min_households"))
    if problems:
        raise ValidationError(problems, "Compounds cannot be grouped into packages")


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    """A numeric column as floats, missing values as 0 (logged)."""
    if col not in df.columns:
        return np.zeros(len(df))
    vals = pd.to_numeric(df[col], errors="coerce")
    if vals.isna().any():
        logger.warning("%d compounds have no %s; counted as 0 for packages", int(vals.isna().sum()), col)
    return vals.fillna(0.0).to_numpy(dtype=float)


def _components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Connected component label per node."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    return connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)),
                                directed=False)[1].astype(np.int64)


def _reach_edges(geoms: np.ndarray, groups: np.ndarray, hh: np.ndarray, u: np.ndarray,
                 v: np.ndarray, reach_m: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Edges that absorb pieces below the floor into the nearest piece of the same unit.

    Kruskal over candidate links within ``reach_m``, shortest first, linking two pieces
    only while one of them is still below the floor ("插花式" scattered compounds).
    """
    n = len(geoms)
    same = groups[u] == groups[v]
    comp = _components(n, u[same], v[same])
    total = np.bincount(comp, hh, minlength=int(comp.max()) + 1 if n else 0)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    small = np.flatnonzero(valid & (total[comp] < floor))
    if reach_m <= 0 or len(small) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    idx = np.flatnonzero(valid)
    a, b = shapely.STRtree(geoms[idx]).query(geoms[small], predicate="dwithin", distance=reach_m)
    i, j = small[a], idx[b]
    keep = (groups[i] == groups[j]) & (comp[i] != comp[j])
    i, j = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    d = shapely.distance(geoms[i], geoms[j])
    order = np.lexsort((j, i, d))
    parent = list(range(len(total)))
    tot = total.tolist()

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out_i: list[int] = []
    out_j: list[int] = []
    for k in order.tolist():
        ra, rb = find(int(comp[i[k]])), find(int(comp[j[k]]))
        if ra == rb or min(tot[ra], tot[rb]) >= floor:
            continue
        parent[max(ra, rb)] = min(ra, rb)
        tot[min(ra, rb)] = tot[ra] + tot[rb]
        out_i.append(int(i[k]))
        out_j.append(int(j[k]))
    return np.asarray(out_i, dtype=np.int64), np.asarray(out_j, dtype=np.int64)


def _flag_reason(n_members: int, load: np.ndarray, caps: list[tuple[str, float]], floor: float,
                 has_oversize: bool, whole_unit: bool, whole_piece: bool,
                 no_geometry: bool) -> str:
    """The reason a package misses a limit, or ``""`` when it meets them all."""
    if no_geometry:
        return REASON_NO_GEOMETRY
    over = [name for k, (name, cap) in enumerate(caps) if load[k] > cap]
    if over:
        base = REASON_SINGLE_ABOVE if n_members == 1 or has_oversize else REASON_ABOVE
        return base if over == ["households"] else f"{base} ({', '.join(over)})"
    if load[0] < floor:
        if whole_unit:
            return REASON_UNIT_BELOW
        if whole_piece:
            return REASON_ISLAND if n_members == 1 else REASON_PIECE_BELOW
        return REASON_NEIGHBOURS_FULL
    return ""


def _package_table(elig: gpd.GeoDataFrame, labels: np.ndarray, unit: str, loads: np.ndarray,
                   caps: list[tuple[str, float]], floor: float, piece: np.ndarray,
                   closing_m: float) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One row per package with ids, totals, union geometry, compactness and flags.

    Also returns the solver label of each row, to map compounds to package ids.
    """
    df = pd.DataFrame({"label": labels, "unit": elig[unit].to_numpy(), "piece": piece,
                       "compound_id": elig["compound_id"].to_numpy(),
                       "households": loads[:, 0], "priority": _numeric(elig, "priority")})
    df["hp"] = df["households"] * df["priority"]
    g = df.groupby("label", sort=True)
    pk = pd.DataFrame({"unit": g["unit"].first(), "first_id": g["compound_id"].min(),
                       "n_compounds": g.size(), "hh": g["households"].sum(),
                       "hp": g["hp"].sum(), "pmean": g["priority"].mean()})
    pk["priority"] = np.where(pk["hh"] > 0, pk["hp"] / pk["hh"].where(pk["hh"] > 0, 1), pk["pmean"])
    pk = pk.sort_values(["unit", "priority", "first_id"], ascending=[True, False, True])
    pk["n"] = pk.groupby("unit", sort=False).cumcount() + 1
    pk["package_id"] = [f"{un or '未定'}-P{k:02d}" for un, k in zip(pk["unit"], pk["n"], strict=True)]
    geoms = np.asarray(elig.geometry.values)
    nogeo = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    label_order = pk.index.to_numpy()
    reasons = _flag_reasons(labels, df["unit"].to_numpy(), piece, loads, caps, floor, nogeo,
                            label_order)
    unions = _unions(geoms, nogeo, labels, label_order)
    out = pd.DataFrame({"package_id": pk["package_id"].to_numpy(), unit: pk["unit"].to_numpy()})
    for col in ("county", "street"):
        if col in elig.columns and col != unit:
            out[col] = _group_mode(elig[col], labels).reindex(label_order).fillna("").to_numpy()
    out["n_compounds"] = pk["n_compounds"].to_numpy()
    for col in ("buildings", "households", "floor_area_m2", "cost_yuan"):
        vals = loads[:, 0] if col == "households" else _numeric(elig, col)
        out[col] = np.bincount(labels, vals, int(labels.max()) + 1)[label_order]
    out["priority"] = pk["priority"].to_numpy()
    if "items" in elig.columns:
        out["items"] = _group_items(elig["items"], labels).reindex(label_order).fillna("").to_numpy()
    out["flag_reason"] = reasons
    out["flag"] = out["flag_reason"] != ""
    gdf = gpd.GeoDataFrame(out, geometry=unions, crs=elig.crs)
    gdf["compactness"] = polsby_popper(gdf.geometry.values, closing_m)
    return gdf, label_order


def _flag_reasons(labels: np.ndarray, units: np.ndarray, piece: np.ndarray, loads: np.ndarray,
                  caps: list[tuple[str, float]], floor: float, nogeo: np.ndarray,
                  label_order: np.ndarray) -> list[str]:
    """:func:`_flag_reason` of every package, in ``label_order``."""
    n_lab = int(labels.max()) + 1
    size = np.bincount(labels, minlength=n_lab)
    sums = np.zeros((n_lab, loads.shape[1]))
    np.add.at(sums, labels, loads)
    oversize = np.asarray((loads > np.asarray([c for _, c in caps])).any(axis=1), dtype=bool)
    any_over = np.bincount(labels, oversize, n_lab) > 0
    all_nogeo = np.bincount(labels, nogeo, n_lab) == size
    ucode = pd.factorize(units)[0]
    first = np.zeros(n_lab, dtype=np.int64)
    first[labels[::-1]] = np.arange(len(labels))[::-1]
    whole_unit = np.bincount(ucode)[ucode[first]] == size
    whole_piece = np.bincount(piece)[piece[first]] == size
    return [_flag_reason(int(size[lab]), sums[lab], caps, floor, bool(any_over[lab]),
                         bool(whole_unit[lab]), bool(whole_piece[lab]), bool(all_nogeo[lab]))
            for lab in label_order.tolist()]


def _unions(geoms: np.ndarray, nogeo: np.ndarray, labels: np.ndarray,
            label_order: np.ndarray) -> list[Any]:
    """Union geometry of each package's members with a geometry, in ``label_order``."""
    order = np.argsort(labels, kind="stable")
    order = order[~nogeo[order]]
    bounds = np.searchsorted(labels[order], np.arange(int(labels.max()) + 2)).tolist()
    parts = geoms[order]
    return [_package_shape(parts[bounds[lab]:bounds[lab + 1]]) for lab in label_order.tolist()]


POINT_HULL_BUFFER_M = 30.0
"""Buffer around the convex hull of point compounds: a package of points gets an area."""


def _package_shape(geoms: np.ndarray) -> Any:
    """Union of the members' polygons; points are drawn as their buffered convex hull."""
    if not len(geoms):
        return None
    areal = shapely.area(geoms) > 0
    if areal.all():
        return shapely.union_all(geoms)
    parts = list(geoms[areal])
    if (~areal).any():
        hull = shapely.convex_hull(shapely.multipoints(
            shapely.get_coordinates(geoms[~areal])))
        parts.append(shapely.buffer(hull, POINT_HULL_BUFFER_M, quad_segs=4))
    return shapely.union_all(parts)


def _group_mode(values: pd.Series, labels: np.ndarray) -> pd.Series:
    """Most frequent non-null value per label (smallest on ties), as text."""
    df = pd.DataFrame({"lab": labels, "val": values.to_numpy()})
    df = df[df["val"].notna()].astype({"val": str})
    cnt = df.groupby(["lab", "val"]).size().reset_index(name="n")
    cnt = cnt.sort_values(["lab", "n", "val"], ascending=[True, False, True])
    return cnt.drop_duplicates("lab").set_index("lab")["val"]


def _group_items(items: pd.Series, labels: np.ndarray) -> pd.Series:
    """Union of comma-separated item codes per label, sorted and comma-joined."""
    df = pd.DataFrame({"lab": labels, "code": items.fillna("").astype(str).str.split(",")})
    df = df.explode("code")
    df["code"] = df["code"].astype(str).str.strip()
    df = df[df["code"] != ""].drop_duplicates().sort_values(["lab", "code"])
    return df.groupby("lab")["code"].agg(",".join)


def make_packages(
    compounds: gpd.GeoDataFrame,
    *,
    graph: nx.Graph | None = None,
    unit: str = "community_id",
    min_households: float = 1000,
    max_households: float = 3000,
    max_buildings: float | None = None,
    max_cost: float | None = None,
    gap_m: float = 15.0,
    absorb_gap_m: float = 60.0,
    barriers: gpd.GeoDataFrame | None = None,
    restarts: int = 2,
    seed: int = 0,
    closing_m: float = 10.0,
    priority_weight: float = 1.0,
    by: str | None = "county",
    engine: Any = None,
    keep_graph: bool = True,
) -> PackageResult:
    """Group eligible compounds into contiguous packages (连片改造片区) per planning unit.

    Parameters
    ----------
    compounds
        Compounds in a metric CRS with ``compound_id``, the unit column and
        ``households``; optional ``eligible`` (rows with False get no package),
        ``priority``, ``buildings``, ``floor_area_m2``, ``cost_yuan``, ``items``,
        ``street``, ``county``, ``exclusion_reason``.
    graph
        Neighbour graph over ``compound_id``; built with
        :func:`yulin_gis.packaging._adjacency.compound_adjacency` (``gap_m``, ``barriers``) if None.
    unit
        Planning unit never crossed: ``"community_id"`` (社区) or ``"street"`` (街道).
    min_households, max_households
        Floor and ceiling of households per package.
    max_buildings, max_cost
        Optional further ceilings (buildings, ``cost_yuan``).
    gap_m, barriers
        Used only when ``graph`` is None.
    absorb_gap_m
        Pieces below the floor (scattered "插花式" compounds, islands) are linked to the
        nearest piece of the same unit within this distance (edge ``kind="reach"``).
    restarts, seed
        Deterministic constructions tried; the best per connected piece is kept.
    closing_m
        Closing radius for the Polsby–Popper compactness (bridges roads inside a package).
    priority_weight
        How strongly packages group compounds of similar priority against compactness.
    by
        Column whose values are packaged independently, each in the Gauss–Krüger zone of
        its compounds (``"county"``: what :func:`yulin_gis.run` does, so both give the
        same packages). The layer is packaged whole when ``by`` is None or not a column,
        or when a unit spans two of its values (logged).
    engine
        Runs the partitions: anything with ``map(func, items)``, such as
        :class:`yulin_gis.scale._engine.LocalEngine` or :class:`yulin_gis.scale._engine.DaskEngine`;
        None runs them here, one after the other.
    keep_graph
        Return the neighbour graph (False returns an empty graph: less memory).

    Returns
    -------
    PackageResult
        ``assignments`` (every input compound), ``packages``, ``summary``, ``graph``.
    """
    _validate(compounds, unit, min_households, max_households)
    options: dict[str, Any] = {
        "unit": unit, "min_households": min_households, "max_households": max_households,
        "max_buildings": max_buildings, "max_cost": max_cost, "gap_m": gap_m,
        "absorb_gap_m": absorb_gap_m, "restarts": restarts, "seed": seed,
        "closing_m": closing_m, "priority_weight": priority_weight,
    }
    key = partition_key(compounds, by, unit)
    if key is None:
        result = _package_layer(compounds, graph=graph, barriers=barriers, **options)
        if not keep_graph:
            result.graph = nx.Graph()
        return result
    return package_by_partition(compounds, key, solve=_package_layer, options=options, graph=graph,
                                barriers=barriers, mapper=engine.map if engine is not None else None,
                                keep_graph=keep_graph, result_cls=PackageResult)


def _package_layer(
    compounds: gpd.GeoDataFrame,
    *,
    graph: nx.Graph | None,
    unit: str,
    min_households: float,
    max_households: float,
    max_buildings: float | None,
    max_cost: float | None,
    gap_m: float,
    absorb_gap_m: float,
    barriers: gpd.GeoDataFrame | None,
    restarts: int,
    seed: int,
    closing_m: float,
    priority_weight: float,
) -> PackageResult:
    """:func:`make_packages` of one layer (or one partition) in one solver call."""
    df = compounds.copy()
    df["compound_id"] = df["compound_id"].astype(str)
    df[unit] = df[unit].astype(object).where(df[unit].notna(), "").astype(str)
    t0 = time.perf_counter()
    edges: tuple[np.ndarray, np.ndarray] | None = None
    if graph is None:  # our own graph: no copy, and its edges come as row positions
        graph, pi, pj = _adjacency(df, gap_m=gap_m, barriers=barriers, unit=unit,
                                   point_max_m=300.0)
        edges = (pi, pj)
    else:
        graph = graph.copy()
    t_graph = time.perf_counter() - t0
    eligible = (df["eligible"].fillna(False).astype(bool).to_numpy() if "eligible" in df.columns
                else np.ones(len(df), dtype=bool))
    ids_all = df["compound_id"].to_numpy()
    rows = np.flatnonzero(eligible)
    rows = rows[np.argsort(ids_all[rows], kind="stable")]
    elig = df.iloc[rows]
    if elig["compound_id"].duplicated().any():
        dup = elig.loc[elig["compound_id"].duplicated(), "compound_id"].iloc[0]
        raise SchemaError(f"compounds › field compound_id: duplicate id {dup!r}")
    if edges is not None:
        edges = _edge_rows(edges[0], edges[1], rows, len(df))
    labels, packages, label_order, info = _solve(
        elig, graph, unit, min_households, max_households, max_buildings, max_cost,
        absorb_gap_m, {"restarts": restarts, "seed": seed, "priority_weight": priority_weight},
        closing_m, edges)
    assignments = _assignments(df, elig, eligible, labels, packages, label_order, unit)
    summary = _summary(df, eligible, packages, graph, info, t_graph)
    logger.info("packages: %d packages from %d eligible compounds, %d flagged",
                summary["n_packages"], summary["n_eligible"], summary["n_flagged"])
    return PackageResult(assignments=assignments, packages=packages, summary=summary, graph=graph)


def _edge_rows(pi: np.ndarray, pj: np.ndarray, rows: np.ndarray,
               n: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges given as input-row positions, as ``u < v`` over ``rows`` (the eligible order).

    Same arrays, in the same order, as :func:`graph_arrays` on the graph built from them
    (networkx yields an edge at its first node in insertion order, i.e. at ``pi``).
    """
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    order = np.argsort(pi, kind="stable")
    a, b = pos[pi[order]], pos[pj[order]]
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def _solve(elig: gpd.GeoDataFrame, graph: nx.Graph, unit: str, floor: float, ceiling: float,
           max_buildings: float | None, max_cost: float | None, absorb_gap_m: float,
           solver: dict[str, Any], closing_m: float,
           edges: tuple[np.ndarray, np.ndarray] | None,
           ) -> tuple[np.ndarray, gpd.GeoDataFrame, np.ndarray, dict[str, Any]]:
    """Arrays, reach edges, solver and package table for the eligible compounds."""
    ids = elig["compound_id"].to_numpy()
    if edges is None:
        graph.add_nodes_from(x for x in ids if x not in graph)
        u, v, _ = graph_arrays(graph, ids)
    else:
        u, v = edges
    groups = pd.factorize(elig[unit])[0]
    geoms = np.asarray(elig.geometry.values)
    hh = _numeric(elig, "households")
    ru, rv = _reach_edges(geoms, groups, hh, u, v, absorb_gap_m, floor)
    for a, b in zip(ru.tolist(), rv.tolist(), strict=True):
        graph.add_edge(ids[a], ids[b], kind="reach",
                       distance=float(shapely.distance(geoms[a], geoms[b])))
    u, v = np.concatenate([u, ru]), np.concatenate([v, rv])
    caps: list[tuple[str, float]] = [("households", float(ceiling))]
    extra: list[np.ndarray] = []
    for name, col, cap in (("buildings", "buildings", max_buildings), ("cost", "cost_yuan", max_cost)):
        if cap is not None:
            caps.append((name, float(cap)))
            extra.append(_numeric(elig, col))
    loads = np.column_stack([hh, *extra]) if extra else hh.reshape(-1, 1)
    cent = shapely.centroid(geoms)
    xy = np.nan_to_num(np.column_stack([shapely.get_x(cent), shapely.get_y(cent)]))
    t0 = time.perf_counter()
    labels = (partition_arrays(u, v, hh, xy, floor=floor, ceiling=ceiling,
                               priority=_numeric(elig, "priority"), groups=groups,
                               extra_loads=loads[:, 1:] if extra else None,
                               extra_caps=[c for _, c in caps[1:]], **solver)
              if len(ids) else np.empty(0, dtype=np.int64))
    t_solve = time.perf_counter() - t0
    same = groups[u] == groups[v]
    piece = _components(len(ids), u[same], v[same])
    packages, label_order = (_package_table(elig, labels, unit, loads, caps, floor, piece, closing_m)
                             if len(ids) else (_empty_packages(unit, elig.crs), np.empty(0, np.int64)))
    return labels, packages, label_order, {"solve_seconds": t_solve, "n_reach_edges": len(ru)}


def _empty_packages(unit: str, crs: Any) -> gpd.GeoDataFrame:
    cols = ["package_id", unit, "n_compounds", "buildings", "households", "floor_area_m2",
            "cost_yuan", "priority", "flag_reason", "flag", "compactness"]
    return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=[], crs=crs)


def _assignments(df: pd.DataFrame, elig: pd.DataFrame, eligible: np.ndarray, labels: np.ndarray,
                 packages: gpd.GeoDataFrame, label_order: np.ndarray, unit: str) -> pd.DataFrame:
    """One row per input compound with its package id or the reason it has none."""
    id_of_label = np.empty(len(label_order), dtype=object)
    id_of_label[label_order] = packages["package_id"].to_numpy()
    reason_of = dict(zip(packages["package_id"], packages["flag_reason"], strict=True))
    pid = pd.Series(id_of_label[labels] if len(labels) else [], index=elig["compound_id"].to_numpy(),
                    dtype=object)
    out = pd.DataFrame({"compound_id": df["compound_id"].to_numpy(), unit: df[unit].to_numpy(),
                        "eligible": eligible})
    mapped = out["compound_id"].map(pid).astype(object)
    out["package_id"] = [p if e and isinstance(p, str) else ""
                         for p, e in zip(mapped, out["eligible"], strict=True)]
    reasons = [reason_of.get(p, "") for p in out["package_id"]]
    if "exclusion_reason" in df.columns:
        excl = df["exclusion_reason"].fillna("").astype(str).to_numpy()
        not_elig = [f"{REASON_NOT_ELIGIBLE}: {e}" if e else REASON_NOT_ELIGIBLE for e in excl]
    else:
        not_elig = [REASON_NOT_ELIGIBLE] * len(df)
    out["package_reason"] = np.where(out["eligible"], reasons, not_elig)
    return out


def _summary(df: pd.DataFrame, eligible: np.ndarray, packages: gpd.GeoDataFrame,
             graph: nx.Graph, info: dict[str, Any], t_graph: float) -> dict[str, Any]:
    """Counts and timings of a packaging run."""
    reasons = packages.loc[packages["flag"].astype(bool), "flag_reason"].value_counts()
    pp = pd.to_numeric(packages["compactness"], errors="coerce")
    return {
        "n_compounds": len(df),
        "n_eligible": int(eligible.sum()),
        "n_not_eligible": int((~eligible).sum()),
        "n_packages": len(packages),
        "n_flagged": int(packages["flag"].astype(bool).sum()),
        "flag_reasons": {str(k): int(c) for k, c in reasons.items()},
        "n_reach_edges": info["n_reach_edges"],
        "graph_components": nx.number_connected_components(graph),
        "mean_polsby_popper": float(pp.mean()) if pp.notna().any() else float("nan"),
        "graph_seconds": t_graph,
        "solve_seconds": info["solve_seconds"],
    }
