"""Packaging by partition: counties (or streets) solved independently, then merged.

Packages never cross the planning unit, so a county holding whole units can be packaged
on its own. :func:`yulin_gis.packaging._packages.make_packages` cuts the compounds by ``by``
(``"county"`` by default), projects each partition in the Gauss–Krüger zone of its
compounds, solves it as one task and merges the results: assignments in input order,
packages by unit. The engines (:mod:`yulin_gis.scale._engine`) hand the same tasks to dask, so
the pipeline, ``make_packages`` and every engine give the same packages row for row.

This module does not import :mod:`yulin_gis.packaging._packages`: the single-layer solver is passed
in (a module-level function, so that dask can pickle it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.crs import to_lonlat, to_zone, zone_epsg
from yulin_gis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

__all__ = ["PACKAGE_COLUMNS", "package_by_partition", "partition_key"]

logger = logging.getLogger(__name__)

PACKAGE_COLUMNS = frozenset({
    "compound_id", "households", "eligible", "priority", "buildings", "floor_area_m2", "cost_yuan",
    "items", "street", "county", "community_id", "package_unit", "exclusion_reason", "geometry",
})
"""The columns :func:`~yulin_gis.packaging._packages.make_packages` reads (the rest is not sent)."""


def _text(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), "").astype(str)


def partition_key(compounds: gpd.GeoDataFrame, by: str | None, unit: str) -> np.ndarray | None:
    """The partition of each compound, or None when the layer is packaged whole.

    None when ``by`` is None or not a column, or when some ``unit`` spans two values of
    ``by`` (then packaging by ``by`` would cut a unit; logged as a warning).
    """
    if by is None or by not in compounds.columns or unit not in compounds.columns:
        return None
    key = _text(compounds[by]).to_numpy()
    used = (compounds["eligible"].fillna(False).astype(bool).to_numpy()  # units of packages
            if "eligible" in compounds.columns else np.ones(len(compounds), dtype=bool))
    spread = pd.Series(key[used]).groupby(_text(compounds[unit]).to_numpy()[used]).nunique()
    if (spread > 1).any():
        logger.warning("some %s span two values of %s: packaging the whole layer at once", unit, by)
        return None
    return key


def _piece_zones(comp: gpd.GeoDataFrame, groups: np.ndarray) -> dict[Any, int]:
    """Zone of each partition: that of the mean longitude of its compounds' points."""
    import shapely

    if comp.crs is None:  # coordinates taken as metres, as they come
        return {}
    rep = shapely.point_on_surface(comp.geometry.to_numpy())
    lon, _ = to_lonlat(shapely.get_x(rep), shapely.get_y(rep), comp.crs)
    mean = pd.Series(lon).groupby(groups).mean()
    try:
        zones = zone_epsg(mean.fillna(np.inf).to_numpy())
    except CRSError:  # outside China's zones: each partition stays in the input CRS
        return {}
    return {k: int(z) for k, z in zip(mean.index, zones, strict=True)}


def _piece_barriers(barriers: gpd.GeoDataFrame | None, piece: gpd.GeoDataFrame,
                    pad: float) -> gpd.GeoDataFrame | None:
    """The barriers whose bounding box meets the partition's, grown by ``pad``."""
    import shapely

    if barriers is None:
        return None
    b = piece.geometry.total_bounds
    if not np.isfinite(b).all():
        return barriers.iloc[:0]
    if piece.crs is not None and piece.crs.is_geographic:  # metres → degrees, generously
        pad = pad / (111_320.0 * np.cos(np.radians(min(max(abs(b[1]), abs(b[3])), 80.0)))) * 1.5
    box = shapely.box(b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    hit = shapely.STRtree(barriers.geometry.to_numpy()).query(box)
    return barriers.iloc[np.sort(hit)]


def _task(item: tuple[Any, Any, Any, int], solve: Callable[..., Any], options: dict[str, Any],
          keep_graph: bool) -> tuple[Any, int]:
    """Package one partition in its zone (runs in this process or on a dask worker)."""
    piece, barriers, graph, epsg = item
    piece = to_zone(piece, epsg) if epsg > 0 else piece
    if barriers is not None and epsg > 0:
        barriers = to_zone(barriers, epsg)
    result = solve(piece, graph=graph, barriers=barriers, **options)
    if not keep_graph:
        result.graph = type(result.graph)()
    return result, epsg


def package_by_partition(compounds: gpd.GeoDataFrame, key: np.ndarray, *,
                         solve: Callable[..., Any], options: dict[str, Any],
                         graph: nx.Graph | None = None,
                         barriers: gpd.GeoDataFrame | None = None,
                         mapper: Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]] | None = None,
                         keep_graph: bool = True, result_cls: Any) -> Any:
    """``solve`` each partition of ``key`` in its zone and merge the results.

    Parameters
    ----------
    compounds
        The compounds (metric CRS or lon/lat).
    key
        Partition per compound (:func:`partition_key`).
    solve
        The single-layer solver, called as ``solve(piece, graph=, barriers=, **options)``.
    options
        Its options (``unit``, limits, ``gap_m`` ...).
    graph
        A neighbour graph over ``compound_id`` (each partition gets its subgraph), or None.
    barriers
        Barrier lines in the compounds' CRS; each partition gets those near it.
    mapper
        ``mapper(func, items) -> list`` running the tasks (an engine's ``map``); in order,
        in this process, when None.
    keep_graph
        Return the union of the partitions' neighbour graphs (else an empty graph).
    result_cls
        The result type (:class:`~yulin_gis.packaging._packages.PackageResult`).
    """
    unit = options["unit"]
    keep = [c for c in compounds.columns
            if c in PACKAGE_COLUMNS or c in (unit, compounds.geometry.name)]
    comp = compounds[keep].assign(_row=np.arange(len(compounds)))  # only what is read
    zones = _piece_zones(comp, key)
    pad = float(options.get("gap_m", 15.0)) + 1.0
    ids = _text(comp["compound_id"]).to_numpy()
    items = []
    for k in sorted(set(key.tolist())):
        sel = key == k
        piece = comp[sel]
        sub = graph.subgraph(ids[sel].tolist()).copy() if graph is not None else None
        items.append((piece, _piece_barriers(barriers, piece, pad), sub, zones.get(k, -1)))
    task = functools.partial(_task, solve=solve, options=options, keep_graph=keep_graph)
    results = mapper(task, items) if mapper is not None else [task(it) for it in items]
    return _merge(results, comp, compounds, unit, result_cls)


def _merge(results: list[Any], comp: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame,
           unit: str, result_cls: Any) -> Any:
    """The partitions' results as one: assignments in input order, packages by unit."""
    import geopandas as gpd
    import networkx as nx

    assigns, packs, graphs, sums = [], [], [], []
    for res, _epsg in results:
        assigns.append(res.assignments)
        pk = res.packages
        if compounds.crs is not None and pk.crs is not None and len(pk):
            pk = pk.to_crs(compounds.crs) if not pk.crs.equals(compounds.crs) else pk
        packs.append(pk.set_crs(compounds.crs, allow_override=True))
        graphs.append(res.graph)
        sums.append(res.summary)
    row = pd.Series(comp["_row"].to_numpy(), index=comp["compound_id"].astype(str).to_numpy())
    assignments = pd.concat(assigns, ignore_index=True) if assigns else pd.DataFrame()
    if len(assignments):
        assignments = assignments.iloc[np.argsort(row.reindex(assignments["compound_id"]).to_numpy(),
                                                  kind="stable")].reset_index(drop=True)
    packages = gpd.GeoDataFrame(pd.concat(packs, ignore_index=True), crs=compounds.crs) if packs else None
    if packages is not None and len(packages):
        packages = packages.iloc[np.argsort(packages[unit].astype(str).to_numpy(), kind="stable")]
        packages = packages.reset_index(drop=True)
        packages.attrs = {}
    graph = nx.compose_all(graphs) if graphs else nx.Graph()
    return result_cls(assignments=assignments, packages=packages, summary=_merge_summary(sums, packages),
                      graph=graph)


def _merge_summary(sums: list[dict[str, Any]], packages: gpd.GeoDataFrame | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reasons: dict[str, int] = {}
    for s in sums:
        for k, v in s.items():
            if k == "flag_reasons":
                for r, c in v.items():
                    reasons[r] = reasons.get(r, 0) + int(c)
            elif isinstance(v, int | float) and k != "mean_polsby_popper":
                out[k] = out.get(k, 0) + v
    out["flag_reasons"] = dict(sorted(reasons.items()))
    pp = (pd.to_numeric(packages["compactness"], errors="coerce") if packages is not None and len(packages)
          else pd.Series(dtype=float))
    out["mean_polsby_popper"] = float(pp.mean()) if pp.notna().any() else float("nan")
    out["n_partitions"] = len(sums)
    return out
