"""Open generated maps in headless Chromium with the internet cut off.

Playwright for Python drives the Debian ``/usr/bin/chromium`` (never ``playwright
install``); every http(s) request is aborted and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from playwright.sync_api import Browser, Page, sync_playwright

from yulin_gis.maps import MapLayer, RasterOverlay, StyleBy, write_map

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = '"><img src=x onerror="window.__pwned=1">'
SCRIPTED = "<script>window.__pwned=2</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian Chromium; Playwright's launch gives it a fresh temporary profile."""
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _layers(n: int = 70) -> list[MapLayer]:
    rng = np.random.default_rng(1)
    cx = 110.16 + (np.arange(n) % 10) * 0.004
    cy = 22.63 + (np.arange(n) // 10) * 0.004
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    polys = [shapely.Polygon(np.c_[x + 0.0012 * np.cos(ang), y + 0.0012 * np.sin(ang)])
             for x, y in zip(cx, cy, strict=True)]
    names = [f"测试小区{i}号" for i in range(n)]
    names[1], names[2] = HOSTILE, SCRIPTED
    compounds = gpd.GeoDataFrame(
        {"name": names, "tier": rng.choice(["priority", "share"], n),
         "built_year": rng.integers(1980, 2006, n), "households": rng.integers(50, 800, n)},
        geometry=polys, crs="EPSG:4326").to_crs("EPSG:4546")
    pipes = gpd.GeoDataFrame(
        {"utility": ["water_supply", "gas", "sewer"], "segment_id": ["W1", "G1", "S1"]},
        geometry=[shapely.LineString([(110.158, 22.628 + i * 0.01), (110.2, 22.628 + i * 0.01)])
                  for i in range(3)], crs="EPSG:4490")
    facilities = gpd.GeoDataFrame({"name": ["幼儿园", "卫生服务站"]},
                                  geometry=[shapely.Point(110.17, 22.64), shapely.Point(110.18, 22.65)],
                                  crs="EPSG:4326")
    return [
        MapLayer("老旧小区", compounds,
                 style_by=[StyleBy("tier", "改造类别", labels={"priority": "重点改造", "share": "统筹改造"}),
                           StyleBy("built_year", "建成年代", bins=[1990, 2000])],
                 tooltip={"name": "小区名称", "households": "户数"},
                 popup={"name": "小区名称", "built_year": "建成年份"}, search_fields=["name"]),
        MapLayer("管线", pipes, style_by="utility", tooltip={"segment_id": "管段编号"}, weight=3),
        MapLayer("设施", facilities, tooltip={"name": "名称"}, show=False),
    ]


def _open(browser: Browser, path: Path) -> tuple[Page, dict[str, Any]]:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    log: dict[str, Any] = {"requests": [], "errors": [], "dialogs": []}

    def _route(route: Any) -> None:
        if route.request.url.startswith(("http://", "https://")):
            log["requests"].append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", _route)
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("dialog", lambda d: (log["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_function("window.yulinMap && window.yulinMap.ready", timeout=20_000)
    return page, log


def _feature_xy(page: Page, layer: int, feature: int) -> tuple[float, float]:
    xy = page.evaluate(
        """([li, f]) => { const m = window.yulinMap.map;
        const p = m.latLngToContainerPoint(window.yulinMap.bounds(li, f).getCenter());
        const r = m.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""",
        [layer, feature])
    return float(xy[0]), float(xy[1])


def _dem(path: Path) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    z = np.add.outer(np.arange(40.0), np.arange(60.0)).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=60, height=40, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(110.158, 22.652, 0.0007, 0.0007)) as dst:
        dst.write(z[None])
    return path


def test_offline_map_draws_everything(browser: Browser, tmp_path: Path) -> None:
    dem = RasterOverlay(_dem(tmp_path / "dem.tif"), "高程（米）", opacity=0.5)
    out = write_map(_layers(), tmp_path / "map.html", title="玉林市老旧小区改造",
                    raster_overlays=[dem])
    page, log = _open(browser, tmp_path / "map.html")
    stats = page.evaluate("window.yulinMap.stats()")
    assert stats["leaflet"] == "1.9.3"
    assert stats["layers"]["老旧小区"]["drawn"] == out.written["老旧小区"] == 70
    assert stats["layers"]["管线"]["drawn"] == out.written["管线"] == 3
    assert stats["layers"]["设施"]["drawn"] == 0  # hidden until switched on
    assert stats["drawn"] == stats["written"] == 73
    assert stats["rasters"] == 1
    assert page.evaluate("document.querySelector('img.leaflet-image-layer').complete") is True
    # Hover a compound: Chinese tooltip with Chinese field names.
    page.mouse.move(*_feature_xy(page, 0, 0))
    tip = page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    assert tip is not None
    assert "测试小区0号" in tip.inner_text()
    assert "户数" in tip.inner_text()
    # Hover the hostile compound: its name shows as text; nothing executes.
    page.mouse.move(*_feature_xy(page, 0, 1))
    page.wait_for_function("document.querySelector('.leaflet-tooltip') && "
                           "document.querySelector('.leaflet-tooltip').textContent.includes('onerror')")
    assert page.evaluate("document.querySelectorAll('.leaflet-tooltip img').length") == 0
    legend = page.inner_text(".yl-legend")
    assert "高程（米）" in legend
    assert "重点改造" in legend
    assert "管线" in legend
    assert "老旧小区（70）" in page.inner_text(".leaflet-control-layers")  # folium LayerControl
    assert page.evaluate("window.__pwned === undefined")
    assert log["requests"] == []
    assert log["errors"] == []
    assert log["dialogs"] == []
    page.screenshot(path=str(tmp_path / "map.png"))
    assert (tmp_path / "map.png").stat().st_size > 10_000
    page.close()


def test_controls_search_style_switch_measure(browser: Browser, tmp_path: Path) -> None:
    write_map(_layers(), tmp_path / "m.html", title="控件", renderer="canvas")
    page, log = _open(browser, tmp_path / "m.html")
    stats = page.evaluate("window.yulinMap.stats()")
    assert stats["canvas"] is True
    assert stats["layers"]["老旧小区"]["painted"] == stats["layers"]["老旧小区"]["written"] == 70
    # ... and the pixels are really on the canvas once the view has settled (a Leaflet redraw
    # once cleared them while the counters said "painted")
    page.wait_for_timeout(500)
    inked = page.evaluate("""() => Array.from(document.querySelectorAll('canvas')).map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } } return n; })""")
    assert sum(inked) > 1000, inked
    # Hover and click on the packed canvas layer: grid hit-testing finds the compound.
    xy = _feature_xy(page, 0, 7)
    page.mouse.move(*xy)
    page.wait_for_function("document.querySelector('.leaflet-tooltip') && "
                           "document.querySelector('.leaflet-tooltip').textContent.includes('测试小区7号')")
    assert page.evaluate("document.querySelectorAll('svg path.leaflet-interactive, svg path').length") >= 1
    page.screenshot(path=str(tmp_path / "canvas.png"))
    page.mouse.click(*xy)
    assert "测试小区7号" in page.inner_text(".leaflet-popup-content")
    page.keyboard.press("Escape")
    # Search over the data, then zoom to and open the match.
    page.fill(".yl-search input", "测试小区42")
    page.wait_for_selector(".yl-results div")
    assert page.inner_text(".yl-results").startswith("测试小区42号")
    page.click(".yl-results div")
    popup = page.wait_for_selector(".leaflet-popup-content")
    assert popup is not None
    assert "建成年份" in popup.inner_text()
    assert page.evaluate("window.yulinMap.search('<script>')") == 1
    # Switch "style by" to built year: legend follows.
    page.select_option(".yl-panel select", "1")
    assert "建成年代" in page.inner_text(".yl-legend")
    assert "< 1990" in page.inner_text(".yl-legend")
    # Show the hidden layer from the panel.
    page.get_by_text("设施（2）").click()
    assert page.evaluate("window.yulinMap.stats().layers['设施'].drawn") == 2
    # Measure (folium.plugins.MeasureControl, in Chinese): two clicks ~300 px apart.
    page.hover(".leaflet-control-measure")
    page.click(".leaflet-control-measure .js-start")
    page.mouse.click(300, 400)
    page.mouse.click(600, 400)
    text = page.inner_text(".leaflet-control-measure .js-results")
    assert "米" in text
    assert page.evaluate("!!document.querySelector('.leaflet-control-scale')")
    assert page.evaluate("!!document.querySelector('.leaflet-control-zoom-fullscreen')")
    assert log["requests"] == []
    assert log["errors"] == []
    assert log["dialogs"] == []
    page.close()


def test_points_and_mixed_compounds_drawn(browser: Browser, tmp_path: Path) -> None:
    """Issue 12: point and mixed compound layers, packages of points as hulls, in Chromium."""
    from yulin_gis.maps import PlanLayers, plan_map, save_map

    polys = [shapely.box(110.15 + i * 0.002, 22.63, 110.151 + i * 0.002, 22.631) for i in range(3)]
    points = [shapely.Point(110.16, 22.64), shapely.Point(110.161, 22.641),
              shapely.Point(117.0, 36.6)]  # the last one 1,500 km away, 待核实
    comp = gpd.GeoDataFrame(
        {"compound_id": [f"C{i}" for i in range(6)], "name": [HOSTILE, *(f"小区{i}" for i in range(5))],
         "status": ["planned"] * 5 + ["待核实"]}, geometry=[*polys, *points], crs="EPSG:4326")
    packages = gpd.GeoDataFrame({"package_id": ["P1"]}, crs="EPSG:4326",
                                geometry=[shapely.MultiPoint([(110.16, 22.64), (110.161, 22.641)])])
    save_map(plan_map(PlanLayers(comp, packages=packages), renderer="canvas"), tmp_path / "p.html")
    page, log = _open(browser, tmp_path / "p.html")
    stats = page.evaluate("window.yulinMap.stats()")
    assert stats["layers"]["小区"]["drawn"] == 3
    assert stats["layers"]["小区（点位）"]["drawn"] == 3
    assert stats["layers"]["改造片区"]["drawn"] == 1
    # Framed on Yulin, not zoomed out to the far compound.
    assert page.evaluate("window.yulinMap.map.getZoom()") >= 13
    assert page.evaluate("window.yulinMap.map.getBounds().getEast()") < 111
    page.mouse.move(*_feature_xy(page, list(stats["layers"]).index("小区"), 0))
    tip = "document.querySelector('.leaflet-tooltip.yl-tipbox')"  # not the package labels
    page.wait_for_function(f"{tip} && {tip}.textContent.includes('onerror')")
    assert page.evaluate("document.querySelectorAll('.leaflet-tooltip img').length") == 0
    assert page.evaluate("window.__pwned === undefined")
    assert log["requests"] == []
    assert log["errors"] == []
    page.close()
