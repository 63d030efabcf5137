"""Offline folium maps: every script and style sheet inline, none fetched from a CDN.

folium links Leaflet and its plugins from CDNs (``default_js`` / ``default_css`` of each
element). :func:`make_offline` makes a map carry them inline instead. The substitution
happens when the page is rendered (``save()``, ``_repr_html_()``, ``get_root().render()``),
after every element has registered its links, so elements added *after* the call are
covered too.

Where the inline copies come from:

* **Leaflet** from the installed ``xstatic-leaflet`` package (a dependency), with its CSS
  images as data URIs and its licence kept in a comment;
* **Leaflet plugins** used by folium.plugins ``Fullscreen`` (leaflet.fullscreen 3.0.0),
  ``MeasureControl`` (leaflet-measure 2.1.7) and ``MiniMap`` (leaflet-minimap 3.6.1), and
  **jQuery** 3.7.1 (folium's ``Popup`` needs it): vendored from the npm registry at exactly
  the versions folium links, in ``yulin_gis/static/vendor/<package>-<version>/`` beside
  their licences (no PyPI package ships them);
* folium's other map defaults (Bootstrap, Font Awesome, awesome-markers, glyphicons) serve
  only ``folium.Icon`` markers; they are dropped when no such icon is on the map, and left
  as links (reported) when one is.

A link nobody knows stays a link: :func:`make_offline` logs it, and with ``strict=True``
the render raises :class:`~yulin_gis.errors.OutputError` naming it.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from branca.element import MacroElement

from yulin_gis.errors import InputFileError, OutputError

__all__ = ["LEAFLET_LICENSE", "inline_assets", "leaflet_inline", "make_offline", "offline_urls"]

logger = logging.getLogger(__name__)

LEAFLET_LICENSE = """Leaflet {version} (https://leafletjs.com), inlined from the installed xstatic-leaflet package.
BSD 2-Clause License. Copyright (c) 2010-2022, Vladimir Agafonkin; Copyright (c) 2010-2011,
CloudMade. All rights reserved. Redistribution and use in source and binary forms, with or
without modification, are permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice, this list of
conditions and the following disclaimer. 2. Redistributions in binary form must reproduce the
above copyright notice, this list of conditions and the following disclaimer in the
documentation and/or other materials provided with the distribution.
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
CONSEQUENTIAL DAMAGES ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE."""

# (pattern of the URL folium links, vendored file, its package folder, licence file)
_VENDORED: list[tuple[str, str, str, str]] = [
    (r"/jquery-3\.7\.1(\.min)?\.js$", "jquery.min.js", "jquery-3.7.1", "LICENSE.txt"),
    (r"leaflet\.fullscreen@3\.0\.0/Control\.FullScreen(\.min)?\.js$", "Control.FullScreen.js",
     "leaflet.fullscreen-3.0.0", "LICENSE"),
    (r"leaflet\.fullscreen@3\.0\.0/Control\.FullScreen(\.min)?\.css$", "Control.FullScreen.css",
     "leaflet.fullscreen-3.0.0", "LICENSE"),
    (r"leaflet-measure@2\.1\.7/dist/leaflet-measure(\.min)?\.js$", "leaflet-measure.min.js",
     "leaflet-measure-2.1.7", "LICENSE"),
    (r"leaflet-measure@2\.1\.7/dist/leaflet-measure(\.min)?\.css$", "leaflet-measure.css",
     "leaflet-measure-2.1.7", "LICENSE"),
    (r"leaflet-minimap/3\.6\.1/Control\.MiniMap(\.min)?\.js$", "Control.MiniMap.min.js",
     "leaflet-minimap-3.6.1", "LICENSE.txt"),
    (r"leaflet-minimap/3\.6\.1/Control\.MiniMap(\.min)?\.css$", "Control.MiniMap.min.css",
     "leaflet-minimap-3.6.1", "LICENSE.txt"),
]
_LEAFLET = re.compile(r"leaflet@[\d.]+/dist/leaflet\.(js|css)$")
_ICON_ONLY = re.compile(r"bootstrap|glyphicons|fontawesome|font-awesome|awesome-markers|"
                        r"awesome\.rotate")
_JQUERY = re.compile(r"/jquery-[\d.]+(\.min)?\.js$")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _leaflet_dir() -> tuple[Path, str]:
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise InputFileError("the xstatic-leaflet package is not installed; install it (pip "
                             "install xstatic-leaflet) or build the map with offline=False") from exc
    return Path(xleaflet.BASE_DIR), str(xleaflet.VERSION)


def _css_images(css: str, folder: Path) -> str:
    """Replace ``url(images/x.png)`` (relative to ``folder``) by data URIs."""
    def _inline(match: re.Match[str]) -> str:
        name = match.group(1).strip("'\"")
        path = folder / name
        mime = "image/svg+xml" if name.endswith(".svg") else "image/png"
        return f"url({_data_uri(path.read_bytes(), mime)})" if path.is_file() else match.group(0)

    return re.sub(r"url\(([^)]+\.(?:png|svg))\)", _inline, css)


def _safe(text: str, tag: str) -> str:
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)
    if f"</{tag}" in text.lower():  # pragma: no cover - sanity
        raise InputFileError(f"an asset contains </{tag}; cannot inline it")
    return text


@cache
def leaflet_inline() -> tuple[str, str]:
    """Return Leaflet's ``(<style>…</style>, <script>…</script>)`` from xstatic-leaflet.

    The script is preceded by the licence (a comment) and followed by a fix giving
    ``L.Icon.Default`` the inlined marker images.
    """
    base, version = _leaflet_dir()
    css = _safe(_css_images((base / "leaflet.css").read_text("utf-8"), base), "style")
    js = _safe((base / "leaflet.js").read_text("utf-8"), "script")
    icons = {n: _data_uri((base / "images" / f"{n}.png").read_bytes(), "image/png")
             for n in ("marker-icon", "marker-icon-2x", "marker-shadow")}
    icon_js = ("L.Icon.Default.mergeOptions({"
               f"iconUrl:'{icons['marker-icon']}',iconRetinaUrl:'{icons['marker-icon-2x']}',"
               f"shadowUrl:'{icons['marker-shadow']}'}});L.Icon.Default.prototype._getIconUrl="
               "function(n){return this.options[n+'Url'];};")
    notice = LEAFLET_LICENSE.format(version=version).replace("--", "- -")
    return (f"<style>{css}</style>",
            f"<!--\n{notice}\n-->\n<script>{js}</script>\n<script>{icon_js}</script>")


@cache
def _vendored(file: str, folder: str, licence: str) -> str:
    root = resources.files("yulin_gis.maps").joinpath(f"static/vendor/{folder}")
    text = root.joinpath(file).read_text("utf-8")
    note = root.joinpath(licence).read_text("utf-8").replace("--", "- -").replace("*/", "* /")
    head = f"{folder} (npm), vendored with its licence:\n{note}"
    if file.endswith(".css"):
        local = Path(str(root))
        return f"<style>/*\n{head}\n*/\n{_safe(_css_images(text, local), 'style')}</style>"
    return f"<!--\n{head}\n-->\n<script>{_safe(text, 'script')}</script>"


def inline_assets(url: str) -> str | None:
    """Return the inline HTML standing for the asset at ``url``, or None when unknown."""
    if _LEAFLET.search(url):
        css, js = leaflet_inline()
        return js if url.endswith(".js") else css
    for pattern, file, folder, licence in _VENDORED:
        if re.search(pattern, url):
            return _vendored(file, folder, licence)
    return None


def _walk(element: Any) -> Iterator[Any]:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _needs(root: Any) -> tuple[bool, bool]:
    """Whether the tree holds folium icons (Bootstrap / Font Awesome) or popups (jQuery)."""
    import folium
    from folium.plugins import BeautifyIcon

    icons = popups = False
    for el in _walk(root):
        icons = icons or isinstance(el, folium.Icon | BeautifyIcon)
        popups = popups or isinstance(el, folium.Popup)
    return icons, popups


def offline_urls(figure: Any, map_root: Any, *, strict: bool = False) -> list[str]:
    """Swap the figure's asset links for inline copies; return the links left online.

    Called at render time by the hook :func:`make_offline` installs.
    """
    from branca.element import CssLink, JavascriptLink

    from yulin_gis.maps._elements import RawHTML

    icons, popups = _needs(map_root)
    header = figure.header._children
    left: list[str] = []
    for name, child in list(header.items()):
        if not isinstance(child, JavascriptLink | CssLink):
            continue
        url = str(child.url)
        inline = inline_assets(url)
        if _JQUERY.search(url) and not popups and inline is not None:
            del header[name]  # only folium's Popup needs jQuery
        elif inline is not None:
            header[name] = RawHTML(inline)
        elif _ICON_ONLY.search(url) and not icons:
            del header[name]
        else:
            left.append(url)
    if left:
        msg = f"these map assets are not available offline and stay online links: {left}"
        if strict:
            raise OutputError(msg)
        logger.warning(msg)
    return left


class _OfflineHook(MacroElement):  # type: ignore[misc]
    """Renders after the map (a later child of its figure) and rewrites the page header."""

    def __init__(self, m: Any, strict: bool) -> None:
        super().__init__()
        self._name = "OfflineHook"
        self.map = m
        self.strict = strict

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Swap the links registered so far for inline copies."""
        offline_urls(self.get_root(), self.map, strict=self.strict)


def make_offline(m: Any, *, strict: bool = False) -> Any:
    """Make a folium map carry its scripts and styles inline (no CDN request).

    Parameters
    ----------
    m
        A ``folium.Map`` (any: ours from :func:`yulin_gis.plan_map` or a plain one).
    strict
        Raise :class:`~yulin_gis.errors.OutputError` at render time when an asset link is
        unknown (e.g. a plugin not vendored here) instead of logging it.

    Returns
    -------
    folium.Map
        ``m`` itself. Tiles of an online basemap are still fetched: choose none (the
        default of our maps) for a page that makes no request at all.
    """
    figure = m.get_root()
    for child in figure._children.values():
        if isinstance(child, _OfflineHook):
            child.strict = strict
            return m
    figure.add_child(_OfflineHook(m, strict), name="yulin_offline_hook")
    return m
