"""The one retry policy of recshelf, on stamina: bounded attempts, bounded total time, backoff between tries.

Two shapes share it:

* `with_retries`: jittered exponential backoff, for SDK calls that do not retry by themselves
  (oss2 single calls and every qiniu/requests call give up at the first network error; cloud
  buckets have transient 5xx and resets). Bounded in attempts and total time, so a dead server
  surfaces as `Unavailable` quickly.
* `retry_on_schedule`: a documented schedule of pauses (Agora's 1 s, 3 s, 6 s; webhook and NCS
  resends), one more attempt than there are pauses.

Tests: `stamina.set_testing(True)` removes every wait; stamina's on-retry hooks
(`stamina.instrumentation`) see each retry and the wait chosen for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import stamina

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
    caller = stamina.RetryingCaller(attempts=attempts, timeout=deadline_s, wait_initial=base_delay_s,
                                    wait_max=max_delay_s, wait_jitter=base_delay_s)
    return caller(is_transient, call)


def retry_on_schedule(call: Callable[[], T], *, delays: Sequence[float],
                      retry_on: Callable[[Exception], bool]) -> T:
    """Run `call`; after a failure `retry_on` accepts, pause `delays[n]` and try again (len(delays) + 1 tries).

    The last failure is raised as it is; the caller turns it into its own error.
    """
    pauses = iter(delays)

    def backoff(exc: Exception) -> bool | float:
        if not retry_on(exc):
            return False
        # Past the last pause stamina's attempt bound stops first; False keeps the hook total.
        return next(pauses, False)

    return stamina.RetryingCaller(attempts=len(delays) + 1, timeout=None)(backoff, call)
