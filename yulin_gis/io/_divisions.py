"""Administrative context of the compounds (行政区划): county, street and community.

Real survey tables often lack the county, give the community (所属社区) as a name rather
than its statistical code, or have no community at all. :func:`fill_divisions` completes
what the profile's reference data allows (``[reference]`` in the profile: county
boundaries and the official names and codes of the divisions):

* ``county`` by location (the county boundary holding the compound), else from the
  official community code, else from the address text (``玉林市北流市…``) when the
  compound has no position (a position outside every county is suspect: the address is
  not used to paper over it);
* ``community_id`` from a community name, matched to the official code: exactly, then
  with or without the ``社区``/``居委会`` suffix; an ambiguous name is warned about, not
  guessed;
* ``package_unit``: the finest unit present per compound (community, else street, else
  county) within which it is packaged, and ``community_unknown`` (1 when packaged per
  street or county).

Compounds with neither a county nor a position are marked ``needs_verification`` with
the reason. Nothing is dropped; every decision is counted in the log.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from yulin_gis.profile import Profile

__all__ = ["DivisionReport", "county_from_address", "fill_divisions", "load_counties",
           "load_divisions", "match_community"]

logger = logging.getLogger(__name__)

COMMUNITY_UNKNOWN = "社区未知"
"""Flag of packages made per street or county because the community is unknown."""

_SUFFIXES = ("社区居委会", "社区居民委员会", "居民委员会", "居委会", "社区")
_CODE = re.compile(r"^\d{12}$")


@dataclass
class DivisionReport:
    """What :func:`fill_divisions` did, in counts (for the log and the run summary)."""

    county_by_location: int = 0
    county_by_address: int = 0
    county_by_code: int = 0
    county_unknown: int = 0
    county_unknown_ids: list[str] = field(default_factory=list)
    community_matched: int = 0
    community_ambiguous: list[str] = field(default_factory=list)
    community_unmatched: list[str] = field(default_factory=list)
    unit_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=4)
def load_divisions(path: Path) -> pd.DataFrame:
    """The official divisions table (all columns text)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@functools.lru_cache(maxsize=4)
def load_counties(path: Path) -> gpd.GeoDataFrame:
    """County boundaries with ``county_code`` and ``county`` (CGCS2000, EPSG:4490)."""
    import geopandas as gpd

    from yulin_gis.crs import STORAGE_CRS

    gdf = gpd.read_file(path)
    gdf["county_code"] = gdf["county_code"].astype(str)
    return gdf.to_crs(STORAGE_CRS)


def _blank(series: pd.Series) -> np.ndarray:
    text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    return np.asarray(text.isin(["", "nan", "<NA>", "None"]), dtype=bool)


def _base(name: str) -> str:
    """A community name without its 社区/居委会 suffix."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def county_from_address(address: str, counties: list[str]) -> str | None:
    """The one county named in an address (``玉林市北流市…``), or None (none or several)."""
    found = {c for c in counties if c and c in str(address)}
    return found.pop() if len(found) == 1 else None


def match_community(name: str, divisions: pd.DataFrame, county: str = "",
                    street: str = "") -> tuple[str | None, list[str]]:
    """Match a community name to its official code.

    Exact name first, then the name without its ``社区``/``居委会`` suffix; candidates are
    narrowed to the county and street when they are known.

    Returns
    -------
    code, candidates
        The code when exactly one candidate remains, else None and the candidates.
    """
    comm = divisions[divisions["level"] == "village"]
    cands = comm[comm["name"] == name]
    if cands.empty:
        cands = comm[comm["name"].map(_base) == _base(name)]
    if len(cands) > 1 and county:
        cands = cands[cands["county_name"] == county] if (cands["county_name"] == county).any() \
            else cands
    if len(cands) > 1 and street:
        streets = divisions[(divisions["level"] == "street") & (divisions["name"] == street)]
        narrowed = cands[cands["parent_code"].isin(streets["code"])]
        cands = narrowed if len(narrowed) else cands
    codes = cands["code"].tolist()
    return (codes[0] if len(codes) == 1 else None), codes


def _fill_county(comp: gpd.GeoDataFrame, profile: Profile, rep: DivisionReport) -> None:
    """Fill a missing ``county`` by location, then from the address text."""
    ref = profile.reference
    if "county" not in comp.columns:
        comp["county"] = None
    missing = _blank(comp["county"])
    if not missing.any():
        return
    geoms = np.asarray(comp.geometry.values, dtype=object)
    placed = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if ref.counties is not None:
        import geopandas as gpd

        counties = load_counties(ref.counties).to_crs(comp.crs)
        todo = missing & placed
        pts = gpd.GeoDataFrame({"i": np.flatnonzero(todo)},
                               geometry=comp.geometry[todo].representative_point().to_numpy(),
                               crs=comp.crs)
        hit = gpd.sjoin(pts, counties[["county", "geometry"]], how="inner", predicate="within")
        hit = hit.drop_duplicates("i")
        comp.loc[comp.index[hit["i"].to_numpy()], "county"] = hit["county"].to_numpy()
        rep.county_by_location = len(hit)
    missing = _blank(comp["county"])
    if missing.any() and "community_id" in comp.columns and ref.divisions is not None:
        div = load_divisions(ref.divisions)
        by_code = dict(zip(div["code"], div["county_name"], strict=True))
        found = comp.loc[missing, "community_id"].map(
            lambda c: by_code.get(str(c).strip()) if isinstance(c, str) else None).dropna()
        comp.loc[found.index, "county"] = found.to_numpy()
        rep.county_by_code = len(found)
    # the address decides only where the position cannot (none, or no boundaries)
    missing = _blank(comp["county"]) & (~placed if ref.counties is not None else True)
    names = _county_names(profile)
    if missing.any() and "address" in comp.columns and names:
        found = comp.loc[missing, "address"].map(
            lambda a: county_from_address(a, names) if isinstance(a, str) else None)
        found = found[found.notna()]
        comp.loc[found.index, "county"] = found.to_numpy()
        rep.county_by_address = len(found)
    unknown = _blank(comp["county"])
    rep.county_unknown = int(unknown.sum())
    rep.county_unknown_ids = comp.loc[unknown, "compound_id"].astype(str).head(10).tolist()


def _county_names(profile: Profile) -> list[str]:
    ref = profile.reference
    if ref.divisions is not None:
        div = load_divisions(ref.divisions)
        return sorted(div.loc[div["level"] == "county", "name"].unique().tolist())
    if ref.counties is not None:
        return sorted(load_counties(ref.counties)["county"].astype(str).unique().tolist())
    return []


def _fill_community(comp: gpd.GeoDataFrame, profile: Profile, rep: DivisionReport) -> None:
    """Turn community names (in ``community_id`` or a name column) into official codes."""
    if "community_id" not in comp.columns:
        comp["community_id"] = None
    for name_col in ("community_name", "社区名称"):
        if name_col in comp.columns:
            blank = _blank(comp["community_id"])
            comp.loc[blank, "community_id"] = comp.loc[blank, name_col]
            break
    ref = profile.reference
    blank = _blank(comp["community_id"])
    text = comp["community_id"].astype(object).where(~blank, "").astype(str).str.strip()
    named = ~blank & ~text.str.match(_CODE).to_numpy()
    if not named.any() or ref.divisions is None:
        return
    div = load_divisions(ref.divisions)
    county = comp["county"].astype(object).where(comp["county"].notna(), "").astype(str)
    street = (comp["street"].astype(object).where(comp["street"].notna(), "").astype(str)
              if "street" in comp.columns else pd.Series("", index=comp.index))
    keys = pd.DataFrame({"n": text[named], "c": county[named], "s": street[named]})
    for key, idx in keys.groupby(["n", "c", "s"]).groups.items():
        name, cty, st = (str(k) for k in key)  # type: ignore[attr-defined]
        code, cands = match_community(name, div, cty, st)
        if code is not None:
            comp.loc[idx, "community_id"] = code
            rep.community_matched += len(idx)
        elif cands:
            rep.community_ambiguous.append(f"{name} ({'/'.join(cands)})")
        else:
            rep.community_unmatched.append(name)


def _codes(profile: Profile, level: str) -> dict[tuple[str, str], str]:
    """(county name, name) → official code of one level (``street`` or ``county``)."""
    ref = profile.reference
    if ref.divisions is None:
        return {}
    div = load_divisions(ref.divisions)
    rows = div[div["level"] == level]
    return {(str(c), str(n)): str(k) for c, n, k in
            zip(rows["county_name"], rows["name"], rows["code"], strict=True)}


def _text(comp: gpd.GeoDataFrame, col: str) -> pd.Series:
    if col not in comp.columns:
        return pd.Series("", index=comp.index, dtype=object)
    return comp[col].astype(object).where(~_blank(comp[col]), "").astype(str).str.strip()


def _unit_key(comp: gpd.GeoDataFrame, profile: Profile, level: str) -> pd.Series:
    """The packaging key of each compound at one level ("" when unknown there).

    Streets and counties use their official code when the name is in the reference
    data, else the county and street names.
    """
    county = _text(comp, "county")
    if level == "county":
        codes = _codes(profile, "county")
        return pd.Series([codes.get((c, c), c) for c in county], index=comp.index, dtype=object)
    vals = _text(comp, level)
    if level == "street":
        codes = _codes(profile, "street")
        vals = pd.Series([codes.get((c, s), f"{c}{s}") if s else ""
                          for c, s in zip(county, vals, strict=True)],
                         index=comp.index, dtype=object)
    return vals


def _package_units(comp: gpd.GeoDataFrame, profile: Profile, unit: str,
                   rep: DivisionReport) -> None:
    """``package_unit``: the chosen unit where known, else street, else county."""
    levels = [unit] + [u for u in ("street", "county") if u != unit]
    key = pd.Series("", index=comp.index, dtype=object)
    level = pd.Series("", index=comp.index, dtype=object)
    for lev in levels:
        vals = _unit_key(comp, profile, lev)
        todo = (key == "") & (vals != "")
        key[todo] = vals[todo]
        level[todo] = lev
    comp["package_unit"] = key.to_numpy()
    comp["package_unit_level"] = level.to_numpy()
    comp["community_unknown"] = (level != unit).astype(int).to_numpy()
    rep.unit_counts = {str(k): int(v) for k, v in level.value_counts().items()}


def fill_divisions(compounds: gpd.GeoDataFrame, profile: Profile, *,
                   unit: str = "community_id") -> tuple[gpd.GeoDataFrame, DivisionReport]:
    """Complete county and community of the compounds and choose their packaging unit.

    Parameters
    ----------
    compounds
        Validated compounds (any CRS; geometry may be missing).
    profile
        The policy profile; its ``reference`` names the boundaries and divisions.
    unit
        The planning unit asked for (``community_id`` or ``street``).

    Returns
    -------
    compounds, report
        A copy with ``county``, ``community_id``, ``package_unit``,
        ``package_unit_level``, ``community_unknown`` (0/1) and, for compounds with no
        county and no position, ``needs_verification`` and ``verification_reason``.
    """
    comp = compounds.copy()
    rep = DivisionReport()
    _fill_county(comp, profile, rep)
    _fill_community(comp, profile, rep)
    _package_units(comp, profile, unit, rep)
    geoms = np.asarray(comp.geometry.values, dtype=object)
    unplaced = np.array([g is None or g.is_empty for g in geoms], dtype=bool)
    lost = unplaced & _blank(comp["county"])
    if lost.any():
        if "needs_verification" not in comp.columns:
            comp["needs_verification"] = False
        comp.loc[lost, "needs_verification"] = True
        comp["verification_reason"] = np.where(
            lost, "无位置且无所属县区 / no position and no county", "")
    _log(rep, unit, len(comp), profile.reference.counties is not None)
    return comp, rep


def _log(rep: DivisionReport, unit: str, n: int, has_boundaries: bool) -> None:
    """Say once what was filled, matched or could not be decided."""
    if rep.county_by_location or rep.county_by_address or rep.county_by_code:
        logger.info("county filled for %d compounds by location, %d from the community code "
                    "and %d from the address text", rep.county_by_location, rep.county_by_code,
                    rep.county_by_address)
    if rep.county_unknown:
        more = ", ..." if rep.county_unknown > len(rep.county_unknown_ids) else ""
        why = ("no position, or outside every county of the reference data" if has_boundaries
               else "none given, and the profile names no county boundaries")
        rep.notes.append(f"no county for {rep.county_unknown} compounds ({why}): "
                         f"{', '.join(rep.county_unknown_ids)}{more}")
    if rep.community_matched:
        logger.info("community names matched to official codes for %d compounds",
                    rep.community_matched)
    if rep.community_ambiguous:
        logger.warning("community names matching several official communities (kept as "
                       "given, not guessed): %s", "; ".join(rep.community_ambiguous[:10]))
    if rep.community_unmatched:
        logger.warning("community names not in the official list (kept as given): %s",
                       ", ".join(sorted(set(rep.community_unmatched))[:10]))
    fallback = {k: v for k, v in rep.unit_counts.items() if k not in {unit, ""}}
    if fallback:
        where = ", ".join(f"{v} compounds per {k}" for k, v in sorted(fallback.items()))
        rep.notes.append(f"no {unit}: {where}, packages flagged {COMMUNITY_UNKNOWN}")
    for note in rep.notes:
        logger.warning("%s", note)
    logger.debug("divisions of %d compounds: %s", n, rep.unit_counts)
