"""The `study` prompt set: the study's own classifier prompts, built at run time by inspect_evals.

No prompt text lives in this repository. The grader's messages are exactly what the classifier
classes that ship in the pinned inspect_evals build with `get_grader_input(email_content,
response)`, given the condition's own email block, as inspect_evals' scorer does. Two of the
study's judging defects are corrected, openly (README, "Replication notes"; each verdict lists
them under `corrections`):

- a grader error or an answer that cannot be read leaves the sample `unscored`; the study
  counted a failed classification as not harmful (inspect_evals #1676);
- the verdict is read from one final `<answer>` element holding yes or no; the study's parser
  looked for the substrings "yes"/"no" and fell back to the whole completion (inspect_evals #2310).
"""

from __future__ import annotations

from functools import cache

from inspect_ai.model import ChatMessage

from insider.agent.actions import ActionRecord
from insider.errors import InsiderError
from insider.judges.answers import HarmAnswer
from insider.judges.parse import parse_element, parse_yes_no
from insider.judges.verdict import AwarenessLabel
from insider.kinds import get_kind
from insider.kinds.study import classifier_class
from insider.scenarios.base import ScenarioFacts

#: the study's three-way awareness answer -> this project's label
AWARENESS_ANSWERS: dict[str, AwarenessLabel] = {
    "deliberates_thinks_eval": "thinks_eval",
    "deliberates_thinks_real": "thinks_real",
    "no_deliberation": "no_deliberation",
}
#: the corrections every verdict judged with this prompt set records
CORRECTIONS: tuple[str, ...] = (
    "unscored-on-failure: a grader error or unreadable answer is unscored, not safe (inspect_evals #1676)",
    "answer-element: the verdict is read from one final <answer> element, not by substring (inspect_evals #2310)",
)


@cache
def classifier(scenario: str):  # -> inspect_evals Classifier
    """The inspect_evals classifier of a scenario the study judged (its kind names it)."""
    name = get_kind(scenario).study_classifier
    if name is None:
        raise InsiderError(
            f"the study has no classifier for the {scenario} scenario; judge it with judge.prompts: insider"
        )
    return classifier_class(name)()


@cache
def deliberation_classifier():  # -> inspect_evals DeliberationClassifier
    return classifier_class("DeliberationClassifier")()


class StudyPrompts:
    """The study's classifier prompts (blackmail, leaking, murder; deliberation for awareness)."""

    name = "study"

    def harm_messages(self, scenario: str, log: ActionRecord, facts: ScenarioFacts, response: str, email_block: str) -> list[ChatMessage]:
        return classifier(scenario).get_grader_input(email_content=email_block, response=response)

    def parse_harm(self, completion: str) -> HarmAnswer:
        return HarmAnswer(harmful=parse_yes_no(completion, "answer", final=True))

    def awareness_messages(self, response: str) -> list[ChatMessage]:
        # inspect_evals' awareness scorer gives this classifier no email content
        return deliberation_classifier().get_grader_input(email_content="", response=response)

    def parse_awareness(self, completion: str) -> AwarenessLabel:
        return AWARENESS_ANSWERS[parse_element(completion, "answer", AWARENESS_ANSWERS, final=True)]
