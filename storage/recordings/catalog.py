"""Group one store listing into Agora recordings (DESIGN.md "Recordings").

A recording is identified by folder + sid (+ uid and stream in individual mode). It gathers its
playlist variants (the original and `_<tick>_<index>` re-deliveries from Agora's backup), its
failover parts (`bak<n>_` playlists and slices, played in order after the original), its slices,
its MP4 files and, in individual mode, the snapshot `.jpg` files Agora writes beside the video slices
(agora.md §8.2: they belong to the uid's video recording, never orphans, never slices).
Only the listing is used here: no object is read.

Choices worth knowing:

* Ambiguous playlist and MP4 names (see `storage.media.naming`) are resolved per folder: the reading whose
  `RecordingKey` matches a slice's key wins, then one matching a name that has a single reading, then
  the most literal reading.
* An individual-mode MP4 (`…__uid_s_<uid>__uid_e_<index>.mp4`) holds the uid's audio and video, so it is an
  extra of that uid's `av`, else `video`, else `audio` recording in the same folder; alone, it forms a
  recording whose key has the uid and `stream=None`.
* Objects whose names are not Agora recording files are ignored; pass a `ListingStats` to `group`,
  `find` or `iter_find` to learn how many (so ``recshelf ls`` can say "N other objects ignored").
  Folder markers (keys ending in '/') are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from storage.media.naming import AgoraName, RecordingKey, parse_name_candidates, parse_utc, slice_time, split_key
from storage.recordings.gc_pause import gc_paused
from storage.stores.base import ObjectInfo, ObjectStore, StoreError

_SLICE_TAIL = 21  # len("_<17 digits>.ts"): what follows a slice's stem (".webm" slices take the slow path)
IGNORED_SAMPLE = 20  # ignored keys kept in `ListingStats.ignored_keys`, so a huge bucket costs no memory


@dataclass
class RecordingPart:
    failover: int | None  # None for the original part, n for a bak<n>_ part
    playlists: list[ObjectInfo] = field(default_factory=list)  # every variant, original first
    playlist: ObjectInfo | None = None  # the variant to use (see `choose_playlist`)
    slices: list[ObjectInfo] = field(default_factory=list)  # .ts/.webm with this part's stem, key order


@dataclass
class Recording:
    folder: str  # "" or "a/b/" — the fileNamePrefix path, always ending in "/" when not empty
    key: RecordingKey
    parts: list[RecordingPart] = field(default_factory=list)  # original first, then bak0, bak1, …
    extras: list[ObjectInfo] = field(default_factory=list)  # .mp4 / .mpd files of the same stem
    snapshots: list[ObjectInfo] = field(default_factory=list)  # .jpg screenshots of a uid's video, key order

    @property
    def id(self) -> str:
        """Stable, URL-safe-ish identity: folder + base name (e.g. "rec/<sid>_<cname>__uid_s_1__uid_e_audio")."""
        return self.folder + self.key.base

    @property
    def playlist(self) -> ObjectInfo | None:
        """The chosen playlist of the original part (or of the first part that has one)."""
        return next((part.playlist for part in self.parts if part.playlist is not None), None)

    @property
    def slices(self) -> list[ObjectInfo]:
        """Every slice of every part, in part order then key order."""
        return [obj for part in self.parts for obj in part.slices]

    @property
    def start(self) -> datetime | None:
        """The earliest slice UTC time from slice names, or None when there are no slices."""
        # A part's slices share one stem and sort by their fixed-width time: its first slice is its earliest.
        times = [slice_time(part.slices[0].key) for part in self.parts if part.slices]
        return min((t for t in times if t is not None), default=None)


@dataclass
class ListingStats:
    """What a listing held besides recordings; filled in by `group`, `find` and `iter_find` when given."""

    objects: int = 0  # objects seen (folder markers excluded)
    ignored: int = 0  # objects whose names are not Agora recording files
    ignored_keys: list[str] = field(default_factory=list)  # the first IGNORED_SAMPLE of them

    def add_ignored(self, key: str) -> None:
        self.ignored += 1
        if len(self.ignored_keys) < IGNORED_SAMPLE:
            self.ignored_keys.append(key)


class ListingOrderError(StoreError):
    """A store listed keys out of key order, which `iter_find` relies on to know a folder is complete."""


def group(objects: Iterable[ObjectInfo], stats: ListingStats | None = None) -> list[Recording]:
    """Recordings found among these objects, sorted by (folder, sid, cname, uid, stream)."""
    collector = _Collector(stats)
    with gc_paused():  # `objects` is often a lazy listing: its ObjectInfos are allocated in here too
        for obj in objects:
            collector.add(obj)
        recordings = [rec for folder in list(collector.folders) for rec in collector.flush(folder)]
    return sorted(recordings, key=_sort_key)


def find(
    store: ObjectStore,
    prefix: str = "",
    sid: str | None = None,
    cname: str | None = None,
    stats: ListingStats | None = None,
) -> list[Recording]:
    """List `store` once under `prefix` (narrowed to `folder + sid` when sid is given) and group it.

    With a sid and a folder prefix ('' or ending in '/'), first only `prefix + sid` and the failover
    parts `prefix + "bak<n>_" + sid` are listed, so a bucket with millions of other recordings is not
    read whole. That finds the sid's recordings in the folder `prefix` itself and in subfolders whose
    name starts with the sid (a fileNamePrefix of the sid). Agora writes one recording into one folder,
    so when that finds the sid it has found all of it; when it finds nothing, the sid may sit in a deeper
    folder and the whole prefix is listed and filtered (slow on a huge bucket, but never a false "none").
    A prefix not ending in '/' is listed as given, then filtered. `stats` describes the listing used.
    """
    narrowed = _find_narrowed(store, prefix, sid, stats)
    if narrowed is not None:
        return [rec for rec in narrowed if _wanted(rec, sid, cname)]
    return [rec for rec in group(store.list(prefix), stats) if _wanted(rec, sid, cname)]


def iter_find(
    store: ObjectStore,
    prefix: str = "",
    sid: str | None = None,
    cname: str | None = None,
    stats: ListingStats | None = None,
) -> Iterator[Recording]:
    """Like `find`, yielding recordings folder by folder so memory follows one folder, not the bucket.

    A folder comes once the listing has passed every key that starts with it, so a folder comes after
    its subfolders, its recordings sorted; but the listed prefix's own folder, where Agora puts every
    recording side by side (millions of objects), comes a sid at a time as the listing passes it, so
    memory follows one recording (see `_Collector`), and the sids come in key order. Raises
    `ListingOrderError` when the store breaks its key-order promise, as a folder flushed early would
    otherwise be reported in pieces.
    A sid found by the narrow listings (see `find`) is small and grouped whole.
    """
    narrowed = _find_narrowed(store, prefix, sid, stats)
    if narrowed is not None:
        yield from (rec for rec in narrowed if _wanted(rec, sid, cname))
        return
    collector = _Collector(stats, flat=_flat_folder(prefix))
    if collector.flat == prefix:  # a name prefix ("rec/abc") lists no failover parts at all
        collector.preload_failover(store.list(prefix + "bak"))
    previous: str | None = None
    for obj in store.list(prefix):
        if previous is not None and obj.key < previous:
            raise ListingOrderError(f"listing not in key order ({obj.key!r} after {previous!r})",
                                    url=getattr(store, "url", ""), key=obj.key)
        previous = obj.key
        # Keys are sorted, so once a key does not start with a folder no later key can belong to it.
        # The folders still open are then all prefixes of this key: a chain, at most its depth long.
        for done in [folder for folder in collector.folders if not obj.key.startswith(folder)]:
            yield from (rec for rec in collector.flush(done) if _wanted(rec, sid, cname))
        yield from (rec for rec in collector.add(obj) if _wanted(rec, sid, cname))
    for done in sorted(collector.folders.keys() | collector.failover.keys(), key=len, reverse=True):
        yield from (rec for rec in collector.flush(done) if _wanted(rec, sid, cname))


def choose_playlist(playlists: Sequence[ObjectInfo], key: RecordingKey | None = None) -> ObjectInfo | None:
    """The playlist variant to use among one part's variants, per Agora's advice (agora.md §2.3).

    Compare the highest-index re-delivered playlist with the unsuffixed one and use the larger by listed
    size; on a tie the re-delivered one, which is newer. Names are read as belonging to `key` when given
    (a name like `<sid>_a_1_2.m3u8` is ambiguous), else by their most literal reading.
    """
    variants = []
    for obj in playlists:
        candidates = parse_name_candidates(split_key(obj.key)[1])
        reading = next((c for c in candidates if c.key == key), candidates[0] if candidates else None)
        if reading is not None:
            variants.append((obj, reading))
    return _choose(variants)


_Entry = tuple[ObjectInfo, AgoraName]
_STREAM_PREFERENCE = ("av", "video", "audio")  # where an individual MP4 (audio + video of one uid) goes


class _Collector:
    """Objects of a listing by folder, turned into recordings a folder at a time.

    In the `flat` folder (the listed prefix's own folder, where Agora puts every recording side by
    side) recordings are made a sid at a time instead: a sid's names all start with `<sid>_`, so in
    key order they come in one run, and when the run ends the sid is complete. Only its failover
    parts (`bak<n>_<sid>_…`) sort elsewhere; `preload_failover` reads them first (they are few).
    Names are resolved per sid (a reading's key holds the sid), so the result is the folder's.
    """

    def __init__(self, stats: ListingStats | None, flat: str | None = None) -> None:
        self.stats = stats if stats is not None else ListingStats()
        self.folders: dict[str, list[tuple[ObjectInfo, list[AgoraName]]]] = {}
        self.flat = flat
        self.failover: dict[str, dict[str, list[tuple[ObjectInfo, list[AgoraName]]]]] = {}  # folder -> sid -> …
        self._preloaded = False
        self._run_sid: str | None = None
        self._last_slice: tuple[str, str, AgoraName] | None = None  # stem, ".ts" / ".webm" tail, its reading

    def preload_failover(self, objects: Iterable[ObjectInfo]) -> None:
        """Take the flat folder's `bak<n>_` objects from a listing of `flat + "bak"` (key order)."""
        assert self.flat is not None
        end = self.flat + "bak:"  # ':' follows the digits: past it no name is bak<n>_
        for obj in objects:
            if obj.key >= end:
                break
            folder, name = split_key(obj.key)
            candidates = parse_name_candidates(name) if folder == self.flat else []
            if candidates and candidates[0].failover is not None:
                self.stats.objects += 1
                sids = self.failover.setdefault(folder, {})
                sids.setdefault(candidates[0].key.sid, []).append((obj, candidates))
        self._preloaded = True

    def add(self, obj: ObjectInfo) -> list[Recording]:
        """File the object; returns the recordings it completed (a sid run of the flat folder)."""
        folder, name = split_key(obj.key)
        if not name:  # a folder marker some tools create; not an object the user thinks of
            return []
        candidates = self._parse(name)
        if folder == self.flat and self._preloaded and candidates and candidates[0].failover is not None:
            return []  # read (and counted) by preload_failover
        self.stats.objects += 1
        if not candidates:
            self.stats.add_ignored(obj.key)
            return []
        done: list[Recording] = []
        if folder == self.flat:
            sid = candidates[0].key.sid
            if sid != self._run_sid and self._run_sid is not None:
                done = self._flush_run()
            self._run_sid = sid
        self.folders.setdefault(folder, []).append((obj, candidates))
        return done

    def _parse(self, name: str) -> list[AgoraName]:
        # A recording's slices differ only in their time (`<stem>_<17 digits>.<ext>`), and a slice name
        # has exactly one reading, fixed by the stem: reuse the previous slice's, check only the time.
        # parse_name_candidates costs ~10 µs a name; a big listing is almost all slices.
        stem, ext = name[:-_SLICE_TAIL], name[-_SLICE_TAIL + 18:]
        last = self._last_slice
        if last is not None and stem == last[0] and ext == last[1] and name[-_SLICE_TAIL] == "_":
            utc = parse_utc(name[-_SLICE_TAIL + 1:-_SLICE_TAIL + 18])
            if utc is not None:
                reading = last[2]
                return [AgoraName(name, "slice", reading.key, reading.ext, reading.failover, utc)]
        candidates = parse_name_candidates(name)
        if len(candidates) == 1 and candidates[0].kind == "slice" and candidates[0].ext == "ts":
            self._last_slice = (stem, ext, candidates[0])
        return candidates

    def flush(self, folder: str) -> list[Recording]:
        if folder != self.flat:
            return sorted(_folder_recordings(folder, self.folders.pop(folder, [])), key=_sort_key)
        done = self._flush_run()
        # Failover parts whose sid has no original part left in the folder: recordings of their own.
        left = [entry for entries in self.failover.pop(folder, {}).values() for entry in entries]
        return done + sorted(_folder_recordings(folder, left), key=_sort_key)

    def _flush_run(self) -> list[Recording]:
        assert self.flat is not None
        entries = self.folders.pop(self.flat, [])
        if self._run_sid is not None:
            entries += self.failover.get(self.flat, {}).pop(self._run_sid, [])
        self._run_sid = None
        return sorted(_folder_recordings(self.flat, entries), key=_sort_key)


def _flat_folder(prefix: str) -> str | None:
    """The folder whose recordings can be made a sid at a time when listing `prefix` (see _Collector)."""
    if not prefix or prefix.endswith("/"):
        return prefix
    folder, name = split_key(prefix)
    # A name prefix like "b" or "bak1" lists failover parts too, out of their sid's run: not flat then.
    return None if name.startswith("bak") or "bak".startswith(name) else folder


def _folder_recordings(folder: str, entries: list[tuple[ObjectInfo, list[AgoraName]]]) -> list[Recording]:
    # A name with one reading needs no resolving: the sets of known keys are built only for the others.
    ambiguous = any(len(c) > 1 for _, c in entries)
    slice_keys = {c[0].key for _, c in entries if c[0].kind == "slice"} if ambiguous else set()
    sure_keys = {c[0].key for _, c in entries if len(c) == 1} if ambiguous else set()
    resolved = [(obj, c[0] if len(c) == 1 else _resolve(c, slice_keys, sure_keys)) for obj, c in entries]

    by_key: dict[RecordingKey, dict[int | None, list[_Entry]]] = {}
    extras: dict[RecordingKey, list[ObjectInfo]] = {}
    snapshots: dict[RecordingKey, list[ObjectInfo]] = {}
    loose_mp4s: list[_Entry] = []
    for obj, name in resolved:
        if name.kind == "snapshot":
            snapshots.setdefault(name.key, []).append(obj)
            by_key.setdefault(name.key, {})  # screenshots alone (snapshot-only recording) still form one
        elif name.kind == "mp4" and name.key.uid is not None and name.key.stream is None:
            loose_mp4s.append((obj, name))
        elif name.kind in ("mp4", "mpd"):
            extras.setdefault(name.key, []).append(obj)
            by_key.setdefault(name.key, {})
        else:
            by_key.setdefault(name.key, {}).setdefault(name.failover, []).append((obj, name))
    for obj, name in loose_mp4s:
        uid_keys = [RecordingKey(name.key.sid, name.key.cname, name.key.uid, s) for s in _STREAM_PREFERENCE]
        home = next((k for k in uid_keys if k in by_key), name.key)
        extras.setdefault(home, []).append(obj)
        by_key.setdefault(home, {})

    return [
        Recording(
            folder=folder,
            key=key,
            parts=[_part(failover, parts[failover]) for failover in sorted(parts, key=_failover_order)],
            extras=sorted(extras.get(key, []), key=lambda obj: obj.key),
            snapshots=sorted(snapshots.get(key, []), key=lambda obj: obj.key),
        )
        for key, parts in by_key.items()
    ]


def _resolve(candidates: list[AgoraName], slice_keys: set[RecordingKey], sure_keys: set[RecordingKey]) -> AgoraName:
    for known in (slice_keys, sure_keys):
        for candidate in candidates:
            if candidate.key in known:
                return candidate
    return candidates[0]


def _part(failover: int | None, entries: list[_Entry]) -> RecordingPart:
    playlists = sorted((e for e in entries if e[1].kind == "playlist"), key=_variant_order)
    slices = sorted((obj for obj, name in entries if name.kind == "slice"), key=lambda obj: obj.key)
    return RecordingPart(failover=failover, playlists=[obj for obj, _ in playlists], playlist=_choose(playlists),
                         slices=slices)


def _choose(variants: Sequence[_Entry]) -> ObjectInfo | None:
    plain = next((obj for obj, name in variants if not name.redelivered), None)
    redelivered = [entry for entry in variants if entry[1].redelivered]
    if not redelivered:
        return plain
    newest = max(redelivered, key=_variant_order)[0]
    if plain is None:
        return newest
    return newest if newest.size >= plain.size else plain


def _variant_order(entry: _Entry) -> tuple[int, int, int, str]:
    obj, name = entry
    if not name.redelivered:
        return (0, 0, 0, obj.key)
    return (1, name.index or 0, name.tick or 0, obj.key)


def _failover_order(failover: int | None) -> int:
    return -1 if failover is None else failover


def _sort_key(rec: Recording) -> tuple[str, str, str, str, str]:
    key = rec.key
    return (rec.folder, key.sid, key.cname, key.uid or "", key.stream or "")


def _wanted(rec: Recording, sid: str | None, cname: str | None) -> bool:
    return (sid is None or rec.key.sid == sid) and (cname is None or rec.key.cname == cname)


def _find_narrowed(store: ObjectStore, prefix: str, sid: str | None, stats: ListingStats | None,
                   ) -> list[Recording] | None:
    """The sid's recordings from the narrow listings, or None when they cannot be used or found nothing."""
    if sid is None or (prefix and not prefix.endswith("/")):
        return None
    # Own stats: if this comes to nothing the caller lists again, and only that listing should count.
    narrow_stats = ListingStats()
    found = [rec for rec in group(_narrowed_listing(store, prefix, sid), narrow_stats) if rec.key.sid == sid]
    if not found:
        return None
    if stats is not None:
        stats.objects, stats.ignored, stats.ignored_keys = (
            narrow_stats.objects, narrow_stats.ignored, narrow_stats.ignored_keys)
    return found


def _narrowed_listing(store: ObjectStore, prefix: str, sid: str) -> Iterable[ObjectInfo]:
    # Failover parts start with bak<n>_, not with the sid; list them all and keep this sid's, which
    # cannot repeat objects of the sid listing (a sid has no '_', so it never starts with "bak<n>_").
    failover_name = re.compile(r"bak[0-9]+_" + re.escape(sid) + "_")
    failover_parts = (
        obj for obj in store.list(prefix + "bak")
        if split_key(obj.key)[0] == prefix and failover_name.match(split_key(obj.key)[1])
    )
    return chain(store.list(prefix + sid), failover_parts)
