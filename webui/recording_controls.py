"""What the Record page computes, kept free of Streamlit: connection settings, targets, errors in words.

The Agora connection comes from the same environment variables `recshelf record` reads
(AGORA_APP_ID, AGORA_BASE_URL, AGORA_CUSTOMER_ID, AGORA_CUSTOMER_SECRET); `recshelf demo` sets them
to its simulator. The customer secret is only ever read by `AgoraClient` itself: this module knows
whether it is set, never its value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from storage.agora.controller import RecordingController, RecordingSession
from storage.agora.errors import AgoraError, AgoraTransportError
from storage.agora.models import STATUS_NAMES, FileInfo
from storage.agora.storage_config import StorageConfigError, prefix_to_parts
from storage.recordings.catalog import Recording, find
from storage.settings import SERVER_URL_ENV
from storage.stores.base import ObjectStore, StoreError

APP_ID_ENV = "AGORA_APP_ID"
BASE_URL_ENV = "AGORA_BASE_URL"  # the variable `recshelf record --base-url` reads
CUSTOMER_ID_ENV = "AGORA_CUSTOMER_ID"
CUSTOMER_SECRET_ENV = "AGORA_CUSTOMER_SECRET"

MODES = ("mix", "individual", "web")
MODE_LABELS = {"mix": "mix (composite: one mixed recording)", "individual": "individual (one per uid and stream)",
               "web": "web (records a web page)"}
# After these answers to stop the recording is over (exiting, upload timeout, gone, nothing recorded):
# the page moves on to what is in the store instead of offering Stop again.
ENDED_CODES = frozenset({49, 50, 404, 435})
REFRESH_S = 2.0  # live query interval while recording; Agora allows 10 requests/s per App ID

UPLOAD_WORDS = {
    "uploaded": "All files are in your storage.",
    "backuped": "All files were uploaded, but at least one slice went to Agora's backup cloud first; Agora keeps "
                "uploading it to your storage, so the recording may look incomplete until it arrives.",
    "unknown": "Agora did not say whether every file reached your storage: verify the recording.",
}


@dataclass(frozen=True)
class Connection:
    app_id: str
    base_url: str | None  # None: Agora's own domains, with their fallback order
    customer_id: str
    has_secret: bool
    simulator: bool  # the base URL is the recshelf server, which hosts the simulator

    def problems(self) -> list[str]:
        missing = [name for name, ok in ((APP_ID_ENV, self.app_id), (CUSTOMER_ID_ENV, self.customer_id),
                                         (CUSTOMER_SECRET_ENV, self.has_secret)) if not ok]
        return [f"{name} is not set" for name in missing]

    def describe(self) -> str:
        where = self.base_url or "Agora (api.agora.io / api.sd-rtn.com)"
        kind = " — the recshelf Agora simulator" if self.simulator else ""
        secret = "set" if self.has_secret else "not set"
        return (f"REST API `{where}`{kind} · App ID `{self.app_id or '—'}` · "
                f"customer ID `{self.customer_id or '—'}` · customer secret {secret}")


def connection_from_env(env: Mapping[str, str] | None = None) -> Connection:
    if env is None:
        from webui.services import current_settings

        found = current_settings().env
        secret = found.agora_customer_secret
        env = {APP_ID_ENV: found.agora_app_id or "", BASE_URL_ENV: found.agora_base_url or "",
               SERVER_URL_ENV: found.server_url or "", CUSTOMER_ID_ENV: found.agora_customer_id or "",
               CUSTOMER_SECRET_ENV: secret.get_secret_value() if secret else ""}
    base = (env.get(BASE_URL_ENV) or "").strip().rstrip("/") or None
    # The recshelf server: when it is also the REST base URL, that is its Agora simulator.
    server = (env.get(SERVER_URL_ENV) or "").strip().rstrip("/")
    return Connection(app_id=(env.get(APP_ID_ENV) or "").strip(), base_url=base,
                      customer_id=(env.get(CUSTOMER_ID_ENV) or "").strip(),
                      has_secret=bool(env.get(CUSTOMER_SECRET_ENV)), simulator=bool(base and base == server))


@contextmanager
def controller(conn: Connection) -> Iterator[RecordingController]:
    """A controller for one call; the client reads the customer ID and secret from the environment."""
    from webui.services import current_settings

    ctl = RecordingController.from_env(conn.app_id, current_settings(), base_url=conn.base_url)
    try:
        yield ctl
    finally:
        ctl.close()


def target_choices(profiles: Sequence[str], ui_store: str | None, current: str | None) -> list[str]:
    """Stores to record into: the profiles, the store the UI opened with (the demo's), the one browsed now."""
    return list(dict.fromkeys([*profiles, *(s for s in (ui_store, current) if s)]))


def folder_parts(folder: str) -> list[str]:
    """Extra fileNamePrefix folders ("a/b") under the target store; Agora allows letters and digits only."""
    return prefix_to_parts(folder) if folder.strip("/ ") else []


def web_extra(page_url: str) -> dict[str, Any]:
    """clientRequest.extensionServiceConfig for web page recording (reference/agora.md §1.5)."""
    return {"extensionServiceConfig": {"errorHandlePolicy": "error_abort", "extensionServices": [
        {"serviceName": "web_recorder_service", "errorHandlePolicy": "error_abort",
         "serviceParam": {"url": page_url, "audioProfile": 0, "videoWidth": 1280, "videoHeight": 720,
                          "maxRecordingHour": 3}}]}}


@dataclass(frozen=True)
class ErrorView:
    """An error as the page shows it: what failed, the API's code, its documented meaning and advice."""

    title: str
    meaning: str
    advice: str = ""
    reason: str = ""  # the API's own words (`reason` / `message`), when it gave any
    code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_view(exc: Exception, action: str) -> ErrorView:
    """`exc` in words. Agora errors carry the meaning and advice of storage/agora/errors.py."""
    if isinstance(exc, AgoraError):
        call = exc.call or action
        status = []
        if exc.code is not None:
            status.append(f"code {exc.code}")
        if exc.http_status is not None:
            status.append(f"HTTP {exc.http_status}")
        title = f"Agora {call} failed" + (f" ({', '.join(status)})" if status else "")
        meaning = exc.meaning
        if isinstance(exc, AgoraTransportError) or type(exc) is AgoraError:
            meaning = str(exc)  # the message says what happened (connection refused, bad shape, …)
        return ErrorView(title, meaning, exc.advice, exc.reason or "", exc.code)
    if isinstance(exc, StorageConfigError | StoreError):
        return ErrorView(f"Cannot {action}: the target store cannot be used", str(exc),
                         "pick a profile whose keys can write to the bucket (the demo store works with the "
                         "simulator only)")
    return ErrorView(f"Cannot {action}", str(exc))


def status_words(status: int | None) -> str:
    if status is None:
        return "unknown"
    # Words only: Agora's number means nothing to a reader (it stays in the API's answer for support).
    return STATUS_NAMES.get(status, f"undocumented status {status}")


def file_names(files: Sequence[FileInfo]) -> list[str]:
    return [f.file_name for f in files]


def session_to_state(session: RecordingSession) -> dict[str, Any]:
    """A session as plain JSON-able data for st.session_state (survives reruns and page switches)."""
    return session.model_dump(mode="json")


def session_from_state(data: Mapping[str, Any]) -> RecordingSession:
    return RecordingSession.model_validate(dict(data))


def recordings_of(store: ObjectStore, folder: str, sid: str) -> list[Recording]:
    """The recordings this session wrote, found in the catalog (listing narrowed to folder + sid)."""
    return find(store, prefix=folder, sid=sid)


def recording_label(rec: Recording) -> str:
    key = rec.key
    return f"{key.cname} · uid {key.uid} · {key.stream}" if key.uid is not None else f"{key.cname} · composite"
