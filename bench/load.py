"""How the app holds up when many people use it at once: server time per page run and the
server's memory, with 1, 5 and 20 concurrent sessions.

Starts `streamlit run app.py` on 127.0.0.1 with a demo database, then drives sessions the way the
browser does, over Streamlit's own websocket protocol (`/_stcore/stream`, protobuf BackMsg /
ForwardMsg): each session opens Uptake, changes a filter (its own visitor country), opens Find a
host and searches (its own objectives). This, not AppTest in threads, because it is the real
server: its session manager, its script threads, the serialisation of every element and the
shared caches, in the process whose memory is measured; AppTest would run scripts in the
benchmark's own process without any of that. A run's time is from the rerun request to the
server's "script finished": on loopback, the server's time, queueing included. A few real
headless chromium sessions (every request off 127.0.0.1 blocked) then check that the protocol
sessions are representative. The server's resident memory is sampled throughout.

`--baseline DIR` runs the same load on another checkout (e.g. `git archive` of an older commit)
in the same run, the two servers taking turns phase by phase, and prints the ratios. Bounded:
every wait has a timeout (`--timeout`), and the servers are stopped at the end.

Run: python bench/load.py [--sessions 1 5 20] [--rounds 2] [--browsers 3]
                          [--organisations 2000 --exchanges 1500 | --db FILE] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cx.ecosystems import OBJECTIVES  # noqa: E402
from cx.local_servers import app_command, free_port, wait_for  # noqa: E402

COUNTRIES = ("DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT", "PT", "SE", "CZ", "FI", "DK", "IE", "RO", "HU",
             "GR", "SK", "SI", "HR", "BG", "LT", "LV", "EE")
STEPS = ("Uptake: open", "Uptake: filter", "Find a host: open", "Find a host: search")
CHROMIUM = "/usr/bin/chromium"


# --- the server -----------------------------------------------------------------------------

class Server:
    """`streamlit run app.py` of a checkout, on a free loopback port, with its memory sampled."""

    def __init__(self, checkout: Path, database: Path, log: Path):
        self.port = free_port()
        self.log = open(log, "w")
        self.process = subprocess.Popen(
            app_command(self.port, "--server.fileWatcherType", "none"), cwd=checkout,
            env={**os.environ, "CX_DB": str(database)}, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.samples: list[tuple[float, str, int]] = []  # (seconds since start, phase, resident MB)
        self.phase = "start"
        self.started = time.monotonic()
        wait_for(f"{self.url}/_stcore/health", self.process, log, seconds=120)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def memory_mb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append((time.monotonic() - self.started, self.phase, self.memory_mb()))

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- one session over the websocket protocol -------------------------------------------------

@dataclass
class Session:
    """A browser tab as the server sees it: reruns with widget states, elements back."""
    url: str
    timeout: float
    widgets: dict[str, str] = field(default_factory=dict)  # user key -> widget id, from the elements
    pages: dict[str, str] = field(default_factory=dict)  # url path -> page script hash
    page_hash: str = ""
    path: str = ""  # the page's URL path, which a browser sends with each rerun (st.context.url)
    headings: list[str] = field(default_factory=list)  # the last run's headings, to check what it showed
    received: int = 0  # bytes the last run sent to the browser

    async def __aenter__(self):
        self.socket = await connect(self.url.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                                    max_size=None, open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc):
        await self.socket.close()

    async def run(self, page: str | None = None, **states) -> float:
        """Rerun the script (on `page` if given) with these widget states; the seconds until the
        server says the run finished. Raises on an exception element or an early finish."""
        message = BackMsg()
        client = message.rerun_script
        if page is not None:
            client.page_name = self.path = page
            client.page_script_hash = self.pages.get(page, "")
        else:
            client.page_script_hash = self.page_hash
        client.context_info.url = f"{self.url}/{self.path}"
        for key, value in states.items():
            state = client.widget_states.widgets.add()
            state.id = self.widgets[key]
            if value is True:
                state.trigger_value = True
            elif isinstance(value, list):
                state.string_array_value.data.extend(value)
            else:
                state.string_value = value
        self.headings, self.received = [], 0
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        async with asyncio.timeout(self.timeout):
            while True:
                data = await self.socket.recv()
                self.received += len(data)
                reply = ForwardMsg()
                reply.ParseFromString(data)
                kind = reply.WhichOneof("type")
                if kind == "script_finished":
                    if reply.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                        raise RuntimeError(f"the run ended with {ForwardMsg.ScriptFinishedStatus.Name(reply.script_finished)}")
                    return time.perf_counter() - started
                if kind == "navigation":
                    self.page_hash = reply.navigation.page_script_hash
                    self.pages = {p.url_pathname: p.page_script_hash for p in reply.navigation.app_pages}
                elif kind == "new_session":
                    self.page_hash = reply.new_session.page_script_hash or self.page_hash
                elif kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                    element = reply.delta.new_element
                    what = element.WhichOneof("type")
                    if what == "heading":
                        self.headings.append(element.heading.body)
                    if what == "exception":
                        raise RuntimeError(f"the page raised {element.exception.type}: {element.exception.message}")
                    widget_id = getattr(getattr(element, what), "id", "")
                    if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
                        self.widgets[widget_id.split("-", 2)[2]] = widget_id


async def one_user(url: str, number: int, rounds: int, timeout: float) -> list[tuple[str, float]]:
    """One person's visit, `rounds` times: Uptake, a filter of their own, Find a host, a search."""
    times = []
    async with Session(url, timeout) as session:
        for round_ in range(rounds):
            country = COUNTRIES[(number + round_) % len(COUNTRIES)]
            objectives = OBJECTIVES[(number + round_) % len(OBJECTIVES)]
            times.append((STEPS[0], await session.run("uptake")))
            times.append((STEPS[1], await session.run(visitor_country=[country])))
            times.append((STEPS[2], await session.run("find_a_host")))
            times.append((STEPS[3], await session.run(objectives=objectives, find=True)))
            if not any(" for " in heading for heading in session.headings):
                raise RuntimeError(f"the search {objectives!r} listed no hosts: {session.headings}")
    return times


async def protocol_load(url: str, sessions: int, rounds: int, timeout: float) -> list[tuple[str, float]]:
    results = await asyncio.gather(*(one_user(url, n, rounds, timeout) for n in range(sessions)))
    return [step for user in results for step in user]


# --- a few real browsers -----------------------------------------------------------------------

async def browser_load(url: str, browsers: int, timeout: float) -> list[tuple[str, float]]:
    """Real chromium tabs at once, offline: Uptake drawn, then Find a host answered; seconds each."""
    from playwright.async_api import async_playwright

    blocked: list[str] = []

    async def route(route):
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async def visit(browser, number):
        page = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
        await page.route("**/*", route)
        await page.goto(url)
        await page.get_by_text("ClusterXchange at a glance").wait_for(timeout=timeout * 1000)
        started = time.perf_counter()
        await page.get_by_role("link", name="Uptake").click()
        await page.get_by_text("Visitors registered").wait_for(timeout=timeout * 1000)
        await page.locator(".js-plotly-plot").first.wait_for(timeout=timeout * 1000)
        uptake = time.perf_counter() - started
        started = time.perf_counter()
        await page.get_by_role("link", name="Find a host").click()
        await page.get_by_label("Objectives").fill(OBJECTIVES[number % len(OBJECTIVES)])
        await page.get_by_role("button", name="Find hosts").click()
        await page.get_by_text(" for ").first.wait_for(timeout=timeout * 1000)
        return [("browser: Uptake drawn", uptake), ("browser: Find a host answered", time.perf_counter() - started)]

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        try:
            results = await asyncio.gather(*(visit(browser, n) for n in range(browsers)))
        finally:
            await browser.close()
    if blocked:
        raise RuntimeError(f"the pages asked for something off the machine: {blocked[:3]}")
    return [step for user in results for step in user]


# --- the measurement ---------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 else values[0]


def measure(checkouts: list[Path], database: Path, args, folder: Path) -> list[dict]:
    """Every phase on a fresh server per checkout, each over its own copy of the database. The
    checkouts take turns phase by phase, so that the machine's other work weighs on them alike."""
    servers, results = [], []
    try:
        for number, checkout in enumerate(checkouts):
            copy = folder / f"{number}-{checkout.name}.duckdb"
            shutil.copyfile(database, copy)
            servers.append(Server(checkout, copy, folder / f"{number}-{checkout.name}.log"))
            results.append({"memory": [("started", servers[-1].memory_mb())]})
        for sessions in args.sessions:
            for server, figures in zip(servers, results):
                server.phase = f"{sessions} sessions"
                times = asyncio.run(protocol_load(server.url, sessions, args.rounds, args.timeout))
                for step in STEPS:
                    figures[(sessions, step)] = [seconds for name, seconds in times if name == step]
                figures["memory"].append((f"after {sessions} session{'s' * (sessions > 1)} x {args.rounds} rounds",
                                          server.memory_mb()))
        for server, figures in zip(servers, results):
            if args.browsers:
                server.phase = "browsers"
                times = asyncio.run(browser_load(server.url, args.browsers, args.timeout))
                for step in sorted({name for name, _ in times}):
                    figures[("chromium", step)] = [seconds for name, seconds in times if name == step]
                figures["memory"].append((f"after {args.browsers} chromium sessions", server.memory_mb()))
            figures["peak"] = max((mb for _, _, mb in server.samples), default=server.memory_mb())
            figures["timeline"] = server.samples
    finally:
        for server in servers:
            server.stop()
    return results


def report(label: str, figures: dict, baseline: dict | None) -> None:
    print(f"\n{label}")
    print(f"{'sessions':>9}  {'step':<32}{'runs':>5}{'p50':>9}{'p95':>9}" + ("   p50/p95 against the baseline" if baseline else ""))
    for key, values in figures.items():
        if not isinstance(key, tuple):
            continue
        sessions, step = key
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        line = f"{sessions!s:>9}  {step:<32}{len(values):>5}{p50:>8.2f}s{p95:>8.2f}s"
        if baseline and key in baseline:
            line += f"   {statistics.median(baseline[key]) / p50:.1f}x / {percentile(baseline[key], 0.95) / p95:.1f}x faster"
        print(line)
    print("memory (resident MB): " + ", ".join(f"{phase} {mb}" for phase, mb in figures["memory"])
          + f"; peak {figures['peak']}")
    timeline = figures["timeline"]
    if timeline:
        every = max(1, len(timeline) // 12)
        print("memory over time: " + ", ".join(f"{t:.0f}s {mb}" for t, _, mb in timeline[::every]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the pages per session")
    parser.add_argument("--browsers", type=int, default=3)
    parser.add_argument("--organisations", type=int, default=2000)
    parser.add_argument("--exchanges", type=int, default=1500)
    parser.add_argument("--db", type=Path, help="an existing database instead of a new demo")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure the same way, for ratios")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cx-load-"))
    database = args.db
    if database is None:
        from cx.demo import load_demo
        from cx.store import open_store

        database = folder / "demo.duckdb"
        started = time.perf_counter()
        counts = load_demo(open_store(database), organisations=args.organisations, exchanges=args.exchanges)
        print(f"demo database: {counts['organisations']:,} organisations, {counts['exchanges']:,} exchanges "
              f"({time.perf_counter() - started:.0f} s)")
    *baseline, figures = measure([args.baseline.resolve(), ROOT] if args.baseline else [ROOT], database, args, folder)
    baseline = baseline[0] if baseline else None
    if baseline:
        report(f"baseline: {args.baseline}", baseline, None)
    report(f"this checkout: {ROOT}", figures, baseline)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
