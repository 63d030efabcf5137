"""The whole pipeline on a small synthetic city: the output contract and conservation."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook

from yulin_gis.errors import ConservationError, ValidationError
from yulin_gis.pipeline import check_conservation, file_sha256, run


def test_every_input_compound_once_with_status_and_reason(small_city, small_run) -> None:
    inputs = gpd.read_file(small_city["gpkg"], layer="compounds")
    out = gpd.read_file(small_run.out_dir / "plan.gpkg", layer="compounds")
    assert sorted(out["compound_id"]) == sorted(inputs["compound_id"])
    assert out["compound_id"].is_unique
    assert set(out["status"]) <= {"planned", "packaged", "eligible", "excluded", "consultation"}
    not_planned = out[out["status"] != "planned"]
    assert (not_planned["exclusion_reason"].fillna("").str.len() > 0).all()
    planned = out[out["status"] == "planned"]
    assert (planned["package_id"].str.len() > 0).all()
    assert planned["plan_year"].astype(int).between(2022, 2025).all()
    assert out.crs.to_epsg() == 4490


def test_packages_layer_matches_compounds(small_run) -> None:
    gpkg = small_run.out_dir / "plan.gpkg"
    comp = gpd.read_file(gpkg, layer="compounds")
    packages = gpd.read_file(gpkg, layer="packages")
    assert packages["package_id"].is_unique
    used = set(comp.loc[comp["package_id"].fillna("") != "", "package_id"])
    assert used == set(packages["package_id"])
    sums = comp[comp["package_id"].fillna("") != ""].groupby("package_id")["households"].sum()
    merged = packages.set_index("package_id")["households"]
    assert (sums.reindex(merged.index) == merged).all()
    # a package never crosses its community
    per_pkg = comp[comp["package_id"].fillna("") != ""].groupby("package_id")["community_id"]
    assert (per_pkg.nunique() == 1).all()


def test_gpkg_has_result_layers_and_qgis_styles(small_run) -> None:
    gpkg = small_run.out_dir / "plan.gpkg"
    names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    assert {"compounds", "packages", "pipe_upgrades", "joint_trenches", "communities",
            "utilities"} <= names
    with sqlite3.connect(gpkg) as con:
        styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    assert {"compounds", "packages"} <= styled


def test_workbooks_read_back_in_chinese(small_run) -> None:
    out = small_run.out_dir
    survey = load_workbook(out / "摸底调查评估表.xlsx", read_only=True)
    assert len(survey.sheetnames) >= 2
    plans = sorted((out / "年度计划").glob("*.xlsx"))
    assert plans, "no county plan workbook"
    table = pd.read_excel(plans[0], header=1)
    assert "小区名称" in table.columns
    packages = pd.read_excel(out / "改造片区清单.xlsx", header=1)
    assert "片区编号" in packages.columns
    companies = sorted((out / "管线单位").glob("*.xlsx"))
    assert companies


def test_maps_are_offline_and_escape_text(small_run) -> None:
    maps = small_run.out_dir / "maps"
    html = (maps / "overview.html").read_text(encoding="utf-8")
    remote = re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["\']?https?:',
                        html, flags=re.IGNORECASE)
    assert remote == []
    assert "Leaflet 1.9" in html
    assert (maps / "overview.png").stat().st_size > 10_000
    assert (maps / "summary.html").exists()
    county_maps = list(maps.glob("county_*.html"))
    assert county_maps


def test_manifest_is_last_and_hashes_outputs(small_run) -> None:
    manifest_path = small_run.files[-1]
    assert manifest_path.name == "run_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    gpkg = small_run.out_dir / "plan.gpkg"
    assert manifest["outputs"]["plan.gpkg"]["sha256"] == file_sha256(gpkg)  # relative paths
    assert manifest["inputs"]
    stages = manifest["stage_seconds"]
    assert list(stages) == ["validate", "survey", "packages", "plan", "utilities", "outputs", "maps"]
    assert all(v["wall_s"] >= 0 and v["cpu_s"] >= 0 for v in stages.values())
    assert stages == small_run.seconds
    assert not list(small_run.out_dir.rglob("*.part*")), "temporary files left behind"


def test_same_input_same_packages_and_plan(small_city, small_run, tmp_path: Path) -> None:
    again = run(small_city["gpkg"], tmp_path, dem=small_city["dem"], maps=False)
    cols = ["compound_id", "status", "package_id", "plan_year", "exclusion_reason"]
    a = small_run.compounds[cols].sort_values("compound_id").reset_index(drop=True)
    b = again.compounds[cols].sort_values("compound_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_survey_only_run_keeps_every_compound(small_city, tmp_path: Path) -> None:
    result = run(small_city["gpkg"], tmp_path, until="survey", maps=False)
    # the consent gate (seed §四(一) 居民改造意愿) already holds compounds at the survey
    assert set(result.compounds["status"]) <= {"eligible", "excluded", "consultation"}
    excluded = result.compounds[result.compounds["status"].isin(["excluded", "consultation"])]
    assert (excluded["exclusion_reason"].str.len() > 0).all()


def test_invalid_input_writes_nothing(tmp_path: Path, compounds) -> None:
    bad = tmp_path / "bad.gpkg"
    compounds.drop(columns=["name"]).to_file(bad, layer="compounds")  # identity: stops a run
    out = tmp_path / "out"
    with pytest.raises(ValidationError, match="name"):
        run(bad, out)
    assert not out.exists() or not any(out.iterdir())


def test_conservation_check_catches_loss_and_duplicates() -> None:
    frame = pd.DataFrame({"compound_id": ["A", "B", "B"], "status": ["planned"] * 3,
                          "exclusion_reason": ["", "", ""]})
    with pytest.raises(ConservationError, match=r"missing.*: C.*more than once: B"):
        check_conservation(["A", "B", "C"], frame)
    frame = pd.DataFrame({"compound_id": ["A", "B"], "status": ["planned", "excluded"],
                          "exclusion_reason": ["", ""]})
    with pytest.raises(ConservationError, match="without a reason: B"):
        check_conservation(["A", "B"], frame)
    frame.loc[1, "exclusion_reason"] = "built after 2005"
    check_conservation(["A", "B"], frame)


def test_local_orthophoto_drawn_offline(small_city, tmp_path: Path) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    from yulin_gis.pipeline import PlanOptions

    comp = gpd.read_file(small_city["gpkg"], layer="compounds").to_crs(4546)
    x0, y0, x1, y1 = comp.total_bounds
    ortho = tmp_path / "ortho.tif"
    rgb = np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8)
    with rasterio.open(ortho, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8",
                       crs="EPSG:4546", transform=from_bounds(x0, y0, x1, y1, 64, 64)) as dst:
        dst.write(rgb)
    result = run(small_city["gpkg"], tmp_path / "out", until="survey",
                 options=PlanOptions(rasters=(ortho,)))
    html = (result.out_dir / "maps" / "overview.html").read_text(encoding="utf-8")
    assert "影像：ortho" in html
    assert "data:image/png;base64," in html


def test_dask_engine_gives_the_same_plan(small_city, small_run, tmp_path: Path) -> None:
    from yulin_gis.pipeline import PlanOptions

    result = run(small_city["gpkg"], tmp_path, dem=small_city["dem"], maps=False,
                 options=PlanOptions(engine="dask", workers=2))
    cols = ["compound_id", "status", "package_id", "plan_year", "exclusion_reason"]
    a = small_run.compounds[cols].sort_values("compound_id").reset_index(drop=True)
    b = result.compounds[cols].sort_values("compound_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    evidence = ["hazard_pipes", "items", "priority", "cost_yuan"]
    pd.testing.assert_frame_equal(
        small_run.compounds.sort_values("compound_id")[evidence].reset_index(drop=True),
        result.compounds.sort_values("compound_id")[evidence].reset_index(drop=True))


def test_stage_timer_quiet_without_terminal(capsys) -> None:
    """No progress bar when stderr is not a terminal (pytest captures it); times are kept."""
    from yulin_gis.log import StageTimer, configure_logging

    configure_logging(0)
    timer = StageTimer(["a", "b"])
    with timer("a"):
        pass
    with timer("b"):
        sum(range(10_000))
    line = timer.close()
    assert list(timer.seconds) == ["a", "b"]
    assert line.startswith("a ") and "total" in line
    assert capsys.readouterr().err == ""
