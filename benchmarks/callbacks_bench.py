"""Agora callbacks per second into `recshelf serve`, answer times, and that no acknowledged event is lost.

`recshelf serve` runs in a subprocess on 127.0.0.1; N concurrent senders (asyncio, one keep-alive HTTP/1.1
connection each, signed NCS bodies) post for a bounded time. Reported: events acknowledged per second,
p50/p99/max answer time, errors, and — after the run — how many acknowledged noticeIds are missing from the
database (must be 0). With --kill the server is killed with SIGKILL half-way and restarted at once; senders
reconnect, and the count of lost acknowledged events must still be 0.

`--sqlite` first measures the storage choices in-process (no HTTP): a commit per event versus one per batch,
with synchronous=FULL and NORMAL, which is why the intake batches (group commit) and can afford FULL.

`--replicas N` (N > 1) compares, in one run: one replica on SQLite, one on PostgreSQL, and N on the same
PostgreSQL behind no balancer — sender i posts to replica i mod N (round-robin). The PostgreSQL is
`--database`, else a throwaway one started from Debian's binaries (as the tests do), a fresh database each.

    .venv/bin/python benchmarks/callbacks_bench.py [--senders 32] [--seconds 10] [--rate R] [--sync FULL]
                                                   [--kill] [--sqlite] [--database postgresql://…]
                                                   [--replicas 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.agora.signature import signature_headers  # noqa: E402
from storage.service.database import open_database  # noqa: E402
from storage.service.db import Database  # noqa: E402
from storage.service.repo import NewEvent, Repo  # noqa: E402
from storage.testing.net import free_port, wait_healthy  # noqa: E402

SECRET = "bench-ncs-secret"
EVENT_MIX = (33, 33, 42, 31, 4, 40, 41, 30)  # mostly the frequent ones; 31 also queues a job


def body(n: int) -> tuple[str, bytes]:
    notice = str(uuid.uuid4())
    event_type = EVENT_MIX[n % len(EVENT_MIX)]
    envelope = {"noticeId": notice, "productId": 3, "eventType": event_type, "notifyMs": int(time.time() * 1000),
                "payload": {"cname": f"bench room {n % 50}", "uid": "527841", "sid": uuid.uuid4().hex,
                            "sequence": n, "sendts": int(time.time() * 1000), "serviceType": 2,
                            "details": {"msgName": "uploading_progress", "progress": 10000}}}
    return notice, json.dumps(envelope, separators=(",", ":")).encode()


def request(raw: bytes, port: int) -> bytes:
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", "Content-Length": str(len(raw)),
               **signature_headers(SECRET, raw)}
    head = "POST /agora/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode() + raw


@dataclass
class Stats:
    acked: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    refused: int = 0  # non-200 answers


async def sender(index: int, port: int, until: float, stats: Stats, interval_s: float = 0.0) -> None:
    """Post events back to back, or one every `interval_s` (open loop: a slow answer does not slow the offer)."""
    n = index * 10_000_000
    next_at = time.monotonic() + interval_s * index / 64  # spread the senders' phases
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < until:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                stats.errors += 1
                await asyncio.sleep(0.05)  # the server is restarting
                continue
        if interval_s:
            next_at += interval_s
            pause = next_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
        notice, raw = body(n)
        n += 1
        started = time.perf_counter()
        try:
            writer.write(request(raw, port))
            status, length = await read_head(reader)
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            stats.errors += 1
            writer.close()
            reader = writer = None
            continue
        stats.latencies.append(time.perf_counter() - started)
        if status == 200:
            stats.acked.append(notice)
        else:
            stats.refused += 1
    if writer is not None:
        writer.close()


async def read_head(reader: asyncio.StreamReader | None) -> tuple[int, int]:
    assert reader is not None
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    return status, length


class Server:
    def __init__(self, data: Path, sync: str, workers: int = 0, database: str | None = None) -> None:
        self.data = data
        self.workers = workers
        self.database = database
        self.port = free_port()
        self.env = {**os.environ, "AGORA_NCS_SECRET": SECRET, "RECSHELF_SQLITE_SYNC": sync,
                    "PYTHONPATH": str(ROOT)}
        if database:  # PostgreSQL instead of the data folder's SQLite (jobs then go to procrastinate)
            self.env["RECSHELF_DATABASE"] = database
        # With workers, each `uploaded` (1 event in 8) is verified against an empty local store (not_found).
        store = data.parent / "store"
        store.mkdir(parents=True, exist_ok=True)
        config = data.parent / "recshelf.toml"
        config.write_text(f"[rules]\nstore = {json.dumps(str(store))}\n")
        self.env["RECSHELF_CONFIG"] = str(config)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "storage.cli", "serve", "--port", str(self.port), "--data", str(self.data),
               "--workers", str(self.workers), "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.data.parent, stdout=subprocess.DEVNULL)
        wait_healthy(f"http://127.0.0.1:{self.port}/healthz", self.proc, "recshelf serve")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(15)


async def run(servers: list[Server], senders: int, seconds: float, kill: bool,
              rate: float | None = None) -> tuple[Stats, float, float | None]:
    """Senders round-robin over the replicas; with `kill`, the first one is SIGKILLed half-way and restarted."""
    stats = Stats()
    started = time.monotonic()
    until = started + seconds
    interval = senders / rate if rate else 0.0
    # A restarted replica keeps its port, so a sender's target never changes.
    tasks = [asyncio.create_task(sender(i, servers[i % len(servers)].port, until, stats, interval))
             for i in range(senders)]
    down_s: float | None = None
    if kill:
        await asyncio.sleep(seconds / 2)
        killed = time.monotonic()
        servers[0].kill()
        await asyncio.to_thread(servers[0].start)
        down_s = time.monotonic() - killed
    await asyncio.gather(*tasks)
    return stats, time.monotonic() - started, down_s


def cpu_seconds(servers: list[Server]) -> float | None:
    """User + system CPU the server processes used so far (Linux), a measure that load on the machine cannot skew."""
    total = 0.0
    for server in servers:
        try:
            stat = Path(f"/proc/{server.proc.pid}/stat").read_text()  # type: ignore[union-attr]
        except (OSError, AttributeError):
            return None
        fields = stat.rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def http_bench(args: argparse.Namespace, database: str | None, replicas: int = 1) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="recshelf-bench-") as tmp:
        servers = [Server(Path(tmp) / f"replica-{n}" / "data", args.sync, args.workers, database)
                   for n in range(replicas)]
        for server in servers:
            server.start()
        try:
            stats, elapsed, down_s = asyncio.run(run(servers, args.senders, args.seconds, args.kill, args.rate))
            cpu_s = None if args.kill else cpu_seconds(servers)
        finally:
            for server in servers:
                server.kill() if args.kill else server.stop()
        db = Repo(open_database(servers[0].data, url=database))
        stored = db.notice_ids()
        lost = len(set(stats.acked) - stored)
        jobs = dict(Counter(job["state"] for job in db.jobs()))
        db.close()
    return {"senders": args.senders, "offered_per_s": args.rate, "seconds": round(elapsed, 2),
            "database": "postgresql" if database else "sqlite", "replicas": replicas,
            "synchronous": args.sync, "workers": args.workers, "killed": args.kill,
            "load_avg_1m": round(os.getloadavg()[0], 2), "jobs": jobs,
            "restart_s": round(down_s, 2) if down_s is not None else None, "acked": len(stats.acked),
            "events_per_s": round(len(stats.acked) / elapsed, 1),
            "server_cpu_ms_per_event": round(cpu_s / max(1, len(stats.acked)) * 1e3, 3) if cpu_s else None,
            "p50_ms": round(percentile(stats.latencies, 50) * 1e3, 2),
            "p99_ms": round(percentile(stats.latencies, 99) * 1e3, 2),
            "max_ms": round(max(stats.latencies, default=0) * 1e3, 2),
            "mean_ms": round(statistics.fmean(stats.latencies) * 1e3, 2) if stats.latencies else None,
            "errors": stats.errors, "non_200": stats.refused, "stored": len(stored), "acked_lost": lost}


def sqlite_bench(events: int = 2000) -> list[dict[str, object]]:
    """Events stored per second in-process: one commit per event vs one per batch of 64, FULL vs NORMAL."""
    rows = []
    for sync in ("FULL", "NORMAL"):
        for batch in (1, 64):
            with tempfile.TemporaryDirectory(prefix="recshelf-sqlite-") as tmp:
                db = Repo(Database(Path(tmp), synchronous=sync))
                bodies = [body(n) for n in range(events)]
                started = time.perf_counter()
                for i in range(0, events, batch):
                    with db.write() as tx:
                        for notice, raw in bodies[i:i + batch]:
                            tx.insert_event(NewEvent(notice, 33, None, None, "s", "c", raw.decode()), time.time())
                elapsed = time.perf_counter() - started
                db.close()
            rows.append({"synchronous": sync, "events_per_commit": batch, "events_per_s": round(events / elapsed)})
    return rows


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Callable[[], str]]:
    """A function giving a fresh database URL: on `url`'s server, else on a throwaway PostgreSQL started here."""
    if url:
        yield lambda: url
        return
    from tests.fixtures.postgres import pg_bindir, running_postgres

    bindir = pg_bindir()
    if bindir is None:
        raise SystemExit("--replicas needs PostgreSQL: pass --database postgresql://… or apt-get install postgresql")
    with running_postgres(bindir) as server:
        yield lambda: server.url(server.create_database())


def summary(result: dict[str, object]) -> str:
    return (f"{result['database']:>10} x{result['replicas']}: {result['events_per_s']:>8} events/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['acked']} acknowledged, "
            f"{result['acked_lost']} of them lost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="offer this many events/s in total (open loop); default: as fast as answered")
    parser.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--workers", type=int, default=0, help="job workers in the server (0: intake only)")
    parser.add_argument("--database", default=None, help="a postgresql:// URL (default: SQLite in a temp folder)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="N > 1: SQLite x1, PostgreSQL x1 and PostgreSQL xN (round-robin) in one run")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the (first) server half-way and restart it")
    parser.add_argument("--sqlite", action="store_true", help="also measure SQLite commit strategies in-process")
    args = parser.parse_args()
    if args.sqlite:
        for row in sqlite_bench():
            print(json.dumps({"sqlite": row}))
    if args.replicas > 1:
        results = [http_bench(args, None)]
        with postgres(args.database) as fresh:
            results += [http_bench(args, fresh()), http_bench(args, fresh(), args.replicas)]
    else:
        results = [http_bench(args, args.database)]
    for result in results:
        print(json.dumps(result))
    for result in results:
        print(summary(result), file=sys.stderr)
    sys.exit(0 if all(result["acked_lost"] == 0 for result in results) else 1)


if __name__ == "__main__":
    main()
