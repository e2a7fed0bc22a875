"""Pre-flight estimate: samples, calls, tokens and dollars per model, before anything runs.

Input tokens are counted with tiktoken's `o200k_base` on the rendered prompts (other
providers' tokenizers differ by a few percent). Output tokens use
`run.expected_output_tokens` per call (capped by `max_tokens`) for the expected figure
and `max_tokens` for the upper bound.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken
from pydantic import BaseModel

from insider.experiment.config import Experiment
from insider.experiment.pricing import cost_usd
from insider.scenarios import ScenarioPrompt
from insider.scenarios.base import Mode

#: tokens a chat format adds per message (role markers), added to each message's text
MESSAGE_OVERHEAD = 4
#: judge prompt: criteria and instructions, on top of the agent's response
JUDGE_PROMPT_TOKENS = 1500
JUDGE_OUTPUT_TOKENS = 600
#: providers whose prompt caching applies to a repeated prompt prefix
CACHING_PROVIDERS = ("anthropic", "openai", "google", "grok", "deepseek")


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def prompt_tokens(prompt: ScenarioPrompt, mode: Mode) -> int:
    """Tokens of the first request of a sample in the given mode (its Sample input)."""
    from insider.agent import sample_messages

    return sum(count_tokens(message.text) + MESSAGE_OVERHEAD for message in sample_messages(prompt, mode))


def calls_per_sample(prompt: ScenarioPrompt, mode: str) -> int:
    """Model calls one sample is expected to make in a mode."""
    if mode == "text":
        return 1
    if mode == "tools":
        return 3  # act, act on the results, finish
    return 3 + len(prompt.emails)  # list, read each email, act, finish


class ModelEstimate(BaseModel):
    """The estimate for one model (or the judge)."""

    model: str
    role: str = "agent"
    samples: int
    calls: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens_expected: int
    output_tokens_max: int
    cost_expected_usd: float | None
    cost_max_usd: float | None


class Estimate(BaseModel):
    """The whole experiment's estimate."""

    experiment: str
    conditions: int
    samples_per_condition: int
    rows: list[ModelEstimate]
    assumptions: list[str]

    @property
    def cost_expected_usd(self) -> float | None:
        costs = [r.cost_expected_usd for r in self.rows]
        return None if any(c is None for c in costs) else sum(costs)  # type: ignore[misc]

    @property
    def cost_max_usd(self) -> float | None:
        costs = [r.cost_max_usd for r in self.rows]
        return None if any(c is None for c in costs) else sum(costs)  # type: ignore[misc]

    @property
    def unpriced(self) -> list[str]:
        return [r.model for r in self.rows if r.cost_expected_usd is None]


def _cost(model: str, experiment: Experiment, uncached: int, cached: int, output: int) -> float | None:
    return cost_usd(model, uncached, output, cached, batch=bool(experiment.run.batch), overrides=experiment.run.prices)


def _caches(model: str, experiment: Experiment) -> bool:
    return experiment.run.cache_prompt is not False and model.split("/", 1)[0] in CACHING_PROVIDERS


def estimate_experiment(experiment: Experiment, prompts: list[ScenarioPrompt]) -> Estimate:
    """Estimate the cost of running `experiment` whose conditions rendered to `prompts`."""
    epochs = experiment.samples
    max_tokens = experiment.max_tokens or 4000
    expected_out = min(experiment.run.expected_output_tokens, max_tokens)
    per_sample_calls = [calls_per_sample(p, experiment.mode) for p in prompts]
    per_sample_input = [prompt_tokens(p, experiment.mode) * c for p, c in zip(prompts, per_sample_calls)]
    samples = len(prompts) * epochs
    calls = sum(per_sample_calls) * epochs
    input_tokens = sum(per_sample_input) * epochs
    rows: list[ModelEstimate] = []
    for model in experiment.models:
        # epochs repeat the same prompt, so all but the first few (sent concurrently, before the
        # cache holds the prompt) can read it from the provider's cache
        misses = min(epochs, experiment.run.max_connections or 10)
        cached = sum(per_sample_input) * (epochs - misses) if _caches(model, experiment) else 0
        rows.append(
            ModelEstimate(
                model=model,
                samples=samples,
                calls=calls,
                input_tokens=input_tokens,
                cached_input_tokens=cached,
                output_tokens_expected=calls * expected_out,
                output_tokens_max=calls * max_tokens,
                cost_expected_usd=_cost(model, experiment, input_tokens - cached, cached, calls * expected_out),
                cost_max_usd=_cost(model, experiment, input_tokens - cached, cached, calls * max_tokens),
            )
        )
    judge = experiment.judge.model
    if judge != "rules":
        judged = samples * len(experiment.models)
        judge_in = judged * (JUDGE_PROMPT_TOKENS + expected_out)
        judge_in_max = judged * (JUDGE_PROMPT_TOKENS + max_tokens)
        rows.append(
            ModelEstimate(
                model=judge,
                role="judge",
                samples=judged,
                calls=judged,
                input_tokens=judge_in,
                cached_input_tokens=0,
                output_tokens_expected=judged * JUDGE_OUTPUT_TOKENS,
                output_tokens_max=judged * JUDGE_OUTPUT_TOKENS * experiment.judge.max_attempts,
                cost_expected_usd=_cost(judge, experiment, judge_in, 0, judged * JUDGE_OUTPUT_TOKENS),
                cost_max_usd=_cost(
                    judge, experiment, judge_in_max * experiment.judge.max_attempts, 0,
                    judged * JUDGE_OUTPUT_TOKENS * experiment.judge.max_attempts,
                ),
            )
        )
    assumptions = [
        "input tokens counted with tiktoken o200k_base on the rendered prompts",
        f"expected output {expected_out} tokens per call (run.expected_output_tokens); upper bound max_tokens={max_tokens}",
        "prompt caching: epochs beyond the first max_connections read the shared prompt from the provider's cache"
        if experiment.run.cache_prompt is not False
        else "prompt caching off (run.cache_prompt: false)",
    ]
    if experiment.mode != "text":
        assumptions.append(f"{experiment.mode} mode: calls per sample estimated (tools 3; inbox 3 + one per email)")
    if judge != "rules":
        assumptions.append(
            "judge: one call per sample (gate-first skips some; retries up to max_attempts in the upper bound)"
        )
    if experiment.run.batch:
        assumptions.append("batch APIs at the providers' batch discount")
    return Estimate(
        experiment=experiment.name,
        conditions=len(prompts),
        samples_per_condition=epochs,
        rows=rows,
        assumptions=assumptions,
    )
