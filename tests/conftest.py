"""Shared fixtures: real DuckDB files in tmp dirs, real PostgreSQL databases of a throwaway
cluster started once per session, a seeded demo programme, and for browser tests a real
`streamlit run` server driven by Debian's chromium through Playwright.

A module that sets `BACKENDS = ("duckdb", "postgres")` runs each test that uses `store` or
`demo_store` on both back ends (the `backend` fixture)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from cx import PROJECT_ROOT
from cx.demo import load_demo
from cx.local_servers import app_command, free_port, wait_for
from cx.rules import load_rulebook
from cx.store import copy_programme, open_store

CHROMIUM = "/usr/bin/chromium"
# No test touches the project's own database (data/cx.duckdb, or a $CX_DB set in the shell): code that
# opens the default store without a fixture's database gets a throwaway file. A CI run left an empty
# data/cx.duckdb behind, which `make run` would then have served instead of generating the demo.
os.environ["CX_DB"] = str(Path(tempfile.mkdtemp(prefix="cx-tests-")) / "default.duckdb")
DEMO_DAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def rulebook():
    return load_rulebook()


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and hasattr(metafunc.module, "BACKENDS"):
        metafunc.parametrize("backend", metafunc.module.BACKENDS, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The back end the test's stores use: DuckDB unless its module runs on `BACKENDS`."""
    return getattr(request, "param", "duckdb")


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory):
    """A throwaway PostgreSQL cluster for the whole session (Debian's postgresql package; fsync
    off; a Unix socket in a temporary folder). Without PostgreSQL the test fails under CI and is
    skipped elsewhere, saying why."""
    from cx.pgcluster import Cluster, binaries

    if binaries() is None:
        message = "PostgreSQL is not installed: `make test` installs Debian's postgresql package"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's folder: the postgres system user must be able to reach it.
    cluster = Cluster(tempfile.mkdtemp(prefix="cx-postgres-")).start()
    cluster.create_roles()  # cx_owner owns the tables, cx_app is what the app connects as
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)


def _databases(cluster):
    """`new(template=None) -> URL` (a new database, a copy of the template database when named),
    and the names made."""
    made = []

    def new(template: str | None = None) -> str:
        name = f"cx_{os.getpid()}_{next(_numbers)}"
        made.append(name)
        return cluster.create_database(name, template, owner="cx_owner")

    return new, made


def open_shared(cluster, url: str):
    """The store of the database at `url` as a shared deployment opens it: the application as
    `cx_app` (row-level security applies), migrations and system work as `cx_owner`."""
    database = url.split("?")[0].rsplit("/", 1)[1]
    return open_store(cluster.url(database, user="cx_app"), owner=cluster.url(database, user="cx_owner"))


def _shared_for_the_test(request, url: str):
    """`open_shared`'s store, with the test's own reads and writes (setting up rows, checking
    them) as system work; cx's functions run as the viewer they are given, as in the app
    (tests/test_row_security.py checks what each scope sees)."""
    from cx.access import SYSTEM, work_as, current_scope

    store = open_shared(request.getfixturevalue("postgres_cluster"), url)
    before = current_scope()
    work_as(SYSTEM)
    request.addfinalizer(lambda: work_as(before))
    return store


_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_databases(postgres_cluster):
    """`new(template=None) -> URL`: databases that last the session (templates, module fixtures)."""
    new, _ = _databases(postgres_cluster)
    return new


@pytest.fixture
def postgres_database(postgres_cluster):
    """`new(template=None) -> URL`: databases of one test, dropped after it."""
    new, made = _databases(postgres_cluster)
    yield new
    for name in made:
        postgres_cluster.drop_database(name)


@pytest.fixture(scope="session")
def postgres_templates(postgres_cluster, postgres_databases, demo_db):
    """Template databases: `cx_empty` (migrated) and `cx_demo` (the demo programme copied from the
    DuckDB demo file, so both back ends hold the same rows)."""
    from cx.postgres import close_pool

    templates = {}
    for name, source in (("cx_empty", None), ("cx_demo", demo_db)):
        store = open_shared(postgres_cluster, postgres_databases())
        if source is not None:
            copy_programme(open_store(source), store)
        templates[name] = store.url.split("?")[0].rsplit("/", 1)[1]
        for url in (store.url, store.owner):
            close_pool(url)  # a template has no open connection
    return templates


@pytest.fixture
def store(tmp_path, backend, request):
    """An empty, migrated database (a DuckDB file, or a PostgreSQL database for `backend`)."""
    if backend == "postgres":
        templates = request.getfixturevalue("postgres_templates")
        return _shared_for_the_test(request, request.getfixturevalue("postgres_database")(templates["cx_empty"]))
    return open_store(tmp_path / "cx.duckdb")


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """A small seeded demo programme, built once per test session (copy it before writing)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    load_demo(open_store(path), seed=11, organisations=400, exchanges=300, today=DEMO_DAY)
    return path


@pytest.fixture
def demo_store(demo_db, tmp_path, backend, request):
    """A writable copy of the demo database (on `backend`)."""
    if backend == "postgres":
        templates = request.getfixturevalue("postgres_templates")
        return _shared_for_the_test(request, request.getfixturevalue("postgres_database")(templates["cx_demo"]))
    path = tmp_path / "demo.duckdb"
    path.write_bytes(demo_db.read_bytes())
    return open_store(path)


@pytest.fixture
def app_db(demo_db, monkeypatch, tmp_path):
    """Point the app (AppTest runs in this process) at a copy of the demo database."""
    path = tmp_path / "app.duckdb"
    path.write_bytes(demo_db.read_bytes())
    monkeypatch.setenv("CX_DB", str(path))
    return path


def _serving(folder: Path):
    """Yields `start(database) -> URL`, which runs `streamlit run app.py` on 127.0.0.1 on that
    database file (logging into `folder`); every server started stops when this is resumed."""
    started = []

    def start(path: Path) -> str:
        port = free_port()
        log_path = folder / f"streamlit-{port}.log"
        log = open(log_path, "w")
        process = subprocess.Popen(
            app_command(port), cwd=PROJECT_ROOT, env={**os.environ, "CX_DB": str(path)}, stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/_stcore/health", process, log_path)
        return url

    yield start
    for process, log in started:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture
def serve(tmp_path):
    """`serve(database)`: `streamlit run app.py` on 127.0.0.1 on that database file; returns the
    URL. Every server started is stopped after the test."""
    yield from _serving(tmp_path)


@pytest.fixture
def streamlit_server(demo_db, tmp_path, serve):
    """`streamlit run app.py` on 127.0.0.1 with its own copy of the demo database; yields the URL."""
    path = tmp_path / "server.duckdb"
    path.write_bytes(demo_db.read_bytes())
    return serve(path)


@pytest.fixture(scope="module")
def module_server(demo_db, tmp_path_factory):
    """One server of the demo programme for every test of a module (they must not depend on each
    other's writes)."""
    folder = tmp_path_factory.mktemp("server")
    path = folder / "server.duckdb"
    path.write_bytes(demo_db.read_bytes())
    servers = _serving(folder)
    yield next(servers)(path)
    next(servers, None)


@pytest.fixture
def browser():
    """Headless Debian chromium (never a downloaded browser), with background networking off."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


RUNNING = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'


def settle(page, quiet_ms: int = 1_000) -> None:
    """Wait until the script has not been running for `quiet_ms`: a rerun replaces the focused element."""
    quiet = 0
    for _ in range(600):  # a minute at most: a page that never settles fails at the next step
        if quiet >= quiet_ms:
            return
        page.wait_for_timeout(100)
        quiet = 0 if page.locator(RUNNING).count() else quiet + 100


def offline_context(browser, viewport: dict):
    """A fresh context and its page, in which every request that is not to 127.0.0.1 is aborted;
    `page.blocked` lists them."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.blocked = []

    def route(route):
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return context, page


def _offline(browser, viewport: dict):
    """An offline page (see `offline_context`), its context closed after the test."""
    context, page = offline_context(browser, viewport)
    yield page
    context.close()


@pytest.fixture
def offline_page(browser):
    """A desktop-sized offline page (see `_offline`)."""
    yield from _offline(browser, {"width": 1400, "height": 1000})


@pytest.fixture
def phone_page(browser):
    """An offline page (see `_offline`) as wide as a phone held upright: 390 x 844 CSS pixels."""
    yield from _offline(browser, {"width": 390, "height": 844})


def _comparable(value):
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist() if hasattr(value, "tolist") else value
        return tuple(map(_comparable, value)) if isinstance(value, (list, tuple)) else value
    return None if value is None or value != value else str(value)


@pytest.fixture(scope="session")
def snapshot():
    """`snapshot(store)`: the programme's tables as comparable rows, to check that something
    left the database exactly as it was."""
    def take(store):
        with store.connect(read_only=True) as con:
            return {table: [tuple(map(_comparable, row)) for row in con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()]
                    for table in ("partnerships", "organisations", "exchanges", "exchange_events")}
    return take
