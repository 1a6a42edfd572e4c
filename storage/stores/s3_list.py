"""Listing an S3 prefix from a key on: boto3's paginator, or obstore (Rust) when it is installed; whole reads too.

Why two: botocore parses ListObjectsV2 XML in Python, ~90 µs a key, and a thread does not lift
that (the GIL); obstore (PyPI `obstore`, the Rust `object_store` crate) parses in Rust, about six
times faster on the same bucket (reference/storage-sdks.md, "Listing speed"). boto3 stays the S3
adapter for everything else, and the listing falls back to it:

* when obstore is not installed (it is the optional `fast` extra), or the prefix is not a folder and
  not a plain name: object_store lists by path segments (`rec/abc` means `rec/abc/…`), so a string
  prefix such as `prefix + sid` is listed as its folder from just below it, and stops past it;
* when obstore fails, from the last key it yielded: boto3 then either goes on or raises the error
  the adapter already knows how to translate (no such bucket, access denied, …), so an error reads
  the same with or without obstore;
* around empty objects: object_store drops the '/' of a folder marker (`rec/` comes back as `rec`),
  so at a zero-byte object the next page is listed by boto3, then obstore goes on after it.

Whole-object reads (`FastLister.get`, what exports do for every slice) take the same route for the same
reason: botocore spends ~3× the CPU per byte that object_store does (benchmarks/export_bench.py, issue 14),
and on a busy machine an export is CPU-bound. Only keys whose every character object_store's paths keep
as they are (letters, digits, `_ . -`, `/` between non-empty parts: Agora's slice names with plain channel
names) go that way, so a read can never reach another object's name; any other key, and any failure
(obstore retries nothing), is boto3's, whose error the adapter translates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from storage.stores.base import ObjectInfo

PAGE_SIZE = 1000
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


def parse_timestamp(value: str) -> datetime:
    """An S3 timestamp as an aware datetime: `fromisoformat` first, botocore's own parser for anything else.

    botocore parses every LastModified with dateutil, about half of its ~90 µs a key in a listing;
    S3's ISO 8601 form ('2026-12-03T08:35:27.123Z') is what `fromisoformat` reads in a microsecond.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp as botocore_parse

        return botocore_parse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def botocore_session() -> Any:
    """A botocore session whose response parsers read timestamps with `parse_timestamp`."""
    import botocore.session

    session = botocore.session.Session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return session


def boto3_listing(client: Any, bucket: str, root: str, prefix: str, start_after: str | None,
                  ) -> Iterator[ObjectInfo]:
    """Objects under root + prefix after root + start_after, keys relative to root (errors untranslated)."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": root + prefix,
                              "PaginationConfig": {"PageSize": PAGE_SIZE}}
    if start_after:
        params["StartAfter"] = root + start_after
    cut = len(root)
    for page in client.get_paginator("list_objects_v2").paginate(**params):
        for item in page.get("Contents", ()):
            yield ObjectInfo(item["Key"][cut:], item["Size"], _etag(item.get("ETag")), item.get("LastModified"),
                             item.get("StorageClass") or "STANDARD")


class FastLister:
    """obstore listings of one bucket, or nothing (`usable` False) when obstore cannot be used."""

    def __init__(self, region: str, session: Any, bucket: str, endpoint: str | None) -> None:
        self.store: Any = None
        self.reads = True  # whole reads by obstore; off after its first failure other than a missing key
        try:
            import obstore.store
        except ImportError:
            return
        credentials = session.get_credentials()
        if credentials is None:
            return  # boto3 will say what is missing, in its words
        frozen = credentials.get_frozen_credentials()
        options: dict[str, Any] = {"region": region, "virtual_hosted_style_request": False,
                                   "access_key_id": frozen.access_key, "secret_access_key": frozen.secret_key}
        if frozen.token:
            options["token"] = frozen.token
        if endpoint:
            options["endpoint"] = endpoint
        try:
            # No retries of its own: on any failure boto3 takes over, with the adapter's retry policy.
            self.store = obstore.store.S3Store(bucket, client_options={"allow_http": True, "timeout": "60s"},
                                               retry_config={"max_retries": 0}, **options)
        except Exception:  # an option object_store refuses: boto3 lists instead
            self.store = None

    @classmethod
    def off(cls) -> FastLister:
        """A lister that never uses obstore."""
        lister = cls.__new__(cls)
        lister.store = None
        lister.reads = False
        return lister

    @property
    def usable(self) -> bool:
        return self.store is not None

    def get(self, key: str) -> bytes | None:
        """The whole object at `key` (the full key), or None: boto3 should read it (see the module doc)."""
        if self.store is None or not self.reads or not _PLAIN_KEY.fullmatch(key):
            return None
        import obstore

        try:
            return bytes(obstore.get(self.store, key).bytes())
        except FileNotFoundError:
            return None  # boto3 asks again and raises the adapter's NotFound
        except Exception:  # noqa: BLE001 - refused, busy, unreachable: boto3 reads it and says why
            self.reads = False  # and reads everything after it: one extra request per store, not per read
            return None

    def listing(self, root: str, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        """Objects under root + prefix (a folder) after start_after, as object_store reports them."""
        import obstore

        folder = (root + prefix).rstrip("/") or None
        offset = root + start_after if start_after else None
        cut = len(root)
        for chunk in obstore.list(self.store, folder, offset=offset, chunk_size=PAGE_SIZE):
            for meta in chunk:
                path: str = meta["path"]
                # object_store's listing has no storage class: None (unknown); S3Store.precise_listing() lists
                # with boto3 where the class matters (tier, restore, du --by class).
                yield ObjectInfo(path[cut:], meta["size"], _etag(meta.get("e_tag")), meta.get("last_modified"))


def listing(client: Callable[[], Any], fast: FastLister | None, bucket: str, root: str, prefix: str,
            start_after: str | None) -> Iterator[ObjectInfo]:
    """The adapter's listing from a key on: obstore where it can (see module doc), boto3 for the rest.

    `client()` gives the boto3 client, made only when boto3 has to list (S3Store makes it on first use).
    """
    if fast is None or not fast.usable or (
            prefix and not prefix.endswith("/") and not _PLAIN_KEY.fullmatch(root + prefix)):
        yield from boto3_listing(client(), bucket, root, prefix, start_after)
        return
    folder, keep = prefix, ""
    if prefix and not prefix.endswith("/"):
        # A string prefix (`rec/<sid>`, what `--sid` lists): object_store lists the folder holding it from
        # just below the prefix, and the listing stops at the first key past it. Keys sharing a prefix are
        # contiguous in S3's key order and in SeaweedFS's directory walk alike, so none is missed.
        folder, keep = prefix.rpartition("/")[0] + "/" if "/" in prefix else "", prefix
        below = prefix[:-1]
        if below and not below.endswith("/") and (start_after is None or start_after < below):
            start_after = below
    last = start_after
    while True:
        try:
            for obj in fast.listing(root, folder, last):
                if keep and not obj.key.startswith(keep):
                    if obj.key > keep:
                        return
                    last = obj.key
                    continue
                if obj.size == 0:
                    break  # maybe a folder marker whose '/' object_store dropped: boto3 lists past it
                yield obj
                last = obj.key
            else:
                return
        except Exception:  # boto3 resumes from `last` and raises the error, if any, in its own terms
            yield from boto3_listing(client(), bucket, root, prefix, last)
            return
        page = list(islice(boto3_listing(client(), bucket, root, prefix, last), PAGE_SIZE))
        yield from page
        if len(page) < PAGE_SIZE:
            return
        last = page[-1].key


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None
