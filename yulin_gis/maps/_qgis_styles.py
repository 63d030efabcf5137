"""Default QGIS layer styles stored inside a GeoPackage (GeoPackage ``layer_styles`` table).

QGIS looks for a table named ``layer_styles`` in a GeoPackage and applies the row marked
``useAsDefault`` for a layer when the layer is opened, so ``plan.gpkg`` opens with the same
symbology as the web and report maps: compounds (小区) by tier (重点改造 / 按比例纳入 /
不纳入), packages (片区) by ``package_id``, community (社区) outlines, utilities (管线) by
type in the colours of CJJ 61 (给水 sky blue, 排水 brown, 燃气 pink, 电力 red, 通信 green),
pipe upgrades by ``plan_year`` and joint trenches (综合管沟) as a thick line.

The table is written with the standard library's :mod:`sqlite3`, in the columns QGIS itself
creates, and registered in ``gpkg_contents`` as an ``attributes`` table so the file stays
a valid GeoPackage (GDAL lists it as a non-spatial layer). The QML/SLD documents are
rendered by :mod:`yulin_gis.maps._qgis_qml`.

Example
-------
>>> from yulin_gis.maps._qgis_styles import default_styles, write_layer_styles
>>> write_layer_styles("plan.gpkg", default_styles())  # doctest: +SKIP
['communities', 'compounds', 'packages']
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from yulin_gis.errors import InputFileError, OutputError, SchemaError
from yulin_gis.io import VOCABULARIES
from yulin_gis.maps._qgis_qml import _renderer_xml, _sld_rule, ramp_colours

__all__ = [
    "PALETTE",
    "TIER_COLOURS",
    "TIER_LABELS_ZH",
    "UTILITY_COLOURS",
    "UTILITY_LABELS_ZH",
    "Category",
    "GeometryKind",
    "LayerStyle",
    "Range",
    "Symbol",
    "categorized_style",
    "default_styles",
    "graduated_style",
    "ramp_colours",
    "write_layer_styles",
]

logger = logging.getLogger(__name__)

GeometryKind = Literal["polygon", "line", "point"]
Value = str | int | float

QGIS_VERSION = "3.28.0-Firenze"
"""The QGIS version written into the QML header (any QGIS 3 reads the documents)."""

TIER_LABELS_ZH: dict[str, str] = {"priority": "重点改造", "share": "按比例纳入", "excluded": "不纳入"}
"""Compound tiers (built ≤2000 / 2001–2005 / otherwise) and their Chinese legend labels.

The wording follows Yulin's 2022 rules (重点改造2000年底前建成的老旧小区; 2001年以后建成的
按比例纳入) and the workbooks of :mod:`yulin_gis.reports._task_lists`."""

TIER_COLOURS: dict[str, str] = {"priority": "#d7301f", "share": "#fc8d59", "excluded": "#bdbdbd"}
"""Tier colours shared by the report maps and the QGIS styles."""

UTILITY_LABELS_ZH: dict[str, str] = {k: v[0] for k, v in VOCABULARIES["utility"].items()}
"""Utility type → Chinese name (给水, 雨水, 污水, 雨污合流, 燃气, 电力, 通信, 有线电视)."""

UTILITY_COLOURS: dict[str, str] = {
    "water_supply": "#00a0e9",  # 给水: sky blue (CJJ 61 天蓝)
    "storm": "#b8860b",  # 雨水: light brown (排水 褐)
    "sewer": "#7b3f00",  # 污水: dark brown
    "combined_sewer": "#a0522d",  # 雨污合流: brown
    "gas": "#ff69b4",  # 燃气: pink (粉红)
    "power": "#e60012",  # 电力: red (大红)
    "telecom": "#22ac38",  # 通信: green (绿)
    "cable_tv": "#8fc31f",  # 有线电视: yellow-green
}
"""Utility type → line colour following the CJJ 61 pipeline colour convention."""

PALETTE: tuple[str, ...] = (
    "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928",
    "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99",
)
"""Qualitative palette (ColorBrewer Paired, reordered) cycled for many categories."""

OTHER_COLOUR = "#e0e0e0"
"""Colour of the catch-all category (values not listed, NULL)."""

MAX_CATEGORIES = 60
"""Above this many distinct values an auto style colours features by an expression instead."""

# Columns of layer_styles exactly as QGIS (through GDAL) creates them.
_CREATE_TABLE = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ('
    '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), '
    '"f_table_name" TEXT(256), "f_geometry_column" TEXT(256), '
    '"styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


@dataclass(frozen=True)
class Symbol:
    """A simple fill, line or marker symbol.

    Parameters
    ----------
    color
        Fill colour (polygons, markers) or line colour (lines), ``"#rrggbb"`` or
        ``"#rrggbbaa"``.
    outline_color
        Outline colour of polygons and markers.
    width
        Outline width (polygons, markers) or line width (lines), in millimetres.
    size
        Marker diameter in millimetres.
    fill
        False draws polygons as outlines only (no brush).
    opacity
        Whole-symbol opacity, 0–1.
    dash
        Line style: ``"solid"``, ``"dash"``, ``"dot"`` or ``"dash dot"``.
    """

    color: str
    outline_color: str = "#4d4d4d"
    width: float = 0.26
    size: float = 2.0
    fill: bool = True
    opacity: float = 1.0
    dash: str = "solid"


@dataclass(frozen=True)
class Category:
    """One value of a categorized renderer with its Chinese label and symbol."""

    value: Value
    label: str
    symbol: Symbol


@dataclass(frozen=True)
class Range:
    """One class ``lower < value <= upper`` of a graduated renderer (first class: ``>=``)."""

    lower: float
    upper: float
    label: str
    symbol: Symbol


@dataclass(frozen=True)
class LayerStyle:
    """The default style of one layer.

    The renderer is *categorized* when ``categories`` are given, *graduated* when
    ``ranges`` are given, otherwise a single ``symbol``. With ``auto=True`` and a
    ``field``, the categories (or, for ``auto_numeric``, one range per distinct year-like
    value) are read from the layer's own data when the style is written, and ``symbol``
    is used when the field is missing.

    Parameters
    ----------
    symbol
        The single symbol, also the base of auto categories (its colour is replaced).
    field
        The column the renderer classifies on.
    categories, ranges
        Explicit classes.
    labels
        Value → Chinese label, used for auto categories.
    auto, auto_numeric
        Build classes from the data (see above).
    name
        ``styleName`` in the table (QGIS shows it in the style manager).
    description
        ``description`` in the table.
    geometry
        Force the symbol type; by default it follows the layer's geometry type.
    colour_expression
        A QGIS expression giving the single symbol's colour per feature (data-defined).
    """

    symbol: Symbol = dc_field(default_factory=lambda: Symbol("#9ecae1"))
    field: str | None = None
    categories: tuple[Category, ...] = ()
    ranges: tuple[Range, ...] = ()
    labels: Mapping[Any, str] = dc_field(default_factory=dict)
    auto: bool = False
    auto_numeric: bool = False
    name: str = "yulin_gis 默认样式"
    description: str = ""
    geometry: GeometryKind | None = None
    colour_expression: str | None = None

    @property
    def renderer(self) -> str:
        """Which QGIS renderer draws the layer (singleSymbol, categorizedSymbol or graduatedSymbol)."""
        if self.field and self.categories:
            return "categorizedSymbol"
        if self.field and self.ranges:
            return "graduatedSymbol"
        return "singleSymbol"

    def to_qml(self, geometry: GeometryKind) -> str:
        """Return the QML document (QGIS style) for a layer of ``geometry`` type."""
        geometry = self.geometry or geometry
        renderer = _renderer_xml(self, geometry)
        code = {"point": 0, "line": 1, "polygon": 2}[geometry]
        return (
            "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology">\n'
            f"{renderer}\n"
            "  <blendMode>0</blendMode>\n  <featureBlendMode>0</featureBlendMode>\n"
            f"  <layerGeometryType>{code}</layerGeometryType>\n</qgis>\n"
        )

    def to_sld(self, layer: str, geometry: GeometryKind) -> str:
        """Return an SLD 1.1 document with the same classes (for tools other than QGIS)."""
        geometry = self.geometry or geometry
        rules: list[str] = []
        if self.renderer == "categorizedSymbol":
            for cat in self.categories:
                if cat.value == "":
                    rules.append(_sld_rule(cat.label, "<se:ElseFilter/>", cat.symbol, geometry))
                    continue
                filt = (
                    "<ogc:Filter><ogc:PropertyIsEqualTo>"
                    f"<ogc:PropertyName>{escape(str(self.field))}</ogc:PropertyName>"
                    f"<ogc:Literal>{escape(str(cat.value))}</ogc:Literal>"
                    "</ogc:PropertyIsEqualTo></ogc:Filter>"
                )
                rules.append(_sld_rule(cat.label, filt, cat.symbol, geometry))
        elif self.renderer == "graduatedSymbol":
            for rng in self.ranges:
                prop = f"<ogc:PropertyName>{escape(str(self.field))}</ogc:PropertyName>"
                filt = (
                    "<ogc:Filter><ogc:And>"
                    f"<ogc:PropertyIsGreaterThan>{prop}<ogc:Literal>{rng.lower!r}</ogc:Literal>"
                    "</ogc:PropertyIsGreaterThan>"
                    f"<ogc:PropertyIsLessThanOrEqualTo>{prop}<ogc:Literal>{rng.upper!r}"
                    "</ogc:Literal></ogc:PropertyIsLessThanOrEqualTo>"
                    "</ogc:And></ogc:Filter>"
                )
                rules.append(_sld_rule(rng.label, filt, rng.symbol, geometry))
        else:
            rules.append(_sld_rule(self.name, "", self.symbol, geometry))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se">'
            f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle>"
            f"<se:Name>{escape(self.name)}</se:Name><se:FeatureTypeStyle>"
            + "".join(rules)
            + "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"
        )


# --- style builders ------------------------------------------------------------------------


def _recolour(base: Symbol, colour: str) -> Symbol:
    """The class symbol: ``base`` in ``colour`` (outline-only polygons colour the outline)."""
    return replace(base, color=colour, outline_color=base.outline_color if base.fill else colour)


def categorized_style(
    field_name: str,
    values: Sequence[Value],
    labels: Mapping[Any, str] | None = None,
    colours: Mapping[Any, str] | Sequence[str] | None = None,
    base: Symbol | None = None,
    *,
    name: str = "yulin_gis 默认样式",
    description: str = "",
    other: str | None = "其他",
) -> LayerStyle:
    """Return a categorized style: one class per value, in the order given.

    Parameters
    ----------
    field_name
        The column classified on.
    values
        The category values.
    labels
        Value → Chinese legend label (the value itself when missing).
    colours
        Value → colour, or a sequence cycled over the values (:data:`PALETTE` by default).
    base
        Symbol whose other properties (outline, width, size) each class keeps.
    other
        Label of a last, light grey catch-all class (QGIS draws every value not listed,
        NULL included, with a category whose value is empty); None leaves those undrawn.
    """
    base = base or Symbol("#9ecae1")
    labels = labels or {}
    cats = []
    for i, value in enumerate(values):
        if isinstance(colours, Mapping):
            colour = colours.get(value, PALETTE[i % len(PALETTE)])
        else:
            seq = colours or PALETTE
            colour = seq[i % len(seq)]
        cats.append(Category(value, labels.get(value, str(value)), _recolour(base, colour)))
    if other is not None:
        cats.append(Category("", other, _recolour(base, OTHER_COLOUR)))
    return LayerStyle(
        symbol=base, field=field_name, categories=tuple(cats), labels=dict(labels),
        name=name, description=description,
    )


def graduated_style(
    field_name: str,
    breaks: Sequence[float],
    labels: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    base: Symbol | None = None,
    *,
    name: str = "yulin_gis 默认样式",
    description: str = "",
) -> LayerStyle:
    """Return a graduated style with classes ``(breaks[i], breaks[i+1]]``.

    Parameters
    ----------
    field_name
        The numeric column classified on.
    breaks
        Increasing class bounds (``n + 1`` values for ``n`` classes).
    labels
        One Chinese label per class (``"a – b"`` by default).
    colours
        One colour per class (a yellow→red ramp by default).
    """
    bounds = [float(b) for b in breaks]
    if len(bounds) < 2 or any(b >= c for b, c in itertools.pairwise(bounds)):
        raise SchemaError(f"graduated style for {field_name!r}: breaks must increase, got {breaks!r}")
    n = len(bounds) - 1
    colours = list(colours) if colours else ramp_colours(n)
    labels = list(labels) if labels else [f"{a:g} – {b:g}" for a, b in itertools.pairwise(bounds)]
    if len(colours) != n or len(labels) != n:
        raise SchemaError(f"graduated style for {field_name!r}: need {n} colours and labels")
    base = base or Symbol("#9ecae1")
    ranges = tuple(
        Range(bounds[i], bounds[i + 1], labels[i], _recolour(base, colours[i])) for i in range(n)
    )
    return LayerStyle(symbol=base, field=field_name, ranges=ranges, name=name, description=description)


def default_styles() -> dict[str, LayerStyle]:
    """Return the default styles of the plan layers, keyed by GeoPackage layer name.

    - ``compounds``: categorized by ``tier`` (重点改造 red / 按比例纳入 orange / 不纳入 grey);
    - ``packages``: categorized by ``package_id`` from the data (outline when absent);
    - ``communities``: dark dashed outline, no fill;
    - ``utilities``: categorized by ``utility`` in CJJ 61 colours;
    - ``pipe_upgrades``: one class per ``plan_year`` found in the data (yellow → red);
    - ``joint_trenches``: thick purple line.
    """
    compound = Symbol("#bdbdbd", outline_color="#4d4d4d", width=0.2, size=2.0)
    pipe = Symbol("#808080", width=0.5)
    return {
        "compounds": categorized_style(
            "tier", list(TIER_LABELS_ZH), TIER_LABELS_ZH, TIER_COLOURS, compound,
            description="小区按改造类别分类：重点改造 / 按比例纳入 / 不纳入",
        ),
        "packages": LayerStyle(
            symbol=Symbol("#ffffff", outline_color="#08306b", width=0.6, fill=False, opacity=0.6),
            field="package_id", auto=True,
            description="连片改造片区（项目包），按片区编号着色",
        ),
        "communities": LayerStyle(
            symbol=Symbol("#ffffff", outline_color="#252525", width=0.4, fill=False, dash="dash"),
            description="社区边界",
        ),
        "utilities": categorized_style(
            "utility", list(UTILITY_LABELS_ZH), UTILITY_LABELS_ZH, UTILITY_COLOURS, pipe,
            description="管线按类型着色（CJJ 61 管线颜色）",
        ),
        "pipe_upgrades": LayerStyle(
            symbol=Symbol("#bd0026", width=0.8), field="plan_year", auto=True, auto_numeric=True,
            description="管线改造按计划年度分级",
        ),
        "joint_trenches": LayerStyle(
            symbol=Symbol("#6a3d9a", width=1.6), description="综合管沟（粗线）",
        ),
    }


# --- auto classes from the data ------------------------------------------------------------


def _fit_to_table(con: sqlite3.Connection, table: str, style: LayerStyle) -> LayerStyle:
    """Check the style's field against the table and build auto classes from the data."""
    if not style.field:
        return style
    columns = {row[1] for row in con.execute(f'PRAGMA table_info("{_ident(table)}")')}
    if style.field not in columns:
        logger.warning("layer %s has no field %r: stored with a single symbol", table, style.field)
        return replace(style, auto=False, field=None, categories=(), ranges=())
    if not style.auto:
        return style
    col = _ident(style.field)
    rows = con.execute(
        f'SELECT DISTINCT "{col}" FROM "{_ident(table)}" WHERE "{col}" IS NOT NULL ORDER BY "{col}"'
    ).fetchall()
    values: list[Value] = [r[0] for r in rows]
    if not values:
        return replace(style, auto=False, field=None)
    if style.auto_numeric and all(isinstance(v, int | float) for v in values):
        nums = sorted(float(v) for v in values)
        if len(nums) <= 12 and all(v.is_integer() for v in nums):
            breaks = [nums[0] - 0.5] + [v + 0.5 for v in nums]
            labels = [style.labels.get(int(v), f"{int(v)}年") for v in nums]
        else:
            lo, hi = nums[0], nums[-1]
            hi = hi if hi > lo else lo + 1
            breaks = [lo + (hi - lo) * i / 5 for i in range(6)]
            labels = None
        made = graduated_style(style.field, breaks, labels, base=style.symbol)
    elif len(values) > MAX_CATEGORIES:
        # thousands of packages: one symbol, a distinct hue per feature id
        expression = "color_hsv(($id * 47) % 360, 65, 80)"
        return replace(style, auto=False, field=None, colour_expression=expression)
    else:
        made = categorized_style(style.field, values, style.labels, None, style.symbol)
    return replace(style, categories=made.categories, ranges=made.ranges, auto=False)


# --- writing -------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _geometry_kind(type_name: str) -> GeometryKind:
    t = type_name.upper()
    if "POLYGON" in t or "SURFACE" in t:
        return "polygon"
    if "LINE" in t or "CURVE" in t:
        return "line"
    return "point"


def _open_gpkg(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InputFileError(f"{path}: GeoPackage not found")
    try:
        con = sqlite3.connect(path)
        con.execute("SELECT table_name, data_type FROM gpkg_contents LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise InputFileError(f"{path}: not a GeoPackage ({exc})") from exc
    return con


def write_layer_styles(
    gpkg_path: str | Path, *,
    styles: Mapping[str, LayerStyle] | None = None,
    owner: str = "yulin_gis",
) -> list[str]:
    """Store default QGIS styles for the layers of a GeoPackage.

    Creates the ``layer_styles`` table (the columns QGIS creates) if needed, registers it in
    ``gpkg_contents`` as an ``attributes`` table, and for every styled layer present in the
    file replaces the row with the same style name, marks it ``useAsDefault = 1`` and clears
    the default flag of the layer's other styles. All of it happens in one transaction.
    Styles for layers absent from the file are skipped (logged).

    Parameters
    ----------
    gpkg_path
        An existing GeoPackage, e.g. ``plan.gpkg``.
    styles
        GeoPackage layer name → style; :func:`default_styles` when None.
    owner
        Written to the ``owner`` column.

    Returns
    -------
    list of str
        The layers styled, sorted.

    Raises
    ------
    InputFileError
        The file is missing or not a GeoPackage.
    OutputError
        The table could not be written (read-only file, disk full ...).
    """
    path = Path(gpkg_path)
    styles = default_styles() if styles is None else styles
    con = _open_gpkg(path)
    done: list[str] = []
    try:
        geoms = {
            row[0]: (row[1], row[2])
            for row in con.execute(
                "SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns"
            )
        }
        with con:
            con.execute(_CREATE_TABLE)
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                f"description, last_change) VALUES ('layer_styles', 'attributes', "
                f"'layer_styles', 'QGIS layer styles', {_NOW})"
            )
            for table in sorted(styles):
                if table not in geoms:
                    logger.info("%s: no spatial layer %r, its style is skipped", path, table)
                    continue
                column, type_name = geoms[table]
                _write_one(con, table, column, _geometry_kind(type_name), styles[table], owner)
                done.append(table)
            _touch_counts(con)
    except sqlite3.Error as exc:
        raise OutputError(f"{path}: could not write layer_styles ({exc})") from exc
    finally:
        con.close()
    logger.info("%s: default QGIS styles for %s", path, ", ".join(done) or "no layer")
    return done


def _write_one(
    con: sqlite3.Connection, table: str, column: str, kind: GeometryKind, style: LayerStyle,
    owner: str,
) -> None:
    style = _fit_to_table(con, table, style)
    con.execute(
        "DELETE FROM layer_styles WHERE f_table_name = ? AND f_geometry_column = ? AND styleName = ?",
        (table, column, style.name),
    )
    con.execute(
        "UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ? AND f_geometry_column = ?",
        (table, column),
    )
    con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
        f"ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, ?, '', {_NOW})",
        (table, column, style.name, style.to_qml(kind), style.to_sld(table, kind),
         style.description, owner),
    )


def _touch_counts(con: sqlite3.Connection) -> None:
    """Keep GDAL's cached feature count (gpkg_ogr_contents) right for layer_styles."""
    has = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'"
    ).fetchone()
    if has:
        (n,) = con.execute("SELECT COUNT(*) FROM layer_styles").fetchone()
        con.execute(
            "INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, ?)",
            ("layer_styles", n),
        )
    con.execute(
        f"UPDATE gpkg_contents SET last_change = {_NOW} WHERE table_name = 'layer_styles'"
    )
