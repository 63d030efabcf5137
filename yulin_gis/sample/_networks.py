"""Networks of the synthetic Yulin city: roads, utilities, utility nodes and facilities.

Part of :mod:`yulin_gis.sample._city` (which re-exports the public names here): grid roads
with Chinese names and classes, mains along the roads offset per utility, one service
pipe per utility and compound (with planted hazard pipes), the sources and outfalls of
each network, and facilities placed on free parcels and by the roads, leaving planted
service gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from yulin_gis.sample._layout import CELL, REFERENCE_YEAR, _Ctx, _Frame, _Grid, _pick

__all__ = [
    "FACILITY_RATES",
    "GAP_KINDS",
    "GAP_RADIUS",
    "OFFSETS",
    "OWNERS",
    "SHOP_KINDS",
]

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
GAP_RADIUS = 1500.0  # planted gaps: no facility of the kind within this straight-line distance


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
    from yulin_gis.io import VOCABULARIES

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


# --------------------------------------------------------------------------- road and pipe geometries
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


# --------------------------------------------------------------------------- utility nodes
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
