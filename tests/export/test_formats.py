"""Every format end to end, from a local folder and from S3 (moto, SeaweedFS), into a folder or a bucket."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage.export import Destination
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.stores.base import ObjectStore
from tests.export.conftest import KEY, SID, export, ffprobe, needs_ffprobe, visible_files

NAME = KEY.base


@pytest.fixture(params=["local", "s3", "s3-seaweedfs"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def source(kind: str, request: pytest.FixtureRequest, recording_factory: Callable[..., list[str]]) -> ObjectStore:
    store = request.getfixturevalue(f"{kind}_store_factory")()
    recording_factory(store, "rec/", KEY, slices=6)
    return store


@pytest.fixture
def dest(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    """A folder for the local case, another bucket on the same server for S3 (outputs uploaded whole)."""
    if kind == "local":
        return Destination.for_folder(tmp_path / "out")
    return Destination(request.getfixturevalue(f"{kind}_store_factory")(), work_root=tmp_path / "work")


def _fetch(dest: Destination, key: str, tmp_path: Path) -> Path:
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(dest.store.read(key))
    return path


def _slices(store: ObjectStore) -> list[Any]:
    return find(store)[0].slices


@needs_ffprobe
def test_mp4(source: ObjectStore, dest: Destination, tmp_path: Path) -> None:
    [result] = export(source, dest, "mp4")
    assert result.status == "exported", result.error
    info = ffprobe(_fetch(dest, f"{NAME}.mp4", tmp_path))
    assert float(info["format"]["duration"]) == pytest.approx(6.0, abs=1.0)  # within one slice
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
    assert result.duration_s == pytest.approx(6.0, abs=0.2)
    assert not (tmp_path / "work" / NAME).exists()  # work folder gone after success


def test_ts_is_the_slices_concatenated_in_order(source: ObjectStore, dest: Destination, tmp_path: Path) -> None:
    [result] = export(source, dest, "ts")
    assert result.status == "exported", result.error
    expected = b"".join(source.read(o.key) for o in _slices(source))
    assert dest.store.read(f"{NAME}.ts") == expected


def test_zip_is_stored_with_the_playlist_unchanged(source: ObjectStore, dest: Destination, tmp_path: Path) -> None:
    [result] = export(source, dest, "zip")
    assert result.status == "exported", result.error
    with zipfile.ZipFile(_fetch(dest, f"{NAME}.zip", tmp_path)) as zf:
        names = zf.namelist()
        assert names[-1] == f"{NAME}.m3u8"
        assert zf.read(names[-1]) == source.read(f"rec/{NAME}.m3u8")
        assert [n for n in names if n.endswith(".ts")] == [o.key.split("/")[-1] for o in _slices(source)]
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert zf.testzip() is None


def test_hls_copies_playlist_and_slices_as_they_are(source: ObjectStore, dest: Destination) -> None:
    [result] = export(source, dest, "hls")
    assert result.status == "exported", result.error
    assert dest.store.read(f"{NAME}/{NAME}.m3u8") == source.read(f"rec/{NAME}.m3u8")
    for obj in _slices(source):
        assert dest.store.read(f"{NAME}/{obj.key.split('/')[-1]}") == source.read(obj.key)


def test_rerun_skips_what_is_done_and_verified(source: ObjectStore, tmp_path: Path) -> None:
    dest = Destination.for_folder(tmp_path / "out")
    assert [r.status for r in export(source, dest, "mp4")] == ["exported"]
    assert [r.status for r in export(source, dest, "mp4")] == ["skipped"]
    # A changed output is noticed (size and mtime in the manifest) and made again.
    out = tmp_path / "out" / f"{NAME}.mp4"
    data = bytearray(out.read_bytes())
    data[-1] ^= 0xFF
    out.write_bytes(bytes(data))
    assert [r.status for r in export(source, dest, "mp4")] == ["exported"]
    assert visible_files(tmp_path / "out") == [f"{NAME}.mp4"]


@needs_ffprobe
def test_failover_parts_are_joined_in_order(local_store_factory: Callable[..., ObjectStore],
                                            recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    store = local_store_factory()
    recording_factory(store, "rec/", KEY, slices=4, failover_parts=2)
    [result] = export(store, Destination.for_folder(tmp_path / "out"), "mp4")
    assert result.status == "exported", result.error
    # bak0_ and bak1_ parts restart PTS after a gap; all three parts end up back to back.
    assert float(ffprobe(tmp_path / "out" / f"{NAME}.mp4")["format"]["duration"]) == pytest.approx(12.0, abs=1.0)


@needs_ffprobe
def test_individual_audio_and_video_merge_into_one_mp4(local_store_factory: Callable[..., ObjectStore],
                                                       recording_factory: Callable[..., list[str]],
                                                       tmp_path: Path) -> None:
    from datetime import timedelta

    from tests.fixtures.media import SAMPLE_START

    store = local_store_factory()
    recording_factory(store, "ind/", RecordingKey(SID, "c", "42", "audio"), slices=4)
    # The video track started 2 s later (its slice names say so); the MP4 must keep that offset.
    recording_factory(store, "ind/", RecordingKey(SID, "c", "42", "video"), start=SAMPLE_START + timedelta(seconds=2),
                      slices=4)
    [result] = export(store, Destination.for_folder(tmp_path / "out"), "mp4")
    assert result.status == "exported", result.error
    path = tmp_path / "out" / f"{SID}_c__uid_s_42.mp4"
    streams = {s["codec_type"]: s for s in ffprobe(path)["streams"]}
    assert set(streams) == {"audio", "video"}
    assert float(streams["video"]["start_time"]) - float(streams["audio"]["start_time"]) == pytest.approx(2.0, abs=0.2)
    assert float(ffprobe(path)["format"]["duration"]) == pytest.approx(6.0, abs=1.0)


def test_same_recording_in_two_folders_gets_two_outputs(local_store_factory: Callable[..., ObjectStore],
                                                        recording_factory: Callable[..., list[str]],
                                                        tmp_path: Path) -> None:
    store = local_store_factory()
    recording_factory(store, "a/", KEY, slices=2)
    recording_factory(store, "b/c/", KEY, slices=2)
    results = export(store, Destination.for_folder(tmp_path / "out"), "ts")
    assert sorted(r.name for r in results) == [f"a__{NAME}", f"b_c__{NAME}"]
    assert visible_files(tmp_path / "out") == [f"a__{NAME}.ts", f"b_c__{NAME}.ts"]


def test_ts_from_every_kind_of_store(store_factory: Callable[..., ObjectStore],
                                     recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, "rec/", KEY, slices=3)
    [result] = export(store, Destination.for_folder(tmp_path / "out"), "ts")
    assert result.status == "exported", result.error
    assert (tmp_path / "out" / f"{NAME}.ts").read_bytes() == b"".join(store.read(o.key) for o in _slices(store))


@needs_ffprobe
@pytest.mark.parametrize("engine", ["pyav-inline", "ffmpeg"])
def test_other_mp4_engines(engine: str, local_store_factory: Callable[..., ObjectStore],
                           recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    if engine == "ffmpeg":
        from storage.export.mp4_ffmpeg import find_ffmpeg

        if find_ffmpeg() is None:
            pytest.skip("no ffmpeg binary")
    store = local_store_factory()
    recording_factory(store, "rec/", KEY, slices=4, failover_parts=1)
    [result] = export(store, Destination.for_folder(tmp_path / "out"), "mp4", engine=engine)
    assert result.status == "exported", result.error
    assert float(ffprobe(tmp_path / "out" / f"{NAME}.mp4")["format"]["duration"]) == pytest.approx(8.0, abs=1.0)
