"""Ports and start-up waits for servers on 127.0.0.1: tests, benchmarks and `recshelf ui` use these.

No pytest here: `recshelf ui` imports this module at run time.
"""

from __future__ import annotations

import socket
import subprocess
import time

STARTUP_TIMEOUT_S = 30.0


class NotHealthy(RuntimeError):
    """A server process died during start-up or did not answer its health URL in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Return once `url` answers 200; NotHealthy (one line naming `what`) when `proc` dies first or time runs out."""
    import httpx  # here, not at the top: importing it costs every `recshelf` command ~0.07 s

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotHealthy(f"the {what} exited during start-up (code {proc.returncode})")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise NotHealthy(f"the {what} did not answer at {url} within {timeout_s:.0f} s")
