"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = [
    "dem_option",
    "input_argument",
    "input_crs_option",
    "out_option",
    "profile_option",
    "run_errors",
]

F = TypeVar("F", bound=Callable[..., Any])

input_argument = click.argument(
    "input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path),
)
input_crs_option = click.option(
    "--input-crs", default=None, metavar="CRS",
    help="CRS of the input coordinates when the files do not say or say wrong: gcj02 "
    "(Gaode/Tencent), bd09 (Baidu), wgs84, cgcs2000 or EPSG:code.",
)
dem_option = click.option(
    "--dem", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="DEM GeoTIFF for the waterlogging evidence.",
)
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Output folder (created if needed).",
)
profile_option = click.option(
    "--profile", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Policy profile TOML (default: Yulin 2022 rules).",
)


def run_errors(func: F) -> F:
    """Turn yulin_gis errors into a clean message and exit status 1 or 2."""
    import functools

    from yulin_gis.errors import ValidationError, YulinGisError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1) from exc
        except YulinGisError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(2) from exc

    return wrapper  # type: ignore[return-value]
