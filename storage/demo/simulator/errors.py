"""The simulator's error answers: an HTTP status and Agora's JSON body (reference/agora.md §1.4)."""

from __future__ import annotations

from typing import Any


class SimulatorError(Exception):
    """An Agora error answer: HTTP status and JSON body."""

    def __init__(self, http_status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {http_status}: {body}")
        self.http_status = http_status
        self.body = body


def fail(http_status: int, code: int, reason: str, **extra: Any) -> SimulatorError:
    """Agora's usual error body: `{"code": …, "reason": …}`."""
    return SimulatorError(http_status, {"code": code, "reason": reason, **extra})
