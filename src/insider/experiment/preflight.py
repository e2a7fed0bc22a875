"""Checks before any model call: known providers, API keys, settings a provider can honour,
prompts that fit the context."""

from __future__ import annotations

from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import GenerateConfig, Model, get_model, get_model_info

from insider.errors import InsiderError, one_line
from insider.experiment.config import asks_for_reasoning
from insider.judges.config import JudgeConfig
from insider.judges.factory import check_scenarios


def check_model(model: str, where: str, require_key: bool = True, model_args: dict | None = None) -> Model | None:
    """Construct the model once, so a bad name or a missing key fails here, in one line.

    Returns the model, so later checks can ask its provider what it supports. With
    `require_key=False` (estimates) a missing API key is not an error: the model is built with
    a placeholder key instead (or not at all, None, when its SDK is missing too).
    """
    if "/" not in model:
        raise InsiderError(f"{where}: model {model!r} needs a provider prefix, e.g. openai/{model} or anthropic/{model}")
    try:
        return get_model(model, **(model_args or {}))
    except PrerequisiteError as exc:
        if not require_key:
            return _keyless_model(model, model_args)
        raise InsiderError(f"{where}: model {model}: {one_line(str(exc))}") from None
    except ValueError as exc:
        if "not recognized" in str(exc):
            provider = model.split("/", 1)[0]
            raise InsiderError(
                f"{where}: unknown model provider {provider!r} in {model!r}; use an Inspect provider "
                "such as anthropic/, openai/, google/, openrouter/, together/, vllm/, ollama/, openai-api/, insider-local/"
            ) from None
        raise InsiderError(f"{where}: model {model}: {exc}") from None


def check_judge(judge: JudgeConfig, scenarios: set[str], require_key: bool = True) -> None:
    """Every model judge is usable, and the study prompt set has a classifier for every scenario."""
    where = "judge.models" if judge.is_panel else "judge.model"
    for name in judge.model_judges:
        check_model(name, where, require_key)
    check_scenarios(judge, scenarios)


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


def _keyless_model(model: str, model_args: dict | None) -> Model | None:
    """The model built with a placeholder key, only to ask Inspect what it knows about it (an
    estimate needs no key); None when it cannot be built at all (e.g. its SDK is missing)."""
    try:
        return get_model(model, api_key="placeholder-for-preflight", memoize=False, **(model_args or {}))
    except Exception:  # noqa: BLE001 - any failure only means Inspect's knowledge is unavailable
        return None


def check_context(
    model: str, prompt_tokens: int, max_tokens: int, condition_id: str, reasoning_tokens: int = 0
) -> None:
    """Refuse a model whose known context window cannot hold the longest prompt plus its output:
    max_tokens, or the reasoning budget when that is larger (max_tokens unset)."""
    info = get_model_info(model)
    context = info.context_length if info else None
    output = max(max_tokens, reasoning_tokens)
    if context is not None and prompt_tokens + output > context:
        what = f"max_tokens is {max_tokens}" if output == max_tokens else f"its reasoning budget is {reasoning_tokens}"
        raise InsiderError(
            f"model {model}: the prompt of {condition_id} is ~{prompt_tokens} tokens and {what}, more than "
            f"its {context}-token context; lower max_tokens or pick a larger model (prompts are never truncated)"
        )


def check_local_context(model: str, model_args: dict | None, prompts: list, mode: str, max_tokens: int) -> None:
    """For in-process models (insider-local), count every prompt exactly with the model's own
    tokenizer and chat template, and refuse before any generation if one does not fit."""
    from insider.agent import sample_messages

    local = getattr(get_model(model, **(model_args or {})).api, "local", None)
    if local is None:
        return
    for prompt in prompts:
        messages = [{"role": m.role, "content": m.text} for m in sample_messages(prompt, mode)]
        tokens, _ = local.prompt_tokens(messages)
        try:
            local.check_fits(len(tokens), max_tokens)
        except InsiderError as exc:
            raise InsiderError(f"{prompt.condition_id}: {exc}") from None

