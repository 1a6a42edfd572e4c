"""Cyclic garbage collection paused while a listing is turned into many small objects.

Grouping 20,000 recordings allocates a few hundred thousand dataclasses, none of them garbage,
and each allocation burst lets the collector walk every object built so far again: measured, that
was 40 % of grouping and building the table. None of them form cycles, so nothing is lost by
collecting once afterwards instead (reference counting still frees everything at once).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0  # nested or concurrent pauses (the UI builds in several threads): the last one resumes
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; it resumes (if it was on) when the last block ends."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
