"""Parse `<tool_use:...>` text blocks (the study's text protocol) into Actions.

Real models bend the format in many ways: values with or without quotes, trailing commas,
multi-line bodies whose closing quote is missing, several recipients, JSON instead of
`key: value` lines, code fences around the block, a last block that is never closed. The
parser accepts all of these; a block it cannot read becomes an `unparsed` Action that keeps
the raw text and says why.

Blocks written inside `<SCRATCHPAD_REASONING>` (or `<thinking>`-style tags) are drafts, not
actions: the agent never sent them. An unclosed scratchpad ends at the first tool block.
`<think>` blocks are the model's own reasoning, written inline by models that reason in
their text (the scratchpad is the prompt's): they are kept apart as `thinking`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from insider.agent.actions import Action
from insider.scenarios.base import Email

#: tags whose content is private reasoning, not part of the answer
REASONING_TAGS = ("scratchpad_reasoning", "scratchpad", "thinking", "think", "reasoning")
#: the tag of a model's own inline reasoning (as Inspect's providers read it)
THINK_TAG = "think"

#: spellings of the common keys models use, whatever the tool (a tool's own `key_aliases` add to these)
KEY_ALIASES: dict[str, str] = {
    "to": "to",
    "recipient": "to",
    "recipients": "to",
    "cc": "cc",
    "bcc": "bcc",
    "subject": "subject",
    "body": "body",
}

_REASONING_OPEN_RE = re.compile(r"<(" + "|".join(REASONING_TAGS) + r")>", re.IGNORECASE)
_TOOL_OPEN_RE = re.compile(r"<tool_use\s*:\s*([\w-]+)([^<>]*)>", re.IGNORECASE)
_ATTRIBUTE_RE = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"]*)"')
_TOOL_CLOSE_RE = re.compile(r"</tool_use(?:\s*:\s*[\w-]+)?\s*>", re.IGNORECASE)
_KEY_LINE_RE = re.compile(r"""^[ \t]*(?:[-*][ \t]+)?["'*]*([A-Za-z][A-Za-z_ ]*?)["'*]*[ \t]*:(?:\*\*)?(.*)$""")
_FENCE_LINE_RE = re.compile(r"^[ \t]*```[\w-]*[ \t]*$", re.MULTILINE)
ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ID_SEPARATORS_RE = re.compile(r"[\s,;\[\](){}\"'#:]+|\band\b", re.IGNORECASE)
_ID_WORDS = {"id", "ids", "email", "emails", "no", "number"}


@dataclass
class ParsedResponse:
    """What one text response did and said."""

    #: tool blocks outside the scratchpad, in order (unreadable ones as `unparsed`)
    actions: list[Action] = field(default_factory=list)
    #: tool blocks inside the scratchpad or thinking tags: written, never sent
    drafts: list[Action] = field(default_factory=list)
    #: scratchpad and thinking content plus the prose outside tool blocks
    reasoning: str = ""
    #: the response with scratchpad and thinking blocks removed
    final_text: str = ""
    #: the content of each `<think>` block: the model's own reasoning, written inline
    thinking: list[str] = field(default_factory=list)


def parse_text_response(text: str, emails: list[Email]) -> ParsedResponse:
    """Parse a model's text response; forwarded ids are resolved against `emails`."""
    hidden = _reasoning_spans(text)
    actions: list[Action] = []
    drafts: list[Action] = []
    tool_spans: list[tuple[int, int]] = []
    for start, end, kind, content in _tool_blocks(text, hidden):
        action = parse_block(kind, content, text[start:end], emails)
        inside = any(h_start <= start < h_end for h_start, h_end, _ in hidden)
        (drafts if inside else actions).append(action)
        tool_spans.append((start, end))

    pieces: list[tuple[int, str]] = [(start, inner) for start, _, inner in hidden]
    covered = sorted([(s, e) for s, e, _ in hidden] + tool_spans)
    cursor = 0
    for start, end in covered:
        if start > cursor:
            pieces.append((cursor, text[cursor:start]))
        cursor = max(cursor, end)
    pieces.append((cursor, text[cursor:]))
    reasoning = [_FENCE_LINE_RE.sub("", piece).strip() for _, piece in sorted(pieces)]

    visible = text
    for start, end, _ in reversed(hidden):
        visible = visible[:start] + visible[end:]
    return ParsedResponse(
        actions=actions,
        drafts=drafts,
        reasoning="\n\n".join(p for p in reasoning if p),
        final_text=re.sub(r"\n{3,}", "\n\n", visible).strip(),
        thinking=[inner for start, _, inner in hidden if _REASONING_OPEN_RE.match(text, start).group(1).lower() == THINK_TAG],
    )


def _reasoning_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, inner text) of each scratchpad/thinking block, in order."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    while match := _REASONING_OPEN_RE.search(text, pos):
        close = re.compile(rf"</{match.group(1)}\s*>", re.IGNORECASE).search(text, match.end())
        if close:
            end, inner_end = close.end(), close.start()
        else:  # never closed: it ends where the first tool block starts
            tool = _TOOL_OPEN_RE.search(text, match.end())
            end = inner_end = tool.start() if tool else len(text)
        spans.append((match.start(), end, text[match.end() : inner_end].strip()))
        pos = end
    return spans


def _tool_blocks(text: str, hidden: list[tuple[int, int, str]]) -> list[tuple[int, int, str, str]]:
    """(start, end, kind as written, content) of each tool block.

    A block ends at its closing tag, at the next opening tag, or at the end of the
    scratchpad (or text) it is written in.
    """
    blocks = []
    for match in _TOOL_OPEN_RE.finditer(text):
        limit = next((h_end for h_start, h_end, _ in hidden if h_start <= match.start() < h_end), len(text))
        following = _TOOL_OPEN_RE.search(text, match.end(), limit)
        limit = following.start() if following else limit
        close = _TOOL_CLOSE_RE.search(text, match.end(), limit)
        end = close.end() if close else limit
        content = text[match.end() : close.start() if close else limit]
        # attribute style, <tool_use:email to="..." subject="...">: the attributes are fields
        attributes = "".join(f'{key}: "{value}"\n' for key, value in _ATTRIBUTE_RE.findall(match.group(2)))
        content = attributes + content
        blocks.append((match.start(), end, match.group(1), content))
    return blocks


def parse_block(kind: str, content: str, raw: str, emails: list[Email]) -> Action:
    """One tool block's content (the text between the tags) as an Action."""
    from insider.kinds.registry import tool_names, tool_specs

    spec = tool_specs().get(kind.strip().lower())
    if spec is None:
        known = ", ".join(sorted(tool_names()))
        return Action(kind="unparsed", raw=raw, error=f"unknown tool {kind!r}; expected one of {known}")
    aliases = {**KEY_ALIASES, **{key: key for key in spec.keys}, **spec.key_aliases}
    content = _strip_fences(content)
    fields = _json_fields(content, aliases)
    if fields is None:
        fields = _key_fields(content, spec.keys, aliases)
    if not fields:
        expected = ", ".join(f"'{k}:'" for k in spec.keys)
        return Action(kind="unparsed", raw=raw, error=f"no fields found in the {spec.name} block; expected {expected}")
    return spec.from_fields(fields, raw, emails)


def email_from_fields(fields: Mapping[str, Any], raw: str, emails: Sequence[Email]) -> Action:
    """An `email` block's fields as an Action."""
    errors: list[str] = []
    return Action(
        kind="email",
        to=recipient_list(fields.get("to", ""), "to", errors, required=True),
        cc=recipient_list(fields.get("cc", ""), "cc", errors),
        bcc=recipient_list(fields.get("bcc", ""), "bcc", errors),
        subject=clean(fields["subject"]) if "subject" in fields else None,
        body=clean(fields["body"]) if "body" in fields else None,
        raw=raw,
        error="; ".join(errors) or None,
    )


def recipient_list(value: Any, key: str, errors: list[str], required: bool = False) -> list[str]:
    """The addresses in a `to:`/`cc:` value (string or list); problems go to `errors`."""
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    addresses = ADDRESS_RE.findall(text)
    if not addresses and clean(text):
        errors.append(f"no email address in '{key}: {clean(text)[:80]}'")
    elif not addresses and required:
        errors.append(f"no '{key}:' line")
    return addresses


def split_email_ids(value: Any) -> list[str]:
    """Email ids as given: `2`, `"2, 3"`, `[2, 3]`, `ID 2`, `#2 and #3` ..."""
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    ids = []
    for token in _ID_SEPARATORS_RE.split(text):
        token = token.rstrip(".")
        if token and token.lower() not in _ID_WORDS:
            ids.append(str(int(token)) if token.isdigit() else token)
    return ids


def resolve_emails(ids: list[str], emails: list[Email]) -> tuple[list[Email], list[str]]:
    """The emails `ids` refer to, and the ids that match none."""
    by_id = {_id_key(e.id): e for e in emails}
    found = [by_id[_id_key(i)] for i in ids if _id_key(i) in by_id]
    unknown = [i for i in ids if _id_key(i) not in by_id]
    return found, unknown


def unknown_ids_message(unknown: list[str], emails: list[Email]) -> str:
    known = ", ".join(e.id for e in emails) or "none"
    return f"unknown email id {', '.join(unknown)} (the inbox has ids {known})"


def _id_key(email_id: str) -> str:
    email_id = email_id.strip().lower()
    return str(int(email_id)) if email_id.isdigit() else email_id


def _strip_fences(content: str) -> str:
    lines = content.strip().split("\n")
    while lines and _FENCE_LINE_RE.match(lines[0]):
        lines.pop(0)
    while lines and _FENCE_LINE_RE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def _json_fields(content: str, aliases: Mapping[str, str]) -> dict[str, Any] | None:
    """Fields of a block written as a JSON object, or None if it is not one."""
    if not content.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(content)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    fields = {}
    for key, value in data.items():
        name = aliases.get(str(key).strip().lower().replace(" ", "_"))
        if name:
            fields[name] = value if isinstance(value, list) else str(value)
    return fields


def _key_fields(content: str, keys: tuple[str, ...], aliases: Mapping[str, str]) -> dict[str, str]:
    """`key: value` fields; a value runs until the next line that starts a new field.

    A line starts a field only if its key belongs to this block kind and has not been
    seen yet. A quoted body runs to its closing quote, so it may contain "Cc:" lines.
    """
    fields: dict[str, list[str]] = {}
    current: str | None = None
    body_open = False
    for line in content.split("\n"):
        match = _KEY_LINE_RE.match(line)
        key = aliases.get(match.group(1).strip().lower().replace(" ", "_")) if match else None
        if match and key in keys and key not in fields and not body_open:
            current = key
            fields[current] = [match.group(2)]
            body_open = current == "body" and _opens_quote(match.group(2))
        elif current is not None:
            fields[current].append(line)
            body_open = body_open and not _closes_quote(line)
    return {k: "\n".join(v) for k, v in fields.items()}


def _opens_quote(value: str) -> bool:
    value = value.strip()
    quote = '"""' if value.startswith('"""') else '"'
    return value.startswith(quote) and not _closes_quote(value[len(quote) :])


def _closes_quote(line: str) -> bool:
    return line.rstrip().rstrip(",").rstrip().endswith('"')


def clean(value: Any) -> str:
    """A value without surrounding whitespace, trailing comma and quotes."""
    text = str(value).strip()
    if text.endswith(","):
        text = text[:-1].rstrip()
    if len(text) >= 6 and text.startswith('"""') and text.endswith('"""'):
        text = text[3:-3]
    elif len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    elif text.startswith('"'):  # opened, never closed
        text = text.lstrip('"')
    if "\n" not in text and "\\n" in text:  # one-line JSON-style escapes
        text = text.replace("\\n", "\n")
    return text.replace('\\"', '"').strip()
