"""Utility networks (管网): graphs per utility type, topology checks and traces.

Each utility type (给水 water_supply, 雨水 storm, 污水 sewer, 雨污合流 combined_sewer, 燃气 gas,
电力 power, 通信 telecom, 有线电视 cable_tv) becomes one :class:`UtilityNetwork`: pipe segments
(管段) are edges, their end points — snapped together when closer than a tolerance — are
nodes. The arrays (node coordinates, edge end nodes, lengths) carry the heavy work
(``scipy.sparse.csgraph``), so 1,000,000 segments build and trace in seconds; the
``networkx`` graph (``UtilityNetwork.graph``, a ``MultiGraph`` keyed by ``segment_id``) is
built on first use.

Segments are normally split at junctions (pipe surveys record 管段 between 管点); an end
point lying on another segment's interior (a service pipe joining a main that was not
split) is joined to it by splitting that segment's edge there. An end point that stops
short of, or beyond, another segment is reported as a dangle.

Topology problems — dangles, unconnected pieces, duplicate segments, zero-length segments,
self-loops, missing geometries, unknown utility types — are reported with segment ids by
:func:`topology_report`; they never stop a run.

:func:`trace_package` and :func:`segments_near` live in :mod:`yulin_gis.utilities._traces`
(which also describes the roots), :func:`isolation_impact` in
:mod:`yulin_gis.utilities._isolation`; the utility type vocabulary
(:data:`UTILITY_TYPES`, :data:`DRAINAGE`, :data:`PRESSURE`, :data:`UTILITY_LABELS_ZH`,
:data:`DEFAULT_OWNERS`) in :mod:`yulin_gis.utilities._types`; both are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from yulin_gis.crs import require_metric
from yulin_gis.errors import Problem, SchemaError, ValidationError
from yulin_gis.io import missing_column_problems
from yulin_gis.utilities._isolation import isolation_impact
from yulin_gis.utilities._traces import segments_near, trace_package
from yulin_gis.utilities._types import (
    DEFAULT_OWNERS,
    DRAINAGE,
    PRESSURE,
    UTILITY_LABELS_ZH,
    UTILITY_TYPES,
)

__all__ = [
    "DEFAULT_OWNERS",
    "DRAINAGE",
    "PRESSURE",
    "UTILITY_LABELS_ZH",
    "UTILITY_TYPES",
    "NetworkSet",
    "UtilityNetwork",
    "build_networks",
    "isolation_impact",
    "segments_near",
    "topology_report",
    "trace_package",
]

logger = logging.getLogger(__name__)

_PROBLEM_COLUMNS = ["utility", "code", "segment_id", "node_id", "x", "y", "detail"]


@dataclass
class UtilityNetwork:
    """One utility's network (管网) as arrays plus a lazily built ``networkx`` graph.

    Attributes
    ----------
    utility
        Utility type, one of :data:`UTILITY_TYPES`.
    segments
        The segments in the graph: input columns plus ``owner`` (filled with
        :data:`DEFAULT_OWNERS`), ``node_u``, ``node_v`` (end node ids) and ``length_m``;
        ordered as in the input.
    node_xy
        ``(n_nodes, 2)`` coordinates of the snapped nodes.
    snap_tolerance_m
        The tolerance used to snap end points.
    problems
        Topology problems found while building (columns of :func:`topology_report`).
    edges
        Graph edges: ``u``, ``v``, ``length_m``, ``seg_row`` (row of :attr:`segments`). A
        segment with other segments' end points on its interior (T-junctions, e.g. service
        pipes joining a main) is split there into several edges; otherwise one edge.
    """

    utility: str
    segments: gpd.GeoDataFrame
    node_xy: np.ndarray
    snap_tolerance_m: float
    problems: pd.DataFrame
    edges: pd.DataFrame
    _graph: nx.MultiGraph | None = field(default=None, repr=False)
    _pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def graph(self) -> nx.MultiGraph:
        """The ``networkx.MultiGraph``: nodes carry ``x``, ``y``; edges are keyed by
        ``segment_id`` and carry ``segment_id``, ``part`` (0.. along a split segment),
        ``length_m``, ``diameter_mm``, ``owner``."""
        if self._graph is None:
            g = nx.MultiGraph(utility=self.utility)
            g.add_nodes_from((i, {"x": float(x), "y": float(y)})
                             for i, (x, y) in enumerate(self.node_xy))
            seg = self.segments
            rows = self.edges["seg_row"].to_numpy()
            sid = seg["segment_id"].to_numpy()[rows]
            diam = (pd.to_numeric(seg["diameter_mm"], errors="coerce").to_numpy(float)[rows]
                    if "diameter_mm" in seg else np.full(len(rows), np.nan))
            owner = seg["owner"].to_numpy()[rows]
            part = self.edges.groupby("seg_row").cumcount().to_numpy()
            g.add_edges_from(
                (int(u), int(v), str(s), {"segment_id": str(s), "part": int(k),
                                          "length_m": float(length), "diameter_mm": float(d),
                                          "owner": str(o)})
                for u, v, s, k, length, d, o in zip(
                    self.edges["u"], self.edges["v"], sid, part, self.edges["length_m"], diam,
                    owner, strict=True))
            self._graph = g
        return self._graph

    def degree(self) -> np.ndarray:
        """Node degrees (a self-loop counts twice)."""
        n = self.n_nodes
        return (np.bincount(self.edges["u"].to_numpy(), minlength=n)
                + np.bincount(self.edges["v"].to_numpy(), minlength=n))

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Distinct node pairs without self-loops: ``(a, b, length, edge_row)`` with ``a < b``,
        keeping the shortest edge per pair; ``edge_row`` indexes :attr:`edges`."""
        if self._pairs is None:
            u = self.edges["u"].to_numpy(np.int64)
            v = self.edges["v"].to_numpy(np.int64)
            length = self.edges["length_m"].to_numpy(float)
            rows = np.flatnonzero(u != v)
            a, b = np.minimum(u[rows], v[rows]), np.maximum(u[rows], v[rows])
            order = np.lexsort((rows, length[rows], b, a))
            a, b, rows = a[order], b[order], rows[order]
            first = np.ones(len(a), bool)
            first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
            self._pairs = (a[first], b[first], length[rows[first]], rows[first])
        return self._pairs

    def csgraph(self) -> sparse.csr_matrix:
        """Symmetric sparse adjacency weighted by edge length (shortest per node pair)."""
        a, b, w, _ = self.pairs()
        n = self.n_nodes
        w = np.maximum(w, 1e-9)  # csgraph drops explicit zeros
        m = sparse.coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        return m.tocsr()

    def components(self) -> np.ndarray:
        """Connected-piece label per node."""
        return csgraph.connected_components(self.csgraph(), directed=False)[1]


class NetworkSet(dict[str, UtilityNetwork]):
    """``dict`` utility type → :class:`UtilityNetwork`, plus :attr:`rejected`: input rows
    that are in no network (missing geometry, unknown utility type), with the reason."""

    rejected: pd.DataFrame

    def __init__(self, *args: Any, rejected: pd.DataFrame | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.rejected = (rejected if rejected is not None
                         else pd.DataFrame(columns=_PROBLEM_COLUMNS))


def _check_layer(utilities: gpd.GeoDataFrame) -> None:
    problems: list[Problem] = []
    problems += missing_column_problems(utilities, ("segment_id", "utility"), layer="utilities")
    if "segment_id" in utilities.columns:
        ids = utilities["segment_id"].astype(str)
        for dup in sorted(ids[ids.duplicated()].unique()):
            problems.append(Problem("error", "duplicate-id", "segment_id is not unique",
                                    layer="utilities", row=str(dup), field="segment_id"))
    if problems:
        raise ValidationError(problems, "Utilities cannot be turned into networks")
    require_metric(utilities.crs, "the utilities layer")


def _problem_rows(utility: str, code: str, ids: Iterable[Any], detail: str | Iterable[str] = "",
                  nodes: Iterable[Any] | None = None, xy: np.ndarray | None = None) -> pd.DataFrame:
    ids = [str(i) for i in ids]
    n = len(ids)
    details = [detail] * n if isinstance(detail, str) else list(detail)
    xy = np.full((n, 2), np.nan) if xy is None else np.asarray(xy, float).reshape(n, 2)
    return pd.DataFrame({
        "utility": [utility] * n, "code": [code] * n, "segment_id": ids,
        "node_id": pd.array(list(nodes) if nodes is not None else [pd.NA] * n, dtype="Int64"),
        "x": xy[:, 0], "y": xy[:, 1], "detail": details,
    }, columns=_PROBLEM_COLUMNS)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "node_id" else "float"
                                          if c in "xy" else "object") for c in _PROBLEM_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _endpoints(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end coordinates of lines; third item flags multipart lines."""
    kinds = shapely.get_type_id(geoms)
    multi = kinds == 5
    lines = geoms.copy()
    if multi.any():
        merged = shapely.line_merge(geoms[multi])
        lines[multi] = merged
        still = shapely.get_type_id(merged) == 5
        parts_first = shapely.get_geometry(merged[still], 0)
        parts_last = shapely.get_geometry(merged[still], -1)
        idx = np.flatnonzero(multi)[still]
        start = np.empty(len(geoms), object)
        end = np.empty(len(geoms), object)
        start[:], end[:] = lines, lines
        start[idx], end[idx] = parts_first, parts_last
    else:
        start = end = lines
    return _first_last(start)[0], _first_last(end)[1], multi & (shapely.get_type_id(lines) == 5)


def _first_last(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last coordinates of each (non-empty) line."""
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    rows = np.arange(len(lines))
    return (xy[np.searchsorted(owner, rows, side="left")],
            xy[np.searchsorted(owner, rows, side="right") - 1])


def _snap(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster points closer than ``tol`` (single linkage); return labels and node coords."""
    order = np.lexsort((points[:, 1], points[:, 0]))  # as np.unique(axis=0): by x, then y
    ordered = points[order]
    new = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)] if len(points) else np.zeros(
        0, bool)
    uniq = ordered[new]
    inv = np.empty(len(points), np.int64)
    inv[order] = np.cumsum(new) - 1
    n = len(uniq)
    if tol > 0 and n > 1:
        # candidates from a k-d tree, kept by GEOS's own test (shapely ``dwithin``)
        pairs = cKDTree(uniq).query_pairs(tol * (1 + 1e-9) + 1e-12, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        ok = shapely.dwithin(shapely.points(uniq[i]), shapely.points(uniq[j]), tol)
        i, j = np.minimum(i[ok], j[ok]), np.maximum(i[ok], j[ok])
        adj = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
        _, lab = csgraph.connected_components(adj, directed=False)
    else:
        lab = np.arange(n)
    counts = np.bincount(lab)
    xy = np.column_stack([np.bincount(lab, uniq[:, 0]), np.bincount(lab, uniq[:, 1])])
    return lab[inv], xy / counts[:, None]


def _duplicates(utility: str, seg: gpd.GeoDataFrame, tol: float) -> pd.DataFrame:
    """Segments joining the same two nodes along the same line (Hausdorff ≤ tolerance)."""
    u, v = seg["node_u"].to_numpy(), seg["node_v"].to_numpy()
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((np.arange(len(a)), b, a))
    a, b = a[order], b[order]
    same = np.r_[False, (a[1:] == a[:-1]) & (b[1:] == b[:-1])]
    if not same.any():
        return _concat([])
    group_start = np.maximum.accumulate(np.where(~same, np.arange(len(a)), 0))
    cand, first = order[same], order[group_start[same]]
    geoms = seg.geometry.to_numpy()
    dist = shapely.hausdorff_distance(geoms[cand], geoms[first])
    dup = dist <= max(tol, 1e-6)
    ids = seg["segment_id"].to_numpy()
    return _problem_rows(utility, "duplicate_segment", ids[cand[dup]],
                         [f"same nodes and line as segment {s}" for s in ids[first[dup]]])


def _split_edges(seg: gpd.GeoDataFrame, node_xy: np.ndarray, tol: float,
                 split: bool) -> pd.DataFrame:
    """Graph edges: each segment from its start to its end node through the nodes lying on
    its interior within ``tol`` (T-junctions), ordered along the line."""
    n = len(seg)
    u = seg["node_u"].to_numpy(np.int64)
    v = seg["node_v"].to_numpy(np.int64)
    length = seg["length_m"].to_numpy(float)
    rows, pos, nodes = [np.arange(n), np.arange(n)], [np.zeros(n), length], [u, v]
    if split and n and len(node_xy):
        geoms = seg.geometry.to_numpy()
        d = max(tol, 1e-6)
        # boxes around the nodes: the candidates of a ``dwithin`` query, in its order; a
        # segment's own end nodes dropped before GEOS's exact test
        x, y = node_xy[:, 0], node_xy[:, 1]
        ni, si = shapely.STRtree(geoms).query(shapely.box(x - d, y - d, x + d, y + d))
        keep = (ni != u[si]) & (ni != v[si])
        ni, si = ni[keep], si[keep]
        pts = np.full(len(node_xy), None, dtype=object)
        used = np.unique(ni)
        pts[used] = shapely.points(node_xy[used])
        keep = shapely.dwithin(pts[ni], geoms[si], d)
        ni, si = ni[keep], si[keep]
        t = shapely.line_locate_point(geoms[si], pts[ni])
        inner = (t > max(tol, 1e-6)) & (t < length[si] - max(tol, 1e-6))
        rows.append(si[inner])
        pos.append(t[inner])
        nodes.append(ni[inner])
        if inner.any():
            logger.debug("split %d segment(s) at %d junction(s)", len(np.unique(si[inner])),
                         int(inner.sum()))
    r, t, nd = np.concatenate(rows), np.concatenate(pos), np.concatenate(nodes)
    order = np.lexsort((t, r))
    r, t, nd = r[order], t[order], nd[order]
    same = r[1:] == r[:-1]
    return pd.DataFrame({"u": nd[:-1][same], "v": nd[1:][same],
                         "length_m": np.diff(t)[same], "seg_row": r[:-1][same]})


def _build_one(utility: str, part: gpd.GeoDataFrame, tol: float, split: bool) -> UtilityNetwork:
    geoms = part.geometry.to_numpy()
    start, end, multi = _endpoints(geoms)
    length = shapely.length(geoms)
    labels, node_xy = _snap(np.vstack([start, end]), tol)
    n = len(part)
    seg = part.copy()
    seg["node_u"], seg["node_v"] = labels[:n].astype(np.int64), labels[n:].astype(np.int64)
    seg["length_m"] = length
    ids = seg["segment_id"].to_numpy()
    zero = length <= 1e-6
    loops = (seg["node_u"].to_numpy() == seg["node_v"].to_numpy()) & ~zero
    frames = [
        _problem_rows(utility, "zero_length", ids[zero], "segment has no length; left out of the graph",
                      xy=start[zero]),
        _problem_rows(utility, "self_loop", ids[loops],
                      "both ends snap to one node (a ring or a segment shorter than the tolerance)",
                      xy=start[loops]),
        _problem_rows(utility, "multipart", ids[multi],
                      "multi-part line whose parts do not join; first start and last end used"),
    ]
    seg = seg.loc[~zero]
    used = np.unique(np.r_[seg["node_u"].to_numpy(), seg["node_v"].to_numpy()])
    remap = np.full(len(node_xy), -1, np.int64)
    remap[used] = np.arange(len(used))
    seg["node_u"] = remap[seg["node_u"].to_numpy()]
    seg["node_v"] = remap[seg["node_v"].to_numpy()]
    frames.append(_duplicates(utility, seg, tol))
    edges = _split_edges(seg, node_xy[used], tol, split)
    return UtilityNetwork(utility, seg, node_xy[used], tol, _concat(frames), edges)


def build_networks(utilities: gpd.GeoDataFrame, *, snap_tolerance_m: float = 0.5,
                   split_at_junctions: bool = True) -> NetworkSet:
    """Build one network per utility type, snapping segment end points within a tolerance.

    Parameters
    ----------
    utilities
        Pipe/cable segments (管线): ``segment_id`` (unique), ``utility`` (one of
        :data:`UTILITY_TYPES`), optional ``owner``, ``diameter_mm``, ``material`` ...;
        LineString/MultiLineString geometries in a metric CRS (EPSG:4546).
    snap_tolerance_m
        End points closer than this are one node (single linkage: a chain of close points
        forms one node, placed at their mean).
    split_at_junctions
        Join an end point lying within ``snap_tolerance_m`` of another segment's interior
        to it (a T-junction, as where service pipes meet a main that was not split): the
        graph then has several edges for that segment (:attr:`UtilityNetwork.edges`).

    Returns
    -------
    NetworkSet
        ``dict`` utility → :class:`UtilityNetwork` (only types present), with
        ``.rejected`` listing rows left out (missing/empty geometry, unknown utility type).
        Zero-length segments are left out of the graphs and listed in the network's
        ``problems``.

    Raises
    ------
    ValidationError
        ``segment_id`` or ``utility`` missing, or ``segment_id`` not unique.
    CRSError
        The layer is in a geographic CRS.
    """
    _check_layer(utilities)
    if snap_tolerance_m < 0:
        raise SchemaError("snap_tolerance_m must be ≥ 0")
    df = utilities.copy()
    df["segment_id"] = df["segment_id"].astype(str)
    util = df["utility"].astype("string").str.strip()
    owner = df["owner"] if "owner" in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
    owner = owner.astype("string").str.strip()
    owner = owner.where(owner != "")
    df["owner"] = owner.fillna(util.map(DEFAULT_OWNERS)).fillna("").astype(str)
    geoms = df.geometry.to_numpy()
    bad_geom = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad_geom |= ~np.isin(shapely.get_type_id(geoms), [1, 5])
    unknown = ~util.isin(UTILITY_TYPES).fillna(False).to_numpy() & ~bad_geom
    rejected = _concat([
        _problem_rows("", "missing_geometry", df["segment_id"][bad_geom],
                      "no line geometry; not in any network"),
        _problem_rows("", "unknown_utility", df["segment_id"][unknown],
                      [f"utility {u!r} is not one of {', '.join(UTILITY_TYPES)}"
                       for u in util[unknown]]),
    ])
    if "utility" in rejected:
        rejected.loc[rejected["code"] == "unknown_utility", "utility"] = util[unknown].astype(str).to_numpy()
    keep = ~bad_geom & ~unknown
    nets = NetworkSet(rejected=rejected)
    for ut in UTILITY_TYPES:
        mask = keep & (util == ut).fillna(False).to_numpy()
        if mask.any():
            nets[ut] = _build_one(ut, df.loc[mask], snap_tolerance_m, split_at_junctions)
            logger.info("%s network: %d segments, %d nodes", ut, len(nets[ut].segments),
                        nets[ut].n_nodes)
    if len(rejected):
        logger.warning("%d utility rows are in no network (see NetworkSet.rejected)", len(rejected))
    return nets


def _dangles(net: UtilityNetwork, mode: str, search_m: float) -> pd.DataFrame:
    deg = net.degree()
    ends = np.flatnonzero(deg == 1)
    if not len(ends):
        return _concat([])
    seg = net.segments
    u, v = seg["node_u"].to_numpy(), seg["node_v"].to_numpy()
    rows = np.arange(len(seg))
    at, row_at = np.r_[u, v], np.r_[rows, rows]  # the first segment (u ends, then v ends) per end
    mine = deg[at] == 1
    nodes, first = np.unique(at[mine], return_index=True)
    own_row = row_at[mine][first][np.searchsorted(nodes, ends)].astype(np.int64)
    ids = seg["segment_id"].to_numpy()
    geoms = seg.geometry.to_numpy()
    x, y, d = net.node_xy[ends, 0], net.node_xy[ends, 1], search_m
    pi, si = shapely.STRtree(geoms).query(shapely.box(x - d, y - d, x + d, y + d))
    other = si != own_row[pi]  # own segment dropped before GEOS's exact test
    pi, si = pi[other], si[other]
    pts = np.full(len(ends), None, dtype=object)
    pts[np.unique(pi)] = shapely.points(net.node_xy[ends[np.unique(pi)]])
    within = shapely.dwithin(pts[pi], geoms[si], d)
    pi, si = pi[within], si[within]
    gap = shapely.distance(pts[pi], geoms[si])
    order = np.lexsort((si, gap, pi))
    pi, si, gap = pi[order], si[order], gap[order]
    first_p = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    near = pd.DataFrame({"s": si[first_p], "gap": gap[first_p]}, index=pi[first_p])
    sel = np.arange(len(ends)) if mode == "all" else near.index.to_numpy().astype(np.int64)
    details = []
    gaps = near["gap"].to_dict()
    nearest = near["s"].to_dict()
    for p in sel.tolist():
        if p in gaps:
            details.append(f"end {gaps[p]:.2f} m from segment {ids[nearest[p]]} without joining it")
        else:
            details.append("end joined to nothing")
    return _problem_rows(net.utility, "dangle", ids[own_row[sel]], details, nodes=ends[sel],
                         xy=net.node_xy[ends[sel]])


def _pieces(net: UtilityNetwork) -> pd.DataFrame:
    seg = net.segments
    lab = net.components()
    seg_lab = lab[seg["node_u"].to_numpy()]
    total = np.bincount(seg_lab, seg["length_m"].to_numpy(float))
    if len(total) <= 1:
        return _concat([])
    main = int(np.argmax(total))
    ids = seg["segment_id"].to_numpy().astype(str)
    order = np.lexsort((ids, seg_lab))
    bounds = np.searchsorted(seg_lab[order], np.arange(len(total) + 1))
    rows, details = [], []
    for piece in range(len(total)):
        members = ids[order[bounds[piece]:bounds[piece + 1]]].tolist()
        if piece == main or not members:
            continue
        rows.append(members[0])
        details.append(f"piece of {len(members)} segment(s), {total[piece]:.1f} m, not joined to "
                       f"the main network: {', '.join(members[:20])}"
                       + (" ..." if len(members) > 20 else ""))
    return _problem_rows(net.utility, "unconnected_piece", rows, details)


def topology_report(networks: Mapping[str, UtilityNetwork] | gpd.GeoDataFrame,
                    dangles: Literal["near", "all"] = "near", dangle_search_m: float = 2.0,
                    snap_tolerance_m: float = 0.5) -> pd.DataFrame:
    """List topology problems of the networks; nothing here is fatal.

    Parameters
    ----------
    networks
        From :func:`build_networks`, or the utilities layer itself (built here with
        ``snap_tolerance_m``).
    dangles
        ``"near"`` (default): report only end nodes (degree 1) that lie within
        ``dangle_search_m`` of another segment they do not join (under/overshoots, junctions
        not split); ``"all"``: every end node (service ends included).
    dangle_search_m
        Search distance for ``"near"`` dangles.

    Returns
    -------
    pandas.DataFrame
        One row per problem: ``utility``, ``code`` (``dangle``, ``unconnected_piece``,
        ``duplicate_segment``, ``zero_length``, ``self_loop``, ``multipart``,
        ``missing_geometry``, ``unknown_utility``), ``segment_id`` (for a piece: its first
        segment; all its ids are in ``detail``), ``node_id``, ``x``, ``y``, ``detail``.
    """
    if isinstance(networks, gpd.GeoDataFrame):
        networks = build_networks(networks, snap_tolerance_m=snap_tolerance_m)
    frames = [getattr(networks, "rejected", _concat([]))]
    for ut in sorted(networks, key=lambda k: UTILITY_TYPES.index(k) if k in UTILITY_TYPES else 99):
        net = networks[ut]
        frames += [net.problems, _dangles(net, dangles, dangle_search_m), _pieces(net)]
    out = _concat(frames)
    return out.sort_values(["utility", "code", "segment_id"], kind="stable").reset_index(drop=True)
