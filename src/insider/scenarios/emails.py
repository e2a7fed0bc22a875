"""Parse an `<email>` block of text into structured `Email` records."""

from __future__ import annotations

import ast
import re

from insider.errors import InsiderError
from insider.scenarios.base import Attachment, Email

_EMAIL_RE = re.compile(r"<email>\n?(.*?)\n?</email>", re.DOTALL)
_HEADER_RE = re.compile(r"^(ID|From|To|Cc|CC|Attachments|Subject|Timestamp):[ \t]*(.*)$")


def _addresses(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


def _attachments(value: str) -> list[Attachment]:
    try:
        names = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        names = [value]
    if isinstance(names, str):
        names = [names]
    return [Attachment(name=str(n), confidential=True) for n in names]


def parse_email_block(text: str) -> list[Email]:
    """Split a block of `<email>...</email>` elements into records, in the order shown.

    Emails without an `ID:` header are numbered 1..n by position, which is also how
    the study's forward tool refers to them.
    """
    emails: list[Email] = []
    for position, raw in enumerate(_EMAIL_RE.findall(text), start=1):
        fields: dict[str, str] = {}
        lines = raw.strip("\n").split("\n")
        body_start = None
        for i, line in enumerate(lines):
            if line.startswith("Body:"):
                body_start = i
                break
            match = _HEADER_RE.match(line)
            if not match:
                raise InsiderError(f"email {position}: unexpected header line {line[:60]!r}")
            fields[match.group(1).lower()] = match.group(2).strip()
        if body_start is None:
            raise InsiderError(f"email {position} has no 'Body:' line")
        body = "\n".join(lines[body_start:]).removeprefix("Body:").lstrip(" ")
        attachments = _attachments(fields["attachments"]) if "attachments" in fields else []
        emails.append(
            Email(
                id=fields.get("id", str(position)),
                sender=fields.get("from", ""),
                to=_addresses(fields.get("to", "")),
                cc=_addresses(fields.get("cc", "")),
                subject=fields.get("subject", ""),
                timestamp=fields.get("timestamp", ""),
                body=body,
                attachments=attachments,
                confidential=bool(attachments) or "CONFIDENTIAL" in fields.get("subject", ""),
            )
        )
    return emails
