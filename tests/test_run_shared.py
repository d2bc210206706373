"""`make run-shared` (scripts/run_shared.py): a local PostgreSQL cluster with the demo programme and
the development accounts, a development OIDC provider and the app with logins, all stopped by Ctrl-C."""

from __future__ import annotations

import signal
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from cx import PROJECT_ROOT
from cx.access import acting_as, as_system
from cx.local_servers import free_port
from cx.pgcluster import binaries
from cx.store import Store

pytestmark = pytest.mark.slow


def test_run_shared_serves_the_demo_on_postgresql_with_logins_and_stops_on_ctrl_c(postgres_cluster):
    assert binaries() is not None  # postgres_cluster skips (or fails under CI) without PostgreSQL
    folder = Path(tempfile.mkdtemp(prefix="cx-run-shared-"))
    app, provider, database = free_port(), free_port(), free_port()
    started = subprocess.Popen([sys.executable, "scripts/run_shared.py", "--port", str(app), "--provider-port",
                                str(provider), "--pg-port", str(database), "--folder", str(folder)],
                               cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(line.startswith("cx on PostgreSQL") for line in lines):
            line = started.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert lines[0].startswith("demo programme loaded: 15 partnerships, 2,000 organisations, 1,500 exchanges, ")
        url = lines[-1].split("(", 1)[1].split(")", 1)[0]
        assert url.startswith("postgresql://") and f"port={database}" in url
        assert urllib.request.urlopen(f"http://127.0.0.1:{app}/_stcore/health", timeout=10).status == 200
        metadata = urllib.request.urlopen(f"http://127.0.0.1:{provider}/.well-known/openid-configuration", timeout=10)
        assert metadata.status == 200
        assert url.startswith("postgresql://cx_app@")  # the app's role: row-level security holds it
        owner = url.replace("cx_app@", "cx_owner@")
        with acting_as(None):  # no scope, no rows
            assert Store(url).query("SELECT count(*) AS n FROM exchanges")["n"][0] == 0
        store = Store(url, owner=owner)
        # the line reports what was stored (how many steps the demo's exchanges have reached depends on the day)
        reported = {name: int(n.replace(",", "")) for n, name in
                    (part.split(" ", 1) for part in lines[0].removeprefix("demo programme loaded: ").strip().split(", "))}
        stored = store.counts()
        assert list(reported) == ["partnerships", "organisations", "exchanges", "events", "missions", "host answers",
                                  "agenda days", "signatures", "closing reports", "payments"]
        assert reported == {name: stored["exchange_events" if name == "events" else name.replace(" ", "_")]
                            for name in reported}
        with as_system():
            assert store.query("SELECT login, role FROM accounts ORDER BY login").values.tolist() == [
                ["manager@example.org", "partnership_manager"], ["member@example.org", "organisation"],
                ["officer@example.org", "officer"]]
        from cx.postgres import close_pool

        close_pool(url)
        close_pool(owner)
    finally:
        started.send_signal(signal.SIGINT)
        assert started.wait(timeout=180) == 0  # a loaded machine stops slowly
    time.sleep(0.5)
    assert not (folder / "data" / "postmaster.pid").exists()  # the cluster stopped with it
    shutil.rmtree(folder, ignore_errors=True)
