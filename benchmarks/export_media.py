"""The benchmarks' 1-hour recording: Agora-style slices of real H.264 + AAC, made once and cached.

Recipe (reference/playback.md §3.4): 10 s slices, H.264 640×360 at 15 fps and ~500 kbps CBR plus
48 kbps AAC. One minute is encoded, then repeated on one continuous timeline, so the full hour takes
about a minute to make; it is kept in benchmarks/.cache/. `renamed` gives the same bytes under
another sid, for benchmarks that need many recordings.
"""

from __future__ import annotations

import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.media.naming import RecordingKey, playlist_name, slice_name  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
KEY = RecordingKey("0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "bench")
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
SLICE_S = 10
BASE_SLICES = 6  # encode one minute, then repeat it on a continuous timeline
WIDTH, HEIGHT, FPS = 640, 360, 15
VIDEO_KBPS, AUDIO_KBPS = 500, 48
SAMPLE_RATE = 48000


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


def renamed(folder: Path, sid: str) -> list[tuple[str, bytes]]:
    """(object name, bytes) of the cached recording as if its sid were `sid` (names and playlist alike)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".ts", ".m3u8"))
    return [(p.name.replace(KEY.sid, sid),
             p.read_bytes().replace(KEY.sid.encode(), sid.encode()) if p.suffix == ".m3u8" else p.read_bytes())
            for p in files]
