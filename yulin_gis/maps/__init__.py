"""Maps (地图): offline web maps, static report maps, symbology and QGIS styles.

Public names are imported on first use (PEP 562), so importing one module of
this subpackage does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from yulin_gis._lazy import lazy_names

if TYPE_CHECKING:
    from yulin_gis.maps._assets import (
        encode_png,
        resolve_basemaps,
    )
    from yulin_gis.maps._cache import (
        MapCache,
    )
    from yulin_gis.maps._elements import (
        CompactLayer,
        CompactLegend,
        CompactSearch,
        FitView,
        RasterLegend,
        StyleSwitch,
    )
    from yulin_gis.maps._encoding import (
        decode_field,
        decode_geometry,
        decode_varints,
        encode_varints,
    )
    from yulin_gis.maps._offline import (
        make_offline,
    )
    from yulin_gis.maps._plan_map import (
        PlanLayers,
        plan_map,
        save_map,
    )
    from yulin_gis.maps._qgis_styles import (
        TIER_COLOURS,
        TIER_LABELS_ZH,
        LayerStyle,
        Symbol,
        categorized_style,
        default_styles,
        graduated_style,
        ramp_colours,
        write_layer_styles,
    )
    from yulin_gis.maps._static import (
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
    from yulin_gis.maps._webmap import (
        MapLayer,
        MapPage,
        RasterOverlay,
        StyleBy,
        build_map,
        layers_map,
        render_map,
        robust_extent,
        write_map,
    )

_LAZY = {
    "CompactLayer": "_elements",
    "CompactLegend": "_elements",
    "CompactSearch": "_elements",
    "FitView": "_elements",
    "LayerStyle": "_qgis_styles",
    "MapCache": "_cache",
    "MapLayer": "_webmap",
    "MapPage": "_webmap",
    "PlanLayers": "_plan_map",
    "RasterLegend": "_elements",
    "RasterOverlay": "_webmap",
    "StaticLayer": "_static",
    "StyleBy": "_webmap",
    "StyleSwitch": "_elements",
    "Symbol": "_qgis_styles",
    "TIER_COLOURS": "_qgis_styles",
    "TIER_LABELS_ZH": "_qgis_styles",
    "build_map": "_webmap",
    "categorized_style": "_qgis_styles",
    "compound_layer": "_static",
    "county_maps": "_static",
    "decode_field": "_encoding",
    "decode_geometry": "_encoding",
    "decode_varints": "_encoding",
    "default_styles": "_qgis_styles",
    "encode_png": "_assets",
    "encode_varints": "_encoding",
    "find_cjk_font": "_static",
    "graduated_style": "_qgis_styles",
    "layers_map": "_webmap",
    "legend_entries": "_static",
    "make_offline": "_offline",
    "nice_scale_length": "_static",
    "overview_map": "_static",
    "plan_map": "_plan_map",
    "ramp_colours": "_qgis_styles",
    "render_map": "_webmap",
    "render_static_map": "_static",
    "resolve_basemaps": "_assets",
    "robust_extent": "_webmap",
    "save_map": "_plan_map",
    "scale_bar_label": "_static",
    "write_layer_styles": "_qgis_styles",
    "write_map": "_webmap",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "TIER_COLOURS",
    "TIER_LABELS_ZH",
    "CompactLayer",
    "CompactLegend",
    "CompactSearch",
    "FitView",
    "LayerStyle",
    "MapCache",
    "MapLayer",
    "MapPage",
    "PlanLayers",
    "RasterLegend",
    "RasterOverlay",
    "StaticLayer",
    "StyleBy",
    "StyleSwitch",
    "Symbol",
    "build_map",
    "categorized_style",
    "compound_layer",
    "county_maps",
    "decode_field",
    "decode_geometry",
    "decode_varints",
    "default_styles",
    "encode_png",
    "encode_varints",
    "find_cjk_font",
    "graduated_style",
    "layers_map",
    "legend_entries",
    "make_offline",
    "nice_scale_length",
    "overview_map",
    "plan_map",
    "ramp_colours",
    "render_map",
    "render_static_map",
    "resolve_basemaps",
    "robust_extent",
    "save_map",
    "scale_bar_label",
    "write_layer_styles",
    "write_map",
]
