"""Partitioned storage (分区存储) and the per-partition tasks the engines run.

The country-scale engine (:mod:`yulin_gis.scale._engine`) cuts the compounds (小区) and the pipe
segments (管线) into partitions, one per Gauss–Krüger zone tile, and runs one task per
partition — in this process (:class:`~yulin_gis.scale._engine.LocalEngine`) or on dask workers
(:class:`~yulin_gis.scale._engine.DaskEngine`). This module holds what both share: the cut, the
GeoParquet folder layout and the reading of one partition (the task itself:
:mod:`yulin_gis.scale._tasks`).

The cut
    Every compound belongs to exactly one partition: the CGCS2000 3-degree Gauss–Krüger
    zone of its representative point (:func:`shapely.point_on_surface`, then
    :func:`~yulin_gis.crs.gauss_kruger_epsg`), and the ``tile_m`` square of that zone
    holding the point. A partition's layers are projected in its own zone. Its *halo box*
    is the bounding box of its compounds grown by the search distance ``distance_m`` and
    1 m: every pipe segment whose bounding box (in that zone) meets it is copied into the
    partition, even from the next tile or the next zone. So every pipe
    within ``distance_m`` of a compound is in the compound's partition, each
    (compound, segment) pair is found exactly once — by the partition owning the
    compound — and nothing needs deduplicating. Each segment has one *owned* copy
    (``_owned``: the tile of its bounding-box centre) so the utilities layer can be read
    back without duplicates.

Folder layout (``write_partitioned``)
    ``manifest.json`` (format, distance, tile size, partitions with zone, tile, bounds,
    halo box and row counts), ``compounds/<key>.parquet`` and ``utilities/<key>.parquet``
    (GeoParquet in the partition's zone, with ``_row``, the row in the input, and
    ``_owned`` for segments), and the other layers as ``<layer>/batch-<n>.parquet`` in
    CGCS2000 (EPSG:4490). A folder can be written in batches (``append=True``), e.g. city
    by city, as long as the batches lie further apart than the halo.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from yulin_gis.crs import STORAGE_CRS, same_crs, to_zone, transformer, zone_epsg
from yulin_gis.crs import to_lonlat as _lonlat
from yulin_gis.errors import CRSError, InputFileError, OutputError, SchemaError
from yulin_gis.io import LAYER_NAMES, Layers, atomic_path, require_columns

if TYPE_CHECKING:
    import geopandas as gpd


__all__ = [
    "MANIFEST",
    "Partition",
    "PartitionRef",
    "load_partition",
    "partition_refs",
    "read_manifest",
    "read_partitioned",
    "split_layers",
    "write_partitioned",
    "zone_epsg",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_FORMAT = "yulin-gis-partitions"
_MARGIN_M = 1.0
_LONLAT_MARGIN_DEG = 0.02
_SPLIT = ("compounds", "utilities")


@dataclass
class Partition:
    """One zone tile: its compounds (owned) and segments (owned and halo), in its zone.

    Attributes
    ----------
    key
        ``"<epsg>_<ix>_<iy>"``.
    epsg
        The CGCS2000 Gauss–Krüger zone (CM variant) the layers are projected in.
    compounds, utilities
        GeoDataFrames with ``_row`` (row in the input); utilities also ``_owned``.
    halo_bounds
        ``(xmin, ymin, xmax, ymax)`` of the halo box in the zone.
    """

    key: str
    epsg: int
    compounds: gpd.GeoDataFrame
    utilities: gpd.GeoDataFrame | None
    halo_bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionRef:
    """A partition stored in a folder: what a task on a worker reads."""

    folder: str
    key: str


def _keys(epsg: np.ndarray, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    return np.array([f"{e}_{a}_{b}" for e, a, b in zip(epsg.tolist(), ix.tolist(), iy.tolist(),
                                                     strict=True)], dtype=object)


def _tile_of(lon: np.ndarray, lat: np.ndarray, tile_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone, tile column and tile row of lon/lat points (NaN points get zone -1)."""
    zone = zone_epsg(lon)
    ix = np.zeros(len(lon), dtype=np.int64)
    iy = np.zeros(len(lon), dtype=np.int64)
    for z in np.unique(zone[zone > 0]).tolist():
        sel = zone == z
        x, y = transformer(STORAGE_CRS, int(z)).transform(lon[sel], lat[sel])
        ix[sel] = np.floor(np.asarray(x) / tile_m).astype(np.int64)
        iy[sel] = np.floor(np.asarray(y) / tile_m).astype(np.int64)
    return zone, ix, iy


def _compound_keys(comp: gpd.GeoDataFrame, tile_m: float) -> np.ndarray:
    rep = shapely.point_on_surface(comp.geometry.to_numpy())
    lon, lat = _lonlat(shapely.get_x(rep), shapely.get_y(rep), comp.crs)
    zone, ix, iy = _tile_of(lon, lat, tile_m)
    return np.where(zone > 0, _keys(zone, ix, iy), "")


def _pipe_boxes(util: gpd.GeoDataFrame, tile_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Owner key (tile of the bounding-box centre) and lon/lat bounding box per segment."""
    b = shapely.bounds(util.geometry.to_numpy())
    corners = [_lonlat(b[:, i], b[:, j], util.crs) for i, j in ((0, 1), (2, 1), (0, 3), (2, 3))]
    lon = np.column_stack([c[0] for c in corners])
    lat = np.column_stack([c[1] for c in corners])
    with np.errstate(invalid="ignore"):
        box = np.column_stack([lon.min(1), lat.min(1), lon.max(1), lat.max(1)])
    clon, clat = _lonlat((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, util.crs)
    zone, ix, iy = _tile_of(clon, clat, tile_m)
    return np.where(zone > 0, _keys(zone, ix, iy), ""), box


def _halo_boxes(keys: list[str], comp_z: dict[str, gpd.GeoDataFrame], tile_m: float,
                pad: float) -> dict[str, tuple[float, float, float, float]]:
    """Halo box per partition: its compounds' bounding box grown by ``pad`` (the tile for
    partitions without compounds, which only keep the segments they own)."""
    out = {}
    for key in keys:
        _, ix, iy = (int(p) for p in key.split("_"))
        box = [ix * tile_m, iy * tile_m, (ix + 1) * tile_m, (iy + 1) * tile_m]
        part = comp_z.get(key)
        if part is not None and len(part):
            b = part.geometry.total_bounds
            if np.isfinite(b).all():
                box = [float(v) for v in b]
        out[key] = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
    return out


def _zone_envelope(boxes: Iterable[tuple[float, float, float, float]], epsg: int) -> tuple[float, ...]:
    """Lon/lat envelope of boxes of one zone (edges densified), grown by a margin."""
    polys = shapely.segmentize(shapely.box(*np.asarray(list(boxes)).T), 2000.0)
    xy = shapely.get_coordinates(polys)
    lon, lat = transformer(epsg, STORAGE_CRS).transform(xy[:, 0], xy[:, 1])
    m = _LONLAT_MARGIN_DEG
    return (float(np.min(lon)) - m, float(np.min(lat)) - m, float(np.max(lon)) + m, float(np.max(lat)) + m)


def split_layers(layers: Layers, distance_m: float = 30.0, tile_m: float = 20000.0) -> list[Partition]:
    """Cut compounds and utilities into zone tiles with halos (see the module notes).

    Parameters
    ----------
    layers
        Layers in any CRS pyproj knows (metric or CGCS2000 lon/lat).
    distance_m
        The largest search distance the partitions will be queried with (halo).
    tile_m
        Tile size in metres within a zone.

    Returns
    -------
    list of Partition
        Sorted by key; compounds and segments without geometry go to the first one.
    """
    comp = layers.compounds
    require_columns(comp, ["compound_id"], layer="compounds")
    if comp.crs is None:
        raise CRSError("layer compounds has no CRS; the engine needs one to find the zones")
    comp = comp.assign(_row=np.arange(len(comp), dtype=np.int64))
    ckey = _compound_keys(comp, tile_m)
    util = layers.utilities
    ukey = np.empty(0, dtype=object)
    ubox = np.empty((0, 4))
    if util is not None:
        util = util.assign(_row=np.arange(len(util), dtype=np.int64))
        ukey, ubox = _pipe_boxes(util, tile_m)
    keys = sorted((set(ckey.tolist()) | set(ukey.tolist())) - {""}) or ["0_0_0"]
    first = keys[0]
    ckey = np.where(ckey == "", first, ckey)
    ukey = np.where(ukey == "", first, ukey)
    comp_z: dict[str, gpd.GeoDataFrame] = {}
    for key, part in comp.groupby(ckey, sort=True):
        comp_z[str(key)] = to_zone(part, int(str(key).split("_")[0]))
    halo = _halo_boxes(keys, comp_z, tile_m, float(distance_m) + _MARGIN_M)
    pipes = (_assign_pipes(util, ukey, ubox, keys, halo, set(comp_z)) if util is not None
             else {})
    out = []
    for key in keys:
        epsg = int(key.split("_")[0])
        c = comp_z.get(key, comp.iloc[:0].pipe(to_zone, epsg) if epsg > 0 else comp.iloc[:0])
        u = pipes.get(key)
        info = {"n_compounds": len(c), "n_utilities": 0 if u is None else len(u),
                "n_owned_utilities": 0 if u is None else int(u["_owned"].sum())}
        out.append(Partition(key, epsg, c, u, halo[key], info))
    logger.info("split %d compounds and %d segments into %d partitions over %d zones",
                len(comp), 0 if util is None else len(util), len(out),
                len({p.epsg for p in out}))
    return out


def _assign_pipes(util: gpd.GeoDataFrame, owner: np.ndarray, box: np.ndarray, keys: list[str],
                  halo: dict[str, tuple[float, float, float, float]],
                  with_compounds: set[str]) -> dict[str, gpd.GeoDataFrame]:
    """Segments per partition: those it owns, and every segment whose bounding box (in the
    partition's zone) meets the halo box of its compounds."""
    import geopandas as gpd

    geoms = util.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    key_index = {k: i for i, k in enumerate(keys)}
    owner_idx = np.array([key_index[k] for k in owner.tolist()], dtype=np.int64)
    owner_zone = np.array([int(k.split("_")[0]) for k in keys], dtype=np.int64)[owner_idx]
    rows: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    geos: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for z in sorted({int(k.split("_")[0]) for k in keys if int(k.split("_")[0]) > 0}):
        qkeys = [k for k in keys if int(k.split("_")[0]) == z and k in with_compounds]
        near = np.zeros(len(geoms), dtype=bool)
        if qkeys:
            env = _zone_envelope([halo[k] for k in qkeys], z)
            near = ((box[:, 2] >= env[0]) & (box[:, 0] <= env[2]) & (box[:, 3] >= env[1])
                    & (box[:, 1] <= env[3]))
        own = ~missing & (owner_zone == z)
        cand = np.flatnonzero((near & ~missing) | own)
        if not len(cand):
            continue
        proj = gpd.GeoSeries(geoms[cand], crs=util.crs)
        proj_geoms = proj.to_numpy() if same_crs(util.crs, z) else proj.to_crs(epsg=z).to_numpy()
        pos = np.flatnonzero(own[cand])
        kix = owner_idx[cand[pos]]
        if qkeys:
            tree = shapely.STRtree(shapely.box(*np.asarray([halo[k] for k in qkeys]).T))
            pi, bi = tree.query(proj_geoms)
            qix = np.array([key_index[k] for k in qkeys], dtype=np.int64)
            pos, kix = np.concatenate([pos, pi]), np.concatenate([kix, qix[bi]])
        pair = np.unique(kix * len(cand) + pos)
        kix, pos = pair // len(cand), pair % len(cand)
        for b in np.unique(kix).tolist():
            sel = pos[kix == b]
            rows[keys[b]].append(cand[sel])
            geos[keys[b]].append(proj_geoms[sel])
    nogeo = np.flatnonzero(missing)
    if len(nogeo):
        rows[keys[0]].append(nogeo)
        geos[keys[0]].append(geoms[nogeo])
    return _pipe_frames(util, owner, keys, rows, geos)


def _pipe_frames(util: gpd.GeoDataFrame, owner: np.ndarray, keys: list[str],
                 rows: dict[str, list[np.ndarray]], geos: dict[str, list[np.ndarray]]
                 ) -> dict[str, gpd.GeoDataFrame]:
    """One GeoDataFrame per partition (input order) with ``_owned``; checks conservation."""
    import geopandas as gpd

    out = {}
    attrs = pd.DataFrame(util.drop(columns=util.geometry.name))
    for key in keys:
        if not rows[key]:
            continue
        r = np.concatenate(rows[key])
        g = np.concatenate(geos[key])
        order = np.argsort(r, kind="stable")
        r, g = r[order], g[order]
        frame = attrs.iloc[r].reset_index(drop=True)
        frame["_owned"] = owner[r] == key
        epsg = int(key.split("_")[0])
        out[key] = gpd.GeoDataFrame(frame, geometry=g, crs=epsg if epsg > 0 else util.crs)
    owned = sum(int(p["_owned"].sum()) for p in out.values())
    if owned != len(util):
        raise SchemaError(f"partitioning lost or duplicated segments: {owned} owned copies of "
                          f"{len(util)} segments")
    return out


# --------------------------------------------------------------------------- folders


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a partitioned folder.

    Raises
    ------
    InputFileError
        When the folder holds no readable manifest.
    """
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: not a partitioned yulin-gis folder ({exc})") from exc
    if manifest.get("format") != _FORMAT:
        raise InputFileError(f"{path}: format {manifest.get('format')!r} is not {_FORMAT!r}")
    return manifest


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a (Geo)Parquet file atomically (:func:`yulin_gis.io._readers.atomic_path`)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def partition_refs(folder: str | Path, *, with_compounds: bool = True) -> list[PartitionRef]:
    """References to a folder's partitions (by default only those holding compounds)."""
    manifest = read_manifest(folder)
    return [PartitionRef(str(folder), k) for k, p in sorted(manifest["partitions"].items())
            if p["n_compounds"] or not with_compounds]


def _check_append(manifest: dict[str, Any], parts: list[Partition]) -> None:
    old = manifest["partitions"]
    for p in parts:
        for key, info in old.items():
            if info["epsg"] != p.epsg:
                continue
            a, b = info["halo_bounds"], p.halo_bounds
            if key == p.key or not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]):
                raise OutputError(f"partition {p.key} overlaps {key} already in the folder; "
                                  "appended batches must lie further apart than the halo")


def write_partitioned(layers: Layers, folder: str | Path, *, distance_m: float = 30.0,
                      tile_m: float = 20000.0, append: bool = False) -> dict[str, Any]:
    """Write layers as partitioned GeoParquet (see the module notes for the layout).

    Parameters
    ----------
    layers
        The layers to write (any CRS pyproj knows).
    folder
        Output folder (created).
    distance_m, tile_m
        Halo distance and tile size, as for :func:`split_layers`.
    append
        Add to an existing folder (batches, e.g. city by city, further apart than the
        halo; ``_row`` continues from the rows already written).

    Returns
    -------
    dict
        The manifest written.
    """
    out = Path(folder)
    if append and (out / MANIFEST).exists():
        manifest = read_manifest(out)
        if manifest["distance_m"] != distance_m or manifest["tile_m"] != tile_m:
            raise OutputError(f"{out}: written with distance {manifest['distance_m']} m and tile "
                              f"{manifest['tile_m']} m, not {distance_m} / {tile_m}")
    else:
        manifest = {"format": _FORMAT, "version": 1, "distance_m": distance_m, "tile_m": tile_m,
                    "rows": {}, "batches": 0, "partitions": {}}
    parts = split_layers(layers, distance_m, tile_m)
    _check_append(manifest, parts)
    try:
        for name in _SPLIT:
            (out / name).mkdir(parents=True, exist_ok=True)
        offsets = {n: int(manifest["rows"].get(n, 0)) for n in _SPLIT}
        for p in parts:
            _write_parquet(p.compounds.assign(_row=p.compounds["_row"] + offsets["compounds"]),
                           out / "compounds" / f"{p.key}.parquet")
            if p.utilities is not None:
                _write_parquet(p.utilities.assign(_row=p.utilities["_row"] + offsets["utilities"]),
                               out / "utilities" / f"{p.key}.parquet")
            manifest["partitions"][p.key] = {"epsg": p.epsg, "halo_bounds": list(p.halo_bounds),
                                             "batch": manifest["batches"], **p.info}
        for name, layer in layers.present().items():
            if name in _SPLIT:
                manifest["rows"][name] = offsets[name] + len(layer)
                continue
            (out / name).mkdir(parents=True, exist_ok=True)
            _write_parquet(layer.to_crs(STORAGE_CRS), out / name / f"batch-{manifest['batches']:04d}.parquet")
        manifest["batches"] += 1
        with atomic_path(out / MANIFEST) as tmp:  # last: a folder without it is incomplete
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the partitioned layers ({exc})") from exc
    return manifest


def load_partition(src: Partition | PartitionRef, *, compound_columns: Iterable[str] | None = None,
                   utility_columns: Iterable[str] | None = None) -> Partition:
    """The partition itself, read from its folder when given a reference.

    ``compound_columns`` / ``utility_columns``: read only these columns (and the geometry;
    names a file lacks are skipped) — the tasks need a few of the many survey columns.
    """
    if isinstance(src, Partition):
        return src
    folder = Path(src.folder)
    info = read_manifest(folder)["partitions"][src.key]
    comp = _read_columns(folder / "compounds" / f"{src.key}.parquet", compound_columns)
    upath = folder / "utilities" / f"{src.key}.parquet"
    util = _read_columns(upath, utility_columns) if upath.exists() else None
    return Partition(src.key, int(info["epsg"]), comp, util, tuple(info["halo_bounds"]), info)


def _read_columns(path: Path, columns: Iterable[str] | None) -> gpd.GeoDataFrame:
    """A GeoParquet file, only ``columns`` (those present) and its primary geometry."""
    import geopandas as gpd
    import pyarrow.parquet as pq

    if columns is None:
        return gpd.read_parquet(path)
    schema = pq.read_schema(path)
    geo = json.loads((schema.metadata or {}).get(b"geo", b"{}")).get("primary_column", "geometry")
    names = set(schema.names)
    return gpd.read_parquet(path, columns=[c for c in dict.fromkeys([*columns, geo]) if c in names])


def read_partitioned(folder: str | Path, layers: Iterable[str] | None = None, *,
                     crs: str = STORAGE_CRS, keys: Iterable[str] | None = None,
                     batches: Iterable[int] | None = None) -> Layers:
    """Read a partitioned folder back as one :class:`~yulin_gis.io._layers.Layers`.

    Parameters
    ----------
    folder
        Written by :func:`write_partitioned`.
    layers
        Layer names to read (default all present); compounds are always read.
    crs
        CRS every layer is returned in (default CGCS2000 lon/lat; pass a zone for analysis).
    keys
        Only these partitions (compounds and owned segments); other layers whole.
    batches
        Only what these ``write_partitioned`` calls wrote (all layers).

    Returns
    -------
    Layers
        Compounds and utilities in input order without halo copies or helper columns.
    """
    import geopandas as gpd

    folder = Path(folder)
    manifest = read_manifest(folder)
    wanted = set(layers or LAYER_NAMES) | {"compounds"}
    chosen = sorted(manifest["partitions"]) if keys is None else sorted(keys)
    if batches is not None:
        wanted_batches = {int(b) for b in batches}
        chosen = [k for k in chosen if int(manifest["partitions"][k]["batch"]) in wanted_batches]
    out: dict[str, Any] = {}
    for name in sorted(wanted):
        if name in _SPLIT:
            frames = []
            for key in chosen:
                path = folder / name / f"{key}.parquet"
                if path.exists():
                    part = gpd.read_parquet(path)
                    if name == "utilities":
                        part = part[part["_owned"].to_numpy(dtype=bool)].drop(columns="_owned")
                    frames.append(part.to_crs(crs))
            if frames:
                merged = pd.concat(frames, ignore_index=True).sort_values("_row", kind="stable")
                out[name] = gpd.GeoDataFrame(merged.drop(columns="_row").reset_index(drop=True),
                                             crs=crs)
        elif (folder / name).is_dir():
            files = sorted((folder / name).glob("batch-*.parquet"))
            if batches is not None:
                files = [f for f in files if int(f.stem.split("-")[1]) in wanted_batches]
            if files:
                out[name] = gpd.GeoDataFrame(pd.concat([gpd.read_parquet(f).to_crs(crs) for f in files],
                                                       ignore_index=True), crs=crs)
    if "compounds" not in out:  # no partition chosen (e.g. keys=[] to read other layers)
        out["compounds"] = gpd.GeoDataFrame({"compound_id": pd.Series(dtype=str)},
                                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return Layers(crs=crs, sources={k: str(folder / k) for k in out}, **out)
