"""A local PostgreSQL cluster of Debian's `postgresql` package, for the tests, the benchmarks and
`make run-shared`: initdb into a folder, a port of its own, a Unix socket in that folder.

PostgreSQL refuses to run as root, so when cx runs as root (CI does) initdb and pg_ctl run as the
`postgres` system user, which must then own the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from cx.local_servers import free_port


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (the newest installed version), or None without PostgreSQL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


class Cluster:
    """A cluster in `folder` (created by `start` when new), reached as the `postgres` superuser on
    its Unix socket: `url(database)` names a database of it."""

    def __init__(self, folder: Path | str, port: int | None = None):
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.port = port or free_port()
        self.bin = binaries()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, text=True)

    def start(self) -> Cluster:
        """initdb (when the folder holds no cluster yet) and start the server; fsync is off, since
        these clusters hold copies and tests, never the only record."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.folder.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c port={self.port} -c listen_addresses='' -c unix_socket_directories='{self.folder}' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@/{database}?host={self.folder}&port={self.port}"

    def create_roles(self, owner: str = "cx_owner", app: str = "cx_app") -> None:
        """The two roles of a shared deployment, when missing: `owner` owns the tables and runs the
        migrations; `app`, what the application connects as, owns nothing, is no superuser and
        cannot bypass row-level security. (Passwordless: these clusters trust their Unix socket.)"""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as con:
            for role in (owner, app):
                if not con.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role]).fetchone()[0]:
                    con.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
                        sql.Identifier(role)))

    def create_database(self, name: str, template: str | None = None, owner: str | None = None) -> str:
        """A new database (a copy of `template` when given; owned by `owner` when given); returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as con:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if owner:
                statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            con.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing every connection to it (this process's pool and any other's)."""
        import psycopg
        from psycopg import sql

        from cx.postgres import close_pools_to

        close_pools_to(name)
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
