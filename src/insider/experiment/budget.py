"""A spending cap for a run: count dollars as calls complete, stop starting samples at the cap.

Spend is the sum of three counts, all priced with the price table:

- **earlier**: what this run's logs already record when it starts (earlier attempts of
  the same run, or of the same shard), read from the samples in those logs;
- **live**: every model call this process makes (agent and judge alike), counted by an
  Inspect hook as each call completes;
- **other shards**: what the other shards' logs record, read when the run starts and again
  at most every `run.budget_refresh` seconds while it goes on (sharded runs only).

Once the sum reaches the budget, `refuse_if_spent` makes each sample that has not started
yet fail with `BudgetReached` before any model call: it is recorded as an `error` (never as a
result) and runs when the command is repeated with a larger budget. Calls already in flight
complete, so one process can pass the cap by at most `max_connections` calls. Another
shard's spend is seen only once it is in that shard's log: Inspect writes a log every
`run.log_buffer` samples (at most 10 by default), so the count of the other shards lags by
up to that many samples each plus `run.budget_refresh` seconds, and calls in flight when a
process is killed never reach any log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Mapping

from inspect_ai.hooks import Hooks, ModelUsageData, hooks
from inspect_ai.log import EvalSampleSummary, read_eval_log_sample_summaries, read_eval_log_sample_summaries_async

from insider import logdir
from insider.experiment.pricing import usage_cost

logger = logging.getLogger(__name__)


class BudgetReached(RuntimeError):
    """Raised in place of starting a sample once the budget is spent."""


@dataclass
class Spend:
    """Dollars spent in this process, against an optional budget."""

    budget_usd: float | None = None
    spent_usd: float = 0.0
    #: spend recorded in this run's logs when it started (for a shard: its own directory)
    earlier_usd: float = 0.0
    batch: bool = False
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    refused_samples: int = 0
    #: reads the other shards' logged spend again (None: no other shard writes to this log dir)
    others: Callable[[], Awaitable[float]] | None = None
    #: the other shards' spend as last read
    others_usd: float = 0.0
    #: seconds between two reads of the other shards' logs
    refresh_seconds: float = 60.0
    _read_at: float = field(default_factory=time.monotonic)
    _reading: bool = False

    @property
    def total_usd(self) -> float:
        return self.earlier_usd + self.others_usd + self.spent_usd

    @property
    def exhausted(self) -> bool:
        """Spend has reached the budget (a zero budget allows free models only)."""
        return self.budget_usd is not None and self.total_usd > 0 and self.total_usd >= self.budget_usd

    def add(self, model: str, usage) -> None:  # usage: inspect_ai.model.ModelUsage
        cost = usage_cost(model, usage, batch=self.batch, overrides=self.overrides)
        if cost is None:
            self.unpriced_models.add(model)
        else:
            self.spent_usd += cost

    async def refresh(self) -> None:
        """Read the other shards' spend again if the last read is older than `refresh_seconds`."""
        if self.others is None or self._reading or time.monotonic() - self._read_at < self.refresh_seconds:
            return
        self._reading = True
        try:
            self.others_usd = await self.others()
        except Exception as exc:  # a log being rewritten or a storage hiccup: keep the last count, say so
            logger.warning(f"budget: could not read the other shards' spend ({exc}); keeping ${self.others_usd:.2f}")
        finally:
            self._read_at = time.monotonic()
            self._reading = False


#: the process-wide spend of the run in progress (set by the runner)
SPEND = Spend()


def start_spend(
    budget_usd: float | None,
    earlier_usd: float = 0.0,
    batch: bool = False,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    others_usd: float = 0.0,
    others: Callable[[], Awaitable[float]] | None = None,
    refresh_seconds: float = 60.0,
) -> Spend:
    """Reset the process-wide spend for a new run.

    Args:
        budget_usd: the cap (None: count nothing).
        earlier_usd: spend already in this run's own logs.
        batch: price calls at batch rates.
        overrides: price overrides (`run.prices`).
        others_usd: the other shards' logged spend now.
        others: reads it again, in the run's event loop, every `refresh_seconds`.
        refresh_seconds: how often `others` is read again during the run.
    """
    global SPEND
    SPEND = Spend(
        budget_usd=budget_usd,
        earlier_usd=earlier_usd,
        batch=batch,
        overrides=dict(overrides or {}),
        others_usd=others_usd,
        others=others,
        refresh_seconds=refresh_seconds,
    )
    if budget_usd is not None:
        _register_spend_hook()
    return SPEND


def _samples_cost(
    summaries: Iterable[EvalSampleSummary], seen: set[str], batch: bool, overrides: Mapping[str, Mapping[str, float]] | None
) -> float:
    """Dollars of the samples not `seen` yet (adding them to it)."""
    total = 0.0
    for sample in summaries:
        if sample.uuid in seen:
            continue
        if sample.uuid:
            seen.add(sample.uuid)
        for model, usage in sample.model_usage.items():
            total += usage_cost(model, usage, batch=batch, overrides=overrides) or 0.0
    return total


def logged_spend(
    locations: Iterable[str], batch: bool = False, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> float:
    """Dollars the samples in these logs record (agent and judge calls; unpriced models count 0).

    Each sample is counted once: a resumed log repeats the samples of the log it resumed.
    Read from the samples rather than the log header, so an interrupted run's finished
    samples count too.
    """
    seen: set[str] = set()
    total = 0.0
    for location in locations:
        with logdir.storage(location):
            total += _samples_cost(read_eval_log_sample_summaries(location), seen, batch, overrides)
    return total


async def logged_spend_async(
    locations: Iterable[str], batch: bool = False, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> float:
    """`logged_spend`, read in the running event loop (during a run)."""
    seen: set[str] = set()
    total = 0.0
    for location in locations:
        total += _samples_cost(await read_eval_log_sample_summaries_async(location), seen, batch, overrides)
    return total


_hook_registered = False


def _register_spend_hook() -> None:
    """Register the spend-counting hook once, only for runs that have a budget."""
    global _hook_registered
    if _hook_registered:
        return

    @hooks(name="insider_spend", description="Counts dollars spent on model calls against the run's budget.")
    class SpendHook(Hooks):
        def enabled(self) -> bool:
            return SPEND.budget_usd is not None

        async def on_model_usage(self, data: ModelUsageData) -> None:
            SPEND.add(data.model_name, data.usage)

    _hook_registered = True


async def refuse_if_spent() -> None:
    """Raise BudgetReached instead of starting a sample once the run's budget is spent."""
    if SPEND.budget_usd is None:
        return
    await SPEND.refresh()
    if SPEND.exhausted:
        SPEND.refused_samples += 1
        raise BudgetReached(
            f"budget of ${SPEND.budget_usd:.2f} reached (spent ${SPEND.total_usd:.2f}); "
            "sample not started — raise run.budget_usd and run again to continue"
        )
