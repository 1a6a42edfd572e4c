"""Requests and seconds of `recshelf rm` of many recordings (one plan: one listing, batch deletes, one
confirming listing) against one DELETE per object, and of `recshelf du` against a plain listing, on one
S3 server.

moto's S3 server runs in its own process on 127.0.0.1 (this file with --serve). N recordings x M slices
(tiny fake slices and a playlist each) are put under agora/ by that process into moto's own backend
before it serves (an HTTP PUT each would take most of an hour on a loaded 2-core machine).
`rm` is what `recshelf rm STORE --prefix agora/ --sids-from FILE --yes` does, measured twice on
fresh buckets: cold (every playlist read), and with the web UI's kept verifications (the service
database's results for the same listing: no playlist read). Requests are counted on the boto3 client,
with listings through boto3 too (`precise_listing`; obstore would send them past the counter), so
every request is counted.

moto deletes about 85 objects a second, so the one-DELETE-per-object baseline runs on a sample of
recordings (--baseline-recordings) and is scaled linearly to N; the output says so.

    .venv/bin/python benchmarks/manage_bench.py [--recordings 1000] [--slices 100] [--baseline-recordings 20]
                                                 [--du-objects 100000]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.verify_requests import CREDENTIALS, RequestCounter  # noqa: E402
from storage.cli.rm_many import verified_statuses  # noqa: E402
from storage.manage.apply import apply_deletes  # noqa: E402
from storage.manage.delete import KnownStatus  # noqa: E402
from storage.manage.selection import plan_delete_many  # noqa: E402
from storage.manage.usage import usage  # noqa: E402
from storage.media.naming import RecordingKey  # noqa: E402
from storage.recordings.catalog import find  # noqa: E402
from storage.recordings.objects import listing_fingerprint  # noqa: E402
from storage.recordings.verify import verify_many  # noqa: E402
from storage.service.db import Database  # noqa: E402
from storage.service.repo_verification import VerificationRepo, Verified  # noqa: E402
from storage.stores.s3 import S3Store  # noqa: E402
from tests.manage.helpers import fake_keys  # noqa: E402

PREFIX = "agora/"


def sids_of(recordings: int) -> list[str]:
    return [f"{index:032x}" for index in range(recordings)]


def serve(buckets: dict[str, tuple[int, int]]) -> None:
    """moto's S3 server on a free port, each bucket holding (recordings, slices) put straight into moto's
    backend; prints `ready <port>` once it serves, then serves until killed."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for bucket, (recordings, slices) in buckets.items():
        backend.create_bucket(bucket, "us-east-1")
        for sid in sids_of(recordings):
            for key, data in fake_keys(PREFIX, RecordingKey(sid, "bench_room"), slices).items():
                backend.put_object(bucket, key, data)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"ready {server.get_host_and_port()[1]}", flush=True)
    while True:
        time.sleep(3600)


def start_seeded(buckets: dict[str, tuple[int, int]]) -> tuple[subprocess.Popen[str], str]:
    spec = [f"{bucket}={recordings}x{slices}" for bucket, (recordings, slices) in buckets.items()]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", *spec], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise SystemExit("the seeded moto server did not start")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def keep_verifications(store: S3Store, data: Path) -> None:
    """What the web UI leaves in the service database after showing the recordings: a result per listing."""
    recordings = find(store, prefix=PREFIX)
    VerificationRepo(Database(data)).save(store.url, [
        Verified(rec.id, listing_fingerprint(rec), report.to_dict())
        for rec, report in zip(recordings, verify_many(store, recordings), strict=True)])


def rm(store: S3Store, sids: list[str], data: Path, known: Callable[[], KnownStatus | None]) -> tuple[int, float]:
    """(requests, seconds) of planning and applying the delete of `sids`, every request counted."""
    counter = RequestCounter(store.client)
    started = time.perf_counter()
    with store.precise_listing():
        plan = plan_delete_many(store, sids, prefix=PREFIX, known=known())
        assert not plan.refused, plan.refusals[:3]
        outcome = apply_deletes(store, plan, data)
    seconds = time.perf_counter() - started
    assert outcome.ok and outcome.deleted == len(plan.objects), outcome.to_dict()
    assert not any(store.list(PREFIX))
    return counter.count, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--baseline-recordings", type=int, default=20,
                        help="recordings the one-DELETE-per-object baseline deletes (scaled to --recordings)")
    parser.add_argument("--du-objects", type=int, default=100_000, help="0 skips the du part")
    parser.add_argument("--serve", nargs="*", metavar="BUCKET=NxM", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve({spec.split("=")[0]: tuple(map(int, spec.split("=")[1].split("x"))) for spec in args.serve})
        return
    sample = min(args.baseline_recordings, args.recordings)
    buckets = {"cold": (args.recordings, args.slices), "cached": (args.recordings, args.slices),
               "naive": (sample, args.slices)}
    if args.du_objects:
        buckets["du-bench"] = (max(1, args.du_objects // 101), 100)
    started = time.perf_counter()
    proc, url = start_seeded(buckets)
    try:
        cold, cached, naive = (S3Store(name, endpoint=url, **CREDENTIALS) for name in ("cold", "cached", "naive"))
        sids = sids_of(args.recordings)
        per_recording = args.slices + 1
        objects = args.recordings * per_recording
        print(f"{args.recordings} recordings x {args.slices} slices = {objects} objects per bucket "
              f"(put into moto in {time.perf_counter() - started:.0f} s)\n")

        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder)
            cold_requests, cold_s = rm(cold, sids, data / "cold", lambda: None)
            print(f"recshelf rm, cold (1 listing, {args.recordings} playlist GETs, batch deletes, 1 re-listing)"
                  f" {cold_requests:>7} requests {cold_s:>8.2f} s")
            keep_verifications(cached, data / "cached")
            cached_requests, cached_s = rm(cached, sids, data / "cached",
                                           lambda: verified_statuses(cached.url, cached, data / "cached"))
            print(f"recshelf rm, verifications kept (no playlist read)                     "
                  f"{cached_requests:>7} requests {cached_s:>8.2f} s")

        counter = RequestCounter(naive.client)
        started = time.perf_counter()
        with naive.precise_listing():
            for info in list(naive.list()):
                naive.delete(info.key)
        naive_s, naive_requests = time.perf_counter() - started, counter.count
        scale = args.recordings / sample
        scaled_requests, scaled_s = naive_requests * scale, naive_s * scale
        print(f"one DELETE per object (after a listing), measured on {sample} recordings "
              f"({sample * per_recording} objects): {naive_requests} requests {naive_s:.2f} s")
        print(f"  scaled linearly x{scale:g} to {args.recordings} recordings:"
              f"{' ' * 32}{scaled_requests:>7.0f} requests {scaled_s:>8.2f} s\n")
        for label, requests, seconds in (("cold", cold_requests, cold_s), ("kept", cached_requests, cached_s)):
            print(f"per-object / recshelf rm ({label}): requests {scaled_requests / requests:.1f}x, "
                  f"seconds {scaled_s / seconds:.1f}x")
        print(f"(the deletes alone: {objects} DELETE vs {-(-objects // 1000)} DeleteObjects)\n")

        if args.du_objects:
            du = S3Store("du-bench", endpoint=url, **CREDENTIALS)
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
