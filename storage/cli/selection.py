"""Which recordings a command works on: the listing (bucket or --inventory), the filters and --shard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from storage.cli.common import error_exit, fail_on_store_errors, open_store_or_exit, settings_or_exit
from storage.recordings.catalog import ListingStats, Recording, iter_find
from storage.recordings.shards import Shard, ShardError
from storage.stores.base import ObjectStore

ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="I/N", help="Only share I of N of the recordings (0 <= I < N), by a stable hash of each "
                                   "recording's folder, sid, channel and uid: N machines with 0/N … N-1/N "
                                   "cover every recording once. Merge their --json outputs with `recshelf report`.")]
InventoryOpt = Annotated[str | None, typer.Option(
    "--inventory", metavar="URL", help="Take the listing from a bucket inventory instead of listing the bucket: "
                                       "the URL of its manifest.json (S3 Inventory CSV or Parquet, OSS inventory).")]


def parse_shard(text: str | None) -> Shard | None:
    if text is None:
        return None
    try:
        return Shard.parse(text)
    except ShardError as exc:
        raise error_exit(str(exc)) from None


def listing_source(store: ObjectStore, inventory: str | None) -> ObjectStore:
    """`store`, or `store` listed from the inventory at `inventory` (reads still go to the bucket)."""
    if inventory is None:
        return store
    from storage.stores.inventory import Inventory, InventoryStore

    settings = settings_or_exit()
    with fail_on_store_errors():
        return InventoryStore(store, Inventory.open(inventory, lambda url: open_store_or_exit(url, settings)))


def select(store: ObjectStore, prefix: str, sid: str | None, cname: str | None, shard: Shard | None,
           stats: ListingStats | None = None) -> Iterator[Recording]:
    """The matching recordings as the listing passes them (memory follows one recording, see iter_find)."""
    for rec in iter_find(store, prefix=prefix, sid=sid, cname=cname, stats=stats):
        if shard is None or shard.holds(rec):
            yield rec
