"""Which layers the planning maps show, and how (styles, legends, Chinese labels).

:func:`plan_map_layers` turns a :class:`~yulin_gis.maps._plan_map.PlanLayers` (from a run, a
``plan.gpkg`` or a :class:`~yulin_gis.pipeline._stages.PlanState`) into the
:class:`~yulin_gis.maps._webmap.MapLayer` list of the city overview; the same function, given a
county or a utility company, gives the per-county and per-utility maps. Compounds may be
polygons, points or both (points are drawn as circle markers); packages that are not
areas (packages of point compounds) are drawn as their convex hulls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from yulin_gis.io import STATUS_ZH, VOCABULARIES

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.maps._cache import MapCache
    from yulin_gis.maps._plan_map import PlanLayers
    from yulin_gis.maps._webmap import MapLayer

__all__ = ["UTILITY_ZH", "plan_map_layers"]

TIER_ZH = {"priority": "重点改造（2000年底前建成）", "share": "按比例纳入（2001—2005年）",
           "excluded": "不纳入"}
TIER_COLORS = {"priority": "#d7301f", "share": "#fc8d59", "excluded": "#bdbdbd"}
STATUS_COLORS = {"planned": "#1a9850", "packaged": "#fee08b", "eligible": "#fc8d59",
                 "consultation": "#9e9ac8", "excluded": "#bdbdbd", "待核实": "#762a83"}
UTILITY_ZH = {"water_supply": "供水", "storm": "雨水", "sewer": "污水", "combined_sewer": "雨污合流",
              "gas": "燃气", "power": "电力", "telecom": "通信", "cable_tv": "有线电视"}
UTILITY_COLORS = {"water_supply": "#1f78b4", "storm": "#33a02c", "sewer": "#8c510a",
                  "combined_sewer": "#bf812d", "gas": "#e31a1c", "power": "#ff7f00",
                  "telecom": "#6a3d9a", "cable_tv": "#b15928"}
_YEAR_COLORS = ["#1b9e77", "#7570b3", "#e6ab02", "#e7298a", "#66a61e", "#a6761d"]
FACILITY_ZH = {k: v[0] for k, v in VOCABULARIES["facility_kind"].items()}
_COMPOUND_POPUP = {
    "compound_id": "小区编号", "name": "小区名称", "community_id": "所属社区", "street": "所属街道",
    "built_year": "建成年份", "households": "户数", "buildings": "楼栋数", "tier_reason": "纳入理由",
    "exclusion_reason": "未纳入原因", "package_id": "片区编号", "plan_year": "计划年度",
    "priority": "优先级得分", "items": "改造内容", "cost_yuan": "估算投资（元）",
}


UNVERIFIED = "待核实"
"""Status (or its Chinese label) of compounds whose position or data must be checked."""


def _present(gdf: gpd.GeoDataFrame, fields: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k in gdf.columns}


def year_text(values: Any) -> pd.Series:
    """Plan years as text ("2024"), missing as "" (stored as int, float, text or NULL)."""
    s = pd.Series(values)
    num = pd.to_numeric(s, errors="coerce")
    out = num.map(lambda v: "" if pd.isna(v) else str(int(v)))
    return out.where(num.notna(), "").astype(str)


def as_areas(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons as they are; points, lines and collections as convex hulls (never empty)."""
    import shapely

    geoms = np.asarray(gdf.geometry.values)
    other = ~np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_missing(geoms)
    other &= ~shapely.is_empty(geoms)
    if not other.any():
        return gdf
    hull = shapely.convex_hull(geoms[other])
    thin = ~np.isin(shapely.get_type_id(hull), (3, 6))
    radius = 0.0003 if gdf.crs is not None and gdf.crs.is_geographic else 30.0
    hull[thin] = shapely.buffer(hull[thin], radius)
    geoms = geoms.copy()
    geoms[other] = hull
    return gdf.set_geometry(geoms, crs=gdf.crs)


def _compound_layer(comp: gpd.GeoDataFrame, years: list[str]) -> MapLayer:
    from yulin_gis.maps._webmap import MapLayer, StyleBy

    comp = comp.copy()
    status = comp["status"].tolist() if "status" in comp.columns else [None] * len(comp)
    comp["status_zh"] = pd.Series([STATUS_ZH.get(v, v) if isinstance(v, str) else None
                                   for v in status], index=comp.index, dtype=object)
    codes = {**STATUS_ZH, **{v: STATUS_ZH.get(v, v) for v in status if isinstance(v, str)}}
    colors = {**STATUS_COLORS, **{c: "#7b3294" for c, z in codes.items() if z == UNVERIFIED}}
    if "plan_year" in comp.columns:
        comp["plan_year"] = year_text(comp["plan_year"]).to_numpy()
    styles = [
        StyleBy("tier", "改造类别", labels=TIER_ZH, colors=TIER_COLORS),
        StyleBy("status", "规划状态", labels=codes, colors=colors),
        StyleBy("built_year", "建成年代", bins=[1980, 1990, 2000, 2005],
                bin_labels=["1980年前", "1980—1989", "1990—1999", "2000—2004", "2005年及以后"],
                colors="YlOrRd"),
    ]
    if years:
        styles.append(StyleBy("plan_year", "计划年度", labels={y: f"{y}年" for y in years}))
    if "items_basic" in comp.columns:
        comp["works_class"] = [
            "提升类" if u > 0 else "完善类" if i > 0 else "基础类" if b > 0 else "无"
            for b, i, u in zip(comp["items_basic"].fillna(0), comp["items_improve"].fillna(0),
                               comp["items_upgrade"].fillna(0), strict=True)]
        styles.append(StyleBy("works_class", "最高改造类别",
                              colors={"基础类": "#fdae61", "完善类": "#abd9e9", "提升类": "#2c7bb6",
                                      "无": "#bdbdbd"}))
    styles = [st for st in styles if st.column in comp.columns]
    fit = np.array([z != UNVERIFIED for z in comp["status_zh"]], dtype=bool)
    return MapLayer("小区", comp, style_by=styles,
                    tooltip=_present(comp, {"name": "小区名称", "status_zh": "规划状态"}),
                    popup=_present(comp, _COMPOUND_POPUP),
                    search_fields=[c for c in ("name", "compound_id") if c in comp.columns],
                    formats=_present(comp, {"cost_yuan": "{:,.0f}", "priority": "{:.1f}"}),
                    fit_mask=fit.tolist() if fit.any() else None)


def _boundary_layers(state: PlanLayers) -> list[MapLayer]:
    from yulin_gis.maps._webmap import MapLayer

    out = []
    specs = (("counties", "县（市、区）", "#000000", 2.5, {"name": "县区"}),
             ("streets", "街道（乡镇）", "#525252", 1.5, {"name": "街道"}),
             ("communities", "社区", "#969696", 1.0, {"name": "社区", "community_id": "社区代码"}))
    for attr, name, colour, weight, tip in specs:
        gdf = getattr(state, attr)
        if gdf is not None:
            out.append(MapLayer(name, gdf, color=colour, weight=weight,
                                fill_opacity=0.0, tooltip=_present(gdf, tip),
                                search_fields=["name"] if attr == "communities" and
                                "name" in gdf.columns else (),
                                show=attr != "streets"))
    return out


def _package_layer(packages: gpd.GeoDataFrame) -> MapLayer:
    from yulin_gis.maps._webmap import MapLayer, StyleBy

    packages = as_areas(packages)
    if "plan_year" in packages.columns:
        packages = packages.assign(plan_year=year_text(packages["plan_year"]).to_numpy())
    years = sorted({y for y in packages.get("plan_year", pd.Series(dtype=str)) if y})
    styles: list[StyleBy | str] = []
    if years:
        labels = {**{y: f"{y}年" for y in years}, "": "未排入计划"}
        colours = dict(zip(years, _YEAR_COLORS * 4, strict=False)) | {"": "#969696"}
        styles.append(StyleBy("plan_year", "计划年度", labels=labels, colors=colours))
    styles.append(StyleBy("package_id", "片区"))
    popup = {"package_id": "片区编号", "community_id": "社区", "n_compounds": "小区数",
             "households": "户数", "cost_yuan": "估算投资（元）", "plan_year": "计划年度",
             "planned_start": "计划开工", "planned_completion": "计划完工",
             "flag_reason": "提示"}
    return MapLayer("改造片区", packages, style_by=styles, fill_opacity=0.25,
                    weight=2.0, tooltip={"package_id": "片区编号"},
                    popup=_present(packages, popup), search_fields=["package_id"],
                    label="package_id" if len(packages) <= 60 else None,
                    formats=_present(packages, {"cost_yuan": "{:,.0f}"}))


def _utility_layers(state: PlanLayers, owner: str | None) -> list[MapLayer]:
    from yulin_gis.maps._webmap import MapLayer, StyleBy

    out = []
    by_type = StyleBy("utility", "管线类型", labels=UTILITY_ZH, colors=UTILITY_COLORS)
    nets = state.utilities
    if nets is not None:
        if owner is not None:
            nets = nets[nets["owner"] == owner]
        out.append(MapLayer("现状管线", nets, kind="line", style_by=by_type, show=False,
                            tooltip=_present(nets, {"segment_id": "管段", "material": "材质",
                                                    "install_year": "敷设年份"})))
    up = state.pipe_upgrades
    if up is not None and len(up):
        if owner is not None:
            up = up[up["owner"] == owner]
        risk = StyleBy("risk_score", "更新风险评分", bins=[40, 60, 80], colors="YlOrRd",
                       bin_labels=["<40", "40—60", "60—80", "≥80"])
        out.append(MapLayer("管线改造", up, kind="line", style_by=[by_type, risk], weight=3.0,
                            show=owner is not None,
                            tooltip=_present(up, {"segment_id": "管段", "utility_zh": "类型"}),
                            popup=_present(up, {"segment_id": "管段", "owner": "权属单位",
                                                "package_id": "片区", "plan_year": "计划年度",
                                                "length_m": "长度（米）", "risk_score": "风险评分",
                                                "reason": "改造原因", "scope": "范围",
                                                "households_cut_off": "施工停水/停气影响户数",
                                                "est_cost_yuan": "估算投资（元）"}),
                            formats=_present(up, {"length_m": "{:,.0f}",
                                                  "est_cost_yuan": "{:,.0f}"})))
    jt = state.joint_trenches
    if jt is not None and len(jt):
        out.append(MapLayer("统筹施工路段", jt, kind="line", color="#000000", weight=5.0,
                            opacity=0.6, show=owner is not None, tooltip=_present(jt, {"road_name": "道路",
                                                               "order_zh": "施工顺序"}),
                            popup=_present(jt, {"trench_id": "编号", "road_name": "道路",
                                                "package_id": "片区", "plan_year": "计划年度",
                                                "order_zh": "施工顺序", "schedule_zh": "施工窗口",
                                                "length_m": "长度（米）",
                                                "conflicts": "计划冲突"})))
    return out


def _facility_layers(state: PlanLayers) -> list[MapLayer]:
    from yulin_gis.maps._webmap import MapLayer, StyleBy

    out = []
    fac = state.facilities
    if fac is not None and "kind" in fac.columns:
        out.append(MapLayer("公共服务设施", fac, kind="point", show=False, radius=4.0,
                            style_by=StyleBy("kind", "设施类型", labels=FACILITY_ZH),
                            tooltip=_present(fac, {"name": "名称", "kind": "类型"})))
    comp = state.compounds
    gaps = [c for c in comp.columns if c.startswith("gap_") and comp[c].dtype != object
            and "name" in comp.columns]
    if gaps:
        flags = comp[gaps].fillna(False).astype(bool)
        has_gap = flags.any(axis=1)
        sub = comp[has_gap].copy()
        sub["gap_kinds"] = _gap_kinds(flags[has_gap].to_numpy(), gaps)
        sub["gap_count"] = flags[has_gap].sum(axis=1).to_numpy()
        count = StyleBy("gap_count", "缺少的设施类数", bins=[2, 4],
                        bin_labels=["1类", "2—3类", "4类及以上"], colors="Viridis")
        out.append(MapLayer("生活圈服务缺口", sub, style_by=count, show=False,
                            fill_opacity=0.6, tooltip={"name": "小区名称", "gap_kinds": "缺少"}))
    return out


def _county_rows(gdf: gpd.GeoDataFrame, county: str | None) -> tuple[gpd.GeoDataFrame, str | None]:
    """The county's rows (all rows when ``county`` is None or every row is in it), and the
    county that names them (None for all rows)."""
    if county is None:
        return gdf, None
    mask = gdf["county"] == county
    return (gdf, None) if bool(mask.all()) else (gdf[mask], county)


def _gap_kinds(flags: NDArray[np.bool_], gaps: list[str]) -> list[str]:
    """Per row, the Chinese names of the facility kinds it lacks ("幼儿园, 菜市场"): each
    distinct combination of flags is spelled once."""
    names = [FACILITY_ZH.get(g[4:], g[4:]) for g in gaps]
    combos, which = np.unique(flags, axis=0, return_inverse=True)
    text = [", ".join(n for n, f in zip(names, combo, strict=True) if f) for combo in combos]
    return [text[i] for i in np.asarray(which).reshape(-1)]


def plan_map_layers(state: PlanLayers, county: str | None = None,
                    owner: str | None = None, cache: MapCache | None = None) -> list[MapLayer]:
    """The layers of a planning map, bottom first.

    Parameters
    ----------
    state
        The results of a run (in any CRS; maps are drawn in WGS84).
    county
        Only this county's compounds and packages (per-county map).
    owner
        Only this utility company's networks and upgrades (per-utility map).
    cache
        Build each layer once per county or owner across the maps of one run (the same
        layer objects are returned again, so their encodings are reused too).
    """
    def built(key: tuple[Any, ...], make: Callable[[], list[MapLayer]]) -> list[MapLayer]:
        if cache is None:
            return make()
        frames = tuple(getattr(state, f.name) for f in fields(state))
        return cache.built((*map(id, frames), *key), frames, make)

    comp, comp_key = _county_rows(state.compounds, county)
    packages, pkg_key = state.packages, None
    if packages is not None and "county" in packages.columns:
        packages, pkg_key = _county_rows(packages, county)

    def _compounds() -> list[MapLayer]:
        years = sorted({y for y in year_text(comp.get("plan_year", pd.Series(dtype=str))) if y})
        return [_compound_layer(comp, years)]

    layers = [*built(("boundaries",), lambda: _boundary_layers(state)),
              *built(("compounds", comp_key), _compounds)]
    if packages is not None and len(packages):
        layers += built(("packages", pkg_key), lambda: [_package_layer(packages)])
    if owner is None:
        layers += built(("facilities",), lambda: _facility_layers(state))
    layers += built(("utilities", owner), lambda: _utility_layers(state, owner))
    return layers
