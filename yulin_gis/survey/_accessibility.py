"""Life-circle walking distances along the road network (生活圈步行距离).

GB 50180-2018 (城市居住区规划设计标准) measures the 5-, 10- and 15-minute life circles as
walking distances (300 m, 500 m, 800–1,000 m) along the street network, not as
straight-line buffers. This module

1. builds a walking graph from the road lines (:func:`walking_network`): every line vertex
   is a node, snapped on a grid of ``snap_tolerance_m``; every segment between two
   consecutive vertices is an edge weighted by its length; parallel edges are collapsed to
   the shortest one; the graph is kept as arrays plus a symmetric SciPy CSR matrix;
2. attaches compounds (小区) and facilities to the graph at their nearest point on the
   nearest road segment (an STRtree ``query_nearest`` + ``line_locate_point``), splitting
   that segment there so distances are exact, and adds the access leg from the compound
   or facility to the road;
3. runs one multi-source Dijkstra per facility kind
   (:func:`scipy.sparse.csgraph.dijkstra` with ``indices=`` all facilities of the kind,
   ``min_only=True`` and ``limit=cutoff``), see :func:`nearest_facility_distances`;
4. compares the distances with the life-circle thresholds
   (:func:`yulin_gis.survey._lifecircle.life_circle_gaps`, re-exported here).

Access legs
-----------
By default (``access_from="boundary"``) a compound is reached at the point of its polygon
*boundary* closest to the road network: the access leg is the distance from the polygon
to the nearest road segment (0 when a road touches or crosses the compound), i.e. the
residents use the gate nearest to the street. With ``access_from="centroid"`` the leg is
measured from the polygon's centroid instead. Facilities (points) are reached from their
own location. The straight-line distances are measured between the same geometries
(polygon or centroid, and the facility), so a walking distance can never be shorter than
the straight-line distance to the facility it found: the path is made of straight
segments, so the triangle inequality holds; the code asserts it and keeps
``walk >= straight`` against rounding.

Junctions must share a vertex (within the snap tolerance), as in OSM-like road data; two
lines that cross without a common vertex are treated as a bridge or underpass.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely

from yulin_gis.crs import require_metric
from yulin_gis.io import require_columns, require_unique_ids
from yulin_gis.survey._lifecircle import (
    DEFAULT_KIND_CIRCLE,
    LIFE_CIRCLE_DISTANCES_M,
    default_thresholds,
    life_circle_gaps,
)
from yulin_gis.survey._straight import _Discs, _not_below_straight, _straight_nearest

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    from scipy.sparse import csr_matrix

__all__ = [
    "DEFAULT_KIND_CIRCLE",
    "LIFE_CIRCLE_DISTANCES_M",
    "WalkNetwork",
    "default_thresholds",
    "life_circle_gaps",
    "nearest_facility_distances",
    "walking_network",
]

logger = logging.getLogger(__name__)

AccessFrom = Literal["boundary", "centroid"]

@dataclass(eq=False, repr=False)
class WalkNetwork:
    """A walking graph (步行路网) built from road lines.

    Attributes
    ----------
    node_xy
        ``(n, 2)`` float array of node coordinates (grid-snapped), in ``crs`` units.
    edge_u, edge_v
        Node ids of each edge, ``edge_u < edge_v``; one edge per node pair.
    edge_length
        Edge weights in metres (Euclidean length between the two snapped nodes).
    matrix
        Symmetric ``(n, n)`` CSR matrix of edge lengths (both directions stored).
    crs
        The CRS of the coordinates (metric), or ``None``.
    snap_tolerance_m
        Grid size used to merge vertices into nodes.
    n_parallel_collapsed
        How many duplicate node-pair edges were dropped (the shortest was kept).
    """

    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    matrix: csr_matrix
    crs: Any = None
    snap_tolerance_m: float = 1.0
    n_parallel_collapsed: int = 0

    def __repr__(self) -> str:
        return (
            f"WalkNetwork({self.n_nodes} nodes, {self.n_edges} edges, "
            f"snap {self.snap_tolerance_m} m, crs={self.crs})"
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return int(self.edge_u.shape[0])

    @cached_property
    def edge_geometries(self) -> np.ndarray:
        """Straight two-point LineStrings from ``edge_u`` to ``edge_v`` (shapely array)."""
        coords = np.stack([self.node_xy[self.edge_u], self.node_xy[self.edge_v]], axis=1)
        return np.asarray(shapely.linestrings(coords), dtype=object)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """An STRtree over :attr:`edge_geometries`."""
        return shapely.STRtree(self.edge_geometries)

    def to_networkx(self) -> nx.Graph:
        """Return the graph as :class:`networkx.Graph` (node attrs ``x``/``y``, edge ``length``)."""
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(
            (i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(self.node_xy)
        )
        graph.add_weighted_edges_from(
            zip(self.edge_u.tolist(), self.edge_v.tolist(), self.edge_length.tolist(), strict=True),
            weight="length",
        )
        return graph


def _line_rows(roads: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """Return the road geometries that are usable lines, logging the rest by id."""
    geoms = np.asarray(roads.geometry.values if hasattr(roads, "geometry") else roads.values)
    types = shapely.get_type_id(geoms)
    ok = np.isin(types, (1, 5)) & ~shapely.is_empty(geoms)
    if not ok.all():
        ids = roads["road_id"] if "road_id" in getattr(roads, "columns", ()) else roads.index
        bad = [str(v) for v in np.asarray(ids)[~ok][:20]]
        logger.warning(
            "walking network: %d road row(s) are not (non-empty) lines and were skipped: %s",
            int((~ok).sum()),
            ", ".join(bad),
        )
    return geoms[ok]


def _nodes_and_segments(parts: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid-snapped nodes and the segments between consecutive vertices (``u < v``)."""
    coords, part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, 2)), empty, empty
    cells = np.round(coords / tol).astype(np.int64)
    lo = cells.min(axis=0)
    span = int(cells[:, 1].max() - lo[1]) + 1
    keys = (cells[:, 0] - lo[0]) * span + (cells[:, 1] - lo[1])
    ukeys, inverse = np.unique(keys, return_inverse=True)
    node_cells = np.stack([ukeys // span + lo[0], ukeys % span + lo[1]], axis=1)
    same_part = part[1:] == part[:-1]
    a, b = inverse[:-1][same_part], inverse[1:][same_part]
    keep = a != b
    a, b = a[keep], b[keep]
    return node_cells.astype(np.float64) * tol, np.minimum(a, b), np.maximum(a, b)


def walking_network(
    roads: gpd.GeoDataFrame | gpd.GeoSeries,
    snap_tolerance_m: float = 1.0,
    node_crossings: bool = False,
) -> WalkNetwork:
    """Build the walking graph from road lines.

    Parameters
    ----------
    roads
        Road lines (LineString / MultiLineString) in a metric CRS. Rows that are not lines
        are skipped with a warning naming their ``road_id``.
    snap_tolerance_m
        Vertices are snapped to a grid of this size; vertices in the same cell become one
        node (node coordinates are the cell's grid point).
    node_crossings
        Also join lines where they cross without a shared vertex (nodes the whole layer
        with ``shapely.union_all``; slower). Off by default: crossings without a vertex are
        taken as bridges or underpasses, as in OSM-like data.

    Returns
    -------
    WalkNetwork
        Nodes, edges (one per node pair, the shortest kept) and the CSR matrix.
    """
    from scipy.sparse import csr_matrix

    if not (snap_tolerance_m > 0 and math.isfinite(snap_tolerance_m)):
        raise ValueError(f"snap_tolerance_m must be a positive number, got {snap_tolerance_m!r}")
    crs = getattr(roads, "crs", None)
    require_metric(crs, "the roads layer")
    lines = _line_rows(roads)
    if node_crossings and len(lines):
        lines = np.asarray([shapely.union_all(lines)], dtype=object)
    node_xy, u, v = _nodes_and_segments(shapely.get_parts(lines), snap_tolerance_m)
    length = np.hypot(*(node_xy[v] - node_xy[u]).T) if len(u) else np.zeros(0)
    order = np.lexsort((length, v, u))
    u, v, length = u[order], v[order], length[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    n_dup = int((~first).sum())
    u, v, length = u[first], v[first], length[first]
    n = len(node_xy)
    matrix = csr_matrix(
        (np.concatenate([length, length]), (np.concatenate([u, v]), np.concatenate([v, u]))),
        shape=(n, n),
    )
    logger.info(
        "walking network: %d nodes, %d edges (%d parallel edge(s) collapsed to the shortest)",
        n,
        len(u),
        n_dup,
    )
    return WalkNetwork(
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length=length,
        matrix=matrix,
        crs=crs,
        snap_tolerance_m=float(snap_tolerance_m),
        n_parallel_collapsed=n_dup,
    )


@dataclass(frozen=True)
class _Snap:
    """Where each input geometry joins the network (``edge == -1``: not attached)."""

    edge: np.ndarray
    pos: np.ndarray
    leg: np.ndarray


def _snap(network: WalkNetwork, geoms: np.ndarray) -> _Snap:
    """Attach ``geoms`` to the nearest point of the nearest edge."""
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, np.nan)
    leg = np.full(n, np.nan)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if network.n_edges == 0 or not usable.any():
        return _Snap(edge, pos, leg)
    src, hit = network.tree.query_nearest(geoms[usable], all_matches=False)
    rows = np.flatnonzero(usable)[src]
    lines = network.edge_geometries[hit]
    link = shapely.shortest_line(geoms[rows], lines)
    on_edge = shapely.get_point(link, 1)
    edge[rows] = hit
    pos[rows] = np.clip(shapely.line_locate_point(lines, on_edge), 0.0, network.edge_length[hit])
    leg[rows] = shapely.length(link)
    return _Snap(edge, pos, leg)


def _split_at(
    network: WalkNetwork, edge: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Split edges at the given points.

    Returns ``(point_node, u, v, w, n_nodes)``: the node id of each point (``-1`` where
    ``edge == -1``) and the edge list of the split graph. Points at an edge's end map to
    its end node; points at the same place share a node, so no zero-length edge appears.
    """
    n0 = network.n_nodes
    point_node = np.full(len(edge), -1, dtype=np.int64)
    ok = edge >= 0
    e, p = edge[ok], pos[ok]
    length = network.edge_length[e]
    at_u, at_v = p <= 0.0, p >= length
    nodes_ok = np.where(at_u, network.edge_u[e], network.edge_v[e])
    inner = ~(at_u | at_v)
    # unique interior positions per edge become new nodes
    pairs = pd.DataFrame({"e": e[inner], "p": p[inner]})
    uniq = pairs.drop_duplicates().sort_values(["e", "p"], kind="stable").reset_index(drop=True)
    uniq["node"] = np.arange(n0, n0 + len(uniq), dtype=np.int64)
    if len(uniq):
        nodes_ok[inner] = pairs.merge(uniq, on=["e", "p"], how="left")["node"].to_numpy()
    point_node[ok] = nodes_ok
    split_edges = uniq["e"].unique()
    keep = np.ones(network.n_edges, dtype=bool)
    keep[split_edges] = False
    ends = pd.DataFrame(
        {
            "e": np.concatenate([split_edges, split_edges]),
            "p": np.concatenate([np.zeros(len(split_edges)), network.edge_length[split_edges]]),
            "node": np.concatenate([network.edge_u[split_edges], network.edge_v[split_edges]]),
        }
    )
    chain = pd.concat([ends, uniq], ignore_index=True).sort_values(["e", "p"], kind="stable")
    ce, cp, cn = (chain[c].to_numpy() for c in ("e", "p", "node"))
    link = ce[1:] == ce[:-1]
    u = np.concatenate([network.edge_u[keep], cn[:-1][link]])
    v = np.concatenate([network.edge_v[keep], cn[1:][link]])
    w = np.concatenate([network.edge_length[keep], (cp[1:] - cp[:-1])[link]])
    return point_node, u, v, w, n0 + len(uniq)


def _validate_layers(
    compounds: gpd.GeoDataFrame, target: Any, facilities: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Check fields and CRSs; return compounds and facilities in the network's CRS."""
    require_unique_ids(compounds)
    require_columns(facilities, ["kind"], layer="facilities")
    for crs, name in (
        (compounds.crs, "compounds"),
        (target, "roads"),
        (facilities.crs, "facilities"),
    ):
        require_metric(crs, f"the {name} layer")
    if target is not None:
        if compounds.crs is not None and compounds.crs != target:
            compounds = compounds.to_crs(target)
        if facilities.crs is not None and facilities.crs != target:
            facilities = facilities.to_crs(target)
    return compounds, facilities


def _origins(compounds: gpd.GeoDataFrame, access_from: AccessFrom) -> np.ndarray:
    geoms = np.asarray(compounds.geometry.values, dtype=object)
    if access_from == "centroid":
        return shapely.centroid(geoms)
    if access_from != "boundary":
        raise ValueError(f"access_from must be 'boundary' or 'centroid', got {access_from!r}")
    return geoms


def _graph_with_sources(
    n_nodes: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    fac_node: np.ndarray,
    fac_leg: np.ndarray,
) -> tuple[csr_matrix, np.ndarray]:
    """CSR matrix of the split graph plus one one-way terminal per facility.

    A facility on the road (leg 0) is its own point node; otherwise a terminal node joined
    to its point node by a one-way edge of the access leg. Returns the matrix and each
    facility's source node (``-1`` when not attached).
    """
    from scipy.sparse import csr_matrix

    attached = fac_node >= 0
    needs_terminal = attached & (fac_leg > 0)
    terminal = np.full(len(fac_node), -1, dtype=np.int64)
    terminal[needs_terminal] = n_nodes + np.arange(int(needs_terminal.sum()))
    source = np.where(needs_terminal, terminal, fac_node)
    total = n_nodes + int(needs_terminal.sum())
    rows = np.concatenate([u, v, terminal[needs_terminal]])
    cols = np.concatenate([v, u, fac_node[needs_terminal]])
    data = np.concatenate([w, w, fac_leg[needs_terminal]])
    return csr_matrix((data, (rows, cols)), shape=(total, total)), source


def _kinds_to_use(facilities: gpd.GeoDataFrame, kinds: Iterable[str] | None) -> list[str]:
    present = sorted(facilities["kind"].dropna().astype(str).unique())
    if kinds is None:
        return present
    wanted = list(dict.fromkeys(str(k) for k in kinds))
    missing = [k for k in wanted if k not in present]
    if missing:
        logger.warning("no facilities of kind(s) %s: their distances are all NaN", missing)
    return wanted


def nearest_facility_distances(
    compounds: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None,
    facilities: gpd.GeoDataFrame, *,
    kinds: Iterable[str] | None = None,
    cutoff_m: float = 2000.0,
    network: WalkNetwork | None = None,
    access_from: AccessFrom = "boundary",
) -> pd.DataFrame:
    """Walking distance from every compound to the nearest facility of each kind.

    Parameters
    ----------
    compounds
        Compound (小区) polygons or points with ``compound_id``.
    roads
        Road lines (used only when ``network`` is not given; may then be None).
    facilities
        Facility points with ``kind`` (and ``facility_id`` if available).
    kinds
        Facility kinds to measure; default: every kind present, sorted.
    cutoff_m
        Search radius along the network; farther facilities count as none (NaN).
    network
        A prebuilt :class:`WalkNetwork` of ``roads`` (to reuse it between calls).
    access_from
        ``"boundary"`` (default: the access leg starts at the compound polygon's point
        nearest to the road) or ``"centroid"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``compound_id`` in input order; per kind ``walk_<kind>_m`` (walking
        distance including both access legs; NaN when none within ``cutoff_m``, or when
        the compound has no geometry), ``straight_<kind>_m`` (straight-line distance to the
        nearest facility of the kind, no cutoff) and ``facility_<kind>_id`` (the facility
        reached; missing when none).
    """
    if network is None and roads is None:
        raise ValueError("give the roads layer or a prebuilt network")
    crs = network.crs if network is not None else getattr(roads, "crs", None)
    compounds, facilities = _validate_layers(compounds, crs, facilities)
    net = network if network is not None else walking_network(roads)
    origins = _origins(compounds, access_from)
    fac_geoms = np.asarray(facilities.geometry.values, dtype=object)
    fac_ids = (
        facilities["facility_id"].astype(str).to_numpy()
        if "facility_id" in facilities.columns
        else facilities.index.astype(str).to_numpy()
    )
    use_kinds = _kinds_to_use(facilities, kinds)
    fac_kind = facilities["kind"].astype(str).to_numpy()
    in_kinds = np.isin(fac_kind, use_kinds)
    fac_used = fac_geoms.copy()
    fac_used[~in_kinds] = None
    no_fac = in_kinds & (shapely.is_missing(fac_geoms) | shapely.is_empty(fac_geoms))
    if no_fac.any():
        logger.warning(
            "%d facility row(s) have no geometry and were left out: %s",
            int(no_fac.sum()),
            ", ".join(fac_ids[no_fac][:20]),
        )
    c_node, c_leg, matrix, f_source = _attach(net, origins, fac_used)
    no_geom = c_node < 0
    if no_geom.any():
        logger.warning(
            "%d compound(s) have no geometry or no road nearby; their distances are NaN: %s",
            int(no_geom.sum()),
            ", ".join(map(str, compounds["compound_id"].to_numpy()[no_geom][:20])),
        )
    columns: dict[str, Any] = {}
    discs = _Discs.of(origins)
    for kind in use_kinds:
        is_kind = fac_kind == kind
        walk, found = _distances_for_kind(matrix, f_source, is_kind, c_node, c_leg, cutoff_m)
        walk = _not_below_straight(walk, found, origins, fac_geoms, kind)
        columns[f"walk_{kind}_m"] = walk
        columns[f"straight_{kind}_m"] = _straight_nearest(origins, fac_geoms[is_kind], discs)
        ids = np.full(len(origins), None, dtype=object)
        ids[found >= 0] = fac_ids[found[found >= 0]]
        columns[f"facility_{kind}_id"] = ids
    out = pd.DataFrame(
        columns, index=pd.Index(compounds["compound_id"].to_numpy(), name="compound_id")
    )
    logger.info(
        "life-circle distances: %d compound(s) × %d kind(s), cutoff %.0f m",
        len(origins),
        len(use_kinds),
        cutoff_m,
    )
    return out


def _attach(
    net: WalkNetwork, origins: np.ndarray, fac_geoms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, csr_matrix, np.ndarray]:
    """Snap compounds and facilities, split the edges there, add facility terminals.

    Returns each compound's node and access leg, the graph matrix and each facility's
    source node (``-1``: not attached).
    """
    snap_c, snap_f = _snap(net, origins), _snap(net, fac_geoms)
    nc = len(origins)
    nodes, u, v, w, n_nodes = _split_at(
        net, np.concatenate([snap_c.edge, snap_f.edge]), np.concatenate([snap_c.pos, snap_f.pos])
    )
    matrix, f_source = _graph_with_sources(n_nodes, u, v, w, nodes[nc:], snap_f.leg)
    return nodes[:nc], snap_c.leg, matrix, f_source


def _distances_for_kind(
    matrix: csr_matrix,
    f_source: np.ndarray,
    is_kind: np.ndarray,
    c_node: np.ndarray,
    c_leg: np.ndarray,
    cutoff_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One multi-source Dijkstra; returns compound distances and facility index found."""
    from scipy.sparse.csgraph import dijkstra

    nc = len(c_node)
    walk = np.full(nc, np.nan)
    found = np.full(nc, -1, dtype=np.int64)
    fac_idx = np.flatnonzero(is_kind & (f_source >= 0))
    if len(fac_idx) == 0:
        return walk, found
    # several facilities may share a source node (same spot on the road): keep the first
    src_nodes, first = np.unique(f_source[fac_idx], return_index=True)
    node_to_fac = dict(zip(src_nodes.tolist(), fac_idx[first].tolist(), strict=True))
    dist, _pred, origin = dijkstra(
        matrix,
        directed=True,
        indices=src_nodes,
        min_only=True,
        limit=cutoff_m,
        return_predecessors=True,
    )
    ok = c_node >= 0
    d = np.full(nc, np.inf)
    d[ok] = dist[c_node[ok]] + c_leg[ok]
    reach = np.isfinite(d) & (d <= cutoff_m)
    walk[reach] = d[reach]
    lookup = np.vectorize(node_to_fac.__getitem__, otypes=[np.int64])
    if reach.any():
        found[reach] = lookup(origin[c_node[reach]])
    return walk, found


