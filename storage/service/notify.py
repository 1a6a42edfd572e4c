"""Optional outbound webhook: POST a small JSON object when a recording becomes complete, incomplete or overdue.

Best effort, from a job worker thread (never from the callback request): a few attempts with short
pauses, then a log line. The URL is never logged, because webhook URLs often carry a token
(e.g. Slack's `hooks.slack.com/services/…`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, url: str | None, *, retry_delays: Sequence[float] = (1.0, 5.0), timeout_s: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url or None
        self.retry_delays = tuple(retry_delays)
        self.timeout_s = timeout_s
        self._sleep = sleep
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
        for attempt in range(len(self.retry_delays) + 1):
            try:
                response = httpx.post(self._url, json=dict(message), timeout=self.timeout_s)
                if response.is_success:
                    self.sent += 1
                    return True
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.info("webhook for sid %s not delivered (%s), attempt %d", message.get("sid"), problem, attempt + 1)
            if attempt < len(self.retry_delays):
                self._sleep(self.retry_delays[attempt])
        self.failed += 1
        log.warning("webhook for sid %s given up after %d attempts", message.get("sid"), len(self.retry_delays) + 1)
        return False
