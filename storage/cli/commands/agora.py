"""`recshelf record acquire|start|query|stop`: drive Agora Cloud Recording (or the local simulator).

Credentials come from AGORA_CUSTOMER_ID / AGORA_CUSTOMER_SECRET, the App ID from --app-id or
AGORA_APP_ID, the API from --base-url or AGORA_BASE_URL (default: Agora's domains with fallback).
`start` prints a session as JSON; `query` and `stop` accept it back with --session FILE ('-' = stdin).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from storage.cli.common import EXIT_NOT_OK, error_exit

record_app = typer.Typer(name="record", help="Start, query and stop Agora cloud recordings.", no_args_is_help=True)

AppIdOpt = Annotated[str, typer.Option("--app-id", envvar="AGORA_APP_ID", help="Agora App ID.")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", envvar="AGORA_BASE_URL",
                                                help="REST API base URL (e.g. the simulator's).")]
ModeOpt = Annotated[str, typer.Option("--mode", help="mix (composite), individual or web.")]
SessionOpt = Annotated[Path | None, typer.Option("--session", help="Session JSON printed by `record start`.")]
RidOpt = Annotated[str | None, typer.Option("--resource-id", help="Resource ID from acquire.")]
SidOpt = Annotated[str | None, typer.Option("--sid", help="Recording ID from start.")]


def register(app: typer.Typer) -> None:
    app.add_typer(record_app)


@contextmanager
def _agora_errors() -> Iterator[None]:
    from storage.agora.errors import AgoraAuthError, AgoraError
    from storage.agora.storage_config import StorageConfigError
    from storage.stores.base import StoreError

    try:
        yield
    except (AgoraAuthError, StorageConfigError, StoreError, ValueError) as exc:
        raise error_exit(str(exc)) from None
    except AgoraError as exc:  # the service answered "no": the message has the doc's meaning and advice
        print(f"recshelf: agora: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_NOT_OK) from None


def _controller(app_id: str, base_url: str | None) -> Any:
    from storage.agora.controller import RecordingController
    from storage.cli.common import settings_or_exit

    return RecordingController.from_env(app_id, settings_or_exit(), base_url=base_url)


def _print(model: Any) -> None:
    print(json.dumps(model.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2))


def _session(session: Path | None, resource_id: str | None, sid: str | None, cname: str | None,
             uid: str | None, mode: str, app_id: str) -> Any:
    from storage.agora.controller import RecordingSession

    if session is not None:
        text = sys.stdin.read() if str(session) == "-" else session.read_text()
        return RecordingSession.model_validate_json(text)
    if not (resource_id and sid):
        raise error_exit("give --session FILE, or --resource-id and --sid")
    from datetime import UTC, datetime

    return RecordingSession(app_id=app_id, cname=cname or "", uid=uid or "0", mode=mode, resource_id=resource_id,
                            sid=sid, started_at=datetime.now(UTC), store_url="", folder="")


@record_app.command("acquire")
def acquire(cname: Annotated[str, typer.Argument(help="Channel name.")],
            uid: Annotated[str, typer.Option("--uid", help="The recorder's uid in the channel.")],
            app_id: AppIdOpt, base_url: BaseUrlOpt = None) -> None:
    """Reserve a resource ID (valid 5 minutes)."""
    with _agora_errors():
        _print(_controller(app_id, base_url).client.acquire(cname, uid))


@record_app.command("start")
def start(cname: Annotated[str, typer.Argument(help="Channel name.")],
          store: Annotated[str, typer.Option("--store", help="Where Agora uploads: store URL, folder or profile.")],
          app_id: AppIdOpt, base_url: BaseUrlOpt = None, mode: ModeOpt = "mix",
          prefix: Annotated[str, typer.Option("--prefix", help="Extra fileNamePrefix folders, a/b.")] = "",
          uid: Annotated[str | None, typer.Option("--uid", help="Recorder uid (random if not given).")] = None,
          token: Annotated[str | None, typer.Option("--token", envvar="AGORA_RTC_TOKEN",
                                                    help="RTC token for the recorder.")] = None) -> None:
    """acquire + start; prints the session JSON that query and stop take back."""
    with _agora_errors():
        parts = [p for p in prefix.split("/") if p]
        session = _controller(app_id, base_url).start_recording(cname, storage=store, mode=mode, uid=uid,
                                                                file_name_prefix=parts or None, token=token)
        _print(session)


@record_app.command("query")
def query(app_id: AppIdOpt, base_url: BaseUrlOpt = None, session: SessionOpt = None, resource_id: RidOpt = None,
          sid: SidOpt = None, mode: ModeOpt = "mix") -> None:
    """The recording's status and file list."""
    with _agora_errors():
        current = _session(session, resource_id, sid, None, None, mode, app_id)
        _print(_controller(app_id, base_url).query(current))


@record_app.command("stop")
def stop(app_id: AppIdOpt, base_url: BaseUrlOpt = None, session: SessionOpt = None, resource_id: RidOpt = None,
         sid: SidOpt = None, mode: ModeOpt = "mix",
         cname: Annotated[str | None, typer.Option("--cname", help="Channel name (without --session).")] = None,
         uid: Annotated[str | None, typer.Option("--uid", help="Recorder uid (without --session).")] = None,
         async_stop: Annotated[bool, typer.Option("--async", help="Answer at once, don't wait for uploads.")] = False,
         ) -> None:
    """Stop; prints uploadingStatus (uploaded / backuped / unknown) and the file list."""
    with _agora_errors():
        current = _session(session, resource_id, sid, cname, uid, mode, app_id)
        _print(_controller(app_id, base_url).stop(current, async_stop=async_stop))
