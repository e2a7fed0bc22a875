"""A spending cap for a run: count dollars as calls complete, stop starting samples at the cap.

Spend is counted by an Inspect hook on every successful model call (agent and judge
calls alike) using the price table. Once it reaches the budget, `refuse_if_spent` makes each
sample that has not started yet fail with `BudgetReached` before any model call: it is
recorded as an `error` (never as a result) and runs when the command is repeated with a
larger budget. Calls already in flight complete, so spend can pass the cap by at most
`max_connections` calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from inspect_ai.hooks import Hooks, ModelUsageData, hooks

from insider.experiment.pricing import usage_cost


class BudgetReached(RuntimeError):
    """Raised in place of starting a sample once the budget is spent."""


@dataclass
class Spend:
    """Dollars spent in this process, against an optional budget."""

    budget_usd: float | None = None
    spent_usd: float = 0.0
    #: spend recorded by earlier runs in the same log dir
    earlier_usd: float = 0.0
    batch: bool = False
    overrides: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    refused_samples: int = 0

    @property
    def total_usd(self) -> float:
        return self.earlier_usd + self.spent_usd

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


#: the process-wide spend of the run in progress (set by the runner)
SPEND = Spend()


def start_spend(
    budget_usd: float | None,
    earlier_usd: float = 0.0,
    batch: bool = False,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> Spend:
    """Reset the process-wide spend for a new run."""
    global SPEND
    SPEND = Spend(budget_usd=budget_usd, earlier_usd=earlier_usd, batch=batch, overrides=dict(overrides or {}))
    if budget_usd is not None:
        _register_spend_hook()
    return SPEND


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


def refuse_if_spent() -> None:
    """Raise BudgetReached instead of starting a sample once the run's budget is spent."""
    if SPEND.exhausted:
        SPEND.refused_samples += 1
        raise BudgetReached(
            f"budget of ${SPEND.budget_usd:.2f} reached (spent ${SPEND.total_usd:.2f}); "
            "sample not started — raise run.budget_usd and run again to continue"
        )
