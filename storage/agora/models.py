"""Typed request and response bodies of the Agora Cloud Recording REST API (reference/agora.md §1.4–1.9).

Responses are parsed leniently because Agora's own docs disagree with each other:
`fileList` is a playlist name (`fileListMode: "string"`) or a list of objects (`"json"`), web mode
spells the key `filename`, `uploadingStatus` is `"unknown"` or `"unknow"`, and `sliceStartTime` is
documented in seconds on one page and milliseconds on others. Everything is normalised here so
callers see one shape: a list of `FileInfo`, `"unknown"`, and milliseconds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_serializer, field_validator

Mode = Literal["mix", "individual", "web"]
UploadingStatus = Literal["uploaded", "backuped", "unknown"]
MODES: tuple[str, ...] = ("mix", "individual", "web")

# Values below this are Unix seconds (10 digits until year 5138); at or above, milliseconds.
_SECONDS_LIMIT = 100_000_000_000


def to_ms(value: Any) -> int | None:
    """A Unix time in s or ms (number or numeric string) as ms; None stays None."""
    if value is None or value == "":
        return None
    number = float(value)
    return int(round(number * 1000)) if number < _SECONDS_LIMIT else int(number)


def normalise_mode(mode: str) -> Mode:
    """"composite" is what the docs call `mix`; accept it so UI labels can pass through."""
    lowered = mode.strip().lower()
    if lowered == "composite":
        lowered = "mix"
    if lowered not in MODES:
        raise ValueError(f"unknown recording mode {mode!r}; expected one of mix, individual, web")
    return lowered  # type: ignore[return-value]


class _Model(BaseModel):
    # Accept both our snake_case names and Agora's camelCase; keep unknown fields so nothing the
    # service adds is silently lost.
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body Agora expects: camelCase keys, no unset optionals."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------------------------------------- requests


class StorageConfig(_Model):
    """`storageConfig`. Keys are SecretStr so reprs, logs and errors never show them."""

    vendor: int
    region: int = 0
    bucket: str
    access_key: SecretStr = Field(default=SecretStr(""), alias="accessKey")
    secret_key: SecretStr = Field(default=SecretStr(""), alias="secretKey")
    sts_token: SecretStr | None = Field(default=None, alias="stsToken")
    sts_expiration: int | None = Field(default=None, alias="stsExpiration")
    file_name_prefix: list[str] = Field(default_factory=list, alias="fileNamePrefix")
    extension_params: dict[str, Any] | None = Field(default=None, alias="extensionParams")

    @field_serializer("access_key", "secret_key", "sts_token", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        # Only the wire body (mode="json") carries the real keys; python-mode dumps keep them hidden.
        return value.get_secret_value() if value is not None else None

    @property
    def prefix_path(self) -> str:
        """`fileNamePrefix` as a key prefix: `a/b/` (or "" when empty)."""
        return "".join(f"{part}/" for part in self.file_name_prefix)


# ---------------------------------------------------------------------------------------------- responses


class FileInfo(_Model):
    """One `fileList` entry; a string-mode `fileList` becomes one entry with only `file_name`."""

    file_name: str = Field(validation_alias=AliasChoices("fileName", "filename", "file_name"),
                           serialization_alias="fileName")
    track_type: str | None = Field(default=None, alias="trackType")
    uid: str | None = None
    mixed_all_user: bool | None = Field(default=None, alias="mixedAllUser")
    is_playable: bool | None = Field(default=None, alias="isPlayable")
    slice_start_time: int | None = Field(default=None, alias="sliceStartTime")  # Unix ms

    @field_validator("uid", mode="before")
    @classmethod
    def _uid_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("slice_start_time", mode="before")
    @classmethod
    def _ms(cls, value: Any) -> int | None:
        return to_ms(value)


def _file_list(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"fileName": value}]
    if isinstance(value, dict):
        return [value]
    return list(value)


def _uploading_status(value: Any) -> str | None:
    # The old docs spell it "unknow"; anything else unexpected also means "we can't tell".
    if value is None:
        return None
    return value if value in ("uploaded", "backuped") else "unknown"


class ServerResponse(_Model):
    status: int | None = None
    file_list_mode: str | None = Field(default=None, alias="fileListMode")
    file_list: list[FileInfo] = Field(default_factory=list, alias="fileList")
    slice_start_time: int | None = Field(default=None, alias="sliceStartTime")  # Unix ms
    uploading_status: UploadingStatus | None = Field(default=None, alias="uploadingStatus")
    extension_service_state: list[dict[str, Any]] | None = Field(default=None, alias="extensionServiceState")

    @field_validator("file_list", mode="before")
    @classmethod
    def _files(cls, value: Any) -> list[dict[str, Any]]:
        return _file_list(value)

    @field_validator("slice_start_time", mode="before")
    @classmethod
    def _ms(cls, value: Any) -> int | None:
        return to_ms(value)

    @field_validator("uploading_status", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> str | None:
        return _uploading_status(value)

    def model_post_init(self, context: Any) -> None:
        # Web mode nests the upload status and the files under extensionServiceState; lift them so
        # callers read `uploading_status` and `file_list` the same way in every mode.
        for service in self.extension_service_state or []:
            payload = service.get("payload") or {}
            if self.uploading_status is None and "uploadingStatus" in payload:
                self.uploading_status = _uploading_status(payload["uploadingStatus"])  # type: ignore[assignment]
            if not self.file_list and payload.get("fileList"):
                self.file_list = [FileInfo.model_validate(f) for f in _file_list(payload["fileList"])]

    @property
    def playlists(self) -> list[str]:
        """The `.m3u8` names in `fileList` (may carry the fileNamePrefix path; Agora is unclear)."""
        return [f.file_name for f in self.file_list if f.file_name.lower().endswith(".m3u8")]


class AgoraResponse(_Model):
    cname: str | None = None
    uid: str | None = None
    resource_id: str | None = Field(default=None, alias="resourceId")
    sid: str | None = None
    server_response: ServerResponse | None = Field(default=None, alias="serverResponse")

    @field_validator("uid", mode="before")
    @classmethod
    def _uid_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class AcquireResponse(AgoraResponse):
    resource_id: str = Field(alias="resourceId")


class StartResponse(AgoraResponse):
    resource_id: str = Field(alias="resourceId")
    sid: str


class QueryResponse(AgoraResponse):
    @property
    def status(self) -> int | None:
        return self.server_response.status if self.server_response else None

    @property
    def file_list(self) -> list[FileInfo]:
        return self.server_response.file_list if self.server_response else []


class UpdateResponse(AgoraResponse):
    pass


class StopResponse(QueryResponse):
    @property
    def uploading_status(self) -> UploadingStatus | None:
        return self.server_response.uploading_status if self.server_response else None


# serverResponse.status values (QRY): 4 or 5 mean the recording is up (BP "verify start").
STATUS_NAMES: dict[int, str] = {
    0: "not started", 1: "initialised", 2: "components starting", 3: "some components ready",
    4: "all components ready", 5: "in progress", 6: "stop requested", 7: "all stopped", 8: "exited",
    20: "exited abnormally",
}
RUNNING_STATUSES = frozenset({4, 5})
