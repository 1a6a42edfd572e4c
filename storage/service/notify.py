"""Optional outbound webhook: POST a small JSON object when a recording becomes complete, incomplete or overdue.

Best effort, from a job worker thread (never from the callback request): a few attempts with short
pauses, then a log line. The URL is never logged, because webhook URLs often carry a token
(e.g. Slack's `hooks.slack.com/services/…`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from storage.retry import retry_on_schedule

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, url: str | None, *, retry_delays: Sequence[float] = (1.0, 5.0), timeout_s: float = 10.0) -> None:
        self._url = url or None
        self.retry_delays = tuple(retry_delays)
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"Notifier(enabled={self.enabled})"

    @property
    def enabled(self) -> bool:
        return self._url is not None

    def send(self, message: Mapping[str, Any]) -> bool:
        """POST `message` as JSON; True once a 2xx answer came back (False when disabled or given up)."""
        if self._url is None:
            return False
        url = self._url
        tries = 0

        def post() -> None:
            nonlocal tries
            tries += 1
            try:
                response = httpx.post(url, json=dict(message), timeout=self.timeout_s)
                problem = None if response.is_success else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if problem is not None:
                log.info("webhook for sid %s not delivered (%s), attempt %d", message.get("sid"), problem, tries)
                raise _NotDelivered(problem)

        try:
            retry_on_schedule(post, delays=self.retry_delays, retry_on=lambda exc: isinstance(exc, _NotDelivered))
        except _NotDelivered:
            self.failed += 1
            log.warning("webhook for sid %s given up after %d attempts", message.get("sid"), tries)
            return False
        self.sent += 1
        return True


class _NotDelivered(Exception):
    """One POST failed (the reason, never the URL: it may hold a token)."""
