"""`make run-shared`: cx as a shared deployment would run it, on this machine, for development.

Starts a PostgreSQL cluster of Debian's postgresql package in data/postgres/ (git-ignored; initdb
the first time, a port of its own, its Unix socket in that folder), creates the `cx` database with
the schema and the demo programme the first time (owned by the role `cx_owner`; the app connects as
`cx_app`, which owns nothing and is held to row-level security), a local OpenID Connect provider
(oidc-provider-mock: it accepts any user name, so it is for development only, never production)
and the app with logins on 127.0.0.1. Accounts to log in with: officer@example.org,
manager@example.org (partnership manager of P01) and member@example.org (an organisation of P01).
Ctrl-C stops all three; the data stays in data/postgres/ for the next start.

    .venv/bin/python scripts/run_shared.py [--port 8501] [--pg-port 54329] [--provider-port 8502]
                                           [--folder data/postgres]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cx import DATA_DIR, accounts  # noqa: E402
from cx.access import Viewer, as_system  # noqa: E402
from cx.demo import load_demo  # noqa: E402
from cx.local_servers import (NotAnswering, app_command, provider_command, wait_for,  # noqa: E402
                              write_login_secrets)
from cx.pgcluster import Cluster  # noqa: E402
from cx.store import open_store  # noqa: E402



def programme(cluster: Cluster) -> tuple[str, str]:
    """The `cx` database's URLs as the app's role and as the tables' owner (migrated); created with
    the demo programme and the development accounts the first time."""
    import psycopg

    cluster.create_roles()
    with psycopg.connect(cluster.url(), autocommit=True) as con:
        exists = con.execute("SELECT count(*) FROM pg_database WHERE datname = 'cx'").fetchone()[0]
    if not exists:
        cluster.create_database("cx", owner="cx_owner")
    urls = cluster.url("cx", user="cx_app"), cluster.url("cx", user="cx_owner")
    store = open_store(urls[0], owner=urls[1])
    if exists:
        return urls
    counts = load_demo(store)
    officer = Viewer.local()
    with as_system():
        member = store.query("SELECT min(id) AS id FROM organisations WHERE partnership_id = 'P01' AND can_visit")["id"][0]
    accounts.add_account(store, officer, "officer@example.org", "officer")
    accounts.add_account(store, officer, "manager@example.org", "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, officer, "member@example.org", "organisation", organisation_id=member)
    print("demo programme loaded: " + ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items()))
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501, help="the app's port")
    parser.add_argument("--pg-port", type=int, default=54329, help="PostgreSQL's port (its socket is in data/postgres)")
    parser.add_argument("--provider-port", type=int, default=8502, help="the development OIDC provider's port")
    parser.add_argument("--folder", type=Path, default=DATA_DIR / "postgres", help="the cluster's folder")
    args = parser.parse_args()
    # Ctrl-C (or a SIGTERM from a service manager) stops everything, even when started from a shell
    # that ignores SIGINT for background jobs: an ignored SIGINT would leave the cluster running.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    folder = args.folder.resolve()
    cluster = Cluster(folder, port=args.pg_port).start()
    processes = []
    try:
        url, owner = programme(cluster)
        provider = f"http://127.0.0.1:{args.provider_port}"
        secrets = write_login_secrets(folder / "secrets.toml", args.port, provider, "cx-shared")
        log = open(folder / "run-shared.log", "a")
        processes.append(subprocess.Popen(provider_command(args.provider_port), stdout=log, stderr=subprocess.STDOUT))
        wait_for(f"{provider}/.well-known/openid-configuration", processes[-1], folder / "run-shared.log")
        processes.append(subprocess.Popen(
            app_command(args.port, "--secrets.files", str(secrets)), cwd=ROOT,
            env={**os.environ, "CX_DB": url, "CX_DB_OWNER": owner}, stdout=log, stderr=subprocess.STDOUT))
        wait_for(f"http://127.0.0.1:{args.port}/_stcore/health", processes[-1], folder / "run-shared.log")
        print(f"cx on PostgreSQL ({url}): http://127.0.0.1:{args.port}; log in as officer@example.org, "
              "manager@example.org or member@example.org (Ctrl-C stops)", flush=True)
        processes[-1].wait()
    except KeyboardInterrupt:
        pass
    except NotAnswering as not_answering:  # the provider or the app did not start
        raise SystemExit(str(not_answering)) from None
    finally:
        for process in processes:  # all asked at once, so a slow one does not hold up the others
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        cluster.stop()


if __name__ == "__main__":
    main()
