"""Property: over listings with colliding names, a delete plan never holds a key of another recording
(nor, for many sids at once, misses or adds a recording the whole listing's grouping would give)."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.manage.selection import select_many
from storage.media.naming import RecordingKey
from storage.recordings.catalog import group
from storage.recordings.objects import recording_objects
from storage.stores.base import ObjectInfo
from storage.stores.memory import MemoryStore
from tests.manage.helpers import fake_keys, write_all

BASE_SID = "0123456789abcdef0123456789abcdef"
sids = st.integers(min_value=24, max_value=32).map(lambda n: BASE_SID[:n])
cnames = st.sampled_from(["room", "room2", "room_2", "room 2", "r", "room__x", "bak0_room"])
uids = st.sampled_from([None, "1", "12", "123"])
streams = st.sampled_from(["audio", "video", "av"])


@st.composite
def recordings(draw: st.DrawFn) -> tuple[str, RecordingKey, int, bool, bool]:
    uid = draw(uids)
    key = RecordingKey(draw(sids), draw(cnames), uid, draw(streams) if uid else None)
    folder = draw(st.sampled_from(["", "rec/", "rec/a/"]))
    return folder, key, draw(st.integers(0, 2)), draw(st.booleans()), draw(st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(recordings(), min_size=2, max_size=6, unique_by=lambda r: (r[0], r[1])), st.data())
def test_a_delete_plan_holds_only_its_own_recordings_keys(specs: list, data: st.DataObject) -> None:
    owner: dict[str, tuple[str, RecordingKey]] = {}
    for folder, key, failovers, redelivered, mp4 in specs:
        for name in fake_keys(folder, key, 2, failover_parts=failovers, redelivered=redelivered,
                              mp4=mp4 and key.stream != "av"):
            owner[name] = (folder, key)
    listing = [ObjectInfo(name, 188) for name in sorted(owner)]
    grouped = group(listing)
    target = data.draw(st.sampled_from(grouped))
    planned = [obj.key for obj in recording_objects(target)]
    assert planned, "every recording has objects"
    # The recording's own objects only: by folder and sid and channel, and by uid unless the object is
    # an individual-mode MP4 (which holds the uid's audio and video and so belongs to the uid, not a stream).
    for name in planned:
        folder, key = owner[name]
        assert folder == target.folder and key.sid == target.key.sid and key.cname == target.key.cname
        assert key.uid == target.key.uid
        if not name.endswith(".mp4"):
            assert key == target.key


@settings(max_examples=200, deadline=None)
@given(st.lists(recordings(), min_size=2, max_size=6, unique_by=lambda r: (r[0], r[1])), st.data())
def test_a_plan_of_many_sids_holds_exactly_their_recordings(specs: list, data: st.DataObject) -> None:
    objects: dict[str, bytes] = {}
    for folder, key, failovers, redelivered, mp4 in specs:
        objects |= fake_keys(folder, key, 2, failover_parts=failovers, redelivered=redelivered,
                             mp4=mp4 and key.stream != "av")
    store = MemoryStore(f"prop-{uuid.uuid4().hex}")
    write_all(store, objects)
    chosen = data.draw(st.sets(st.sampled_from(sorted({key.sid for _, key, *_ in specs})), min_size=1))
    # The one listing, cut down to the chosen sids before grouping, groups as the whole listing does.
    expected = [rec for rec in group(store.list()) if rec.key.sid in chosen]
    selected = select_many(store, chosen)
    assert [rec.id for rec in selected] == [rec.id for rec in expected]
    assert [recording_objects(rec) for rec in selected] == [recording_objects(rec) for rec in expected]
