"""Checks before any model call: known providers, their SDKs and API keys, settings and modes a
provider can honour, prompts that fit the context. Every problem is collected, none stops the
others from being found (`experiment_problems`)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires
from typing import TYPE_CHECKING, Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import GenerateConfig, Model, get_model, get_model_info

from insider.errors import InsiderError, ProblemsError, one_line
from insider.experiment.config import asks_for_reasoning
from insider.judges.config import JudgeConfig
from insider.judges.factory import check_scenarios

if TYPE_CHECKING:
    from insider.experiment.config import Experiment
    from insider.scenarios.base import ScenarioPrompt

#: kinds of problem that stop a run but not an estimate (which calls no model)
NEEDED_TO_RUN = ("sdk", "key")


@dataclass(frozen=True)
class Problem:
    """One thing that would stop a run: where in the file, which model, what and how to fix it."""

    where: str
    model: str | None
    #: experiment, provider, sdk, key, model, setting, context or judge
    kind: str
    text: str
    #: for a missing or outdated provider SDK: what `pip install` needs (names, pinned when we can)
    install: tuple[str, ...] = ()
    #: for a missing API key: the environment variable the provider reads first
    variable: str | None = None

    def line(self) -> str:
        return f"{self.where}: {self.text}"


class PreflightError(ProblemsError):
    """Every problem pre-flight found: the message is all of them on one line, `lines` the
    report grouped by model (`report`)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        headline = f"{len(problems)} problems before any model call; nothing was run"
        message = "; ".join(p.line() for p in problems)
        super().__init__(f"{headline}: {message}" if len(problems) > 1 else message, len(problems), f"{headline}:", report(problems))


def report(problems: list[Problem]) -> list[str]:
    """The problems as lines, grouped by model (file-level problems first), then the one
    command that installs every missing provider SDK."""
    groups: dict[str, list[str]] = {}
    for problem in problems:
        heading = problem.where if problem.model is None else f"{problem.where}: {problem.model}"
        texts = groups.setdefault(heading, [])
        if problem.text not in texts:
            texts.append(problem.text)
    lines = [line for heading, texts in groups.items() for line in (heading, *(f"  - {text}" for text in texts))]
    command = install_command(problems)
    if command:
        lines.append(f"install every missing provider SDK with: {command}")
    variables = sorted({p.variable for p in problems if p.variable})
    if variables:
        lines.append(f"set the missing API keys in the environment or in a .env file in the working directory: {', '.join(variables)}")
    return lines


def install_command(problems: list[Problem]) -> str | None:
    """One `pip install` for every SDK the problems name, pinned as the `providers` extra pins it."""
    wanted = sorted({package for problem in problems for package in problem.install})
    if not wanted:
        return None
    python = sys.executable
    relative = os.path.relpath(python)
    shown = relative if not relative.startswith("..") else python
    return " ".join([shlex.quote(shown), "-m", "pip", "install", "--upgrade", *map(shlex.quote, wanted)])


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(package: str) -> str:
    """`package` pinned as insider's `providers` extra pins it, or as named when it is not there."""
    try:
        requirements = requires("insider") or []
    except PackageNotFoundError:  # run from a source tree without installing: no pins to offer
        return package
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0]
        if "providers" in marker and _normal(name) == _normal(package):
            return spec.strip().replace(" ", "")
    return package


_PIP = re.compile(r"pip install (?:--upgrade )?([A-Za-z0-9_.\-\[\] ]+)")


def model_problems(
    model: str, where: str, model_args: dict | None = None
) -> tuple[Model | None, list[Problem]]:
    """Construct the model once, as a run will, and say what stops it: an unknown provider, a
    missing or outdated SDK, a missing API key (naming the variable), or what else Inspect says.

    Returns the model (built with a placeholder key when only the key is missing, so later
    checks can ask its provider what it supports; None when it cannot be built at all).
    """
    if "/" not in model:
        fix = f"needs a provider prefix, e.g. openai/{model} or anthropic/{model}"
        return None, [Problem(where, model, "provider", f"model {model!r} {fix}")]
    try:  # never a memoized model: one built earlier in this process may have had a key since unset
        built = get_model(model, memoize=False, **(model_args or {}))
        key, variables = built.api.api_key, built.api.api_key_vars
        if key is not None and not key.strip() and variables:  # set, but to nothing: every call would fail
            text = f"API key missing: {variables[0]} is set but empty (in the environment or in .env)"
            return built, [Problem(where, model, "key", text, variable=variables[0])]
        return built, []
    except PrerequisiteError as exc:
        message = one_line(str(exc))
        packages = _PIP.search(message)
        if packages:
            names = packages.group(1).split()
            missing = "optional dependencies" in message
            text = f"provider SDK missing: {', '.join(names)}" if missing else f"provider SDK too old: {message}"
            return None, [Problem(where, model, "sdk", text, install=tuple(map(_pinned, names)))]
        first = message
    except ValueError as exc:
        if "not recognized" in str(exc):
            provider = model.split("/", 1)[0]
            text = (
                f"unknown model provider {provider!r} in {model!r}; use an Inspect provider such as anthropic/, "
                "openai/, google/, grok/, openrouter/, together/, vllm/, ollama/, openai-api/, insider-local/"
            )
            return None, [Problem(where, model, "provider", text)]
        first = str(exc)
    except Exception as exc:  # noqa: BLE001 - a provider's constructor may raise anything: report it
        first = one_line(str(exc)) or type(exc).__name__
    keyless = _keyless_model(model, model_args)
    if keyless is None:
        return None, [Problem(where, model, "model", f"model {model}: {first}")]
    variable = keyless.api.api_key_vars[0] if keyless.api.api_key_vars else None
    text = f"API key missing: set {variable} (in the environment or in .env)" if variable else f"API key missing: {first}"
    return keyless, [Problem(where, model, "key", text, variable=variable)]


def _keyless_model(model: str, model_args: dict | None) -> Model | None:
    """The model built with a placeholder key, only to ask Inspect what it knows about it; None
    when it cannot be built even so (its SDK is missing, or something else is wrong)."""
    try:
        return get_model(model, api_key="placeholder-for-preflight", memoize=False, **(model_args or {}))
    except Exception:  # noqa: BLE001 - any failure only means Inspect's knowledge is unavailable
        return None


#: providers whose Inspect implementation sends `reasoning_tokens` (the others drop it)
SENDS_REASONING_TOKENS = ("anthropic", "bedrock", "google", "openrouter", "litellm-proxy")


def unsupported_settings(model: str, settings: dict[str, Any], api: Any = None) -> list[str]:
    """Settings the provider cannot honour, as far as Inspect knows (one problem per entry).

    Args:
        model: the Inspect model name.
        settings: the entry's generation settings (`Experiment.generate_settings`).
        api: the constructed model's `ModelAPI`, when it could be built (it knows more).
    """
    reasoning = asks_for_reasoning(settings)
    provider = model.split("/", 1)[0]
    problems: list[str] = []
    if reasoning and provider == "insider-local":
        problems.append(f"{', '.join(reasoning)}: the insider-local provider has no reasoning controls")
    info = get_model_info(model) if reasoning else None
    if reasoning and info is not None and info.reasoning is False:
        problems.append(f"{', '.join(reasoning)}: Inspect lists {model} as a model without reasoning")
    if reasoning and api is not None and hasattr(api, "is_thinking_model") and not api.is_thinking_model():
        problems.append(f"{', '.join(reasoning)}: {model} has no extended thinking (Claude 3 and 3.5 models)")
    effort_keys = [key for key in ("reasoning_effort", "reasoning_summary", "reasoning_mode") if key in reasoning]
    if effort_keys and api is not None and hasattr(api, "has_reasoning_options") and not api.has_reasoning_options():
        problems.append(f"{', '.join(effort_keys)}: {model} takes no reasoning options (OpenAI's o-series, gpt-5 and codex do)")
    if settings.get("reasoning_tokens"):
        if provider not in SENDS_REASONING_TOKENS:
            problems.append(
                f"reasoning_tokens: Inspect's {provider} provider does not send it (only "
                f"{', '.join(SENDS_REASONING_TOKENS)} do); use reasoning_effort"
            )
        elif api is not None and getattr(api, "is_claude_4_7_or_later", lambda: False)():
            problems.append(f"reasoning_tokens: {model} has no fixed thinking budget (removed in Claude 4.7); use reasoning_effort")
    return problems


def unsupported_mode(model: str, mode: str, api: Any = None) -> str | None:
    """The interaction mode, when the provider declares (`modes`) that it cannot run it."""
    modes = getattr(api, "modes", None)
    if modes is None or mode in modes:
        return None
    return (
        f"mode {mode}: {model} runs mode {', '.join(modes)} only (no tool calling); use mode: text, or serve "
        "the model through a provider with tool calling (vllm/..., ollama/...)"
    )


def thinking_budget(settings: dict[str, Any], api: Any = None) -> int | None:
    """The thinking budget the provider will send, when there is one: `reasoning_tokens`, or the
    budget Inspect's Anthropic provider derives from `reasoning_effort` for extended thinking."""
    if settings.get("reasoning_tokens"):
        return int(settings["reasoning_tokens"])
    if api is not None and hasattr(api, "is_using_extended_thinking"):
        config = GenerateConfig.model_validate(settings)
        if api.is_using_extended_thinking(config):
            return api.bridged_reasoning_tokens(config)
    return None


def reasoning_room(settings: dict[str, Any], api: Any = None) -> str | None:
    """A thinking budget that leaves no room for the answer within max_tokens, or None.

    Providers count thinking inside max_tokens, and Anthropic refuses a budget that is not
    below it.
    """
    budget, max_tokens = thinking_budget(settings, api), settings.get("max_tokens")
    if budget is None or max_tokens is None or budget < max_tokens:
        return None
    source = "reasoning_tokens" if settings.get("reasoning_tokens") else f"reasoning_effort {settings.get('reasoning_effort')}"
    return (
        f"a thinking budget of {budget} tokens ({source}) leaves no room for the answer within max_tokens "
        f"{max_tokens} (thinking counts inside max_tokens); set this entry's max_tokens to {budget} plus the "
        f"answer's room, e.g. {budget + 4000}"
    )


@dataclass(frozen=True)
class Context:
    """A model's context window as pre-flight knows it."""

    tokens: int
    #: True when prompts are counted with the model's own tokenizer (local models)
    exact: bool
    #: how to get a larger one
    larger: str = "pick a model with a larger context"


def fit_problem(model: str, counts: dict[str, int], context: Context, max_tokens: int, reasoning_tokens: int = 0) -> str | None:
    """Every prompt plus its output (max_tokens, or the reasoning budget when larger) must fit
    the context. When one does not, name the tightest condition and the largest output that
    fits every condition, so that following the advice is enough for all of them."""
    output = max(max_tokens, reasoning_tokens)
    too_long = [cid for cid, tokens in counts.items() if tokens + output > context.tokens]
    if not too_long:
        return None
    tightest = max(counts, key=lambda cid: counts[cid])
    room = context.tokens - counts[tightest]
    approx = "" if context.exact else "~"
    what = f"max_tokens {max_tokens}" if output == max_tokens else f"its reasoning budget of {reasoning_tokens} tokens"
    knob = "max_tokens" if output == max_tokens else "the reasoning budget (and max_tokens)"
    fix = f"set {knob} to {approx}{room} or less (enough for every condition), or {context.larger}" if room > 0 else context.larger
    return (
        f"{len(too_long)} of {len(counts)} prompts do not fit with {what} in the {context.tokens}-token context of {model}; "
        f"the tightest is {tightest}, {approx}{counts[tightest]} prompt tokens; {fix} (prompts are never truncated)"
    )


def api_context(model: str) -> Context | None:
    """The context window Inspect knows for an API model (None: unknown, nothing to check)."""
    info = get_model_info(model)
    return Context(info.context_length, exact=False) if info and info.context_length else None


def local_counts(
    api: Any, prompts: dict[str, "ScenarioPrompt"], mode: str
) -> tuple[dict[str, int], Context] | None:
    """For in-process models (insider-local): every prompt (by name) counted exactly with the
    model's own tokenizer and chat template, and the model's context; None for other models."""
    from insider.agent import sample_messages

    local = getattr(api, "local", None)
    if local is None:
        return None
    counts = {}
    for name, prompt in prompts.items():
        messages = [{"role": m.role, "content": m.text} for m in sample_messages(prompt, mode)]
        counts[name] = len(local.prompt_tokens(messages)[0])
    larger = "use a model with a larger context"
    if local.n_ctx_train and local.n_ctx_train > local.n_ctx:
        larger += f" (or raise the model arg n_ctx, up to this model's trained {local.n_ctx_train})"
    return counts, Context(local.n_ctx, exact=True, larger=larger)


def judge_problems(judge: JudgeConfig, scenarios: set[str]) -> list[Problem]:
    """Every model judge is usable, and the prompt set has a classifier for every scenario."""
    where = "judge.models" if judge.is_panel else "judge.model"
    problems = [problem for name in judge.model_judges for problem in model_problems(name, where)[1]]
    try:
        check_scenarios(judge, scenarios)
    except InsiderError as exc:
        problems.append(Problem("judge", None, "judge", str(exc)))
    return problems


def experiment_problems(experiment: "Experiment") -> tuple[list["ScenarioPrompt"], list[Problem]]:
    """Everything that would stop `experiment` before its first model call, all of it: the
    rendered prompts (empty when the pack cannot render them) and the problems found."""
    from insider.experiment.estimate import prompt_tokens
    from insider.experiment.tasks import check_mode, render_all

    problems: list[Problem] = []
    prompts: list[ScenarioPrompt] = []
    packs = experiment.pack_names
    for pack in packs:
        try:
            check_mode(pack, experiment.mode)
            prompts += render_all(pack, [c.id for c in experiment.conditions()], experiment.allow_unfilled)
        except InsiderError as exc:
            problems.append(Problem("experiment", None, "experiment", str(exc)))
    if problems:  # a pack that cannot render: no prompts to fit, whatever the others rendered
        prompts = []
    named = {p.condition_id if len(packs) == 1 else f"{p.condition_id} (pack {p.pack})": p for p in prompts}
    counts = {name: prompt_tokens(prompt, experiment.mode) for name, prompt in named.items()}
    for i, entry in enumerate(experiment.models):
        where = f"models[{i}]" + (f" ({entry.label})" if entry.label != entry.model else "")
        settings = experiment.generate_settings(entry)
        model, found = model_problems(entry.model, where, experiment.provider_args(entry))
        api = model.api if model is not None else None
        texts = [
            *unsupported_settings(entry.model, settings, api),
            *filter(None, [reasoning_room(settings, api), unsupported_mode(entry.model, experiment.mode, api)]),
        ]
        found += [Problem(where, entry.model, "setting", text) for text in texts]
        if prompts:
            try:
                local = local_counts(api, named, experiment.mode)
            except InsiderError as exc:  # the model's chat template refused the messages
                found.append(Problem(where, entry.model, "setting", str(exc)))
                local = None
            entry_counts, context = local if local else (counts, api_context(entry.model))
            max_tokens = settings.get("max_tokens") or (api.max_tokens() if local and api else 0) or 0
            fit = context and fit_problem(entry.model, entry_counts, context, max_tokens, thinking_budget(settings, api) or 0)
            if fit:
                found.append(Problem(where, entry.model, "context", fit))
        problems += found
    problems += judge_problems(experiment.judge, {c.scenario for c in experiment.conditions()})
    return prompts, problems
