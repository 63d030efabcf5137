"""A throwaway PostgreSQL cluster for the PostGIS tests (initdb + pg_ctl on 127.0.0.1).

Debian's ``postgresql`` and ``postgis`` packages provide the binaries under
``/usr/lib/postgresql/*/bin``. initdb and pg_ctl refuse to run as root, so when the tests
run as root they run as the ``postgres`` OS user (``runuser``) in a folder chowned to it.

Authentication: ``trust`` for every user on 127.0.0.1 except the role :data:`PW_USER`,
which must give its password (scram-sha-256), for the wrong-password test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PW_USER = "yulin_pw"
PW_PASSWORD = "right-pass"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def missing_reason() -> str | None:
    """Why the cluster cannot run here, or None when it can."""
    bindir = find_bin()
    if bindir is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    version = bindir.parent.name
    if not glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
        return f"PostGIS for PostgreSQL {version} not installed (postgresql-{version}-postgis-3)"
    for module in ("sqlalchemy", "psycopg", "geoalchemy2"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} not installed (pip install -e '.[postgis]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres OS user to run initdb"
    return None


@dataclass
class Cluster:
    """A running throwaway cluster."""

    bindir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"

    def url(self, dbname: str, schema: str | None = None, user: str = "postgres",
            password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        tail = f"?schema={schema}" if schema else ""
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}{tail}"

    def sql(self, dbname: str, statement: str) -> list[tuple[object, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres",
                             dbname=dbname, autocommit=True) as con:
            cur = con.execute(statement)  # type: ignore[arg-type]
            return list(cur.fetchall()) if cur.description else []


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


_HBA = f"""local all all trust
host all {PW_USER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Start a cluster in a fresh temporary folder; stop and remove it afterwards."""
    bindir = find_bin()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="yulin_pg_"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (root, sock):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--no-locale", "--no-sync"])
        (data / "pg_hba.conf").write_text(_HBA, encoding="utf-8")
        options = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
              "-o", options, "-w", "-t", "60", "start"])
        try:
            yield Cluster(bindir, root, port)
        finally:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
