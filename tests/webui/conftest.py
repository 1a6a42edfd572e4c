"""Recordings seeded into stores for the UI tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from storage.demo.synth import Slice, agora_playlist
from storage.media.naming import RecordingKey, playlist_name, slice_name
from storage.stores.base import ObjectStore
from tests.fixtures.media import SAMPLE_START

START = SAMPLE_START
SID = "0123456789abcdef0123456789abcdef"

Seeder = Callable[..., list[str]]


def seed_recording(store: ObjectStore, slices: Sequence[Slice], *, folder: str = "rec/",
                   key: RecordingKey | None = None, start: datetime = START,
                   missing: Sequence[int] = (), endlist: bool = True) -> list[str]:
    """Write an Agora-style recording (playlist + slices); slices at `missing` indexes are left out."""
    key = key or RecordingKey(SID, "my_chan 1")
    names: list[tuple[str, float]] = []
    at = start
    for n, piece in enumerate(slices):
        name = slice_name(key, at)
        names.append((name, piece.duration_s))
        if n not in missing:
            store.write(folder + name, piece.data)
        at += timedelta(seconds=piece.duration_s)
    playlist = folder + playlist_name(key)
    store.write(playlist, agora_playlist(names, endlist=endlist).encode())
    return [playlist] + [folder + n for n, _ in names]


@pytest.fixture
def seeder(av_slices: list[Slice]) -> Seeder:
    def seed(store: ObjectStore, **kwargs: object) -> list[str]:
        return seed_recording(store, av_slices, **kwargs)  # type: ignore[arg-type]

    return seed


def ui_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store_root: Path,
                   media_secret: str = "ui-test-media-secret") -> None:
    """What `recshelf ui` would be given: the store, an empty recshelf.toml, a data folder, a media URL."""
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    monkeypatch.setenv("RECSHELF_UI_STORE", str(store_root))
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_MEDIA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", media_secret)
    for name in ("RECSHELF_UI_PASSWORD", "RECSHELF_PUBLIC_URL", "RECSHELF_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
