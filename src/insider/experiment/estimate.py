"""Pre-flight estimate: samples, calls, tokens and dollars per model, before anything runs.

Input tokens are counted with tiktoken's `o200k_base` on the rendered prompts (other
providers' tokenizers differ by a few percent). Output tokens use
`run.expected_output_tokens` per call (capped by `max_tokens`) for the expected figure
and `max_tokens` for the upper bound. Reasoning (thinking) tokens are billed as output:
a model entry that asks for reasoning is expected to use its whole budget
(`reasoning_tokens`, or Inspect's budget for its `reasoning_effort`), within `max_tokens`,
which bounds thinking and answer together.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import tiktoken
from inspect_ai.model._reasoning import effort_to_reasoning_tokens  # Inspect's effort -> budget table
from pydantic import BaseModel

from insider.agent.actions import ActionRecord
from insider.conditions import parse_condition_id
from insider.experiment.config import Experiment
from insider.experiment.pricing import cost_usd
from insider.judges.config import PromptSet
from insider.judges.grader import PROMPTS, harm_messages
from insider.judges.pipeline import build_case
from insider.scenarios import ScenarioPrompt
from insider.scenarios.base import Mode

#: tokens a chat format adds per message (role markers), added to each message's text
MESSAGE_OVERHEAD = 4
#: a judge's answer: reasoning and the verdict
JUDGE_OUTPUT_TOKENS = 600
#: providers whose prompt caching applies to a repeated prompt prefix
CACHING_PROVIDERS = ("anthropic", "openai", "google", "grok", "deepseek")


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("o200k_base")


@lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    """o200k tokens of `text`. Cached: pre-flight and the estimate count the same prompts, and
    conditions share their system prompts."""
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


def reasoning_budget(settings: dict[str, Any]) -> int:
    """Tokens per call a model entry's settings let it think: `reasoning_tokens`, else Inspect's
    budget for its `reasoning_effort` (minimal 2048, low 4096, medium 10000, high 16000); 0 when
    the settings ask for no reasoning."""
    if settings.get("reasoning_tokens") is not None:
        return int(settings["reasoning_tokens"])
    return effort_to_reasoning_tokens(settings.get("reasoning_effort")) or 0


class ModelEstimate(BaseModel):
    """The estimate for one model entry (or the judge)."""

    #: the entry's label (the model name unless the entry has a label)
    model: str
    #: the Inspect model name, which sets the price
    base_model: str = ""
    role: str = "agent"
    samples: int
    calls: int
    input_tokens: int
    cached_input_tokens: int
    #: output tokens, reasoning included (providers bill reasoning as output)
    output_tokens_expected: int
    output_tokens_max: int
    #: the reasoning part of the output tokens
    reasoning_tokens_expected: int = 0
    reasoning_tokens_max: int = 0
    cost_expected_usd: float | None
    cost_max_usd: float | None


class Estimate(BaseModel):
    """The whole experiment's estimate."""

    experiment: str
    conditions: int
    samples_per_condition: int
    #: packs the grid runs on (each renders every condition)
    packs: int = 1
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


def _messages_tokens(messages) -> int:
    return sum(count_tokens(message.text) + MESSAGE_OVERHEAD for message in messages)


def judge_prompt_tokens(prompt_set: PromptSet, prompt: ScenarioPrompt) -> int:
    """Tokens of the harm judge's messages for a condition, before the agent's response is added."""
    scenario = parse_condition_id(prompt.condition_id).scenario
    case = build_case(scenario, ActionRecord(), "", prompt.facts, prompt.emails, prompt.email_block)
    return _messages_tokens(harm_messages(prompt_set, case))


def judge_rows(
    experiment: Experiment, prompts: list[ScenarioPrompt], per_sample_calls: list[int], responses: list[tuple[int, int, int]]
) -> list[ModelEstimate]:
    """One row per model judge (each panel member is asked about every judged sample).

    `responses` holds, per model entry, the tokens of one call's answer, of its reasoning
    (expected) and at most (max_tokens). The awareness classifier reads the reasoning; the
    harm judge reads it unless `judge.show_reasoning` is off.
    """
    judge = experiment.judge
    epochs, agents = experiment.samples, len(responses)
    judged = len(prompts) * epochs * agents
    aware = [judge.awareness or parse_condition_id(p.condition_id).awareness_notice for p in prompts]
    aware_calls = sum(aware) * epochs * agents
    awareness_overhead = _messages_tokens(PROMPTS[judge.prompt_set].awareness_messages(""))
    overhead = sum(judge_prompt_tokens(judge.prompt_set, p) for p in prompts)
    harm_in = harm_in_max = aware_in = aware_in_max = 0
    for answer, thinking, max_tokens in responses:
        # the agent's whole response is in every judge prompt: expected and at most
        shown = answer + (thinking if judge.show_reasoning else 0)
        harm_in += epochs * (overhead + sum(calls * shown for calls in per_sample_calls))
        harm_in_max += epochs * (overhead + sum(calls * max_tokens for calls in per_sample_calls))
        aware_in += epochs * sum(a * (awareness_overhead + c * (answer + thinking)) for a, c in zip(aware, per_sample_calls))
        aware_in_max += epochs * sum(a * (awareness_overhead + c * max_tokens) for a, c in zip(aware, per_sample_calls))
    calls = judged + aware_calls
    attempts = judge.max_attempts
    rows = []
    for name in judge.model_judges:
        rows.append(
            ModelEstimate(
                model=name,
                base_model=name,
                role="judge",
                samples=judged,
                calls=calls,
                input_tokens=harm_in + aware_in,
                cached_input_tokens=0,
                output_tokens_expected=calls * JUDGE_OUTPUT_TOKENS,
                output_tokens_max=calls * JUDGE_OUTPUT_TOKENS * attempts,
                cost_expected_usd=_cost(name, experiment, harm_in + aware_in, 0, calls * JUDGE_OUTPUT_TOKENS),
                cost_max_usd=_cost(
                    name, experiment, (harm_in_max + aware_in_max) * attempts, 0, calls * JUDGE_OUTPUT_TOKENS * attempts
                ),
            )
        )
    return rows


def estimate_experiment(experiment: Experiment, prompts: list[ScenarioPrompt]) -> Estimate:
    """Estimate the cost of running `experiment` whose conditions rendered to `prompts` (every
    condition of every pack)."""
    epochs = experiment.samples
    per_sample_calls = [calls_per_sample(p, experiment.mode) for p in prompts]
    per_sample_input = [prompt_tokens(p, experiment.mode) * c for p, c in zip(prompts, per_sample_calls)]
    samples = len(prompts) * epochs
    calls = sum(per_sample_calls) * epochs
    input_tokens = sum(per_sample_input) * epochs
    rows: list[ModelEstimate] = []
    responses: list[tuple[int, int, int]] = []  # per entry: answer, reasoning and at most, per call
    for entry in experiment.models:
        settings = experiment.generate_settings(entry)
        budget = reasoning_budget(settings)
        # max_tokens bounds thinking and answer together; unset, the budget plus a default answer
        max_tokens = settings.get("max_tokens") or budget + 4000
        answer = min(experiment.run.expected_output_tokens, max_tokens)
        thinking_max = min(budget, max_tokens)
        thinking = min(budget, max_tokens - answer)
        # epochs repeat the same prompt, so all but the first few (sent concurrently, before the
        # cache holds the prompt) can read it from the provider's cache
        misses = min(epochs, experiment.run.max_connections or 10)
        cached = sum(per_sample_input) * (epochs - misses) if _caches(entry.model, experiment) else 0
        expected_out, max_out = calls * (answer + thinking), calls * max_tokens
        rows.append(
            ModelEstimate(
                model=entry.label,
                base_model=entry.model,
                samples=samples,
                calls=calls,
                input_tokens=input_tokens,
                cached_input_tokens=cached,
                output_tokens_expected=expected_out,
                output_tokens_max=max_out,
                reasoning_tokens_expected=calls * thinking,
                reasoning_tokens_max=calls * thinking_max,
                cost_expected_usd=_cost(entry.model, experiment, input_tokens - cached, cached, expected_out),
                cost_max_usd=_cost(entry.model, experiment, input_tokens - cached, cached, max_out),
            )
        )
        responses.append((answer, thinking, max_tokens))
    rows += judge_rows(experiment, prompts, per_sample_calls, responses)
    budgets = sorted({reasoning_budget(experiment.generate_settings(entry)) for entry in experiment.models})
    limits = sorted({experiment.generate_settings(entry).get("max_tokens") or 0 for entry in experiment.models})
    assumptions = [
        "input tokens counted with tiktoken o200k_base on the rendered prompts",
        f"expected output {experiment.run.expected_output_tokens} tokens per call (run.expected_output_tokens); "
        f"upper bound max_tokens={'/'.join(str(m) if m else 'unset (4000 plus any reasoning budget)' for m in limits)}",
        "prompt caching: epochs beyond the first max_connections read the shared prompt from the provider's cache"
        if experiment.run.cache_prompt is not False
        else "prompt caching off (run.cache_prompt: false)",
    ]
    if budgets != [0]:
        assumptions.append(
            "reasoning: a model entry that asks for it uses its whole budget (reasoning_tokens, or Inspect's budget "
            "for its reasoning_effort), billed as output, within max_tokens; models that reason without being asked "
            "are not counted"
        )
    if experiment.mode != "text":
        assumptions.append(f"{experiment.mode} mode: calls per sample estimated (tools 3; inbox 3 + one per email)")
    if experiment.judge.uses_model:
        panel = " per panel member" if experiment.judge.is_panel else ""
        assumptions.append(
            f"judge: one call per sample{panel} with the {experiment.judge.prompt_set} prompts, plus one per "
            "sample that gets an awareness label (gate-first skips some; retries up to max_attempts in the upper bound)"
        )
    if experiment.run.batch:
        assumptions.append("batch APIs at the providers' batch discount")
    return Estimate(
        experiment=experiment.name,
        conditions=len(experiment.conditions()),
        samples_per_condition=epochs,
        packs=len(experiment.pack_names),
        rows=rows,
        assumptions=assumptions,
    )
