"""`recshelf ls` / `verify` as a user runs them: real stores, real media, JSON shape, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from storage.stores.s3 import S3Store
from tests.fixtures.s3 import S3Service

REPORT_KEYS = {"playlist", "folder", "sid", "cname", "uid", "stream", "status", "segments", "missing", "empty",
               "orphans", "duration_s", "bytes", "problems"}
SID_A = "a" * 32
SID_B = "b" * 32
SECRET = "s3cr3t-never-printed"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a subprocess: what a user's shell sees, tracebacks included."""
    return subprocess.run([sys.executable, "-m", "storage.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def mixed_store(tmp_path: Path, recording_factory) -> LocalStore:
    store = LocalStore(str(tmp_path))
    recording_factory(store, "rec/", RecordingKey(SID_A, "room_1 #a"), slices=3)
    recording_factory(store, "rec/", RecordingKey(SID_B, "room_2"), slices=3, faults={"missing_slice"})
    return store


def test_verify_json_shape_and_exit_code(mixed_store: LocalStore):
    result = CliRunner().invoke(app, ["verify", mixed_store.url, "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["summary"] == {"complete": 1, "incomplete": 1}
    by_sid = {r["sid"]: r for r in document["recordings"]}
    assert set(by_sid[SID_A]) >= REPORT_KEYS
    assert by_sid[SID_A]["status"] == "complete" and by_sid[SID_A]["cname"] == "room_1 #a"
    assert by_sid[SID_B]["status"] == "incomplete" and len(by_sid[SID_B]["missing"]) == 1
    assert all(isinstance(p["code"], str) for p in by_sid[SID_B]["problems"])


def test_verify_filters_to_complete_recording_exits_zero(mixed_store: LocalStore):
    result = CliRunner().invoke(app, ["verify", mixed_store.url, "--sid", SID_A])
    assert result.exit_code == 0, result.output
    assert "complete" in result.stdout
    by_cname = CliRunner().invoke(app, ["verify", mixed_store.url, "--cname", "room_2", "--json"])
    assert [r["sid"] for r in json.loads(by_cname.stdout)["recordings"]] == [SID_B]


def test_ls_json_lists_without_reading_playlists(mixed_store: LocalStore):
    result = CliRunner().invoke(app, ["ls", mixed_store.url, "--prefix", "rec/", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["recordings"]
    assert sorted(r["sid"] for r in rows) == [SID_A, SID_B]
    assert all(r["playlist"] and r["slices"] >= 2 for r in rows)


def test_empty_store_says_so(tmp_path: Path):
    result = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 0
    assert "no recordings found" in result.stderr


def test_missing_folder_is_one_line_exit_2(tmp_path: Path):
    result = run("verify", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "nope" in result.stderr


def test_unknown_scheme_is_usage_error():
    result = run("ls", "ftp://bucket/x")
    assert result.returncode == 2 and "unknown store scheme" in result.stderr


def test_verify_on_s3(s3_service, recording_factory):
    store: S3Store = s3_service.new_store()
    recording_factory(store, "agora/", RecordingKey(SID_A, "s3 room"), slices=3)
    result = CliRunner().invoke(app, ["verify", store.url + "?endpoint=" + store.client.meta.endpoint_url
                                      + "&region=us-east-1", "--json"], env=_s3_env(s3_service))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"] == {"complete": 1}


def _s3_env(service: S3Service) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": service.access_key, "AWS_SECRET_ACCESS_KEY": service.secret_key}


def test_s3_missing_bucket_wrong_credentials_dead_endpoint(s3_server_url: str):
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET, "PATH": "/usr/bin:/bin"}

    def run_with(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "storage.cli", "verify", url], capture_output=True, text=True,
                              timeout=120, env=env)

    missing = run_with(f"s3://no-such-bucket-here/x?endpoint={s3_server_url}&region=us-east-1")
    assert missing.returncode == 2 and "no-such-bucket-here" in missing.stderr

    dead = run_with("s3://bucket/x?endpoint=http://127.0.0.1:9&region=us-east-1")
    assert dead.returncode == 2 and "Traceback" not in dead.stderr
    for result in (missing, dead):
        assert SECRET not in result.stderr + result.stdout
        assert result.stderr.strip().count("\n") == 0, result.stderr


def test_s3_wrong_credentials_on_a_server_that_checks_them(seaweed_store_factory):
    bucket = seaweed_store_factory().bucket  # exists: only the credentials are wrong
    endpoint = seaweed_store_factory(bucket=bucket).client.meta.endpoint_url
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET, "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "storage.cli", "verify",
                             f"s3://{bucket}/x?endpoint={endpoint}&region=us-east-1"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and "access denied" in result.stderr.lower(), result.stderr
    assert SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_secret_in_url_is_refused_without_echo():
    result = run("ls", f"s3://bucket/x?secret_key={SECRET}")
    assert result.returncode == 2
    assert SECRET not in result.stderr


def test_demo_no_ui_seeds_and_verifies(tmp_path: Path):
    result = CliRunner().invoke(app, ["demo", "--no-ui", "--data", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "sample recordings" in result.stdout and "incomplete" in result.stdout
    store = LocalStore(str(tmp_path / "data" / "store"))
    again = CliRunner().invoke(app, ["verify", store.url, "--json"])
    summary = json.loads(again.stdout)["summary"]
    assert summary["complete"] >= 3 and summary.get("incomplete", 0) >= 1
