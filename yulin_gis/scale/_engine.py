"""Engines for the heavy steps: in this process or on a dask cluster (全国/全省尺度).

A province or the whole country (hundreds of thousands of compounds, millions of pipe
segments, many Gauss–Krüger zones) outgrows one machine. The heavy steps are therefore
cut into independent partitions (:mod:`yulin_gis.scale._partitions`: one per zone tile, each
projected in its own CGCS2000 zone, with a halo of the search distance) and run by an
*engine*:

* :class:`LocalEngine` — one partition after the other in this process (no dask needed;
  memory bounded by the largest partition);
* :class:`DaskEngine` — the partitions as tasks on a dask.distributed cluster: a
  ``LocalCluster`` of ``n_workers`` single-threaded workers, or a running scheduler
  (``tcp://HEAD:8786``, see docs/CLUSTER.md).

Both run the same task functions, so they give identical results. Each partition calls the
single-machine function (:func:`~yulin_gis.utilities._upgrades.pipes_near_compounds`,
:func:`~yulin_gis.survey._hazards.compound_pipe_hazards`, :func:`~yulin_gis.packaging._packages.make_packages`)
and the pieces are put back in input order, so for layers within one zone (Yulin: EPSG:4546)
the overlay and the survey evidence are exactly what those functions return; across zones
each compound is assessed in its own zone. Packaging is ``make_packages`` itself, whose ``by`` partitions (counties) the engine
runs: the pipeline, ``make_packages`` and both engines give the same packages row for row.

Storage: :func:`write_partitioned` / :func:`read_partitioned` (partitioned GeoParquet,
re-exported from :mod:`yulin_gis.scale._partitions`).
Helpers: :func:`engine_overlay`, :func:`engine_pipe_hazards`, :func:`run_engine_survey`,
:func:`engine_packages` (the pipeline's ``engine_survey_stage`` / ``engine_package_stage`` use them),
which run the pipeline's own stages with the engine doing the heavy part.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from yulin_gis.errors import SchemaError, YulinGisError
from yulin_gis.io import VOCABULARIES, Layers
from yulin_gis.scale._partitions import (
    Partition,
    PartitionRef,
    partition_refs,
    read_partitioned,
    split_layers,
    write_partitioned,
)
from yulin_gis.scale._tasks import TileJob, tile_task

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.packaging import PackageResult
    from yulin_gis.profile import Profile

__all__ = [
    "DaskEngine",
    "DaskNotInstalledError",
    "Engine",
    "EngineError",
    "LocalEngine",
    "OverlayResult",
    "engine_from_options",
    "engine_overlay",
    "engine_overlay_hazards",
    "engine_packages",
    "engine_pipe_hazards",
    "read_partitioned",
    "run_engine_survey",
    "write_partitioned",
]

logger = logging.getLogger(__name__)

Source = Layers | str | Path | Sequence[PartitionRef]
"""What the partitioned helpers read: layers in memory (cut here, sent to the workers), a
folder written by :func:`~yulin_gis.scale._partitions.write_partitioned` (read by the workers) or
some of its partitions (:func:`~yulin_gis.scale._partitions.partition_refs`)."""


_TASK_MODULE = "yulin_gis.scale._tasks"
_QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""A local cluster without the dashboard's samplers (a stack sample every 10 ms, a GIL probe
every 1 ms) and with slower housekeeping (event-loop tick every 1 s instead of 20 ms, memory
checks every 1 s): an idle 2-worker cluster then costs ~0.01 CPU-s per second instead of
~0.07, which over a minute-long call is several CPU-seconds."""


def _glibc_malloc() -> dict[str, Any]:
    """The nanny's environment for worker processes without ``MALLOC_TRIM_THRESHOLD_``.

    distributed sets it to 64 KiB so that workers hand freed memory back at once; but a
    fixed threshold also turns off glibc's adaptive mmap threshold, so every large NumPy /
    Arrow buffer is a fresh ``mmap`` whose pages fault in again. On the overlay and hazard
    tasks that cost ~30 % more CPU in each worker than the same task in this process
    (measured at 25k compounds × 625k segments: 7.3–8.2 against 4.7–5.8 CPU-s).
    """
    import dask

    env = dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}
    return {"distributed.nanny.pre-spawn-environ":
            {k: v for k, v in env.items() if k != "MALLOC_TRIM_THRESHOLD_"}}


class EngineError(YulinGisError, RuntimeError):
    """The engine cannot be set up or a task failed (bad options, unreachable scheduler)."""


class DaskNotInstalledError(EngineError, ImportError):
    """The dask engine was asked for but dask.distributed is not installed."""


class Engine:
    """Runs one function over many independent items (partitions); results in item order."""

    name = "engine"

    def map(self, func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """Return ``[func(item) for item in items]``, computed by the engine."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the engine's resources (workers, connections)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalEngine(Engine):
    """One item after the other in this process."""

    name = "local"

    def map(self, func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """Return ``[func(item) for item in items]``."""
        return [func(item) for item in items]


class DaskEngine(Engine):
    """Items as tasks on a dask.distributed cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``"tcp://HEAD:8786"``); None starts a
        ``LocalCluster`` on this machine.
    n_workers, threads_per_worker
        Size of the local cluster (ignored with ``scheduler``). One thread per worker:
        GEOS and the solver hold the GIL for most of their work, processes scale.
    memory_limit
        Per-worker memory limit of the local cluster (``"auto"``, ``"4GB"`` ...).
    processes
        Workers as processes (default) or threads of this process.

    Raises
    ------
    DaskNotInstalledError
        When dask.distributed is not installed (``pip install -e ".[dask]"``).
    EngineError
        When the scheduler cannot be reached.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, n_workers: int = 2, threads_per_worker: int = 1,
                 *, memory_limit: str | float = "auto", processes: bool = True) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise DaskNotInstalledError(
                "the dask engine needs dask.distributed: install the 'dask' extra "
                "(pip install -e \".[dask]\" or pip install \"yulin-gis[dask]\")") from exc
        self.cluster: Any = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                if n_workers < 1 or threads_per_worker < 1:
                    raise EngineError(f"need at least one worker and one thread, not "
                                      f"{n_workers} × {threads_per_worker}")
                with dask.config.set({**_QUIET_WORKERS, **_glibc_malloc()}):
                    self.cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                                processes=processes, memory_limit=memory_limit,
                                                dashboard_address=None)
                self.client = Client(self.cluster)
                self.client.run(importlib.import_module, _TASK_MODULE)  # imports before the clock
        except (OSError, TimeoutError, RuntimeError) as exc:
            self.close()
            where = f"reach the dask scheduler {scheduler!r}" if scheduler else "start a local dask cluster"
            raise EngineError(f"cannot {where}: {exc}") from exc
        logger.info("dask engine: %s", self.client)

    def map(self, func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """Submit one task per item and gather the results as they finish (in item order)."""
        from distributed import as_completed

        if not items:
            return []
        futures = self.client.map(func, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        for fut, result in as_completed(futures, with_results=True):
            out[index[fut.key]] = result
            fut.release()
        return out

    def worker_memory(self) -> dict[str, int]:
        """Current memory (RSS bytes) per worker, as the scheduler sees it."""
        info = self.client.scheduler_info()["workers"]
        return {addr: int(w.get("metrics", {}).get("memory", 0)) for addr, w in info.items()}

    def close(self) -> None:
        """Close the client and the local cluster (a remote cluster keeps running)."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def engine_from_options(engine: str = "local", scheduler: str | None = None, workers: int = 2) -> Engine:
    """The engine of the CLI flags ``--engine local|dask --scheduler ADDRESS --workers N``.

    Raises
    ------
    EngineError
        On an unknown engine name, or a scheduler given to the local engine.
    DaskNotInstalledError
        When ``engine="dask"`` and dask.distributed is not installed.
    """
    name = (engine or "local").strip().lower()
    if name == "local":
        if scheduler:
            raise EngineError("--scheduler needs --engine dask")
        return LocalEngine()
    if name == "dask":
        return DaskEngine(scheduler=scheduler, n_workers=int(workers))
    raise EngineError(f"unknown engine {engine!r}; use 'local' or 'dask'")


# --------------------------------------------------------------------------- helpers


def _sources(source: Source, distance_m: float, tile_m: float) -> list[Partition] | list[PartitionRef]:
    if isinstance(source, Layers):
        return [p for p in split_layers(source, distance_m, tile_m) if len(p.compounds)]
    if isinstance(source, str | Path):
        return partition_refs(source)
    return list(source)


def _halo_distance(source: Source, distance_m: float) -> None:
    if isinstance(source, Layers):
        return
    from yulin_gis.scale._partitions import read_manifest

    folders = {str(source)} if isinstance(source, str | Path) else {r.folder for r in source}
    halo = min(float(read_manifest(f)["distance_m"]) for f in folders) if folders else np.inf
    if distance_m > halo:
        raise SchemaError(f"{source}: partitions were written with a {halo:g} m halo, too small "
                          f"for a {distance_m:g} m search; write them again with distance_m ≥ {distance_m:g}")


@dataclass
class OverlayResult:
    """The pipe × compound overlay of an engine run.

    Attributes
    ----------
    pairs
        As :func:`~yulin_gis.utilities._upgrades.pipes_near_compounds` returns them (input order), or
        None when written to ``paths``.
    totals
        As :func:`~yulin_gis.utilities._upgrades.overlay_totals` of the pairs (per compound).
    paths
        Pair files written: one Parquet table (no geometry) per partition, with ``_crow`` and
        ``_srow``, the input rows of the compound and the segment.
    n_pairs
        Number of pairs.
    hazards
        The pipe-hazard evidence of :func:`engine_overlay_hazards` (None otherwise).
    read_cpu_s
        CPU seconds the tasks spent reading their partitions (summed over the workers).
    """

    pairs: pd.DataFrame | None
    totals: pd.DataFrame
    paths: list[Path] = field(default_factory=list)
    n_pairs: int = 0
    hazards: pd.DataFrame | None = None
    read_cpu_s: float = 0.0


def _wide_totals(long: pd.DataFrame) -> pd.DataFrame:
    """The final group-by of the per-partition (compound, utility) totals, wide (utilities in
    schema order, as :func:`~yulin_gis.utilities._upgrades.overlay_totals`)."""
    utility_types = tuple(VOCABULARIES["utility"])  # = utilities.UTILITY_TYPES, without networkx

    summed = long.groupby(["compound_id", "utility"], sort=True)["length_in_m"].sum()
    wide = summed.unstack("utility").fillna(0.0)
    cols = [u for u in utility_types if u in wide.columns] + sorted(
        c for c in wide.columns if c not in utility_types)
    wide = wide[cols]
    wide["total"] = wide.sum(axis=1)
    wide.columns.name = None
    wide.index.name = "compound_id"
    return wide.sort_index()


def engine_overlay(source: Source, engine: Engine, distance_m: float = 30.0, *,
                   lengths: str = "within", method: str = "envelope", out_dir: str | Path | None = None,
                   tile_m: float = 20000.0) -> OverlayResult:
    """Pipe × compound pairs within ``distance_m``, partition by partition.

    Parameters
    ----------
    source
        Layers (cut into zone tiles here) or a partitioned folder (read by the workers).
    engine
        :class:`LocalEngine` or :class:`DaskEngine`.
    distance_m, lengths, method
        As for :func:`~yulin_gis.utilities._upgrades.pipes_near_compounds`.
    out_dir
        Write each partition's pairs to ``out_dir/<key>.parquet`` (on a real cluster: a
        folder every worker can write) instead of returning them: memory stays bounded.
    tile_m
        Tile size when ``source`` is layers.

    Returns
    -------
    OverlayResult
        The same pairs as ``pipes_near_compounds`` on the whole layers (for layers in one
        zone, row for row), their per-compound totals and the files written.
    """
    job = TileJob(overlay_m=float(distance_m), lengths=lengths, method=method,
                  out_dir=None if out_dir is None else str(out_dir))
    return _run_tiles(source, engine, job, tile_m)


def engine_pipe_hazards(source: Source, profile: Profile, engine: Engine, distance_m: float | None = None,
                        *, as_of_year: int | None = None, tile_m: float = 20000.0) -> pd.DataFrame:
    """The survey's pipe-hazard evidence, partition by partition.

    Returns
    -------
    pandas.DataFrame
        The frame :func:`~yulin_gis.survey._hazards.compound_pipe_hazards` returns (indexed by
        ``compound_id`` in input order), ready for ``assess_compounds(..., pipes=...)``.
    """
    d = profile.survey.pipe_distance_m if distance_m is None else float(distance_m)
    job = TileJob(profile=profile, hazard_m=d, as_of_year=as_of_year)
    hazards = _run_tiles(source, engine, job, tile_m).hazards
    assert hazards is not None
    return hazards


def engine_overlay_hazards(source: Source, profile: Profile, engine: Engine, distance_m: float = 30.0, *,
                           hazard_distance_m: float | None = None, as_of_year: int | None = None,
                           lengths: str = "within", method: str = "envelope",
                           out_dir: str | Path | None = None, tile_m: float = 20000.0) -> OverlayResult:
    """:func:`engine_overlay` and :func:`engine_pipe_hazards` in one pass over the partitions.

    Each task reads its partition once and runs both (the result is what the two calls
    return: ``pairs``/``totals``/``paths`` of the overlay and ``hazards``); about a fifth
    less work than the two calls, which read every partition twice.

    Parameters
    ----------
    distance_m, lengths, method, out_dir
        Of the overlay, as for :func:`engine_overlay`.
    hazard_distance_m, as_of_year
        Of the hazards, as for :func:`engine_pipe_hazards` (default the profile's).
    """
    d = profile.survey.pipe_distance_m if hazard_distance_m is None else float(hazard_distance_m)
    job = TileJob(overlay_m=float(distance_m), lengths=lengths, method=method,
                  out_dir=None if out_dir is None else str(out_dir), profile=profile, hazard_m=d,
                  as_of_year=as_of_year)
    return _run_tiles(source, engine, job, tile_m)


def _run_tiles(source: Source, engine: Engine, job: TileJob, tile_m: float) -> OverlayResult:
    """One :func:`~yulin_gis.scale._tasks.tile_task` per partition; the pieces put back."""
    distance = max(job.overlay_m or 0.0, job.hazard_m or 0.0)
    _halo_distance(source, distance)
    srcs = _sources(source, distance, tile_m)
    results = engine.map(functools.partial(tile_task, job=job), srcs)
    out = OverlayResult(None, pd.DataFrame())
    if job.overlay_m is not None:
        out = _gather_overlay(results, job)
        logger.info("overlay (%s engine): %d pairs from %d partitions", engine.name, out.n_pairs, len(srcs))
    out.read_cpu_s = float(sum(r["read_cpu_s"] for r in results))
    if job.profile is not None:
        frames = [r["hazards"] for r in results]
        hz = pd.concat(frames) if frames else pd.DataFrame()
        if len(hz):
            hz = hz.sort_values("_row", kind="stable").drop(columns="_row")
        out.hazards = hz
        logger.info("pipe hazards (%s engine): %d compounds from %d partitions", engine.name, len(hz),
                    len(srcs))
    return out


def _gather_overlay(results: list[dict[str, Any]], job: TileJob) -> OverlayResult:
    """Totals of every partition; the pairs in input order (or the files written)."""
    long = pd.concat([r["totals"] for r in results], ignore_index=True) if results else pd.DataFrame(
        {"compound_id": [], "utility": [], "length_in_m": []})
    n_pairs = int(sum(r["n_pairs"] for r in results))
    pairs: pd.DataFrame | None = None
    paths: list[Path] = []
    if job.out_dir is None:
        frames = [r["pairs"] for r in results if r["pairs"] is not None]
        pairs = pd.DataFrame({c: pd.Series(dtype=float if c in ("distance_m", "length_in_m") else str)
                              for c in ("compound_id", "segment_id", "utility", "distance_m", "length_in_m")})
        if frames:
            pairs = pd.concat(frames, ignore_index=True).sort_values(["_crow", "_srow"], kind="stable")
            pairs = pairs.drop(columns=["_crow", "_srow"]).reset_index(drop=True)
    else:
        paths = [Path(job.out_dir) / f"{r['key']}.parquet" for r in results]
    return OverlayResult(pairs, _wide_totals(long), paths, n_pairs)


def run_engine_survey(layers: Source, profile: Profile | None, engine: Engine, *,
                      walk: pd.DataFrame | None = None, terrain: pd.DataFrame | None = None,
                      as_of_year: int | None = None, tile_m: float = 20000.0) -> gpd.GeoDataFrame:
    """:func:`~yulin_gis.survey._assess.assess_compounds` with the pipe evidence from the engine.

    ``layers`` may be a partitioned folder: its compounds are read (CGCS2000 lon/lat) and
    assessed with the evidence the workers computed. Walking distances and terrain are
    computed locally unless given (``walk``, ``terrain``).
    """
    from yulin_gis.profile import load_profile
    from yulin_gis.scale._partitions import read_manifest
    from yulin_gis.survey import assess_compounds

    prof = profile if profile is not None else load_profile()
    if isinstance(layers, Layers):
        base, has_pipes = layers, layers.utilities is not None
    elif isinstance(layers, str | Path):
        base = read_partitioned(layers, ("compounds",))
        has_pipes = int(read_manifest(layers)["rows"].get("utilities", 0)) > 0
    else:
        refs = list(layers)
        folder = refs[0].folder if refs else ""
        base = read_partitioned(folder, ("compounds",), keys=[r.key for r in refs])
        has_pipes = int(read_manifest(folder)["rows"].get("utilities", 0)) > 0
    pipes = (engine_pipe_hazards(layers, prof, engine, as_of_year=as_of_year, tile_m=tile_m)
             if has_pipes else None)
    return assess_compounds(base, profile=prof, walk=walk, terrain=terrain, pipes=pipes, as_of_year=as_of_year)


def engine_packages(compounds: gpd.GeoDataFrame, engine: Engine, *, by: str = "county",
                    unit: str = "community_id", barriers: gpd.GeoDataFrame | None = None,
                    keep_graph: bool = True, **kwargs: Any) -> PackageResult:
    """:func:`~yulin_gis.packaging._packages.make_packages` with its ``by`` partitions run by ``engine``.

    Packages never cross the planning unit, so each partition (a county or street holding
    whole units) is independent; it is projected in the zone of its compounds and solved
    by one task. This is ``make_packages(compounds, by=by, engine=engine, ...)``, which
    insists that ``by`` exists and holds whole units.

    Parameters
    ----------
    compounds
        Surveyed compounds in a metric CRS or lon/lat (``eligible``, ``households`` ...).
    engine
        :class:`LocalEngine` or :class:`DaskEngine`.
    by
        Column partitioning the work; every ``unit`` must lie within one value of it.
    unit, barriers, keep_graph, **kwargs
        As for ``make_packages`` (barriers in the compounds' CRS).

    Raises
    ------
    SchemaError
        When ``by`` is missing or a unit spans two of its values.
    """
    from yulin_gis.io import require_columns
    from yulin_gis.packaging import make_packages

    require_columns(compounds, (by, unit), layer="compounds", purpose=f"to partition packages by {by}")
    key = compounds[by].astype(object).where(compounds[by].notna(), "").astype(str).to_numpy()
    units = compounds[unit].astype(object).where(compounds[unit].notna(), "").astype(str)
    used = (compounds["eligible"].fillna(False).astype(bool).to_numpy()
            if "eligible" in compounds.columns else np.ones(len(compounds), dtype=bool))
    spread = pd.Series(key[used]).groupby(units.to_numpy()[used]).nunique()
    if (spread > 1).any():
        bad = ", ".join(map(str, spread[spread > 1].index[:10]))
        raise SchemaError(f"layer compounds: {unit} {bad} lie in more than one {by}; "
                          f"partition by {unit} or a coarser column")
    return make_packages(compounds, by=by, engine=engine, unit=unit, barriers=barriers,
                         keep_graph=keep_graph, **kwargs)
