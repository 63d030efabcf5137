"""Traces on utility networks (管网追踪): upstream/downstream of packages.

Works on the :class:`~yulin_gis.utilities._network.UtilityNetwork` objects of
:func:`~yulin_gis.utilities._network.build_networks` (all public names re-exported by
:mod:`yulin_gis.utilities._network`).

Traces (:func:`trace_package`) follow the network from each package (连片改造片区) to the
source (water, gas: upstream) or to the outfall (storm, sewer, combined sewer: downstream)
along shortest paths by length, so the utility sees the trunk segments the package's works
depend on. :func:`~yulin_gis.utilities._isolation.isolation_impact` (which uses the roots
found here) gives, for water and gas, the households cut off while a segment is isolated
(关阀停水/停气).

Roots (sources and outfalls) come from a ``utility_nodes`` point layer (``role`` =
``"source"`` or ``"outfall"``, optional ``utility``), snapped to the nearest network node
within ``node_snap_m``. A network without declared roots gets one assumed root per
connected piece: an end node of the piece's largest-diameter segment (ties: longer, then
first in input order) — for water and gas the end with more connections (more central),
for drainage a terminal end (degree 1) when there is one, since drains grow towards the
outfall. Rows of such traces carry ``root_assumed=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csgraph

from yulin_gis.errors import SchemaError
from yulin_gis.utilities._types import DRAINAGE, PRESSURE, UTILITY_TYPES

if TYPE_CHECKING:
    from yulin_gis.utilities._network import UtilityNetwork

__all__ = [
    "segments_near",
    "trace_package",
]

logger = logging.getLogger(__name__)


def _declared_roots(net: UtilityNetwork, utility_nodes: gpd.GeoDataFrame | None, role: str,
                    node_snap_m: float) -> np.ndarray:
    if utility_nodes is None or not len(utility_nodes) or "role" not in utility_nodes.columns:
        return np.empty(0, np.int64)
    pts = utility_nodes[utility_nodes["role"].astype(str).str.strip().str.lower() == role]
    if "utility" in pts.columns:
        pts = pts[pts["utility"].isna() | (pts["utility"].astype(str) == net.utility)]
    if not len(pts):
        return np.empty(0, np.int64)
    tree = shapely.STRtree(np.asarray(shapely.points(net.node_xy)))
    geoms = pts.geometry.to_numpy()
    qi, ni = tree.query_nearest(geoms, max_distance=node_snap_m)
    missed = sorted(set(range(len(pts))) - set(qi.tolist()))
    if missed:
        logger.warning("%s: %d %s point(s) farther than %.1f m from the network, ignored",
                       net.utility, len(missed), role, node_snap_m)
    return np.unique(ni).astype(np.int64)


def _assumed_roots(net: UtilityNetwork) -> np.ndarray:
    """One root per connected piece: an end of its largest-diameter segment (see module doc)."""
    seg = net.segments
    lab = net.components()
    deg = net.degree()
    diam = (pd.to_numeric(seg["diameter_mm"], errors="coerce").fillna(-1).to_numpy()
            if "diameter_mm" in seg else np.full(len(seg), -1.0))
    u, v = seg["node_u"].to_numpy(), seg["node_v"].to_numpy()
    order = np.lexsort((np.arange(len(seg)), -seg["length_m"].to_numpy(float), -diam, lab[u]))
    first = np.r_[True, lab[u][order][1:] != lab[u][order][:-1]]
    top = order[first]
    a, b = u[top].astype(np.int64), v[top].astype(np.int64)
    da, db = deg[a], deg[b]
    if net.utility in DRAINAGE:  # a terminal end (drains grow towards the outfall)
        pick = np.where((da == 1) & (db != 1), a,
                        np.where((db == 1) & (da != 1), b, np.minimum(a, b)))
    else:  # the end with more connections
        pick = np.where(da > db, a, np.where(db > da, b, np.minimum(a, b)))
    return np.sort(pick).astype(np.int64)


def _roots(net: UtilityNetwork, utility_nodes: gpd.GeoDataFrame | None,
           node_snap_m: float) -> tuple[np.ndarray, bool]:
    """The network's roots (declared sources or outfalls, else assumed) and the assumed flag."""
    role = "outfall" if net.utility in DRAINAGE else "source"
    roots = _declared_roots(net, utility_nodes, role, node_snap_m)
    assumed = not len(roots)
    if assumed:
        roots = _assumed_roots(net)
        logger.info("%s: no %s declared; %d assumed root(s)", net.utility, role, len(roots))
    return roots, assumed


def _root_tree(net: UtilityNetwork, utility_nodes: gpd.GeoDataFrame | None,
               node_snap_m: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Shortest-path tree from the roots: distance and predecessor per node, assumed flag."""
    roots, assumed = _roots(net, utility_nodes, node_snap_m)
    dist, pred, _ = csgraph.dijkstra(net.csgraph(), directed=False, indices=roots,
                                     return_predecessors=True, min_only=True)
    return dist, pred, assumed


def _pair_edge_lookup(net: UtilityNetwork) -> tuple[np.ndarray, np.ndarray]:
    a, b, _, rows = net.pairs()
    return a * net.n_nodes + b, rows


def _edge_rows(net: UtilityNetwork, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    keys, rows = _pair_edge_lookup(net)
    k = np.minimum(x, y) * net.n_nodes + np.maximum(x, y)
    return rows[np.searchsorted(keys, k)]


def segments_near(net: UtilityNetwork, polygons: gpd.GeoDataFrame, distance_m: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(polygon_row, segment_row)`` of segments within ``distance_m`` of each
    polygon (exact ``dwithin``; 0 means intersecting)."""
    tree = shapely.STRtree(net.segments.geometry.to_numpy())
    geoms = polygons.geometry.to_numpy()
    if distance_m > 0:
        hits = tree.query(geoms, predicate="dwithin", distance=distance_m)
    else:
        hits = tree.query(geoms, predicate="intersects")
    return hits[0], hits[1]


def trace_package(networks: Mapping[str, UtilityNetwork], packages: gpd.GeoDataFrame,
                  utility_nodes: gpd.GeoDataFrame | None = None, distance_m: float = 0.0,
                  utilities: Iterable[str] | None = None, node_snap_m: float = 5.0) -> pd.DataFrame:
    """Trace each package's segments to the source (upstream) or the outfall (downstream).

    Parameters
    ----------
    networks
        From :func:`~yulin_gis.utilities._network.build_networks`.
    packages
        Package polygons (连片改造片区) with ``package_id``, same CRS as the networks.
    utility_nodes
        Optional points with ``role`` (``"source"`` for water/gas/power..., ``"outfall"``
        for storm/sewer/combined_sewer) and optional ``utility``; see the module docstring
        for the assumed roots used without them.
    distance_m
        Segments within this distance of a package belong to it (0: intersecting).
    utilities
        Types to trace; default water_supply, gas (upstream) and the drainage types
        (downstream) present in ``networks``.
    node_snap_m
        Maximum distance from a root point to its network node.

    Returns
    -------
    pandas.DataFrame
        ``package_id``, ``utility``, ``segment_id``, ``role`` (``in_package``, ``upstream``,
        ``downstream`` or ``unreachable`` — a package segment in a piece without root),
        ``dist_to_root_m`` (along the network, from the segment's nearer end),
        ``root_assumed``. Sorted by package, utility, role, distance.
    """
    if "package_id" not in packages.columns:
        raise SchemaError("packages need a package_id column")
    wanted = list(utilities) if utilities is not None else [
        u for u in UTILITY_TYPES if u in PRESSURE | DRAINAGE]
    pkg_ids = packages["package_id"].astype(str).to_numpy()
    parts: list[tuple[str, bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for ut in wanted:
        if ut in networks:
            part = _trace_network(networks[ut], packages, utility_nodes, distance_m, node_snap_m)
            if part is not None:
                parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["package_id", "utility", "segment_id", "role",
                                     "dist_to_root_m", "root_assumed"])
    sizes = [len(p[2]) for p in parts]
    out = pd.DataFrame({
        "package_id": pkg_ids[np.concatenate([p[2] for p in parts])],
        "utility": np.repeat(np.array([p[0] for p in parts], dtype=object), sizes),
        "segment_id": np.concatenate([p[3] for p in parts]),
        "role": np.concatenate([p[4] for p in parts]),
        "dist_to_root_m": np.concatenate([p[5] for p in parts]),
        "root_assumed": np.repeat(np.array([p[1] for p in parts], dtype=bool), sizes)})
    return out.sort_values(["package_id", "utility", "role", "dist_to_root_m", "segment_id"],
                           kind="stable").reset_index(drop=True)


def _trace_network(net: UtilityNetwork, packages: gpd.GeoDataFrame,
                   utility_nodes: gpd.GeoDataFrame | None, distance_m: float, node_snap_m: float
                   ) -> tuple[str, bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """One network's trace rows: utility, assumed flag, package row, segment id, role, distance.

    Rows come per package (in row order): its own segments, then the segments on the
    shortest-path tree from their nodes up to the roots, each part by segment row.
    """
    dist, pred, assumed = _root_tree(net, utility_nodes, node_snap_m)
    pi, si = segments_near(net, packages, distance_m)
    if not len(pi):
        return None
    nseg = len(net.segments)
    eu, ev = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    er = net.edges["seg_row"].to_numpy()
    seg_dist = np.full(nseg, np.inf)
    np.minimum.at(seg_dist, er, np.minimum(dist[eu], dist[ev]))
    by_seg = np.argsort(er, kind="stable")
    bounds = np.searchsorted(er[by_seg], np.arange(nseg + 1))
    own = np.unique(pi.astype(np.int64) * nseg + si)  # (package, segment) keys, sorted
    own_p, own_s = own // nseg, own % nseg
    e = by_seg[_ranges(bounds[own_s], bounds[own_s + 1])]
    e_p = np.repeat(own_p, bounds[own_s + 1] - bounds[own_s])
    walk_p, child, parent = _ancestor_edges(np.r_[e_p, e_p], np.r_[eu[e], ev[e]], dist, pred)
    path = np.unique(walk_p * nseg + er[_edge_rows(net, child, parent)])
    path = path[~_sorted_isin(path, own)]
    keys = np.r_[own, path]
    part = np.r_[np.zeros(len(own), np.int8), np.ones(len(path), np.int8)]
    order = np.lexsort((keys % nseg, part, keys // nseg))
    keys, part = keys[order], part[order]
    rows = keys % nseg
    direction = "downstream" if net.utility in DRAINAGE else "upstream"
    role = np.where(part == 1, direction,
                    np.where(np.isfinite(seg_dist[rows]), "in_package", "unreachable"))
    ids = net.segments["segment_id"].to_numpy()
    return net.utility, assumed, keys // nseg, ids[rows], role.astype(object), seg_dist[rows]


def _sorted_isin(x: np.ndarray, sorted_y: np.ndarray) -> np.ndarray:
    """``np.isin(x, sorted_y)`` for a sorted ``sorted_y``."""
    if not len(sorted_y):
        return np.zeros(len(x), bool)
    pos = np.minimum(np.searchsorted(sorted_y, x), len(sorted_y) - 1)
    return sorted_y[pos] == x


def _tree_depth(pred: np.ndarray) -> np.ndarray:
    """Hops from each node up to its root (pointer jumping; ``pred < 0`` at roots)."""
    n = len(pred)
    has = pred >= 0
    up = np.where(has, pred, np.arange(n))
    depth = has.astype(np.int64)
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            return depth
        depth = depth + depth[up]
        up = nxt


def _ancestor_edges(keys_p: np.ndarray, nodes: np.ndarray, dist: np.ndarray, pred: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tree edges ``(group, child, parent)`` from each group's start nodes up to their roots.

    Each group (package) walks the shortest-path tree from its reachable start nodes to the
    root, every (group, node) once: the walkers move level by level from the deepest, so
    walkers meeting at a node merge there.
    """
    n = len(pred)
    ok = np.isfinite(dist[nodes]) & (pred[nodes] >= 0)
    start = np.unique(keys_p[ok].astype(np.int64) * n + nodes[ok])
    if not len(start):
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    depth = _tree_depth(pred)
    level = depth[start % n]
    order = np.argsort(-level, kind="stable")
    start, level = start[order], level[order]
    top = int(level[0])
    at_least = np.searchsorted(-level, -np.arange(top + 2), side="right")  # starts at depth ≥ d
    found: list[np.ndarray] = []
    frontier = np.empty(0, np.int64)
    for d in range(top, 0, -1):
        cur = np.unique(np.r_[frontier, start[at_least[d + 1]:at_least[d]]])
        found.append(cur)
        node = cur % n
        frontier = cur - node + pred[node]
    walked = np.concatenate(found)
    child = walked % n
    return walked // n, child, pred[child].astype(np.int64)


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for each pair, vectorised."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(total) + offsets
