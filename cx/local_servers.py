"""Servers that the tests, the benchmarks and `make run-shared` start on this machine (PostgreSQL,
Streamlit, an OpenID Connect provider, a mail server): a free port for one, and waiting until it
answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Return once `url` answers; raise, with the end of the process's log, if the process ends or
    `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
                raise RuntimeError(f"{url} did not answer; the end of {log}:\n{tail}") from None
            time.sleep(0.3)
