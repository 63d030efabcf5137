"""``yulin-gis progress``: import a progress table and rank the counties."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from yulin_gis.cli.options import run_errors

__all__ = ["progress"]


@click.command()
@click.argument("plan_dir", metavar="PLAN_DIR", type=click.Path(exists=True, file_okay=False,
                                                                 path_type=Path))
@click.argument("table", metavar="TABLE", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path))
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Assessment date (default: today).")
@click.option("--no-maps", is_flag=True, help="Skip the progress map and chart.")
@click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="Policy profile TOML: deadlines, score weights and grades (default: Yulin's).")
@run_errors
def progress(plan_dir: Path, table: Path, as_of: dt.datetime | None, no_maps: bool,
             profile_path: Path | None = None) -> None:
    """Assess progress (进度考核) of a planned run in PLAN_DIR from a progress TABLE.

    TABLE (CSV or Excel) holds 片区编号/package_id, 状态/status, 实际开工/actual_start and
    实际完工/actual_completion. Writes 考核排名.xlsx and maps/progress.html into PLAN_DIR.
    """
    from yulin_gis.pipeline import assess_progress
    from yulin_gis.profile import load_profile

    day = as_of.date() if as_of else dt.date.today()
    result = assess_progress(plan_dir, table, day, maps=not no_maps,
                             profile=load_profile(profile_path))
    for _, row in result.counties.iterrows():
        score = "—" if pd_isna(row["score"]) else f"{row['score']:.1f}"
        click.echo(f"{row['county']}: score {score}, completed {row['completed']} of "
                   f"{row['tasks']} package(s)")
    for problem in result.problems:
        click.echo(str(problem), err=True)
    for path in result.files:
        click.echo(f"  wrote {path}")


def pd_isna(value: object) -> bool:
    """True for NaN/None (without importing pandas at module level)."""
    import pandas as pd

    return bool(pd.isna(value))  # type: ignore[call-overload]
