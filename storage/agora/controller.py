"""A small facade over `AgoraClient` for the UI and the CLI: start a recording into a store, query, stop.

Everything it returns is a plain pydantic model (`RecordingSession`, `QueryResponse`,
`StopResponse`) that can live in `st.session_state` or be dumped to JSON and read back, so a
Streamlit rerun or a second CLI invocation can carry on with the same session.

    controller = RecordingController.from_env(app_id, base_url="http://127.0.0.1:8700")
    session = controller.start_recording("class1", storage="s3://bucket/agora/prod?region=us-east-1")
    controller.query(session)          # QueryResponse: .status, .file_list
    controller.stop(session)           # StopResponse: .uploading_status, .file_list
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from storage.agora.client import AgoraClient
from storage.agora.errors import WorkerNotFound
from storage.agora.models import (
    RUNNING_STATUSES,
    Mode,
    QueryResponse,
    StopResponse,
    StorageConfig,
    UpdateResponse,
    normalise_mode,
)
from storage.agora.storage_config import storage_config_for, store_target
from storage.settings import Settings

_MAX_UID = 2**32 - 1


class RecordingSession(BaseModel):
    """What is needed to query or stop a recording later; holds no secret."""

    app_id: str
    cname: str
    uid: str
    mode: Mode
    resource_id: str
    sid: str
    started_at: datetime
    store_url: str  # where the files land (store URL with the fileNamePrefix folders), no secrets
    folder: str  # the fileNamePrefix path, "a/b/" or ""


def default_recording_config(mode: str) -> dict[str, Any]:
    """Start parameters that work for a plain live channel: all audio and video, 5 minutes idle."""
    config: dict[str, Any] = {"channelType": 1, "streamTypes": 2, "maxIdleTime": 300}
    if mode == "individual":
        config.update(subscribeUidGroup=0, subscribeAudioUids=["#allstream#"], subscribeVideoUids=["#allstream#"])
    if mode == "mix":
        config["transcodingConfig"] = {"width": 640, "height": 360, "fps": 15, "bitrate": 500,
                                       "mixedVideoLayout": 1}
    return config


class RecordingController:
    def __init__(self, client: AgoraClient, settings: Settings | None = None) -> None:
        self.client = client
        self.settings = settings  # profiles and store keys for storageConfig (`storage_config_for`)

    @classmethod
    def from_env(cls, app_id: str, settings: Settings, **client_options: Any) -> RecordingController:
        """Credentials from AGORA_CUSTOMER_ID / AGORA_CUSTOMER_SECRET (as `settings` captured them)
        unless given in client_options."""
        secret = settings.env.agora_customer_secret
        client_options.setdefault("customer_id", settings.env.agora_customer_id)
        client_options.setdefault("customer_secret", secret.get_secret_value() if secret else None)
        return cls(AgoraClient(app_id, **client_options), settings)

    def __repr__(self) -> str:
        return f"RecordingController({self.client!r})"

    def close(self) -> None:
        self.client.close()

    def start_recording(self, cname: str, *, storage: StorageConfig | str, mode: str = "mix",
                        uid: str | int | None = None, file_name_prefix: list[str] | None = None,
                        recording_config: dict[str, Any] | None = None, token: str | None = None,
                        extra: dict[str, Any] | None = None) -> RecordingSession:
        """acquire + start. `storage` is a storageConfig, or a store URL / folder / profile name
        (keys from the profile or the environment; see `storage_config.storage_config_for`)."""
        mode = normalise_mode(mode)
        if isinstance(storage, str):
            storage = storage_config_for(storage, file_name_prefix=file_name_prefix, settings=self.settings)
        elif file_name_prefix is not None:
            storage = storage.model_copy(update={"file_name_prefix": list(file_name_prefix)})
        target = store_target(storage)  # validates the storageConfig before Agora is asked
        # The recorder joins the channel as a user of its own; a random uid avoids clashing with
        # people in the channel and lets the same channel be recorded twice (code 53 otherwise).
        uid = str(uid) if uid is not None else str(secrets.randbelow(_MAX_UID - 100_000) + 100_000)
        acquired = self.client.acquire(cname, uid)
        started = self.client.start(acquired.resource_id, cname, uid, mode, storage_config=storage,
                                    recording_config=recording_config or default_recording_config(mode),
                                    token=token, extra=extra)
        return RecordingSession(app_id=self.client.app_id, cname=cname, uid=uid, mode=mode,
                                resource_id=acquired.resource_id, sid=started.sid, started_at=datetime.now(UTC),
                                store_url=target.url, folder=storage.prefix_path)

    def query(self, session: RecordingSession) -> QueryResponse:
        return self.client.query(session.resource_id, session.sid, session.mode)

    def is_running(self, session: RecordingSession) -> bool:
        """True while `query` says the recorder is up (status 4/5); False once the task is gone."""
        try:
            return self.query(session).status in RUNNING_STATUSES
        except WorkerNotFound:
            return False

    def wait_until_running(self, session: RecordingSession, *, timeout_s: float = 90.0,
                           sleep: Callable[[float], None] = time.sleep) -> bool:
        """Agora's advice: query with backoff after start; not running within 90 s means it failed."""
        waited = 0.0
        for delay in (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 37.0):
            if waited + delay > timeout_s:
                break
            sleep(delay)
            waited += delay
            if self.is_running(session):
                return True
        return False

    def update_subscriptions(self, session: RecordingSession, client_request: dict[str, Any]) -> UpdateResponse:
        return self.client.update(session.resource_id, session.sid, session.cname, session.uid, session.mode,
                                  client_request=client_request)

    def stop(self, session: RecordingSession, *, async_stop: bool = False) -> StopResponse:
        return self.client.stop(session.resource_id, session.sid, session.cname, session.uid, session.mode,
                                async_stop=async_stop)
