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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from yulin_gis.crs import STORAGE_CRS
from yulin_gis.io import (
    ValidationReport,
    group_lines,
    is_database_url,
    mask_url,
    validate_input,
    write_validation_report,
)
from yulin_gis.log import StageTimer
from yulin_gis.pipeline._conservation import check_conservation, write_manifest
from yulin_gis.pipeline._stages import PlanOptions, PlanState

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io import Layers

__all__ = ["STAGES", "RunResult", "run"]

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
    state
        Everything the stages produced (analysis CRS).
    files
        Every file written, the manifest last.
    report
        The validation report (warnings).
    maps_dir
        Where the maps went (None when no maps were written).
    notes
        What could not be computed, said once (also in the manifest).
    seconds
        Wall and CPU seconds of each stage (``{"survey": {"wall_s": …, "cpu_s": …}, …}``),
        also in the manifest.
    """

    out_dir: Path
    compounds: gpd.GeoDataFrame
    state: PlanState
    files: list[Path] = field(default_factory=list)
    report: ValidationReport | None = None
    maps_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)


STAGES = ("validate", "survey", "packages", "plan", "utilities")
"""The stages in order; ``run(..., until=...)`` stops after one of them."""
_USED = {"validate": "validated", "survey": "eligible", "packages": "packaged", "plan": "planned",
         "utilities": "planned"}


def _run_stages(layers: Layers, options: PlanOptions, until: str,
                timer: StageTimer | None = None) -> PlanState:
    from yulin_gis.pipeline._stages import package_stage, survey_stage

    timer = timer or StageTimer(())
    if options.engine != "local":
        return _run_engine_stages(layers, options, until, timer)
    with timer("survey"):
        state = survey_stage(layers, options)
    if STAGES.index(until) >= STAGES.index("packages"):
        with timer("packages"):
            state = package_stage(state)
    return _later_stages(state, until, timer)


def _run_engine_stages(layers: Layers, options: PlanOptions, until: str,
                       timer: StageTimer) -> PlanState:
    """The stages with the heavy steps (pipe evidence, packaging per county) on dask."""
    from yulin_gis.pipeline._stages import engine_package_stage, engine_survey_stage
    from yulin_gis.scale import engine_from_options

    with engine_from_options(options.engine, options.scheduler, options.workers) as engine:
        with timer("survey"):
            state = engine_survey_stage(layers, options, engine)
        if STAGES.index(until) >= STAGES.index("packages"):
            with timer("packages"):
                state = engine_package_stage(state, engine)
    return _later_stages(state, until, timer)


def _later_stages(state: PlanState, until: str, timer: StageTimer) -> PlanState:
    """The plan and utility stages (the same with and without an engine)."""
    from yulin_gis.pipeline._stages import plan_stage, utility_stage

    if STAGES.index(until) >= STAGES.index("plan"):
        with timer("plan"):
            state = plan_stage(state)
    if until == "utilities":
        with timer("utilities"):
            state = utility_stage(state)
    return state


def _planned(until: str, maps: bool) -> list[str]:
    """The stages a run will time, in order (for the progress bar)."""
    stages = ["validate", *STAGES[1:STAGES.index(until) + 1], "outputs"]
    return [*stages, "maps"] if maps else stages


def _validated_state(layers: Layers, options: PlanOptions) -> PlanState:
    """A state holding only validated compounds (``until="validate"``)."""
    from yulin_gis.profile import load_profile

    compounds = layers.compounds.copy()
    compounds["status"] = "validated"
    compounds["exclusion_reason"] = ""
    return PlanState(layers, load_profile(options.profile_path), options, compounds)


def _forget_previous_run(out: Path) -> dict[str, str]:
    """Delete the manifest of an earlier run in ``out`` before writing anything.

    Without it, a run killed half-way would leave the old manifest beside a mix of old
    and new files and look complete. Returns the earlier outputs (path → sha256).

    Raises
    ------
    OutputError
        When the old manifest cannot be removed.
    """
    import json

    from yulin_gis.errors import OutputError

    manifest = out / "run_manifest.json"
    if not manifest.exists():
        return {}
    try:
        outputs = json.loads(manifest.read_text(encoding="utf-8")).get("outputs", {})
    except (OSError, ValueError, AttributeError):
        outputs = {}
    try:
        manifest.unlink()
    except OSError as exc:
        raise OutputError(f"{manifest}: cannot remove the previous run's manifest ({exc})") from exc
    return {str(out / k): str(v.get("sha256", "")) for k, v in outputs.items()
            if isinstance(v, dict)}


def _remove_stale(previous: dict[str, str], written: list[Path]) -> None:
    """Remove outputs of the earlier run that this run did not write again.

    Only files still byte-identical to what the earlier manifest recorded are removed
    (a file the user edited since is left alone).
    """
    from yulin_gis.pipeline._conservation import file_sha256

    now: set[Path] = set()
    for path in written:
        now |= {p.resolve() for p in path.rglob("*")} if path.is_dir() else {path.resolve()}
    for name, digest in sorted(previous.items()):
        path = Path(name)
        if path.resolve() in now or not path.is_file():
            continue
        if file_sha256(path) == digest:
            path.unlink()
            logger.info("removed %s, an output of the previous run not written this time", path)


def _fill_divisions(layers: Layers, options: PlanOptions) -> list[str]:
    """County, community codes and packaging unit of the compounds (:mod:`divisions`).

    Returns the notes of what could not be decided (said once in the run summary).
    """
    from yulin_gis.io import fill_divisions
    from yulin_gis.profile import load_profile

    layers.compounds, rep = fill_divisions(layers.compounds, load_profile(options.profile_path),
                                           unit=options.unit)
    return list(rep.notes)


def run(input_path: str | Path, out_dir: str | Path, *,
        input_crs: str | Mapping[str, str] | None = None,
        dem: str | Path | None = None, polygons: str | Path | None = None,
        maps_dir: str | Path | None = None, options: PlanOptions | None = None,
        until: str = "utilities", maps: bool = True, publish: str | None = None) -> RunResult:
    """Run the pipeline on an input and write every output.

    Parameters
    ----------
    input_path
        GeoPackage with the layers, a single compound layer, a survey table or a folder.
    out_dir
        Output folder.
    input_crs, dem, polygons
        As for :func:`yulin_gis.io._validate.validate_input`.
    maps_dir
        Where maps go (default ``out_dir / "maps"``).
    options
        Planning options (profile, package limits, budgets, basemap ...).
    until
        Last stage to run: one of :data:`STAGES`.
    maps
        Write the web maps, static maps and summary.
    publish
        A PostGIS URL (``postgresql://USER@HOST:PORT/DBNAME?schema=NAME``): after the
        files are written, publish every layer of ``plan.gpkg`` there, replacing the
        previous publication in one transaction (see :func:`~yulin_gis.publish_gpkg`).

    Raises
    ------
    ValidationError
        When the input has errors; nothing is written then.
    ConservationError
        When an input compound would be lost or duplicated.
    """
    from yulin_gis.errors import ValidationError
    from yulin_gis.pipeline._outputs import write_maps, write_plan_gpkg, write_summary, write_tables

    if until not in STAGES:
        raise ValueError(f"until must be one of {', '.join(STAGES)}, not {until!r}")
    options = options or PlanOptions()
    out = Path(out_dir)
    label = mask_url(input_path)
    if publish is not None:  # fail before the stages when the target cannot be used
        from yulin_gis.io import open_database, parse_database_url

        open_database(parse_database_url(publish), need_schema=False).dispose()
    timer = StageTimer(_planned(until, maps))
    with timer("validate"):
        layers, report = validate_input(input_path, input_crs=input_crs, dem=dem,
                                        polygons=polygons, profile=options.profile_path)
    for line in group_lines(report.warnings):
        logger.warning("%s", line)
    for line in report.can_run:
        logger.info("%s", line)
    if layers is None:
        raise ValidationError(report.problems, header=f"Input {label} failed validation")
    notes = _fill_divisions(layers, options)
    state = (_validated_state(layers, options) if until == "validate"
             else _run_stages(layers, options, until, timer))
    for note in state.extras.get("notes", []):
        logger.warning("%s", note)  # the divisions' notes were logged where made
    state.extras["notes"] = notes = notes + list(state.extras.get("notes", []))
    check_conservation(layers.compounds["compound_id"], state.compounds, (_USED[until],))
    previous = _forget_previous_run(out)
    with timer("outputs"):
        files = [write_plan_gpkg(state, out / "plan.gpkg"),
                 write_validation_report(report, out / "validation_report.xlsx")]
        if until != "validate":
            files += write_tables(state, out)
    mdir = None
    if maps:
        mdir = Path(maps_dir) if maps_dir is not None else out / "maps"
        with timer("maps"):
            files += write_maps(state, mdir, basemap=options.basemap, offline=not options.online)
            files += write_summary(state, mdir)
    logger.info("run: %s", timer.close())
    inputs = ([] if is_database_url(input_path) else [Path(input_path)]) + (
        [Path(dem)] if dem else [])
    opts = {"input": label, "input_crs": input_crs, "dem": dem, "polygons": polygons,
            "until": until, "publish": mask_url(publish) if publish else None,
            **{k: str(v) for k, v in vars(options).items()}}
    _remove_stale(previous, files)
    files.append(write_manifest(out, inputs, opts, files, notes=notes, timings=timer.seconds))
    if publish is not None:
        from yulin_gis.io import publish_gpkg

        publish_gpkg(files[0], publish)
    compounds = state.compounds.to_crs(STORAGE_CRS)
    return RunResult(out, compounds, state, files, report, mdir, notes, timer.seconds)
