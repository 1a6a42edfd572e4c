"""`recshelf export` exit codes and messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.export.conftest import KEY, SID

runner = CliRunner()


@pytest.fixture
def src(tmp_path: Path, recording_factory: Callable[..., list[str]]) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    store = LocalStore(root)
    recording_factory(store, "rec/", KEY, slices=4)
    recording_factory(store, "bad/", RecordingKey(SID.replace("0", "e"), "broken"), slices=4,
                      faults={"missing_slice"})
    return root


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.output


def test_mp4_export_exits_0_and_a_rerun_skips(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _run(str(src), "--sid", SID, "--format", "mp4", "--to", str(out))
    assert code == 0, text
    assert (out / f"{KEY.base}.mp4").stat().st_size > 0
    code, text = _run(str(src), "--sid", SID, "--format", "mp4", "--to", str(out))
    assert code == 0 and "done already" in text


def test_incomplete_exits_1_and_allowing_it_lists_the_gap(src: Path, tmp_path: Path) -> None:
    bad_sid = SID.replace("0", "e")
    code, text = _run(str(src), "--sid", bad_sid, "--format", "ts", "--to", str(tmp_path / "out"))
    assert code == 1 and "--allow-incomplete" in text
    code, text = _run(str(src), "--sid", bad_sid, "--format", "ts", "--to", str(tmp_path / "out"),
                      "--allow-incomplete")
    assert code == 0 and "gap" in text and "missing" in text


def test_all_exports_everything_and_fails_if_one_fails(src: Path, tmp_path: Path) -> None:
    code, text = _run(str(src), "--all", "--format", "zip", "--to", str(tmp_path / "out"))
    assert code == 1
    assert (tmp_path / "out" / f"{KEY.base}.zip").exists()


@pytest.mark.parametrize("args", [
    ["--format", "mov", "--sid", SID],  # unknown format
    ["--format", "mp4"],  # neither --sid nor --all
    ["--format", "mp4", "--sid", SID, "--workers", "0"],
])
def test_usage_errors_exit_2_in_one_line(src: Path, tmp_path: Path, args: list[str]) -> None:
    code, text = _run(str(src), *args, "--to", str(tmp_path / "out"))
    assert code == 2
    assert "Traceback" not in text


def test_store_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    code, text = _run("nosuch://bucket/x", "--sid", SID, "--format", "mp4", "--to", str(tmp_path / "out"))
    assert code == 2 and "recshelf: error:" in text and "Traceback" not in text


def test_json_output(src: Path, tmp_path: Path) -> None:
    import json

    result = CliRunner().invoke(app, ["export", str(src), "--sid", SID, "--format", "hls", "--to",
                                      str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert payload["results"][0]["status"] == "exported"


def test_copy_onto_itself_is_refused(src: Path) -> None:
    code, text = _run(str(src), "--sid", SID, "--format", "copy", "--to", str(src))
    assert code == 2 and "source store itself" in text
