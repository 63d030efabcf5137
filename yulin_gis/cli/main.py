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


EXAMPLES = {
    "validate": ["yulin-gis validate layers/yulin_survey.xlsx --input-crs gcj02"],
    "run": ["yulin-gis run layers/yulin_survey.xlsx --input-crs gcj02 --out out/run",
            "yulin-gis run 小区.gpkg --out out/run --dem dem.tif --budget 30000000"],
    "demo": ["yulin-gis demo --out out/demo"],
    "survey": ["yulin-gis survey layers/yulin_survey.xlsx --input-crs gcj02 --out out/survey"],
    "packages": [("yulin-gis packages layers/yulin_sample.gpkg --out out/packages "
                 "--min-households 800")],
    "plan": ["yulin-gis plan layers/yulin_sample.gpkg --out out/plan --capacity 5000"],
    "utilities": ["yulin-gis utilities layers/yulin_sample.gpkg --out out/utilities"],
    "progress": ["yulin-gis progress out/run 进度表.xlsx --as-of 2024-06-30"],
}
"""One or two example command lines per command, shown at the end of ``--help``."""

for _cmd in (validate, run, demo, survey, packages, plan, utilities, progress):
    cli.add_command(_cmd)
    _cmd.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in EXAMPLES[_cmd.name or ""])
