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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from yulin_gis.errors import CRSError
from yulin_gis.io import VOCABULARIES, require_columns
from yulin_gis.survey._clip import clipped_lengths

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import HazardRule, Profile

__all__ = ["UTILITIES", "compound_pipe_hazards", "empty_pipe_hazards", "hazardous_segments"]

logger = logging.getLogger(__name__)

#: Utility types, in schema order; ``hazard_<utility>`` columns follow it.
UTILITIES: tuple[str, ...] = tuple(VOCABULARIES["utility"])
_MATERIAL_ZH = {k: v[0] for k, v in VOCABULARIES["material"].items()}


def _codes(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Column ``name`` factorised: codes (``-1`` for missing or absent) and the distinct
    values as objects with ``None`` appended (so ``values[codes]`` is the column)."""
    if name not in frame.columns:
        return np.full(len(frame), -1, dtype=np.int64), np.array([None], dtype=object)
    codes, uniques = pd.factorize(frame[name])
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:-1] = np.asarray(uniques, dtype=object)
    return codes.astype(np.int64, copy=False), values


def _in(codes: np.ndarray, values: np.ndarray, wanted: Any) -> np.ndarray:
    """``np.isin(values[codes], wanted)``, tested once per distinct value."""
    lut = np.zeros(len(values), dtype=bool)
    lut[:-1] = np.isin(values[:-1], list(wanted))
    return lut[codes]


def _rule_bits(rules: tuple[HazardRule, ...], util: tuple[np.ndarray, np.ndarray],
               mat: tuple[np.ndarray, np.ndarray], cond: tuple[np.ndarray, np.ndarray],
               age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bit ``i`` set where rule ``i`` holds; and where a needed material/year is missing.

    ``util``, ``mat`` and ``cond`` are ``(codes, values)`` from :func:`_codes`.
    """
    bits = np.zeros(len(age), dtype=np.int64)
    undetermined = np.zeros(len(age), dtype=bool)
    mat_missing = mat[0] < 0
    for i, rule in enumerate(rules):
        in_util = _in(*util, rule.utilities)
        mask = in_util.copy()
        if rule.materials:
            mask &= _in(*mat, rule.materials)
            undetermined |= in_util & mat_missing
        if rule.older_than_years is not None:
            with np.errstate(invalid="ignore"):
                mask &= age > rule.older_than_years
            undetermined |= in_util & np.isnan(age)
        if rule.conditions:
            mask &= _in(*cond, rule.conditions)
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
    c = _classify(utilities, profile, as_of_year)
    keep = c.hazard | (c.undetermined & include_undetermined)
    pos = np.flatnonzero(keep)
    codes = pd.Series(c.bits[pos])
    rule_codes, zh, en = _reason_maps(profile.hazard_rules, codes.unique())
    return pd.DataFrame({
        "pos": pos,
        "segment_id": utilities["segment_id"].astype(str).to_numpy()[pos],
        "utility": c.util[1][c.util[0][pos]],
        "material": c.mat[1][c.mat[0][pos]],
        "install_year": c.inst[pos],
        "age_years": c.age[pos],
        "status": np.where(c.hazard[pos], "hazard", "undetermined"),
        "rules": codes.map(rule_codes).to_numpy(),
        "reason_zh": codes.map(zh).to_numpy(),
        "reason_en": codes.map(en).to_numpy(),
    })


@dataclass
class _Classified:
    """Hazard status of every segment: factorised fields (``(codes, values)``), ages, bits."""

    util: tuple[np.ndarray, np.ndarray]
    mat: tuple[np.ndarray, np.ndarray]
    inst: np.ndarray
    age: np.ndarray
    bits: np.ndarray
    hazard: np.ndarray
    undetermined: np.ndarray


def _classify(utilities: pd.DataFrame, profile: Profile, as_of_year: int | None) -> _Classified:
    """The profile's hazard criteria applied to every segment (see :func:`hazardous_segments`)."""
    require_columns(utilities, ("segment_id", "utility"), layer="utilities")
    year = profile.survey.as_of_year if as_of_year is None else int(as_of_year)
    util, mat = _codes(utilities, "utility"), _codes(utilities, "material")
    cond = _codes(utilities, "condition")
    inst = (pd.to_numeric(utilities["install_year"], errors="coerce").to_numpy(dtype=float)
            if "install_year" in utilities.columns else np.full(len(utilities), np.nan))
    age = year - inst
    bits, undetermined = _rule_bits(profile.hazard_rules, util, mat, cond, age)
    hazard = bits > 0
    logger.info("hazardous pipe segments: %d of %d (as of %d)", int(hazard.sum()), len(utilities), year)
    return _Classified(util, mat, inst, age, bits, hazard, undetermined)


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
    c = _classify(utilities, profile, as_of_year)
    pos = np.flatnonzero(c.hazard | c.undetermined)
    if not len(pos) or nc == 0:
        return out
    cg = np.asarray(compounds.geometry.values, dtype=object)
    sg = np.asarray(utilities.geometry.values, dtype=object)[pos]
    ci, si = shapely.STRtree(sg).query(cg, predicate="dwithin", distance=d)
    hz = c.hazard[pos[si]]
    out["pipes_undetermined"] = np.bincount(ci[~hz], minlength=nc)
    ci, si = ci[hz], si[hz]
    if not len(ci):
        return out
    seg = pos[si]  # rows of utilities
    dist = shapely.distance(cg[ci], sg[si])
    length = _clipped_lengths(cg, sg, ci, si, d)
    u_lut = np.array([UTILITIES.index(v) if v in UTILITIES else -1 for v in c.util[1]], dtype=np.int64)
    u_code = u_lut[c.util[0][seg]]
    ids = utilities["segment_id"].astype(str).array.take(seg)
    id_rank = pd.factorize(ids, sort=True)[0]
    # by compound, utility, distance, then segment id (as the evidence lists them)
    order = np.lexsort((id_rank, dist, u_code, ci))
    ci, u_code, seg, dist, length, id_rank = (x[order] for x in (ci, u_code, seg, dist, length, id_rank))
    # distinct segment ids per compound (an id may repeat in the layer)
    span = int(id_rank.max()) + 1
    out["hazard_pipes"] = np.bincount(np.unique(ci.astype(np.int64) * span + id_rank) // span,
                                      minlength=nc)

    def describe(rows: np.ndarray) -> np.ndarray:
        return _describe(pd.DataFrame({
            "segment_id": np.asarray(ids.take(order[rows]), dtype=object),
            "material": c.mat[1][c.mat[0][seg[rows]]],
            "install_year": c.inst[seg[rows]], "dist_m": dist[rows]}))

    _fill_evidence(out, ci, u_code, length, describe, profile.survey.evidence_max_segments)
    logger.info("compounds with hazardous pipes within %.1f m: %d of %d",
                d, int((out["hazard_pipes"] > 0).sum()), nc)
    return out


def _fill_evidence(out: pd.DataFrame, ci_s: np.ndarray, u_code: np.ndarray, length_s: np.ndarray,
                   describe: Callable[[np.ndarray], np.ndarray], k: int) -> None:
    """Write flags, lengths and the ``k`` nearest segments per (compound, utility) into ``out``.

    The hazardous pairs come sorted by compound position ``ci_s``, utility code ``u_code``
    (index in :data:`UTILITIES`), distance; ``describe(rows)`` gives the evidence text of
    those pair rows.
    """
    key = ci_s.astype(np.int64) * len(UTILITIES) + u_code
    first = np.r_[True, key[1:] != key[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    rank = np.arange(len(key)) - starts[group]
    n_groups = len(starts)
    count = np.bincount(group, minlength=n_groups)
    length = np.bincount(group, weights=length_s, minlength=n_groups)
    shown = rank < k
    desc = describe(np.flatnonzero(shown))
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
    """Length of each paired segment inside its compound buffered by ``d`` (4 segments per
    quarter circle); the whole length for point compounds."""
    lengths = shapely.length(sg[si])
    if len(ci) == 0:
        return lengths
    uniq, inv = np.unique(ci, return_inverse=True)
    areal = np.isin(shapely.get_type_id(cg[uniq]), (3, 6))  # polygons and multipolygons
    zone = np.full(len(uniq), None, dtype=object)
    zone[areal] = shapely.buffer(cg[uniq][areal], d, quad_segs=4) if d > 0 else cg[uniq][areal]
    has = np.flatnonzero(areal[inv])
    if len(has):
        lengths[has] = clipped_lengths(zone, sg, inv[has], si[has])
    return lengths
