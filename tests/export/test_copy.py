"""Cross-store copy: same keys, right content types, checked, and the target verifies complete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.export import Destination
from storage.recordings.catalog import find
from storage.recordings.verify import verify
from storage.stores.base import ObjectStore
from tests.export.conftest import KEY, WatchedStore, export
from tests.fixtures.s3 import S3Service


def test_local_to_s3_copy_verifies_complete(local_store_factory: Callable[..., ObjectStore], s3_service: S3Service,
                                            recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    source = local_store_factory()
    keys = recording_factory(source, "rec/", KEY, slices=5, failover_parts=1)
    target, s3_admin = s3_service.new_store(), s3_service.admin
    dest = Destination(target, work_root=tmp_path / "work")
    [result] = export(source, dest, "copy")
    assert result.status == "exported", result.error
    [copied] = find(target, prefix="rec/")
    assert copied.key == KEY and verify(target, copied).status == "complete"
    bucket = target.url.split("/")[2]
    for key in keys:
        head = s3_admin.head_object(Bucket=bucket, Key=key)
        expected = "application/vnd.apple.mpegurl" if key.endswith(".m3u8") else "video/mp2t"
        assert head["ContentType"] == expected
        assert target.read(key) == source.read(key)
    # A second run finds the manifest and the objects unchanged.
    assert [r.status for r in export(source, dest, "copy")] == ["skipped"]


def test_interrupted_copy_resumes_without_recopying(local_store_factory: Callable[..., ObjectStore],
                                                    s3_store_factory: Callable[..., Any],
                                                    recording_factory: Callable[..., list[str]],
                                                    tmp_path: Path) -> None:
    source = local_store_factory()
    recording_factory(source, "rec/", KEY, slices=8)
    dest = Destination(s3_store_factory(), work_root=tmp_path / "work")
    dying = WatchedStore(source, fail_after=3)
    [failed] = export(dying, dest, "copy", workers=1)
    assert failed.status == "failed" and failed.resumable
    copied = {k for k in dying.ok_reads if k.endswith(".ts")}
    again = WatchedStore(source)
    [result] = export(again, dest, "copy", workers=1)
    assert result.status == "exported", result.error
    assert not set(again.slice_reads()) & copied
    assert result.reused == len(copied)


def test_copy_to_every_kind_of_store(store_factory: Callable[..., ObjectStore], store_kind: str,
                                     local_store_factory: Callable[..., ObjectStore],
                                     recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    source = local_store_factory()
    keys = recording_factory(source, "rec/", KEY, slices=3)
    target = store_factory()
    [result] = export(source, Destination(target, work_root=tmp_path / "work"), "copy")
    assert result.status == "exported", result.error
    assert [verify(target, r).status for r in find(target, prefix="rec/")] == ["complete"]
    for key in keys:
        assert target.read(key) == source.read(key)
