"""``yulin-gis run`` and ``yulin-gis demo``: the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from yulin_gis.cli.options import (
    dem_option,
    input_argument,
    input_crs_option,
    out_option,
    run_errors,
)

__all__ = ["demo", "run"]


def _summary(result: object) -> None:
    from yulin_gis.pipeline import RunResult

    assert isinstance(result, RunResult)
    status = result.compounds["status"].value_counts().sort_index()
    click.echo(f"{len(result.compounds)} compounds: " +
               ", ".join(f"{k} {v}" for k, v in status.items()))
    for path in result.files:
        click.echo(f"  wrote {path}")


def _repo_maps_dir(out_dir: Path) -> Path:
    """The repository's ``maps/`` folder when running from a checkout, else ``out_dir/maps``."""
    import yulin_gis

    root = Path(yulin_gis.__file__).resolve().parent.parent
    return root / "maps" if (root / "pyproject.toml").exists() else out_dir / "maps"


@click.command()
@input_argument
@out_option
@input_crs_option
@dem_option
@click.option("--polygons", type=click.Path(exists=True, path_type=Path), default=None,
              help="Compound polygons joined by compound_id to a survey table.")
@run_errors
def run(input_path: Path, out_dir: Path, input_crs: str | None, dem: Path | None,
        polygons: Path | None) -> None:
    """Run the whole pipeline on INPUT and write plan.gpkg, workbooks and maps to --out."""
    from yulin_gis.pipeline import run as run_pipeline

    _summary(run_pipeline(input_path, out_dir, input_crs=input_crs, dem=dem, polygons=polygons))


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/demo"), show_default=True, help="Output folder.")
@click.option("--maps-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the maps go (default: the repository's maps/ folder).")
@run_errors
def demo(out_dir: Path, maps_dir: Path | None) -> None:
    """Run the whole pipeline on the embedded Yulin sample (玉林示例数据)."""
    from yulin_gis.datasets import get_path
    from yulin_gis.pipeline import run as run_pipeline

    result = run_pipeline(get_path("gpkg"), out_dir, dem=get_path("dem"),
                          maps_dir=maps_dir or _repo_maps_dir(out_dir))
    _summary(result)
