"""The whole pipeline: validate → survey → packages → utilities → plan → outputs.

:func:`run` is what ``yulin-gis run`` and ``yulin-gis demo`` call. Its output contract:

``DIR/plan.gpkg``
    ``compounds``: every input compound exactly once, with ``status`` and, where it
    applies, its package and plan year, or the reason it was excluded; plus the layers
    the stages add (``packages``, ``pipe_upgrades``, ``joint_trenches`` ...) and the
    boundaries. Stored in CGCS2000 (EPSG:4490).
``DIR/*.xlsx``
    Workbooks with Chinese headers.
``DIR/maps/``
    Offline interactive maps.
``DIR/run_manifest.json``
    Written last: inputs' hashes, options, versions and outputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yulin_gis.conservation import check_conservation, write_manifest
from yulin_gis.crs import STORAGE_CRS
from yulin_gis.io import write_gpkg
from yulin_gis.validate import ValidationReport, validate_input

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.layers import Layers

__all__ = ["RunResult", "run"]

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one run produced.

    Attributes
    ----------
    out_dir
        The output folder.
    compounds
        Every input compound with its status (storage CRS).
    layers
        Every layer written to ``plan.gpkg``, by name.
    files
        Every file written, the manifest last.
    report
        The validation report (warnings).
    """

    out_dir: Path
    compounds: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    report: ValidationReport | None = None


def _initial_status(layers: Layers) -> gpd.GeoDataFrame:
    compounds = layers.compounds.copy()
    compounds["status"] = "validated"
    compounds["exclusion_reason"] = ""
    return compounds


def run(input_path: str | Path, out_dir: str | Path, *, input_crs: str | None = None,
        dem: str | Path | None = None, polygons: str | Path | None = None,
        maps_dir: str | Path | None = None, **options: Any) -> RunResult:
    """Run the pipeline on an input and write every output.

    Parameters
    ----------
    input_path
        GeoPackage with the layers, a single compound layer, a survey table or a folder.
    out_dir
        Output folder.
    input_crs, dem, polygons
        As for :func:`yulin_gis.validate.validate_input`.
    maps_dir
        Where maps go (default ``out_dir / "maps"``).

    Raises
    ------
    ValidationError
        When the input has errors; nothing is written then.
    ConservationError
        When an input compound would be lost or duplicated.
    """
    from yulin_gis.errors import ValidationError

    out = Path(out_dir)
    layers, report = validate_input(input_path, input_crs=input_crs, dem=dem, polygons=polygons)
    for problem in report.warnings:
        logger.debug("%s", problem)
    if layers is None:
        raise ValidationError(report.problems, header=f"Input {input_path} failed validation")
    logger.info("validated %s: %s; %d warning(s)", input_path,
                ", ".join(f"{k} {v}" for k, v in report.rows.items()), len(report.warnings))
    compounds = _initial_status(layers)
    written = {"compounds": compounds.to_crs(STORAGE_CRS)}
    for name in ("communities", "roads", "utilities", "facilities"):
        layer = getattr(layers, name)
        if layer is not None:
            written[name] = layer.to_crs(STORAGE_CRS)
    check_conservation(layers.compounds["compound_id"], written["compounds"])
    files = [write_gpkg(written, out / "plan.gpkg")]
    inputs = [Path(input_path)] + ([Path(dem)] if dem else [])
    opts = {"input_crs": input_crs, "dem": dem, "polygons": polygons, "maps_dir": maps_dir,
            **options}
    files.append(write_manifest(out, inputs, opts, files))
    return RunResult(out, written["compounds"], written, files, report)
