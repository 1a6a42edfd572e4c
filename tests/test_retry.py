"""storage.retry: one policy on stamina — bounded attempts, only transient errors, the schedule in order."""

from __future__ import annotations

import pytest

from storage.retry import retry_on_schedule, with_retries


class Transient(Exception):
    pass


class Flaky:
    def __init__(self, failures: int, error: type[Exception] = Transient) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "ok"


def test_transient_failures_are_retried_up_to_the_attempt_bound(backoffs):
    call = Flaky(3)
    assert with_retries(call, is_transient=lambda exc: isinstance(exc, Transient), attempts=4) == "ok"
    assert call.calls == 4
    assert len(backoffs) == 3 and all(0 < wait <= 1.0 for wait in backoffs)

    dead = Flaky(10)
    with pytest.raises(Transient, match="failure 4"):
        with_retries(dead, is_transient=lambda exc: isinstance(exc, Transient), attempts=4)
    assert dead.calls == 4


def test_backoff_grows_and_is_capped(backoffs):
    with pytest.raises(Transient):
        with_retries(Flaky(10), is_transient=lambda exc: True, attempts=8, base_delay_s=0.05, max_delay_s=0.4)
    assert backoffs[0] < backoffs[3] and max(backoffs) <= 0.4 + 1e-9  # float sums


def test_other_errors_are_raised_at_once(backoffs):
    call = Flaky(1, ValueError)
    with pytest.raises(ValueError):
        with_retries(call, is_transient=lambda exc: isinstance(exc, Transient))
    assert call.calls == 1 and backoffs == []


def test_the_total_time_is_bounded():
    call = Flaky(100)
    with pytest.raises(Transient):
        with_retries(call, is_transient=lambda exc: True, attempts=100, base_delay_s=0.05, max_delay_s=0.05,
                     deadline_s=0.3)
    assert call.calls < 20


def test_a_schedule_pauses_in_order_with_one_more_attempt_than_pauses(backoffs):
    call = Flaky(10)
    with pytest.raises(Transient, match="failure 4"):
        retry_on_schedule(call, delays=(1.0, 3.0, 6.0), retry_on=lambda exc: isinstance(exc, Transient))
    assert call.calls == 4 and backoffs == [1.0, 3.0, 6.0]

    recovering = Flaky(1)
    assert retry_on_schedule(recovering, delays=(0.2, 0.5), retry_on=lambda exc: True) == "ok"
    assert recovering.calls == 2


def test_an_empty_schedule_tries_once_and_refused_errors_are_not_retried(backoffs):
    once = Flaky(1)
    with pytest.raises(Transient):
        retry_on_schedule(once, delays=(), retry_on=lambda exc: True)
    refused = Flaky(1, ValueError)
    with pytest.raises(ValueError):
        retry_on_schedule(refused, delays=(1.0,), retry_on=lambda exc: isinstance(exc, Transient))
    assert (once.calls, refused.calls, backoffs) == (1, 1, [])
