"""`--inventory URL`: S3 Inventory (CSV.gz, Parquet) and OSS inventory files as the listing, written here in
their documented formats; an inventory-driven verify must report exactly what a listing-driven one does."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.stores import inventory as inventory_module
from storage.stores.inventory import Inventory, InventoryStore
from storage.stores.local import LocalStore
from tests.fixtures.media import SAMPLE_START
from tests.fixtures.s3 import S3_ACCESS_KEY, S3_SECRET_KEY

S3_SCHEMA = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded"
OSS_SCHEMA = "Bucket, Key, Size, StorageClass, LastModifiedDate, ETag, IsMultipartUploaded, EncryptionStatus"
ENV = {"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}


@pytest.fixture
def source(s3_store_factory, s3_admin):
    """A bucket with four recordings under rec/ (one missing a slice, one with a failover part) and noise."""
    store = s3_store_factory()
    for i, (faults, failover) in enumerate([((), 0), (("missing_slice",), 0), ((), 1), (("no_endlist",), 0)]):
        write_recording(store, "rec/", RecordingKey(f"{i:x}" * 32, f"room #{i} a+b"), SAMPLE_START, slices=2,
                        faults=set(faults), failover_parts=failover)
    store.write("other/readme.txt", b"not a recording")
    rows = [(store.bucket, o["Key"], o["Size"], o["LastModified"], o["ETag"])
            for o in s3_admin.list_objects_v2(Bucket=store.bucket)["Contents"]]
    random.Random(3).shuffle(rows)  # inventory data files come in no particular order
    return store, rows


def _url(bucket: str, path: str, endpoint: str) -> str:
    return f"s3://{bucket}/{path}?endpoint={endpoint}&region=us-east-1"


def _csv_gz(rows: list[tuple], storage_class_first: bool) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL)
    for bucket, key, size, modified, etag in rows:
        when = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if storage_class_first:  # OSS column order
            writer.writerow([bucket, quote(key, safe="/"), size, "Standard", when, etag, "false", "false"])
        else:
            writer.writerow([bucket, quote(key, safe="/"), size, when, etag, "STANDARD", "FALSE"])
    return gzip.compress(text.getvalue().encode())


def _parquet(rows: list[tuple]) -> bytes:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({
        "bucket": [r[0] for r in rows], "key": [r[1] for r in rows], "size": pa.array([r[2] for r in rows], pa.int64()),
        "last_modified_date": pa.array([r[3] for r in rows], pa.timestamp("ms", tz="UTC")),
        "e_tag": [r[4].strip('"') for r in rows], "storage_class": ["STANDARD"] * len(rows)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _s3_manifest(source_bucket: str, dest: str, files: list[tuple[str, bytes]], fmt: str) -> dict[str, Any]:
    schema = S3_SCHEMA if fmt == "CSV" else ("message s3.inventory { required binary bucket (STRING); required "
                                             "binary key (STRING); optional int64 size; … }")
    return {"sourceBucket": source_bucket, "destinationBucket": f"arn:aws:s3:::{dest}", "version": "2016-11-30",
            "creationTimestamp": "1767225600000", "fileFormat": fmt, "fileSchema": schema,
            "files": [{"key": key, "size": len(data), "MD5checksum": "0" * 32} for key, data in files]}


def _verify(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["verify", *args, "--json"], env=ENV)
    assert result.exit_code == 1, result.output  # two of the four recordings are not complete
    doc = json.loads(result.stdout)
    doc.pop("store")
    return doc


@pytest.mark.parametrize("fmt", ["CSV", "Parquet"])
def test_an_s3_inventory_verifies_like_the_listing(source, s3_admin, s3_server_url, fmt: str):
    store, rows = source
    dest = f"inv-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=dest)
    base = f"inventory/{store.bucket}/daily"
    halves = [rows[: len(rows) // 2], rows[len(rows) // 2:]]
    ext = "csv.gz" if fmt == "CSV" else "parquet"
    files = [(f"{base}/data/{uuid.uuid4()}.{ext}", _csv_gz(half, False) if fmt == "CSV" else _parquet(half))
             for half in halves]
    for key, data in files:
        s3_admin.put_object(Bucket=dest, Key=key, Body=data)
    manifest = f"{base}/2026-01-01T00-00Z/manifest.json"
    s3_admin.put_object(Bucket=dest, Key=manifest, Body=json.dumps(_s3_manifest(store.bucket, dest, files, fmt)))

    listed = _verify(_url(store.bucket, "", s3_server_url))
    from_inventory = _verify(_url(store.bucket, "", s3_server_url), "--inventory", _url(dest, manifest, s3_server_url))
    assert from_inventory == listed
    assert listed["summary"] == {"complete": 2, "incomplete": 1, "unfinished": 1}
    # A prefix narrows an inventory the way it narrows a listing.
    ls = CliRunner().invoke(app, ["ls", _url(store.bucket, "rec", s3_server_url), "--json", "--inventory",
                                  _url(dest, manifest.rsplit("/", 1)[0], s3_server_url)], env=ENV)
    assert ls.exit_code == 0, ls.output
    assert len(json.loads(ls.stdout)["recordings"]) == 4


def test_an_oss_inventory_in_a_folder_verifies_like_the_listing(source, s3_server_url, tmp_path: Path):
    store, rows = source
    dest = tmp_path / "dest-bucket"
    data_key = f"{store.bucket}/inv0/data/a1574226-b5e5-40ee-91df-356845777c04.csv.gz"
    (dest / data_key).parent.mkdir(parents=True)
    (dest / data_key).write_bytes(_csv_gz(rows, True))
    manifest = dest / store.bucket / "inv0" / "2026-01-01T16-00Z" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({
        "creationTimestamp": "1767283200", "destinationBucket": "dest-bucket", "fileFormat": "CSV",
        "fileSchema": OSS_SCHEMA, "files": [{"MD5checksum": "F" * 32, "key": data_key, "size": 1}],
        "sourceBucket": store.bucket, "version": "2019-09-01"}))
    listed = _verify(_url(store.bucket, "", s3_server_url))
    assert _verify(_url(store.bucket, "", s3_server_url), "--inventory", str(manifest)) == listed


def test_rows_are_merged_in_key_order_through_spilled_runs(source, tmp_path: Path, monkeypatch):
    store, rows = source
    monkeypatch.setattr(inventory_module, "RUN_ROWS", 7)  # many runs spilled to disk, then merged
    folder = LocalStore(str(tmp_path))
    folder.write("data/one.csv.gz", _csv_gz(rows + [("someone-else", "rec/zz.ts", 1, rows[0][3], '"e"')], False))
    manifest = _s3_manifest(store.bucket, "d", [("data/one.csv.gz", b"")], "CSV")
    folder.write("m/manifest.json", json.dumps(manifest).encode())
    inventory = Inventory.open(str(tmp_path / "m" / "manifest.json"), lambda url: LocalStore(url))
    listed = [(o.key, o.size) for o in store.list()]
    assert [(o.key, o.size) for o in InventoryStore(store, inventory).list()] == listed  # other bucket's row skipped
    assert [o.key for o in InventoryStore(store, inventory).list("rec/1")] == [k for k, _ in listed
                                                                              if k.startswith("rec/1")]


def test_an_inventory_of_another_bucket_or_format_is_refused(source, tmp_path: Path):
    store, _ = source
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_s3_manifest("not-this-one", "d", [("x.csv.gz", b"")], "CSV")))
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(Exception, match="not-this-one"):
        InventoryStore(store, Inventory.open(str(manifest), lambda url: LocalStore(url)))
    manifest.write_text(json.dumps(_s3_manifest(store.bucket, "d", [("x.csv.gz", b"")], "ORC")))
    with pytest.raises(Exception, match="ORC"):
        Inventory.open(str(manifest), lambda url: LocalStore(url))
