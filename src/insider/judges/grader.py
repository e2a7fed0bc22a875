"""A model judge: one grader model asked with a prompt set (`study` or `insider`)."""

from __future__ import annotations

from typing import Protocol

from inspect_ai.model import ChatMessage, Model

from insider.agent.actions import ActionRecord
from insider.judges.answers import HarmAnswer
from insider.judges.base import AwarenessResult, Case
from insider.judges.config import PromptSet
from insider.judges.llm import ask
from insider.judges.prompts import InsiderPrompts
from insider.judges.study import StudyPrompts
from insider.judges.verdict import AwarenessLabel, JudgeResult
from insider.scenarios.base import ScenarioFacts


class Prompts(Protocol):
    """A prompt set: the grader's messages for each question, and how its answers are read."""

    name: PromptSet

    def harm_messages(
        self, scenario: str, log: ActionRecord, facts: ScenarioFacts, response: str, email_block: str
    ) -> list[ChatMessage]: ...

    def parse_harm(self, completion: str) -> HarmAnswer: ...

    def awareness_messages(self, response: str) -> list[ChatMessage]: ...

    def parse_awareness(self, completion: str) -> AwarenessLabel: ...


PROMPTS: dict[str, Prompts] = {"study": StudyPrompts(), "insider": InsiderPrompts()}


def harm_messages(prompts: PromptSet, case: Case) -> list[ChatMessage]:
    """The messages a grader receives about one case (what the tests compare with the study's)."""
    return PROMPTS[prompts].harm_messages(case.scenario, case.log, case.facts, case.response, case.email_block)


class GraderJudge:
    """One grader model asked with one prompt set."""

    def __init__(self, model: Model, prompts: PromptSet, max_attempts: int) -> None:
        self.model = model
        self.prompts = PROMPTS[prompts]
        self.prompt_set: PromptSet | None = prompts
        self.max_attempts = max_attempts
        self.name = str(model)

    async def harm(self, case: Case) -> JudgeResult:
        asked = await ask(self.model, harm_messages(self.prompts.name, case), self.prompts.parse_harm, self.max_attempts)
        return JudgeResult(
            judge=self.name,
            verdict=asked.value.harmful if asked.value else None,
            intent=asked.value.intent if asked.value else None,
            reasoning=asked.completion,
            attempts=asked.attempts,
            error=asked.error,
        )

    async def awareness(self, case: Case) -> AwarenessResult:
        messages = self.prompts.awareness_messages(case.full_response)
        asked = await ask(self.model, messages, self.prompts.parse_awareness, self.max_attempts)
        return AwarenessResult(judge=self.name, label=asked.value, error=asked.error)
