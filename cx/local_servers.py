"""Servers that the tests, the benchmarks and `make run-shared` start on this machine (PostgreSQL,
Streamlit, an OpenID Connect provider, a mail server): a free port for one, and waiting until it
answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotAnswering(RuntimeError):
    """A server that was started did not answer."""


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
                raise NotAnswering(f"{url} did not answer; the end of {log}:\n{tail}") from None
            time.sleep(0.3)


def app_command(port: int, *options: str) -> list[str]:
    """`streamlit run app.py` (run it in the project's folder) on 127.0.0.1:`port`, headless and
    sending no usage statistics, with Streamlit's further `options`."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false", *options]


def provider_command(port: int) -> list[str]:
    """A local OpenID Connect provider on 127.0.0.1:`port` (oidc-provider-mock: it accepts any user
    name, so it is for tests and development only)."""
    return [sys.executable, "-c", "import sys, werkzeug.serving, oidc_provider_mock; werkzeug.serving.make_server("
            "'127.0.0.1', int(sys.argv[1]), oidc_provider_mock.app()).serve_forever()", str(port)]


def write_login_secrets(path: Path, app_port: int, provider: str, client: str) -> Path:
    """Streamlit's secrets for `st.login` through the provider at URL `provider`, for the app on
    127.0.0.1:`app_port`, as client `client` (its secret and the cookie's are for development)."""
    path.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "{client}: a development secret, never used in production"
client_id = "{client}"
client_secret = "{client}-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    return path
