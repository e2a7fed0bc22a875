"""The one place a `JudgeConfig` becomes a `Judge`, and where its grader models come from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from inspect_ai.model import Model, get_model

from insider.errors import InsiderError, one_line
from insider.judges.base import Judge
from insider.judges.config import RULES, JudgeConfig
from insider.judges.grader import GraderJudge
from insider.judges.panel import PanelJudge
from insider.judges.rules import RulesJudge
from insider.redact import guard


def make_judge(config: JudgeConfig, graders: Mapping[str, Model] | None = None) -> Judge:
    """The judge `config` describes; `graders` maps each model judge's name to its Model."""
    graders = graders or {}

    def one(name: str) -> Judge:
        if name == RULES:
            return RulesJudge()
        if name not in graders:
            raise ValueError(f"judge {name!r} needs a grader model")
        return GraderJudge(graders[name], config.prompt_set, config.max_attempts)

    if not config.is_panel:
        return one(config.model)
    return PanelJudge([one(name) for name in config.members], config.aggregate)


def role_graders(config: JudgeConfig) -> dict[str, Model]:
    """Inside an eval: each model judge through its model role (`grader`, `grader_<i>`), the
    configured model being the default when the role is not bound; credentials are redacted from
    their errors (see insider.redact)."""
    return {name: guard(get_model(role=role, default=name)) for role, name in config.roles().items()}


def named_graders(config: JudgeConfig) -> dict[str, Model]:
    """Outside an eval (`insider judge`, `validate-judge`): each model judge by name, with a
    one-line error for a name Inspect cannot use."""
    graders = {}
    for name in config.model_judges:
        try:
            graders[name] = guard(get_model(name))
        except Exception as exc:  # unknown provider, missing package or API key: one line for the user
            raise InsiderError(
                f"cannot use judge model {name!r}: {one_line(str(exc))}; use an Inspect model name or 'rules'"
            ) from None
    return graders


def check_scenarios(config: JudgeConfig, scenarios: Iterable[str]) -> None:
    """Refuse, before anything is judged, a prompt set that cannot judge one of `scenarios`
    (the study's prompts exist for its three acts only)."""
    if config.uses_model and config.prompt_set == "study":
        from insider.judges.study import classifier

        for scenario in sorted(set(scenarios)):
            classifier(scenario)
