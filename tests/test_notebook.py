"""Execute docs/plan_map.ipynb (nbclient), then open the page it saved with the internet cut off.

The notebook builds a plan map from the embedded sample with ``yulin_gis.plan_map``, adds a
``folium.CircleMarker`` and a ``folium.GeoJson`` layer and saves it with ``.save()``.
Chromium (Debian ``/usr/bin/chromium`` through Playwright) must then make zero http(s)
requests, load Leaflet, draw every compound, show the user's layers, and keep the injected
hostile compound name inert.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _execute(out: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("YULIN_NOTEBOOK_OUT", str(out))
    # the kernel imports the checked-out package, not another installed copy
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = nbformat.read(ROOT / "docs" / "plan_map.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(out)}}).execute()
    return nb


def test_notebook_map_is_offline_and_extensible(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _execute(tmp_path, monkeypatch)
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "text/html" in o.get("data", {})]
    assert shown, "the map cell shows the map inline (_repr_html_)"
    assert "Map" in str(nb.cells[3].outputs[0]["data"]["text/plain"])
    page_path = tmp_path / "plan_map.html"
    html = page_path.read_text(encoding="utf-8")
    assert '<img src=x onerror="window.__pwned=1">' not in html

    log: dict[str, list[Any]] = {"requests": [], "errors": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 750})

        def _route(route: Any) -> None:
            if route.request.url.startswith(("http://", "https://")):
                log["requests"].append(route.request.url)
                route.abort()
            else:
                route.continue_()

        page.route("**/*", _route)
        page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log["errors"].append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_function("window.yulinMap && window.yulinMap.ready", timeout=60_000)
        assert page.evaluate("L.version") == "1.9.3"
        stats = page.evaluate("window.yulinMap.stats()")
        n = stats["layers"]["小区"]["written"]
        assert n > 1000
        assert stats["layers"]["小区"]["drawn"] == n
        # The user's folium layers are on the map, in the layer control too.
        assert page.evaluate("document.querySelectorAll('path.user-marker').length") == 1
        assert page.evaluate("document.querySelectorAll('path.user-geojson').length") == 1
        assert "我的范围" in page.inner_text(".leaflet-control-layers")
        # Hover the compound with the hostile name: text in the tooltip, nothing runs.
        xy = page.evaluate("""() => { const m = window.yulinMap.map;
            m.fitBounds(window.yulinMap.bounds(window.yulinMap.layers.findIndex(
                l => l.name === '小区'), 0), {animate: false, maxZoom: 18});
            const b = window.yulinMap.bounds(window.yulinMap.layers.findIndex(
                l => l.name === '小区'), 0);
            const p = m.latLngToContainerPoint(b.getCenter());
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }""")
        page.mouse.move(xy[0] + 1, xy[1] + 1)
        page.mouse.move(xy[0], xy[1])
        page.wait_for_function("document.querySelector('.leaflet-tooltip') && document"
                               ".querySelector('.leaflet-tooltip').textContent.includes('onerror')",
                               timeout=10_000)
        assert page.evaluate("document.querySelectorAll('.leaflet-tooltip img').length") == 0
        assert page.evaluate("window.__pwned === undefined")
        browser.close()
    assert log["requests"] == []
    assert log["errors"] == []
