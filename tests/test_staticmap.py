"""Tests for yulin_gis.maps._static: PNG/PDF report maps."""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from yulin_gis.errors import CRSError, OutputError, SchemaError
from yulin_gis.maps import (
    TIER_COLOURS,
    StaticLayer,
    compound_layer,
    county_maps,
    find_cjk_font,
    legend_entries,
    nice_scale_length,
    overview_map,
    render_static_map,
    scale_bar_label,
)
from yulin_gis.maps import _static as staticmap

CRS = "EPSG:4546"
X0, Y0 = 420_000.0, 2_504_000.0


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    """Eight compounds in two counties (one without a county), 3 km wide."""
    tiers = ["priority", "share", "excluded", "priority", "share", "priority", "excluded", None]
    counties = ["玉州区", "玉州区", "玉州区", "福绵区", "福绵区", "福绵区", "容县", None]
    geoms = [box(X0 + i * 400, Y0 + (i % 3) * 300, X0 + i * 400 + 150, Y0 + (i % 3) * 300 + 120)
             for i in range(8)]
    return gpd.GeoDataFrame(
        {"compound_id": [f"c{i}" for i in range(8)], "tier": tiers, "county": counties,
         "built_year": [1985, 1990, 1995, 1998, 2001, 2003, 2008, 2010],
         "plan_year": [2024, 2025, 2025, 2026, 2024, 2026, 2025, 2024],
         "priority": [95.5, 80.1, 10.0, 70.2, 55.0, 60.3, 5.0, 40.0]},
        geometry=geoms, crs=CRS,
    )


@pytest.fixture
def packages(compounds: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"package_id": ["P1", "P2"], "county": ["玉州区", "福绵区"]},
        geometry=[box(X0 - 50, Y0 - 50, X0 + 1000, Y0 + 800), box(X0 + 1150, Y0 - 50, X0 + 2200, Y0 + 800)],
        crs=CRS,
    )


def _png(path: Path) -> np.ndarray:
    from matplotlib import image

    return np.asarray(image.imread(path))


def test_png_has_expected_size_and_is_not_blank(tmp_path: Path, compounds: gpd.GeoDataFrame) -> None:
    layer = compound_layer(compounds, "tier")
    out = render_static_map([layer], tmp_path / "m.png", title="测试图", dpi=50, figsize=(6, 4))
    assert out == tmp_path / "m.png"
    pixels = _png(out)
    assert pixels.shape[:2] == (200, 300)  # rows = 4 in × 50 dpi, columns = 6 in × 50 dpi
    assert float(pixels[..., :3].var()) > 0.005
    red = np.array([int(TIER_COLOURS["priority"][i:i + 2], 16) / 255 for i in (1, 3, 5)])
    red = layer.alpha * red + (1 - layer.alpha)  # blended over the white page
    close = np.abs(pixels[..., :3] - red).max(axis=-1) < 0.05  # priority compounds are drawn
    assert close.sum() > 10
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_pdf_is_written_by_suffix(tmp_path: Path, compounds: gpd.GeoDataFrame,
                                  packages: gpd.GeoDataFrame) -> None:
    out = overview_map(compounds, packages=packages, path=tmp_path / "sub" / "overview.pdf", dpi=72)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 5000


def test_png_is_deterministic_and_replaces_existing(tmp_path: Path, compounds: gpd.GeoDataFrame) -> None:
    path = tmp_path / "m.png"
    path.write_bytes(b"old")
    layer = compound_layer(compounds, "built_year")
    render_static_map([layer], path, title="图", dpi=40, figsize=(5, 4))
    first = path.read_bytes()
    render_static_map([layer], path, title="图", dpi=40, figsize=(5, 4))
    assert first.startswith(b"\x89PNG")
    assert path.read_bytes() == first


@pytest.mark.parametrize(
    ("width", "expected"),
    [(10_000, 2_000), (37_000, 5_000), (4_000, 1_000), (3_999, 500), (1_234, 200),
     (800, 200), (79, 10), (250_000, 50_000), (8_000.0, 2_000)],
)
def test_nice_scale_length_examples(width: float, expected: float) -> None:
    assert nice_scale_length(width) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=10, max_value=5e6))
def test_nice_scale_length_is_round_and_fits(width: float) -> None:
    length = nice_scale_length(width)
    mantissa = length / 10 ** math.floor(math.log10(length))
    assert round(mantissa, 9) in {1.0, 2.0, 5.0}
    assert length <= 0.25 * width * (1 + 1e-9)
    assert length > 0.25 * width / 2.5  # the next round number would not fit


def test_nice_scale_length_rejects_bad_width() -> None:
    with pytest.raises(SchemaError):
        nice_scale_length(0)
    with pytest.raises(SchemaError):
        nice_scale_length(float("nan"))


def test_scale_bar_label() -> None:
    assert scale_bar_label(500) == "500 米"
    assert scale_bar_label(2000) == "2 千米"
    assert scale_bar_label(2500) == "2.5 千米"


def test_drawn_scale_bar_matches_visible_extent(compounds: gpd.GeoDataFrame) -> None:
    import matplotlib

    layer = compound_layer(compounds, "tier")
    bounds = [tuple(compounds.total_bounds)]
    target = staticmap._projected(CRS)
    with matplotlib.rc_context(staticmap._rc()):
        fig = staticmap._figure([layer], None, bounds, "t", target, (6, 4), 50, None)
    ax = fig.axes[0]
    bar = [p for p in ax.patches if p.get_gid() == "scalebar"]
    assert len(bar) == 4
    total = sum(p.get_width() for p in bar)
    xmin, xmax = ax.get_xlim()
    assert total == pytest.approx(nice_scale_length(xmax - xmin))
    assert xmax - xmin > compounds.total_bounds[2] - compounds.total_bounds[0]  # padded extent
    texts = [t.get_text() for t in ax.texts]
    assert "千米" in texts or "米" in texts
    assert "北" in texts


def test_legend_entry_per_category_with_chinese_labels(compounds: gpd.GeoDataFrame) -> None:
    entries = legend_entries(compound_layer(compounds, "tier"))
    assert [e.label for e in entries] == ["重点改造（3）", "按比例纳入（2）", "不纳入（2）", "未填（1）"]
    assert [e.colour for e in entries[:3]] == [TIER_COLOURS[t] for t in ("priority", "share", "excluded")]
    assert {e.kind for e in entries} == {"polygon"}
    years = legend_entries(compound_layer(compounds, "plan_year"))
    assert [e.label for e in years] == ["2024年（3）", "2025年（3）", "2026年（2）"]
    numeric = legend_entries(replace_classes(compound_layer(compounds, "priority"), 4))
    assert len(numeric) == 4
    assert sum(int(e.label.rsplit("（", 1)[1].rstrip("）")) for e in numeric) == 8
    assert numeric[0].label.startswith("5.0 – ")


def replace_classes(layer: StaticLayer, n: int) -> StaticLayer:
    from dataclasses import replace

    return replace(layer, classes=n)


def test_legend_for_lines_points_and_plain_layers() -> None:
    lines = gpd.GeoDataFrame({"utility": ["gas", "power", "gas"]},
                             geometry=[LineString([(0, 0), (1, 1)])] * 3, crs=CRS)
    entries = legend_entries(StaticLayer(lines, "管线", style_by="utility", labels={"power": "电力"},
                                         counts=False))
    assert [(e.label, e.kind) for e in entries] == [("电力", "line"), ("gas", "line")]
    points = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(1, 1)], crs=CRS)
    (entry,) = legend_entries(StaticLayer(points, "设施", color="#123456"))
    assert (entry.label, entry.colour, entry.kind) == ("设施（2）", "#123456", "point")


def test_mixed_layers_render(tmp_path: Path, compounds: gpd.GeoDataFrame) -> None:
    pipes = gpd.GeoDataFrame({"utility": ["gas", "sewer"]},
                             geometry=[LineString([(X0, Y0), (X0 + 2000, Y0 + 500)]),
                                       LineString([(X0, Y0 + 600), (X0 + 3000, Y0)])], crs=CRS)
    points = compounds.copy()
    points["geometry"] = compounds.centroid
    layers = [StaticLayer(pipes, "管线", style_by="utility"), compound_layer(points.to_crs(4490), "tier")]
    out = render_static_map(layers, tmp_path / "mixed.png", title="混合", dpi=40, figsize=(5, 4),
                            boundary=box(X0 - 100, Y0 - 100, X0 + 3500, Y0 + 900))
    assert _png(out).shape[:2] == (160, 200)


def test_county_maps_one_file_per_county(tmp_path: Path, compounds: gpd.GeoDataFrame,
                                         packages: gpd.GeoDataFrame) -> None:
    counties = gpd.GeoDataFrame({"name": ["玉州区"]}, geometry=[box(X0 - 100, Y0 - 100, X0 + 1200, Y0 + 900)],
                                crs=CRS)
    paths = county_maps(compounds, packages=packages, counties=counties, out_dir=tmp_path / "county",
                        dpi=30, figsize=(4, 3))
    assert [p.name for p in paths] == sorted(["玉州区.png", "福绵区.png", "容县.png", "未填.png"])
    assert sorted(p.name for p in (tmp_path / "county").iterdir()) == sorted(p.name for p in paths)
    assert all(_png(p).shape[:2] == (90, 120) for p in paths)


def test_errors(tmp_path: Path, compounds: gpd.GeoDataFrame) -> None:
    layer = compound_layer(compounds, "tier")
    with pytest.raises(OutputError):
        render_static_map([layer], tmp_path / "m.jpg", title="t")
    with pytest.raises(CRSError):
        render_static_map([layer], tmp_path / "m.png", title="t", crs="EPSG:4490")
    with pytest.raises(CRSError):
        render_static_map([StaticLayer(compounds.set_crs(None, allow_override=True), "x")],
                          tmp_path / "m.png", title="t")
    with pytest.raises(SchemaError):
        render_static_map([StaticLayer(compounds, "x", style_by="nope")], tmp_path / "m.png", title="t")
    with pytest.raises(SchemaError):
        render_static_map([StaticLayer(compounds.iloc[:0], "x")], tmp_path / "m.png", title="t")
    with pytest.raises(SchemaError):
        county_maps(compounds.drop(columns="county"), out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_cjk_font_found_and_fallback_warns(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from matplotlib import font_manager

    import yulin_gis.fonts as fonts

    find_cjk_font.cache_clear()
    assert find_cjk_font() == "Noto Sans CJK SC"  # fonts-noto-cjk is installed
    find_cjk_font.cache_clear()
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(fonts, "system_cjk_font_files", list)
    monkeypatch.setattr(logging.getLogger("matplotlib.font_manager"), "level", logging.NOTSET)
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="yulin_gis.fonts"):
        assert find_cjk_font() is None
    assert [r.message for r in caplog.records if "CJK" in r.message] != []
    find_cjk_font.cache_clear()


def test_nullable_columns_and_long_legends(compounds: gpd.GeoDataFrame) -> None:
    import matplotlib
    import pandas as pd

    frame = compounds.copy()
    frame["plan_year"] = pd.array([2024, pd.NA, 2025, 2025, pd.NA, 2026, 2024, 2024], dtype="Int64")
    frame["package_id"] = pd.array([f"P{i:02d}" for i in range(7)] + [pd.NA], dtype="string")
    years = legend_entries(compound_layer(frame, "plan_year"))
    assert [e.label for e in years] == ["2024年（3）", "2025年（2）", "2026年（1）", "未填（2）"]
    many = frame.loc[frame.index.repeat(4)].reset_index(drop=True)
    many["package_id"] = [f"P{i:02d}" for i in range(len(many))]
    layer = compound_layer(many, "package_id")
    assert len(legend_entries(layer)) == 32
    with matplotlib.rc_context(staticmap._rc()):
        fig = staticmap._figure([layer], None, [tuple(many.total_bounds)], "t",
                                staticmap._projected(CRS), (6, 4), 40, None)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(texts) == 1 + staticmap.MAX_LEGEND_ROWS  # heading + rows, the last summarising
    assert texts[0] == "小区（所属片区）"
    assert texts[-1] == "…共 32 类"


def test_legend_headings_only_for_styled_layers(compounds: gpd.GeoDataFrame,
                                                packages: gpd.GeoDataFrame) -> None:
    import matplotlib

    layers = [compound_layer(compounds, "tier"),
              StaticLayer(packages, "连片改造片区", fill=False, counts=False)]
    with matplotlib.rc_context(staticmap._rc()):
        fig = staticmap._figure(layers, gpd.GeoSeries([box(X0, Y0, X0 + 10, Y0 + 10)], crs=CRS),
                                [tuple(compounds.total_bounds)], "t", staticmap._projected(CRS),
                                (6, 4), 40, None)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["边界", "小区（改造类别）", "重点改造（3）", "按比例纳入（2）", "不纳入（2）",
                     "未填（1）", "连片改造片区"]


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, yulin_gis.maps._static, yulin_gis.maps._qgis_styles; "
            "print(sorted(m for m in ('matplotlib', 'geopandas', 'pandas', 'shapely') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fit_frames_layers_or_boundary(compounds: gpd.GeoDataFrame) -> None:
    layer = staticmap._prepare(compound_layer(compounds, "tier"), staticmap._projected(CRS))
    big = gpd.GeoSeries([box(X0 - 50_000, Y0 - 50_000, X0 + 50_000, Y0 + 50_000)], crs=CRS)
    (only,) = staticmap._map_bounds([layer], big, "layers")
    assert only == pytest.approx(tuple(compounds.total_bounds))
    assert staticmap._map_bounds([layer], big, "all")[-1] == pytest.approx(tuple(big.total_bounds))
    empty = StaticLayer(compounds.iloc[:0], "空")
    assert staticmap._map_bounds([empty], big, "layers") == [pytest.approx(tuple(big.total_bounds))]


def test_large_layers_are_rasterised_in_pdf(tmp_path: Path, compounds: gpd.GeoDataFrame,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    layer = compound_layer(compounds, "tier")
    vector = render_static_map([layer], tmp_path / "v.pdf", title="图", dpi=30, figsize=(4, 3)).read_bytes()
    monkeypatch.setattr(staticmap, "RASTERIZE_ABOVE", 3)
    raster = render_static_map([layer], tmp_path / "r.pdf", title="图", dpi=30, figsize=(4, 3)).read_bytes()
    assert b"/Subtype /Image" not in vector
    assert b"/Subtype /Image" in raster
