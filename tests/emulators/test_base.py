"""The shared emulator pieces: Range semantics, listing pages, seeding and persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulators.base import BucketStore, ByteRange, NoSuchBucket, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 9, False)),
        ("bytes=5-", ByteRange(5, 9, False)),
        ("bytes=-3", ByteRange(7, 9, False)),
        ("bytes=-30", ByteRange(0, 9, True)),
        ("bytes=8-100", ByteRange(8, 9, True)),
        ("bytes=5-2", None),  # end before start: invalid, ignored
        ("bytes=0-1,4-5", None),  # multi-range: not served, whole object instead
        ("items=0-1", None),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 10)


def test_list_pages_roll_up_prefixes_and_resume_after_a_marker() -> None:
    store = BucketStore()
    store.create_bucket("b")
    for key in ["a/1", "a/2", "b", "c/x/1", "c/y", "d"]:
        store.put("b", key, b"")
    page = store.list_page("b", delimiter="/", max_keys=2)
    assert (page.prefixes, [k for k, _ in page.objects], page.truncated, page.last) == (["a/"], ["b"], True, "b")
    page = store.list_page("b", delimiter="/", after=page.last or "", max_keys=2)
    assert (page.prefixes, [k for k, _ in page.objects], page.truncated) == (["c/"], ["d"], False)
    page = store.list_page("b", prefix="c/", after="c/x/1")
    assert [k for k, _ in page.objects] == ["c/y"]
    with pytest.raises(NoSuchBucket):
        store.list_page("missing")


def test_seed_and_persist(tmp_path: Path) -> None:
    (tmp_path / "bkt" / "rec").mkdir(parents=True)
    (tmp_path / "bkt" / "rec" / "a.ts").write_bytes(b"ts")
    store = BucketStore(tmp_path, persist=True)
    seeded = store.get("bkt", "rec/a.ts")
    assert seeded is not None and seeded.content_type == "video/mp2t" and seeded.data == b"ts"
    store.put("bkt", "rec/b.m3u8", b"#EXTM3U\n")
    store.put("bkt", "../escape", b"no")  # kept in memory only: never written outside the bucket
    assert (tmp_path / "bkt" / "rec" / "b.m3u8").read_bytes() == b"#EXTM3U\n"
    assert not (tmp_path / "escape").exists()
    assert store.delete("bkt", "rec/a.ts") and not (tmp_path / "bkt" / "rec" / "a.ts").exists()
    reloaded = BucketStore(tmp_path)
    assert reloaded.get("bkt", "rec/b.m3u8") is not None and reloaded.get("bkt", "rec/a.ts") is None
