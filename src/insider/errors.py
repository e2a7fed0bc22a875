"""The one exception type users see, and how foreign error text becomes one of its lines."""

from __future__ import annotations

import re

from insider.redact import redact

_MARKUP = re.compile(r"\[/?[a-z ]+\]")


class InsiderError(Exception):
    """A user-facing error: one line that says what is wrong and how to fix it.

    The CLI prints it as `error: <message>` and exits non-zero; nothing else of the
    traceback is shown. Credentials in the message are redacted (see `insider.redact`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(redact(" ".join(message.split())))


class ProblemsError(InsiderError):
    """Problems found at once: the message is all of them on one line; when there are several
    the CLI prints `headline` and then `lines` (a problem, or a heading, each)."""

    def __init__(self, message: str, count: int, headline: str, lines: list[str]) -> None:
        super().__init__(message)
        self.count = count
        self.headline = headline
        self.lines = lines


def one_line(message: str) -> str:
    """Inspect's prerequisite messages carry rich markup and line breaks: one plain line."""
    text = re.sub(r"^ERROR:\s*", "", _MARKUP.sub("", message).strip())
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "; ".join(p.rstrip(".:") for p in paragraphs)
