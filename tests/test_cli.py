"""The command line: exit codes, reports, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from yulin_gis.cli.main import cli


def test_validate_ok_and_json(sample_gpkg: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(sample_gpkg)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    result = CliRunner().invoke(cli, ["validate", str(sample_gpkg), "--format", "json"])
    data = json.loads(result.output)
    assert data["ok"] is True
    assert data["rows"]["compounds"] == 4


def test_validate_errors_exit_1_and_name_the_field(tmp_path: Path, compounds) -> None:
    bad = tmp_path / "bad.gpkg"
    compounds.drop(columns=["name"]).to_file(bad, layer="compounds")
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "field name" in result.output
    assert "小区名称" in result.output  # the aliases that would have matched


def test_validate_without_built_year_column_warns_to_verify(tmp_path: Path, compounds) -> None:
    """No build years: not an error, every compound 待核实 (eligibility cannot be decided)."""
    path = tmp_path / "c.gpkg"
    compounds.drop(columns=["built_year"]).to_file(path, layer="compounds")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "WARNING [missing-field]" in result.output and "建成年代" in result.output
    assert "待核实 4 个小区" in result.output


def test_bad_input_crs_is_a_clean_error(sample_gpkg: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(sample_gpkg), "--out", str(tmp_path),
                                      "--input-crs", "EPSG:999999", "--no-maps"])
    assert result.exit_code == 1
    assert "Unknown input CRS" in result.output
    assert "Traceback" not in result.output


def test_budget_option_must_be_number_or_file(sample_gpkg: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", str(sample_gpkg), "--out", str(tmp_path),
                                      "--budget", "lots"])
    assert result.exit_code == 2
    assert "--budget" in result.output


def test_survey_command_writes_contract(small_city, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-q", "survey", str(small_city["gpkg"]), "--out",
                                      str(tmp_path), "--no-maps"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plan.gpkg").exists()
    assert (tmp_path / "摸底调查评估表.xlsx").exists()
    assert (tmp_path / "run_manifest.json").exists()
    assert "150 compounds" in result.output


def test_out_defaults_to_out_and_the_input_name(small_city, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``yulin-gis survey INPUT`` without --out writes to out/<input name> (README's table route)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["-q", "survey", str(small_city["gpkg"]), "--no-maps"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / Path(small_city["gpkg"]).stem
    assert (out / "plan.gpkg").exists() and (out / "run_manifest.json").exists()
    assert f"out/{out.name}" in result.output


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "yulin_gis", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0
    for command in ("validate", "run", "demo", "survey", "packages", "plan", "utilities"):
        assert command in proc.stdout


def test_import_stays_light() -> None:
    code = ("import sys, yulin_gis; heavy = [m for m in ('folium', 'rasterio', 'matplotlib', "
            "'openpyxl', 'dask', 'scipy', 'networkx', 'geopandas', 'sqlalchemy', 'psycopg', "
            "'geoalchemy2') if m in sys.modules]; "
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == ""


def test_input_crs_per_layer_option(tmp_path: Path, survey_table, communities) -> None:
    from yulin_gis.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(survey_table["经度"], survey_table["纬度"])
    folder = tmp_path / "in"
    folder.mkdir()
    survey_table.assign(经度=lon, 纬度=lat).to_csv(folder / "compounds.csv", index=False)
    communities.to_file(folder / "communities.gpkg")
    result = CliRunner().invoke(cli, ["validate", str(folder), "--input-crs", "compounds=gcj02",
                                      "--input-crs", "cgcs2000", "--format", "json"])
    assert result.exit_code == 0, result.output
    codes = {p["code"] for p in json.loads(result.output)["problems"]}
    assert "outside-communities" not in codes
    both = CliRunner().invoke(cli, ["validate", str(folder), "--input-crs", "gcj02",
                                    "--input-crs", "wgs84"])
    assert both.exit_code == 2
