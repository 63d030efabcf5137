"""Evidence sources of the survey stage (摸清底数): hazardous pipes, low ground, walking.

Helpers of :func:`yulin_gis.survey._assess.assess_compounds` that gather the per-compound evidence
behind the renovation items: hazardous pipes near each compound (管线隐患), the relative
elevation and low-lying share on the DEM (内涝风险), and the life-circle walking
distances and gaps (生活圈短板). Each returns its columns, indexed by compound id, and a
``Missing`` mask of the compounds the source could not assess (not surveyed, 未调查).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from yulin_gis.survey._hazards import compound_pipe_hazards, empty_pipe_hazards

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.io import Layers
    from yulin_gis.profile import Profile

logger = logging.getLogger(__name__)


def _nullable(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    """A pandas nullable boolean array, NA where ``missing``."""
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & ~missing, np.asarray(missing, dtype=bool))



Missing = dict[str, np.ndarray]
"""Evidence source name → per-row mask of compounds it could not assess."""


def _no_geometry(comp: gpd.GeoDataFrame) -> np.ndarray:
    geom = comp.geometry
    return np.asarray(geom.isna() | geom.is_empty, dtype=bool)


def _pipe_evidence(layers: Layers, comp: gpd.GeoDataFrame, prof: Profile, year: int,
                   pipes: pd.DataFrame | None) -> tuple[pd.DataFrame, Missing]:
    ids = comp["compound_id"].astype(str).to_numpy()
    if pipes is None and layers.utilities is not None:
        pipes = compound_pipe_hazards(comp, layers.utilities, prof, as_of_year=year)
    out = empty_pipe_hazards(ids)
    if pipes is None:
        return out, {"pipes": np.ones(len(ids), dtype=bool)}
    absent = ~_in_index(ids, pipes.index)
    got = pipes.reindex(ids)
    for col in out.columns:
        if col not in got.columns:
            continue
        vals = got[col].to_numpy(dtype=object)
        if col.startswith("hazard_evidence_"):
            out[col] = np.where(absent | pd.isna(vals), "", vals).astype(object)
        elif col in ("hazard_pipes", "pipes_undetermined"):
            out[col] = np.where(absent, 0, vals).astype(int)
        elif col.startswith("hazard_len_"):
            out[col] = np.where(absent, 0.0, vals).astype(float)
        else:
            out[col] = np.where(absent, False, vals).astype(bool)
    return out, {"pipes": absent | _no_geometry(comp)}


def _terrain_evidence(layers: Layers, comp: gpd.GeoDataFrame, prof: Profile,
                      terrain: pd.DataFrame | None) -> tuple[pd.DataFrame, Missing]:
    ids = comp["compound_id"].astype(str).to_numpy()
    w = prof.waterlogging
    if terrain is None and layers.dem_path is not None:
        from yulin_gis.survey._terrain import compound_terrain

        terrain = compound_terrain(comp, layers.dem_path, ring_m=w.ring_m, low_quantile=w.low_quantile)
    if terrain is None:
        out = pd.DataFrame({"rel_elev_m": np.nan, "low_share": np.nan}, index=pd.Index(ids))
        out["waterlogging_risk"] = _nullable(np.zeros(len(ids), dtype=bool), np.ones(len(ids), dtype=bool))
        return out, {"terrain": np.ones(len(ids), dtype=bool)}
    from yulin_gis.survey._terrain import waterlogging_risk

    t = terrain.reindex(ids)
    risk = waterlogging_risk(t, w.rel_elev_threshold_m, w.low_share_threshold)
    no_data = (t["rel_elev_m"].isna() & t["low_share"].isna()).to_numpy(dtype=bool)
    out = pd.DataFrame({"rel_elev_m": t["rel_elev_m"].to_numpy(dtype=float),
                        "low_share": t["low_share"].to_numpy(dtype=float)}, index=pd.Index(ids))
    out["waterlogging_risk"] = _nullable(risk.to_numpy(dtype=bool), no_data)
    return out, {"terrain": no_data}


def _walk_evidence(layers: Layers, comp: gpd.GeoDataFrame, prof: Profile,
                   walk: pd.DataFrame | None) -> tuple[pd.DataFrame, Missing]:
    """Walking distances and gaps; compounds absent from ``walk`` or without geometry,
    kinds without a distance column and kinds the facilities layer does not hold at all
    are NA (not surveyed), never a gap."""
    ids = comp["compound_id"].astype(str).to_numpy()
    n = len(ids)
    lc = prof.life_circle
    kinds = list(lc.kinds)
    if walk is None and layers.roads is not None and layers.facilities is not None:
        from yulin_gis.survey._accessibility import nearest_facility_distances

        walk = nearest_facility_distances(comp, layers.roads, layers.facilities, kinds=kinds,
                                          cutoff_m=lc.cutoff_m)
    out = pd.DataFrame(index=pd.Index(ids))
    if walk is None:
        for k in kinds:
            out[f"walk_{k}_m"] = np.nan
            out[f"gap_{k}"] = _nullable(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
        return out, {"walk": np.ones(n, dtype=bool)}
    from yulin_gis.survey._accessibility import life_circle_gaps

    w = walk.reindex(ids)
    absent = ~_in_index(ids, walk.index) | _no_geometry(comp)
    have = [k for k in kinds if f"walk_{k}_m" in w.columns]
    if layers.facilities is not None and "kind" in layers.facilities.columns:
        listed = set(layers.facilities["kind"].dropna().astype(str))
        unlisted = [k for k in have if k not in listed]
        if unlisted:  # a kind the layer does not record at all: unknown, not a gap everywhere
            logger.warning("facilities layer has no %s: life-circle gaps for them not surveyed",
                           ", ".join(unlisted))
            have = [k for k in have if k in listed]
    gaps = life_circle_gaps(w, {k: lc.thresholds[k] for k in have}) if have else pd.DataFrame(index=w.index)
    missing: Missing = {"walk": absent}
    for k in kinds:
        if k in have:
            out[f"walk_{k}_m"] = w[f"walk_{k}_m"].to_numpy(dtype=float)
            out[f"gap_{k}"] = _nullable(gaps[f"gap_{k}"].to_numpy(dtype=bool), absent)
        else:
            out[f"walk_{k}_m"] = np.nan
            out[f"gap_{k}"] = _nullable(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
            missing[f"walk_{k}"] = ~absent
    return out, missing



def _in_index(ids: np.ndarray, index: pd.Index) -> np.ndarray:
    """Whether each id is in ``index`` (as text); object-dtype hashing, fast on 100k ids."""
    return np.asarray(pd.Index(np.asarray(ids, dtype=object), dtype=object).isin(
        np.asarray(index.astype(str), dtype=object)), dtype=bool)

