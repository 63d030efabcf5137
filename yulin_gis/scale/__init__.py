"""Scale-out (分布式): local and dask engines, partition storage.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.scale._engine import (
        DaskEngine,
        DaskNotInstalledError,
        Engine,
        EngineError,
        LocalEngine,
        engine_from_options,
        engine_overlay,
        engine_overlay_hazards,
        engine_packages,
        engine_pipe_hazards,
        run_engine_survey,
    )
    from yulin_gis.scale._partitions import (
        PartitionRef,
        read_manifest,
        read_partitioned,
        split_layers,
        write_partitioned,
    )

_LAZY = {
    "Engine": "_engine",
    "DaskEngine": "_engine",
    "DaskNotInstalledError": "_engine",
    "EngineError": "_engine",
    "LocalEngine": "_engine",
    "PartitionRef": "_partitions",
    "engine_from_options": "_engine",
    "engine_overlay": "_engine",
    "engine_overlay_hazards": "_engine",
    "engine_packages": "_engine",
    "engine_pipe_hazards": "_engine",
    "read_manifest": "_partitions",
    "read_partitioned": "_partitions",
    "run_engine_survey": "_engine",
    "split_layers": "_partitions",
    "write_partitioned": "_partitions",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "DaskEngine",
    "DaskNotInstalledError",
    "Engine",
    "EngineError",
    "LocalEngine",
    "PartitionRef",
    "engine_from_options",
    "engine_overlay",
    "engine_overlay_hazards",
    "engine_packages",
    "engine_pipe_hazards",
    "read_manifest",
    "read_partitioned",
    "run_engine_survey",
    "split_layers",
    "write_partitioned",
]
