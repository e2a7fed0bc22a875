"""Checks before any model call: known providers, API keys, prompts that fit the context."""

from __future__ import annotations

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import get_model, get_model_info

from insider.errors import InsiderError, one_line
from insider.judges.config import RULES, JudgeConfig
from insider.judges.factory import check_scenarios


def check_model(model: str, where: str, require_key: bool = True, model_args: dict | None = None) -> None:
    """Construct the model once, so a bad name or a missing key fails here, in one line.

    With `require_key=False` (estimates) a missing API key or SDK is not an error.
    """
    if "/" not in model:
        raise InsiderError(f"{where}: model {model!r} needs a provider prefix, e.g. openai/{model} or anthropic/{model}")
    try:
        get_model(model, **(model_args or {}))
    except PrerequisiteError as exc:
        if not require_key:
            return
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
    for name in judge.members:
        if name != RULES:
            check_model(name, where, require_key)
    check_scenarios(judge, scenarios)


def check_context(model: str, prompt_tokens: int, max_tokens: int, condition_id: str) -> None:
    """Refuse a model whose known context window cannot hold the longest prompt plus max_tokens."""
    info = get_model_info(model)
    context = info.context_length if info else None
    if context is not None and prompt_tokens + max_tokens > context:
        raise InsiderError(
            f"model {model}: the prompt of {condition_id} is ~{prompt_tokens} tokens and max_tokens is "
            f"{max_tokens}, more than its {context}-token context; lower max_tokens or pick a larger model "
            "(prompts are never truncated)"
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

