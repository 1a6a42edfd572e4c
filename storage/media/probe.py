"""What one MPEG-TS slice's bytes say: a pure-Python 188-byte walk (reference/playback.md §1.5, deep checks).

The walk needs no native code and is fast (0.03 s for 7 MB): sync bytes, transport errors, PAT→PMT→
stream types, continuity counters, and the first/last PTS of every elementary stream. PyAV is used
only by the optional `measure_duration` helper.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Literal

PACKET = 188
SYNC = 0x47
NULL_PID = 0x1FFF
PTS_HZ = 90000
PTS_WRAP = 1 << 33  # PTS is 33 bits: it wraps after ~26.5 h
VIDEO_TYPES = {0x1B: "h264", 0x24: "hevc", 0x02: "mpeg2"}
AUDIO_TYPES = {0x0F: "aac", 0x03: "mp3", 0x04: "mp3", 0x11: "aac_latm"}

Severity = Literal["error", "warning", "info"]


@dataclass
class TsIssue:
    code: str  # not_ts_bytes, truncated, tei, no_pat_pmt, cc_jump, pts_missing, no_idr_start, no_media
    message: str
    severity: Severity = "error"
    offset: int | None = None  # byte offset in the slice


@dataclass
class TsProbe:
    size: int
    packets: int = 0
    pmt_pid: int | None = None
    streams: dict[int, int] = field(default_factory=dict)  # elementary PID -> stream_type
    first_pts: dict[int, int] = field(default_factory=dict)  # PID -> first PTS seen (90 kHz)
    last_pts: dict[int, int] = field(default_factory=dict)  # PID -> last PTS seen (90 kHz, unwrapped)
    starts_with_keyframe: bool | None = None  # random_access_indicator on the first video PES
    issues: list[TsIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    @property
    def codecs(self) -> list[str]:
        names = {**VIDEO_TYPES, **AUDIO_TYPES}
        return [names.get(t, f"0x{t:02x}") for t in self.streams.values()]

    @property
    def has_video(self) -> bool:
        return any(t in VIDEO_TYPES for t in self.streams.values())

    @property
    def has_audio(self) -> bool:
        return any(t in AUDIO_TYPES for t in self.streams.values())

    @property
    def start_s(self) -> float | None:
        """Earliest PTS over all streams, in seconds."""
        return min(self.first_pts.values()) / PTS_HZ if self.first_pts else None

    @property
    def end_s(self) -> float | None:
        """Latest PTS over all streams, in seconds (the last frame's start, not its end)."""
        return max(self.last_pts.values()) / PTS_HZ if self.last_pts else None

    @property
    def span_s(self) -> float:
        """Last minus first PTS; one frame short of the slice duration."""
        if not self.first_pts:
            return 0.0
        return max(self.last_pts[p] - self.first_pts[p] for p in self.first_pts) / PTS_HZ


def probe_ts(data: bytes) -> TsProbe:
    """Walk a slice's TS packets. Problems land in `issues`; the walk stops at the first loss of sync."""
    result = TsProbe(size=len(data))
    issues = result.issues
    if not data:
        issues.append(TsIssue("not_ts_bytes", "slice is empty"))
        return result
    if data[0] != SYNC:
        issues.append(TsIssue("not_ts_bytes", f"first byte is 0x{data[0]:02x}, not the 0x47 sync byte "
                                              f"({_sniff(data)})", offset=0))
        return result
    if len(data) % PACKET:
        issues.append(TsIssue("truncated", f"{len(data)} bytes is not a whole number of 188-byte packets "
                                           f"({len(data) % PACKET} bytes left over)", offset=len(data)))
    cc: dict[int, int] = {}
    pes_left: dict[int, int] = {}  # PID -> bytes the open PES still declares (0 = unbounded)
    tei_reported = False
    for offset in range(0, len(data) - PACKET + 1, PACKET):
        packet = data[offset:offset + PACKET]
        if packet[0] != SYNC:
            issues.append(TsIssue("not_ts_bytes", f"lost sync at byte {offset}", offset=offset))
            break
        result.packets += 1
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        pusi = bool(packet[1] & 0x40)
        afc = (packet[3] >> 4) & 0x3
        if packet[1] & 0x80 and not tei_reported:
            issues.append(TsIssue("tei", f"transport_error_indicator set (PID {pid})", offset=offset))
            tei_reported = True
        payload = 4
        random_access = False
        if afc & 0x2:
            length = packet[4]
            if length:
                random_access = bool(packet[5] & 0x40)
            payload = 5 + length
        if afc & 0x1 and pid != NULL_PID:
            counter = packet[3] & 0x0F
            # A counter may repeat once (a duplicate packet) or step by one; anything else lost packets.
            if pid in cc and counter not in (cc[pid], (cc[pid] + 1) & 0x0F):
                issues.append(TsIssue("cc_jump", f"continuity counter of PID {pid} jumps {cc[pid]}→{counter}",
                                      offset=offset))
            cc[pid] = counter
        if not (afc & 0x1) or payload >= PACKET:
            continue
        body = packet[payload:]
        if pid in result.streams and not pusi and pes_left.get(pid, 0) > 0:
            pes_left[pid] = max(0, pes_left[pid] - len(body))
        if not pusi:
            continue
        if pid == 0:
            _read_pat(body, result)
        elif pid == result.pmt_pid:
            _read_pmt(body, result)
        elif pid in result.streams:
            _read_pes(body, pid, offset, random_access, result)
            if body[:3] == b"\x00\x00\x01" and len(body) >= 6:
                declared = (body[4] << 8) | body[5]  # bytes after the length field; 0 for unbounded video
                pes_left[pid] = max(0, declared - (len(body) - 6)) if declared else 0
    cut = sorted(pid for pid, left in pes_left.items() if left > 0)
    if cut and not any(i.code == "not_ts_bytes" for i in issues):
        issues.append(TsIssue("truncated", f"the last PES of PID {cut[0]} is cut short "
                                           f"({pes_left[cut[0]]} bytes missing)", offset=len(data)))
    _finish(result)
    return result


def _section(body: bytes) -> bytes:
    """A PSI section after its pointer field."""
    pointer = body[0]
    return body[1 + pointer:]


def _read_pat(body: bytes, result: TsProbe) -> None:
    section = _section(body)
    if len(section) < 8 or section[0] != 0x00:
        return
    length = ((section[1] & 0x0F) << 8) | section[2]
    end = min(3 + length - 4, len(section))  # minus CRC
    for i in range(8, end - 3, 4):
        program = (section[i] << 8) | section[i + 1]
        if program != 0:  # program 0 points at the network PID
            result.pmt_pid = ((section[i + 2] & 0x1F) << 8) | section[i + 3]
            return


def _read_pmt(body: bytes, result: TsProbe) -> None:
    section = _section(body)
    if len(section) < 12 or section[0] != 0x02:
        return
    length = ((section[1] & 0x0F) << 8) | section[2]
    end = min(3 + length - 4, len(section))
    info_length = ((section[10] & 0x0F) << 8) | section[11]
    i = 12 + info_length
    while i + 5 <= end:
        stream_type = section[i]
        pid = ((section[i + 1] & 0x1F) << 8) | section[i + 2]
        es_info = ((section[i + 3] & 0x0F) << 8) | section[i + 4]
        result.streams[pid] = stream_type
        i += 5 + es_info


def _read_pes(body: bytes, pid: int, offset: int, random_access: bool, result: TsProbe) -> None:
    if body[:3] != b"\x00\x00\x01" or len(body) < 9:
        return
    if result.starts_with_keyframe is None and result.streams[pid] in VIDEO_TYPES:
        result.starts_with_keyframe = random_access
    if not body[7] & 0x80 or len(body) < 14:
        result.issues.append(TsIssue("pts_missing", f"a PES of PID {pid} has no PTS", "warning", offset))
        return
    p = body[9:14]
    pts = (((p[0] >> 1) & 0x07) << 30) | (p[1] << 22) | ((p[2] >> 1) << 15) | (p[3] << 7) | (p[4] >> 1)
    if pid not in result.first_pts:
        result.first_pts[pid] = result.last_pts[pid] = pts
        return
    # Unwrap relative to the previous PTS so a 33-bit wrap inside a slice does not look like a jump back.
    last = result.last_pts[pid]
    delta = (pts - last) % PTS_WRAP
    if delta > PTS_WRAP // 2:
        delta -= PTS_WRAP
    result.last_pts[pid] = max(last, last + delta)


def _finish(result: TsProbe) -> None:
    if not result.packets or any(i.code == "not_ts_bytes" and i.offset == 0 for i in result.issues):
        return
    if result.pmt_pid is None or not result.streams:
        result.issues.append(TsIssue("no_pat_pmt", "no PAT/PMT found: players cannot tell what the slice holds"))
    elif not (result.has_video or result.has_audio):
        result.issues.append(TsIssue("no_media", f"no H.264/AAC stream (stream types {result.codecs})"))
    if result.starts_with_keyframe is False:
        # Agora's forced slicing of browser H.264 legitimately starts slices mid-GOP (playback.md §1.4).
        result.issues.append(TsIssue("no_idr_start", "the first video frame is not a keyframe", "warning"))


def _sniff(data: bytes) -> str:
    head = data[:64].lstrip().lower()
    if head.startswith((b"<?xml", b"<error", b"<html", b"<!doctype")):
        return "looks like an XML/HTML error body"
    if head.startswith(b"{"):
        return "looks like JSON"
    return "not MPEG-TS"


def pts_gap_s(previous: TsProbe, following: TsProbe) -> float | None:
    """Seconds from the end of `previous` (last PTS) to the start of `following` (first PTS), modulo 2^33.

    Includes one frame duration when the timeline is continuous; None when either has no PTS.
    """
    if previous.end_s is None or following.start_s is None:
        return None
    ticks = (min(following.first_pts.values()) - max(previous.last_pts.values())) % PTS_WRAP
    if ticks > PTS_WRAP // 2:
        ticks -= PTS_WRAP
    return ticks / PTS_HZ


def measure_duration(data: bytes) -> float | None:
    """Presentation span of a slice measured with PyAV (max(pts + duration) − min(pts)), or None.

    Slower than `probe_ts` but counts the last frame's duration, which is what EXTINF describes.
    """
    import av  # imported here: the pure-Python walk must work without loading FFmpeg

    start: float | None = None
    end: float | None = None
    try:
        with av.open(io.BytesIO(data), format="mpegts") as container:
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                t0 = float(packet.pts * packet.time_base)
                t1 = t0 + float((packet.duration or 0) * packet.time_base)
                start = t0 if start is None else min(start, t0)
                end = t1 if end is None else max(end, t1)
    except (av.error.FFmpegError, ValueError):
        return None
    if start is None or end is None:
        return None
    return end - start
