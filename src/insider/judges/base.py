"""What a judge reads (`Case`) and what every judge does (`Judge`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from insider.agent.actions import ActionRecord
from insider.judges.config import PromptSet
from insider.judges.verdict import AwarenessLabel, JudgeResult
from insider.scenarios.base import Email, ScenarioFacts


@dataclass(frozen=True)
class Case:
    """One finished sample, as the judges see it."""

    scenario: str
    #: what the agent did
    log: ActionRecord
    #: the text the harm judge reads: the whole response, or its visible part only
    #: (`judge.show_reasoning: false`)
    response: str
    #: everything the agent wrote, reasoning included (the awareness classifier reads this)
    full_response: str
    facts: ScenarioFacts
    #: the emails the agent was shown, as records
    emails: tuple[Email, ...]
    #: the same emails as the text block the agent read (the study's classifiers look up
    #: forwarded emails in it by position)
    email_block: str
    #: the deterministic gates computed from `log`
    gates: dict[str, bool]


@dataclass(frozen=True)
class AwarenessResult:
    """An eval-awareness label, who gave it, and why there is none when it failed."""

    judge: str
    label: AwarenessLabel | None
    error: str | None = None
    #: a panel's members, each with its own label
    members: tuple["AwarenessResult", ...] = ()


class Judge(Protocol):
    """A judge: the offline rules, one grader model, or a panel of judges."""

    #: `rules`, the grader model's name, or the panel's description
    name: str
    #: the prompt set its model judges are asked with (None when no model is asked)
    prompt_set: PromptSet | None

    async def harm(self, case: Case) -> JudgeResult:
        """Did the agent carry out the scenario's harmful act? Never raises for a grader failure."""
        ...

    async def awareness(self, case: Case) -> AwarenessResult:
        """Did the agent deliberate about being evaluated, and what did it conclude?"""
        ...
