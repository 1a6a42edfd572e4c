"""`recshelf ui` starts the server and Streamlit on 127.0.0.1 and stops both on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer

from storage.cli.commands.ui import is_loopback, server_port_for
from storage.signing import new_share_token
from storage.testing.net import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


def test_ui_command_runs_server_and_app_and_stops_them(tmp_path):
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSHELF_")}
    env["RECSHELF_CONFIG"] = str(config)
    env["RECSHELF_DATA"] = str(tmp_path / "data")
    ui_port, server_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "storage.cli", "ui", str(tmp_path), "--port", str(ui_port),
                             "--server-port", str(server_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{ui_port}/_stcore/health", proc, "recshelf ui", timeout_s=60)
        wait_healthy(f"http://127.0.0.1:{server_port}/healthz", proc, "recshelf ui", timeout_s=60)
        # The share routes are mounted: an unknown token is a 404, a link of the old readable scheme a 410.
        assert httpx.get(f"http://127.0.0.1:{server_port}/share/{new_share_token()}").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{server_port}/share/e30/00/x.m3u8").status_code == 410
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    text = out.decode(errors="replace")
    assert f"http://127.0.0.1:{ui_port}" in text
    for port in (ui_port, server_port):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)


def test_server_port_choice():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        free = free_port()
        assert server_port_for("127.0.0.1", free, busy) == free
        with pytest.raises(typer.Exit):
            server_port_for("127.0.0.1", busy, 0)  # a port asked for on the command line must be free
        assert server_port_for("127.0.0.1", None, free) == free
        assert server_port_for("127.0.0.1", None, busy) not in (busy, 0)
        # [server] port = 0 (valid in recshelf.toml) once gave the UI a server URL ending in ":0".
        assert server_port_for("127.0.0.1", None, 0) != 0


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
