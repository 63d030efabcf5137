"""The per-partition task the engines run: overlay pairs and pipe-hazard evidence in one pass.

One task per partition (:mod:`yulin_gis.scale._partitions`): it reads the partition once
— only the columns the two steps use — and runs what :class:`TileJob` asks for:

* the overlay, :func:`~yulin_gis.utilities._upgrades.pipes_near_compounds` (pairs within
  the overlay distance with clipped lengths), their per-(compound, utility) totals and,
  with ``out_dir``, the pairs written as one Parquet file;
* the survey's pipe-hazard evidence,
  :func:`~yulin_gis.survey._hazards.compound_pipe_hazards`.

Both are the single-machine public functions, called on the partition's layers: the
results are theirs. What the task adds is kept cheap because it runs on every pair (7 M at
200k compounds): input rows of the pairs by an Arrow hash look-up, totals grouped on
integer keys, pair files written by pyarrow without dictionary pages. The functions live
at module level so that dask can pickle them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.io import atomic_path
from yulin_gis.scale._partitions import Partition, PartitionRef, load_partition
from yulin_gis.survey import compound_pipe_hazards
from yulin_gis.utilities import pipes_near_compounds

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import Profile

__all__ = ["COMPOUND_COLUMNS", "PAIR_COLUMNS", "UTILITY_COLUMNS", "TileJob", "tile_task"]

logger = logging.getLogger(__name__)

#: Columns of the stored partitions the task reads (geometry always; absent ones skipped).
COMPOUND_COLUMNS = ("compound_id", "_row")
UTILITY_COLUMNS = ("segment_id", "utility", "material", "install_year", "condition", "_row")
#: Columns of a pair file (``_crow`` / ``_srow``: input rows of the compound and segment).
PAIR_COLUMNS = ("compound_id", "segment_id", "utility", "distance_m", "length_in_m", "_crow", "_srow")


@dataclass(frozen=True)
class TileJob:
    """What one task computes for its partition.

    Attributes
    ----------
    overlay_m
        Overlay distance (pairs within it); None: no overlay.
    lengths, method
        As for :func:`~yulin_gis.utilities._upgrades.pipes_near_compounds`.
    out_dir
        Write the pairs to ``out_dir/<key>.parquet`` instead of returning them.
    profile
        Policy profile: compute the pipe-hazard evidence; None: no hazards.
    hazard_m
        Hazard search distance (default the profile's ``survey.pipe_distance_m``).
    as_of_year
        Year pipe ages are computed for (default the profile's).
    """

    overlay_m: float | None = None
    lengths: str = "within"
    method: str = "envelope"
    out_dir: str | None = None
    profile: Profile | None = None
    hazard_m: float | None = None
    as_of_year: int | None = None


def tile_task(src: Partition | PartitionRef, job: TileJob) -> dict[str, Any]:
    """Run ``job`` on one partition, read once.

    Returns
    -------
    dict
        ``key``, ``read_cpu_s`` (CPU seconds of this process reading the partition); with
        the overlay ``n_pairs``, ``totals`` (long: ``compound_id``,
        ``utility``, ``length_in_m``) and ``pairs`` (with ``_crow``/``_srow``; None when
        written to ``out_dir``); with hazards ``hazards`` (the
        :func:`~yulin_gis.survey._hazards.compound_pipe_hazards` frame with ``_row``).
    """
    t = time.process_time()
    p = load_partition(src, compound_columns=COMPOUND_COLUMNS, utility_columns=UTILITY_COLUMNS)
    out: dict[str, Any] = {"key": p.key, "read_cpu_s": time.process_time() - t}
    if job.overlay_m is not None:
        out.update(_overlay(p, job))
    if job.profile is not None:
        util = p.utilities if p.utilities is not None else _empty_utilities(p.compounds)
        frame = compound_pipe_hazards(p.compounds, util, job.profile, job.hazard_m,
                                      as_of_year=job.as_of_year)
        frame["_row"] = p.compounds["_row"].to_numpy()
        out["hazards"] = frame
    return out


def _overlay(p: Partition, job: TileJob) -> dict[str, Any]:
    """Pairs of one partition with their input rows, long totals, the file written."""
    comp, util = p.compounds, p.utilities
    if util is None or not len(comp):
        pairs = pd.DataFrame({"compound_id": pd.Series(dtype=str), "segment_id": pd.Series(dtype=str),
                              "utility": pd.Series(dtype=str), "distance_m": pd.Series(dtype=float),
                              "length_in_m": pd.Series(dtype=float)})
        ci = si = np.empty(0, dtype=np.int64)
        crow = srow = ci
    else:
        pairs = pipes_near_compounds(comp, util, distance_m=float(job.overlay_m or 0.0),  # type: ignore[arg-type]
                                     lengths=job.lengths, method=job.method)  # type: ignore[arg-type]
        ci = _positions(pairs["compound_id"], comp["compound_id"])
        si = _positions(pairs["segment_id"], util["segment_id"])
        crow = comp["_row"].to_numpy(dtype=np.int64)[ci]
        srow = util["_row"].to_numpy(dtype=np.int64)[si]
    pairs["_crow"], pairs["_srow"] = crow, srow
    result: dict[str, Any] = {"n_pairs": len(pairs), "totals": _long_totals(pairs, ci, comp),
                              "pairs": pairs}
    if job.out_dir is not None:
        Path(job.out_dir).mkdir(parents=True, exist_ok=True)
        write_pairs(pairs, Path(job.out_dir) / f"{p.key}.parquet")
        result["pairs"] = None
    return result


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position in ``keys`` (as strings; first of duplicates) of each of ``values``.

    An Arrow hash look-up: ~4× cheaper than ``pandas.Index.get_indexer`` on the pairs'
    string columns.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pos = pc.index_in(pa.array(values.astype(str).array), value_set=pa.array(keys.astype(str).array))
    if pos.null_count:
        raise KeyError(f"{pos.null_count} overlay ids not in the partition")
    return pos.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _long_totals(pairs: pd.DataFrame, ci: np.ndarray, comp: gpd.GeoDataFrame) -> pd.DataFrame:
    """Summed ``length_in_m`` per (compound, utility) present in ``pairs``.

    Grouped on integer keys (compound position × utility code); each group adds its rows
    in pair order with pandas' compensated sum, as a group-by on the id strings does.
    """
    if not len(pairs):
        return pd.DataFrame({"compound_id": pd.Series(dtype=str), "utility": pd.Series(dtype=str),
                             "length_in_m": pd.Series(dtype=float)})
    ucode, uniq = pd.factorize(pairs["utility"])
    key = ci * len(uniq) + ucode
    summed = pd.Series(pairs["length_in_m"].to_numpy(dtype=float)).groupby(key, sort=True).sum()
    k = summed.index.to_numpy()
    ids = comp["compound_id"].astype(str).array
    return pd.DataFrame({"compound_id": ids.take(k // len(uniq)),
                         "utility": np.asarray(uniq, dtype=object)[k % len(uniq)],
                         "length_in_m": summed.to_numpy()})


def write_pairs(pairs: pd.DataFrame, path: Path) -> None:
    """Write a partition's pairs (:data:`PAIR_COLUMNS`) as Parquet, atomically.

    Plain pages (no dictionary) with snappy: a third of the CPU of ``DataFrame.to_parquet``
    on 100k pairs and a slightly smaller file (the ids are nearly all distinct).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pairs[list(PAIR_COLUMNS)], preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, use_dictionary=False, compression="snappy")


def _empty_utilities(comp: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({"segment_id": pd.Series(dtype=str), "utility": pd.Series(dtype=str)},
                            geometry=gpd.GeoSeries([], crs=comp.crs), crs=comp.crs)
