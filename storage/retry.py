"""Bounded retries with jittered exponential backoff, for SDK calls that do not retry by themselves.

oss2 single calls and every qiniu/requests call give up at the first network error; cloud buckets
have transient 5xx and resets. Retrying is bounded in attempts and total time so a dead server
surfaces as `Unavailable` quickly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def with_retries(
    call: Callable[[], T],
    *,
    is_transient: Callable[[BaseException], bool],
    attempts: int = 4,
    base_delay_s: float = 0.05,
    max_delay_s: float = 1.0,
    deadline_s: float = 10.0,
) -> T:
    """Run `call`; on an exception that `is_transient` accepts, wait and try again, at most `attempts` times."""
    started = time.monotonic()
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            last_try = attempt == attempts - 1
            if last_try or not is_transient(exc):
                raise
            delay = random.uniform(0, min(max_delay_s, base_delay_s * 2**attempt))
            if time.monotonic() - started + delay > deadline_s:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")
