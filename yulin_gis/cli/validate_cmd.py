"""``yulin-gis validate``: check input layers and report every problem."""

from __future__ import annotations

from pathlib import Path

import click

from yulin_gis.cli.options import dem_option, input_argument, input_crs_option, run_errors

__all__ = ["validate"]


@click.command()
@input_argument
@input_crs_option
@dem_option
@click.option("--polygons", type=click.Path(exists=True, path_type=Path), default=None,
              help="Compound polygons joined by compound_id to a survey table.")
@click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="Policy profile TOML with [input] thresholds and [aliases.*] spellings.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write every problem to this .xlsx (validation_report.xlsx).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@run_errors
def validate(input_path: Path | str, input_crs: str | dict[str, str] | None, dem: Path | None,
             polygons: Path | None, profile_path: Path | None, report_path: Path | None,
             fmt: str) -> None:
    """Validate INPUT (GeoPackage, shapefile, GeoJSON, Excel/CSV survey table, folder or
    postgresql://USER@HOST:PORT/DBNAME?schema=NAME).

    Runs the same checks as ``run`` and says which commands the input can serve. Prints
    one line per (layer, field, problem); ``--format json`` and ``--report`` list every row.
    Exit status 0 when there are only warnings, 1 when there are errors.
    """
    from yulin_gis.io import validate_input

    _layers, report = validate_input(input_path, input_crs=input_crs, dem=dem,
                                     polygons=polygons, profile=profile_path)
    if report_path is not None:
        from yulin_gis.io import write_validation_report

        write_validation_report(report, report_path)
    click.echo(report.to_json() if fmt == "json" else report.to_text())
    if not report.ok:
        raise SystemExit(1)
