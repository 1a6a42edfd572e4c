"""A `ts` output that is its own resume cache: slices appended in order, with an index of what is in it.

`--format ts` is a concatenation, so the output under construction already holds every finished
slice. Caching each slice in the work folder as well (what the other formats do) would write the
recording twice, which on a fast link costs as much as the download itself. Instead the partial
output lives in the work folder beside an append-only index, one line per slice it holds
(`key`, size, etag), written after the slice's bytes. A rerun keeps the longest leading run of
slices that the index, the file and the plan agree on — same key, size and etag in the same
order, the file long enough, every kept slice starting with an MPEG-TS sync byte at its offset —
cuts the file there and appends the rest. Anything it cannot trust is fetched again, never reused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, TextIO

from storage.export.fetch import TS_SYNC, SliceRef

FIELD_SEP = "\t"


def _line(ref: SliceRef, size: int) -> str:
    # Keys are store keys (no tab or newline in any store we list); anything else is not reused.
    return FIELD_SEP.join((ref.key, str(size), ref.etag or "")) + "\n"


class PartialOutput:
    def __init__(self, folder: Path) -> None:
        self.path = folder / "partial.ts"
        self.index = folder / "partial.index"

    def resume(self, refs: Sequence[SliceRef]) -> tuple[int, int]:
        """(slices, bytes) of `refs` already in the partial output, which is cut to exactly those."""
        try:
            lines = self.index.read_text(encoding="utf-8").splitlines(keepends=True)
            size = self.path.stat().st_size
        except (OSError, UnicodeDecodeError):
            self.discard()
            return 0, 0
        kept, offset = 0, 0
        with self.path.open("rb") as f:
            for ref, line in zip(refs, lines, strict=False):
                length = ref.size
                if length is None or line != _line(ref, length) or offset + length > size:
                    break
                f.seek(offset)
                if ref.kind == "ts" and f.read(1) != bytes([TS_SYNC]):
                    break  # zeros where a slice should start: a crash lost bytes the index promised
                kept, offset = kept + 1, offset + length
        with self.path.open("r+b") as f:
            f.truncate(offset)
        self.index.write_text("".join(lines[:kept]), encoding="utf-8")
        return kept, offset

    @contextmanager
    def appending(self) -> Iterator[Appender]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as data, self.index.open("a", encoding="utf-8") as index:
            yield Appender(data, index)

    def discard(self) -> None:
        for path in (self.path, self.index):
            with suppress(FileNotFoundError):
                os.unlink(path)


class Appender:
    def __init__(self, data: BinaryIO, index: TextIO) -> None:
        self._data = data
        self._index = index

    def append(self, ref: SliceRef, body: bytes) -> None:
        self._data.write(body)
        # The bytes reach the file before the index line that vouches for them (each flushed, not fsynced:
        # a killed process loses nothing the kernel has; resume() checks what a power cut may have lost).
        self._data.flush()
        self._index.write(_line(ref, len(body)))
        self._index.flush()
