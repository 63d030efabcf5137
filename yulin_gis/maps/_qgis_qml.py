"""Colours and QML/SLD rendering of the QGIS layer styles (QGIS 样式文档).

Turns :class:`~yulin_gis.maps._qgis_styles.Symbol` and :class:`~yulin_gis.maps._qgis_styles.LayerStyle`
into the XML that QGIS reads from a GeoPackage ``layer_styles`` row: the QML renderer
(categorized, graduated or single symbol, with both the ``<Option>`` map of QGIS ≥ 3.26
and the ``<prop>`` elements of older QGIS 3) and the SLD 1.1 rules. Split out of
:mod:`yulin_gis.maps._qgis_styles`, which re-exports :func:`ramp_colours`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from yulin_gis.errors import SchemaError

if TYPE_CHECKING:
    from yulin_gis.maps._qgis_styles import GeometryKind, LayerStyle, Symbol

__all__ = ["ramp_colours"]

# --- colours ---------------------------------------------------------------------------

_RAMP = ("#fecc5c", "#bd0026")  # yellow-orange → dark red, for numeric ranges


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    text = colour.strip().lstrip("#")
    if len(text) not in (6, 8) or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise SchemaError(f"colour {colour!r} is not #rrggbb or #rrggbbaa")
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    a = int(text[6:8], 16) if len(text) == 8 else 255
    return r, g, b, round(a * max(0.0, min(1.0, opacity)))


def _qcolor(colour: str) -> str:
    return ",".join(str(v) for v in _rgba(colour))


def ramp_colours(n: int, start: str = _RAMP[0], end: str = _RAMP[1]) -> list[str]:
    """Return ``n`` colours interpolated linearly from ``start`` to ``end`` (hex strings)."""
    if n <= 0:
        return []
    a, b = _rgba(start)[:3], _rgba(end)[:3]
    out = []
    for i in range(n):
        t = i / (n - 1) if n > 1 else 1.0
        out.append("#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True)))
    return out


# --- QML ---------------------------------------------------------------------------------


def _props(pairs: Iterable[tuple[str, str]]) -> str:
    items = list(pairs)
    # QGIS >= 3.26 reads the <Option> map; older QGIS 3 reads <prop k v>. Write both.
    options = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>' for k, v in items
    )
    props = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in items)
    return f'<Option type="Map">{options}</Option>{props}'


def _symbol_layer(sym: Symbol, geometry: GeometryKind) -> tuple[str, str]:
    """Return (QGIS symbol type, symbol-layer XML)."""
    if geometry == "polygon":
        pairs = [
            ("color", _qcolor(sym.color)), ("style", "solid" if sym.fill else "no"),
            ("outline_color", _qcolor(sym.outline_color)), ("outline_style", sym.dash),
            ("outline_width", f"{sym.width:g}"), ("outline_width_unit", "MM"),
            ("joinstyle", "bevel"), ("offset", "0,0"), ("offset_unit", "MM"),
        ]
        return "fill", f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{_props(pairs)}</layer>'
    if geometry == "line":
        pairs = [
            ("line_color", _qcolor(sym.color)), ("line_style", sym.dash),
            ("line_width", f"{sym.width:g}"), ("line_width_unit", "MM"),
            ("capstyle", "round"), ("joinstyle", "round"), ("offset", "0"), ("offset_unit", "MM"),
        ]
        return "line", f'<layer class="SimpleLine" enabled="1" locked="0" pass="0">{_props(pairs)}</layer>'
    pairs = [
        ("name", "circle"), ("color", _qcolor(sym.color)),
        ("outline_color", _qcolor(sym.outline_color)), ("outline_style", "solid"),
        ("outline_width", f"{sym.width:g}"), ("outline_width_unit", "MM"),
        ("size", f"{sym.size:g}"), ("size_unit", "MM"), ("scale_method", "diameter"),
        ("angle", "0"), ("offset", "0,0"), ("offset_unit", "MM"),
    ]
    return "marker", f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">{_props(pairs)}</layer>'


def _data_defined(expression: str | None, geometry: GeometryKind, sym: Symbol) -> str:
    """A data-defined colour (QGIS property collection) driven by ``expression``."""
    if not expression:
        return ""
    key = "fillColor" if geometry == "point" or (geometry == "polygon" and sym.fill) else "outlineColor"
    return (
        '<data_defined_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
        f'<Option type="Map" name="properties"><Option type="Map" name="{key}">'
        '<Option type="bool" name="active" value="true"/>'
        f'<Option type="QString" name="expression" value={quoteattr(expression)}/>'
        '<Option type="int" name="type" value="3"/></Option></Option>'
        '<Option type="QString" name="type" value="collection"/></Option></data_defined_properties>'
    )


def _symbol_xml(name: str, sym: Symbol, geometry: GeometryKind, expression: str | None = None) -> str:
    kind, layer = _symbol_layer(sym, geometry)
    layer = layer.replace("</layer>", _data_defined(expression, geometry, sym) + "</layer>")
    alpha = max(0.0, min(1.0, sym.opacity))
    return (
        f'<symbol type="{kind}" name={quoteattr(name)} alpha="{alpha:g}" '
        f'clip_to_extent="1" force_rhr="0">{layer}</symbol>'
    )


def _renderer_xml(style: LayerStyle, geometry: GeometryKind) -> str:
    head = 'symbollevels="0" forceraster="0" enableorderby="0" referencescale="-1"'
    source = f"<source-symbol>{_symbol_xml('0', style.symbol, geometry)}</source-symbol>"
    attr = quoteattr(style.field or "")
    if style.renderer == "categorizedSymbol":
        cats = "".join(
            f'<category render="true" symbol="{i}" value={quoteattr(str(c.value))} '
            f"label={quoteattr(c.label)}/>"
            for i, c in enumerate(style.categories)
        )
        syms = "".join(_symbol_xml(str(i), c.symbol, geometry) for i, c in enumerate(style.categories))
        return (
            f'  <renderer-v2 type="categorizedSymbol" attr={attr} {head}>'
            f"<categories>{cats}</categories><symbols>{syms}</symbols>{source}"
            "<rotation/><sizescale/></renderer-v2>"
        )
    if style.renderer == "graduatedSymbol":
        ranges = "".join(
            f'<range render="true" symbol="{i}" lower="{r.lower!r}" upper="{r.upper!r}" '
            f"label={quoteattr(r.label)}/>"
            for i, r in enumerate(style.ranges)
        )
        syms = "".join(_symbol_xml(str(i), r.symbol, geometry) for i, r in enumerate(style.ranges))
        return (
            f'  <renderer-v2 type="graduatedSymbol" attr={attr} graduatedMethod="GraduatedColor" {head}>'
            f"<ranges>{ranges}</ranges><symbols>{syms}</symbols>{source}"
            '<mode name="manual"/><classificationMethod id="Manual"/>'
            "<rotation/><sizescale/></renderer-v2>"
        )
    sym = _symbol_xml("0", style.symbol, geometry, style.colour_expression)
    return f'  <renderer-v2 type="singleSymbol" {head}><symbols>{sym}</symbols><rotation/><sizescale/></renderer-v2>'


def _sld_rule(title: str, filt: str, sym: Symbol, geometry: GeometryKind) -> str:
    r, g, b, _ = _rgba(sym.color)
    colour = f"#{r:02x}{g:02x}{b:02x}"
    o = _rgba(sym.outline_color)
    outline = f"#{o[0]:02x}{o[1]:02x}{o[2]:02x}"
    width_px = f"{sym.width * 3.78:.2f}"  # mm → px at 96 dpi
    if geometry == "polygon":
        fill = (
            f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{sym.opacity:g}</se:SvgParameter></se:Fill>'
            if sym.fill else ""
        )
        body = (
            f"<se:PolygonSymbolizer>{fill}<se:Stroke>"
            f'<se:SvgParameter name="stroke">{outline}</se:SvgParameter>'
            f'<se:SvgParameter name="stroke-width">{width_px}</se:SvgParameter>'
            "</se:Stroke></se:PolygonSymbolizer>"
        )
    elif geometry == "line":
        body = (
            "<se:LineSymbolizer><se:Stroke>"
            f'<se:SvgParameter name="stroke">{colour}</se:SvgParameter>'
            f'<se:SvgParameter name="stroke-width">{width_px}</se:SvgParameter>'
            "</se:Stroke></se:LineSymbolizer>"
        )
    else:
        body = (
            "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
            f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
            f'<se:Stroke><se:SvgParameter name="stroke">{outline}</se:SvgParameter></se:Stroke>'
            f"</se:Mark><se:Size>{sym.size * 3.78:.1f}</se:Size></se:Graphic></se:PointSymbolizer>"
        )
    name = escape(title)
    return f"<se:Rule><se:Name>{name}</se:Name><se:Description><se:Title>{name}</se:Title></se:Description>{filt}{body}</se:Rule>"
