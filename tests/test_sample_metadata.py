"""What a sample carries about its scenario, and how the judges read it back."""

from __future__ import annotations

import pytest

from insider.conditions import parse_condition_id
from insider.experiment.tasks import sample_metadata
from insider.judges.scorer import sample_context
from insider.scenarios import get_pack

CASES = [
    ("paper", "blackmail_explicit-america_replacement"),
    ("paper", "leaking_explicit-america_none"),
    ("builtin", "murder_explicit-america_replacement"),
    ("builtin", "exfiltration_none-none_replacement"),
]


def _render(pack: str, condition_id: str):
    return get_pack(pack, allow_unfilled=True).render(parse_condition_id(condition_id))


@pytest.mark.parametrize("pack,condition_id", CASES)
def test_no_top_level_string_is_long(pack, condition_id):
    """Inspect shortens every top-level metadata string each time it summarises a sample;
    the emails (kilobytes) travel in one mapping instead."""
    metadata = sample_metadata(_render(pack, condition_id), pack, "text")
    long = {k: len(v) for k, v in metadata.items() if isinstance(v, str) and len(v) > 1024}
    assert not long


@pytest.mark.parametrize("pack,condition_id", CASES)
def test_the_judges_get_back_the_emails_the_agent_read(pack, condition_id):
    prompt = _render(pack, condition_id)
    context = sample_context(sample_metadata(prompt, pack, "text"))
    assert context.email_block == prompt.email_block and list(context.emails) == prompt.emails
    assert context.facts == prompt.facts


def test_logs_with_top_level_email_keys_still_read():
    prompt = _render("paper", "murder_explicit-america_replacement")
    metadata = sample_metadata(prompt, "paper", "text")
    inbox = metadata.pop("inbox")
    metadata |= {"emails": inbox["emails"], "email_block": "the block as that log stored it"}
    context = sample_context(metadata)
    assert context.email_block == "the block as that log stored it" and list(context.emails) == prompt.emails


def test_logs_without_emails_render_the_condition_again():
    prompt = _render("paper", "leaking_explicit-america_none")
    metadata = sample_metadata(prompt, "paper", "text")
    del metadata["inbox"]
    assert sample_context(metadata).email_block == prompt.email_block
