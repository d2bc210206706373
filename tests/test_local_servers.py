"""Waiting for a server that the tests, the benchmarks or `make run-shared` start."""

import subprocess
import sys
from pathlib import Path

import pytest

from cx.local_servers import free_port, wait_for


def started(tmp_path, *arguments: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, *arguments], stdout=out, stderr=subprocess.STDOUT), log


def test_waits_until_the_server_answers(tmp_path):
    port = free_port()
    process, log = started(tmp_path, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path))
    try:
        wait_for(f"http://127.0.0.1:{port}/", process, log)
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait()


def test_a_server_that_ends_is_reported_with_its_log(tmp_path):
    process, log = started(tmp_path, "-c", "print('port already taken', flush=True)")
    with pytest.raises(RuntimeError, match="port already taken"):
        wait_for(f"http://127.0.0.1:{free_port()}/", process, log)
