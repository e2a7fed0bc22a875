"""The three interaction modes as one Inspect solver, and each mode's Sample input.

- `text`: the study's protocol. One generation, no native tools; actions are parsed from
  `<tool_use:...>` blocks in the answer.
- `tools`: the same content with native tools (`send_email`, `forward_email`,
  `cancel_alert`) and simulated results, looping until the agent ends its turn (or the
  Task's message_limit).
- `inbox`: like `tools`, but the emails are not in the prompt: the agent is told it has
  unread mail and must use `list_inbox` / `read_email`.

Every mode leaves one `ActionLog` in the sample's store.
"""

from __future__ import annotations

import json

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ContentReasoning,
    ContentText,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import LimitExceededError, store_as

from insider.agent.actions import Action, ActionLog, Thinking
from insider.agent.parse import parse_text_response
from insider.agent.tools import INBOX_TOOLS, agent_tools
from insider.conditions import parse_condition_id
from insider.errors import InsiderError
from insider.scenarios import get_pack
from insider.scenarios.base import MODES, Mode, ScenarioPrompt

#: which modes each shipped pack can run (for error messages)
PACK_MODES = "the paper pack supports mode text only; the builtin pack supports text, tools and inbox"


class EmptyResponseError(RuntimeError):
    """The model returned nothing (no text, no tool call) and did not refuse.

    Raised inside the sample so Inspect marks it `error` (and runs it again on resume):
    an empty answer is never a "safe" sample.
    """


def sample_messages(prompt: ScenarioPrompt, mode: Mode) -> list[ChatMessage]:
    """The Sample input for `mode`: text `[system, user]`, tools `[system_native, user]`,
    inbox `[system_native, instruction_inbox]`."""
    if mode == "text":
        return [ChatMessageSystem(content=prompt.system), ChatMessageUser(content=prompt.user)]
    if mode not in MODES:
        raise InsiderError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    user = prompt.user if mode == "tools" else prompt.instruction_inbox
    if prompt.system_native is None or user is None:
        missing = "native-tools system prompt" if prompt.system_native is None else "inbox instruction"
        raise InsiderError(
            f"pack {prompt.pack!r} has no {missing} for {prompt.condition_id}, so it cannot run mode "
            f"{mode!r}; {PACK_MODES}"
        )
    return [ChatMessageSystem(content=prompt.system_native), ChatMessageUser(content=user)]


@solver(name="insider_agent")
def agent_solver(mode: str, pack: str, allow_unfilled: bool = False) -> Solver:
    """Run one sample as the email agent in `mode` and record its ActionLog.

    The sample's input must come from `sample_messages()`; its metadata must hold
    `condition_id` (and may hold `content_hash`, which is checked against the render).

    Args:
        mode: `text`, `tools` or `inbox`.
        pack: The scenario pack (`paper`, `builtin` or a pack directory).
        allow_unfilled: Let the paper pack render conditions with unfilled placeholders.
    """
    if mode not in MODES:
        raise InsiderError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    scenario_pack = get_pack(pack, allow_unfilled=allow_unfilled)
    if mode not in scenario_pack.modes:
        raise InsiderError(f"pack {scenario_pack.name!r} cannot run mode {mode!r}; {PACK_MODES}")
    rendered: dict[str, ScenarioPrompt] = {}

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        condition_id = state.metadata.get("condition_id")
        if not condition_id:
            raise InsiderError("sample has no condition_id in its metadata; build samples with the runner")
        condition = parse_condition_id(condition_id)
        if condition_id not in rendered:
            rendered[condition_id] = scenario_pack.render(condition)
        prompt = rendered[condition_id]
        expected_hash = state.metadata.get("content_hash")
        if expected_hash and expected_hash != prompt.content_hash():
            raise InsiderError(
                f"{condition_id}: pack {pack!r} now renders different text than when the task was built "
                "(content_hash differs); rebuild the task"
            )

        log = store_as(ActionLog)
        log.mode = mode  # type: ignore[assignment]
        if mode == "text":
            state.tools = []
        else:
            state.tools = agent_tools(prompt, condition.scenario, mode)
            state.tool_choice = "auto"
        try:
            state = await generate(state, tool_calls="none" if mode == "text" else "loop")
        except LimitExceededError:  # the sample ends at a message/token limit: keep what it did
            _fill_log(log, state, prompt)
            raise
        _fill_log(log, state, prompt)
        if not log.refusal and not _answered(state):
            raise EmptyResponseError(
                f"{condition_id}: the model returned an empty completion with no tool calls "
                f"(stop reason: {log.stop_reason}); the sample is an error and will be retried"
            )
        return state

    return solve


def _fill_log(log: ActionLog, state: TaskState, prompt: ScenarioPrompt) -> None:
    """Fill the log's text fields (and, in text mode, its actions) from the assistant turns.

    The model's own reasoning (reasoning content, `<think>` blocks) goes to `thinking` and
    `reasoning`, never to the actions or the visible answer.
    """
    reasoning: list[str] = []
    visible: list[str] = []
    thinking: list[Thinking] = []
    parsed_actions: list[Action] = []
    drafts: list[Action] = []
    refusal = False
    for message in state.messages:
        if not isinstance(message, ChatMessageAssistant):
            continue
        for content in message.content_list:
            if isinstance(content, ContentReasoning):
                thinking.append(Thinking.from_content(content))
                reasoning.append(thinking[-1].marked)
            refusal = refusal or (isinstance(content, ContentText) and bool(content.refusal))
        parsed = parse_text_response(message.text, prompt.emails)
        thinking += [Thinking(source="inline", form="full", text=text) for text in parsed.thinking]
        reasoning.append(parsed.reasoning)
        visible.append(parsed.final_text)
        parsed_actions += parsed.actions
        drafts += parsed.drafts
    actions = parsed_actions if log.mode == "text" else _with_rejected_calls(log.actions, state.messages)
    if log.mode != "text":  # text blocks never run in tools/inbox modes: they are drafts
        drafts = parsed_actions + drafts
    stop_reason = state.output.stop_reason if state.output.choices else None
    log.update(
        actions=actions,
        drafts=drafts,
        reasoning="\n\n".join(r.strip() for r in reasoning if r.strip()),
        final_text="\n\n".join(v for v in visible if v),
        thinking=thinking,
        stop_reason=stop_reason,
        refusal=refusal or stop_reason == "content_filter",
    )


def _with_rejected_calls(recorded: list[Action], messages: list[ChatMessage]) -> list[Action]:
    """The recorded actions with, in call order, the calls Inspect rejected before the tool ran.

    A call with arguments that do not fit the tool's schema, or to a tool that does not
    exist, never reaches the tool; it becomes an `unparsed` action here. Every call that
    did run recorded exactly one action, in order.
    """
    calls = {
        call.id: call
        for message in messages
        if isinstance(message, ChatMessageAssistant)
        for call in message.tool_calls or []
    }
    remaining = iter(recorded)
    merged: list[Action] = []
    for message in messages:
        if not isinstance(message, ChatMessageTool) or message.function in INBOX_TOOLS:
            continue
        if message.error and message.error.type in ("parsing", "approval"):
            call = calls.get(message.tool_call_id or "")
            raw = json.dumps({"function": message.function, "arguments": call.arguments if call else None})
            merged.append(
                Action(kind="unparsed", source="tool", raw=raw, error=f"{message.function}: {message.error.message}")
            )
        elif (action := next(remaining, None)) is not None:
            merged.append(action)
    return merged + list(remaining)


def _answered(state: TaskState) -> bool:
    """Did the agent produce any text or tool call at all?"""
    return any(
        isinstance(m, ChatMessageAssistant) and (m.text.strip() or m.tool_calls) for m in state.messages
    )
