"""Saved llama.cpp states keyed by the prompt tokens they hold, looked up by longest prefix.

Inspect runs a task's samples epoch by epoch (every condition once, then every condition
again), so the samples that share a prompt are rarely back to back on the one llama
context. Keeping the evaluated prompt of each condition as a saved state lets any later
sample of it skip the prefill, whatever the order.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from llama_cpp import LlamaState


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    mismatch = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(mismatch[0]) if mismatch.size else n


def state_bytes(state: LlamaState) -> int:
    """Memory a saved state holds: the KV cache plus the copies of logits and token ids."""
    return int(state.llama_state_size) + state.scores.nbytes + state.input_ids.nbytes


@dataclass(frozen=True)
class PrefixHit:
    """A saved state and how many leading tokens of the looked-up prompt it holds."""

    state: LlamaState
    length: int


class PrefixCache:
    """Least-recently-used saved states, bounded by total bytes."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._states: OrderedDict[tuple[int, ...], LlamaState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    @property
    def size_bytes(self) -> int:
        return sum(state_bytes(state) for state in self._states.values())

    def longest(self, tokens: Sequence[int]) -> PrefixHit | None:
        """The saved state sharing the most leading tokens with `tokens`, if any."""
        best_key, best_length = None, 0
        for key in self._states:
            length = common_prefix_length(key, tokens)
            if length > best_length:
                best_key, best_length = key, length
        if best_key is None:
            return None
        self._states.move_to_end(best_key)
        return PrefixHit(self._states[best_key], best_length)

    def store(self, tokens: Sequence[int], state: LlamaState) -> None:
        """Keep `state` (which holds `tokens`), evicting the least recently used states."""
        if self.capacity_bytes <= 0 or state_bytes(state) > self.capacity_bytes:
            return
        key = tuple(tokens)
        self._states.pop(key, None)
        self._states[key] = state
        while self.size_bytes > self.capacity_bytes:
            self._states.popitem(last=False)
