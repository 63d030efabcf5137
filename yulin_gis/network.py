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
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from yulin_gis.errors import CRSError, Problem, SchemaError, ValidationError

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

UTILITY_TYPES: tuple[str, ...] = (
    "water_supply", "storm", "sewer", "combined_sewer", "gas", "power", "telecom", "cable_tv",
)
"""Utility types, in the order they are reported."""

DRAINAGE = frozenset({"storm", "sewer", "combined_sewer"})
"""Gravity networks traced downstream to the outfall."""

PRESSURE = frozenset({"water_supply", "gas"})
"""Pressure networks traced upstream to the source; isolation cuts households off."""

UTILITY_LABELS_ZH: dict[str, str] = {
    "water_supply": "给水", "storm": "雨水", "sewer": "污水", "combined_sewer": "雨污合流",
    "gas": "燃气", "power": "电力", "telecom": "通信", "cable_tv": "有线电视",
}

DEFAULT_OWNERS: dict[str, str] = {
    "water_supply": "玉林水务集团",
    "gas": "玉林中燃公司",
    "power": "玉林供电局",
    "telecom": "中国电信玉林分公司",
    "cable_tv": "广电网络玉林分公司",
    "storm": "市城市管理监督局",
    "sewer": "市城市管理监督局",
    "combined_sewer": "市城市管理监督局",
}
"""Owner company (权属单位) per utility type when a segment's ``owner`` is missing (seed §五(二))."""

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
    for col in ("segment_id", "utility"):
        if col not in utilities.columns:
            problems.append(Problem("error", "missing-field", f"utilities need a {col} column",
                                    layer="utilities", field=col))
    if "segment_id" in utilities.columns:
        ids = utilities["segment_id"].astype(str)
        for dup in sorted(ids[ids.duplicated()].unique()):
            problems.append(Problem("error", "duplicate-id", "segment_id is not unique",
                                    layer="utilities", row=str(dup), field="segment_id"))
    if problems:
        raise ValidationError(problems, "Utilities cannot be turned into networks")
    if utilities.crs is not None and utilities.crs.is_geographic:
        raise CRSError(f"utilities are in a geographic CRS ({utilities.crs.to_string()}); "
                       "project them to a metric CRS such as EPSG:4546 first")


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
    a = shapely.get_coordinates(shapely.get_point(start, 0))
    b = shapely.get_coordinates(shapely.get_point(end, -1))
    return a, b, multi & (shapely.get_type_id(lines) == 5)


def _snap(points: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster points closer than ``tol`` (single linkage); return labels and node coords."""
    uniq, inv = np.unique(points, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = len(uniq)
    if tol > 0 and n > 1:
        pts = np.asarray(shapely.points(uniq))
        i, j = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=tol)
        keep = i < j
        adj = sparse.coo_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n, n))
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
        pts = np.asarray(shapely.points(node_xy))
        ni, si = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=max(tol, 1e-6))
        keep = (ni != u[si]) & (ni != v[si])
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


def build_networks(utilities: gpd.GeoDataFrame, snap_tolerance_m: float = 0.5,
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
    own = pd.Series(np.r_[rows, rows], index=np.r_[u, v])  # segment row per end node
    own = own[np.isin(own.index, ends)]
    ids = seg["segment_id"].to_numpy()
    own_row = own.groupby(level=0).first().reindex(ends).to_numpy().astype(np.int64)
    pts = np.asarray(shapely.points(net.node_xy[ends]))
    tree = shapely.STRtree(seg.geometry.to_numpy())
    pi, si = tree.query(pts, predicate="dwithin", distance=search_m)
    other = si != own_row[pi]
    pi, si = pi[other], si[other]
    gap = shapely.distance(pts[pi], seg.geometry.to_numpy()[si])
    near = pd.DataFrame({"p": pi, "s": si, "gap": gap}).sort_values(["p", "gap", "s"])
    near = near.drop_duplicates("p").set_index("p")
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
        networks = build_networks(networks, snap_tolerance_m)
    frames = [getattr(networks, "rejected", _concat([]))]
    for ut in sorted(networks, key=lambda k: UTILITY_TYPES.index(k) if k in UTILITY_TYPES else 99):
        net = networks[ut]
        frames += [net.problems, _dangles(net, dangles, dangle_search_m), _pieces(net)]
    out = _concat(frames)
    return out.sort_values(["utility", "code", "segment_id"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- traces


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
        From :func:`build_networks`.
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
        From :func:`build_networks`.
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
