"""PostgreSQL/PostGIS as an input: URLs, connections, clear errors and reading layers.

An input may be a database URL instead of a file::

    postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?schema=NAME

The schema defaults to ``public``. Tables are matched to layers by the same names and
Chinese aliases as GeoPackage layers (``compounds`` / 小区 ...); their geometry column
and SRID come from PostGIS's ``geometry_columns`` view (for an unconstrained ``geometry``
column, from the data). SRID 0 means "unknown": ``--input-crs`` must then say it.

Credentials come from the URL, else ``PGPASSWORD`` or ``~/.pgpass`` (libpq reads them).
Passwords are never printed: :func:`mask_url` is used for every message and the manifest.

Needs the ``postgis`` extra (SQLAlchemy 2, psycopg 3, GeoAlchemy2), imported only when a
database is used, so ``import yulin_gis`` stays light.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from yulin_gis.errors import DatabaseError, Problem

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from yulin_gis.io._raw import RawLayer

__all__ = [
    "DatabaseTarget",
    "is_database_url",
    "mask_url",
    "open_database",
    "parse_database_url",
    "read_postgis_input",
]

logger = logging.getLogger(__name__)

_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
_OGR_IDS = {"fid", "ogc_fid"}
"""Primary-key columns that only number features (as GDAL names them): not read as data."""


def is_database_url(value: object) -> bool:
    """True when ``value`` is a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


def mask_url(value: object) -> str:
    """Return ``value`` as text with any password in a database URL replaced by ``***``.

    Anything that is not a database URL is returned unchanged (as ``str``).
    """
    text = str(value)
    if not is_database_url(text):
        return text
    text = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", text)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", text)


@dataclass(frozen=True)
class DatabaseTarget:
    """A parsed database URL.

    Attributes
    ----------
    host, port, dbname, user, password
        Connection parameters (None where the URL leaves them to libpq's defaults).
    schema
        The schema named by ``?schema=`` (default ``public``).
    query
        Other query parameters passed to libpq (``sslmode`` ...).
    """

    host: str | None
    port: int | None
    dbname: str
    user: str | None
    password: str | None = field(repr=False)
    schema: str = "public"
    query: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        """``host:port`` for messages (libpq's defaults when the URL names none)."""
        return f"{self.host or 'localhost'}:{self.port or 5432}"

    @property
    def label(self) -> str:
        """The URL without its password, for messages and manifests."""
        user = f"{self.user}@" if self.user else ""
        query = urlencode([*self.query, ("schema", self.schema)])
        return f"postgresql://{user}{self.where}/{self.dbname}?{query}"

    def sqlalchemy_url(self) -> Any:
        """The SQLAlchemy URL (psycopg 3 driver), password included."""
        from sqlalchemy import URL

        return URL.create("postgresql+psycopg", username=self.user, password=self.password,
                          host=self.host, port=self.port, database=self.dbname,
                          query=dict(self.query))


def parse_database_url(url: str) -> DatabaseTarget:
    """Parse ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?schema=NAME``.

    Raises
    ------
    DatabaseError
        When the URL names no database or its port is not a number.
    """
    parts = urlsplit(url.strip())
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise DatabaseError(f"{mask_url(url)}: the URL names no database "
                            "(postgresql://USER@HOST:PORT/DBNAME?schema=NAME)")
    try:
        port = parts.port
    except ValueError as exc:
        raise DatabaseError(f"{mask_url(url)}: the port is not a number") from exc
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    schema = dict(parse_qsl(parts.query)).get("schema", "").strip() or "public"
    return DatabaseTarget(
        host=unquote(parts.hostname) if parts.hostname else None, port=port, dbname=dbname,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        schema=schema, query=tuple(query))


def _explain(exc: BaseException, target: DatabaseTarget) -> DatabaseError:
    """Turn a driver error into a :class:`DatabaseError` a planner can act on."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0].strip() if text else type(exc).__name__
    first = re.sub(r"^(connection (failed|is bad): )?connection to server at .*? failed: ",
                   "", first)
    where = f"PostgreSQL at {target.where}"
    if "password authentication failed" in text:
        return DatabaseError(f"{where}: wrong password for user {target.user!r} "
                             "(password authentication failed)")
    if "no password supplied" in text:
        return DatabaseError(f"{where}: a password is needed for user {target.user!r}: put it "
                             "in the URL, PGPASSWORD or ~/.pgpass")
    if "does not exist" in text and "database" in text:
        return DatabaseError(f"{where}: database {target.dbname!r} does not exist")
    if "role" in text and "does not exist" in text:
        return DatabaseError(f"{where}: user {target.user!r} does not exist")
    return DatabaseError(f"could not connect to {where} (database {target.dbname!r}): {first}")


def open_database(target: DatabaseTarget, *, need_schema: bool = True) -> Engine:
    """Connect once to check the server, the login, PostGIS and the schema.

    Returns an engine without a pool (each ``connect()`` opens a fresh connection).

    Raises
    ------
    DatabaseError
        Unreachable server (naming ``host:port``), wrong password, missing database,
        no ``postgis`` extension, or (``need_schema``) a missing schema.
    """
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool
    except ImportError as exc:
        raise DatabaseError("reading or publishing PostGIS needs the postgis extra: "
                            "pip install 'yulin_gis[postgis]'") from exc
    args = {} if any(k == "connect_timeout" for k, _ in target.query) else {
        "connect_timeout": 10}
    engine = create_engine(target.sqlalchemy_url(), poolclass=NullPool, connect_args=args)
    try:
        with engine.connect() as con:
            has_postgis = con.execute(text(
                "SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
            has_schema = con.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                     {"s": target.schema}).first()
    except Exception as exc:
        engine.dispose()
        raise _explain(exc, target) from exc
    if has_postgis is None:
        engine.dispose()
        raise DatabaseError(f"PostgreSQL at {target.where}: database {target.dbname!r} has "
                            "no postgis extension (CREATE EXTENSION postgis;)")
    if need_schema and has_schema is None:
        engine.dispose()
        raise DatabaseError(f"PostgreSQL at {target.where}: database {target.dbname!r} has "
                            f"no schema {target.schema!r}")
    return engine


# --- reading -------------------------------------------------------------------------------

_TABLES_SQL = """
SELECT c.relname AS table_name, g.f_geometry_column AS geom, g.srid AS srid
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN geometry_columns g
  ON g.f_table_schema = n.nspname AND g.f_table_name = c.relname
WHERE n.nspname = :schema AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
ORDER BY c.relname, g.f_geometry_column
"""

_PK_SQL = """
SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = to_regclass(:qualified) AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: Connection, schema: str) -> dict[str, list[tuple[str, int]]]:
    """Table name → [(geometry column, srid)], in name order (empty list: no geometry)."""
    from sqlalchemy import text

    out: dict[str, list[tuple[str, int]]] = {}
    for table, geom, srid in con.execute(text(_TABLES_SQL), {"schema": schema}):
        cols = out.setdefault(str(table), [])
        if geom is not None:
            cols.append((str(geom), int(srid or 0)))
    return out


def _data_srid(con: Connection, qualified: str, geom: str, source: str) -> int:
    """The SRID the rows carry (for a ``geometry`` column without a declared SRID)."""
    from sqlalchemy import text

    rows = con.execute(text(f"SELECT DISTINCT ST_SRID({_quote(geom)}) FROM {qualified} "
                            f"WHERE {_quote(geom)} IS NOT NULL LIMIT 2")).all()
    srids = sorted(int(r[0]) for r in rows)
    if len(srids) > 1:
        raise DatabaseError(f"{source}: geometry column {geom!r} mixes SRIDs "
                            f"{', '.join(map(str, srids))}; give the column one SRID")
    return srids[0] if srids else 0


def _crs_of(con: Connection, srid: int) -> str | None:
    """``EPSG:n`` (or the spatial_ref_sys definition) for an SRID; None for SRID 0."""
    from sqlalchemy import text

    if srid == 0:
        return None
    row = con.execute(text("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys "
                           "WHERE srid = :s"), {"s": srid}).first()
    if row is None or (row[0] or "").upper() == "EPSG":
        return f"EPSG:{row[1] if row is not None and row[1] else srid}"
    return str(row[2]) if row[2] else f"{row[0]}:{row[1]}"


def _read_table(con: Connection, schema: str, table: str, geoms: list[tuple[str, int]],
                source: str, problems: list[Problem]) -> tuple[Any, bool]:
    """Read one table: a GeoDataFrame (geometry named ``geometry``) or a plain table."""
    import geopandas as gpd
    import pandas as pd
    from sqlalchemy import text

    qualified = f"{_quote(schema)}.{_quote(table)}"
    keys = [str(r[0]) for r in con.execute(text(_PK_SQL), {"qualified": qualified})]
    drop = [keys[0]] if len(keys) == 1 and keys[0].lower() in _OGR_IDS else []
    order = f" ORDER BY {', '.join(map(_quote, keys))}" if keys else ""
    if len(geoms) > 1:
        problems.append(Problem("warning", "extra-geometry", f"{len(geoms)} geometry columns; "
                                f"{geoms[0][0]!r} is used, the others are ignored",
                                file=source, layer=table))
    if not geoms:
        frame = pd.read_sql(text(f"SELECT * FROM {qualified}{order}"), con)
        return frame.drop(columns=drop), True
    geom, srid = geoms[0]
    others = [_quote(g) for g, _ in geoms[1:]]
    cols = [c for c in _columns(con, schema, table) if _quote(c) not in others and c not in drop]
    srid = srid or _data_srid(con, qualified, geom, source)
    sql = f"SELECT {', '.join(map(_quote, cols))} FROM {qualified}{order}"
    frame = gpd.read_postgis(text(sql), con, geom_col=geom, crs=_crs_of(con, srid))
    if srid == 0:
        frame = frame.set_crs(None, allow_override=True)
        problems.append(Problem("warning", "srid-0", "geometry has SRID 0 (no coordinate "
                                "system); --input-crs must say it", file=source, layer=table))
    if geom != "geometry" and "geometry" not in frame.columns:
        frame = frame.rename_geometry("geometry")
    return frame, False


def _columns(con: Connection, schema: str, table: str) -> list[str]:
    from sqlalchemy import text

    rows = con.execute(text(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(:q) "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
        {"q": f"{_quote(schema)}.{_quote(table)}"})
    return [str(r[0]) for r in rows]


def _layer_order(tables: dict[str, list[tuple[str, int]]]) -> list[tuple[str, str]]:
    """(table, layer) pairs: canonical names first, then aliases, each in name order."""
    from yulin_gis.io._raw import layer_name_for

    named = [(t, layer_name_for(t)) for t in tables]
    found = [(t, n) for t, n in named if n is not None]
    return sorted(found, key=lambda tn: (tn[0] != tn[1], tn[0]))


def read_postgis_input(url: str, *, problems: list[Problem] | None = None) -> dict[str, RawLayer]:
    """Read every layer a PostGIS schema holds, keyed by canonical layer name.

    Parameters
    ----------
    url
        ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?schema=NAME``.
    problems
        Receives warnings (ignored tables, duplicate layers, SRID 0 ...).

    Raises
    ------
    DatabaseError
        When the server cannot be reached or used (unreachable server, wrong password, missing database or schema, no postgis extension), or the
        schema holds no table named after a layer.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from yulin_gis.io._raw import RawLayer

    problems = problems if problems is not None else []
    target = parse_database_url(url)
    engine = open_database(target)
    out: dict[str, RawLayer] = {}
    try:
        with engine.connect() as con:
            tables = _tables(con, target.schema)
            for table, name in _layer_order(tables):
                source = f"{target.label} table {target.schema}.{table}"
                if name in out:
                    problems.append(Problem("warning", "duplicate-layer", f"a second table for "
                                            f"{name!r}; ignored", file=target.label, layer=table))
                    continue
                frame, plain = _read_table(con, target.schema, table, tables[table], source,
                                           problems)
                out[name] = RawLayer(name, frame, source, from_table=plain)
    except SQLAlchemyError as exc:
        if "could not connect" in str(exc) or "server closed" in str(exc):
            raise _explain(exc, target) from exc
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"{target.label}: reading failed ({detail})") from exc
    finally:
        engine.dispose()
    ignored = sorted(set(tables) - {t for t, _ in _layer_order(tables)} - {"layer_styles"})
    for table in ignored:
        problems.append(Problem("warning", "unknown-layer", "table not used by yulin_gis; "
                                "ignored", file=target.label, layer=table))
    if not out:
        raise DatabaseError(f"{target.label}: schema {target.schema!r} holds no table named "
                            "after a layer (compounds/小区, communities/社区, roads/道路 ...)")
    logger.info("read %s from %s", ", ".join(out), target.label)
    return out
