"""`recshelf ui [STORE]`: the Streamlit web UI, plus storage/server/app.py for local media and share links.

Both listen on 127.0.0.1 unless told otherwise. The UI and the server must agree on the media
secret (local-folder slice URLs and share links are HMAC-signed with it), so when none is configured
one is generated for this run and handed to both processes through the environment, never printed.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from storage.cli.common import error_exit, require_extra, settings_or_exit
from storage.cli.streamlit_secrets import streamlit_secrets_file
from storage.settings import (
    MEDIA_SECRET_ENV,
    MEDIA_URL_ENV,
    SERVER_URL_ENV,
    UI_PASSWORD_ENV,
    UI_STORE_ENV,
)
from storage.testing import net
from storage.testing.net import free_port

DEFAULT_UI_PORT = 8501
STARTUP_TIMEOUT_S = 30.0

StoreArg = Annotated[str | None, typer.Argument(help="Store URL or profile to open first (optional).")]
PortOpt = Annotated[int, typer.Option("--port", help="Port of the web UI.")]
HostOpt = Annotated[str, typer.Option("--host", help="Address both processes listen on. Keep 127.0.0.1 unless "
                                                      "the UI has a password (RECSHELF_UI_PASSWORD).")]
ServerPortOpt = Annotated[int | None, typer.Option(
    "--server-port", help="Port of the recshelf server (default: \\[server] port in recshelf.toml, "
                          "or a free one when that is taken).")]
CallbacksOpt = Annotated[bool, typer.Option(
    "--callbacks", help="Run the server as `recshelf serve`: it also stores Agora callbacks (POST /agora/events) "
                        "and runs their jobs. Needs AGORA_NCS_SECRET.")]
NoServerOpt = Annotated[bool, typer.Option(
    "--no-server", help="Do not start the server (local-folder playback and share links then need one "
                        "started elsewhere, named by RECSHELF_SERVER_URL).")]


def app_script() -> Path:
    """webui/app.py, found without importing the UI (storage/ never imports webui/)."""
    spec = importlib.util.find_spec("webui")
    if spec is None or not spec.submodule_search_locations:
        raise error_exit("the web UI is not installed: pip install 'recshelf[ui]'")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def server_port_for(host: str, wanted: int | None, configured: int) -> int:
    """`wanted` (which must be free), else the configured port when free, else any free port.

    A configured 0 means "any": the server must listen on a real port, since the UI is told its URL.
    """
    if wanted:
        if port_taken(host, wanted):
            raise error_exit(f"port {wanted} on {host} is already in use")
        return wanted
    if configured and not port_taken(host, configured):
        return configured
    return free_port(host)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def url_host(host: str) -> str:
    """The host part of a URL reaching `host`: a wildcard address is reached through loopback."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Return once `url` answers 200; exit with one line when `proc` dies first or `timeout_s` passes."""
    try:
        net.wait_healthy(url, proc, what, timeout_s)
    except net.NotHealthy as exc:
        raise error_exit(str(exc)) from None


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def interrupt(signum: int, frame: object) -> None:
    """A signal handler that stops like Ctrl-C, so `finally` blocks stop the children."""
    raise KeyboardInterrupt


def ui_command(store: StoreArg = None, port: PortOpt = DEFAULT_UI_PORT, host: HostOpt = "127.0.0.1",
               server_port: ServerPortOpt = None, no_server: NoServerOpt = False,
               callbacks: CallbacksOpt = False) -> None:
    """Open the web UI: browse, verify, play, download and share recordings."""
    run_ui(store=store, port=port, host=host, server_port=server_port, no_server=no_server, callbacks=callbacks)


def run_ui(*, store: str | None, port: int, host: str, server_port: int | None, no_server: bool = False,
           callbacks: bool = False, extra_env: dict[str, str] | None = None) -> None:
    """`recshelf ui`; `extra_env` is what the children get on top of this process's environment (the demo's)."""
    require_extra("ui", "streamlit", *([] if no_server else ["fastapi", "uvicorn"]))
    settings = settings_or_exit()
    config = settings.config
    if settings.oidc is not None:
        require_extra("ui", "authlib")  # st.login's OpenID Connect client
    if not is_loopback(host) and not (settings.ui_password or settings.users or settings.oidc):
        print(f"recshelf: warning: the UI listens on {host} without a password; set {UI_PASSWORD_ENV}",
              file=sys.stderr)
    env = settings.child_environment(**(extra_env or {}))
    env[MEDIA_SECRET_ENV] = settings.media_secret or secrets.token_urlsafe(32)
    if store:
        env[UI_STORE_ENV] = store
    server: subprocess.Popen[bytes] | None = None
    ui: subprocess.Popen[bytes] | None = None
    try:
        if not no_server:
            sport = server_port_for(host, server_port, config.server.port)
            server_url = f"http://{url_host(host)}:{sport}"
            # The server is told its own URL too: it signs local-folder slice URLs of share links
            # for it (without it, every local share link answered 502: issue 12).
            env[SERVER_URL_ENV] = server_url
            env.setdefault(MEDIA_URL_ENV, (settings.public_url or server_url).rstrip("/"))
            # `recshelf serve` adds the callback intake and job workers to the same app (`recshelf demo`).
            command = (["storage.cli", "serve"] if callbacks
                       else ["uvicorn", "storage.server.app:app_from_environment", "--factory"])
            server = subprocess.Popen(
                [sys.executable, "-m", *command, "--host", host, "--port", str(sport), "--log-level", "warning"],
                env=env)
            wait_healthy(server_url + "/healthz", server, "recshelf server")
        server_url = env.get(SERVER_URL_ENV)
        if server_url:
            # Browsers fetch local-folder slices from the server: its public URL when one is configured.
            env.setdefault(MEDIA_URL_ENV, (settings.public_url or server_url).rstrip("/"))
        with streamlit_secrets_file(settings.oidc, env[MEDIA_SECRET_ENV]) as secrets_file:
            # Only our secrets file: a stray ~/.streamlit/secrets.toml must not configure the login.
            secrets_args = ["--secrets.files", str(secrets_file)] if secrets_file else []
            ui = subprocess.Popen(
                [sys.executable, "-m", "webui.launch", "run", str(app_script()), "--server.address", host,
                 "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
                 "--client.toolbarMode", "minimal", *secrets_args],
                env=env)
            wait_healthy(f"http://{url_host(host)}:{port}/_stcore/health", ui, "web UI")
            print(f"recshelf UI: http://{url_host(host)}:{port}" + (f"  (server {server_url})" if server_url else ""),
                  flush=True)
            # Ctrl-C or SIGTERM ends both children, not just this process.
            signal.signal(signal.SIGTERM, interrupt)
            ui.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(ui)
        stop(server)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
