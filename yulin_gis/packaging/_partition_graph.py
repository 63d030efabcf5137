"""Instance arrays and spanning-forest helpers of the package partition solver (连片改造片区).

The graph layer under :func:`yulin_gis.packaging._partition.partition_arrays`: the arrays every
restart shares (neighbour edges, loads and ceilings, centroids, priorities, connected
pieces), the symmetric CSR adjacency, the minimum spanning forest over the neighbour
graph (最小生成森林) with its mixed distance/priority edge weights, the choice of one
root per tree and the breadth-first order over the forest. Integer arrays only; nothing
here knows of GeoDataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


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

