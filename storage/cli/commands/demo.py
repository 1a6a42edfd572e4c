"""`recshelf demo`: everything on one machine with no cloud account and no Agora account.

A local folder store is seeded with sample recordings (complete ones and the abnormal cases a real
bucket shows), verified once so the terminal shows what the UI will show, and then the web UI and
the server are started. The server runs as `recshelf serve` with the Agora simulator enabled: the
Record page talks to the simulator's REST API with credentials generated for this run, the simulator
records into the demo store (the local-store extension vendor), and its signed callbacks go to the
server's own `/agora/events`, which stores them and verifies the recordings they announce.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storage.cli.commands.ui import DEFAULT_UI_PORT, interrupt, run_ui, server_port_for
from storage.cli.common import fail_on_store_errors, require_extra
from storage.recordings.catalog import find
from storage.service.db import DATA_ENV, DEFAULT_DATA
from storage.settings import CONFIG_ENV, UI_STORE_ENV
from storage.stores.local import LocalStore

HOST = "127.0.0.1"  # the demo's credentials are throw-away; never listen beyond this machine
DEMO_CUSTOMER_ID = "recshelf-demo"
ENV_FILE = "agora-demo.env"  # in the data folder: lets `recshelf record` reach the same simulator

DataOpt = Annotated[Path, typer.Option("--data", envvar=DATA_ENV,
                                       help="Data folder: the sample store, events and jobs live here.")]


def demo_store(data: Path) -> LocalStore:
    """The demo's local store under `data`, seeded with sample recordings the first time."""
    folder = (data / "store").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    store = LocalStore(str(folder))
    if next(iter(store.list()), None) is None:
        console = Console(stderr=True)
        with console.status("generating sample recordings (real H.264/AAC slices)…"):
            # Imported here: PyAV and numpy cost every other `recshelf` command ~0.3 s at start-up.
            from storage.demo.samples import seed_demo

            seed_demo(store)
    return store


def demo_environment(data: Path, store_url: str, server_url: str) -> dict[str, str]:
    """What the server (simulator + callback receiver) and the UI (Record page) must share for this run.

    The REST credentials and the NCS secret are generated per run and travel only through the
    children's environment (and the 0600 env file), never through the terminal.
    """
    env = {
        DATA_ENV: str(data.resolve()),
        "RECSHELF_SIMULATOR": "1",
        "RECSHELF_SIMULATOR_STORES": store_url,  # the only folder the simulator may record into
        # The simulator reads the same AGORA_CUSTOMER_* as the Record page's client, so they match.
        "AGORA_APP_ID": secrets.token_hex(16),
        "AGORA_CUSTOMER_ID": DEMO_CUSTOMER_ID,
        "AGORA_CUSTOMER_SECRET": secrets.token_urlsafe(24),
        "AGORA_BASE_URL": server_url,
        "AGORA_NCS_SECRET": secrets.token_urlsafe(24),
        "RECSHELF_SIMULATOR_CALLBACK_URL": server_url + "/agora/events",
        UI_STORE_ENV: store_url,
    }
    config = _demo_config(data, store_url)
    if config is not None:
        env[CONFIG_ENV] = str(config)
    return env


def _demo_config(data: Path, store_url: str) -> Path | None:
    """A recshelf.toml whose [rules] make the server verify what the simulator records — only when the
    user has no configuration of their own (theirs keeps its profiles and rules)."""
    from storage.settings import find_config_path
    from storage.stores.base import InvalidConfig

    try:
        if find_config_path() is not None:
            return None
    except InvalidConfig:
        return None  # `recshelf ui` reports it
    path = (data / "demo.toml").resolve()
    path.write_text("# Written by `recshelf demo`: verify what the Agora simulator records into the demo store.\n"
                    f"[rules]\nstore = {json.dumps(store_url)}\n", encoding="utf-8")  # JSON escapes are TOML's
    return path


def write_env_file(data: Path, env: dict[str, str]) -> Path:
    """The simulator's connection settings as shell assignments, readable by the owner only."""
    names = ("AGORA_APP_ID", "AGORA_BASE_URL", "AGORA_CUSTOMER_ID", "AGORA_CUSTOMER_SECRET")
    path = data / ENV_FILE
    path.unlink(missing_ok=True)  # a fresh file gets the 0600 mode below, an old one might not have it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# `recshelf demo` Agora simulator (valid while the demo runs)\n")
        f.writelines(f"{name}={env[name]}\n" for name in names)
    return path


def _server_port(wanted: int | None) -> int:
    """The given port, else recshelf.toml's [server] port when free, else any free port."""
    from storage.settings import Settings
    from storage.stores.base import InvalidConfig

    try:
        configured = Settings.load().server.port
    except InvalidConfig:
        configured = 0  # `recshelf ui` reports the broken file
    return server_port_for(HOST, wanted, configured)


def demo_command(
    data: DataOpt = Path(DEFAULT_DATA),
    port: Annotated[int, typer.Option("--port", help="Port of the web UI.")] = DEFAULT_UI_PORT,
    server_port: Annotated[int | None, typer.Option(
        "--server-port", help="Port of the server (Agora simulator, callbacks, media); default: \\[server] "
                              "port when free, else any free port.")] = None,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Seed and verify the samples, then exit.")] = False,
) -> None:
    """Run recshelf on a local folder of sample recordings, with the web UI and an Agora simulator to record."""
    require_extra("demo", "numpy", *([] if no_ui else ["fastapi", "uvicorn"]))
    if not no_ui:
        require_extra("ui", "streamlit")
    from storage.recordings.verify import verify  # here: the playlist parser slows every other command's start

    data.mkdir(parents=True, exist_ok=True)
    with fail_on_store_errors():
        store = demo_store(data)
        reports = [verify(store, rec) for rec in find(store)]
    counts = Counter(r.status for r in reports)
    console = Console(highlight=False, soft_wrap=True)  # long URLs stay copyable
    console.print(f"[bold]{len(reports)} sample recordings[/] in {store.url}: "
                  + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    console.print(f"  try: recshelf ls {store.url}   ·   recshelf verify {store.url}")
    if no_ui:
        return
    sport = _server_port(server_port)
    server_url = f"http://{HOST}:{sport}"
    env = demo_environment(data, store.url, server_url)
    env_file = write_env_file(data, env)
    console.print(f"[bold]Agora simulator[/] at {server_url} (demo App ID {env['AGORA_APP_ID']}): records into "
                  f"the demo store; its callbacks go to {server_url}/agora/events")
    console.print(f"  record: the web UI's Record page   ·   or the CLI: set -a; . {shlex.quote(str(env_file))}; "
                  f"set +a; recshelf record start demo --store {store.url}")
    console.print("starting the server and the web UI… (Ctrl-C stops both)")
    signal.signal(signal.SIGTERM, interrupt)  # before the children start: a SIGTERM in start-up stops both
    # A SIGTERM before ui_command's own handler is in place: it has already stopped what it started.
    with contextlib.suppress(KeyboardInterrupt):
        run_ui(store=store.url, port=port, host=HOST, server_port=sport, callbacks=True, extra_env=env)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
