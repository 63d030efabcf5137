"""Writing a run's outputs: ``plan.gpkg``, workbooks, maps, charts.

Every file is written to a temporary name and renamed into place when complete
(:func:`yulin_gis.io._readers.atomic_path`); ``run_manifest.json`` is written last by the pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from yulin_gis.crs import STORAGE_CRS
from yulin_gis.io import write_gpkg

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.pipeline._stages import PlanState

__all__ = ["gpkg_layers", "write_maps", "write_plan_gpkg", "write_summary", "write_tables"]

logger = logging.getLogger(__name__)

_BASE_LAYERS = ("counties", "streets", "communities", "roads", "rivers", "utilities",
                "utility_nodes", "facilities")


_COUNT_NAMES = frozenset({"households", "buildings", "units", "floors", "n_compounds",
                          "plan_order", "pre2000_households", "share_households",
                          "households_cut_off", "built_year", "renovated_year", "plan_year"})


def _is_count(name: str) -> bool:
    """Years and counts: stored as integers."""
    return (name in _COUNT_NAMES or name.endswith(("_year", "_households")) or name.startswith(("n_", "items_")))


def _plain(value: Any, *, text: bool = False) -> Any:
    """One cell: None for missing or blank text, plain Python types, text when asked."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if text:
        return str(value)
    return value if isinstance(value, int | float) else str(value)


def _typed_column(name: str, series: pd.Series) -> pd.Series:
    """One column with GeoPackage-friendly types: NULL not '', integer years and counts,
    0/1 flags, text ids."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("Int64")
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        is_id = name.endswith(("_id", "_code"))
        series = pd.Series([_plain(v, text=is_id) for v in series], index=series.index,
                           dtype=object)
        if is_id:
            return series
    if _is_count(name):
        values = pd.to_numeric(series, errors="coerce")
        known = series.notna()
        if values[known].notna().all() and (values[known] % 1 == 0).all():
            return values.round().astype("Int64")
    if series.dtype == object and series.map(lambda v: isinstance(v, bool)).any():
        return pd.Series([int(v) if isinstance(v, bool) else v for v in series],
                         index=series.index, dtype=object)
    return series


def _storable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Make a layer writable to GeoPackage: storage CRS and typed columns
    (:func:`_typed_column`)."""
    out = gdf.to_crs(STORAGE_CRS)
    for col in out.columns:
        if col != out.geometry.name:
            out[col] = _typed_column(str(col), out[col])
    return out


def gpkg_layers(state: PlanState) -> dict[str, gpd.GeoDataFrame]:
    """The layers of ``plan.gpkg``: results first, then the input layers used."""
    layers: dict[str, gpd.GeoDataFrame] = {"compounds": _storable(state.compounds)}
    for name in ("packages", "pipe_upgrades", "joint_trenches"):
        layer = getattr(state, name)
        if layer is not None and len(layer):
            layers[name] = _storable(layer)
    for name in _BASE_LAYERS:
        layer = getattr(state.layers, name)
        if layer is not None:
            layers[name] = _storable(layer)
    return layers


def write_plan_gpkg(state: PlanState, path: Path) -> Path:
    """Write ``plan.gpkg`` with QGIS default styles (GeoPackage ``layer_styles``)."""
    from yulin_gis.maps import write_layer_styles

    return write_gpkg(gpkg_layers(state), path, finish=write_layer_styles)


def write_tables(state: PlanState, out_dir: Path) -> list[Path]:
    """Write every workbook: survey, task lists, packages, plans, schemes, utility companies."""
    from yulin_gis.pipeline._stages import profile_funding
    from yulin_gis.reports import (
        budget_constrained,
        funding_table,
        parameters_frame,
        plan_notes,
        plan_table,
        profile_labels,
        write_city_summary_workbook,
        write_plan_workbooks,
        write_survey_workbook,
        write_task_workbooks,
        write_workbook,
    )

    prof = state.profile
    labels = profile_labels(prof)
    names = community_names(state)
    files = [write_survey_workbook(state.compounds, out_dir / "摸底调查评估表.xlsx", prof,
                                   community_names=names)]
    files += list(write_task_workbooks(state.compounds, out_dir, prof, packages=state.packages,
                                       community_names=names).values())
    if state.packages is not None:
        files.append(write_workbook(out_dir / "改造片区清单.xlsx",
                                    {"改造片区": _package_sheet(state.packages, names)},
                                    {"改造片区": "连片改造片区清单（以社区为基本单元）"}, labels=labels))
    if state.plan is not None:
        constrained = budget_constrained(state.plan, state.packages, state.options.budget)
        doc: dict[str, Any] = {"constrained": constrained,
                               "notes": plan_notes(prof, constrained=constrained),
                               "parameters": parameters_frame(prof)}
        table = plan_table(state.compounds, state.packages, **profile_funding(prof),
                           item_labels={c: i.name_zh for c, i in prof.items.items()},
                           community_names=names, gov_shares=gov_shares(prof))
        if "cost_note" in state.compounds.columns:  # costs not estimated: blank, not 0
            money = [c for c in table.columns if c == "cost_yuan" or c.startswith("fund_")]
            table[money] = None
        files += write_plan_workbooks(out_dir / "年度计划", table, **doc)
        from yulin_gis.reports import verification_table

        verify = verification_table(state.compounds)
        files.append(write_city_summary_workbook(
            out_dir / "全市汇总.xlsx", state.plan, funding_table(table), city=prof.city,
            extra_sheets={"待核实清单": verify} if len(verify) else None, **doc))
        from yulin_gis.reports import write_scheme_workbooks

        files += write_scheme_workbooks(table, state, out_dir / "一小区一方案")
    if state.pipe_upgrades is not None:
        from yulin_gis.reports import write_company_workbooks

        files += list(write_company_workbooks(
            state.pipe_upgrades, state.joint_trenches, out_dir / "管线单位",
            companies=set(prof.utility_companies.values()),
            department_dir=out_dir / "部门管网改造").values())
    return files


def community_names(state: PlanState) -> dict[str, str]:
    """Community code → name from the communities layer (empty when there is none)."""
    comm = state.layers.communities
    if comm is None or "community_id" not in comm.columns or "name" not in comm.columns:
        return {}
    return {str(c): str(n) for c, n in zip(comm["community_id"], comm["name"], strict=True)
            if isinstance(n, str) and n}


def gov_shares(profile: Any) -> dict[str, float] | None:
    """The profile's split of government money by source (``[funding_sources]``), if any."""
    extras = getattr(profile, "extras", None)
    shares = getattr(extras, "funding_sources", None)
    return {str(k): float(v) for k, v in shares.items()} if shares else None


_PACKAGE_COLUMNS = {
    "package_id": "片区编号", "county": "县（市、区）", "street": "街道", "community_name": "社区",
    "community_id": "社区代码",
    "n_compounds": "小区数", "buildings": "楼栋数", "households": "户数",
    "floor_area_m2": "建筑面积（平方米）", "pre2000_households": "2000年前建成户数",
    "share_households": "2001—2005年建成户数", "cost_yuan": "估算投资（元）",
    "priority": "优先级得分", "compactness": "紧凑度", "plan_year": "计划年度",
    "planned_start": "计划开工", "planned_completion": "计划完工",
    "flag_reason": "提示", "unscheduled_reason": "未排期原因",
}


def _package_sheet(packages: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    packages = pd.DataFrame(packages.drop(columns="geometry", errors="ignore"))
    if "community_id" in packages.columns:
        packages["community_name"] = packages["community_id"].astype(str).map(names).fillna("")
    cols = [c for c in _PACKAGE_COLUMNS if c in packages.columns]
    table = pd.DataFrame(packages[cols]).rename(columns=_PACKAGE_COLUMNS)
    return table.sort_values("片区编号").reset_index(drop=True)


def _stem(name: str) -> str:
    """A file-name-safe form of a county or company name (valid on Windows)."""
    from yulin_gis.io import safe_filename

    return safe_filename(name, missing="未命名")


def write_maps(state: PlanState, maps_dir: Path, **options: Any) -> list[Path]:
    """Write the overview, per-county and per-utility web maps and the static maps.

    The web maps are :func:`yulin_gis.plan_map` folium maps, the same as the API's; they
    share one :class:`~yulin_gis.maps.MapCache`, so each layer is built and encoded once.
    """
    from yulin_gis.maps import (
        MapCache,
        PlanLayers,
        RasterOverlay,
        county_maps,
        overview_map,
        plan_map,
        save_map,
    )

    city = state.profile.city
    src = PlanLayers.from_state(state)
    rasters = []
    if state.layers.dem_path is not None:
        rasters.append(RasterOverlay(state.layers.dem_path, "数字高程模型（米）", show=False))
    for path in state.options.rasters:  # local GeoTIFFs, e.g. an orthophoto as offline basemap
        rasters.append(RasterOverlay(path, f"影像：{Path(path).stem}", opacity=1.0))
    cache = MapCache()
    files = [save_map(plan_map(src, rasters=rasters, cache=cache, **options),
                      maps_dir / "overview.html")]
    counties = state.compounds.get("county", pd.Series(dtype=object))
    for county in sorted(counties.dropna().astype(str).unique()):
        files.append(save_map(plan_map(src, county=county, cache=cache, **options),
                              maps_dir / f"county_{_stem(county)}.html"))
    if state.pipe_upgrades is not None and len(state.pipe_upgrades):
        for owner in sorted(state.pipe_upgrades["owner"].dropna().astype(str).unique()):
            files.append(save_map(plan_map(src, company=owner, cache=cache, **options),
                                  maps_dir / f"utility_{_stem(owner)}.html"))
    static_args: dict[str, Any] = {"packages": state.packages, "communities": state.layers.communities,
                   "counties": state.layers.counties, "crs": state.layers.crs}
    overview_args = {**static_args, "counties": None}  # frame the compounds, not whole counties
    files.append(overview_map(state.compounds, path=maps_dir / "overview.png",
                              title=f"{city}城镇老旧小区改造总览图", **overview_args))
    files += county_maps(state.compounds, out_dir=maps_dir / "static", **static_args)
    return files


_CHART_CAPTIONS = {"households_cost": "各县（市、区）分年度改造户数与投资",
                   "coverage": "2000年底前建成小区累计覆盖率", "funding": "投资分担（居民/管线单位/政府）",
                   "progress": "实施进度"}


def write_summary(state: PlanState, maps_dir: Path) -> list[Path]:
    """Write the plan charts (PNG) and the one-page HTML summary beside the maps."""
    from yulin_gis.planning import funding_by_county_year
    from yulin_gis.reports import plan_charts, write_plan_summary_html

    plan = state.plan
    if plan is None or state.packages is None:
        return []
    funding = None
    if "fund_government_yuan" in state.packages.columns:
        funding = funding_by_county_year(pd.DataFrame(state.packages.drop(columns="geometry")))
    charts = plan_charts(plan, maps_dir / "charts", funding=funding)
    comp = state.compounds
    facts = {
        "小区总数": len(comp),
        "纳入年度计划的小区": int((comp["status"] == "planned").sum()),
        "不纳入改造的小区": int((comp["status"] == "excluded").sum()),
        "待核实的小区（数据待核实，不纳入计划）": int((comp["status"] == "待核实").sum()),
        "改造片区": len(state.packages),
        "计划年度": f"{plan.years[0]}—{plan.years[-1]}",
        "2000年底前建成小区全部覆盖": "是" if plan.covered else "否",
    }
    from yulin_gis.reports import (
        UNCONSTRAINED_ZH,
        budget_constrained,
        official_frame,
        summary_tables,
        wan,
    )

    constrained = budget_constrained(plan, state.packages, state.options.budget)
    if plan.budget_needed is not None and constrained:
        facts["全覆盖尚需追加预算（万元）"] = f"{wan(plan.budget_needed.extra_yuan):,.2f}"
    table = official_frame(summary_tables(plan, funding, constrained=constrained)["分年度汇总"])
    table["年度"] = table["年度"].astype(str)  # 2022, not 2,022
    notes = ["数据为示例或用户输入；投资为按政策配置单价估算，金额单位为万元。"]
    if not constrained:
        notes.append(f"本计划未给定年度预算，{UNCONSTRAINED_ZH}。")
    notes += list(plan.notes)
    if plan.constraints is not None:  # what holds back unplanned pre-2000 households
        for rec in plan.constraints.to_dict("records"):
            facts[f"{rec['county']}未纳入计划的制约因素"] = rec["constraint"]
    summary = write_plan_summary_html(
        maps_dir / "summary.html", title=f"{state.profile.city}城镇老旧小区改造计划概要",
        images={_CHART_CAPTIONS.get(k, k): p for k, p in charts.items()}, facts=facts,
        tables={"分县分年度汇总（万元、户）": table}, notes=notes)
    return [*charts.values(), summary]
