"""The `ts` partial output as its own resume state: what a rerun keeps, and what it refuses to trust."""

from __future__ import annotations

from pathlib import Path

from storage.export.fetch import SliceRef
from storage.export.partial import PartialOutput


def _slice(n: int, size: int = 376) -> bytes:
    return (bytes([0x47]) + bytes([n]) * 187) * (size // 188)


REFS = [SliceRef(f"rec/s_{n}.ts", 376, f"etag{n}") for n in range(4)]


def _written(folder: Path, count: int) -> PartialOutput:
    partial = PartialOutput(folder)
    with partial.appending() as out:
        for n in range(count):
            out.append(REFS[n], _slice(n))
    return partial


def test_a_rerun_keeps_the_slices_the_index_file_and_plan_agree_on(tmp_path: Path):
    partial = _written(tmp_path, 3)
    assert partial.resume(REFS) == (3, 3 * 376)
    with partial.appending() as out:
        out.append(REFS[3], _slice(3))
    assert partial.path.read_bytes() == b"".join(_slice(n) for n in range(4))


def test_a_slice_changed_in_the_store_and_all_after_it_are_fetched_again(tmp_path: Path):
    partial = _written(tmp_path, 3)
    changed = [REFS[0], SliceRef(REFS[1].key, 376, "rewritten"), *REFS[2:]]
    assert partial.resume(changed) == (1, 376)
    assert partial.path.stat().st_size == 376 and len(partial.index.read_text().splitlines()) == 1


def test_bytes_the_index_promises_but_the_file_lacks_are_not_reused(tmp_path: Path):
    partial = _written(tmp_path, 3)
    with partial.path.open("r+b") as f:  # a crash lost the tail of the last slice
        f.truncate(2 * 376 + 100)
    assert partial.resume(REFS) == (2, 2 * 376)
    partial = _written(tmp_path / "zeros", 3)
    with partial.path.open("r+b") as f:  # a power cut left zeros where the second slice was
        f.seek(376)
        f.write(bytes(376))
    assert partial.resume(REFS) == (1, 376)


def test_no_partial_or_an_unreadable_index_starts_from_nothing(tmp_path: Path):
    assert PartialOutput(tmp_path / "none").resume(REFS) == (0, 0)
    partial = _written(tmp_path, 2)
    partial.index.write_bytes(b"\xff\xfe not text")
    assert partial.resume(REFS) == (0, 0) and not partial.path.exists()
