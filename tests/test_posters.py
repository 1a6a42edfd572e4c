"""Poster frames from real H.264 slices (storage.media.poster) and their disk cache (storage.recordings.posters)."""

from __future__ import annotations

import io

import av
import pytest

from storage.media.naming import RecordingKey
from storage.media.poster import poster_jpeg
from storage.recordings.catalog import find
from storage.recordings.posters import cached_poster, make_poster, poster_source
from storage.stores.memory import MemoryStore
from tests.fixtures.media import SpyStore


def _decoded(jpeg: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(jpeg), format="mjpeg") as container:
        return next(container.decode(video=0))


def test_poster_is_a_small_jpeg_of_the_first_keyframe(av_slices):
    jpeg = poster_jpeg(av_slices[1].data)
    assert jpeg is not None and jpeg[:2] == b"\xff\xd8" and len(jpeg) < 30_000
    frame = _decoded(jpeg)
    assert (frame.width, frame.height) == (160, 120)  # never scaled up past the source
    small = _decoded(poster_jpeg(av_slices[1].data, width=80) or b"")
    assert (small.width, small.height) == (80, 60)


@pytest.mark.parametrize("data", [b"", b"<Error>not ts</Error>", b"\x47" * 188 * 3])
def test_what_does_not_decode_has_no_poster(data):
    assert poster_jpeg(data) is None


def test_audio_only_and_cut_slices(audio_slices, av_slices):
    assert poster_jpeg(audio_slices[0].data) is None
    cut = av_slices[0].data[: len(av_slices[0].data) // 2 + 100]  # an interrupted upload
    assert poster_jpeg(cut) is not None  # the keyframe is at the start


def test_posters_are_cached_by_the_slice_identity(tmp_path, recording_factory):
    store = SpyStore(MemoryStore("posters"))
    recording_factory(store, key=RecordingKey("0123456789abcdef0123456789abcdef", "c"), slices=3)
    (rec,) = find(store)
    folder = tmp_path / "posters"
    assert cached_poster(folder, store.url, rec) is None  # never reads the store
    assert store.reads == []
    made = make_poster(folder, store, rec)
    assert made is not None and store.reads == [rec.slices[0].key]
    assert cached_poster(folder, store.url, rec) == made
    assert make_poster(folder, store, rec) == made and len(store.reads) == 1  # from disk
    # The slice re-uploaded: a new etag, a new poster.
    store.write(rec.slices[0].key, store.read(rec.slices[1].key))
    (changed,) = find(store)
    assert cached_poster(folder, store.url, changed) is None
    assert make_poster(folder, store, changed) is not None
    assert len(list(folder.glob("*.jpg"))) == 2


def test_no_picture_is_remembered_and_audio_has_no_source(tmp_path, recording_factory):
    store = SpyStore(MemoryStore("broken"))
    key = RecordingKey("0123456789abcdef0123456789abcdef", "c")
    keys = recording_factory(store, key=key, slices=2)
    first = next(k for k in keys if k.endswith(".ts"))
    store.write(first, b"<Error>InternalError</Error>")
    (rec,) = find(store)
    assert make_poster(tmp_path, store, rec) is None
    assert make_poster(tmp_path, store, rec) is None and store.reads == [first]  # not decoded twice
    recording_factory(store, key=RecordingKey("abcd456789abcdef0123456789abcdef", "i", "7", "audio"), slices=2)
    audio = next(r for r in find(store) if r.key.stream == "audio")
    assert poster_source(audio) is None and make_poster(tmp_path, store, audio) is None
