"""Recordings with colliding names, written cheaply (tiny fake slices: the catalog and verify only look at
names, sizes and the playlist), for manage tests that need many objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.demo.synth import PlaylistItem, agora_playlist
from storage.media.naming import RecordingKey, playlist_name, redelivered_playlist_name, slice_name
from storage.stores.base import ObjectStore

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FAKE_TS = b"\x47" + b"\x00" * 187  # one TS packet's worth of bytes


def fake_keys(folder: str, key: RecordingKey, slices: int, *, failover_parts: int = 0,
              redelivered: bool = False, mp4: bool = False) -> dict[str, bytes]:
    """{key: bytes} of a complete recording with `slices` slices per part."""
    objects: dict[str, bytes] = {}
    when = START
    for failover in [None, *range(failover_parts)]:
        items = []
        for _ in range(slices):
            name = slice_name(key, when, failover)
            objects[folder + name] = FAKE_TS
            items.append(PlaylistItem(name, 1.0))
            when += timedelta(seconds=1)
        text = agora_playlist(items).encode()
        objects[folder + playlist_name(key, failover)] = text
        if redelivered:
            objects[folder + redelivered_playlist_name(key, 1735000000, 0, failover)] = text
        when += timedelta(seconds=3)
    if mp4:
        from storage.media.naming import mp4_name

        objects[folder + mp4_name(key, 0)] = b"mp4"
    return objects


def write_all(store: ObjectStore, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        store.write(key, data)


def listed(store: ObjectStore) -> dict[str, int]:
    return {obj.key: obj.size for obj in store.list()}


SID = "0123456789abcdef0123456789abcdef"
TARGET = RecordingKey(SID[:30], "room", "1", "audio")  # what the tests delete / move (`--sid SID[:30] --uid 1`)
NEIGHBOURS = [
    RecordingKey(SID, "room", "1", "audio"),  # a sid that starts with the target's sid
    RecordingKey(SID[:30], "room", "12", "audio"),  # the same sid, a uid that starts with the target's uid
    RecordingKey(SID[:28], "room"),  # a sid the target's starts with, composite mode
]


def colliding_set(slices: int = 3) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(target objects, neighbours' objects), all in folder rec/, with failover parts and re-deliveries."""
    target = fake_keys("rec/", TARGET, slices, failover_parts=1, redelivered=True, mp4=True)
    others: dict[str, bytes] = {}
    for index, key in enumerate(NEIGHBOURS):
        others |= fake_keys("rec/", key, slices, failover_parts=index % 2, redelivered=index == 0, mp4=index == 1)
    return target, others
