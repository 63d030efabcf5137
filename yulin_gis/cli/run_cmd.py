"""``yulin-gis run``, ``demo`` and the per-stage commands (survey, packages, plan, utilities).

Every command runs the pipeline up to its stage and writes the same output contract
(``plan.gpkg``, workbooks, maps, ``run_manifest.json``); later stages add to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from yulin_gis.cli.options import (
    build_plan_options,
    default_out_dir,
    dem_option,
    input_argument,
    input_crs_option,
    out_option,
    plan_options,
    publish_option,
    run_errors,
)

__all__ = ["demo", "packages", "plan", "run", "survey", "utilities"]


def _summary(result: Any) -> None:
    """Counts per status, what could not be computed (once) and where the files went."""
    comp = result.compounds
    status = comp["status"].value_counts().sort_index()
    click.echo(f"{len(comp)} compounds: " + ", ".join(f"{k} {v}" for k, v in status.items()))
    for note in getattr(result, "notes", []):
        click.echo(f"note: {note}")
    out = Path(result.out_dir)
    maps_dir = getattr(result, "maps_dir", None)
    manifest = result.files[-1].name
    if maps_dir is None:
        click.echo(f"{len(result.files)} files written to {out} (plan.gpkg, workbooks; no "
                   f"maps; manifest: {manifest})")
    elif Path(maps_dir).resolve() == (out / "maps").resolve():
        click.echo(f"{len(result.files)} files written to {out} (plan.gpkg, workbooks, maps/; "
                   f"manifest: {manifest})")
    else:
        click.echo(f"{len(result.files)} files written: plan.gpkg, workbooks and {manifest} "
                   f"in {out}, maps in {maps_dir}")


def _stage_command(name: str, until: str, doc: str) -> click.Command:
    """Build a command that runs the pipeline on INPUT up to ``until`` (only the options
    that stage uses)."""

    @click.command(name=name, help=doc)
    @input_argument
    @out_option
    @input_crs_option
    @dem_option
    @click.option("--polygons", type=click.Path(exists=True, path_type=Path), default=None,
                  help="Compound polygons joined by compound_id to a survey table.")
    @plan_options(stage=until)
    @publish_option
    @run_errors
    def command(input_path: Path | str, out_dir: Path | None, input_crs: str | dict[str, str] | None,
                dem: Path | None, polygons: Path | None, publish: str | None,
                **kwargs: Any) -> None:
        from yulin_gis.pipeline import run as run_pipeline

        no_maps = kwargs.pop("no_maps")
        options = build_plan_options(kwargs)
        _summary(run_pipeline(input_path, out_dir or default_out_dir(input_path), input_crs=input_crs, dem=dem,
                              polygons=polygons, options=options, until=until,
                              maps=not no_maps, publish=publish))

    return command


run = _stage_command("run", "utilities", "Run the whole pipeline on INPUT (validate, survey, "
                     "packages, plan, utilities) and write plan.gpkg, workbooks and maps.")
survey = _stage_command("survey", "survey", "Survey INPUT (摸清底数): eligibility tier, "
                        "renovation items with evidence, priority and cost per compound; "
                        "survey workbook and task lists per department and utility.")
packages = _stage_command("packages", "packages", "Survey INPUT and group eligible compounds "
                          "into contiguous packages per community (连片规划).")
plan = _stage_command("plan", "plan", "Survey, package and schedule INPUT into annual plans "
                      "per county under budgets (年度计划), with funding split and workbooks.")
utilities = _stage_command("utilities", "utilities", "Everything up to the utility overlay: "
                           "pipe upgrades per company, joint trenches (统筹施工) and maps.")


def _repo_maps_dir(out_dir: Path) -> Path:
    """The repository's ``maps/`` folder when running from a checkout, else ``out_dir/maps``."""
    import yulin_gis

    root = Path(yulin_gis.__file__).resolve().parent.parent
    return root / "maps" if (root / "pyproject.toml").exists() else out_dir / "maps"


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/demo"), show_default=True, help="Output folder.")
@click.option("--maps-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the maps go (default: the repository's maps/ folder).")
@plan_options
@publish_option
@run_errors
def demo(out_dir: Path, maps_dir: Path | None, publish: str | None, **kwargs: Any) -> None:
    """Run the whole pipeline on the embedded Yulin sample (玉林示例数据).

    Without --budget, the sample's assumed budget table (layers/yulin_budget.csv,
    默认值（待确认）) is used.
    """
    from yulin_gis.pipeline import run as run_pipeline
    from yulin_gis.sample import get_path

    no_maps = kwargs.pop("no_maps")
    if kwargs.get("budget") is None:  # the sample's assumed budget table (layers/README.md)
        kwargs["budget"] = str(get_path("budget"))
    result = run_pipeline(get_path("gpkg"), out_dir, dem=get_path("dem"),
                          maps_dir=maps_dir or _repo_maps_dir(out_dir),
                          options=build_plan_options(kwargs), maps=not no_maps,
                          publish=publish)
    _summary(result)
