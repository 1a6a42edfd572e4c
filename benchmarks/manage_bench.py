"""Requests and seconds of `recshelf rm` (batch deletes) against one DELETE per object, and of
`recshelf du` against a plain listing, on one S3 server.

moto's S3 server runs in its own process on 127.0.0.1. N recordings × M slices (tiny fake slices and
a playlist each) are written; requests are counted on the boto3 client (every HTTP request it sends).

    .venv/bin/python benchmarks/manage_bench.py [--recordings 1000] [--slices 100] [--du-objects 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.verify_requests import CREDENTIALS, RequestCounter, start_moto  # noqa: E402
from storage.manage.apply import apply_deletes  # noqa: E402
from storage.manage.delete import plan_delete  # noqa: E402
from storage.manage.usage import usage  # noqa: E402
from storage.media.naming import RecordingKey  # noqa: E402
from storage.stores.s3 import S3Store  # noqa: E402
from tests.manage.helpers import fake_keys  # noqa: E402


def seed(store: S3Store, recordings: int, slices: int) -> list[str]:
    sids = [f"{index:032x}" for index in range(recordings)]
    objects: dict[str, bytes] = {}
    for sid in sids:
        objects |= fake_keys("agora/", RecordingKey(sid, "bench_room"), slices)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: store.client.put_object(Bucket=store.bucket, Key=item[0], Body=item[1]),
                      objects.items()))
    return sids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--du-objects", type=int, default=100_000)
    args = parser.parse_args()
    proc, url = start_moto()
    try:
        admin = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                             aws_secret_access_key="bench-secret")
        for bucket in ("ours", "naive", "du-bench"):
            admin.create_bucket(Bucket=bucket)
        ours, naive = S3Store("ours", endpoint=url, **CREDENTIALS), S3Store("naive", endpoint=url, **CREDENTIALS)
        sids = seed(ours, args.recordings, args.slices)
        seed(naive, args.recordings, args.slices)
        objects = args.recordings * (args.slices + 1)
        print(f"{args.recordings} recordings x {args.slices} slices = {objects} objects per bucket\n")

        counter = RequestCounter(ours.client)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as data:
            for sid in sids:  # what `recshelf rm STORE --prefix agora/ --sid S --yes` does, once per recording
                assert apply_deletes(ours, plan_delete(ours, sid, prefix="agora/"), Path(data)).ok
        ours_s, ours_requests = time.perf_counter() - started, counter.count
        print(f"recshelf rm (plan, verify, batch delete, re-list) {ours_requests:>7} requests {ours_s:>8.2f} s")

        naive_counter = RequestCounter(naive.client)
        started = time.perf_counter()
        for info in list(naive.list()):
            naive.delete(info.key)
        naive_s, naive_requests = time.perf_counter() - started, naive_counter.count
        print(f"one DELETE per object (after a listing)           {naive_requests:>7} requests {naive_s:>8.2f} s")
        # Each rm also lists narrowly (sid, bak<n>_), reads the playlist and re-lists to confirm.
        print(f"requests: per-object / recshelf rm = {naive_requests / ours_requests:.1f}x "
              f"(the deletes alone: {objects} DELETE vs {args.recordings} DeleteObjects = "
              f"{objects / args.recordings:.0f}x)")
        print(f"seconds:  per-object / recshelf rm = {naive_s / ours_s:.1f}x\n")

        du = S3Store("du-bench", endpoint=url, **CREDENTIALS)
        seed(du, max(1, args.du_objects // 101), 100)
        started = time.perf_counter()
        listed = sum(1 for _ in du.list())
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = usage(du, "channel")
        du_s = time.perf_counter() - started
        print(f"plain listing of {listed} objects {plain_s:>8.2f} s")
        print(f"recshelf du --by channel          {du_s:>8.2f} s ({rows[0].recordings} recordings) "
              f"= {du_s / plain_s:.2f}x the listing")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
