"""Judge validation: run a judge over hand-labelled text-mode responses and measure agreement."""

from __future__ import annotations

import asyncio
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from statsmodels.stats.inter_rater import cohens_kappa

from insider.conditions import parse_condition_id
from insider.errors import InsiderError
from insider.inputs import load_json, read_text
from insider.judges.base import Judge
from insider.judges.config import JudgeConfig
from insider.judges.factory import check_scenarios, make_judge, named_graders
from insider.judges.pipeline import judge_response
from insider.kinds import kind_names
from insider.judges.verdict import Verdict
from insider.scenarios import PACK_NAMES
from insider.scenarios.base import ScenarioPrompt


class LabelledCase(BaseModel):
    """One line of a labels file (types are strict: `label` is a JSON true or false, not "yes" or 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scenario: str
    response: str
    label: bool
    id: str | None = None
    #: the condition whose emails the response answers; default `<scenario>_explicit-america_replacement`
    condition_id: str | None = None
    #: the pack that renders `condition_id` (`paper`, `builtin` or a pack directory); default `paper`
    pack: str | None = None


class Disagreement(BaseModel):
    id: str
    scenario: str
    label: bool
    #: the verdict under the chosen policy; None = unscored
    predicted: bool | None
    #: the judge's own yes/no (before the policy's gates); None = not asked or no answer
    judge_verdict: bool | None
    #: the gates that fired
    gates: list[str]
    reasoning: str


class ValidationReport(BaseModel):
    """Agreement of a judge with the labels (unscored cases are excluded from n and listed)."""

    judge: str
    policy: str
    #: the prompt set the model judges were asked with (None: rules judge only)
    prompts: str | None = None
    n: int
    unscored: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    kappa: float | None
    #: counts, with harmful as the positive class
    confusion: dict[str, int]
    disagreements: list[Disagreement]


def load_labels(path: str | Path) -> list[LabelledCase]:
    """Read a labels JSONL file; one clear error for the first bad line."""
    path = Path(path)
    if not path.exists():
        raise InsiderError(f"labels file {path} not found; expected JSON lines with scenario, response, label")
    cases = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_text(path, f"labels file {path}").splitlines(), start=1):
        if not line.strip():
            continue
        data = load_json(line, f"{path}:{number}")
        try:
            case = LabelledCase.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(line)"
            raise InsiderError(
                f"{path}:{number}: {where}: {first['msg']}; each line is a JSON object with scenario, response (strings) "
                "and label (true or false)"
            ) from None
        if case.scenario not in kind_names():
            raise InsiderError(f"{path}:{number}: unknown scenario {case.scenario!r}; expected one of {', '.join(kind_names())}")
        case_id = case.id or f"line-{number}"
        if case_id in first_line:
            raise InsiderError(f"{path}:{number}: id {case_id!r} is also the id of line {first_line[case_id]}; give every case its own id")
        first_line[case_id] = number
        pack = case.pack or "paper"
        if pack not in PACK_NAMES and not Path(pack).is_absolute():
            pack = str(path.parent / pack)  # a pack directory named relative to the labels file
        case = case.model_copy(update={"id": case_id, "pack": pack})
        try:
            rendering(condition_for(case), pack)
        except InsiderError as exc:
            raise InsiderError(f"{path}:{number}: {exc}") from None
        cases.append(case)
    if not cases:
        raise InsiderError(f"{path} holds no labelled cases")
    return cases


@lru_cache(maxsize=64)
def rendering(condition_id: str, pack: str = "paper") -> ScenarioPrompt:
    """A pack's rendering of a condition: the emails and facts a run of it would be judged with."""
    from insider.scenarios import get_pack

    return get_pack(pack, allow_unfilled=True).render(parse_condition_id(condition_id))


def condition_for(case: LabelledCase) -> str:
    condition_id = case.condition_id or f"{case.scenario}_explicit-america_replacement"
    if parse_condition_id(condition_id).scenario != case.scenario:
        raise InsiderError(f"case {case.id}: condition {condition_id} is not a {case.scenario} condition")
    return condition_id


async def judge_cases(cases: list[LabelledCase], config: JudgeConfig, judge: Judge | None = None) -> list[Verdict]:
    """Judge every case as a run of its condition would be (concurrently; the graders' own
    connection limits apply). `judge` defaults to the one `config` names."""
    judge = judge or make_judge(config, named_graders(config))

    async def one(case: LabelledCase) -> Verdict:
        rendered = rendering(condition_for(case), case.pack or "paper")
        return await judge_response(
            case.response, case.scenario, rendered.facts, rendered.emails, rendered.email_block, judge, config
        )

    return list(await asyncio.gather(*(one(case) for case in cases)))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def agreement(cases: list[LabelledCase], verdicts: list[Verdict], judge: JudgeConfig, judge_label: str) -> ValidationReport:
    """n, accuracy, precision, recall, Cohen's kappa, confusion and disagreements."""
    confusion = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    disagreements = []
    unscored = 0
    for case, verdict in zip(cases, verdicts, strict=True):
        predicted = verdict.harmful_strict if judge.policy == "strict" else verdict.harmful_paper
        if predicted is None:
            unscored += 1
        else:
            key = ("t" if predicted == case.label else "f") + ("p" if predicted else "n")
            confusion[key] += 1
        if predicted != case.label:
            disagreements.append(
                Disagreement(
                    id=case.id or "",
                    scenario=case.scenario,
                    label=case.label,
                    predicted=predicted,
                    judge_verdict=verdict.judge.verdict,
                    gates=[name for name, fired in verdict.gates.items() if fired],
                    reasoning=verdict.judge.error or verdict.judge.reasoning,
                )
            )
    tp, fp, fn, tn = confusion["tp"], confusion["fp"], confusion["fn"], confusion["tn"]
    n = tp + fp + fn + tn
    kappa: float | None = None
    if n:
        with np.errstate(invalid="ignore", divide="ignore"):  # one class only: kappa is undefined
            value = float(cohens_kappa([[tp, fn], [fp, tn]], return_results=False))
        kappa = None if math.isnan(value) else value
    return ValidationReport(
        judge=judge_label,
        policy=judge.policy,
        prompts=judge.prompt_set if judge.uses_model else None,
        n=n,
        unscored=unscored,
        accuracy=_ratio(tp + tn, n),
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        kappa=kappa,
        confusion=confusion,
        disagreements=disagreements,
    )


async def validate_judge(path: str | Path, config: JudgeConfig, judge: Judge | None = None) -> ValidationReport:
    """Judge every labelled response in `path` and measure agreement with the labels."""
    cases = load_labels(path)
    check_scenarios(config, {case.scenario for case in cases})
    judge = judge or make_judge(config, named_graders(config))
    verdicts = await judge_cases(cases, config, judge)
    return agreement(cases, verdicts, config, judge.name)



def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_report(report: ValidationReport) -> str:
    """The text `insider validate-judge` prints."""
    c = report.confusion
    lines = [
        f"judge {report.judge}, policy {report.policy}{f', prompts {report.prompts}' if report.prompts else ''}: "
        f"n={report.n} (unscored: {report.unscored})",
        f"accuracy  {_figure(report.accuracy)}",
        f"precision {_figure(report.precision)}",
        f"recall    {_figure(report.recall)}",
        f"kappa     {_figure(report.kappa)}",
        "",
        "                 judged harmful  judged safe",
        f"label harmful    {c['tp']:>14}  {c['fn']:>11}",
        f"label safe       {c['fp']:>14}  {c['tn']:>11}",
        "",
        f"disagreements ({len(report.disagreements)}):",
    ]
    for d in report.disagreements:
        judged = {True: "harmful", False: "safe", None: "unscored"}[d.predicted]
        label = "harmful" if d.label else "safe"
        said = {True: "yes", False: "no", None: "none"}[d.judge_verdict]
        lines.append(
            f"  {d.id} [{d.scenario}] label {label}, judged {judged} "
            f"(judge said {said}; gates fired: {', '.join(d.gates) or 'none'}): {' '.join(d.reasoning.split())[:140]}"
        )
    return "\n".join(lines) + "\n"
