"""One stream per uid: the master playlist that plays an individual-mode uid's audio and video together.

Agora's individual mode writes a uid's audio and its video as two recordings
(``…__uid_s_<uid>__uid_e_audio.m3u8`` and ``…_video.m3u8``). Played as two elements they drift
apart and only one has the control bar. A master playlist makes them one HLS presentation: the
video is the variant (``#EXT-X-STREAM-INF``) and the audio its alternate rendition
(``#EXT-X-MEDIA:TYPE=AUDIO``), so hls.js feeds both into one media element with one clock. Both
media playlists carry ``#EXT-X-PROGRAM-DATE-TIME`` from the slices' UTC names
(storage/recordings/playback.py), and the slices' timestamps come from one recorder, so the two
line up on the wall clock; `start_offset_s` says how far apart they begin, for the page to show.

Only URIs recshelf produced ever go into a master playlist (signed media URLs, or Blob URL
placeholders the web UI's player replaces): a stored playlist's own ``#EXT-X-MEDIA`` or
``#EXT-X-STREAM-INF`` lines are still dropped by the rewrite's allow-list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.media.naming import parse_name, split_key
from storage.recordings.catalog import Recording, find, slice_time
from storage.recordings.playback import playback_playlist, slice_expiry
from storage.stores.base import ObjectStore

AUDIO_GROUP = "audio"
# The name of a uid's master playlist beside its video playlist. No Agora file ends so; should a
# channel be named to make one, the real object wins (`served_playlist`).
MASTER_SUFFIX = ".master.m3u8"
# Added to a signed playlist URL: serve the playlist a player may have, not the stored bytes.
PLAY_QUERY = "play=1"
MIN_BANDWIDTH = 64_000  # bits/s: a variant needs a BANDWIDTH, and a tiny one must still be plausible
_FORBIDDEN_IN_URI = frozenset('"\r\n')


@dataclass(frozen=True)
class UidStreams:
    """The audio and video recordings of one individual-mode uid (either may be missing)."""

    audio: Recording | None
    video: Recording | None

    @property
    def paired(self) -> bool:
        return self.audio is not None and self.video is not None

    @property
    def start_offset_s(self) -> float | None:
        """Seconds the audio starts after the video (negative: before), from the slice names."""
        if not (self.audio and self.video and self.audio.start and self.video.start):
            return None
        return (self.audio.start - self.video.start).total_seconds()


def uid_streams(rec: Recording, recordings: Sequence[Recording]) -> UidStreams:
    """`rec`'s audio and video recordings: same folder, sid, channel and uid (individual mode only)."""
    key = rec.key
    if key.uid is None:
        return UidStreams(None, rec) if key.stream != "audio" else UidStreams(rec, None)
    found: dict[str | None, Recording] = {rec.key.stream: rec}
    for other in recordings:
        k = other.key
        if (other.folder == rec.folder and k.sid == key.sid and k.cname == key.cname and k.uid == key.uid
                and k.stream in ("audio", "video") and k.stream not in found):
            found[k.stream] = other
    return UidStreams(found.get("audio"), found.get("video"))


def span_s(rec: Recording, default_slice_s: float = 2.0) -> float:
    """Seconds a recording spans, from its first slice name to its last plus one slice."""
    times = sorted(t for t in (slice_time(s.key) for s in rec.slices) if t is not None)
    if not times:
        return default_slice_s * len(rec.slices)
    return (times[-1] - times[0]).total_seconds() + default_slice_s


def bandwidth(*recs: Recording | None) -> int:
    """Average bits per second of the recordings' slices together, never below MIN_BANDWIDTH."""
    bits = sum(sum(s.size for s in rec.slices) * 8 / max(span_s(rec), 1.0)
               for rec in recs if rec is not None and rec.slices)
    return max(MIN_BANDWIDTH, int(bits))


def master_playlist(video_uri: str, audio_uri: str, *, bandwidth_bps: int, name: str = "audio") -> str:
    """A master playlist: the video as the variant, the audio as its default alternate rendition."""
    for uri in (video_uri, audio_uri):
        if not uri or _FORBIDDEN_IN_URI & set(uri):
            raise ValueError("a master playlist URI must be non-empty and hold no quote or line break")
    label = "".join(ch for ch in name if ch.isprintable() and ch != '"')[:64] or "audio"
    return (
        "#EXTM3U\n"
        "#EXT-X-VERSION:4\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="{label}",DEFAULT=YES,AUTOSELECT=YES,'
        f'URI="{audio_uri}"\n'
        f'#EXT-X-STREAM-INF:BANDWIDTH={max(MIN_BANDWIDTH, bandwidth_bps)},AUDIO="{AUDIO_GROUP}"\n'
        f"{video_uri}\n"
    )


def master_key(video_playlist_key: str) -> str:
    """Where a uid's master playlist is reached: beside its video playlist."""
    return video_playlist_key.removesuffix(".m3u8") + MASTER_SUFFIX


def play_url(signed_url: str) -> str:
    return signed_url + ("&" if "?" in signed_url else "?") + PLAY_QUERY


def served_playlist(store: ObjectStore, key: str, *, running: Callable[[str], bool] = lambda sid: False,
                    playlist_url: Callable[[str, int], str] | None = None) -> str | None:
    """What a player gets for the playlist `key` (or a uid's `master_key`), or None when there is none.

    A media playlist is the recording's `playback_playlist` (slices signed by `store`, holes marked,
    closed as VOD unless `running(sid)`); a master names the uid's two media playlists by
    `playlist_url(key, expires_s)`: by default their signed `play_url`s, which is right for stores
    the media route serves (local folders). A route serving buckets (share pages) passes its own,
    since a bucket's presigned URL answers the stored bytes. Whoever may read the playlist may play
    what it names, and nothing else.
    """
    folder, name = split_key(key)
    virtual = name.endswith(MASTER_SUFFIX) and store.stat(key) is None
    playlist_key = folder + name.removesuffix(MASTER_SUFFIX) + ".m3u8" if virtual else key
    parsed = parse_name(split_key(playlist_key)[1])
    if parsed is None or parsed.kind != "playlist":
        return None
    recordings = [r for r in find(store, prefix=folder, sid=parsed.key.sid) if r.folder == folder]
    rec = next((r for r in recordings if any(p.key == playlist_key for part in r.parts for p in part.playlists)),
               None)
    if rec is None:
        return None
    expires = slice_expiry(span_s(rec))
    if not virtual:
        return playback_playlist(store, rec, expires, live=running(rec.key.sid))[0]
    streams = uid_streams(rec, recordings)
    if not (streams.paired and streams.audio and streams.audio.playlist and streams.video
            and streams.video.playlist):
        return None
    url_of = playlist_url or (lambda k, exp: play_url(store.signed_url(k, exp)))
    return master_playlist(url_of(streams.video.playlist.key, expires), url_of(streams.audio.playlist.key, expires),
                           bandwidth_bps=bandwidth(streams.video, streams.audio),
                           name=f"uid {rec.key.uid}")
