"""Requests and seconds of `recshelf verify` against a HEAD-per-segment check, on one S3 server.

A 1,000-slice recording is written to moto's S3 server, run in its own process on 127.0.0.1.
recshelf verifies from one paginated listing plus one playlist GET; the baseline reads the playlist
and HEADs every segment it names, as a naive checker does (sequentially, and with 8 threads).
Requests are counted on the boto3 client (every HTTP request it sends, retries included).

    .venv/bin/python benchmarks/verify_requests.py [--slices 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.demo.samples import write_recording  # noqa: E402
from storage.media.hls import parse  # noqa: E402
from storage.media.naming import RecordingKey  # noqa: E402
from storage.recordings.catalog import find  # noqa: E402
from storage.recordings.verify import verify  # noqa: E402
from storage.stores.s3 import S3Store  # noqa: E402
from storage.testing.net import free_port  # noqa: E402

CREDENTIALS = {"access_key": "bench", "secret_key": "bench-secret", "region": "us-east-1"}


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/moto-api/", timeout=0.5)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto server did not start")


class RequestCounter:
    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("before-send.s3", self._on_send)

    def _on_send(self, **_: Any) -> None:
        self.count += 1


def measure(label: str, store: S3Store, counter: RequestCounter, run: Callable[[], str]) -> tuple[int, float]:
    counter.count = 0
    started = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - started
    print(f"{label:<32} {counter.count:>6} requests {seconds:>8.3f} s   -> {outcome}")
    return counter.count, seconds


def recshelf_verify(store: S3Store) -> str:
    reports = [verify(store, rec) for rec in find(store)]
    return ", ".join(f"{r.status} ({len(r.segments)} segments)" for r in reports)


def head_per_segment(store: S3Store, workers: int) -> str:
    playlist_key = next(info.key for info in store.list() if info.key.endswith(".m3u8"))
    folder = playlist_key.rpartition("/")[0] + "/"
    playlist = parse(store.read(playlist_key))
    keys = [folder + entry.uri for entry in playlist.entries]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        missing = sum(1 for info in pool.map(store.stat, keys) if info is None or info.size == 0)
    return f"{'complete' if missing == 0 else 'incomplete'} ({len(keys)} segments)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=1000)
    args = parser.parse_args()

    proc, url = start_moto()
    try:
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench-secret").create_bucket(Bucket="bench")
        store = S3Store("bench", endpoint=url, **CREDENTIALS)
        started = time.perf_counter()
        key = RecordingKey("0f4c2d1e9a8b7c6d5e4f3a2b1c0d9e8f", "bench_room")
        write_recording(store, "agora/", key, datetime(2026, 1, 1, tzinfo=UTC), slices=args.slices, slice_s=1.0)
        print(f"wrote a {args.slices}-slice recording in {time.perf_counter() - started:.1f} s\n")

        counter = RequestCounter(store.client)
        ours_requests, ours_s = measure("recshelf verify", store, counter, lambda: recshelf_verify(store))
        seq_requests, seq_s = measure("HEAD per segment (1 thread)", store, counter,
                                      lambda: head_per_segment(store, 1))
        par_requests, par_s = measure("HEAD per segment (8 threads)", store, counter,
                                      lambda: head_per_segment(store, 8))
        print()
        print(f"requests: HEAD-per-segment / recshelf = {seq_requests / ours_requests:.0f}x")
        print(f"seconds:  HEAD-per-segment (1 thread) / recshelf = {seq_s / ours_s:.1f}x")
        print(f"seconds:  HEAD-per-segment (8 threads) / recshelf = {par_s / ours_s:.1f}x")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
