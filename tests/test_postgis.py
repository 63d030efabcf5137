"""PostGIS in and out, against a real throwaway PostgreSQL/PostGIS cluster.

The cluster (tests/pg_cluster.py) holds the embedded Yulin sample in schema ``input``
(loaded with geopandas ``to_postgis``). Without PostgreSQL these tests skip locally; in CI
(``CI=true``) they fail instead, so they never silently stop running there.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from pg_cluster import PW_PASSWORD, PW_USER, Cluster, free_port, missing_reason, running_cluster

from yulin_gis.errors import DatabaseError
from yulin_gis.io import mask_url, parse_database_url

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "layers" / "yulin_sample.gpkg"
SECRET = "not-to-be-printed"
"""Password put in the CLI's URLs (trust auth ignores it); it must appear nowhere."""


# --- without a server ----------------------------------------------------------------------


def test_mask_url_hides_passwords() -> None:
    url = "postgresql://planner:s3cr%40t@db.example:6543/yulin?schema=input&password=x"
    masked = mask_url(url)
    assert "s3cr" not in masked
    assert "password=x" not in masked
    assert masked.startswith("postgresql://planner:***@db.example:6543/yulin")
    assert mask_url("layers/yulin_sample.gpkg") == "layers/yulin_sample.gpkg"


def test_parse_database_url() -> None:
    target = parse_database_url("postgresql://u:p%40ss@h:6543/yulin?schema=plan&sslmode=require")
    assert (target.host, target.port, target.dbname, target.user, target.password) == (
        "h", 6543, "yulin", "u", "p@ss")
    assert target.schema == "plan"
    assert target.query == (("sslmode", "require"),)
    assert "p@ss" not in target.label and "p%40ss" not in target.label
    assert parse_database_url("postgresql://u@h/yulin").schema == "public"
    with pytest.raises(DatabaseError, match="names no database"):
        parse_database_url("postgresql://u@h:5432/")


# --- the cluster ---------------------------------------------------------------------------


def _load(cluster: Cluster, dbname: str, schema: str, frames: dict[str, gpd.GeoDataFrame]) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(cluster.url(dbname).replace("postgresql://", "postgresql+psycopg://"))
    try:
        for name, frame in frames.items():
            frame.to_postgis(name, engine, schema=schema, index=False)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    """A running cluster: database ``yulin`` (PostGIS; the sample in schema ``input``),
    database ``plain`` (no PostGIS) and a role that must give its password."""
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostGIS tests must run in CI: {reason}")
        pytest.skip(reason)
    import pyogrio

    with running_cluster() as cluster:
        cluster.sql("postgres", "CREATE DATABASE yulin")
        cluster.sql("postgres", "CREATE DATABASE plain")
        cluster.sql("postgres", f"CREATE ROLE {PW_USER} LOGIN PASSWORD '{PW_PASSWORD}'")
        cluster.sql("yulin", "CREATE EXTENSION postgis")
        cluster.sql("yulin", "CREATE SCHEMA input")
        names = [str(n) for n, _ in pyogrio.list_layers(SAMPLE)]
        _load(cluster, "yulin", "input", {n: gpd.read_file(SAMPLE, layer=n) for n in names})
        yield cluster


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "yulin_gis", *args], capture_output=True,
                          text=True, env=full_env, check=False, timeout=900)


@pytest.fixture(scope="session")
def published(pg: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``yulin-gis run postgresql://…/yulin?schema=input --publish …?schema=plan`` once."""
    out = tmp_path_factory.mktemp("pg_run")
    source = pg.url("yulin", "input", password=SECRET)
    target = pg.url("yulin", "plan", password=SECRET)
    done = _cli("run", source, "--out", str(out), "--publish", target, "--no-maps")
    return {"out": out, "proc": done, "url": pg.url("yulin", "plan")}


def _counts(pg: Cluster, schema: str) -> dict[str, int]:
    rows = pg.sql("yulin", f"SELECT layer, features FROM {schema}.yulin_gis_publication")
    counts = {str(r[0]): int(r[1]) for r in rows}  # type: ignore[call-overload]
    for layer in counts:  # the registry says what the tables hold
        (n,), = pg.sql("yulin", f'SELECT count(*) FROM {schema}."{layer}"')
        assert n == counts[layer], layer
    return counts


def _gpkg_count(gpkg: Path, layer: str) -> int:
    with sqlite3.connect(gpkg) as con:
        return int(con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0])


# --- reading -------------------------------------------------------------------------------


def test_read_sample_from_postgis(pg: Cluster) -> None:
    from yulin_gis.io import read_input

    problems: list[Any] = []
    raws = read_input(pg.url("yulin", "input"), problems)
    assert set(raws) >= {"compounds", "communities", "roads", "utilities", "facilities"}
    want = gpd.read_file(SAMPLE, layer="compounds")
    got = raws["compounds"].frame
    assert len(got) == len(want) == 1500
    assert got.crs is not None and got.crs.to_epsg() == 4490
    assert got.geometry.name == "geometry"
    assert list(got["compound_id"]) == list(want["compound_id"])
    assert got.geometry.geom_equals_exact(want.geometry, tolerance=1e-9).all()
    assert "input.compounds" in raws["compounds"].source


def test_survey_table_without_geometry(pg: Cluster, survey_table: Any) -> None:
    """A plain table (摸底调查表 with 经度/纬度) is read like a spreadsheet."""
    from sqlalchemy import create_engine

    from yulin_gis.io import validate_input

    pg.sql("yulin", "CREATE SCHEMA IF NOT EXISTS survey")
    engine = create_engine(pg.url("yulin").replace("postgresql://", "postgresql+psycopg://"))
    try:
        survey_table.to_sql("老旧小区", engine, schema="survey", index=False)
    finally:
        engine.dispose()
    layers, report = validate_input(pg.url("yulin", "survey"), input_crs="wgs84")
    assert layers is not None, report.to_text()
    out = layers.compounds.sort_values("compound_id")
    assert out["households"].tolist() == [100, 150, 200, 250]
    assert out.geom_type.eq("Point").all()


@pytest.mark.filterwarnings("ignore:Could not parse CRS:UserWarning")
def test_chinese_table_names_and_srid0(pg: Cluster, compounds: gpd.GeoDataFrame,
                                       communities: gpd.GeoDataFrame) -> None:
    from yulin_gis.io import validate_input

    pg.sql("yulin", "CREATE SCHEMA IF NOT EXISTS zh")
    nosrid = compounds.set_crs(None, allow_override=True)
    _load(pg, "yulin", "zh", {"小区": nosrid, "社区": communities})
    url = pg.url("yulin", "zh")
    layers, report = validate_input(url)
    assert layers is None
    errors = [p for p in report.errors if p.code == "no-crs"]
    assert errors and errors[0].layer == "compounds" and "zh.小区" in str(errors[0].file)
    assert "SRID 0" in errors[0].message and "--input-crs" in errors[0].message
    layers, report = validate_input(url, input_crs={"compounds": "EPSG:4490"})
    assert layers is not None, report.to_text()
    assert len(layers.compounds) == 4 and layers.communities is not None


# --- publishing ----------------------------------------------------------------------------


def test_cli_run_reads_postgis_and_publishes(pg: Cluster, published: dict[str, Any]) -> None:
    proc, out = published["proc"], published["out"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1500 compounds" in proc.stdout
    counts = _counts(pg, "plan")
    gpkg = out / "plan.gpkg"
    for layer in ("compounds", "packages", "pipe_upgrades", "joint_trenches", "communities"):
        assert counts[layer] == _gpkg_count(gpkg, layer) > 0, layer
        (srid,), = pg.sql("yulin", f"SELECT Find_SRID('plan', '{layer}', 'geom')")
        assert srid == 4490
    gist = {r[0] for r in pg.sql("yulin", "SELECT tablename FROM pg_indexes WHERE "
                                 "schemaname = 'plan' AND indexdef ILIKE '%USING gist%'")}
    assert {"compounds", "packages", "pipe_upgrades"} <= gist
    manifest = (out / "run_manifest.json").read_text(encoding="utf-8")
    assert json.loads(manifest)["options"]["publish"].endswith("/yulin?schema=plan")
    for text in (proc.stdout, proc.stderr, manifest):
        assert SECRET not in text


def test_published_types_nulls_and_keys_match_gpkg(pg: Cluster, published: dict[str, Any]) -> None:
    gpkg = published["out"] / "plan.gpkg"
    with sqlite3.connect(gpkg) as con:
        declared = {str(r[1]): str(r[2]).upper() for r in con.execute(
            "PRAGMA table_info(compounds)")}
        nulls = {c: int(con.execute(f'SELECT count(*) FROM compounds WHERE "{c}" IS NULL')
                        .fetchone()[0]) for c in ("renovated_year", "walk_market_m", "planned_start",
                                   "waterlogging_risk", "households")}
    types = {str(r[0]): str(r[1]) for r in pg.sql("yulin", (
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'plan' AND table_name = 'compounds'"))}
    expect = {"INTEGER": "bigint", "BOOLEAN": "boolean", "REAL": "double precision",
              "TEXT": "text", "DATETIME": "timestamp with time zone"}
    for column, decl in declared.items():
        if column == "geom":
            continue
        assert types[column] == expect[decl], column
    assert "bigint" in types.values() and "text" in types.values()
    # flags are integers 0/1 in the GeoPackage (issue 12 §6), so integers in PostGIS too
    assert declared.get("eligible") == "INTEGER" and types["eligible"] == "bigint"
    for column, n in nulls.items():
        (got,), = pg.sql("yulin", f'SELECT count(*) FROM plan.compounds WHERE "{column}" IS NULL')
        assert got == n, column
    # an INTEGER column with NULLs stays an integer column with NULLs (no float, no 0)
    assert declared["renovated_year"] == "INTEGER" and types["renovated_year"] == "bigint"
    assert 0 < nulls["renovated_year"] < 1500
    (n_zero,), = pg.sql("yulin", "SELECT count(*) FROM plan.compounds WHERE renovated_year = 0")
    assert n_zero == 0
    keys = pg.sql("yulin", "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                  "a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE "
                  "i.indrelid = 'plan.compounds'::regclass AND i.indisprimary")
    assert keys == [("fid",)]


def test_layer_styles_rows_carry_the_gpkg_qml(pg: Cluster, published: dict[str, Any]) -> None:
    gpkg = published["out"] / "plan.gpkg"
    with sqlite3.connect(gpkg) as con:
        want = {str(r[0]): str(r[1]) for r in con.execute(
            "SELECT f_table_name, styleQML FROM layer_styles")}
    rows = pg.sql("yulin", "SELECT f_table_name, styleqml::text, useasdefault, f_geometry_column,"
                  " f_table_catalog FROM public.layer_styles WHERE f_table_schema = 'plan'")
    got = {str(r[0]): r for r in rows}
    assert set(got) == set(want) >= {"compounds", "packages", "pipe_upgrades"}
    for table, qml in want.items():
        assert got[table][1] == qml
        assert got[table][2:] == (True, "geom", "yulin")
    columns = {r[0] for r in pg.sql("yulin", "SELECT column_name FROM information_schema.columns"
                                    " WHERE table_schema = 'public' AND "
                                    "table_name = 'layer_styles'")}
    assert {"f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
            "stylename", "styleqml", "stylesld", "useasdefault", "description", "owner", "ui",
            "update_time"} <= columns


def test_publish_again_replaces(pg: Cluster, published: dict[str, Any]) -> None:
    from yulin_gis.io import publish_gpkg

    before = _counts(pg, "plan")
    (styles,), = pg.sql("yulin", "SELECT count(*) FROM public.layer_styles")
    counts = publish_gpkg(published["out"] / "plan.gpkg", published["url"])
    assert counts == before
    assert _counts(pg, "plan") == before
    assert pg.sql("yulin", "SELECT count(*) FROM public.layer_styles") == [(styles,)]


def test_publish_as_an_ordinary_role(pg: Cluster, published: dict[str, Any]) -> None:
    """A role without CREATE on schema public publishes once layer_styles exists."""
    from yulin_gis.io import publish_gpkg

    pg.sql("yulin", f"GRANT CREATE ON DATABASE yulin TO {PW_USER}")
    pg.sql("yulin", f"GRANT SELECT, INSERT, UPDATE, DELETE ON public.layer_styles TO {PW_USER}")
    pg.sql("yulin", f"GRANT USAGE ON SEQUENCE public.layer_styles_id_seq TO {PW_USER}")
    url = pg.url("yulin", "plan_pw", user=PW_USER, password=PW_PASSWORD)
    counts = publish_gpkg(published["out"] / "plan.gpkg", url)
    assert counts == _counts(pg, "plan")
    assert _counts(pg, "plan_pw") == counts
    (n,), = pg.sql("yulin", "SELECT count(*) FROM public.layer_styles "
                   "WHERE f_table_schema = 'plan_pw'")
    assert n >= 3


def test_failed_publication_keeps_the_previous_one(pg: Cluster,
                                                   published: dict[str, Any]) -> None:
    from yulin_gis.io import publish_gpkg

    before = _counts(pg, "plan")
    stamp = pg.sql("yulin", "SELECT max(published_at) FROM plan.yulin_gis_publication")
    written: list[str] = []

    def fail_after_three(layer: str) -> None:
        written.append(layer)
        if len(written) == 3:
            raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        publish_gpkg(published["out"] / "plan.gpkg", published["url"],
                     after_layer=fail_after_three)
    assert written == ["compounds", "packages", "pipe_upgrades"]
    assert _counts(pg, "plan") == before
    assert pg.sql("yulin", "SELECT max(published_at) FROM plan.yulin_gis_publication") == stamp


def test_killed_publication_keeps_the_previous_one(pg: Cluster,
                                                   published: dict[str, Any]) -> None:
    before = _counts(pg, "plan")
    code = ("import os, signal, sys\n"
            "from yulin_gis.io._postgis_publish import publish_gpkg\n"
            "def kill(layer):\n"
            "    if layer == 'packages':\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            "publish_gpkg(sys.argv[1], sys.argv[2], after_layer=kill)\n")
    done = subprocess.run([sys.executable, "-c", code, str(published["out"] / "plan.gpkg"),
                           published["url"]], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == -9, done.stderr
    assert _counts(pg, "plan") == before


# --- errors --------------------------------------------------------------------------------


def test_unreachable_server_cli(tmp_path: Path) -> None:
    port = free_port()
    done = _cli("run", f"postgresql://planner:{SECRET}@127.0.0.1:{port}/yulin?schema=input",
                "--out", str(tmp_path / "out"), "--no-maps")
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr and "could not connect" in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr


def test_unreachable_publish_target_fails_before_the_run(tmp_path: Path,
                                                         sample_gpkg: Path) -> None:
    port = free_port()
    done = _cli("survey", str(sample_gpkg), "--out", str(tmp_path / "out"), "--no-maps",
                "--publish", f"postgresql://planner:{SECRET}@127.0.0.1:{port}/yulin?schema=p")
    assert done.returncode == 2
    assert f"127.0.0.1:{port}" in done.stderr and "could not connect" in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr
    assert not (tmp_path / "out" / "plan.gpkg").exists()


def test_wrong_password(pg: Cluster) -> None:
    from yulin_gis.io import open_database

    bad = parse_database_url(pg.url("yulin", user=PW_USER, password="wrong-pass"))
    with pytest.raises(DatabaseError, match="wrong password") as info:
        open_database(bad)
    assert f"127.0.0.1:{pg.port}" in str(info.value) and "wrong-pass" not in str(info.value)
    open_database(parse_database_url(pg.url("yulin", user=PW_USER,
                                            password=PW_PASSWORD))).dispose()


def test_password_from_pgpassword_and_pgpass(pg: Cluster, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from yulin_gis.io import open_database

    target = parse_database_url(pg.url("yulin", user=PW_USER))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(DatabaseError, match="password is needed"):
        open_database(target)
    monkeypatch.setenv("PGPASSWORD", PW_PASSWORD)
    open_database(target).dispose()
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg.port}:yulin:{PW_USER}:{PW_PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    open_database(target).dispose()


@pytest.mark.parametrize(("dbname", "schema", "message"), [
    ("nosuchdb", "input", "database 'nosuchdb' does not exist"),
    ("yulin", "nosuchschema", "no schema 'nosuchschema'"),
    ("plain", "public", "no postgis extension"),
])
def test_missing_database_schema_or_extension(pg: Cluster, dbname: str, schema: str,
                                              message: str) -> None:
    done = _cli("validate", pg.url(dbname, schema, password=SECRET))
    assert done.returncode == 2
    assert message in done.stderr and f"127.0.0.1:{pg.port}" in done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr


def test_missing_compounds_layer(pg: Cluster, communities: gpd.GeoDataFrame) -> None:
    pg.sql("yulin", "CREATE SCHEMA IF NOT EXISTS nocompounds")
    _load(pg, "yulin", "nocompounds", {"communities": communities})
    done = _cli("validate", pg.url("yulin", "nocompounds", password=SECRET))
    assert done.returncode == 1
    assert "missing-layer" in done.stdout and "no compounds layer" in done.stdout
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stderr
