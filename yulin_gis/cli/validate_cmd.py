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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@run_errors
def validate(input_path: Path | str, input_crs: str | dict[str, str] | None, dem: Path | None,
             polygons: Path | None, fmt: str) -> None:
    """Validate INPUT (GeoPackage, shapefile, GeoJSON, Excel/CSV survey table, folder or
    postgresql://USER@HOST:PORT/DBNAME?schema=NAME).

    Exit status 0 when there are only warnings, 1 when there are errors.
    """
    from yulin_gis.validate import validate_input

    _layers, report = validate_input(input_path, input_crs=input_crs, dem=dem,
                                     polygons=polygons)
    click.echo(report.to_json() if fmt == "json" else report.to_text())
    if not report.ok:
        raise SystemExit(1)
