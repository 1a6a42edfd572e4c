"""Shares of a bucket's recordings for machines that share no database, and the merge of their results.

`recshelf export|verify … --shard i/N` keeps the recordings whose stable hash falls in share i of
N (cron on N hosts, a Kubernetes indexed job, a Slurm array). The hash is of the recording's
identity — folder, sid, channel and uid — never of its place in a listing, so every shard agrees
on the split although each lists the bucket itself, and a recording lands in the same shard on
every run. The stream (audio / video / av) is left out on purpose: an individual-mode export
merges a uid's audio and video into one file, so they must never be split between shards.

`merge` reads the shards' JSON outputs (`verify --json`, `export --json`) and sums them up:
statuses, shards missing or seen twice, recordings reported by more than one shard.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.errors import RecshelfError
from storage.recordings.catalog import Recording

_SHARD = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")


class ShardError(RecshelfError):
    """A --shard value that is not `i/N` with 0 <= i < N."""


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD.fullmatch(text.strip())
        if not match:
            raise ShardError(f"--shard takes i/N (e.g. 0/3), not {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 0 <= index < count:
            raise ShardError(f"--shard {text}: need 0 <= i < N")
        return cls(index, count)

    def holds(self, rec: Recording) -> bool:
        return shard_of(identity(rec), self.count) == self.index

    def to_dict(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def identity(rec: Recording) -> str:
    """What a recording is hashed by: folder, sid, channel and uid (not the stream, see module doc)."""
    return "\0".join((rec.folder, rec.key.sid, rec.key.cname, rec.key.uid or ""))


def shard_of(identity_text: str, count: int) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and shards are separate processes.
    digest = hashlib.blake2b(identity_text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def merge(documents: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One summary of shard outputs given as (source name, parsed JSON) pairs."""
    counts: set[int] = set()
    seen: Counter[int] = Counter()
    stores: set[str] = set()
    verify_status: Counter[str] = Counter()
    export_status: Counter[str] = Counter()
    owners: dict[str, list[str]] = {}
    not_complete: list[str] = []
    failed: list[str] = []
    unknown: list[str] = []
    for source, doc in documents:
        shard = doc.get("shard") if isinstance(doc.get("shard"), dict) else None
        if shard is not None:
            counts.add(int(shard.get("count", 0)))
            seen[int(shard.get("index", -1))] += 1
        if isinstance(doc.get("store"), str):
            stores.add(doc["store"])
        if isinstance(doc.get("recordings"), list) and "summary" in doc:
            for report in doc["recordings"]:
                ident = "\0".join(str(report.get(k) or "") for k in ("folder", "sid", "cname", "uid", "stream"))
                owners.setdefault("verify\0" + ident, []).append(source)
                verify_status[str(report.get("status"))] += 1
                if report.get("status") != "complete":
                    not_complete.append(str(report.get("playlist") or report.get("folder", "") + report.get("sid", "")))
        elif isinstance(doc.get("results"), list):
            for result in doc["results"]:
                owners.setdefault("export\0" + str(result.get("name")), []).append(source)
                export_status[str(result.get("status"))] += 1
                if result.get("status") == "failed":
                    failed.append(f"{result.get('name')}: {result.get('error')}")
        else:
            unknown.append(source)
    count = next(iter(counts)) if len(counts) == 1 else None
    missing = sorted(set(range(count)) - set(seen)) if count else []
    duplicates = sorted(key.split("\0", 1)[1].replace("\0", " ").strip() for key, where in owners.items()
                        if len(where) > 1)
    summary: dict[str, Any] = {
        "shards": {"count": count, "counts_seen": sorted(counts), "seen": sorted(seen),
                   "missing": missing, "repeated": sorted(i for i, n in seen.items() if n > 1)},
        "stores": sorted(stores),
        "duplicates": duplicates,
        "unrecognised": unknown,
    }
    if verify_status or not export_status:
        summary["verify"] = {"recordings": sum(verify_status.values()), "summary": dict(verify_status),
                             "not_complete": not_complete}
    if export_status:
        summary["export"] = {"results": sum(export_status.values()), "summary": dict(export_status),
                             "failed": failed}
    return summary


def merged_ok(summary: dict[str, Any]) -> bool:
    """Every shard there once, one store, no duplicate, every recording complete, every export done."""
    shards = summary["shards"]
    verify = summary.get("verify", {})
    export = summary.get("export", {})
    return (not shards["missing"] and not shards["repeated"] and len(shards["counts_seen"]) <= 1
            and len(summary["stores"]) <= 1 and not summary["duplicates"] and not summary["unrecognised"]
            and not verify.get("not_complete") and not export.get("failed"))
