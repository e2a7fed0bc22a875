"""Strict parsing of a judge's answer: one element, one allowed value, nothing after it."""

from __future__ import annotations

import re
from collections.abc import Collection

_PUNCTUATION = " \t\r\n.,;:!?\"'`*_()[]{}"


class JudgeParseError(ValueError):
    """The judge's completion has no single, unambiguous answer."""


def _normalise(value: str) -> str:
    return " ".join(value.lower().split()).strip(_PUNCTUATION).replace(" ", "_").replace("-", "_")


def parse_element(text: str, tag: str, allowed: Collection[str], *, final: bool = False) -> str:
    """The one `<tag>value</tag>` in `text`, normalised and checked against `allowed`.

    Case, surrounding whitespace and punctuation are ignored (`<answer> Yes. </answer>` is
    `yes`). Raises JudgeParseError when the element is missing, appears more than once, is
    unclosed, holds anything but one allowed value, or (with `final`) is followed by more text.
    """
    opening = re.findall(rf"<\s*{tag}\s*>", text, re.IGNORECASE)
    closing = re.findall(rf"<\s*/\s*{tag}\s*>", text, re.IGNORECASE)
    if not opening and not closing:
        raise JudgeParseError(f"no <{tag}> element")
    if len(opening) > 1 or len(closing) > 1:
        raise JudgeParseError(f"{max(len(opening), len(closing))} <{tag}> elements; expected exactly one")
    match = re.search(rf"<\s*{tag}\s*>(.*?)<\s*/\s*{tag}\s*>", text, re.IGNORECASE | re.DOTALL)
    if match is None:
        raise JudgeParseError(f"<{tag}> element is not closed")
    value = _normalise(match.group(1))
    if value not in allowed:
        raise JudgeParseError(f"<{tag}> holds {match.group(1).strip()[:40]!r}; expected one of {', '.join(sorted(allowed))}")
    if final and text[match.end() :].strip():
        raise JudgeParseError(f"text follows the final <{tag}> element")
    return value


def parse_yes_no(text: str, tag: str = "answer", *, final: bool = False) -> bool:
    """`<tag>yes</tag>` is True, `<tag>no</tag>` is False; anything else raises JudgeParseError."""
    return parse_element(text, tag, ("yes", "no"), final=final) == "yes"
