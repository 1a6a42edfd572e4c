"""`--shard i/N` on verify and export, and `recshelf report` merging the shards' JSON results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.recordings.shards import Shard, ShardError, identity, shard_of
from storage.stores.local import LocalStore


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """14 recordings: composite ones (one with a failover part, one missing a slice) and individual audio + video."""
    from storage.demo.samples import write_recording
    from tests.fixtures.media import SAMPLE_START

    store = LocalStore(str(tmp_path_factory.mktemp("shards")))
    for i in range(10):
        key = RecordingKey(f"{i:x}{'0' * 30}{i:x}", f"class {i}")
        write_recording(store, "", key, SAMPLE_START, slices=2 if i == 5 else 1, failover_parts=1 if i == 3 else 0,
                        faults={"missing_slice"} if i == 5 else frozenset())
    for uid in ("11", "22"):
        for stream in ("audio", "video"):
            write_recording(store, "rec/", RecordingKey("c" * 32, "panel", uid, stream), SAMPLE_START, slices=1)
    return store


def invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def recording_ids(doc: dict) -> list[tuple]:
    return [(r["folder"], r["sid"], r["cname"], r["uid"], r["stream"]) for r in doc["recordings"]]


def test_shards_of_verify_cover_every_recording_exactly_once(bucket: LocalStore, tmp_path: Path):
    _, whole = invoke("verify", bucket.url, "--json")
    assert len(whole["recordings"]) == 14
    shares = []
    for i in range(3):
        _, doc = invoke("verify", bucket.url, "--json", "--shard", f"{i}/3")
        assert doc["shard"] == {"index": i, "count": 3}
        shares.append(recording_ids(doc))
        (tmp_path / f"shard-{i}.json").write_text(json.dumps(doc))
    together = [rec for share in shares for rec in share]
    assert sorted(together) == sorted(recording_ids(whole))  # each once: no loss, no duplicate
    assert all(shares), "a hash that puts 14 recordings in one shard is not spreading them"
    # The audio and video of one uid are one export unit: always in the same shard.
    for share in shares:
        uids = {(uid, stream) for folder, _, _, uid, stream in share if uid}
        assert {u for u, _ in uids} == {u for u, s in uids if s == "audio"} == {u for u, s in uids if s == "video"}

    code, merged = invoke("report", str(tmp_path), "--json")
    assert code == 1 and merged["ok"] is False  # one recording is incomplete
    assert merged["shards"] == {"count": 3, "counts_seen": [3], "seen": [0, 1, 2], "missing": [], "repeated": []}
    assert merged["verify"]["summary"] == whole["summary"] and merged["duplicates"] == []
    assert merged["verify"]["recordings"] == 14 and len(merged["verify"]["not_complete"]) == 1


def test_report_names_a_missing_shard_and_a_repeated_one(bucket: LocalStore, tmp_path: Path):
    for i in (0, 2):
        _, doc = invoke("verify", bucket.url, "--json", "--shard", f"{i}/3", "--sid", "0" * 32)
        (tmp_path / f"s{i}.json").write_text(json.dumps(doc))
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "s0.json").write_text((tmp_path / "s0.json").read_text())
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "shards: 2 of 3, missing 1, given twice 0" in result.stdout


def test_shards_of_export_cover_every_unit_once(bucket: LocalStore, tmp_path: Path):
    names = []
    for i in range(3):
        result = CliRunner().invoke(app, ["export", bucket.url, "--all", "--format", "zip", "--allow-incomplete",
                                          "--to", str(tmp_path / f"out{i}"), "--json", "--shard", f"{i}/3"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        names += [r["name"] for r in doc["results"]]
        (tmp_path / "results").mkdir(exist_ok=True)
        (tmp_path / "results" / f"{i}.json").write_text(result.stdout)
    assert len(names) == len(set(names)) == 10 + 2  # 10 composite + 2 uids (audio and video merged)
    code, merged = invoke("report", str(tmp_path / "results"), "--json")
    assert code == 0 and merged["export"]["results"] == 12 and merged["ok"] is True


def test_the_split_is_stable_and_independent_of_listing_order(bucket: LocalStore):
    recordings = find(bucket)
    first = {identity(r): shard_of(identity(r), 5) for r in recordings}
    again = {identity(r): shard_of(identity(r), 5) for r in reversed(find(bucket))}
    assert first == again
    assert shard_of("\0".join(("rec/", "a" * 32, "room", "")), 7) == 6  # fixed forever: shards of old runs merge


@pytest.mark.parametrize("text", ["3/3", "-1/3", "1/0", "a/b", "1", "1/2/3"])
def test_bad_shard_values_are_refused(text: str):
    with pytest.raises(ShardError):
        Shard.parse(text)
    result = CliRunner().invoke(app, ["verify", ".", "--shard", text])
    assert result.exit_code == 2
