"""`recshelf demo`: everything on one machine with no cloud account and no Agora account.

A local folder store is seeded with sample recordings (complete ones and the abnormal cases a real
bucket shows), verified once so the terminal shows what the UI will show, and then the web UI and
the server (signed media, share links, the Agora simulator, the callback receiver) are started.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storage.catalog import find
from storage.commands.common import fail_on_store_errors
from storage.commands.ui_commands import DEFAULT_UI_PORT, ui_command
from storage.samples import seed_demo
from storage.stores.local import LocalStore
from storage.verify import verify

DataOpt = Annotated[Path, typer.Option("--data", envvar="RECSHELF_DATA",
                                       help="Data folder: the sample store, events and jobs live here.")]


def demo_store(data: Path) -> LocalStore:
    """The demo's local store under `data`, seeded with sample recordings the first time."""
    folder = (data / "store").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    store = LocalStore(str(folder))
    if next(iter(store.list()), None) is None:
        console = Console(stderr=True)
        with console.status("generating sample recordings (real H.264/AAC slices)…"):
            seed_demo(store)
    return store


def demo_command(
    data: DataOpt = Path("recshelf-data"),
    port: Annotated[int, typer.Option("--port", help="Port of the web UI.")] = DEFAULT_UI_PORT,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Seed and verify the samples, then exit.")] = False,
) -> None:
    """Run recshelf on a local folder of generated sample recordings, with the web UI."""
    data.mkdir(parents=True, exist_ok=True)
    with fail_on_store_errors():
        store = demo_store(data)
        reports = [verify(store, rec) for rec in find(store)]
    counts = Counter(r.status for r in reports)
    console = Console()
    console.print(f"[bold]{len(reports)} sample recordings[/] in {store.url}: "
                  + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    console.print(f"  try: recshelf ls {store.url}   ·   recshelf verify {store.url}")
    if no_ui:
        return
    os.environ["RECSHELF_DATA"] = str(data.resolve())
    os.environ.setdefault("RECSHELF_SIMULATOR", "1")
    os.environ.setdefault("RECSHELF_SIMULATOR_STORE", store.url)
    ui_command(store=store.url, port=port)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
