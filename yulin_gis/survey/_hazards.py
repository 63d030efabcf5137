"""Hazardous pipe segments (安全隐患管线) and the compounds they touch.

The criteria come from the policy profile's ``[[hazards.rules]]`` (国办发〔2022〕22号: grey
cast-iron gas pipes; steel/PE gas pipes over 20 years; cement, asbestos-cement and unlined
cast-iron water pipes; water pipes over 30 years; combined sewers; plain-concrete
drains ...). :func:`hazardous_segments` applies them to the utilities layer, vectorised;
:func:`compound_pipe_hazards` finds the hazardous segments inside or within a few metres
of each compound (小区) with a shapely ``STRtree`` ``dwithin`` query and writes the
evidence a planner can check segment by segment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from yulin_gis.errors import CRSError
from yulin_gis.io import VOCABULARIES, require_columns

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import HazardRule, Profile

__all__ = ["UTILITIES", "compound_pipe_hazards", "empty_pipe_hazards", "hazardous_segments"]

logger = logging.getLogger(__name__)

#: Utility types, in schema order; ``hazard_<utility>`` columns follow it.
UTILITIES: tuple[str, ...] = tuple(VOCABULARIES["utility"])
_MATERIAL_ZH = {k: v[0] for k, v in VOCABULARIES["material"].items()}


def _column(frame: pd.DataFrame, name: str, dtype: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan if dtype == "float" else None, dtype=object if dtype != "float" else float)
    col = frame[name]
    if dtype == "float":
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def _rule_bits(rules: tuple[HazardRule, ...], util: np.ndarray, mat: np.ndarray, cond: np.ndarray,
               age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bit ``i`` set where rule ``i`` holds; and where a needed material/year is missing."""
    bits = np.zeros(len(util), dtype=np.int64)
    undetermined = np.zeros(len(util), dtype=bool)
    for i, rule in enumerate(rules):
        in_util = np.isin(util, list(rule.utilities))
        mask = in_util.copy()
        if rule.materials:
            mask &= np.isin(mat, list(rule.materials))
            undetermined |= in_util & pd.isna(mat)
        if rule.older_than_years is not None:
            with np.errstate(invalid="ignore"):
                mask &= age > rule.older_than_years
            undetermined |= in_util & np.isnan(age)
        if rule.conditions:
            mask &= np.isin(cond, list(rule.conditions))
        bits[mask] |= 1 << i
    return bits, undetermined


def _reason_maps(rules: tuple[HazardRule, ...], codes: np.ndarray) -> tuple[dict[int, str], ...]:
    """Rule codes, Chinese and English reasons for each distinct bit pattern."""
    rule_codes: dict[int, str] = {0: ""}
    zh: dict[int, str] = {0: "材质或敷设年份未调查"}
    en: dict[int, str] = {0: "material or install year not surveyed"}
    for code in codes:
        if not code:
            continue
        matched = [r for j, r in enumerate(rules) if code >> j & 1]
        rule_codes[code] = ",".join(r.code for r in matched)
        zh[code] = "；".join(dict.fromkeys(r.reason_zh for r in matched))
        en[code] = "; ".join(dict.fromkeys(r.reason_en for r in matched))
    return rule_codes, zh, en


def hazardous_segments(
    utilities: pd.DataFrame,
    profile: Profile,
    as_of_year: int | None = None,
    *,
    include_undetermined: bool = False,
) -> pd.DataFrame:
    """Apply the profile's hazard criteria to every pipe segment.

    Parameters
    ----------
    utilities
        The utilities layer (``segment_id``, ``utility``; optional ``material``,
        ``install_year``, ``condition``).
    profile
        Policy profile with ``hazard_rules``.
    as_of_year
        Year ages are computed for; default ``profile.survey.as_of_year``.
    include_undetermined
        Also return segments whose status cannot be decided because the material or the
        install year a rule of their utility needs is missing (``status = "undetermined"``).

    Returns
    -------
    pandas.DataFrame
        One row per hazardous (or undetermined) segment, in input order: ``pos`` (row
        position in ``utilities``), ``segment_id``, ``utility``, ``material``,
        ``install_year``, ``age_years``, ``status`` (``hazard`` / ``undetermined``),
        ``rules`` (codes of the criteria met), ``reason_zh``, ``reason_en``.
    """
    require_columns(utilities, ("segment_id", "utility"), layer="utilities")
    year = profile.survey.as_of_year if as_of_year is None else int(as_of_year)
    util = _column(utilities, "utility", "str")
    mat = _column(utilities, "material", "str")
    cond = _column(utilities, "condition", "str")
    inst = _column(utilities, "install_year", "float")
    age = year - inst
    n = len(utilities)
    rules = profile.hazard_rules
    bits, undetermined = _rule_bits(rules, util, mat, cond, age)
    hazard = bits > 0
    keep = hazard | (undetermined & include_undetermined)
    pos = np.flatnonzero(keep)
    codes = pd.Series(bits[pos])
    rule_codes, zh, en = _reason_maps(rules, codes.unique())
    out = pd.DataFrame({
        "pos": pos,
        "segment_id": utilities["segment_id"].astype(str).to_numpy()[pos],
        "utility": util[pos],
        "material": mat[pos],
        "install_year": inst[pos],
        "age_years": age[pos],
        "status": np.where(hazard[pos], "hazard", "undetermined"),
        "rules": codes.map(rule_codes).to_numpy(),
        "reason_zh": codes.map(zh).to_numpy(),
        "reason_en": codes.map(en).to_numpy(),
    })
    logger.info("hazardous pipe segments: %d of %d (as of %d)", int(hazard.sum()), n, year)
    return out


def _describe(seg: pd.DataFrame) -> np.ndarray:
    """``"G-123 灰口铸铁 1985, 3.2 m"`` for each pair row."""
    mat = seg["material"].map(_MATERIAL_ZH).fillna(seg["material"]).fillna("材质未知")
    year = seg["install_year"].astype("Int64").astype(str).replace("<NA>", "年份未知")
    dist = np.char.mod("%.1f m", seg["dist_m"].to_numpy(dtype=float)).astype(object)
    return (seg["segment_id"].astype(str).to_numpy(dtype=object) + " " + mat.astype(str).to_numpy(dtype=object)
            + " " + year.to_numpy(dtype=object) + ", " + dist)


def empty_pipe_hazards(compound_ids: Any) -> pd.DataFrame:
    """The :func:`compound_pipe_hazards` frame with no hazard found, for ``compound_ids``."""
    out = pd.DataFrame(index=pd.Index(np.asarray(compound_ids, dtype=object), name="compound_id"))
    out["hazard_pipes"] = 0
    out["pipes_undetermined"] = 0
    for u in UTILITIES:
        out[f"hazard_{u}"] = False
        out[f"hazard_len_{u}_m"] = 0.0
        out[f"hazard_evidence_{u}"] = ""
    return out


def compound_pipe_hazards(
    compounds: gpd.GeoDataFrame,
    utilities: gpd.GeoDataFrame,
    profile: Profile,
    distance_m: float | None = None,
    *,
    as_of_year: int | None = None,
) -> pd.DataFrame:
    """Hazardous pipe segments inside or within ``distance_m`` of each compound.

    Parameters
    ----------
    compounds
        Compound polygons (or points) with ``compound_id``, in the utilities' metric CRS.
    utilities
        Pipe segments (lines).
    profile
        Policy profile (hazard criteria; ``survey.pipe_distance_m`` and
        ``survey.evidence_max_segments``).
    distance_m
        Search distance; default ``profile.survey.pipe_distance_m``.
    as_of_year
        Year pipe ages are computed for; default ``profile.survey.as_of_year``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``compound_id`` in input order: ``hazard_pipes`` (number of distinct
        hazardous segments), ``pipes_undetermined`` (segments nearby whose status is
        unknown), and per utility ``hazard_<utility>`` (bool), ``hazard_len_<utility>_m``
        (length of those segments inside the compound buffered by ``distance_m``; the
        whole segment length for point compounds) and ``hazard_evidence_<utility>``
        (the nearest segments, e.g. ``"G-123 灰口铸铁 1985, 3.2 m"``, then ``"+N more"``).
    """
    if compounds.crs is not None and utilities.crs is not None and compounds.crs != utilities.crs:
        raise CRSError(f"compounds ({compounds.crs}) and utilities ({utilities.crs}) differ in CRS")
    d = profile.survey.pipe_distance_m if distance_m is None else float(distance_m)
    nc = len(compounds)
    out = empty_pipe_hazards(compounds["compound_id"].astype(str).to_numpy())
    segs = hazardous_segments(utilities, profile, as_of_year, include_undetermined=True)
    if segs.empty or nc == 0:
        return out
    cg = np.asarray(compounds.geometry.values, dtype=object)
    sg = np.asarray(utilities.geometry.values, dtype=object)[segs["pos"].to_numpy()]
    tree = shapely.STRtree(sg)
    ci, si = tree.query(cg, predicate="dwithin", distance=d)
    pairs = segs.iloc[si][["segment_id", "utility", "material", "install_year", "status"]].reset_index(drop=True)
    pairs["ci"] = ci
    pairs["dist_m"] = shapely.distance(cg[ci], sg[si])
    pairs["length_m"] = _clipped_lengths(cg, sg, ci, si, d)
    und = pairs["status"] == "undetermined"
    out["pipes_undetermined"] = np.bincount(ci[und.to_numpy()], minlength=nc)
    hz = pairs[~und].sort_values(["ci", "utility", "dist_m", "segment_id"], kind="stable")
    if hz.empty:
        return out
    out["hazard_pipes"] = hz.groupby("ci")["segment_id"].nunique().reindex(range(nc), fill_value=0).to_numpy()
    _fill_evidence(out, hz, profile.survey.evidence_max_segments)
    logger.info("compounds with hazardous pipes within %.1f m: %d of %d",
                d, int((out["hazard_pipes"] > 0).sum()), nc)
    return out


def _fill_evidence(out: pd.DataFrame, hz: pd.DataFrame, k: int) -> None:
    """Write flags, lengths and the ``k`` nearest segments per (compound, utility) into ``out``.

    ``hz`` holds the hazardous pairs sorted by compound position ``ci``, utility, distance.
    """
    ci_s = hz["ci"].to_numpy()
    u_code = pd.Categorical(hz["utility"], categories=list(UTILITIES)).codes
    key = ci_s.astype(np.int64) * len(UTILITIES) + u_code
    first = np.r_[True, key[1:] != key[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    rank = np.arange(len(key)) - starts[group]
    n_groups = len(starts)
    count = np.bincount(group, minlength=n_groups)
    length = np.bincount(group, weights=hz["length_m"].to_numpy(dtype=float), minlength=n_groups)
    shown = rank < k
    desc = _describe(hz[shown])
    text = np.full(n_groups, "", dtype=object)
    for r in range(k):
        sel = rank[shown] == r
        g_r = group[shown][sel]
        text[g_r] = desc[sel] if r == 0 else text[g_r] + "; " + desc[sel]
    more = count - k
    text[more > 0] = text[more > 0] + np.char.mod("; +%d more", more[more > 0]).astype(object)
    g_ci, g_u = ci_s[starts], u_code[starts]
    for j, u in enumerate(UTILITIES):
        sel = g_u == j
        if not sel.any():
            continue
        rows = g_ci[sel]
        for col, values, dtype in ((f"hazard_evidence_{u}", text[sel], object),
                                   (f"hazard_len_{u}_m", length[sel], float),
                                   (f"hazard_{u}", True, bool)):
            arr = np.array(out[col], dtype=dtype)
            arr[rows] = values
            out[col] = arr


def _clipped_lengths(cg: np.ndarray, sg: np.ndarray, ci: np.ndarray, si: np.ndarray,
                     d: float) -> np.ndarray:
    """Length of each paired segment inside its compound buffered by ``d``."""
    lengths = shapely.length(sg[si])
    if len(ci) == 0:
        return lengths
    uniq, inv = np.unique(ci, return_inverse=True)
    areal = np.isin(shapely.get_type_id(cg[uniq]), (3, 6))  # polygons and multipolygons
    zone = np.full(len(uniq), None, dtype=object)
    zone[areal] = shapely.buffer(cg[uniq][areal], d, quad_segs=4) if d > 0 else cg[uniq][areal]
    has = areal[inv]
    if has.any():
        lengths[has] = shapely.length(shapely.intersection(sg[si][has], zone[inv][has]))
    return lengths
