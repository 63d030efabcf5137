"""Contiguous partition solver for renovation packages (连片改造片区), on integer arrays.

The low-level core of :mod:`yulin_gis.packaging._packages` (which re-exports
:func:`partition_arrays`); it knows nothing of GeoDataFrames.

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
import math
from collections.abc import Sequence

import numpy as np

from yulin_gis.packaging._partition_graph import _bfs, _csr, _edge_weights, _Instance, _mst, _roots

__all__ = ["partition_arrays"]


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
