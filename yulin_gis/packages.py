"""Contiguous renovation packages (连片改造片区/项目包).

Groups eligible compounds (小区) into packages that never cross the planning unit
(community 社区 by default, or sub-district 街道), are connected in the neighbour graph,
hold between a floor and a ceiling of households (optionally a ceiling of buildings and
of cost), are compact and group compounds of similar priority. Scattered small old
buildings ("插花式") are absorbed into a neighbouring package of the same unit when within
reach. Where a unit cannot meet the limits, the package is kept and flagged with the
reason (unit total below the floor, a single compound above the ceiling, an island with
no neighbour within reach): nothing is glued on silently and nothing is dropped.

The solver (:func:`partition_arrays`) works on integer arrays, every connected piece of
every unit at once (units are independent: edges between them are dropped first):

1. a minimum spanning forest of the neighbour graph, edge weights mixing centroid
   distance and priority difference (both scaled), compounds above a ceiling left out;
2. a bottom-up cut at the floor: each node gathers its children's leftovers by best fit
   (the smallest child that reaches the floor, else the largest) and never passes a
   ceiling, so packages stay close to the floor (as many as possible, the max-p aim);
3. the leftovers below the floor handled smallest first: merged with an undersized
   neighbour (two leftovers make a package), else merged with a full neighbour and
   re-split in two valid packages (one more package), else merged into the nearest
   neighbour the ceilings allow;
4. a few deterministic restarts (other roots, jitter), the best kept per connected
   piece (fewest violations, then most packages, then most compact);
5. local improvement: boundary compounds move to the adjacent package they fit better
   (closer centroid, nearer priority) when limits and contiguity allow.

Time is O(E log N) per restart, memory linear (never an N × N matrix); same input and
``seed`` give the same packages.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from yulin_gis.adjacency import compound_adjacency, graph_arrays
from yulin_gis.errors import Problem, SchemaError, ValidationError

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


# --------------------------------------------------------------------------- solver core


@dataclass
class _Instance:
    """Arrays shared by all restarts of the solver."""

    n: int
    u: np.ndarray
    v: np.ndarray
    load: np.ndarray  # (n, d): households first, then the extra ceiling dimensions
    caps: np.ndarray  # (d,)
    floor: float
    xy: np.ndarray
    prio: np.ndarray
    region: np.ndarray  # connected piece of the within-unit graph
    oversize: np.ndarray
    dscale: float = 1.0
    pscale: float = 1.0
    pedge: float = 1.0
    alpha: float = 1.0
    lists: tuple[list[int], list[int], list[list[float]], list[float], list[list[float]]] = (
        [], [], [], [], [])
    indptr: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    indices: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def _csr(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric adjacency as CSR ``indptr``/``indices`` (neighbours sorted)."""
    a = np.concatenate([u, v])
    b = np.concatenate([v, u])
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b


def _mst(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum spanning forest edges ``(u, v)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    if len(u) == 0:
        return u, v
    mat = coo_matrix((w + 1e-9, (u, v)), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(mat).tocoo()
    return tree.row.astype(np.int64), tree.col.astype(np.int64)


def _edge_weights(inst: _Instance, u: np.ndarray, v: np.ndarray, alpha: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Centroid distance (scaled) + ``alpha`` × priority difference (scaled) + jitter."""
    d = np.hypot(*(inst.xy[u] - inst.xy[v]).T)
    p = np.abs(inst.prio[u] - inst.prio[v])
    return d / inst.dscale + alpha * p / inst.pscale + 1e-3 * rng.random(len(u))


def _roots(inst: _Instance, comp: np.ndarray, variant: int,
           rng: np.random.Generator) -> dict[int, int]:
    """Pick one root per tree: a peripheral node, its antipode, or a seeded random node."""
    order = np.argsort(comp, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(comp[order]) != 0])
    roots: dict[int, int] = {}
    for s, e in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        nodes = order[s:e]
        pts = inst.xy[nodes]
        if variant % 3 == 2:
            roots[int(comp[nodes[0]])] = int(nodes[rng.integers(len(nodes))])
            continue
        far = nodes[int(np.argmax(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)))]
        if variant % 3 == 1:
            far = nodes[int(np.argmax(((pts - inst.xy[far]) ** 2).sum(axis=1)))]
        roots[int(comp[nodes[0]])] = int(far)
    return roots


def _bfs(n: int, tu: np.ndarray, tv: np.ndarray,
         roots: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first order and parent (-1 at roots) over a spanning forest.

    A virtual super-root joined to every root turns the forest into one tree, so a
    single C-level traversal (``scipy.sparse.csgraph.breadth_first_order``) suffices.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    r = np.asarray(roots, dtype=np.int64)
    su = np.concatenate([tu, np.full(len(r), n, dtype=np.int64)])
    sv = np.concatenate([tv, r])
    mat = coo_matrix((np.ones(len(su)), (su, sv)), shape=(n + 1, n + 1)).tocsr()
    order, pred = breadth_first_order(mat, n, directed=False, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[parent == n] = -1
    return order[1:].astype(np.int64), parent


def _cut_tree(inst: _Instance, order: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Cut the forest bottom-up at the floor, never letting a package pass a ceiling.

    Each node collects its children's residual groups (each below the floor) by best
    fit: the smallest child that lifts the group to the floor, else the largest child,
    repeated until the floor is reached. The children left over (and any that would
    break a ceiling) stay as undersized packages for the merge phase, where pairs of
    them can form a new package - this keeps packages close to the floor, so there are
    more of them (the max-p objective).
    """
    d = inst.load.shape[1]
    caps = inst.caps.tolist()
    floor = inst.floor
    acc = inst.load[:, 0].tolist()
    extra = inst.load[:, 1:].tolist() if d > 1 else None
    link = list(range(inst.n))
    par = parent.tolist()
    pending: list[list[int] | None] = [None] * inst.n
    cap0 = caps[0]
    for x in reversed(order.tolist()):
        kids = pending[x]
        if kids is not None:
            if len(kids) > 1:
                kids.sort(key=acc.__getitem__)
            a = acc[x]
            while a < floor and kids:
                if len(kids) == 1:
                    pick = kids.pop()
                else:
                    need = floor - a
                    pick = next((c for c in kids if acc[c] >= need), kids[-1])
                    kids.remove(pick)
                if a + acc[pick] > cap0:
                    continue
                if extra is not None:
                    ex, ec = extra[x], extra[pick]
                    if any(ex[k] + ec[k] > caps[k + 1] for k in range(d - 1)):
                        continue
                    extra[x] = [ex[k] + ec[k] for k in range(d - 1)]
                a += acc[pick]
                link[pick] = x
            acc[x] = a
        if acc[x] < floor:
            p = par[x]
            if p >= 0:
                pk = pending[p]
                if pk is None:
                    pending[p] = [x]
                else:
                    pk.append(x)
    lab = list(range(inst.n))
    for x in order.tolist():
        if link[x] != x:
            lab[x] = lab[link[x]]
    return np.asarray(lab, dtype=np.int64)


def _split_two(nl: list[int], inst: _Instance) -> list[bool] | None:
    """Split a connected node set in two packages both within the limits, or ``None``.

    A minimum spanning tree of the set (Kruskal, plain Python: the sets are small) is
    built and the tree edge whose removal leaves both sides within [floor, ceilings]
    and best balanced is cut. Returns a boolean mask over ``nl`` of one side.
    """
    m = len(nl)
    local = {x: k for k, x in enumerate(nl)}
    ip, ind, xy, prio, load = inst.lists
    edges: list[tuple[float, int, int]] = []
    for k, x in enumerate(nl):
        for y in ind[ip[x]:ip[x + 1]]:
            j = local.get(y)
            if j is not None and k < j:
                w = (math.hypot(xy[x][0] - xy[y][0], xy[x][1] - xy[y][1]) / inst.dscale
                     + inst.alpha * abs(prio[x] - prio[y]) / inst.pscale)
                edges.append((w, k, j))
    edges.sort()
    uf = list(range(m))

    def find(a: int) -> int:
        while uf[a] != a:
            uf[a] = uf[uf[a]]
            a = uf[a]
        return a

    adj: list[list[int]] = [[] for _ in range(m)]
    n_tree = 0
    for _, k, j in edges:
        rk, rj = find(k), find(j)
        if rk != rj:
            uf[rk] = rj
            adj[k].append(j)
            adj[j].append(k)
            n_tree += 1
    if n_tree != m - 1:
        return None
    order, par = [0], [-1] * m
    seen = [False] * m
    seen[0] = True
    for x in order:
        for y in adj[x]:
            if not seen[y]:
                seen[y] = True
                par[y] = x
                order.append(y)
    return _best_cut(order, par, [list(load[x]) for x in nl], inst)


def _best_cut(order: list[int], par: list[int], sub: list[list[float]],
              inst: _Instance) -> list[bool] | None:
    """Mask of the most balanced valid subtree of a rooted tree, or ``None``."""
    d = len(sub[0])
    for x in reversed(order[1:]):
        p = par[x]
        for k in range(d):
            sub[p][k] += sub[x][k]
    total = sub[order[0]]
    caps = inst.caps.tolist()
    best: tuple[float, int] | None = None
    for x in order[1:]:
        s = sub[x]
        r = [total[k] - s[k] for k in range(d)]
        if (s[0] >= inst.floor and r[0] >= inst.floor
                and all(s[k] <= caps[k] and r[k] <= caps[k] for k in range(d))):
            key = (abs(s[0] - r[0]), x)
            if best is None or key < best:
                best = key
    if best is None:
        return None
    mask = [False] * len(order)
    mask[best[1]] = True
    for x in order:
        if par[x] >= 0 and mask[par[x]]:
            mask[x] = True
    return mask


class _Packing:
    """Package bookkeeping for the merge phase in plain Python lists (small, hot loops).

    Members are built lazily (only packages the merge phase touches); loads, centroid
    sums and counts are kept per label, so a merge costs O(members).
    """

    def __init__(self, label: np.ndarray, inst: _Instance) -> None:
        self.inst = inst
        self.label: list[int] = label.tolist()
        n_lab = int(label.max()) + 1
        self.n_lab = n_lab
        order = np.argsort(label, kind="stable")
        self._bounds = np.searchsorted(label[order], np.arange(n_lab + 1)).tolist()
        self._order: list[int] = order.tolist()
        self._members: dict[int, list[int]] = {}
        size = n_lab + inst.n + 1
        d = inst.load.shape[1]
        self.loads = [np.bincount(label, inst.load[:, k], size).tolist() for k in range(d)]
        self.caps = inst.caps.tolist()
        self.sx = np.bincount(label, inst.xy[:, 0], size).tolist()
        self.sy = np.bincount(label, inst.xy[:, 1], size).tolist()
        self.cnt = np.bincount(label, minlength=size).tolist()
        self.ip = inst.indptr.tolist()
        self.ind = inst.indices.tolist()
        self.next_label = n_lab

    def members(self, k: int) -> list[int]:
        if k not in self._members:
            self._members[k] = (self._order[self._bounds[k]:self._bounds[k + 1]]
                                if k < self.n_lab else [])
        return self._members[k]

    def neighbours(self, k: int) -> list[int]:
        ip, ind, lab = self.ip, self.ind, self.label
        out = {lab[y] for x in self.members(k) for y in ind[ip[x]:ip[x + 1]]}
        out.discard(k)
        return sorted(out)

    def dist2(self, a: int, b: int) -> float:
        """Squared distance between the centroids of two packages."""
        na, nb = self.cnt[a] or 1, self.cnt[b] or 1
        return ((self.sx[a] / na - self.sx[b] / nb) ** 2
                + (self.sy[a] / na - self.sy[b] / nb) ** 2)

    def fits_union(self, a: int, b: int) -> bool:
        return all(lo[a] + lo[b] <= cap for lo, cap in zip(self.loads, self.caps, strict=True))

    def fits(self, a: int) -> bool:
        return all(lo[a] <= cap for lo, cap in zip(self.loads, self.caps, strict=True))

    def _move_totals(self, a: int, b: int) -> None:
        for lo in self.loads:
            lo[b] += lo[a]
            lo[a] = 0.0
        self.sx[b] += self.sx[a]
        self.sy[b] += self.sy[a]
        self.cnt[b] += self.cnt[a]
        self.sx[a] = self.sy[a] = 0.0
        self.cnt[a] = 0

    def merge(self, a: int, b: int) -> None:
        """Merge package ``a`` into ``b``."""
        ma = self.members(a)
        for x in ma:
            self.label[x] = b
        self.members(b).extend(ma)
        self._members[a] = []
        self._move_totals(a, b)

    def _set(self, k: int, nodes: list[int]) -> None:
        self._members[k] = nodes
        _, _, xy, _, load = self.inst.lists
        for x in nodes:
            self.label[x] = k
        for j, lo in enumerate(self.loads):
            lo[k] = sum(load[x][j] for x in nodes)
        self.sx[k] = sum(xy[x][0] for x in nodes)
        self.sy[k] = sum(xy[x][1] for x in nodes)
        self.cnt[k] = len(nodes)

    def resplit(self, a: int, b: int) -> bool:
        """Merge ``a`` into ``b`` and split the union in two valid packages if possible."""
        nodes = sorted(self.members(a) + self.members(b))
        mask = _split_two(nodes, self.inst)
        if mask is None:
            return False
        new = self.next_label
        self.next_label += 1
        self._members[a] = []
        self._move_totals(a, b)
        self._set(b, [x for x, m in zip(nodes, mask, strict=True) if not m])
        self._set(new, [x for x, m in zip(nodes, mask, strict=True) if m])
        return True


def _merge_undersized(label: np.ndarray, inst: _Instance) -> np.ndarray:
    """Merge packages below the floor into adjacent ones (or merge and re-split).

    Smallest first: an undersized neighbour is preferred (two leftovers make a new
    package); else the union with a full neighbour holding two floors is re-split in
    two valid packages (nearest neighbour first); else the nearest neighbour the
    ceilings allow takes it; as a last resort a neighbour already above the ceiling.
    """
    pk = _Packing(label, inst)
    floor = inst.floor
    hh = pk.loads[0]
    heap = [(hh[k], k) for k in range(pk.n_lab) if pk.cnt[k] and hh[k] < floor]
    heapq.heapify(heap)
    while heap:
        size, a = heapq.heappop(heap)
        if hh[a] != size or not pk.cnt[a]:
            continue
        neigh = pk.neighbours(a)
        if not neigh:
            continue
        neigh.sort(key=lambda c: (hh[c] >= floor, pk.dist2(a, c), c))
        if hh[neigh[0]] >= floor and any(
                hh[a] + hh[c] >= 2 * floor and pk.resplit(a, c) for c in neigh):
            continue
        b = next((c for c in neigh if pk.fits_union(a, c)), -1)
        if b >= 0:
            pk.merge(a, b)
            if hh[b] < floor:
                heapq.heappush(heap, (hh[b], b))
            continue
        if any(hh[c] >= floor and pk.resplit(a, c) for c in neigh):
            continue
        over = [c for c in neigh if not pk.fits(c)]
        if over:  # glue to a package already above the ceiling: one violation, not two
            pk.merge(a, over[0])
    return np.asarray(pk.label, dtype=np.int64)


def _score(label: np.ndarray, inst: _Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per region: violations, package count and inertia (sum of squared spreads)."""
    n_lab = int(label.max()) + 1
    cnt = np.bincount(label, minlength=n_lab).astype(float)
    sums = np.column_stack([np.bincount(label, inst.load[:, k], n_lab)
                            for k in range(inst.load.shape[1])])
    used = cnt > 0
    bad = (sums[:, 0] < inst.floor) | (sums > inst.caps).any(axis=1)
    cx = np.bincount(label, inst.xy[:, 0], n_lab) / np.maximum(cnt, 1)
    cy = np.bincount(label, inst.xy[:, 1], n_lab) / np.maximum(cnt, 1)
    spread = (inst.xy[:, 0] - cx[label]) ** 2 + (inst.xy[:, 1] - cy[label]) ** 2
    reg_of_lab = np.zeros(n_lab, dtype=np.int64)
    reg_of_lab[label] = inst.region
    n_reg = int(inst.region.max()) + 1
    viol = np.bincount(reg_of_lab[used & bad], minlength=n_reg)
    npk = np.bincount(reg_of_lab[used], minlength=n_reg)
    inertia = np.bincount(inst.region, spread, n_reg)
    return viol, npk, inertia


def _one_restart(inst: _Instance, variant: int, seed: int, priority_weight: float) -> np.ndarray:
    """One construction: spanning forest, bottom-up cut, merge of leftovers."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(seed + 7919 * variant)
    inst.alpha = priority_weight
    keep = ~(inst.oversize[inst.u] | inst.oversize[inst.v])
    u, v = inst.u[keep], inst.v[keep]
    tu, tv = _mst(inst.n, u, v, _edge_weights(inst, u, v, inst.alpha, rng))
    _, comp = connected_components(
        coo_matrix((np.ones(len(tu)), (tu, tv)), shape=(inst.n, inst.n)), directed=False)
    roots = _roots(inst, comp, variant, rng)
    order, parent = _bfs(inst.n, tu, tv, [roots[k] for k in sorted(roots)])
    return _merge_undersized(_cut_tree(inst, order, parent), inst)


def _connected_without(members: set[int], x: int, inst: _Instance) -> bool:
    """Whether ``members - {x}`` is connected in the graph (non-empty)."""
    rest = members - {x}
    if not rest:
        return False
    start = min(rest)
    seen = {start}
    stack = [start]
    ip, ind = inst.indptr, inst.indices
    while stack:
        y = stack.pop()
        for z in ind[ip[y]:ip[y + 1]].tolist():
            if z in rest and z not in seen:
                seen.add(z)
                stack.append(z)
    return len(seen) == len(rest)


def _move_cost(inst: _Instance, nodes: np.ndarray, labs: np.ndarray,
               cen: np.ndarray) -> np.ndarray:
    """Cost of nodes in packages: scaled squared distance to the centroid + priority term."""
    dd = (inst.xy[nodes, 0] - cen[labs, 0]) ** 2 + (inst.xy[nodes, 1] - cen[labs, 1]) ** 2
    pp = (inst.prio[nodes] - cen[labs, 2]) ** 2
    return dd / inst.dscale**2 + inst.alpha * pp / inst.pedge**2


def _improve(label: np.ndarray, inst: _Instance, passes: int = 2) -> np.ndarray:
    """Local improvement: move boundary compounds to the adjacent package they fit better.

    A move is made only when it lowers the compound's cost (squared distance to the
    package centroid plus weighted squared priority difference, both scaled), keeps the
    source package at or above the floor and connected, and keeps the target within
    its ceilings. Each pass evaluates candidates in vectorised form, then applies them
    best first.
    """
    label = label.copy()
    d = inst.load.shape[1]
    for _ in range(passes):
        n_lab = int(label.max()) + 1
        cnt = np.maximum(np.bincount(label, minlength=n_lab), 1)
        cx = np.bincount(label, inst.xy[:, 0], n_lab) / cnt
        cy = np.bincount(label, inst.xy[:, 1], n_lab) / cnt
        cp = np.bincount(label, inst.prio, n_lab) / cnt
        loads = np.column_stack([np.bincount(label, inst.load[:, k], n_lab) for k in range(d)])
        src = np.concatenate([inst.u, inst.v])
        dst = label[np.concatenate([inst.v, inst.u])]
        cand = (label[src] != dst) & ~inst.oversize[src]
        src, dst = src[cand], dst[cand]
        cen = np.column_stack([cx, cy, cp])
        gain = _move_cost(inst, src, label[src], cen) - _move_cost(inst, src, dst, cen)
        ok = gain > 1e-9
        src, dst, gain = src[ok], dst[ok], gain[ok]
        if len(src) == 0:
            break
        order = np.lexsort((dst, src, -gain))
        members: dict[int, set[int]] = {}
        moved: set[int] = set()
        n_moves = 0
        for x, b in zip(src[order].tolist(), dst[order].tolist(), strict=True):
            a = int(label[x])
            if x in moved or a == b:
                continue
            lx = inst.load[x]
            if loads[a, 0] - lx[0] < inst.floor or (loads[b] + lx > inst.caps).any():
                continue
            nb = inst.indices[inst.indptr[x]:inst.indptr[x + 1]]
            if not (label[nb] == b).any():  # its link to b moved away earlier in this pass
                continue
            if a not in members:
                members[a] = set(np.flatnonzero(label == a).tolist())
            if not _connected_without(members[a], x, inst):
                continue
            members[a].discard(x)
            if b in members:
                members[b].add(x)
            label[x] = b
            loads[a] -= lx
            loads[b] += lx
            moved.add(x)
            n_moves += 1
        if n_moves == 0:
            break
    return label


def partition_arrays(
    u: np.ndarray,
    v: np.ndarray,
    households: np.ndarray,
    xy: np.ndarray,
    *,
    floor: float,
    ceiling: float,
    priority: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    extra_loads: np.ndarray | None = None,
    extra_caps: Sequence[float] = (),
    restarts: int = 2,
    seed: int = 0,
    priority_weight: float = 1.0,
    improve: int = 1,
) -> np.ndarray:
    """Partition a graph into contiguous packages within size limits (the solver core).

    Parameters
    ----------
    u, v
        Edge endpoints (integer node indices ``0..n-1``).
    households
        Size per node; packages aim at ``floor <= sum <= ceiling``.
    xy
        ``(n, 2)`` node centroids in metres (for compactness).
    floor, ceiling
        Household limits per package.
    priority
        Optional attribute grouped by similarity (renovation priority).
    groups
        Optional planning-unit code per node; edges between groups are ignored.
    extra_loads, extra_caps
        Optional ``(n, d)`` further sizes (buildings, cost) with ceilings only.
    restarts
        Deterministic constructions tried; the best per connected piece is kept.
    seed
        Seed of the tie-breaking jitter.
    priority_weight
        Weight of the (standardised) priority difference against the (median-scaled)
        centroid distance in the spanning-tree edge weights.
    improve
        Passes of local improvement (boundary moves) on the chosen partition; 0 skips.

    Returns
    -------
    numpy.ndarray
        A dense package label (0..k-1) per node.
        Packages may still violate the limits where the graph does not allow them.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(households)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if groups is not None:
        same = np.asarray(groups)[u] == np.asarray(groups)[v]
        u, v = u[same], v[same]
    load = np.asarray(households, dtype=float).reshape(n, 1)
    caps = [float(ceiling)]
    if extra_loads is not None and len(extra_caps):
        load = np.column_stack([load, np.asarray(extra_loads, dtype=float).reshape(n, -1)])
        caps += [float(c) for c in extra_caps]
    _, region = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)),
                                     directed=False)
    inst = _Instance(n=n, u=u, v=v, load=load, caps=np.asarray(caps), floor=float(floor),
                     xy=np.asarray(xy, dtype=float),
                     prio=np.zeros(n) if priority is None else np.asarray(priority, dtype=float),
                     region=region.astype(np.int64),
                     oversize=np.asarray((load > np.asarray(caps)).any(axis=1), dtype=bool))
    inst.indptr, inst.indices = _csr(n, u, v)
    inst.lists = (inst.indptr.tolist(), inst.indices.tolist(), inst.xy.tolist(),
                  inst.prio.tolist(), inst.load.tolist())
    dist = np.hypot(*(inst.xy[u] - inst.xy[v]).T)
    inst.dscale = float(np.median(dist)) if len(dist) and np.median(dist) > 0 else 1.0
    inst.pscale = float(np.std(inst.prio)) or 1.0
    inst.pedge = float(np.mean(np.abs(inst.prio[u] - inst.prio[v]))) if len(u) else 0.0
    inst.pedge = inst.pedge or 1.0
    best_label = np.arange(n)
    best_key: np.ndarray | None = None
    for r in range(max(1, restarts)):
        label = _one_restart(inst, r, seed, priority_weight)
        viol, npk, inertia = _score(label, inst)
        key = np.column_stack([viol, -npk, inertia])
        if best_key is None:
            best_label, best_key = label, key
            continue
        better = (key[:, 0] < best_key[:, 0]) | (
            (key[:, 0] == best_key[:, 0]) & ((key[:, 1] < best_key[:, 1]) | (
                (key[:, 1] == best_key[:, 1]) & (key[:, 2] < best_key[:, 2] - 1e-9))))
        take = better[region]
        best_label = np.where(take, label, best_label)
        best_key = np.where(better[:, None], key, best_key)
    # labels made by re-splits are counters, equal across pieces: make them unique
    key = inst.region * (int(best_label.max()) + 1) + best_label
    best_label = np.unique(key, return_inverse=True)[1].astype(np.int64)
    if improve > 0:
        inst.alpha = priority_weight
        best_label = _improve(best_label, inst, improve)
    return best_label


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
    for col in ("compound_id", unit, "households"):
        if col not in compounds.columns:
            problems.append(Problem("error", "missing-field", f"column {col!r} is needed for packages",
                                    layer="compounds", field=col))
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
                   closing_m: float) -> gpd.GeoDataFrame:
    """One row per package with ids, totals, union geometry, compactness and flags."""
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
    pk["package_id"] = [f"{un or 'NA'}-P{k:02d}" for un, k in zip(pk["unit"], pk["n"], strict=True)]
    unit_size = df.groupby("unit").size()
    piece_size = df.groupby("piece").size()
    pieces = g["piece"].first()
    geoms = np.asarray(elig.geometry.values)
    nogeo = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    oversize = np.asarray((loads > np.asarray([c for _, c in caps])).any(axis=1), dtype=bool)
    sums = np.zeros((int(labels.max()) + 1, loads.shape[1]))
    np.add.at(sums, labels, loads)
    members = pd.Series(np.arange(len(labels))).groupby(labels).apply(list)
    reasons, unions = [], []
    for lab, un in zip(pk.index.tolist(), pk["unit"].tolist(), strict=True):
        idx = np.asarray(members[lab])
        reasons.append(_flag_reason(
            len(idx), sums[lab], caps, floor, bool(oversize[idx].any()),
            int(unit_size[un]) == len(idx), int(piece_size[pieces[lab]]) == len(idx),
            bool(nogeo[idx].all())))
        unions.append(shapely.union_all(geoms[idx][~nogeo[idx]]))
    out = pd.DataFrame({"package_id": pk["package_id"].to_numpy(), unit: pk["unit"].to_numpy()})
    label_order = pk.index.to_numpy()
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
    gdf.attrs["label_to_id"] = dict(zip(label_order.tolist(), out["package_id"], strict=True))
    return gdf


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
        :func:`yulin_gis.adjacency.compound_adjacency` (``gap_m``, ``barriers``) if None.
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

    Returns
    -------
    PackageResult
        ``assignments`` (every input compound), ``packages``, ``summary``, ``graph``.
    """
    _validate(compounds, unit, min_households, max_households)
    df = compounds.copy()
    df["compound_id"] = df["compound_id"].astype(str)
    df[unit] = df[unit].astype(object).where(df[unit].notna(), "").astype(str)
    t0 = time.perf_counter()
    if graph is None:
        graph = compound_adjacency(df, gap_m=gap_m, barriers=barriers, unit=unit)
    graph = graph.copy()
    t_graph = time.perf_counter() - t0
    eligible = (df["eligible"].fillna(False).astype(bool).to_numpy() if "eligible" in df.columns
                else np.ones(len(df), dtype=bool))
    elig = df[eligible].sort_values("compound_id", kind="stable")
    if elig["compound_id"].duplicated().any():
        dup = elig.loc[elig["compound_id"].duplicated(), "compound_id"].iloc[0]
        raise SchemaError(f"compounds › field compound_id: duplicate id {dup!r}")
    labels, packages, info = _solve(elig, graph, unit, min_households, max_households,
                                    max_buildings, max_cost, absorb_gap_m,
                                    {"restarts": restarts, "seed": seed,
                                     "priority_weight": priority_weight}, closing_m)
    assignments = _assignments(df, elig, eligible, labels, packages, unit)
    summary = _summary(df, eligible, packages, graph, info, t_graph)
    logger.info("packages: %d packages from %d eligible compounds, %d flagged",
                summary["n_packages"], summary["n_eligible"], summary["n_flagged"])
    return PackageResult(assignments=assignments, packages=packages, summary=summary, graph=graph)


def _solve(elig: gpd.GeoDataFrame, graph: nx.Graph, unit: str, floor: float, ceiling: float,
           max_buildings: float | None, max_cost: float | None, absorb_gap_m: float,
           solver: dict[str, Any], closing_m: float,
           ) -> tuple[np.ndarray, gpd.GeoDataFrame, dict[str, Any]]:
    """Arrays, reach edges, solver and package table for the eligible compounds."""
    ids = elig["compound_id"].to_numpy()
    for x in ids:
        if x not in graph:
            graph.add_node(x)
    u, v, _ = graph_arrays(graph, ids)
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
    packages = (_package_table(elig, labels, unit, loads, caps, floor, piece, closing_m)
                if len(ids) else _empty_packages(unit, elig.crs))
    return labels, packages, {"solve_seconds": t_solve, "n_reach_edges": len(ru)}


def _empty_packages(unit: str, crs: Any) -> gpd.GeoDataFrame:
    cols = ["package_id", unit, "n_compounds", "buildings", "households", "floor_area_m2",
            "cost_yuan", "priority", "flag_reason", "flag", "compactness"]
    return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=[], crs=crs)


def _assignments(df: pd.DataFrame, elig: pd.DataFrame, eligible: np.ndarray, labels: np.ndarray,
                 packages: gpd.GeoDataFrame, unit: str) -> pd.DataFrame:
    """One row per input compound with its package id or the reason it has none."""
    to_id = packages.attrs.get("label_to_id", {})
    reason_of = dict(zip(packages["package_id"], packages["flag_reason"], strict=True))
    pid = pd.Series([to_id[int(k)] for k in labels], index=elig["compound_id"].to_numpy(), dtype=object)
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
