"""The ``yulin-gis`` command group."""

from __future__ import annotations

import click

from yulin_gis import __version__
from yulin_gis.cli.progress_cmd import progress
from yulin_gis.cli.run_cmd import demo, packages, plan, run, survey, utilities
from yulin_gis.cli.validate_cmd import validate

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yulin-gis")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
def cli(verbose: int, quiet: int) -> None:
    """yulin-gis: plan old-compound renovation (城镇老旧小区改造) with GIS."""
    from yulin_gis.log import configure_logging

    configure_logging(verbose - quiet)


cli.add_command(validate)
cli.add_command(run)
cli.add_command(demo)
cli.add_command(survey)
cli.add_command(packages)
cli.add_command(plan)
cli.add_command(utilities)
cli.add_command(progress)
