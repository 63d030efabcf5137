"""Compound neighbour graph (小区邻接图) for contiguous packaging (连片规划).

Two compounds (小区) are neighbours when their polygons touch or lie within a gap
(default 15 m, about a branch road), found with a spatial index (``shapely.STRtree``,
``predicate="dwithin"``), so building the graph is O(N log N) and never forms an
N × N matrix. Optional barriers (roads of chosen classes, rivers) remove an edge when the
segment between the two polygons' nearest points crosses one. Point-only compounds (from
survey tables) get neighbours by a Delaunay triangulation inside their planning unit,
limited to a maximum edge length.

Disconnected pieces and islands are kept as components of the graph: they are reported
(:func:`adjacency_report`, ``graph.graph["islands"]``), never raised as errors.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from yulin_gis.crs import require_metric
from yulin_gis.errors import Problem, ValidationError

__all__ = ["adjacency_report", "compound_adjacency", "graph_arrays"]

logger = logging.getLogger(__name__)


def _validate(compounds: gpd.GeoDataFrame, unit: str | None) -> None:
    """Collect schema and CRS problems of the compounds layer and raise them once."""
    problems: list[Problem] = []
    if "compound_id" not in compounds.columns:
        problems.append(Problem("error", "missing-field", "compounds need a compound_id column",
                                layer="compounds", field="compound_id"))
    else:
        ids = compounds["compound_id"].astype(str)
        for dup in sorted(ids[ids.duplicated()].unique()):
            problems.append(Problem("error", "duplicate-id", "compound_id is not unique",
                                    layer="compounds", row=str(dup), field="compound_id"))
    if unit is not None and unit not in compounds.columns:
        problems.append(Problem("error", "missing-field", f"planning unit column {unit!r} is missing",
                                layer="compounds", field=unit))
    if problems:
        raise ValidationError(problems, "Compounds cannot be turned into a neighbour graph")
    crs = compounds.crs
    require_metric(crs, "the compounds layer")
    if crs is None:
        logger.warning("compounds have no CRS; coordinates are taken as metres")


def _polygon_pairs(geoms: np.ndarray, gap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return index pairs ``i < j`` of geometries that touch or lie within ``gap_m``."""
    valid = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(valid) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(geoms[valid])
    left, right = tree.query(geoms[valid], predicate="dwithin", distance=gap_m)
    i, j = valid[left], valid[right]
    keep = i < j
    return i[keep], j[keep]


def _delaunay_pairs(points: np.ndarray, is_point: np.ndarray, groups: np.ndarray,
                    max_len: float) -> tuple[np.ndarray, np.ndarray]:
    """Delaunay edges within each group that touch at least one point-only compound.

    Parameters
    ----------
    points
        ``(n, 2)`` coordinates (representative points of every compound).
    is_point
        Boolean mask of point-only compounds.
    groups
        Integer unit code per compound; triangulation never joins two groups.
    max_len
        Longest edge kept, metres.
    """
    from scipy.spatial import Delaunay, QhullError

    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    for g in np.unique(groups[is_point]):
        idx = np.flatnonzero((groups == g) & np.isfinite(points[:, 0]))
        if len(idx) < 2:
            continue
        pts = points[idx]
        try:
            tri = Delaunay(pts)
            simp = tri.simplices
            pairs = np.concatenate([simp[:, [0, 1]], simp[:, [1, 2]], simp[:, [0, 2]]])
        except (QhullError, ValueError):
            # fewer than 3 points or all collinear: chain them along their main axis
            axis = int(np.argmax(np.ptp(pts, axis=0)))
            order = np.lexsort((pts[:, 1 - axis], pts[:, axis]))
            pairs = np.column_stack([order[:-1], order[1:]])
        a, b = idx[pairs[:, 0]], idx[pairs[:, 1]]
        a, b = np.minimum(a, b), np.maximum(a, b)
        length = np.hypot(*(points[a] - points[b]).T)
        keep = (is_point[a] | is_point[b]) & (length <= max_len) & (a != b)
        out_i.append(a[keep])
        out_j.append(b[keep])
    if not out_i:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def _crosses_barrier(geoms: np.ndarray, i: np.ndarray, j: np.ndarray,
                     barriers: gpd.GeoDataFrame) -> np.ndarray:
    """Return a mask of pairs whose nearest-points segment crosses a barrier line."""
    bgeoms = np.asarray(barriers.geometry.values)
    bgeoms = bgeoms[~(shapely.is_missing(bgeoms) | shapely.is_empty(bgeoms))]
    blocked = np.zeros(len(i), dtype=bool)
    if len(bgeoms) == 0 or len(i) == 0:
        return blocked
    segments = shapely.shortest_line(geoms[i], geoms[j])
    tree = shapely.STRtree(bgeoms)
    hit, _ = tree.query(segments, predicate="intersects")
    blocked[np.unique(hit)] = True
    return blocked


def compound_adjacency(
    compounds: gpd.GeoDataFrame, *,
    gap_m: float = 15.0,
    barriers: gpd.GeoDataFrame | None = None,
    unit: str | None = "community_id",
    point_max_m: float = 300.0,
) -> nx.Graph:
    """Build the neighbour graph of compounds (小区邻接图).

    Parameters
    ----------
    compounds
        Compounds in a metric CRS (EPSG:4546 for Yulin) with ``compound_id``; polygons,
        or points for compounds known only from a survey table.
    gap_m
        Two compounds are neighbours when they touch or lie within this many metres.
    barriers
        Optional lines (or polygons) never crossed: roads of chosen classes, rivers. An
        edge is dropped when the segment between the two compounds' nearest points
        intersects a barrier (touching compounds keep their edge).
    unit
        Column of the planning unit (``community_id`` by default); Delaunay edges of
        point-only compounds never join two units. ``None`` triangulates all points
        together. Polygon edges may cross units; packaging drops those itself.
    point_max_m
        Longest Delaunay edge kept for point-only compounds, metres.

    Returns
    -------
    networkx.Graph
        Nodes are ``compound_id`` (every input row, even with an empty geometry); edges
        carry ``distance`` (metres between the geometries) and ``kind`` (``"gap"`` or
        ``"delaunay"``). ``graph.graph`` holds ``n_components``, ``islands`` (ids with no
        neighbour), ``no_geometry`` (ids with an empty geometry), ``n_barrier_cuts``,
        ``gap_m`` and ``crs``.

    Raises
    ------
    ValidationError
        ``compound_id`` or the unit column is missing, or ids are duplicated.
    CRSError
        The layer is in a geographic CRS.
    """
    graph, _, _ = _adjacency(compounds, gap_m=gap_m, barriers=barriers, unit=unit,
                             point_max_m=point_max_m)
    return graph


def _adjacency(compounds: gpd.GeoDataFrame, *, gap_m: float, barriers: gpd.GeoDataFrame | None,
               unit: str | None, point_max_m: float) -> tuple[nx.Graph, np.ndarray, np.ndarray]:
    """:func:`compound_adjacency` plus its edges as row positions ``(i, j)``, ``i < j``.

    The positions are in the graph's insertion order, so callers that need index arrays
    (packaging) need not walk the networkx graph again.
    """
    _validate(compounds, unit)
    ids = compounds["compound_id"].astype(str).to_numpy()
    geoms = np.asarray(compounds.geometry.values)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    is_point = ~missing & np.isin(types, [0, 4])  # Point, MultiPoint

    gi, gj = _polygon_pairs(geoms, gap_m)
    kinds = np.full(len(gi), "gap", dtype=object)
    if is_point.any():
        groups = (pd.factorize(compounds[unit].astype(str))[0] if unit is not None
                  else np.zeros(len(ids), dtype=np.int64))
        safe = geoms.copy()
        safe[missing] = None
        reps = shapely.point_on_surface(safe)
        coords = np.column_stack([shapely.get_x(reps), shapely.get_y(reps)])
        di, dj = _delaunay_pairs(coords, is_point, np.asarray(groups), point_max_m)
        gi, gj = np.concatenate([gi, di]), np.concatenate([gj, dj])
        kinds = np.concatenate([kinds, np.full(len(di), "delaunay", dtype=object)])
        pair_key = gi.astype(np.int64) * (len(ids) + 1) + gj
        _, first = np.unique(pair_key, return_index=True)
        gi, gj, kinds = gi[first], gj[first], kinds[first]

    dist = shapely.distance(geoms[gi], geoms[gj]) if len(gi) else np.empty(0)
    n_cut = 0
    if barriers is not None and len(barriers) and len(gi):
        if compounds.crs is not None and barriers.crs is not None and barriers.crs != compounds.crs:
            barriers = barriers.to_crs(compounds.crs)
        check = dist > 0
        blocked = np.zeros(len(gi), dtype=bool)
        blocked[check] = _crosses_barrier(geoms, gi[check], gj[check], barriers)
        n_cut = int(blocked.sum())
        gi, gj, kinds, dist = gi[~blocked], gj[~blocked], kinds[~blocked], dist[~blocked]

    graph = nx.Graph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(
        (ids[a], ids[b], {"distance": float(d), "kind": k})
        for a, b, d, k in zip(gi.tolist(), gj.tolist(), dist.tolist(), kinds.tolist(), strict=True)
    )
    islands = sorted(n for n, deg in graph.degree() if deg == 0)
    graph.graph.update(
        n_components=nx.number_connected_components(graph),
        islands=islands,
        no_geometry=sorted(ids[missing].tolist()),
        n_barrier_cuts=n_cut,
        gap_m=float(gap_m),
        crs=compounds.crs,
    )
    logger.info("adjacency: %d compounds, %d edges, %d components, %d islands, %d barrier cuts",
                graph.number_of_nodes(), graph.number_of_edges(), graph.graph["n_components"],
                len(islands), n_cut)
    return graph, gi, gj


def adjacency_report(graph: nx.Graph) -> pd.DataFrame:
    """List every compound's connected component in the neighbour graph.

    Parameters
    ----------
    graph
        A graph from :func:`compound_adjacency`.

    Returns
    -------
    pandas.DataFrame
        ``compound_id``, ``component`` (0 = largest, ties by smallest id),
        ``component_size``, ``degree`` and ``island`` (no neighbour at all).
    """
    comps = sorted((sorted(c) for c in nx.connected_components(graph)),
                   key=lambda c: (-len(c), c[0]))
    rows: list[dict[str, Any]] = []
    for k, comp in enumerate(comps):
        for node in comp:
            deg = graph.degree(node)
            rows.append({"compound_id": node, "component": k, "component_size": len(comp),
                         "degree": deg, "island": deg == 0})
    cols = ["compound_id", "component", "component_size", "degree", "island"]
    return pd.DataFrame(rows, columns=cols).sort_values("compound_id", ignore_index=True)


def graph_arrays(graph: nx.Graph, ids: list[str] | np.ndarray,
                 attr: str = "distance") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the edges of ``graph`` as integer index arrays over ``ids``.

    Parameters
    ----------
    graph
        A neighbour graph whose nodes include ``ids``.
    ids
        Node order; edges with an endpoint outside ``ids`` are dropped.
    attr
        Edge attribute returned as the third array (missing values become 0).

    Returns
    -------
    tuple of numpy.ndarray
        ``(u, v, value)`` with ``u < v``.
    """
    index = {str(n): k for k, n in enumerate(ids)}
    us: list[int] = []
    vs: list[int] = []
    vals: list[float] = []
    for a, b, data in graph.edges(data=True):
        ia, ib = index.get(str(a)), index.get(str(b))
        if ia is None or ib is None or ia == ib:
            continue
        us.append(min(ia, ib))
        vs.append(max(ia, ib))
        vals.append(float(data.get(attr, 0.0) or 0.0))
    return (np.asarray(us, dtype=np.int64), np.asarray(vs, dtype=np.int64),
            np.asarray(vals, dtype=float))
