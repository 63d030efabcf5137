"""Publishing ``plan.gpkg`` into PostGIS, all or nothing, with QGIS default styles.

:func:`publish_gpkg` copies every layer of a written ``plan.gpkg`` (``compounds``,
``packages``, ``pipe_upgrades``, ``joint_trenches`` and the input layers) into one schema:

* the column types are those the GeoPackage declares (INTEGER → ``bigint``, MEDIUMINT →
  ``integer``, REAL → ``double precision``, BOOLEAN → ``boolean``, TEXT → ``text`` ...),
  NULLs stay NULL, ``fid`` is the primary key, and the geometry column keeps its name,
  type and SRID (EPSG:4490, CGCS2000) and gets a GiST index;
* the styles of the GeoPackage's ``layer_styles`` table (the QML and SLD
  :mod:`yulin_gis.maps._qgis_styles` made) go into ``public.layer_styles``, the table QGIS
  reads for PostGIS layers (created with QGIS's own columns when missing), so the
  layers open styled;
* ``SCHEMA.yulin_gis_publication`` lists what was published (layer, features, when).

Everything happens in one transaction: the previous publication (the layers listed in
``yulin_gis_publication`` and any table named like a new layer) is dropped and the new
one written, so a failure or a killed process leaves the previous publication as it was,
and publishing again replaces, never appends.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yulin_gis.errors import DatabaseError, InputFileError
from yulin_gis.io._postgis import open_database, parse_database_url

__all__ = ["LAYER_STYLES_DDL", "publish_gpkg"]

logger = logging.getLogger(__name__)

REGISTRY = "yulin_gis_publication"
"""Table, in the published schema, listing the layers of the last publication."""

_LOCK_KEY = 7_514_203_311
"""Advisory lock taken by every publication, so two never interleave."""

LAYER_STYLES_DDL = (
    "CREATE TABLE IF NOT EXISTS public.layer_styles("
    "id SERIAL PRIMARY KEY"
    ",f_table_catalog varchar"
    ",f_table_schema varchar"
    ",f_table_name varchar"
    ",f_geometry_column varchar"
    ",styleName text"
    ",styleQML xml"
    ",styleSLD xml"
    ",useAsDefault boolean"
    ",description text"
    ",owner varchar(63) DEFAULT CURRENT_USER"
    ",ui xml"
    ",update_time timestamp DEFAULT CURRENT_TIMESTAMP"
    ",type varchar"
    ",r_raster_column varchar"
    ")"
)
"""``public.layer_styles`` with the columns QGIS creates for PostGIS layers."""

_PG_TYPES = {
    "INTEGER": "bigint", "INT": "bigint", "INT64": "bigint", "MEDIUMINT": "integer",
    "SMALLINT": "smallint", "TINYINT": "smallint", "BOOLEAN": "boolean",
    "REAL": "double precision", "DOUBLE": "double precision", "FLOAT": "real",
    "TEXT": "text", "DATE": "date", "DATETIME": "timestamptz", "BLOB": "bytea",
}
"""GeoPackage column type → PostgreSQL type."""

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


@dataclass(frozen=True)
class _Layer:
    """One table of the GeoPackage: columns (name, PostgreSQL type, not null), geometry."""

    name: str
    pk: str
    columns: tuple[tuple[str, str, bool], ...]
    geom: str | None = None
    geom_type: str = "GEOMETRY"
    srid: int = 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_type(declared: str) -> str:
    base = declared.split("(")[0].strip().upper()
    return _PG_TYPES.get(base, "text")


def _gpkg_layers(con: sqlite3.Connection) -> list[_Layer]:
    """The feature and attribute tables of a GeoPackage, in the order they were written."""
    geoms = {r[0]: r[1:] for r in con.execute(
        "SELECT g.table_name, g.column_name, g.geometry_type_name, g.z, "
        "COALESCE(s.organization_coordsys_id, g.srs_id) FROM gpkg_geometry_columns g "
        "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id")}
    out = []
    for (table,) in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type IN "
                                "('features', 'attributes') AND table_name != 'layer_styles' "
                                "ORDER BY rowid"):
        info = list(con.execute(f"PRAGMA table_info({_quote(table)})"))
        pk = next((str(r[1]) for r in info if r[5]), "fid")
        geom = geoms.get(table)
        cols = tuple((str(r[1]), _pg_type(str(r[2] or "")), bool(r[3])) for r in info
                     if str(r[1]) != pk and (geom is None or str(r[1]) != geom[0]))
        if geom is None:
            out.append(_Layer(str(table), pk, cols))
            continue
        kind = str(geom[1]).upper() + ("Z" if geom[2] == 1 else "")
        out.append(_Layer(str(table), pk, cols, str(geom[0]), kind, int(geom[3] or 0)))
    return out


def _wkb(blob: bytes | None) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (magic, flags, envelope, then WKB)."""
    if blob is None:
        return None
    if blob[:2] != b"GP":
        raise InputFileError("not a GeoPackage geometry blob")
    envelope = (blob[3] >> 1) & 0x07
    return bytes(blob[8 + _ENVELOPE_BYTES.get(envelope, 0):])


def _rows(con: sqlite3.Connection, layer: _Layer) -> Iterator[tuple[Any, ...]]:
    """The layer's rows in fid order: fid, attributes, geometry as hex EWKB."""
    import numpy as np
    import shapely

    names = [layer.pk] + [c for c, _, _ in layer.columns]
    names += [layer.geom] if layer.geom else []
    booleans = [i + 1 for i, (_, t, _) in enumerate(layer.columns) if t == "boolean"]
    cursor = con.execute(f"SELECT {', '.join(map(_quote, names))} FROM {_quote(layer.name)} "
                         f"ORDER BY {_quote(layer.pk)}")
    while batch := cursor.fetchmany(5000):
        rows = [list(r) for r in batch]
        for row in rows:
            for i in booleans:
                row[i] = None if row[i] is None else bool(row[i])
        if layer.geom:
            geoms = shapely.from_wkb(np.array([_wkb(r[-1]) for r in rows], dtype=object))
            geoms = shapely.set_srid(geoms, layer.srid)
            hexes = shapely.to_wkb(geoms, hex=True, include_srid=True)
            for row, value in zip(rows, hexes, strict=True):
                row[-1] = value
        yield from (tuple(r) for r in rows)


def _create(cur: Any, schema: str, layer: _Layer) -> None:
    table = f"{_quote(schema)}.{_quote(layer.name)}"
    cols = [f"{_quote(layer.pk)} bigint PRIMARY KEY"]
    cols += [f"{_quote(c)} {t}{' NOT NULL' if nn else ''}" for c, t, nn in layer.columns]
    if layer.geom:
        cols.append(f"{_quote(layer.geom)} geometry({layer.geom_type}, {layer.srid})")
    cur.execute(f"CREATE TABLE {table} ({', '.join(cols)})")


def _copy(cur: Any, schema: str, layer: _Layer, gpkg: sqlite3.Connection) -> int:
    names = [layer.pk] + [c for c, _, _ in layer.columns] + ([layer.geom] if layer.geom else [])
    table = f"{_quote(schema)}.{_quote(layer.name)}"
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(map(_quote, names))}) FROM STDIN") as copy:
        for row in _rows(gpkg, layer):
            copy.write_row(row)
            n += 1
    if layer.geom:
        index = _quote(f"{layer.name}_{layer.geom}_gist")
        cur.execute(f"CREATE INDEX {index} ON {table} USING GIST ({_quote(layer.geom)})")
    return n


def _drop_previous(cur: Any, schema: str, layers: list[_Layer]) -> list[str]:
    """Drop the previous publication's tables and any table named like a new layer."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{_quote(schema)}.{_quote(REGISTRY)}",))
    names = {layer.name for layer in layers}
    if cur.fetchone()[0]:
        cur.execute(f"SELECT layer FROM {_quote(schema)}.{_quote(REGISTRY)}")
        names |= {str(r[0]) for r in cur.fetchall()}
    cur.execute(f"DROP TABLE IF EXISTS {_quote(schema)}.{_quote(REGISTRY)}")
    for name in sorted(names):
        cur.execute(f"DROP TABLE IF EXISTS {_quote(schema)}.{_quote(name)}")
    return sorted(names)


def _write_registry(cur: Any, schema: str, counts: dict[str, int], layers: list[_Layer],
                    source: str) -> None:
    table = f"{_quote(schema)}.{_quote(REGISTRY)}"
    cur.execute(f"CREATE TABLE {table} (layer text PRIMARY KEY, features bigint NOT NULL, "
                "geometry_column text, srid integer, source text, "
                "published_at timestamptz NOT NULL DEFAULT now())")
    for layer in layers:
        cur.execute(f"INSERT INTO {table} (layer, features, geometry_column, srid, source) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (layer.name, counts[layer.name], layer.geom, layer.srid or None, source))


def _gpkg_styles(con: sqlite3.Connection) -> list[tuple[Any, ...]]:
    has = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                      "name = 'layer_styles'").fetchone()
    if not has:
        return []
    return list(con.execute(
        "SELECT f_table_name, f_geometry_column, styleName, styleQML, styleSLD, "
        "useAsDefault, description, owner FROM layer_styles ORDER BY id"))


def _write_styles(cur: Any, dbname: str, schema: str, styles: list[tuple[Any, ...]],
                  dropped: list[str]) -> int:
    """Replace this schema's yulin_gis styles in ``public.layer_styles``."""
    cur.execute("SELECT to_regclass('public.layer_styles') IS NULL")
    if cur.fetchone()[0]:
        cur.execute(LAYER_STYLES_DDL)
    mine = sorted({str(s[2]) for s in styles})
    cur.execute("DELETE FROM public.layer_styles WHERE f_table_catalog = %s AND "
                "f_table_schema = %s AND f_table_name = ANY(%s) AND styleName = ANY(%s)",
                (dbname, schema, dropped, mine))
    for table, column, name, qml, sld, default, description, owner in styles:
        if default:
            cur.execute("UPDATE public.layer_styles SET useAsDefault = false WHERE "
                        "f_table_catalog = %s AND f_table_schema = %s AND f_table_name = %s",
                        (dbname, schema, table))
        cur.execute(
            "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, type) VALUES (%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), "
            "XMLPARSE(DOCUMENT %s), %s, %s, %s, 'vector')",
            (dbname, schema, table, column, name, qml, sld or None, bool(default), description,
             owner or "yulin_gis"))
    return len(styles)


def _open_gpkg(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InputFileError(f"{path}: GeoPackage not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.execute("SELECT 1 FROM gpkg_contents LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise InputFileError(f"{path}: not a GeoPackage ({exc})") from exc
    return con


def publish_gpkg(gpkg_path: str | Path, url: str, *,
                 after_layer: Callable[[str], object] | None = None) -> dict[str, int]:
    """Publish every layer of a GeoPackage into a PostGIS schema, in one transaction.

    Parameters
    ----------
    gpkg_path
        The ``plan.gpkg`` of a run.
    url
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?schema=NAME``; the schema
        (default ``public``) is created when missing.
    after_layer
        Called with each layer's name once it is written, inside the transaction
        (progress; tests use it to break a publication half-way).

    Returns
    -------
    dict
        Layer name → features published.

    Raises
    ------
    DatabaseError
        When the server cannot be reached or used, or writing fails; the previous
        publication is then left as it was.
    InputFileError
        When ``gpkg_path`` is not a GeoPackage.
    """
    import psycopg
    from sqlalchemy.exc import SQLAlchemyError

    target = parse_database_url(url)
    gpkg = _open_gpkg(Path(gpkg_path))
    counts: dict[str, int] = {}
    try:
        layers, styles = _gpkg_layers(gpkg), _gpkg_styles(gpkg)
        engine = open_database(target, need_schema=False)
        try:
            with engine.begin() as con:
                cur = con.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (target.schema,))
                if cur.fetchone() is None:  # CREATE needs a privilege even with IF NOT EXISTS
                    cur.execute(f"CREATE SCHEMA {_quote(target.schema)}")
                dropped = _drop_previous(cur, target.schema, layers)
                for layer in layers:
                    _create(cur, target.schema, layer)
                    counts[layer.name] = _copy(cur, target.schema, layer, gpkg)
                    if after_layer is not None:
                        after_layer(layer.name)
                _write_registry(cur, target.schema, counts, layers, Path(gpkg_path).name)
                n_styles = _write_styles(cur, target.dbname, target.schema, styles, dropped)
        finally:
            engine.dispose()
    except (SQLAlchemyError, psycopg.Error) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"{target.label}: publishing failed, the previous publication is "
                            f"kept ({detail})") from exc
    except sqlite3.Error as exc:
        raise InputFileError(f"{gpkg_path}: cannot be read ({exc})") from exc
    finally:
        gpkg.close()
    logger.info("published %d layers (%s features) and %d QGIS styles to %s",
                len(counts), sum(counts.values()), n_styles, target.label)
    return counts
