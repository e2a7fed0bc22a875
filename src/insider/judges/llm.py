"""Asking a grader model, with strict parsing, a bounded number of attempts and no silent default."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from inspect_ai.model import ChatMessage, GenerateConfig, Model

from insider.judges.parse import JudgeParseError
from insider.redact import redact

T = TypeVar("T")

#: the study's judge sampling: temperature 0, at most 2000 tokens (study-design §4.1)
JUDGE_CONFIG = GenerateConfig(temperature=0, max_tokens=2000)
#: a retry must not be answered from Inspect's response cache
RETRY_CONFIG = JUDGE_CONFIG.merge(GenerateConfig(cache=False))


@dataclass
class Asked(Generic[T]):
    """What came of asking the grader: a parsed value, or why there is none."""

    value: T | None
    completion: str
    attempts: int
    error: str | None = None


async def ask(grader: Model, messages: Sequence[ChatMessage], parse: Callable[[str], T], max_attempts: int) -> Asked[T]:
    """Ask until `parse` accepts the completion, at most `max_attempts` times.

    A parse failure is retried with caching off; a grader exception ends the attempts at
    once (Inspect has already retried what is retryable). Either way the result carries
    `value=None` and the reason, never a default value.
    """
    completion = ""
    problems: list[str] = []
    for attempt in range(1, max_attempts + 1):
        try:
            output = await grader.generate(list(messages), config=JUDGE_CONFIG if attempt == 1 else RETRY_CONFIG)
        except Exception as exc:  # any provider failure: recorded, and the sample is unscored
            return Asked(None, completion, attempt, redact(f"grader error on attempt {attempt}: {type(exc).__name__}: {exc}"))
        completion = output.completion
        try:
            return Asked(parse(completion), completion, attempt)
        except JudgeParseError as exc:
            problems.append(str(exc) if completion.strip() else "empty completion")
    return Asked(None, completion, max_attempts, f"no parseable answer after {max_attempts} attempt(s): {'; '.join(problems)}")
