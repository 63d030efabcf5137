"""Isolation impact (停水/停气影响): households cut off while a water or gas segment is shut.

:func:`isolation_impact` (re-exported by :mod:`yulin_gis.utilities._network`) works on the
:class:`~yulin_gis.utilities._network.UtilityNetwork` objects of
:func:`~yulin_gis.utilities._network.build_networks`, with the roots (sources) of
:mod:`yulin_gis.utilities._traces`.

Isolating a segment removes all its graph edges at once (a segment split at T-junctions has
several). To answer that for every segment in one pass, each segment becomes a *hub* node
joined to every node of its edges, and a super-root is joined to the sources: removing the
segment's edges then disconnects exactly what removing its hub vertex disconnects (every
other segment still joins all its nodes). One depth-first search of that graph (scipy) and
the classic articulation-point test give, for every hub, the children whose subtree has no
edge back above the hub: those subtrees — contiguous ranges of the pre-order — are cut off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from yulin_gis.utilities._traces import _ranges, _roots
from yulin_gis.utilities._types import PRESSURE

if TYPE_CHECKING:
    from yulin_gis.utilities._network import UtilityNetwork

__all__ = ["isolation_impact"]

_COLUMNS = ["segment_id", "utility", "bridge", "households_cut_off", "compounds_cut_off",
            "no_source", "root_assumed"]


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
        Sources, as for :func:`~yulin_gis.utilities._traces.trace_package`.
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
    cids = compounds["compound_id"].astype(str).to_numpy(dtype=object)
    cid_rank = np.empty(len(cids), np.int64)
    cid_rank[np.argsort(cids.astype(str), kind="stable")] = np.arange(len(cids))
    cols: dict[str, list[np.ndarray]] = {c: [] for c in _COLUMNS}
    done = np.zeros(len(wanted), bool)
    for ut, net in networks.items():
        at = pd.Index(net.segments["segment_id"].to_numpy()).get_indexer(wanted)
        mine = at >= 0
        if not mine.any():
            continue
        done |= mine
        rows = at[mine]
        if ut in PRESSURE:
            part = _isolate(net, rows, compounds, hh_all, cids, cid_rank, utility_nodes,
                            distance_m, node_snap_m)
        else:
            part = _no_impact(net.segments["segment_id"].to_numpy()[rows], ut, False, False)
        for c in _COLUMNS:
            cols[c].append(part[c])
    unknown = np.array(wanted, dtype=object)[~done]
    if len(unknown):
        part = _no_impact(unknown, "", True, False)
        for c in _COLUMNS:
            cols[c].append(part[c])
    if not cols["segment_id"]:
        frame = pd.DataFrame([], columns=_COLUMNS)
    else:
        frame = pd.DataFrame({c: np.concatenate(cols[c]) for c in _COLUMNS}, columns=_COLUMNS)
    frame = frame.drop_duplicates("segment_id").set_index("segment_id")
    return frame.loc[wanted].reset_index()


def _no_impact(ids: np.ndarray, utility: str, no_source: bool, assumed: bool
               ) -> dict[str, np.ndarray]:
    n = len(ids)
    return {"segment_id": np.asarray(ids, dtype=object).astype(str).astype(object),
            "utility": np.full(n, utility, dtype=object), "bridge": np.zeros(n, bool),
            "households_cut_off": np.zeros(n, np.int64),
            "compounds_cut_off": np.full(n, "", dtype=object),
            "no_source": np.full(n, no_source, bool), "root_assumed": np.full(n, assumed, bool)}


def _isolate(net: UtilityNetwork, rows: np.ndarray, compounds: gpd.GeoDataFrame,
             hh_all: np.ndarray, cids: np.ndarray, cid_rank: np.ndarray,
             utility_nodes: gpd.GeoDataFrame | None, distance_m: float,
             node_snap_m: float) -> dict[str, Any]:
    """Cut-off households and compounds of isolating each segment row in ``rows``."""
    seg = net.segments
    n = net.n_nodes
    roots, assumed = _roots(net, utility_nodes, node_snap_m)
    tin, tout, low, pred = _hub_dfs(net, roots)
    uniq, inv = np.unique(rows, return_inverse=True)
    # a hub's child whose subtree reaches nothing above the hub is cut off with it
    kids = np.flatnonzero(pred[:n] >= n)
    kid_seg = pred[kids] - n
    cut = (low[kids] >= tin[pred[kids]]) & np.isin(kid_seg, uniq)
    kids, k_req = kids[cut], np.searchsorted(uniq, kid_seg[cut])
    tree = shapely.STRtree(seg.geometry.to_numpy())
    ci, si = tree.query_nearest(compounds.geometry.to_numpy(), max_distance=distance_m)
    first = np.r_[True, ci[1:] != ci[:-1]][: len(ci)]  # one serving segment per compound
    ci, si = ci[first], si[first]
    cpos = tin[seg["node_u"].to_numpy()[si]]
    by_pos = np.argsort(cpos, kind="stable")
    lo = np.searchsorted(cpos[by_pos], tin[kids], side="left")
    hi = np.searchsorted(cpos[by_pos], tout[kids], side="right")
    inside = ci[by_pos[_ranges(lo, hi)]]
    inside_req = np.repeat(k_req, hi - lo)
    served = np.isin(si, uniq)
    req = np.r_[inside_req, np.searchsorted(uniq, si[served])]
    comp = np.r_[inside, ci[served]]
    pairs = np.unique(req * max(len(cids), 1) + comp)  # each compound once per segment
    req, comp = pairs // max(len(cids), 1), pairs % max(len(cids), 1)
    households = np.bincount(req, hh_all[comp], minlength=len(uniq))
    by_name = np.lexsort((cid_rank[comp], req))
    names = cids[comp[by_name]].tolist()
    ends = np.searchsorted(req[by_name], np.arange(len(uniq) + 1))
    joined = np.array([",".join(names[ends[i]:ends[i + 1]]) for i in range(len(uniq))],
                      dtype=object)
    return {"segment_id": seg["segment_id"].to_numpy()[rows].astype(str).astype(object),
            "utility": np.full(len(rows), net.utility, dtype=object),
            "bridge": np.bincount(k_req, minlength=len(uniq))[inv] > 0,
            "households_cut_off": np.array([round(float(h)) for h in households],
                                           np.int64)[inv],
            "compounds_cut_off": joined[inv],
            "no_source": tin[n + uniq][inv] < 0,
            "root_assumed": np.full(len(rows), assumed, bool)}


def _hub_dfs(net: UtilityNetwork, roots: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Depth-first search of the hub graph from the super-root (see the module doc).

    Nodes ``0..n-1`` are the network's, ``n + r`` is segment row ``r``'s hub, the last one
    the super-root. Returns per node: pre-order entry ``tin`` (-1 when unreachable), the
    pre-order index ``tout`` of its last descendant, ``low`` (smallest ``tin`` adjacent to
    its subtree) and the DFS predecessor.
    """
    n, nseg = net.n_nodes, len(net.segments)
    size = n + nseg + 1
    eu, ev = net.edges["u"].to_numpy(np.int64), net.edges["v"].to_numpy(np.int64)
    hub = n + net.edges["seg_row"].to_numpy(np.int64)
    a = np.r_[eu, ev, np.full(len(roots), size - 1, np.int64)]
    b = np.r_[hub, hub, roots]
    g = sparse.csr_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(size, size))
    order, pred = csgraph.depth_first_order(g, size - 1, directed=True, return_predecessors=True)
    tin = np.full(size, -1, np.int64)
    tin[order] = np.arange(len(order))
    # the last descendant: follow the last child down (pointer jumping)
    last = np.full(size, -1, np.int64)
    np.maximum.at(last, pred[order[1:]], tin[order[1:]])
    down = np.arange(size)
    down[last >= 0] = order[last[last >= 0]]
    while True:
        nxt = down[down]
        if np.array_equal(nxt, down):
            break
        down = nxt
    tout = tin[down]
    # smallest pre-order index adjacent to each node (itself included), then over subtrees
    g.sum_duplicates()
    near = tin.copy()
    row = np.repeat(np.arange(size), np.diff(g.indptr))
    np.minimum.at(near, row, tin[g.indices])
    low = np.full(size, -1, np.int64)
    seen = tin >= 0
    low[seen] = _range_min(near[order], tin[seen], tout[seen])
    return tin, tout, low, pred


def _range_min(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``values[lo:hi + 1].min()`` for each pair (sparse table, vectorised)."""
    table = [values]
    width = 1
    while 2 * width <= len(values):
        prev = table[-1]
        table.append(np.minimum(prev[:len(prev) - width], prev[width:]))
        width *= 2
    span = hi - lo + 1
    level = np.frexp(np.maximum(span, 1))[1].astype(np.int64) - 1  # floor(log2), exact
    out = np.empty(len(lo), values.dtype)
    for k in np.unique(level).tolist():
        at = level == k
        t = table[k]
        out[at] = np.minimum(t[lo[at]], t[hi[at] - (1 << k) + 1])
    return out
