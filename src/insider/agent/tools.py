"""The email client's common tools, with simulated results; each kind adds its own.

Every call of an action tool (`send_email` here; `forward_email`, `cancel_alert`,
`transfer_file`, ... in the kinds that introduce them) appends exactly one Action to the
sample's ActionLog, whether it succeeded or not; a call the tool rejects is recorded with
`error` set and the model gets the error as the tool result. The inbox tools (`list_inbox`,
`read_email`) record which emails the agent opened.
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.tool import Tool, ToolError, tool
from inspect_ai.util import store_as

from insider.agent.actions import Action, ActionLog
from insider.agent.parse import email_from_fields, recipient_list, resolve_emails, split_email_ids, unknown_ids_message
from insider.kinds.base import ToolSpec
from insider.scenarios.base import Email, ScenarioPrompt

#: tools that only read the inbox (every other tool's call is an action)
INBOX_TOOLS = ("list_inbox", "read_email")


def record(action: Action) -> None:
    """Append one action to the current sample's ActionLog."""
    log = store_as(ActionLog)
    log.actions = [*log.actions, action]


def record_or_fail(action: Action, errors: list[str], refusal: str = "Not sent") -> None:
    """Record the action; if there were errors, record them too and tell the model (ToolError)."""
    action.error = "; ".join(errors) or None
    record(action)
    if errors:
        raise ToolError(f"{refusal}: {action.error}.")


def recipients_line(action: Action) -> str:
    line = ", ".join(action.to)
    return f"{line} (cc: {', '.join(action.cc)})" if action.cc else line


def raw_arguments(**arguments: Any) -> str:
    """A native call's arguments as the Action's `raw` text."""
    return json.dumps(arguments)


@tool
def send_email() -> Tool:
    """Send an email from the agent's account."""

    async def execute(to: list[str], subject: str, body: str, cc: list[str] | None = None) -> str:
        """Send an email from your account.

        Args:
            to: Recipient email addresses.
            subject: Subject line.
            body: Text of the email.
            cc: Addresses to copy, if any.
        """
        errors: list[str] = []
        action = Action(
            kind="email",
            source="tool",
            to=recipient_list(to, "to", errors, required=True),
            cc=recipient_list(cc or [], "cc", errors),
            subject=subject,
            body=body,
            raw=raw_arguments(to=to, subject=subject, body=body, cc=cc),
        )
        record_or_fail(action, errors)
        return f"Email sent to {recipients_line(action)} with subject {subject!r}."

    return execute


@tool
def list_inbox(emails: list[Email]) -> Tool:
    """List the inbox with read/unread state.

    Args:
        emails: The inbox.
    """

    async def execute() -> str:
        """List the emails in your inbox: id, time, sender, subject and whether you have read it."""
        read = set(store_as(ActionLog).emails_read)
        unread = sum(e.id not in read for e in emails)
        lines = [f"{len(emails)} emails, {unread} unread:"]
        for e in emails:
            status = "read" if e.id in read else "unread"
            attached = f" [{len(e.attachments)} attachment(s)]" if e.attachments else ""
            lines.append(f"id {e.id} | {status} | {e.timestamp} | from {e.sender} | {e.subject}{attached}")
        return "\n".join(lines)

    return execute


@tool
def read_email(emails: list[Email]) -> Tool:
    """Open one email of the inbox and mark it read.

    Args:
        emails: The inbox.
    """

    async def execute(email_id: str) -> str:
        """Open an email from your inbox and show its full content.

        Args:
            email_id: The id of the email, as shown by list_inbox.
        """
        found, unknown = resolve_emails(split_email_ids(email_id)[:1], emails)
        if not found:
            raise ToolError(unknown_ids_message(unknown or [email_id], emails))
        email = found[0]
        log = store_as(ActionLog)
        if email.id not in log.emails_read:
            log.emails_read = [*log.emails_read, email.id]
        return show_email(email)

    return execute


def show_email(email: Email) -> str:
    """An email as the client displays it."""
    lines = [f"ID: {email.id}", f"From: {email.sender}", f"To: {', '.join(email.to)}"]
    if email.cc:
        lines.append(f"Cc: {', '.join(email.cc)}")
    lines += [f"Subject: {email.subject}", f"Timestamp: {email.timestamp}"]
    if email.attachments:
        lines.append(f"Attachments: {', '.join(a.name for a in email.attachments)}")
    lines += ["", email.body]
    for attachment in email.attachments:
        if attachment.content:
            lines += ["", f"--- {attachment.name} ---", attachment.content]
    return "\n".join(lines)


#: the tool every kind has
EMAIL = ToolSpec(
    name="email",
    keys=("to", "cc", "bcc", "subject", "body"),
    aliases=("send_email", "send"),
    from_fields=email_from_fields,
    native=lambda prompt: send_email(),
    native_name="send_email",
)


def agent_tools(prompt: ScenarioPrompt, scenario: str, mode: str) -> list[Tool]:
    """The native tools of a scenario in tools or inbox mode: its kind's tools, plus the inbox
    tools in inbox mode."""
    from insider.kinds import get_kind, get_tool

    tools = [get_tool(name).native(prompt) for name in get_kind(scenario).tools]
    if mode == "inbox":
        tools += [list_inbox(prompt.emails), read_email(prompt.emails)]
    return tools
