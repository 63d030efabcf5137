"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = [
    "build_plan_options",
    "dem_option",
    "input_argument",
    "input_crs_option",
    "out_option",
    "plan_options",
    "publish_option",
    "run_errors",
]

F = TypeVar("F", bound=Callable[..., Any])

class _InputPath(click.Path):
    """An existing file or folder, or a ``postgresql://`` URL (kept as text)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower().startswith(("postgresql:", "postgres:")):
            return value
        return super().convert(value, param, ctx)


input_argument = click.argument(
    "input_path", metavar="INPUT", type=_InputPath(exists=True, path_type=Path),
)
publish_option = click.option(
    "--publish", default=None, metavar="URL",
    help="Also publish every layer of plan.gpkg, with QGIS styles, into PostGIS: "
    "postgresql://USER@HOST:PORT/DBNAME?schema=NAME (replaces the previous publication "
    "in one transaction; password from the URL, PGPASSWORD or ~/.pgpass).",
)
def _layer_crs(ctx: click.Context, param: click.Parameter,
               values: tuple[str, ...]) -> str | dict[str, str] | None:
    """``--input-crs gcj02`` (every layer) or ``--input-crs compounds=gcj02`` (one layer)."""
    if not values:
        return None
    plain = [v for v in values if "=" not in v]
    if len(values) == 1 and plain:
        return plain[0]
    if len(plain) > 1:
        raise click.BadParameter("give one CRS for all layers, or LAYER=CRS pairs")
    out = {"*": plain[0]} if plain else {}
    out.update(dict(v.split("=", 1) for v in values if "=" in v))
    return out


input_crs_option = click.option(
    "--input-crs", default=(), multiple=True, metavar="[LAYER=]CRS", callback=_layer_crs,
    help="CRS of the input coordinates when the files do not say or say wrong: gcj02 "
    "(Gaode/Tencent), bd09 (Baidu), wgs84, cgcs2000 or EPSG:code; LAYER=CRS for one layer "
    "(e.g. compounds=gcj02), repeatable.",
)
dem_option = click.option(
    "--dem", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="DEM GeoTIFF for the waterlogging evidence.",
)
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Output folder (created if needed) [default: out/<input name>].",
)


def default_out_dir(input_path: Path | str) -> Path:
    """``out/<input name>`` (``out/<database>_<schema>`` for a PostGIS URL): where a run goes
    when ``--out`` is not given."""
    from yulin_gis.io import is_database_url, parse_database_url, safe_filename

    if is_database_url(str(input_path)):
        target = parse_database_url(str(input_path))
        return Path("out") / safe_filename(f"{target.dbname}_{target.schema}")
    return Path("out") / safe_filename(Path(str(input_path)).stem or "run")



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


_PLAN_OPTIONS = [
    click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False,
                 path_type=Path), default=None,
                 help="Policy profile TOML (default: Yulin 2022 rules / 玉林市2022年实施细则)."),
    click.option("--unit", type=click.Choice(["community_id", "street"]), default="community_id",
                 show_default=True, help="Planning unit packages never cross (社区 or 街道)."),
    click.option("--min-households", type=click.FloatRange(min=0), default=None,
                 help="Floor of households per package (default: the profile's [packaging])."),
    click.option("--max-households", type=click.FloatRange(min=1), default=None,
                 help="Ceiling of households per package (default: the profile's)."),
    click.option("--gap-m", type=click.FloatRange(min=0), default=None,
                 help="Compounds within this many metres are neighbours (default: the profile's)."),
    click.option("--budget", default=None, metavar="YUAN|CSV",
                 help="Yearly budget per county: a number of yuan, or a CSV with county, "
                 "plan_year, budget_yuan. Default: none (the plan is not constrained by money "
                 "and is paced evenly to the deadline)."),
    click.option("--capacity", type=click.FloatRange(min=0), default=None,
                 help="Yearly household capacity per county (default: no limit)."),
    click.option("--basemap", default="none", show_default=True,
                 help="Web map basemap: none (offline), osm, tianditu, gaode, or an XYZ URL "
                 "template (intranet tiles)."),
    click.option("--online", is_flag=True, help="Link Leaflet from a CDN instead of inlining it."),
    click.option("--raster", "rasters", multiple=True, type=click.Path(exists=True, dir_okay=False,
                 path_type=Path), help="Local GeoTIFF drawn on the overview map, e.g. an "
                 "orthophoto as an offline basemap (repeatable)."),
    click.option("--no-maps", is_flag=True, help="Skip the maps."),
    click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
                 show_default=True, help="Where the heavy steps run (pipe evidence, packaging "
                 "per county); dask needs the [dask] extra."),
    click.option("--scheduler", default=None, metavar="ADDRESS",
                 help="Dask scheduler, e.g. tcp://10.0.0.1:8786 (default: a local cluster)."),
    click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
                 help="Workers of the local dask cluster."),
]


_PACKAGE_OPTIONS = frozenset({"unit", "min_households", "max_households", "gap_m"})
_SCHEDULE_OPTIONS = frozenset({"budget", "capacity"})


def plan_options(func: F | None = None, *, stage: str = "utilities") -> Any:
    """Add the planning options a command uses (``stage``: the last stage it runs).

    ``survey`` gets no package limits and no budget, ``packages`` no budget.
    """
    skip: set[str] = set()
    if stage in {"validate", "survey"}:
        skip |= _PACKAGE_OPTIONS
    if stage in {"validate", "survey", "packages"}:
        skip |= _SCHEDULE_OPTIONS

    def decorate(f: F) -> F:
        for option in reversed(_PLAN_OPTIONS):
            name = option(lambda: None).__click_params__[0].name  # type: ignore[attr-defined]
            if name not in skip:
                f = option(f)
        return f

    return decorate(func) if func is not None else decorate


def build_plan_options(kwargs: dict[str, Any]) -> Any:
    """Pop the planning options from a command's kwargs into a PlanOptions."""
    from yulin_gis.pipeline import PlanOptions

    budget_text = kwargs.pop("budget", None)
    budget: float | Path | None = None
    if budget_text is not None:
        try:
            budget = float(budget_text)
        except ValueError:
            budget = Path(budget_text)
            if not budget.exists():
                raise click.BadParameter(f"{budget_text}: neither a number nor a file",
                                         param_hint="--budget") from None
    defaults = PlanOptions()
    return PlanOptions(
        profile_path=kwargs.pop("profile_path"), unit=kwargs.pop("unit", defaults.unit),
        min_households=kwargs.pop("min_households", defaults.min_households),
        max_households=kwargs.pop("max_households", defaults.max_households),
        gap_m=kwargs.pop("gap_m", defaults.gap_m),
        budget=budget, capacity=kwargs.pop("capacity", None), basemap=kwargs.pop("basemap"),
        online=kwargs.pop("online"), rasters=tuple(kwargs.pop("rasters")),
        engine=kwargs.pop("engine"), scheduler=kwargs.pop("scheduler"),
        workers=kwargs.pop("workers"))
