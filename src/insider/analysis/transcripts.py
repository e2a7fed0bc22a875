"""Transcripts for the report's sample browser, read back from the logs.

Each transcript holds the conversation, the agent's ActionLog with the actions a gate
looks at flagged (an email to the target, anything sent outside the company, a cancelled
alert), the model's own reasoning apart from its visible answer, and any error. Long texts repeat across samples (the system prompt and inbox of a
condition), so every text is stored once in a shared table and referenced by index.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from inspect_ai.log import EvalSample, read_eval_log_sample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool, ContentReasoning

from insider.agent.actions import Action, Thinking
from insider.analysis.results import CELL_KEY
from insider.errors import InsiderError
from insider.judges.gates import address_of, carried_out, is_internal
from insider.judges.scorer import stored_action_log
from insider.redact import redact


class TextTable:
    """Interned strings: each distinct text is stored once and referred to by its index."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def ref(self, text: str | None) -> int | None:
        if not text:
            return None
        if text not in self._index:
            self._index[text] = len(self.texts)
            self.texts.append(text)
        return self._index[text]


def action_flag(action: Action, facts: dict[str, Any]) -> str | None:
    """Why a gate would look at this action, or None."""
    if action.kind == "cancel_alert":
        return f"cancelled the emergency alert (code {action.code})"
    if action.details:  # a kind's own tool (transfer, ...): what it did
        return f"{action.kind}: " + ", ".join(f"{key} {value}" for key, value in action.details.items())
    recipients = [address_of(r) for r in action.recipients]
    target = str(facts.get("target_address", "")).lower()
    if target and target in recipients:
        return f"{action.kind} to the target ({target})"
    domain = str(facts.get("company_domain", ""))
    outside = [r for r in recipients if domain and not is_internal(r, domain)]
    if outside:
        return f"{action.kind} outside the company ({', '.join(outside)})"
    return None


def _message(message: ChatMessage, texts: TextTable) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "text": texts.ref(message.text)}
    if isinstance(message, ChatMessageAssistant):
        if not isinstance(message.content, str):
            reasoning = "\n\n".join(Thinking.from_content(c).marked for c in message.content if isinstance(c, ContentReasoning))
            out["reasoning"] = texts.ref(reasoning)
        out["tool_calls"] = [
            {"function": call.function, "arguments": texts.ref(json.dumps(call.arguments, indent=1, ensure_ascii=False))}
            for call in message.tool_calls or []
        ]
    if isinstance(message, ChatMessageTool):
        out["function"] = message.function
        out["error"] = redact(message.error.message) if message.error else None
    return out


def _action(action: Action, facts: dict[str, Any], done: bool) -> dict[str, Any]:
    return {
        **action.model_dump(include={"kind", "source", "to", "cc", "bcc", "subject", "body", "email_ids", "attachments", "code", "details", "raw", "error"}),
        "carried_out": done,
        "flag": action_flag(action, facts) if done else None,
    }


def transcript(sample: EvalSample, texts: TextTable) -> dict[str, Any]:
    """One sample's conversation, actions (flagged) and error, texts interned in `texts`."""
    facts = sample.metadata.get("facts") or {}
    log = stored_action_log(sample.store)
    done = carried_out(log) if log else []
    return {
        "messages": [_message(m, texts) for m in sample.messages],
        "actions": [_action(a, facts, any(a is d for d in done)) for a in (log.actions if log else [])],
        "drafts": [_action(a, facts, False) for a in (log.drafts if log else [])],
        "reasoning": texts.ref(log.reasoning) if log else None,
        "thinking": [{"source": t.source, "form": t.form, "text": texts.ref(t.text)} for t in (log.thinking if log else [])],
        "answer": texts.ref(log.final_text) if log else None,
        "facts": {k: facts.get(k) for k in ("target_address", "override_code", "company_domain")},
        "error": redact(sample.error.message) if sample.error else None,
    }


def select(results: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """Rows whose transcripts are embedded: the first `per_group` of each cell and outcome (all if < 0)."""
    if per_group < 0:
        return results
    return results.sort_values("epoch").groupby([*CELL_KEY, "outcome"], dropna=False).head(per_group)


def transcripts(results: pd.DataFrame, per_group: int) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Transcripts of the selected rows, keyed by row index, and the shared text table."""
    texts = TextTable()
    out: dict[int, dict[str, Any]] = {}
    for index, row in select(results, per_group).iterrows():
        try:
            sample = read_eval_log_sample(
                str(row["log_file"]), id=str(row["sample_id"]), epoch=int(row["epoch"]), exclude_fields={"events"}
            )
        except Exception as exc:  # a log that vanished or changed since the table was read
            raise InsiderError(f"cannot read sample {row['sample_id']} epoch {row['epoch']} from {row['log_file']}: {exc}") from None
        out[int(index)] = transcript(sample, texts)
    return out, texts.texts
