"""Fast tests of the offline web-map builder (no browser)."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from yulin_gis.crs import wgs84_to_gcj02
from yulin_gis.errors import OutputError, SchemaError, ValidationError
from yulin_gis.maps import (
    MapLayer,
    RasterOverlay,
    StyleBy,
    build_map,
    decode_field,
    decode_geometry,
    decode_varints,
    encode_png,
    encode_varints,
    render_map,
    resolve_basemaps,
    write_map,
)
from yulin_gis.maps._encoding import encode_field

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a&b</script><b>"]


def _ring(x: float, y: float, r: float, n: int = 16) -> list[tuple[float, float]]:
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return list(zip(x + r * np.cos(ang), y + r * np.sin(ang), strict=True))


@pytest.fixture
def compounds() -> gpd.GeoDataFrame:
    """Five compounds in EPSG:4546 (Gauss–Krüger CM 111°E) near Yulin, incl. hostile names."""
    x0, y0 = 414_000.0, 2_503_000.0
    geoms = [
        shapely.Polygon(_ring(x0, y0, 60)),
        shapely.Polygon(_ring(x0 + 300, y0, 80), [_ring(x0 + 300, y0, 20)[::-1]]),
        shapely.MultiPolygon([shapely.Polygon(_ring(x0, y0 + 400, 40)),
                              shapely.Polygon(_ring(x0 + 150, y0 + 400, 30))]),
        shapely.Polygon(_ring(x0 - 500, y0 - 200, 100, 24)),
        shapely.Polygon(_ring(x0 + 900, y0 + 900, 50)),
    ]
    return gpd.GeoDataFrame(
        {
            "compound_id": ["C1", "C2", "C3", "C4", "C5"],
            "name": ["玉州小区", *HOSTILE, "名山花园"],
            "tier": ["priority", "share", "excluded", "priority", None],
            "built_year": [1985, 1999, 2003, 1992, 2008],
            "households": [120, 340, 56, 800, 90],
        },
        geometry=geoms,
        crs="EPSG:4546",
    )


def _data(page: str) -> dict[str, Any]:
    """The compact layers' data, as the page holds it (one JSON script per layer)."""
    found = re.findall(r'<script type="application/json" class="yulin-data" id="[^"]+">(.*?)</script>',
                       page, re.S)
    assert found
    return {"layers": [json.loads(f) for f in found]}


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "data", "action")]


def _refs(page: str) -> _Refs:
    parser = _Refs()
    parser.feed(page)
    return parser


def _layer(gdf: gpd.GeoDataFrame, **kw: Any) -> MapLayer:
    opts: dict[str, Any] = {
        "style_by": [StyleBy("tier", "改造类别", labels={"priority": "重点改造", "share": "统筹改造"}),
                     StyleBy("built_year", "建成年代", bins=[1990, 2000, 2005])],
        "tooltip": {"name": "小区名称", "built_year": "建成年份"},
        "popup": {"name": "小区名称", "households": "户数"},
        "search_fields": ["name"],
    }
    opts.update(kw)
    return MapLayer("老旧小区", gdf, **opts)


def test_offline_page_references_nothing_online(compounds: gpd.GeoDataFrame) -> None:
    page = build_map([_layer(compounds)], "玉林市 <改造>")
    refs = _refs(page)
    assert not [r for r in refs.refs if r.lower().startswith(("http:", "https:", "//"))]
    assert "script" in refs.tags
    # Leaflet inlined (with its licence), CSS images as data URIs, no source-map link.
    assert "Leaflet 1.9.3, a JS library for interactive maps" in page
    assert "BSD 2-Clause" in page
    assert "url(images/" not in page
    assert "sourceMappingURL" not in page
    assert "L.tileLayer" not in page  # no basemap by default
    # Chinese text is UTF-8, not \\uXXXX escapes.
    assert "玉州小区" in page
    assert "\\u7389" not in page


def test_online_mode_links_cdn(compounds: gpd.GeoDataFrame) -> None:
    offline = build_map([_layer(compounds)])
    online = build_map([_layer(compounds)], offline=False)
    srcs = _refs(online).refs
    assert any(s.startswith("https://cdn.jsdelivr.net/npm/leaflet@") and s.endswith("leaflet.js")
               for s in srcs)
    assert len(online) < len(offline) - 100_000


def test_hostile_text_is_never_markup(compounds: gpd.GeoDataFrame) -> None:
    layer = _layer(compounds, tooltip={"name": '<img src=x onerror=alert(2)>'})
    layer.name = "<b onmouseover=alert(3)>图层</b>"
    page = build_map([layer], title="</title><script>alert(4)</script>")
    for bad in [*HOSTILE, "<img src=x onerror", "<b onmouseover", "</title><script>"]:
        assert bad not in page
    data = _data(page)  # JSON decoding restores the exact text for textContent in the page
    names = data["layers"][0]["fields"][0]["dict"]
    assert names[1:4] == HOSTILE
    assert json.loads(re.search(r"\.title\((.*?)\);", page).group(1)) == "</title><script>alert(4)</script>"
    assert "&lt;/title&gt;" in page.split("</title>")[0]
    runtime = page[page.rindex("<script>"):]
    assert "innerHTML" not in runtime


def test_counts_and_geometry_roundtrip(compounds: gpd.GeoDataFrame) -> None:
    page = render_map([_layer(compounds)], decimals=6)
    rec = _data(page.html)["layers"][0]
    assert page.written == {"老旧小区": 5}
    assert rec["n"] == 5
    assert page.skipped == {"老旧小区": []}
    decoded = decode_geometry(rec["geom"], rec["kind"], rec["n"])
    expected = shapely.orient_polygons(compounds.to_crs("EPSG:4326").geometry.values)
    for got, want in zip(decoded, expected, strict=True):
        assert got.geom_type == want.geom_type
        a, b = shapely.get_coordinates(got), shapely.get_coordinates(want)
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= 0.5e-6 + 1e-12
    for option in rec["styles"]:
        assert len(decode_varints(option["codes"])) == 5
        assert sum(c["count"] for c in option["classes"]) == 5


def test_lines_points_and_skipped_rows() -> None:
    lines = gpd.GeoDataFrame(
        {"utility": ["water_supply", "gas", "sewer"], "segment_id": ["P1", "P2", "P3"]},
        geometry=[shapely.LineString([(110.16, 22.63), (110.161, 22.631), (110.162, 22.63)]),
                  shapely.MultiLineString([[(110.17, 22.64), (110.171, 22.64)],
                                           [(110.172, 22.64), (110.173, 22.641)]]),
                  None],
        crs="EPSG:4490",
    )
    points = gpd.GeoDataFrame(
        {"kind": ["school", "park"], "name": ["第一小学", "人民公园"]},
        geometry=[shapely.Point(110.15, 22.62), shapely.MultiPoint([(110.0, 22.0), (110.2, 22.2)])],
        crs="EPSG:4326",
    )
    page = render_map([MapLayer("供水管线", lines, style_by="utility", tooltip={"segment_id": "编号"}),
                       MapLayer("公共服务设施", points, tooltip={"name": "名称"})], decimals=6)
    assert page.written == {"供水管线": 2, "公共服务设施": 2}
    assert page.skipped["供水管线"] == ["2"]
    line_rec, point_rec = _data(page.html)["layers"]
    assert (line_rec["kind"], point_rec["kind"]) == ("line", "point")
    got = decode_geometry(line_rec["geom"], "line", 2)
    assert got[1].geom_type == "MultiLineString"
    assert np.allclose(shapely.get_coordinates(got[1]),
                       shapely.get_coordinates(lines.geometry[1]), atol=1e-6)
    pts = decode_geometry(point_rec["geom"], "point", 2)
    assert pts[1].equals_exact(shapely.Point(110.1, 22.1), 1e-6)  # multipoint → centroid


def test_gaode_shift_only_on_gaode_basemaps(compounds: gpd.GeoDataFrame) -> None:
    lonlat = shapely.get_coordinates(compounds.to_crs("EPSG:4326").geometry[0])[:-1]
    gx, gy = wgs84_to_gcj02(lonlat[:, 0], lonlat[:, 1])

    def first(basemap: str, **kw: Any) -> np.ndarray:
        rec = _data(build_map([_layer(compounds)], basemap=basemap, decimals=6, **kw))["layers"][0]
        return shapely.get_coordinates(decode_geometry(rec["geom"], "polygon", 5)[0])[:-1]

    assert np.abs(first("none") - lonlat).max() < 1e-6
    assert np.abs(first("osm") - lonlat).max() < 1e-6
    shifted = first("gaode")
    assert np.abs(shifted - np.column_stack([gx, gy])).max() < 1e-6
    assert np.abs(shifted - lonlat).max() > 1e-3  # ~550 m at Yulin
    assert np.abs(first("gaode", gaode_shift=False) - lonlat).max() < 1e-6
    assert np.abs(first("http://10.0.0.1/{z}/{x}/{y}.png", gaode_shift=True) - shifted).max() < 1e-9


def test_basemap_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(SchemaError, match="TIANDITU_KEY"):
        resolve_basemaps("tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    tdt = resolve_basemaps(["tianditu", "none"])
    urls = [t["url"] for t in tdt[0]["tiles"]]
    assert len(urls) == 2
    assert "vec_w" in urls[0]
    assert "cva_w" in urls[1]
    assert all("tk=abc123" in u and "{z}" in u for u in urls)
    assert tdt[1]["tiles"] == []
    wmts = resolve_basemaps("http://intranet/wmts?TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}")
    assert wmts[0]["tiles"][0]["url"].endswith("TILEMATRIX={z}&TILEROW={y}&TILECOL={x}")
    gaode = resolve_basemaps("gaode")[0]["tiles"][0]
    assert "autonavi" in gaode["url"]
    assert gaode["subdomains"] == "1234"
    with pytest.raises(SchemaError):
        resolve_basemaps("no-such-basemap")


def test_styles_and_legend(compounds: gpd.GeoDataFrame) -> None:
    rec = _data(build_map([_layer(compounds)]))["layers"][0]
    tier, years = rec["styles"]
    assert [c["label"] for c in tier["classes"]] == ["重点改造", "统筹改造", "其他", "无数据"]
    assert [c["count"] for c in tier["classes"]] == [2, 1, 1, 1]
    assert list(decode_varints(tier["codes"])) == [0, 1, 2, 0, 3]
    assert [c["label"] for c in years["classes"]] == ["< 1990", "1990 – 2000", "2000 – 2005", "≥ 2005"]
    assert list(decode_varints(years["codes"])) == [0, 1, 2, 1, 3]
    plain = _data(build_map([MapLayer("边界", compounds, color="#123456")]))["layers"][0]
    assert plain["styles"][0]["classes"][0]["color"] == "#123456"
    assert plain["styles"][0]["codes"] is None


def test_validation_collects_all_problems(compounds: gpd.GeoDataFrame) -> None:
    bad = _layer(compounds, tooltip={"nope": "无"}, style_by=["missing_col"], color="red;x:y")
    with pytest.raises(ValidationError) as info:
        build_map([bad, _layer(compounds)])
    codes = sorted(p.code for p in info.value.problems)
    assert codes == ["bad-colour", "duplicate-layer", "missing-field", "missing-field"]
    with pytest.raises(ValidationError):
        build_map([_layer(compounds.set_crs(None, allow_override=True))])


def test_write_map_is_atomic(compounds: gpd.GeoDataFrame, tmp_path: Path) -> None:
    target = tmp_path / "maps" / "overview.html"
    page = write_map([_layer(compounds)], target, title="总览")
    assert target.read_text(encoding="utf-8") == page.html
    assert sorted(p.name for p in target.parent.iterdir()) == ["overview.html"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_map([_layer(compounds)], blocker / "m.html")


def test_large_layer_switches_to_canvas(compounds: gpd.GeoDataFrame) -> None:
    assert _data(build_map([_layer(compounds)]))["layers"][0]["canvas"] is False
    assert _data(build_map([_layer(compounds)], canvas_threshold=3))["layers"][0]["canvas"] is True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**45), max_size=50))
def test_varints_roundtrip(values: list[int]) -> None:
    text = encode_varints(values)
    assert not set(text) & set('"\\<>&')
    assert list(decode_varints(text)) == values


def _tiff(path: Path, bands: int, dtype: str) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    data = (rng.random((bands, 40, 50)) * (200 if dtype == "uint8" else 60)).astype(dtype)
    profile = {"driver": "GTiff", "width": 50, "height": 40, "count": bands, "dtype": dtype,
               "crs": "EPSG:4546", "transform": from_origin(414_000, 2_503_000, 5, 5)}
    if dtype != "uint8":
        profile["nodata"] = -9999.0
        data[0, :5, :5] = -9999.0
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def test_raster_overlays(compounds: gpd.GeoDataFrame, tmp_path: Path) -> None:
    dem = _tiff(tmp_path / "dem.tif", 1, "float32")
    ortho = _tiff(tmp_path / "ortho.tif", 3, "uint8")
    from folium.raster_layers import ImageOverlay

    from yulin_gis.maps import RasterLegend

    page = render_map([_layer(compounds)], raster_overlays=[
        RasterOverlay(dem, "高程（米）", max_size=16), RasterOverlay(ortho, "正射影像", show=False)])
    images = [c for c in page.map._children.values() if isinstance(c, ImageOverlay)]
    legends = [json.loads(c.record) for c in page.map._children.values()
               if isinstance(c, RasterLegend)]
    dem_rec, ortho_rec = ({"url": i.url, "bounds": i.bounds, "show": i.show, **lg}
                          for i, lg in zip(images, legends, strict=True))
    assert dem_rec["url"] in page.html
    png = base64.b64decode(dem_rec["url"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert max(width, height) <= 16
    assert dem_rec["legend"] is not None
    assert ortho_rec["legend"] is None
    (s, w), (n, e) = dem_rec["bounds"]
    assert 110.1 < w < e < 110.2
    assert 22.5 < s < n < 22.7
    assert ortho_rec["show"] is False


def test_encode_png_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2, 3), np.uint8))


def test_labels_empty_layers_and_formats(compounds: gpd.GeoDataFrame) -> None:
    empty = compounds.iloc[:0]
    packages = compounds.assign(package="片区A")
    page = render_map([
        MapLayer("空图层", empty, style_by="built_year", tooltip={"name": "名称"}),
        MapLayer("片区", packages, label="package", popup={"households": "户数"},
                 formats={"households": "{:,} 户"}, interactive=False),
    ])
    assert page.written == {"空图层": 0, "片区": 5}
    empty_rec, pkg = _data(page.html)["layers"]
    assert empty_rec["n"] == 0
    assert empty_rec["geom"]["c"] == ""
    assert pkg["fields"][pkg["label"]]["dict"] == ["片区A"]
    assert empty_rec["interactive"] is True
    assert pkg["interactive"] is False
    households = pkg["fields"][pkg["popup"][0][0]]
    assert households["dict"][3] == "800 户"
    assert households["codes"] is None  # all distinct, in row order: no code stream


def test_long_dictionaries_are_prefix_coded(compounds: gpd.GeoDataFrame) -> None:
    many = compounds.sample(200, replace=True, random_state=0).reset_index(drop=True)
    many["compound_id"] = [f"YL{i:06d}" for i in range(200)]
    many.loc[5, "compound_id"] = None
    rec = _data(build_map([MapLayer("小区", many, popup={"compound_id": "编号", "name": "名称"})]))
    ids, names = rec["layers"][0]["fields"]
    assert ids.get("fc") == 1
    assert len(json.dumps(ids["dict"])) < 0.6 * len(json.dumps(decode_field(ids)))
    assert decode_field(ids) == [*(f"YL{i:06d}" for i in range(200) if i != 5), None]
    assert "fc" not in names  # five distinct names: left as they are


def test_prefix_coding_of_long_texts_round_trips() -> None:
    """Shared prefixes and suffixes longer than 40 characters (written as 40) and texts
    that are prefixes of each other decode to the values (issue 16 compares ≤ 40 chars)."""
    rng = np.random.default_rng(3)
    head, tail = "玉林市玉州区" * 10, "老旧小区改造项目" * 8
    values = list(dict.fromkeys(
        [head + f"第{i}号" + tail for i in range(80)] + [head[:j] for j in range(0, 60, 7)]
        + ["".join(rng.choice(list("ab\x00c"), size=int(k))) for k in rng.integers(0, 50, 60)]))
    record = encode_field(pd.Series(values, dtype=object), None)
    assert record.get("fc") == 1
    assert max(ord(v[0]) - 48 for v in record["dict"] if v) == 40  # capped prefix
    assert decode_field(record) == values


def test_braces_in_text_are_not_templated(compounds: gpd.GeoDataFrame) -> None:
    """branca compiles element text as Jinja; ours must pass through unchanged."""
    named = compounds.assign(name=["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{#c#}", "a", "b"])
    page = build_map([MapLayer("小区", named, tooltip={"name": "名称"})], title="{{ 6*6 }}")
    assert _data(page)["layers"][0]["fields"][0]["dict"][:3] == [
        "{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{#c#}"]
    assert '"{{ 6*6 }}"' in page
