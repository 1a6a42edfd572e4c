"""Share links in the service database: opaque tokens, expiry, revocation, which recording a link opens."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from storage.errors import ShareError
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.service.db import MIGRATIONS, Database
from storage.service.repo_shares import ACTIVE, EXPIRED, REVOKED, NewShare, ShareRepo
from storage.service.shares import ShareRequest, create_share, durable_store_ref, shared_recordings
from storage.signing import MAX_EXPIRY_S, is_share_token, new_share_token, parse_duration, share_url
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder
from tests.webui.conftest import seeder as seeder  # the fixture, for this folder


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(tmp_path: Path, clock: Clock) -> ShareRepo:
    return ShareRepo(Database(tmp_path / "data", clock=clock))


def _new(token: str | None = None, expires_at: float = 1_800_003_600.0, **changes: object) -> NewShare:
    values: dict[str, object] = dict(token=token or new_share_token(), store="file:///srv/rec", folder="rec/",
                                     sid=SID, cname="my_chan 1", uid=None, recording=f"rec/{SID}_my_chan 1",
                                     title="my_chan 1 2026-03-14 10:00 UTC", expires_at=expires_at)
    values.update(changes)
    return NewShare(**values)  # type: ignore[arg-type]


def test_tokens_are_random_url_safe_and_at_least_128_bits():
    tokens = {new_share_token() for _ in range(2000)}
    assert len(tokens) == 2000
    for token in list(tokens)[:50]:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token) and is_share_token(token)
        assert len(base64.urlsafe_b64decode(token + "=")) * 8 >= 128
    assert not is_share_token("eyJzIjoiZmlsZTovLy9zcnYiLCJmIjoicmVjLyJ9")  # an old readable payload
    assert not is_share_token("../../etc/passwd") and not is_share_token("")


def test_the_link_names_nothing_but_the_token(repo):
    share = repo.create(_new())
    url = share_url("https://rec.example.com/", share.token)
    assert url == f"https://rec.example.com/share/{share.token}"
    decoded = base64.urlsafe_b64decode(share.token + "=")
    for secret_part in ("srv", "rec/", SID, "my_chan"):
        assert secret_part not in url and secret_part.encode() not in decoded


def test_create_lookup_and_list_newest_first(repo, clock):
    first = repo.create(_new())
    clock.now += 10
    second = repo.create(_new(allow_download=False))
    assert repo.by_token(first.token) == first
    assert repo.by_token(new_share_token()) is None
    assert [s.id for s in repo.list()] == [second.id, first.id]
    assert first.allow_download and not second.allow_download
    assert first.created_at == pytest.approx(1_800_000_000.0)


def test_expiry_and_revocation(repo, clock):
    share = repo.create(_new(expires_at=clock.now + 60))
    assert share.state(clock.now) == ACTIVE
    assert share.state(clock.now + 60) == EXPIRED
    assert repo.active_stores() == ["file:///srv/rec"]
    clock.now += 5
    revoked = repo.revoke(share.id)
    assert revoked is not None and revoked.state(clock.now) == REVOKED
    assert revoked.revoked_at == pytest.approx(clock.now)
    clock.now += 5
    assert repo.revoke(share.id).revoked_at == revoked.revoked_at  # revoking again keeps the first time
    assert repo.revoke(9999) is None
    assert repo.active_stores() == []


def test_list_json_hides_the_token_outside_the_url(repo, clock):
    share = repo.create(_new())
    row = share.to_dict(clock.now, "https://x/share/" + share.token)
    assert "token" not in row and row["state"] == ACTIVE and row["url"].endswith(share.token)
    assert row["expires_at"].startswith("2027-01-15T")


def test_the_migration_is_appended_and_tokens_are_unique(repo):
    # Its own migration, after the ones that came before it (later features append theirs after it).
    (number,) = [n for n, statements in enumerate(MIGRATIONS) if any("CREATE TABLE shares" in s for s in statements)]
    assert number >= 1  # 0 is the first schema
    share = repo.create(_new())
    with pytest.raises(Exception, match="UNIQUE"):
        repo.create(_new(token=share.token))


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("45m", 2700), ("12h", 43200), ("1d", 86400),
                                                ("7d", 604800), ("1w", 604800), (" 2H ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1y", "-1d", "1.5h", "d"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_create_share_finds_the_recording_and_resolves_it_again(repo, clock, tmp_path, seeder: Seeder):
    store = _local(tmp_path)
    seeder(store)
    seeder(store, key=RecordingKey(SID, "my_chan 1", "1001", "video"))
    seeder(store, key=RecordingKey(SID, "my_chan 1", "1001", "audio"))
    composite = create_share(repo, store, ShareRequest(store=store.url, sid=SID), clock.now)
    assert composite.uid is None and composite.expires_at == clock.now + 86400
    assert [r.key.uid for r in shared_recordings(store, composite)] == [None]
    individual = create_share(repo, store, ShareRequest(store=store.url, sid=SID, uid="1001", expires_s=3600,
                                                        allow_download=False), clock.now)
    assert [r.key.stream for r in shared_recordings(store, individual)] == ["video", "audio"]
    assert not individual.allow_download and individual.title.startswith("my_chan 1 · uid 1001 ")
    with pytest.raises(ShareError, match="uid 42"):
        create_share(repo, store, ShareRequest(store=store.url, sid=SID, uid="42"), clock.now)
    with pytest.raises(ShareError, match="7 days"):
        create_share(repo, store, ShareRequest(store=store.url, sid=SID, expires_s=MAX_EXPIRY_S + 1), clock.now)
    for key in [k.key for k in store.list()]:
        store.delete(key)
    assert shared_recordings(store, composite) == []


def test_a_sid_in_two_folders_needs_a_prefix(repo, clock, tmp_path, seeder: Seeder):
    store = _local(tmp_path)
    seeder(store, folder="a/")
    seeder(store, folder="b/")
    with pytest.raises(ShareError, match="--prefix"):
        create_share(repo, store, ShareRequest(store=store.url, sid=SID), clock.now)
    share = create_share(repo, store, ShareRequest(store=store.url, sid=SID, prefix="b/"), clock.now)
    assert share.folder == "b/" and [r.folder for r in shared_recordings(store, share)] == ["b/"]
    assert [r.id for r in find(store, sid=SID)] == [f"a/{SID}_my_chan 1", f"b/{SID}_my_chan 1"]


def test_store_references_that_survive_another_working_directory(tmp_path):
    store = _local(tmp_path)
    assert durable_store_ref("store", store, {"prod"}) == store.url == (tmp_path / "store").as_uri()
    assert durable_store_ref("prod", store, {"prod"}) == "prod"
    s3_like = type("S3", (), {"url": "s3://bucket/p"})()
    assert durable_store_ref("s3://bucket/p?endpoint=http://127.0.0.1:9000", s3_like, set()).endswith("9000")


def _local(tmp_path: Path) -> LocalStore:
    (tmp_path / "store").mkdir(exist_ok=True)
    return LocalStore(tmp_path / "store")
