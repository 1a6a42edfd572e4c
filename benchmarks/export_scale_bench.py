"""MP4 export throughput of 1, 2 and 4 `recshelf worker` processes sharing one PostgreSQL queue.

Setup: `--recordings` recordings of `--slices` 10 s slices each (the media of benchmarks/export_media.py,
the same bytes under a different sid per recording, in one flat prefix as Agora writes them), on moto
or SeaweedFS behind the 40 ms latency proxy (benchmarks/s3_servers.py): an I/O-bound setup, in which a
worker spends most of an export waiting on the network, so workers overlap. PostgreSQL (Debian's) is
started by this benchmark as the tests start it (tests/fixtures/postgres.py: a non-root user when run
as root, a temp folder, 127.0.0.1 only).

For each worker count, a fresh database; the workers (`recshelf worker --concurrency 1`, each its
own process) are started and ready first, then one `recshelf export … --all --format mp4 --queue
--batch 1` queues the recordings (one procrastinate job per recording, locked per recording), and the
clock runs from that command's start until the bulk job's last item is done. Printed per count:
seconds, recordings/min, MB/s of source slices, the speed-up over one worker, and the bulk job's own
elapsed time (first item started → last finished, from the database). Every export is checked done.

    .venv/bin/python benchmarks/export_scale_bench.py --small        # 6 recordings of 1 min, 1 and 2 workers
    .venv/bin/python benchmarks/export_scale_bench.py                # 16 recordings of 3 min, 1/2/4 workers
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_media import KEY, SLICE_S, media, renamed  # noqa: E402
from s3_servers import SERVERS, s3_server, start_proxy, store_url, upload  # noqa: E402

BUCKET = "scale"
FOLDER = "recs/"
POLL_S = 0.25
TIMEOUT_S = 1800.0  # a bulk job not done by then is reported unfinished


@contextmanager
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL on 127.0.0.1, the tests' way (tests/fixtures/postgres.py)."""
    from tests.fixtures.postgres import pg_bindir, running_postgres

    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    with running_postgres(bindir) as server:
        yield server


def _sids(count: int) -> list[str]:
    return [f"{i + 1:08x}{KEY.sid[8:]}" for i in range(count)]


def _start_workers(count: int, env: dict[str, str], data: Path, log: Path) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes, returned once each has said it is ready (it prints one line then)."""
    procs = []
    for n in range(count):
        out = (log / f"worker{n}.log").open("wb")
        procs.append(subprocess.Popen([sys.executable, "-m", "storage.cli", "worker", "--concurrency", "1",
                                       "--data", str(data), "--log-level", "warning"],
                                      env=env, stdout=out, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 120
    for n, proc in enumerate(procs):
        while b"recshelf worker" not in (log / f"worker{n}.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop(procs)
                raise RuntimeError(f"worker {n} did not start: {(log / f'worker{n}.log').read_text()[-2000:]}")
            time.sleep(0.1)
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_done(url: str, bulk_id: int) -> dict[str, Any]:
    from storage.service.bulk import progress
    from storage.service.database import open_database
    from storage.service.repo import Repo

    repo = Repo(open_database(None, url=url))
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            state = progress(repo, bulk_id, time.time())
            if state is None:
                raise RuntimeError(f"bulk job {bulk_id} is gone")
            if state["state"] == "done" or time.monotonic() > deadline:
                return state
            time.sleep(POLL_S)
    finally:
        repo.close()


def one_count(workers: int, pg: Any, source: str, env: dict[str, str], work: Path, total: int) -> dict[str, Any]:
    """Queue every recording as an MP4 export and time `workers` workers through them."""
    database = pg.create_database()
    url = pg.url(database)
    env = {**env, "RECSHELF_DATABASE": url}
    data, dest, log = (work / f"{name}-{workers}" for name in ("data", "out", "log"))
    for folder in (data, dest, log):
        folder.mkdir()
    procs = _start_workers(workers, env, data, log)
    cpu_before = _cpu(procs)
    try:
        started = time.perf_counter()
        queued = subprocess.run([sys.executable, "-m", "storage.cli", "export", source, "--all", "--prefix", FOLDER,
                                 "--format", "mp4", "--to", str(dest), "--queue", "--batch", "1", "--json",
                                 "--data", str(data)], env=env, capture_output=True, text=True)
        if queued.returncode != 0:
            raise RuntimeError(f"queueing failed ({queued.returncode}): {queued.stderr[-2000:]}")
        bulk = json.loads(queued.stdout)
        queue_s = time.perf_counter() - started
        state = _wait_done(url, int(bulk["bulk"]))
        seconds = time.perf_counter() - started
        cpu = _cpu(procs) - cpu_before
    finally:
        _stop(procs)
    mp4s = sorted(dest.glob("*.mp4"))
    return {"workers": workers, "seconds": round(seconds, 2), "queue_s": round(queue_s, 2),
            "db_elapsed_s": state["elapsed_s"],
            "done": state["done"], "failed": state["failed"], "mp4s": len(mp4s), "total": total,
            "workers_cpu_s": round(cpu, 2), "statuses": state["statuses"]}


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU seconds of the worker processes and their remux helpers (Linux /proc)."""
    ticks = 0
    pids = {p.pid for p in procs}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) in pids or int(fields[1]) in pids:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run(kind: str, recordings: int, slices: int, counts: list[int], delay_ms: float) -> list[dict[str, Any]]:
    folder = media(slices)
    work = Path(tempfile.mkdtemp(prefix="recshelf-scale-"))
    proxy = None
    try:
        with s3_server(kind, work / "server") as server, postgres() as pg:
            objects = [(FOLDER + name, body) for sid in _sids(recordings) for name, body in renamed(folder, sid)]
            source_bytes = sum(len(body) for name, body in objects if name.endswith(".ts"))
            upload(server, BUCKET, objects)
            proxy, endpoint = start_proxy(server.endpoint, delay_ms)
            env = server.env()
            rows = []
            for count in counts:
                row = one_count(count, pg, store_url(BUCKET, endpoint), env, work, recordings)
                row["mb_s"] = round(source_bytes / 1e6 / row["seconds"], 2)
                row["recordings_per_min"] = round(row["done"] * 60 / row["seconds"], 2)
                row["load"] = round(os.getloadavg()[0], 2)
                print(f"  {kind}: {count} worker(s): {row['seconds']:.1f} s, {row['recordings_per_min']:.1f} "
                      f"recordings/min, {row['mb_s']:.2f} MB/s (load {row['load']:.1f})", flush=True)
                rows.append(row)
            return rows
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def report(kind: str, rows: list[dict[str, Any]], recordings: int, slices: int, delay_ms: float,
           load_before: float) -> None:
    print(f"\n{kind} S3 + {delay_ms:.0f} ms/request: {recordings} recordings × {slices} slices of {SLICE_S} s, "
          f"MP4, {os.cpu_count()} CPUs, 1-min load {load_before:.1f} before")
    print(f"  {'workers':>7} {'seconds':>8} {'queueing':>8} {'rec/min':>8} {'MB/s':>6} {'speed-up':>8} "
          f"{'db elapsed':>10} {'CPU s':>6} {'done':>5} {'failed':>6} {'load':>5}")
    base = rows[0]["seconds"] if rows else 0.0
    for row in rows:
        print(f"  {row['workers']:>7} {row['seconds']:>8.1f} {row['queue_s']:>7.1f}s "
              f"{row['recordings_per_min']:>8.1f} {row['mb_s']:>6.2f} "
              f"{base / row['seconds']:>7.2f}× {row['db_elapsed_s']:>9.1f}s {row['workers_cpu_s']:>6.1f} "
              f"{row['done']:>5} {row['failed']:>6} {row['load']:>5.1f}")
        if row["failed"] or row["mp4s"] != row["done"]:
            print(f"    NOT all exported: {row['statuses']}, {row['mp4s']} MP4 file(s)")
    print(json.dumps({"server": kind, "recordings": recordings, "slices": slices, "delay_ms": delay_ms,
                      "rows": rows}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="6 recordings of 6 slices, 1 and 2 workers")
    parser.add_argument("--recordings", type=int, default=None, help="default 16")
    parser.add_argument("--slices", type=int, default=None, help="slices per recording; default 18 (3 min)")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts; default 1,2,4")
    parser.add_argument("--server", default="seaweedfs", help=f"comma-separated: {', '.join(SERVERS)}")
    parser.add_argument("--delay-ms", type=float, default=40.0)
    args = parser.parse_args()
    recordings = args.recordings or (6 if args.small else 16)
    slices = args.slices or (6 if args.small else 18)
    counts = [int(c) for c in (args.workers or ("1,2" if args.small else "1,2,4")).split(",")]
    for kind in args.server.split(","):
        load_before = os.getloadavg()[0]
        rows = run(kind, recordings, slices, counts, args.delay_ms)
        report(kind, rows, recordings, slices, args.delay_ms, load_before)


if __name__ == "__main__":
    main()
