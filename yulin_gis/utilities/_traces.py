"""Traces on utility networks (管网追踪): upstream/downstream of packages, isolation impact.

Works on the :class:`~yulin_gis.utilities._network.UtilityNetwork` objects of
:func:`~yulin_gis.utilities._network.build_networks` (all public names re-exported by
:mod:`yulin_gis.utilities._network`).

Traces (:func:`trace_package`) follow the network from each package (连片改造片区) to the
source (water, gas: upstream) or to the outfall (storm, sewer, combined sewer: downstream)
along shortest paths by length, so the utility sees the trunk segments the package's works
depend on. :func:`isolation_impact` gives, for water and gas, the households cut off while
a segment is isolated (关阀停水/停气).

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
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from yulin_gis.errors import SchemaError
from yulin_gis.utilities._types import DRAINAGE, PRESSURE, UTILITY_TYPES

if TYPE_CHECKING:
    from yulin_gis.utilities._network import UtilityNetwork

__all__ = [
    "isolation_impact",
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
    roots = []
    for r in order[first]:
        a, b = int(u[r]), int(v[r])
        if net.utility in DRAINAGE:
            pick = a if deg[a] == 1 and deg[b] != 1 else b if deg[b] == 1 and deg[a] != 1 else min(a, b)
        else:
            pick = a if deg[a] > deg[b] else b if deg[b] > deg[a] else min(a, b)
        roots.append(pick)
    return np.array(sorted(roots), np.int64)


def _root_tree(net: UtilityNetwork, utility_nodes: gpd.GeoDataFrame | None,
               node_snap_m: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """Shortest-path tree from the roots: distance and predecessor per node, assumed flag."""
    role = "outfall" if net.utility in DRAINAGE else "source"
    roots = _declared_roots(net, utility_nodes, role, node_snap_m)
    assumed = not len(roots)
    if assumed:
        roots = _assumed_roots(net)
        logger.info("%s: no %s declared; %d assumed root(s)", net.utility, role, len(roots))
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
    rows: list[pd.DataFrame] = []
    for ut in wanted:
        if ut not in networks:
            continue
        net = networks[ut]
        dist, pred, assumed = _root_tree(net, utility_nodes, node_snap_m)
        pi, si = segments_near(net, packages, distance_m)
        seg = net.segments
        eu, ev = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
        er = net.edges["seg_row"].to_numpy()
        seg_dist = np.full(len(seg), np.inf)
        np.minimum.at(seg_dist, er, np.minimum(dist[eu], dist[ev]))
        by_seg = np.argsort(er, kind="stable")
        bounds = np.searchsorted(er[by_seg], np.arange(len(seg) + 1))
        ids = seg["segment_id"].to_numpy()
        direction = "downstream" if ut in DRAINAGE else "upstream"
        if not len(pi):
            continue
        order = np.argsort(pi, kind="stable")
        pkgs, starts = np.unique(pi[order], return_index=True)
        for p, own in zip(pkgs.tolist(), np.split(si[order], starts[1:]), strict=True):
            own = np.unique(own)
            e = np.concatenate([by_seg[bounds[r]:bounds[r + 1]] for r in own])
            path_rows = _walk(net, np.r_[eu[e], ev[e]], dist, pred)
            path_rows = path_rows[~np.isin(path_rows, own)]
            all_rows = np.r_[own, path_rows]
            role = np.r_[np.where(np.isfinite(seg_dist[own]), "in_package", "unreachable"),
                         np.full(len(path_rows), direction)]
            rows.append(pd.DataFrame({
                "package_id": pkg_ids[p], "utility": ut, "segment_id": ids[all_rows],
                "role": role, "dist_to_root_m": seg_dist[all_rows], "root_assumed": assumed}))
    if not rows:
        return pd.DataFrame(columns=["package_id", "utility", "segment_id", "role",
                                     "dist_to_root_m", "root_assumed"])
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["package_id", "utility", "role", "dist_to_root_m", "segment_id"],
                           kind="stable").reset_index(drop=True)


def _walk(net: UtilityNetwork, start_nodes: np.ndarray, dist: np.ndarray, pred: np.ndarray
          ) -> np.ndarray:
    """Segment rows on the shortest-path tree from ``start_nodes`` up to their roots."""
    seen: set[int] = set()
    xs: list[int] = []
    ys: list[int] = []
    for node in np.unique(start_nodes).tolist():
        while node not in seen and np.isfinite(dist[node]) and pred[node] >= 0:
            seen.add(node)
            parent = int(pred[node])
            xs.append(node)
            ys.append(parent)
            node = parent
    if not xs:
        return np.empty(0, np.int64)
    edge_rows = _edge_rows(net, np.array(xs, np.int64), np.array(ys, np.int64))
    return np.unique(net.edges["seg_row"].to_numpy()[edge_rows])


def isolation_impact(networks: Mapping[str, UtilityNetwork], segment_ids: Iterable[str],
                     compounds: gpd.GeoDataFrame, utility_nodes: gpd.GeoDataFrame | None = None,
                     distance_m: float = 30.0, node_snap_m: float = 5.0) -> pd.DataFrame:
    """Households cut off while a water or gas segment is isolated (停水/停气影响).

    Each compound is served by its nearest segment of the utility within ``distance_m``.
    Isolating a segment (all of it, service connections along it included) cuts off the
    compounds it serves and, when that disconnects part of the network from every source,
    the compounds served there too.

    Parameters
    ----------
    networks
        From :func:`~yulin_gis.utilities._network.build_networks`.
    segment_ids
        Segments to isolate (water_supply and gas; other ids are listed with ``utility``
        and zero impact).
    compounds
        Compounds with ``compound_id`` and ``households``.
    utility_nodes, node_snap_m
        Sources, as for :func:`trace_package`.
    distance_m
        Maximum distance from a compound to its serving segment.

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``utility``, ``bridge`` (isolating the segment disconnects part of
        the network from every source), ``households_cut_off``, ``compounds_cut_off``
        (comma-separated ids), ``no_source`` (the segment's piece has no source: its
        households are unsupplied anyway; only its own compounds are listed),
        ``root_assumed``. Input order; unknown ids get ``utility=""`` and ``no_source``.
    """
    wanted = [str(s) for s in segment_ids]
    hh_all = pd.to_numeric(compounds["households"], errors="coerce").fillna(0).to_numpy(float)
    cids = compounds["compound_id"].astype(str).to_numpy()
    out: list[dict[str, Any]] = []
    done: set[str] = set()
    for ut, net in networks.items():
        seg = net.segments
        row_of = pd.Series(np.arange(len(seg)), index=seg["segment_id"].to_numpy())
        mine = [s for s in wanted if s in row_of.index]
        if not mine:
            continue
        done.update(mine)
        if ut not in PRESSURE:
            out += [{"segment_id": s, "utility": ut, "bridge": False, "households_cut_off": 0,
                     "compounds_cut_off": "", "no_source": False, "root_assumed": False}
                    for s in mine]
            continue
        out += _isolate(net, row_of[mine].to_numpy(), compounds, hh_all, cids, utility_nodes,
                        distance_m, node_snap_m)
    for s in wanted:
        if s not in done:
            out.append({"segment_id": s, "utility": "", "bridge": False, "households_cut_off": 0,
                        "compounds_cut_off": "", "no_source": True, "root_assumed": False})
    frame = pd.DataFrame(out, columns=["segment_id", "utility", "bridge", "households_cut_off",
                                       "compounds_cut_off", "no_source", "root_assumed"])
    frame = frame.drop_duplicates("segment_id").set_index("segment_id")
    return frame.loc[wanted].reset_index()


def _isolate(net: UtilityNetwork, rows: np.ndarray, compounds: gpd.GeoDataFrame,
             hh_all: np.ndarray, cids: np.ndarray, utility_nodes: gpd.GeoDataFrame | None,
             distance_m: float, node_snap_m: float) -> list[dict[str, Any]]:
    """Isolate each segment (all its edges) and find the nodes left without a root.

    On the shortest-path tree, removing the segment's tree edges cuts the subtrees below
    them; a cut subtree stays supplied when another edge joins it to the root's part or to
    a supplied subtree (a small union-find over the parts). Work per segment is
    proportional to the size of its subtrees.
    """
    seg = net.segments
    n = net.n_nodes
    dist, pred, assumed = _root_tree(net, utility_nodes, node_snap_m)
    reach = np.isfinite(dist)
    tin, tout = _euler(pred, reach)
    pre = np.empty(int(reach.sum()), np.int64)
    pre[tin[reach]] = np.flatnonzero(reach)
    eu, ev = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    er = net.edges["seg_row"].to_numpy()
    by_seg = np.argsort(er, kind="stable")
    seg_bounds = np.searchsorted(er[by_seg], np.arange(len(seg) + 1))
    inc_node = np.r_[eu, ev]
    inc_order = np.argsort(inc_node, kind="stable")
    inc_edge = np.r_[np.arange(len(eu)), np.arange(len(eu))][inc_order]
    inc_bounds = np.searchsorted(inc_node[inc_order], np.arange(n + 1))
    tree = shapely.STRtree(seg.geometry.to_numpy())
    ci, si = tree.query_nearest(compounds.geometry.to_numpy(), max_distance=distance_m)
    first = np.r_[True, ci[1:] != ci[:-1]][: len(ci)]  # one serving segment per compound
    ci, si = ci[first], si[first]
    comp_node = seg["node_u"].to_numpy()[si]
    part = np.full(n, -1, np.int64)
    result = []
    for r in rows.tolist():
        mine = by_seg[seg_bounds[r]:seg_bounds[r + 1]]
        cut_nodes = np.empty(0, np.int64)
        no_source = not (reach[eu[mine]].any() or reach[ev[mine]].any())
        if not no_source:
            cut_nodes = _cut_off(mine, eu, ev, pred, tin, tout, pre, part, inc_edge, inc_bounds)
        cut_mask = np.zeros(n, bool)
        cut_mask[cut_nodes] = True
        cut = ci[(si == r) | cut_mask[comp_node]]
        result.append({"segment_id": str(seg["segment_id"].iloc[r]), "utility": net.utility,
                       "bridge": bool(len(cut_nodes)),
                       "households_cut_off": round(float(hh_all[cut].sum())),
                       "compounds_cut_off": ",".join(sorted(cids[cut].tolist())),
                       "no_source": no_source, "root_assumed": assumed})
    return result


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for each pair, vectorised."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(total) + offsets


def _cut_off(mine: np.ndarray, eu: np.ndarray, ev: np.ndarray, pred: np.ndarray,
             tin: np.ndarray, tout: np.ndarray, pre: np.ndarray, part: np.ndarray,
             inc_edge: np.ndarray, inc_bounds: np.ndarray) -> np.ndarray:
    """Nodes disconnected from the roots when the edges ``mine`` are removed."""
    x, y = eu[mine], ev[mine]
    child = np.r_[y[pred[y] == x], x[pred[x] == y]]
    child = np.unique(child[tin[child] >= 0])
    if not len(child):
        return np.empty(0, np.int64)  # only non-tree edges: the tree still reaches everything
    child = child[np.argsort(tin[child])]  # ancestors first, so nested subtrees overwrite
    touched = []
    for k, c in enumerate(child.tolist(), start=1):
        nodes = pre[tin[c]:tout[c] + 1]
        part[nodes] = k
        touched.append(nodes)
    sub = np.unique(np.concatenate(touched))
    edges = np.unique(inc_edge[_ranges(inc_bounds[sub], inc_bounds[sub + 1])])
    edges = edges[~np.isin(edges, mine)]
    pa, pb = np.maximum(part[eu[edges]], 0), np.maximum(part[ev[edges]], 0)
    k = len(child) + 1
    links = sparse.coo_matrix((np.ones(len(pa)), (pa, pb)), shape=(k, k))
    _, group = csgraph.connected_components(links, directed=False)
    cut_parts = np.flatnonzero(group != group[0])
    out = sub[np.isin(part[sub], cut_parts)]
    part[sub] = -1
    return out


def _euler(pred: np.ndarray, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry/exit times of a DFS over the shortest-path tree (subtree of c: tin[c]..tout[c])."""
    n = len(pred)
    has_parent = reach & (pred >= 0)
    kids = np.flatnonzero(has_parent)
    parents = pred[kids]
    order = np.argsort(parents, kind="stable")
    kids, parents = kids[order], parents[order]
    start = np.searchsorted(parents, np.arange(n + 1))
    tin = np.full(n, -1, np.int64)
    tout = np.full(n, -1, np.int64)
    clock = 0
    for root in np.flatnonzero(reach & ~has_parent).tolist():
        stack = [(root, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                tout[node] = clock - 1
                continue
            tin[node] = clock
            clock += 1
            stack.append((node, True))
            stack.extend((int(k), False) for k in kids[start[node]:start[node + 1]])
    return tin, tout
