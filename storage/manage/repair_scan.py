"""Which parts of a recording `recshelf repair` may rebuild, and why not when it may not.

A part (the original, or a `bak<n>_` failover part) is rebuilt when it has slices that the playlist
players get (the catalog's choice among Agora's variants) does not name:

* no playlist at all (`missing_playlist`: it never arrived);
* slices scattered by Agora's backup: they arrived later than the playlist, or several partial
  `_<tick>_<index>.m3u8` re-deliveries each name a subset, so whichever is used leaves some out
  (verify calls such a recording `complete` and lists the slices left out as `orphans`).

Refused, for the whole recording, so a rebuilt playlist never hides a loss:

* a slice that any playlist variant names is not in the store, or is empty: that media is gone (or
  still in Agora's backup), and a playlist naming only what is there would pass for whole. The refusal
  names the slices, so the user knows exactly what is missing. (Only when the recording otherwise
  verifies complete and needs nothing rebuilt is a loss in an unused variant only a plan warning.)
* `invalid`, unless the only fault is a variant that is no playlist at all (`not_m3u8`: an error page
  or an empty object stored in its place, naming nothing, so like a playlist that never arrived): a
  playlist naming objects outside its folder, or absurd, is a human's call;
* a part whose playlist has no `#EXT-X-ENDLIST` (or is no playlist) while the recording is still being
  written (an object changed within `QUIET_S`): it may still be recording, and a rebuilt end tag would
  claim it is over. Once the recording is quiet, such a part is rebuilt like any other.

Only the listing and the playlists are read here (one GET per variant); slices are probed later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from storage.media import hls
from storage.recordings.catalog import Recording, RecordingPart
from storage.stores.base import ObjectInfo, ObjectStore

QUIET_S = 3600  # no object of the recording changed for this long: Agora is done with it
SHOWN_MISSING = 10  # missing slices named in a refusal; the rest are counted


@dataclass
class PartToRebuild:
    part: RecordingPart
    why: str  # for the plan: what was wrong with this part
    named: set[str] = field(default_factory=set)  # slice keys its current playlist names


@dataclass
class Assessment:
    rebuild: list[PartToRebuild] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # named by a playlist, not in the store (or empty)
    refusal: str | None = None


def assess(store: ObjectStore, rec: Recording, status: str, now: datetime | None = None) -> Assessment:
    """What repair may do to `rec`, whose verify status is `status`."""
    found = Assessment()
    present = {obj.key for obj in rec.slices if obj.size}
    named: dict[str, set[str]] = {}  # playlist key -> the slice keys it names
    open_playlists: set[str] = set()  # no end tag, or not a playlist at all
    untrusted: list[str] = []
    for part in rec.parts:
        for variant in part.playlists:
            names, ended, fatal = _named(store, rec.folder, variant)
            named[variant.key] = names
            if not ended:
                open_playlists.add(variant.key)
            if fatal - {"not_m3u8"}:
                untrusted.append(f"{variant.key} ({', '.join(sorted(fatal))})")
    if status == "invalid" and (untrusted or not open_playlists):
        found.refusal = (f"{rec.id} is invalid: a playlist that cannot be trusted is not rebuilt "
                         f"({'; '.join(untrusted) or 'see verify'})")
        return found
    found.missing = sorted({key for names in named.values() for key in names} - present)
    quiet = _quiet(rec, now or datetime.now(UTC))
    for part in rec.parts:
        if not part.slices:
            continue
        if part.playlist is None:
            found.rebuild.append(PartToRebuild(part, f"{len(part.slices)} slice(s), no playlist"))
            continue
        left_out = [obj for obj in part.slices if obj.key not in named[part.playlist.key]]
        if not left_out:
            continue
        if part.playlist.key in open_playlists and not quiet:
            found.refusal = (f"{rec.id}: {part.playlist.key} has no end tag (or is no playlist at all) and the "
                             f"recording changed within {QUIET_S} s (still recording?); repair it once it has stopped")
            return found
        found.rebuild.append(PartToRebuild(part, f"{len(left_out)} of {len(part.slices)} slice(s) not named by "
                                                 f"{part.playlist.key} (first {left_out[0].key})",
                                           named[part.playlist.key]))
    if found.missing and (found.rebuild or status != "complete"):
        shown = ", ".join(found.missing[:SHOWN_MISSING])
        more = f" and {len(found.missing) - SHOWN_MISSING} more" if len(found.missing) > SHOWN_MISSING else ""
        found.refusal = (f"{rec.id} is {status}: {len(found.missing)} slice(s) named by a playlist are not in the "
                         f"store or empty ({shown}{more}); not rebuilt, as a rebuilt playlist would hide that loss")
        found.rebuild = []
    return found


def _named(store: ObjectStore, folder: str, playlist: ObjectInfo) -> tuple[set[str], bool, set[str]]:
    """(the slice keys one playlist variant names, whether it ends with #EXT-X-ENDLIST, its fatal issue codes)."""
    if playlist.size > hls.MAX_PLAYLIST_BYTES:
        return set(), False, {"playlist_too_large"}
    parsed = hls.parse(store.read(playlist.key))
    issues = [*parsed.issues, *(hls.check(parsed) if parsed.parsed else [])]
    # Unsafe names are never turned into keys (verify reports them); they name nothing in this folder.
    names = {folder + entry.uri for entry in parsed.entries if entry.safe}
    return names, parsed.is_endlist, {issue.code for issue in issues} & hls.FATAL_CODES


def _quiet(rec: Recording, now: datetime) -> bool:
    times = [obj.modified for part in rec.parts for obj in (*part.slices, *part.playlists) if obj.modified]
    return bool(times) and now - max(times) > timedelta(seconds=QUIET_S)
