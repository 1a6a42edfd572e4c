"""Benchmark `recshelf export --format mp4` against ffmpeg on signed URLs and a raw parallel download.

Setup (reference/playback.md §3.4 for the media recipe): a 1-hour Agora-style recording — 360 slices
of 10 s, H.264 640×360 at 15 fps and ~500 kbps CBR plus 48 kbps AAC — generated once and cached in
benchmarks/.cache/. It is served by moto's S3 server in its own process, behind a proxy (another
process) that adds 40 ms to every request, like a cloud bucket a continent away.

Measured, each as a fresh process so every contender pays interpreter start-up and listing:

* (a) `ffmpeg -i <playlist of presigned slice URLs> -c copy out.mp4` — what users do by hand;
* (b) a raw parallel download of every slice to disk (same worker count) — the floor for any export;
* `recshelf export … --format mp4` with the PyAV engine (remux in a helper process) and with
  `--engine ffmpeg`, and `--format ts`: the same pipeline (CLI start-up, listing, playlist, ordered
  fetch, slice checks, resume cache, one output file) without any remux, which shows how much of the
  gap to (b) is the remux and how much the export pipeline itself.

Targets: recshelf ≥ 3× faster than (a) and within 1.3× of (b). Times are compared only with each
other within one run (ratios), never with fixed numbers; each contender's best and median round
are shown, with the machine's load before and after. Each line also shows the CPU seconds the
contender used and those moto + the proxy used meanwhile: on a small shared machine the export is
CPU-bound, and the remux's own CPU (libavformat demux + mux) is what separates `mp4` from `ts`.
The raw download runs this file as its process, so this module imports nothing heavy at the top.
`--engines` picks the recshelf contenders (`--engine ffmpeg` finds its binary via RECSHELF_FFMPEG,
imageio-ffmpeg or PATH).

    .venv/bin/python benchmarks/export_bench.py            # full hour (first run encodes ~1 min of media)
    .venv/bin/python benchmarks/export_bench.py --small    # 30 slices, a quick check
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
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only what the raw-download contender needs is imported at module level: that contender runs this
# file as its process, and PyAV, numpy and httpx (~0.4 s of imports) would otherwise be charged to
# the baseline. Media and server helpers import them where they are used.
from storage.media.naming import RecordingKey, playlist_name, slice_name  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
KEY = RecordingKey("0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "bench")
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
FOLDER = "rec/"
BUCKET = "bench"
SLICE_S = 10
BASE_SLICES = 6  # encode one minute, then repeat it on a continuous timeline
WIDTH, HEIGHT, FPS = 640, 360, 15
VIDEO_KBPS, AUDIO_KBPS = 500, 48
SAMPLE_RATE = 48000
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1"}


# -- media ------------------------------------------------------------------------------------------


def _encode_base(path: Path, seconds: int) -> None:
    """One TS of `seconds` at the target bitrates (x264 CBR with filler, so the size is realistic)."""
    import av
    import numpy as np

    out = av.open(str(path), "w", format="mpegts", options={"mpegts_copyts": "1"})
    v = out.add_stream("libx264", rate=FPS)
    v.width, v.height, v.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    v.bit_rate = VIDEO_KBPS * 1000
    gop = str(FPS * SLICE_S)
    v.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "g": gop, "keyint_min": gop,
                               "sc_threshold": "0", "maxrate": f"{VIDEO_KBPS}k", "bufsize": f"{2 * VIDEO_KBPS}k",
                               "x264-params": "nal-hrd=cbr:force-cfr=1"}
    a = out.add_stream("aac", rate=SAMPLE_RATE)
    a.layout = "mono"
    a.bit_rate = AUDIO_KBPS * 1000
    rng = np.random.default_rng(1)
    vi = ai = 0
    n_video, n_audio = seconds * FPS, seconds * SAMPLE_RATE
    while vi < n_video or ai < n_audio:
        if vi < n_video and (ai >= n_audio or vi / FPS <= ai / SAMPLE_RATE):
            img = rng.integers(0, 40, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            img[:, (vi * 8) % WIDTH:(vi * 8) % WIDTH + 16] = 235
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = vi + 10 * FPS, Fraction(1, FPS)
            out.mux(v.encode(frame))
            vi += 1
        else:
            t = np.arange(ai, ai + 1024) / SAMPLE_RATE
            frame = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = SAMPLE_RATE, ai + 10 * SAMPLE_RATE
            frame.time_base = Fraction(1, SAMPLE_RATE)
            out.mux(a.encode(frame))
            ai += 1024
    out.mux(v.encode(None))
    out.mux(a.encode(None))
    out.close()


def _repeat_into_slices(base: Path, folder: Path, slices: int) -> list[tuple[str, float]]:
    """Cut `slices` 10 s slices from the base minute played over and over on one continuous timeline."""
    import av

    src = av.open(str(base))
    streams = [s for s in src.streams if s.type in ("video", "audio")]
    packets = [(bytes(p), p.pts, p.dts, p.duration, p.is_keyframe, p.stream.index)
               for p in src.demux(*streams) if p.dts is not None]
    tmp = folder / "tmp"
    tmp.mkdir()
    out = av.open(str(tmp / "x.m3u8"), "w", format="hls", options={
        "hls_time": str(SLICE_S), "hls_list_size": "0", "hls_playlist_type": "vod",
        "hls_segment_filename": str(tmp / "x_%05d.ts")})
    omap = {s.index: out.add_stream_from_template(s) for s in streams}
    tb = {s.index: s.time_base for s in streams}
    period = BASE_SLICES * SLICE_S
    reps = -(-slices // BASE_SLICES)
    last: dict[int, int] = {}
    for rep in range(reps):
        for data, pts, dts, duration, key, idx in packets:
            shift = int(rep * period / tb[idx])
            if dts + shift - packets[0][2] >= slices * SLICE_S / tb[idx]:
                continue
            if dts + shift <= last.get(idx, -1):
                continue  # AAC priming overlaps the previous round by a frame; drop it
            last[idx] = dts + shift
            p = av.Packet(data)
            p.pts, p.dts, p.duration = pts + shift, dts + shift, duration
            p.time_base, p.stream, p.is_keyframe = tb[idx], omap[idx], key
            out.mux(p)
    out.close()
    src.close()
    durations = [float(line.split(":")[1].rstrip(",")) for line in (tmp / "x.m3u8").read_text().splitlines()
                 if line.startswith("#EXTINF:")]
    items, when = [], START
    for n, duration in enumerate(durations):
        name = slice_name(KEY, when)
        (tmp / f"x_{n:05d}.ts").rename(folder / name)
        items.append((name, duration))
        when += timedelta(seconds=duration)
    shutil.rmtree(tmp)
    return items


def media(slices: int) -> Path:
    """The cached recording folder (slices + Agora-style playlist), made on first use."""
    from storage.demo.synth import PlaylistItem, agora_playlist

    folder = CACHE / f"rec-{slices}x{SLICE_S}s-{WIDTH}x{HEIGHT}-{VIDEO_KBPS}k"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    base = folder / "base.ts"
    _encode_base(base, min(slices, BASE_SLICES) * SLICE_S)
    items = _repeat_into_slices(base, folder, slices)
    base.unlink()
    text = agora_playlist([PlaylistItem(name, d) for name, d in items])
    (folder / playlist_name(KEY)).write_text(text)
    (folder / "done").write_text("")
    print(f"media: {len(items)} slices made in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return folder


# -- servers ----------------------------------------------------------------------------------------


def _start_proxy(target: str, delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "latency_proxy.py"), "--target",
                             target.removeprefix("http://"), "--delay-ms", str(delay_ms)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "listening":
        proc.kill()
        raise RuntimeError("latency proxy did not start")
    return proc, f"http://127.0.0.1:{line[1]}"


def _upload(folder: Path, endpoint: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=ENV["AWS_DEFAULT_REGION"],
                      aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket=BUCKET)
    files = [p for p in folder.iterdir() if p.suffix in (".ts", ".m3u8")]

    def put(path: Path) -> None:
        ctype = "video/mp2t" if path.suffix == ".ts" else "application/vnd.apple.mpegurl"
        s3.put_object(Bucket=BUCKET, Key=FOLDER + path.name, Body=path.read_bytes(), ContentType=ctype)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, files))


# -- contenders -------------------------------------------------------------------------------------


def _store_url(endpoint: str) -> str:
    return f"s3://{BUCKET}/?endpoint={endpoint}&region={ENV['AWS_DEFAULT_REGION']}"


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


def run(slices: int, workers: int, delay_ms: float, engines: list[str], repeat: int) -> dict[str, list[Timing]]:
    from verify_requests import start_moto  # moto S3 server in its own process, shared with that bench

    folder = media(slices)
    moto, moto_url = start_moto()
    proxy = None
    work = Path(tempfile.mkdtemp(prefix="recshelf-bench-"))
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    os.environ.update(ENV)
    try:
        _upload(folder, moto_url)
        proxy, proxy_url = _start_proxy(moto_url, delay_ms)
        url = _store_url(proxy_url)
        times: dict[str, list[Timing]] = {}
        servers = [moto.pid, proxy.pid]
        # Warm-up: moto builds its backends on first use; no contender should pay for that.
        _timed([sys.executable, __file__, "--raw-download", url, str(work / "warm"), str(workers)], env, servers)
        ffmpeg = shutil.which("ffmpeg")
        playlist = work / "signed.m3u8"
        if ffmpeg:
            _signed_playlist(url, folder, playlist)
        for round_ in range(repeat):
            # Best of `repeat` rounds, contenders interleaved so drift on a shared machine hits all alike.
            raw = work / f"raw{round_}"
            _add(times, "raw parallel download (b)", _timed(
                [sys.executable, __file__, "--raw-download", url, str(raw), str(workers)], env, servers))
            for engine in engines:
                out = work / f"recshelf-{engine}-{round_}"
                fmt = "ts" if engine == "ts" else "mp4"
                name = "recshelf export ts (no remux)" if engine == "ts" else f"recshelf export mp4 ({engine})"
                _add(times, name, _timed(
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
                _add(times, "ffmpeg -i signed playlist -c copy (a)", _timed(
                    [ffmpeg, "-v", "error", "-nostdin", "-protocol_whitelist", "file,http,tcp", "-i", str(playlist),
                     "-c", "copy", "-y", str(work / "ffmpeg.mp4")], env, servers))
            shutil.rmtree(raw)
        return times
    finally:
        for proc in (proxy, moto):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def report(times: dict[str, list[Timing]], slices: int, workers: int, delay_ms: float,
           load: tuple[float, float]) -> None:
    print(f"\n{slices} slices × {SLICE_S} s ({slices * SLICE_S / 60:.0f} min), {WIDTH}x{HEIGHT}@{FPS} "
          f"{VIDEO_KBPS}+{AUDIO_KBPS} kbps, moto S3 + {delay_ms:.0f} ms/request, {workers} workers, "
          f"{os.cpu_count()} CPUs, 1-min load {load[0]:.1f} before / {load[1]:.1f} after")
    best = {name: min(runs) for name, runs in times.items()}  # the round with the lowest wall time
    mid = {name: median(wall for wall, _, _ in runs) for name, runs in times.items()}
    rounds = max(len(runs) for runs in times.values())
    print(f"  {'contender':42s} {'best':>8s} {'median':>8s} {'its CPU':>8s} {'server CPU':>11s}  "
          "(CPU: the best round's)")
    for name, (wall, cpu, server) in best.items():
        print(f"  {name:42s} {wall:7.2f}s {mid[name]:7.2f}s {cpu:7.2f}s {server:10.2f}s")
    key_a, key_b = "ffmpeg -i signed playlist -c copy (a)", "raw parallel download (b)"
    for name in best:
        if not name.startswith("recshelf"):
            continue
        line = (f"  {name}: {best[name][0] / best[key_b][0]:.2f}× the raw download "
                f"(median {mid[name] / mid[key_b]:.2f}×; target ≤ 1.3)")
        if key_a in best:
            line += (f", {best[key_a][0] / best[name][0]:.1f}× faster than ffmpeg "
                     f"(median {mid[key_a] / mid[name]:.1f}×; target ≥ 3)")
        print(line)
    summary: dict[str, Any] = {"slices": slices, "workers": workers, "delay_ms": delay_ms, "rounds": rounds,
                               "load": [round(x, 2) for x in load],
                               "best": {k: [round(x, 3) for x in v] for k, v in best.items()},
                               "median_wall": {k: round(v, 3) for k, v in mid.items()}}
    print(json.dumps(summary))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--raw-download":
        raw_download(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description="recshelf export benchmark (see module docstring)")
    parser.add_argument("--small", action="store_true", help="30 slices (5 min) instead of 360 (1 h)")
    parser.add_argument("--slices", type=int, default=None)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the best time of each contender counts")
    parser.add_argument("--engines", default="pyav,ffmpeg,ts",
                        help="comma-separated recshelf MP4 engines to time; `ts` times `--format ts` (the export "
                             "pipeline without any remux: fetch, checks, resume cache, one output file)")
    args = parser.parse_args()
    slices = args.slices or (30 if args.small else 360)
    load_before = os.getloadavg()[0]
    times = run(slices, args.workers, args.delay_ms, [e for e in args.engines.split(",") if e], args.repeat)
    report(times, slices, args.workers, args.delay_ms, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
