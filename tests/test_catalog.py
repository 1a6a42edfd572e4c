"""Grouping listings into Agora recordings (storage.recordings.catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from storage.media.naming import RecordingKey, mp4_name, playlist_name, redelivered_playlist_name, slice_name
from storage.recordings.catalog import (
    ListingOrderError,
    ListingStats,
    Recording,
    choose_playlist,
    find,
    group,
    iter_find,
)
from storage.stores.base import ObjectInfo

SID = "03f7acf17547cbd851d92ca515b6d069"
SID2 = "8b666674134ffc392685e183d4b4e11f"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def obj(key: str, size: int = 100) -> ObjectInfo:
    return ObjectInfo(key=key, size=size)


def slices(folder: str, key: RecordingKey, count: int, failover: int | None = None, start: int = 0) -> list[str]:
    return [folder + slice_name(key, T0 + timedelta(seconds=15 * (start + i)), failover) for i in range(count)]


def keys_of(objects: list[ObjectInfo]) -> list[str]:
    return [o.key for o in objects]


def only(recordings: list[Recording]) -> Recording:
    assert len(recordings) == 1, recordings
    return recordings[0]


class ListStore:
    """The listing half of an ObjectStore over fixed objects, recording which prefixes were listed."""

    url = "mem://test"

    def __init__(self, objects: list[ObjectInfo]) -> None:
        self.objects = sorted(objects, key=lambda o: o.key)
        self.listed: list[str] = []

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.listed.append(prefix)
        return (o for o in self.objects if o.key.startswith(prefix))


def test_composite_recording():
    key = RecordingKey(SID, "room")
    names = ["rec/" + playlist_name(key), *slices("rec/", key, 3), "rec/" + mp4_name(key, 0)]
    rec = only(group([obj(k) for k in reversed(names)]))
    assert (rec.folder, rec.key, rec.id) == ("rec/", key, f"rec/{SID}_room")
    (part,) = rec.parts
    assert part.failover is None
    assert rec.playlist is not None and rec.playlist.key == "rec/" + playlist_name(key)
    assert keys_of(rec.slices) == sorted(slices("rec/", key, 3))
    assert keys_of(rec.extras) == ["rec/" + mp4_name(key, 0)]
    assert rec.start == T0


def test_individual_streams_mpd_and_mp4():
    audio, video, av = (RecordingKey(SID, "MT_Test", "3108485562", s) for s in ("audio", "video", "av"))
    names = [
        playlist_name(audio), *slices("", audio, 2),
        playlist_name(video), *slices("", video, 2),
        playlist_name(av), playlist_name(av).replace(".m3u8", ".mpd"),
        mp4_name(audio, 0), mp4_name(audio, 1),
    ]
    recs = group([obj(k) for k in names])
    assert [r.key for r in recs] == [audio, av, video]  # sorted by stream
    by_stream = {r.key.stream: r for r in recs}
    assert by_stream["av"].slices == [] and by_stream["av"].playlist is not None
    # The MP4s hold the uid's audio and video; they go with the merged av recording.
    mpd = f"{SID}_MT_Test__uid_s_3108485562__uid_e_av.mpd"
    assert keys_of(by_stream["av"].extras) == sorted([mp4_name(audio, 0), mp4_name(audio, 1), mpd])
    assert by_stream["audio"].extras == [] and len(by_stream["video"].slices) == 2
    assert by_stream["audio"].id == f"{SID}_MT_Test__uid_s_3108485562__uid_e_audio"


def test_individual_mp4_prefers_video_then_audio_then_its_own_recording():
    audio, video = RecordingKey(SID, "c", "7", "audio"), RecordingKey(SID, "c", "7", "video")
    recs = group([obj(k) for k in [*slices("", audio, 1), *slices("", video, 1), mp4_name(audio, 0)]])
    assert [len(r.extras) for r in recs] == [0, 1]
    recs = group([obj(k) for k in [*slices("", audio, 1), mp4_name(audio, 0)]])
    assert len(only(recs).extras) == 1
    alone = only(group([obj(mp4_name(audio, 0))]))
    assert alone.key == RecordingKey(SID, "c", "7", None) and alone.parts == [] and alone.playlist is None


@pytest.mark.parametrize(
    ("plain_size", "redelivered_size", "chosen"),
    [(500, 400, "plain"), (400, 500, "redelivered"), (500, 500, "redelivered")],
)
def test_backup_redelivery_uses_the_larger_playlist(plain_size, redelivered_size, chosen):
    key = RecordingKey("sid713476478245", "cnameagora", "123", "video")
    plain = obj(playlist_name(key), plain_size)
    older = obj(redelivered_playlist_name(key, 22194679897, 2), 10_000)  # lower index: never compared
    newest = obj(redelivered_playlist_name(key, 22194679000, 3), redelivered_size)
    rec = only(group([newest, older, plain, *(obj(k) for k in slices("", key, 2))]))
    (part,) = rec.parts
    assert keys_of(part.playlists) == [plain.key, older.key, newest.key]  # plain first, then by index
    assert part.playlist == (plain if chosen == "plain" else newest)
    assert choose_playlist([newest, older, plain], key) == part.playlist


def test_only_redelivered_playlists():
    key = RecordingKey(SID, "room")
    a, b = obj(redelivered_playlist_name(key, 5, 0), 999), obj(redelivered_playlist_name(key, 4, 1), 1)
    rec = only(group([a, b, *(obj(k) for k in slices("", key, 1))]))
    assert rec.playlist == b  # the highest index, whatever its size, when there is no plain one
    assert choose_playlist([]) is None


def test_failover_parts_in_order():
    key = RecordingKey(SID, "room")
    names = [playlist_name(key), *slices("", key, 2)]
    for n, start in ((10, 30), (1, 20), (0, 10)):
        names += [playlist_name(key, n), *slices("", key, 2, failover=n, start=start)]
    rec = only(group([obj(k) for k in names]))
    assert [p.failover for p in rec.parts] == [None, 0, 1, 10]
    assert [p.playlist.key for p in rec.parts if p.playlist] == [
        playlist_name(key), playlist_name(key, 0), playlist_name(key, 1), playlist_name(key, 10)]
    assert keys_of(rec.slices) == [k for p in rec.parts for k in keys_of(p.slices)]
    assert rec.slices[0].key.startswith(SID) and rec.slices[-1].key.startswith("bak10_")
    assert rec.playlist is not None and rec.playlist.key == playlist_name(key)


def test_playlist_of_first_part_that_has_one():
    key = RecordingKey(SID, "room")
    rec = only(group([obj(k) for k in [*slices("", key, 2), playlist_name(key, 0), *slices("", key, 1, 0, 5)]]))
    assert rec.parts[0].playlist is None
    assert rec.playlist is not None and rec.playlist.key == playlist_name(key, 0)


def test_cname_with_underscores_and_special_characters():
    cname = "a_1_2 !#$%&()+-:;<=.>?@[]^{}|~,"
    key = RecordingKey(SID, cname)
    rec = only(group([obj(k) for k in ["x/" + playlist_name(key), *slices("x/", key, 2)]]))
    assert rec.key.cname == cname and rec.playlist is not None


def test_ambiguous_playlist_follows_the_slices():
    channel_a, channel_a12 = RecordingKey(SID, "a"), RecordingKey(SID, "a_1_2")
    name = playlist_name(channel_a12)
    assert name == redelivered_playlist_name(channel_a, 1, 2)
    # With channel a's slices, the name is a's playlist re-delivered from the backup (tick 1, index 2).
    rec = only(group([obj(k) for k in [name, *slices("", channel_a, 2)]]))
    assert rec.key == channel_a and rec.parts[0].playlists[0].key == name
    # With a_1_2's slices it is that channel's own playlist.
    rec = only(group([obj(k) for k in [name, *slices("", channel_a12, 2)]]))
    assert rec.key == channel_a12
    # Alone, the most literal reading wins.
    assert only(group([obj(name)])).key == channel_a12
    # Next to a's unambiguous plain playlist (slices not uploaded yet) it is a's re-delivery.
    recs = group([obj(name), obj(playlist_name(channel_a))])
    assert only(recs).key == channel_a and len(recs[0].parts[0].playlists) == 2


def test_ambiguous_mp4_follows_the_slices():
    channel_a3 = RecordingKey(SID, "a_3")
    recs = group([obj(k) for k in [f"{SID}_a_3.mp4", *slices("", channel_a3, 1)]])
    # Agora writes `_<index>.mp4`, but a converted `<base>.mp4` sits next to its slices: it belongs there.
    assert only(recs).key == channel_a3 and keys_of(recs[0].extras) == [f"{SID}_a_3.mp4"]
    alone = only(group([obj(f"{SID}_a_3.mp4")]))
    assert alone.key == RecordingKey(SID, "a")  # Agora's own reading: channel a, MP4 index 3


def test_playlist_only_and_slices_only():
    with_playlist, without = RecordingKey(SID, "p"), RecordingKey(SID2, "s")
    recs = group([obj(playlist_name(with_playlist)), *(obj(k) for k in slices("", without, 2))])
    assert [r.key for r in recs] == [with_playlist, without]
    assert recs[0].slices == [] and recs[0].start is None and recs[0].playlist is not None
    assert recs[1].playlist is None and recs[1].start == T0 and recs[1].parts[0].playlists == []


def test_two_recordings_in_one_folder_and_nested_folders():
    a, b = RecordingKey(SID, "room"), RecordingKey(SID2, "room")
    names = [
        "r/" + playlist_name(b), *slices("r/", b, 2),
        "r/" + playlist_name(a), *slices("r/", a, 2),
        "r/deeper/" + playlist_name(a), *slices("r/deeper/", a, 1),
        playlist_name(a),
    ]
    recs = group([obj(k) for k in names])
    assert [(r.folder, r.key.sid) for r in recs] == [("", SID), ("r/", SID), ("r/", SID2), ("r/deeper/", SID)]
    assert all(s.key.startswith(r.folder) and "/" not in s.key[len(r.folder):] for r in recs for s in r.slices)
    assert len({r.id for r in recs}) == 4


def test_non_agora_objects_are_ignored_and_counted():
    key = RecordingKey(SID, "room")
    others = ["readme.txt", "r/notes.m3u8", "r/", "r/cover.jpg", f"r/{SID}_room_20241301000000000.ts"]
    stats = ListingStats()
    recs = group([obj(k) for k in ["r/" + playlist_name(key), *others]], stats)
    assert only(recs).key == key
    assert (stats.objects, stats.ignored) == (5, 4)  # the folder marker "r/" is not an object
    assert sorted(stats.ignored_keys) == sorted(k for k in others if k != "r/")


def test_group_sorts_by_folder_sid_cname_uid_stream():
    keys = [RecordingKey(SID, "b"), RecordingKey(SID, "a", "2", "video"), RecordingKey(SID, "a", "2", "audio"),
            RecordingKey(SID, "a"), RecordingKey(SID, "a", "10", "audio")]
    recs = group([obj(playlist_name(k)) for k in keys])
    assert [r.key for r in recs] == [keys[3], keys[4], keys[2], keys[1], keys[0]]


# --- find / iter_find --------------------------------------------------------------------------------


def bucket() -> list[ObjectInfo]:
    mine, other, same_sid_elsewhere = RecordingKey(SID, "room"), RecordingKey(SID2, "room"), RecordingKey(SID, "x")
    names = [
        "rec/" + playlist_name(mine), *slices("rec/", mine, 2),
        "rec/" + playlist_name(mine, 0), *slices("rec/", mine, 1, failover=0, start=5),
        "rec/" + playlist_name(other), *slices("rec/", other, 2),
        "rec/" + playlist_name(other, 0),
        "rec/deep/" + playlist_name(same_sid_elsewhere),
        f"rec/{SID}/" + playlist_name(same_sid_elsewhere),  # fileNamePrefix named after the sid
        "rec/readme.txt", "top.txt",
    ]
    return [obj(k) for k in names]


def test_find_lists_only_the_sid_and_failover_prefixes():
    store = ListStore(bucket())
    recs = find(store, prefix="rec/", sid=SID)
    assert sorted(store.listed) == ["rec/" + SID, "rec/bak"]
    assert [(r.folder, r.key.cname) for r in recs] == [("rec/", "room"), (f"rec/{SID}/", "x")]
    assert [p.failover for p in recs[0].parts] == [None, 0]  # the bak0_ part came from the second listing
    assert len(recs[0].slices) == 3


def test_find_filters_cname_and_handles_other_prefixes():
    store = ListStore(bucket())
    assert [(r.folder, r.key.sid) for r in find(store, cname="room")] == [("rec/", SID), ("rec/", SID2)]
    assert store.listed == [""]
    recs = find(store, prefix="rec/de", sid=SID)  # not a folder: listed as given, then filtered
    assert store.listed[-1] == "rec/de" and [r.folder for r in recs] == ["rec/deep/"]
    assert find(store, sid="nosuchsid") == []
    assert sorted(store.listed[-3:]) == ["", "bak", "nosuchsid"]  # nothing narrow: the whole prefix, to be sure
    # At the root, the narrow listings miss rec/: the sid is then looked for in every folder.
    recs = find(store, sid=SID, cname="room")
    assert sorted(store.listed[-3:]) == ["", SID, "bak"]
    assert [(r.folder, r.key.cname) for r in recs] == [("rec/", "room")]
    stats = ListingStats()
    assert len(find(store, stats=stats)) == 4 and stats.ignored == 2


def test_iter_find_matches_find_and_streams_by_folder():
    store = ListStore(bucket())
    stats = ListingStats()
    streamed = list(iter_find(store, stats=stats))
    assert sorted(r.id for r in streamed) == sorted(r.id for r in find(store))
    assert stats.ignored == 2
    # A folder's recordings come out once the listing is past its keys: subfolders before their parent.
    # ('/' sorts before '_', so "rec/<sid>/…" keys come before "rec/<sid>_room…" ones.)
    assert [r.folder for r in streamed] == [f"rec/{SID}/", "rec/deep/", "rec/", "rec/"]
    assert [r.id for r in iter_find(store, prefix="rec/", sid=SID, cname="room")] == [f"rec/{SID}_room"]
    assert [r.id for r in iter_find(store, sid=SID, cname="room")] == [f"rec/{SID}_room"]  # via the full listing


def test_iter_find_yields_before_the_listing_ends():
    key = RecordingKey(SID, "room")
    seen: list[str] = []

    class Spy(ListStore):
        def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
            for o in super().list(prefix):
                seen.append(o.key)
                yield o

    store = Spy([obj("a/" + playlist_name(key)), obj("b/" + playlist_name(key)), obj("c/x.txt")])
    first = next(iter_find(store))
    assert first.folder == "a/" and seen == ["a/" + playlist_name(key), "b/" + playlist_name(key)]


def test_iter_find_refuses_a_listing_out_of_key_order():
    class Unsorted(ListStore):
        def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
            return iter(reversed(self.objects))

    with pytest.raises(ListingOrderError):
        list(iter_find(Unsorted(bucket())))


folder_names = st.sampled_from(["", "a/", "a/b/", "a-b/", "a/b.c/", "a.b/", "z/", "a/b/c/"])
channel_names = st.sampled_from(["r", "r_1", "r_1_2", "x y", "a!b"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(folder_names, st.sampled_from([SID, SID2]), channel_names, st.integers(0, 3),
                          st.booleans()), max_size=12))
def test_iter_find_groups_like_group(layout):
    names = set()
    for folder, sid, cname, count, with_playlist in layout:
        key = RecordingKey(sid, cname)
        names.update(slices(folder, key, count))
        if with_playlist:
            names.add(folder + playlist_name(key))
    store = ListStore([obj(k) for k in names])

    def summary(recs: list[Recording]) -> list[tuple[str, int, str | None]]:
        return sorted((r.id, len(r.slices), r.playlist.key if r.playlist else None) for r in recs)

    assert summary(list(iter_find(store))) == summary(group(store.objects))


def test_find_on_a_local_store(tmp_path):
    from storage.stores.local import LocalStore

    store = LocalStore(tmp_path)
    cname = "a_1 !#$%&()+-:;<=.>?@[]^{}|~,"
    mine, other = RecordingKey(SID, cname), RecordingKey(SID2, "room")
    names = [
        "rec/" + playlist_name(mine), *slices("rec/", mine, 2),
        "rec/" + playlist_name(mine, 0), *slices("rec/", mine, 1, failover=0, start=5),
        "rec/" + redelivered_playlist_name(mine, 123, 0),
        "rec/" + playlist_name(other), *slices("rec/", other, 1),
        "rec/sub/" + playlist_name(other), "rec/notes.txt",
    ]
    for key in names:
        store.write(key, b"x" * 10)
    recs = find(store, prefix="rec/", sid=SID)
    rec = only(recs)
    assert rec.key == mine and [p.failover for p in rec.parts] == [None, 0]
    assert rec.playlist is not None and rec.playlist.key == "rec/" + redelivered_playlist_name(mine, 123, 0)
    stats = ListingStats()
    streamed = list(iter_find(store, prefix="rec/", stats=stats))
    assert sorted(r.id for r in streamed) == sorted(r.id for r in find(store, prefix="rec/"))
    # rec/ (the listed folder) comes a sid at a time in key order; rec/sub/ once the listing passed it.
    assert [r.folder for r in streamed] == ["rec/", "rec/sub/", "rec/"] and stats.ignored == 1
    assert [p.failover for p in streamed[0].parts] == [None, 0]  # bak0_ part found before its sid's run ended


@st.composite
def recording_layouts(draw: st.DrawFn) -> dict[tuple[str, RecordingKey], dict[int | None, dict]]:
    """Recordings (folder, key) → part → {slices, plain playlist size, re-deliveries}, each with slices."""
    cnames_ = st.sampled_from(["a", "a_1", "a_1_2", "a_1_2_3", "x y_0", "#_(1)_2"])
    keys_ = st.builds(RecordingKey, st.sampled_from([SID, SID2]), cnames_) | st.builds(
        RecordingKey, st.sampled_from([SID, "sid713476478245"]), cnames_, st.sampled_from(["1", "22"]),
        st.sampled_from(["audio", "video", "av"]))
    identities = draw(st.lists(st.tuples(st.sampled_from(["", "r/", "r/s/"]), keys_), min_size=1, max_size=5,
                               unique=True))
    layout = {}
    for identity in identities:
        failovers_ = draw(st.sets(st.integers(0, 3), max_size=2))
        layout[identity] = {
            failover: {
                "slices": draw(st.integers(1, 3)),
                "plain": draw(st.none() | st.integers(0, 5)),
                "redelivered": draw(st.dictionaries(st.integers(0, 4), st.tuples(st.integers(0, 99),
                                                                                 st.integers(0, 5)), max_size=2)),
            }
            for failover in [None, *failovers_]
        }
    return layout


@settings(max_examples=80, deadline=None)
@given(recording_layouts())
def test_group_recovers_generated_recordings(layout):
    objects: dict[str, ObjectInfo] = {}
    expected = {}
    for (folder, key), parts in layout.items():
        for failover, part in parts.items():
            names = slices(folder, key, part["slices"], failover=failover, start=100 * (failover or 0))
            for name in names:
                objects[name] = obj(name)
            variants = []
            if part["plain"] is not None:
                variants.append((0, -1, obj(folder + playlist_name(key, failover), part["plain"])))
            for index, (tick, size) in part["redelivered"].items():
                variants.append((1, index, obj(folder + redelivered_playlist_name(key, tick, index, failover), size)))
            for *_, o in variants:
                objects[o.key] = o
            variants.sort(key=lambda v: v[:2])
            chosen = variants[-1][2] if variants else None
            if variants and variants[0][0] == 0 and len(variants) > 1 and variants[0][2].size > chosen.size:
                chosen = variants[0][2]
            expected[(folder, key, failover)] = (sorted(names), [v[2].key for v in variants], chosen)
    total = sum(len(e[0]) + len(e[1]) for e in expected.values())
    assume(len(objects) == total)  # two recordings may spell one name (a_1_2 vs a re-delivered); unfair
    recs = group(objects.values())
    got = {
        (r.folder, r.key, p.failover): (keys_of(p.slices), keys_of(p.playlists), p.playlist)
        for r in recs for p in r.parts
    }
    assert got == expected
    assert [(r.folder, r.key) for r in recs] == sorted(layout, key=lambda fk: (fk[0], fk[1].sid, fk[1].cname,
                                                                               fk[1].uid or "", fk[1].stream or ""))
