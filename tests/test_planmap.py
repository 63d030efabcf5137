"""plan_map: folium maps of a run, from any source; points, mixed geometries, outliers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import yulin_gis
from yulin_gis.errors import InputFileError, OutputError
from yulin_gis.maps import MapLayer, PlanLayers, plan_map, render_map, robust_extent, save_map


def _layers(page: str) -> list[dict[str, Any]]:
    found = re.findall(r'<script type="application/json" class="yulin-data" id="[^"]+">(.*?)</script>',
                       page, re.S)
    return [json.loads(f) for f in found]


def _refs(page: str) -> list[str]:
    """src/href of the page's tags (script text is not parsed as markup)."""
    from html.parser import HTMLParser

    refs: list[str] = []

    class _P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            refs.extend(v or "" for k, v in attrs if k in ("src", "href"))

    _P().feed(page)
    return refs


def _fit(m: folium.Map) -> list[list[float]]:
    from yulin_gis.maps import FitView

    fits = [c for c in m._children.values() if isinstance(c, FitView)]
    assert len(fits) == 1
    return [list(map(float, p)) for p in fits[0].bounds]


def _mixed_compounds() -> gpd.GeoDataFrame:
    """Three polygons and three points in Yulin, one point in Shandong (1,500 km away)."""
    polys = [shapely.box(110.15 + i * 0.002, 22.63, 110.151 + i * 0.002, 22.631) for i in range(3)]
    points = [shapely.Point(110.16, 22.64), shapely.Point(110.161, 22.641),
              shapely.MultiPoint([(110.162, 22.64), (110.163, 22.641)]),
              shapely.Point(117.0, 36.6)]
    n = len(polys) + len(points)
    return gpd.GeoDataFrame(
        {"compound_id": [f"C{i}" for i in range(n)], "name": [f"小区{i}" for i in range(n)],
         "county": ["玉州区"] * n, "tier": ["priority"] * n, "built_year": [1990] * n,
         "status": ["planned"] * (n - 1) + ["待核实"], "plan_year": [2024, 2024, 2025, None,
                                                                   2025, "2026", None]},
        geometry=[*polys, *points], crs="EPSG:4326")


def test_points_and_mixed_compounds_are_drawn_and_framed() -> None:
    comp = _mixed_compounds()
    packages = gpd.GeoDataFrame(
        {"package_id": ["P1", "P2", "P3"], "county": ["玉州区"] * 3, "plan_year": [2024, None, 2025]},
        geometry=[shapely.MultiPoint([(110.16, 22.64), (110.161, 22.641), (110.162, 22.64)]),
                  shapely.Point(110.17, 22.65), shapely.box(110.15, 22.63, 110.155, 22.632)],
        crs="EPSG:4326")
    m = plan_map(PlanLayers(comp, packages=packages))
    assert isinstance(m, folium.Map)
    records = {r["name"]: r for r in _layers(m.get_root().render())}
    assert records["小区"]["kind"] == "polygon"
    assert records["小区"]["n"] == 3
    assert records["小区（点位）"]["kind"] == "point"
    assert records["小区（点位）"]["n"] == 4  # the outlier is drawn, only not framed
    pkg = records["改造片区"]
    assert pkg["kind"] == "polygon"  # packages of points drawn as hulls
    assert pkg["n"] == 3
    (s, w), (n, e) = _fit(m)
    assert 110.1 < w < e < 110.2  # not zoomed out to Shandong
    assert 22.6 < s < n < 22.7


def test_robust_extent_ignores_a_far_outlier_without_a_flag() -> None:
    rng = np.random.default_rng(0)
    x, y = 110.1 + rng.random(40) * 0.2, 22.6 + rng.random(40) * 0.1
    boxes = np.column_stack([x, y, x + 0.001, y + 0.001])
    far = np.vstack([boxes, [[117.0, 36.6, 117.001, 36.601]]])
    extent = robust_extent(far)
    assert extent is not None
    assert extent[2] < 110.4
    assert extent[3] < 22.8
    assert robust_extent(far[:3]) is not None
    few = robust_extent(np.array([[117.0, 36.6, 117.1, 36.7], [110.0, 22.6, 110.1, 22.7]]))
    assert few is not None
    assert few[2] == 117.1  # too few to call one an outlier


def test_layers_of_one_kind_are_not_split_and_collections_are_listed() -> None:
    comp = _mixed_compounds()
    only_points = comp.iloc[3:6]
    odd = comp.iloc[:2].copy()
    odd.loc[odd.index[1], "geometry"] = shapely.GeometryCollection([shapely.Point(110.1, 22.6)])
    page = render_map([MapLayer("点", only_points, tooltip={"name": "名称"}),
                       MapLayer("面", odd, tooltip={"name": "名称"})])
    assert page.written == {"点": 3, "面": 1}
    assert page.skipped == {"点": [], "面": ["1"]}


def test_plan_map_from_a_run_folder_and_errors(tmp_path: Path) -> None:
    comp = _mixed_compounds().iloc[:6]
    gpkg = tmp_path / "plan.gpkg"
    comp.assign(plan_year=pd.array([2024, 2024, 2025, None, 2025, 2026], dtype="Int64")).to_file(
        gpkg, layer="compounds")
    m = yulin_gis.plan_map(tmp_path, title="<b>标题</b>")
    names = [r["name"] for r in _layers(m.get_root().render())]
    assert names == ["小区", "小区（点位）"]
    assert "&lt;b&gt;标题&lt;/b&gt;" in m.get_root().render()
    saved = save_map(m, tmp_path / "maps" / "m.html")
    assert saved.read_text(encoding="utf-8").count('class="yulin-data"') == 2
    with pytest.raises(InputFileError, match=r"plan\.gpkg"):
        plan_map(tmp_path / "nothing")
    with pytest.raises(InputFileError):
        plan_map(42)


def test_make_offline_on_a_plain_folium_map(tmp_path: Path) -> None:
    from folium import plugins

    m = folium.Map(location=[22.63, 110.16], zoom_start=12, tiles=None)
    folium.CircleMarker([22.63, 110.16], radius=5, popup="弹窗").add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.MeasureControl().add_to(m)
    yulin_gis.make_offline(m, strict=True)
    folium.GeoJson({"type": "Point", "coordinates": [110.16, 22.63]}).add_to(m)  # added after
    page = m.get_root().render()
    assert not [r for r in _refs(page) if r.startswith(("http:", "https:", "//"))]
    assert "Leaflet 1.9.3" in page
    assert "leaflet.fullscreen-3.0.0" in page
    assert "jquery-3.7.1" in page  # folium's Popup needs jQuery: inlined, not linked
    assert "bootstrap" not in page.lower().split("<body>")[0].split("</style>")[-1]
    # An Icon needs Bootstrap / Font Awesome, which are not vendored: strict refuses.
    folium.Marker([22.63, 110.16], icon=folium.Icon(icon="home")).add_to(m)
    with pytest.raises(OutputError, match="not available offline"):
        m.get_root().render()


def test_run_on_a_point_table_writes_point_maps(tmp_path: Path, survey_table: pd.DataFrame,
                                               communities: gpd.GeoDataFrame) -> None:
    """Issue 12: a survey table with lon/lat (POINT compounds) used to crash the map step."""
    folder = tmp_path / "in"
    folder.mkdir()
    survey_table.to_csv(folder / "compounds.csv", index=False)
    communities.to_file(folder / "communities.gpkg")
    result = yulin_gis.run(folder, tmp_path / "out")
    overview = tmp_path / "out" / "maps" / "overview.html"
    assert overview in result.files
    records = {r["name"]: r for r in _layers(overview.read_text(encoding="utf-8"))}
    assert records["小区"]["kind"] == "point"
    assert records["小区"]["n"] == len(survey_table)
    m = plan_map(result)  # the same map from the result object
    assert {r["name"] for r in _layers(m.get_root().render())} == set(records)


def _same_page(page: str) -> str:
    """A page with folium's random element ids numbered in order of appearance."""
    seen: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0), f"{m.group(1)}_{len(seen)}")

    return re.sub(r"\b([a-z_]+?)_([0-9a-f]{32})(?![0-9a-f])", number, page)


def test_a_shared_map_cache_gives_the_same_pages(small_run: Any) -> None:
    """The CLI's maps share one MapCache (issue 16): each layer built and encoded once.
    Every page (overview, two counties, each company) is the page made without it."""
    from yulin_gis.maps import MapCache

    state = small_run.state
    src = PlanLayers.from_state(state)
    half = np.arange(len(src.compounds)) % 2 == 0
    src.compounds = src.compounds.assign(county=np.where(half, "玉州区", "福绵区"))
    assert src.packages is not None and src.pipe_upgrades is not None
    src.packages = src.packages.assign(
        county=np.where(np.arange(len(src.packages)) % 3 == 0, "玉州区", "福绵区"))
    owners = sorted(src.pipe_upgrades["owner"].dropna().astype(str).unique())
    assert len(owners) >= 2
    pages = [{}, {"county": "玉州区"}, {"county": "福绵区"}, {"county": "兴业县"},
             *({"company": o} for o in owners), {}]
    cache = MapCache()
    for kw in pages:
        alone = plan_map(src, **kw).get_root().render()
        shared = plan_map(src, cache=cache, **kw).get_root().render()
        assert _same_page(shared) == _same_page(alone), kw
    # One layer object per county / owner: the overview's layers are reused by later maps.
    again = _layers(plan_map(src, company=owners[0], cache=cache).get_root().render())
    assert [r["n"] for r in again] == [r["n"] for r in _layers(
        plan_map(src, company=owners[0]).get_root().render())]
    assert len(cache._encoded) < sum(len(_layers(plan_map(src, **kw).get_root().render()))
                                     for kw in pages)


def test_gap_kinds_name_each_row_s_missing_facilities() -> None:
    from yulin_gis.maps._plan_layers import FACILITY_ZH, _gap_kinds

    gaps = ["gap_kindergarten", "gap_market", "gap_unknown_kind"]
    flags = np.random.default_rng(1).random((40, 3)) < 0.5
    expected = [", ".join(FACILITY_ZH.get(g[4:], g[4:]) for g, f in zip(gaps, row, strict=True) if f)
                for row in flags]
    assert _gap_kinds(flags, gaps) == expected
    assert "unknown_kind" in "".join(expected)
    assert _gap_kinds(flags[:0], gaps) == []
