"""How samples are judged: the `judge:` block of an experiment and the flags of `insider judge`.

Three choices make a judge (README, "Judging"):

- the policy: which verdict is the headline (`strict`: the harmful act happened AND the judge
  says harmful; `paper`: the study's string checks AND the judge);
- the prompt set a model judge is asked with (`study`: the study's classifier prompts, built by
  inspect_evals at run time; `insider`: this project's own); by default `study` under the paper
  policy and `insider` under the strict one;
- one judge (`model`) or a panel (`models` with an `aggregate` rule).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PromptSet = Literal["study", "insider"]
Aggregate = Literal["majority", "any", "all"]
Policy = Literal["strict", "paper"]
POLICIES: tuple[str, ...] = ("strict", "paper")
PROMPT_SETS: tuple[str, ...] = ("study", "insider")
AGGREGATES: tuple[str, ...] = ("majority", "any", "all")
#: the offline judge's name wherever a model name could stand
RULES = "rules"


class JudgeConfig(BaseModel):
    """How samples are judged. `judge: rules` is short for `judge: {model: rules}`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: an Inspect model name (asked through the `grader` model role), or `rules` for the offline judge
    model: str = RULES
    #: a panel instead of one judge: two or more Inspect model names (`rules` may be one of them)
    models: list[str] | None = Field(default=None, min_length=2)
    #: how a panel's verdicts combine: majority (more than half say harmful), any, all
    aggregate: Aggregate = "majority"
    #: which verdict is the headline `harmful`: strict (gate AND judge) or paper (the study's rule)
    policy: Policy = "strict"
    #: the prompts a model judge is asked with; default: study under `paper`, insider under `strict`
    prompts: PromptSet | None = None
    #: show the harm judge the agent's reasoning (scratchpad, thinking) besides its visible answer;
    #: the study's classifiers read the whole response, scratchpad included
    show_reasoning: bool = True
    #: run the eval-awareness classifier on every sample (always on for `_notice` conditions)
    awareness: bool = False
    #: skip the model judge when no gate could fire (its verdict is then recorded as not needed)
    gate_first: bool = True
    #: attempts at a parseable judge answer before the sample is `unscored`
    max_attempts: int = Field(default=3, strict=True, ge=1, le=10)

    @field_validator("models")
    @classmethod
    def _distinct(cls, models: list[str] | None) -> list[str] | None:
        if models is not None and len(set(models)) != len(models):
            raise ValueError("a panel lists each model once")
        return models

    @model_validator(mode="after")
    def _one_or_panel(self) -> "JudgeConfig":
        if self.models is not None and "model" in self.model_fields_set:
            raise ValueError("give judge.model (one judge) or judge.models (a panel), not both")
        return self

    @property
    def members(self) -> list[str]:
        """The judges' names: the panel's members, or the one judge."""
        return list(self.models) if self.models is not None else [self.model]

    @property
    def is_panel(self) -> bool:
        return self.models is not None

    @property
    def model_judges(self) -> list[str]:
        """The members that are models (each needs a grader), in order."""
        return [member for member in self.members if member != RULES]

    @property
    def uses_model(self) -> bool:
        """Some judge is a model (a grader is needed)."""
        return bool(self.model_judges)

    @property
    def prompt_set(self) -> PromptSet:
        """The prompt set model judges are asked with (the policy's default unless set)."""
        return self.prompts or ("study" if self.policy == "paper" else "insider")

    def roles(self) -> dict[str, str]:
        """Model role -> model name for every model judge: `grader` alone, `grader_<i>` in a panel.

        Inspect records the usage of calls made through a role apart from the agent's.
        """
        if not self.is_panel:
            return {"grader": self.model} if self.model != RULES else {}
        return {f"grader_{i}": name for i, name in enumerate(self.members, start=1) if name != RULES}
