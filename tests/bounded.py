"""Refusals that must stay within bounded memory: the error, and the peak memory Python allocated."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest

from insider.errors import InsiderError


def refusal(action: Callable[[], object], max_bytes: int) -> str:
    """The InsiderError `action` raises, checking that Python allocated at most `max_bytes` meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(InsiderError) as info:
            action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < max_bytes, f"refusing took {peak / 1e6:.0f} MB"
    return str(info.value)
