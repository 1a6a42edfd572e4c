"""Fill a SeaweedFS bucket with N small objects fast, and keep it for the next run (benchmarks/list_bench.py).

S3 PUTs into `weed server` ran at 70–190 objects/s on this 2-core machine (each one a volume assign, a needle
write and a filer entry, whatever `s5cmd --numworkers` or `-filer.saveToFilerLimit`), so a million took hours.
Instead the first SAMPLE keys are written for real with s5cmd, their filer entries saved with
`weed shell fs.meta.save`, and every other key becomes a copy of a saved entry of its kind (playlist or slice)
under its own name — pointing at the same stored 188-byte chunk, so a GET of any key returns real bytes — loaded
with `fs.meta.load` (one gRPC CreateEntry each, ~1,500 entries/s here). Keys the listing then lacks (the
loader has dropped the file's last record) are PUT for real, so the bucket always holds exactly the keys.

The SeaweedFS data folder is kept under benchmarks/.cache/seaweed-<N>/ (git-ignored); a marker is written only
once the bucket is complete, and the next run with the same N serves that folder again instead of writing.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
SAMPLE = 202  # two recordings' worth: the template entries
SEAWEED_FLAGS = ("-filer.saveToFilerLimit=1024",)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _length_delimited(data: bytes, at: int) -> tuple[int, bytes, int]:
    """(field number, bytes, next offset) of the length-delimited protobuf field at `at`."""
    key, at = _read_varint(data, at)
    if key & 7 != 2:
        raise ValueError(f"field {key >> 3} is not length-delimited")
    size, at = _read_varint(data, at)
    return key >> 3, data[at:at + size], at + size


def _records(data: bytes) -> Iterator[bytes]:
    """fs.meta.save's format: a 4-byte big-endian length, then one filer_pb.FullEntry, repeated."""
    at = 0
    while at < len(data):
        (size,) = struct.unpack(">I", data[at:at + 4])
        yield data[at + 4:at + 4 + size]
        at += 4 + size


def _templates(saved: bytes) -> dict[str, tuple[bytes, bytes]]:
    """Per file extension: the FullEntry's directory and its Entry after the name (chunks, attributes, …).

    FullEntry is {1: dir, 2: entry}; Entry starts with {1: name} — the only fields rewritten here."""
    found: dict[str, tuple[bytes, bytes]] = {}
    for record in _records(saved):
        number, directory, at = _length_delimited(record, 0)
        entry_number, entry, _ = _length_delimited(record, at)
        name_number, name, rest_at = _length_delimited(entry, 0)
        if (number, entry_number, name_number) != (1, 2, 1):
            raise ValueError("fs.meta.save wrote an entry of an unexpected shape")
        if b"." in name:
            found.setdefault(name.rsplit(b".", 1)[1].decode(), (directory, entry[rest_at:]))
    return found


def _entry(directory: bytes, rest: bytes, name: str) -> bytes:
    raw = name.encode()
    entry = b"\x0a" + _varint(len(raw)) + raw + rest
    record = b"\x0a" + _varint(len(directory)) + directory + b"\x12" + _varint(len(entry)) + entry
    return struct.pack(">I", len(record)) + record


def _shell(weed: str, server: object, command: str) -> str:
    result = subprocess.run([weed, "shell", f"-master={server.master}", f"-filer={server.filer}"],  # type: ignore[attr-defined]
                            input=f"{command}\nexit\n", capture_output=True, text=True, timeout=7200)
    if result.returncode != 0:
        raise RuntimeError(f"weed shell {command.split()[0]} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def seed(weed: str, server: object, bucket: str, keys: list[str], work: Path,
         put: Callable[[list[str], bool], float], listed: Callable[[], set[str]]) -> float:
    """Fill `bucket` with `keys`; `put(keys, create_bucket)` writes for real, `listed()` lists. Returns seconds."""
    started = time.monotonic()
    put(keys[:SAMPLE], True)
    saved = work / "sample.meta"
    _shell(weed, server, f"fs.meta.save -o {saved} /buckets/{bucket}/")
    templates = _templates(saved.read_bytes())
    bulk = work / "bulk.meta"
    with bulk.open("wb") as out:
        for key in keys[SAMPLE:]:
            out.write(_entry(*templates[key.rsplit(".", 1)[1]], key))
    _shell(weed, server, f"fs.meta.load {bulk}")
    bulk.unlink()
    missing = sorted(set(keys) - listed())
    if missing:
        print(f"  {len(missing)} keys missing after fs.meta.load: written for real", flush=True)
        put(missing, False)
    return time.monotonic() - started


@contextmanager
def cached_seaweed(objects: int, start: Callable[[Path], object],
                   fill: Callable[[object, Path], float]) -> Iterator[object]:
    """`start(root)` a SeaweedFS (a context manager of its server) on the cached folder for `objects`, first
    filled by `fill(server, work)` unless a complete one is there; yields the server."""
    root = CACHE / f"seaweed-{objects}"
    marker = root / "complete"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)  # a partial fill: start over
    root.mkdir(parents=True, exist_ok=True)
    manager = start(root)
    server = manager.__enter__()  # type: ignore[attr-defined]
    try:
        if marker.exists():
            print(f"seaweedfs: {objects:,} objects served again from {root.relative_to(CACHE.parent.parent)}",
                  flush=True)
        else:
            work = root / "seed"
            work.mkdir(exist_ok=True)
            print(f"seaweedfs: {objects:,} objects written in {fill(server, work):.1f} s", flush=True)
            shutil.rmtree(work)
            marker.write_text(f"{objects}\n")
        yield server
    finally:
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]
