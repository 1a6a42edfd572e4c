"""A bucket inventory as the listing: S3 Inventory (CSV.gz or Parquet) and OSS bucket inventory (CSV.gz).

A 100-million-object bucket takes hours to list a page at a time; both clouds can instead write a
daily inventory of it: a ``manifest.json`` naming data files (``files[].key``, relative to the
bucket the inventory is delivered to) whose columns its ``fileSchema`` names. What is read here:

* S3 CSV: ``fileSchema`` like ``"Bucket, Key, Size, LastModifiedDate, ETag, …"``; gzip'd CSV
  without a header row; Key URL-encoded (UTF-8).
* S3 Parquet: ``fileFormat`` "Parquet", columns ``bucket``, ``key``, ``size``,
  ``last_modified_date``, ``e_tag`` (keys not encoded). Needs pyarrow (the ``inventory`` extra).
* OSS: like S3 CSV (``fileSchema`` "Bucket, Key, Size, StorageClass, LastModifiedDate, ETag, …",
  URL-encoded keys), only CSV.
* ORC (S3) is refused with a clear message.

Inventory files come in no particular order, and the catalog groups a listing that is in key
order, so rows are sorted by an external merge sort: runs of `RUN_ROWS` sorted in memory, spilled
to temporary files, then merged — memory follows `RUN_ROWS`, not the bucket. Rows of other buckets,
outside the store's prefix, delete markers and non-latest versions are skipped.

`InventoryStore` is the source store with `list` answered by the inventory; every read still goes
to the bucket itself (playlists are read as usual).
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from itertools import islice
from typing import Any, BinaryIO
from urllib.parse import unquote

from storage.stores.base import InvalidConfig, NotFound, ObjectInfo, ObjectStore

RUN_ROWS = 200_000  # rows sorted in memory at a time (~60 MB of ObjectInfo) before a run is spilled
_CSV_COLUMNS = {"key": "Key", "size": "Size", "modified": "LastModifiedDate", "etag": "ETag", "bucket": "Bucket",
                "latest": "IsLatest", "deleted": "IsDeleteMarker"}
_PARQUET_COLUMNS = {"key": "key", "size": "size", "modified": "last_modified_date", "etag": "e_tag",
                    "bucket": "bucket", "latest": "is_latest", "deleted": "is_delete_marker"}


class Inventory:
    """One inventory: its manifest and the store its data files are read from."""

    def __init__(self, manifest: dict[str, Any], files_store: ObjectStore, url: str) -> None:
        self.url = url
        self.manifest = manifest
        self.files_store = files_store
        self.format = str(manifest.get("fileFormat", "CSV")).lower()
        if self.format not in ("csv", "parquet"):
            raise InvalidConfig(f"inventory format {manifest.get('fileFormat')!r} is not supported "
                                "(CSV and Parquet are)", url=url)
        self.source_bucket = str(manifest.get("sourceBucket") or "")
        self.files = [str(f["key"]) for f in manifest.get("files", []) if isinstance(f, dict) and f.get("key")]
        if not self.files:
            raise InvalidConfig("the inventory manifest names no data files", url=url)

    @classmethod
    def open(cls, url: str, open_store: Callable[[str], ObjectStore]) -> Inventory:
        """Read the manifest at `url` (a manifest.json in any store, or a local path) and find its files."""
        # Options ride along in the query (s3://dest/inv/…/manifest.json?endpoint=…): kept for every store opened.
        address, mark, query = url.partition("?")
        folder_url, _, name = address.rstrip("/").rpartition("/")
        if not name.endswith(".json"):  # the timestamp folder was given: its manifest is inside
            folder_url, name = address.rstrip("/"), "manifest.json"
        query = mark + query

        def open_here(location: str) -> ObjectStore:
            return open_store(location + query)

        folder = open_here(folder_url)
        try:
            manifest = json.loads(folder.read(name))
        except NotFound:
            raise InvalidConfig(f"no inventory manifest {name!r} there", url=folder.url) from None
        except ValueError as exc:
            raise InvalidConfig(f"the inventory manifest is not JSON: {exc}", url=folder.url) from None
        if not isinstance(manifest, dict):
            raise InvalidConfig("the inventory manifest is not a JSON object", url=folder.url)
        files = [f.get("key") for f in manifest.get("files", []) if isinstance(f, dict)]
        base = _files_base(folder_url, str(files[0]) if files else "", open_here)
        return cls(manifest, base, folder.url + "/" + name)

    def rows(self) -> Iterator[tuple[str, ObjectInfo]]:
        """(bucket, object) of every current object, in file order."""
        for key in self.files:
            with self.files_store.open(key) as raw:
                if self.format == "parquet":
                    yield from _parquet_rows(raw)
                else:
                    yield from _csv_rows(raw, str(self.manifest.get("fileSchema", "")), self.url)

    def listing(self, root: str, prefix: str, bucket: str | None) -> Iterator[ObjectInfo]:
        """Objects of `bucket` under root + prefix, keys relative to root, in key order."""
        wanted = root + prefix
        cut = len(root)
        chosen = (ObjectInfo(obj.key[cut:], obj.size, obj.etag, obj.modified) for row_bucket, obj in self.rows()
                  if obj.key.startswith(wanted) and (not bucket or not row_bucket or row_bucket == bucket))
        yield from _sorted(chosen)


class InventoryStore:
    """The source store, with its listing read from an inventory instead of the bucket."""

    def __init__(self, store: ObjectStore, inventory: Inventory) -> None:
        self._store = store
        self._inventory = inventory
        self.url = store.url
        bucket = getattr(store, "bucket", None)
        if bucket and inventory.source_bucket and bucket != inventory.source_bucket:
            raise InvalidConfig(f"the inventory is of bucket {inventory.source_bucket!r}, not {bucket!r}",
                                url=inventory.url)
        self._bucket = inventory.source_bucket or bucket
        # An inventory holds whole bucket keys; a bucket store's keys are below its prefix (BucketKeys._root).
        self._root = getattr(store, "_root", "") if bucket else ""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._inventory.listing(self._root, prefix, self._bucket)

    def __getattr__(self, name: str) -> Any:  # stat, read, open, write, delete, signed_url: the bucket's own
        return getattr(self._store, name)


def _files_base(folder_url: str, first_file: str, open_store: Callable[[str], ObjectStore]) -> ObjectStore:
    """The store the manifest's file keys are relative to: the delivery bucket's root, an ancestor folder."""
    scheme, sep, path = folder_url.partition("://")
    head, parts = (scheme + sep, path.split("/")) if sep else ("", folder_url.split("/"))
    tried: list[str] = []
    # A bucket URL's first part is the bucket: never go above it; nor above a local path's top folder.
    lowest = 1 if sep and scheme != "file" else 2
    for end in range(len(parts), lowest - 1, -1):
        store = open_store(head + "/".join(parts[:end]))
        tried.append(store.url)
        if first_file and store.stat(first_file) is not None:
            return store
    raise InvalidConfig(f"the inventory's data file {first_file!r} is not below any of {', '.join(tried)}",
                        url=folder_url)


def _csv_rows(raw: BinaryIO, schema: str, url: str) -> Iterator[tuple[str, ObjectInfo]]:
    columns = [c.strip() for c in schema.split(",") if c.strip()]
    index = {name: columns.index(col) for name, col in _CSV_COLUMNS.items() if col in columns}
    if "key" not in index:
        raise InvalidConfig(f"the inventory's fileSchema has no Key column ({schema!r})", url=url)
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", newline="")
    for row in csv.reader(text):
        if len(row) < len(columns):
            continue
        if _false(row, index, "latest") or _true(row, index, "deleted"):
            continue
        yield (row[index["bucket"]] if "bucket" in index else "", ObjectInfo(
            unquote(row[index["key"]]),  # URL-encoded in CSV inventories ('+' is not a space there)
            int(row[index["size"]] or 0) if "size" in index else 0,
            row[index["etag"]].strip('"') or None if "etag" in index else None,
            _time(row[index["modified"]]) if "modified" in index else None))


def _parquet_rows(raw: BinaryIO) -> Iterator[tuple[str, ObjectInfo]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidConfig("a Parquet inventory needs pyarrow: pip install 'recshelf[inventory]'") from None
    table = pq.ParquetFile(io.BytesIO(raw.read()))
    names = set(table.schema_arrow.names)
    wanted = [col for col in _PARQUET_COLUMNS.values() if col in names]
    for batch in table.iter_batches(columns=wanted, batch_size=10_000):
        data = batch.to_pydict()
        latest, deleted = data.get("is_latest"), data.get("is_delete_marker")
        for i in range(batch.num_rows):
            if (latest is not None and latest[i] is False) or (deleted is not None and deleted[i]):
                continue
            modified = data["last_modified_date"][i] if "last_modified_date" in data else None
            yield (data["bucket"][i] if "bucket" in data else "", ObjectInfo(
                data["key"][i], int(data["size"][i] or 0) if "size" in data else 0,
                (data["e_tag"][i] or "").strip('"') or None if "e_tag" in data else None, modified))


def _sorted(objects: Iterator[ObjectInfo]) -> Iterator[ObjectInfo]:
    """Key order with bounded memory: sorted runs spilled to temporary files, then merged."""
    first = sorted(islice(objects, RUN_ROWS), key=lambda o: o.key)
    if len(first) < RUN_ROWS:
        yield from first
        return
    with ExitStack() as stack:
        runs = []
        run = first
        while run:
            spill = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
            for obj in run:
                spill.write(json.dumps([obj.key, obj.size, obj.etag,
                                        obj.modified.isoformat() if obj.modified else None]) + "\n")
            spill.seek(0)
            runs.append(_read_run(spill))
            run = sorted(islice(objects, RUN_ROWS), key=lambda o: o.key)
        yield from heapq.merge(*runs, key=lambda o: o.key)


def _read_run(spill: io.TextIOBase) -> Iterator[ObjectInfo]:
    for line in spill:
        key, size, etag, modified = json.loads(line)
        yield ObjectInfo(key, size, etag, datetime.fromisoformat(modified) if modified else None)


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _true(row: list[str], index: dict[str, int], name: str) -> bool:
    return name in index and row[index[name]].strip().lower() == "true"


def _false(row: list[str], index: dict[str, int], name: str) -> bool:
    return name in index and row[index[name]].strip().lower() == "false"
