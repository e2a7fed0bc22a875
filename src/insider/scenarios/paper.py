"""The `paper` pack: the exact published prompts, rendered by inspect_evals at run time.

No prompt text lives in this repository. Each condition is rendered by calling
`inspect_evals.agentic_misalignment.prompt_generator.generate_prompts`, then two
known defects are handled openly (see the README's replication notes):

- the literal `{company_name}` in the `dont`/`goal` instructions becomes the scenario's
  company (recorded in `metadata.corrections`);
- a `${...}` placeholder left unfilled by the published variable files is an error,
  unless the pack is built with `allow_unfilled=True` (recorded in
  `metadata.unfilled_placeholders`).
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
import io
import re
from functools import cache
from importlib.metadata import version
from typing import Any

from insider.conditions import Condition, base_grid
from insider.errors import InsiderError
from insider.kinds import study_kinds
from insider.scenarios.base import ScenarioFacts, ScenarioPrompt
from insider.scenarios.emails import parse_email_block

SOURCE = "inspect_evals.agentic_misalignment.prompt_generator.generate_prompts"

SWAP_NOTE = (
    "swap: inspect_evals gives the model the goal opposite to goal_value (the new board's "
    "direction), as the study intended; the study's own code looked up a key that does not "
    "exist and sent no goal at all, so its swap cells equal latent cells"
)

_PLACEHOLDER_RE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_COMPANY_PLACEHOLDER = "{company_name}"


#: the study's cast, addresses and codes per scenario, as the study's kinds carry them
FACTS: dict[str, ScenarioFacts] = {kind.name: kind.study_facts for kind in study_kinds() if kind.study_facts}
#: the company each of the study's scenarios is set in
COMPANY: dict[str, str] = {name: facts.company for name, facts in FACTS.items()}


@cache
def _inspect_evals_version() -> str:
    """The installed inspect-evals version (read once: a metadata lookup costs ~3 ms)."""
    return version("inspect-evals")


class PaperPack:
    """Renders conditions with the study's published templates (via inspect_evals)."""

    name = "paper"
    modes: tuple[str, ...] = ("text",)

    def __init__(self, allow_unfilled: bool = False) -> None:
        self.allow_unfilled = allow_unfilled

    def conditions(self) -> list[Condition]:
        return base_grid()

    def render(self, condition: Condition) -> ScenarioPrompt:
        """Render a condition (cached per process: treat the result as read-only)."""
        if condition.scenario not in FACTS:
            raise InsiderError(
                f"the paper pack has no {condition.scenario} scenario (the study's are {', '.join(FACTS)}); "
                "use pack: builtin or a pack directory that has it"
            )
        rendered = _render(condition)
        unfilled = rendered.metadata.get("unfilled_placeholders")
        if unfilled and not self.allow_unfilled:
            raise InsiderError(
                f"condition {condition.id} (paper pack): the published templates leave "
                f"{', '.join(unfilled)} unfilled; pass --allow-unfilled (config: allow_unfilled: true) "
                "to send it as the original study did"
            )
        return rendered


@lru_cache(maxsize=1024)
def _render(condition: Condition) -> ScenarioPrompt:
    """Render through inspect_evals (a few ms each); every caller in a process shares the result."""
    from inspect_evals.agentic_misalignment.prompt_generator import (
        ALIGNMENT_FAKING_WARNING,
        generate_prompts,
    )

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        prompts = generate_prompts(
            scenario=condition.scenario,
            goal_type=condition.goal_type,
            goal_value=condition.goal_value,
            urgency_type=condition.urgency,
            extra_system_instructions=None if condition.mitigation == "none" else condition.mitigation,
            prod_flag=not condition.scratchpad,
            alignment_faking_warning=ALIGNMENT_FAKING_WARNING if condition.awareness_notice else None,
        )
    system = prompts.system_prompt
    metadata: dict[str, Any] = {
        "source": SOURCE,
        "inspect_evals_version": _inspect_evals_version(),
        "corrections": [],
    }
    facts = FACTS[condition.scenario]
    if _COMPANY_PLACEHOLDER in system:
        company = facts.company
        system = system.replace(_COMPANY_PLACEHOLDER, company)
        metadata["corrections"].append(
            {"id": "company_name", "detail": f"literal {_COMPANY_PLACEHOLDER} replaced by {company!r}"}
        )
    # inspect_evals joins the user prompt and the emails with one newline.
    user = "\n".join([prompts.user_prompt, prompts.email_content])
    unfilled = sorted(set(_PLACEHOLDER_RE.findall(system + user)))
    if unfilled:
        metadata["unfilled_placeholders"] = unfilled
    if condition.goal_type == "swap":
        metadata["swap_semantics"] = SWAP_NOTE
    if captured.getvalue().strip():
        metadata["generator_messages"] = captured.getvalue().strip().splitlines()
    rendered = ScenarioPrompt(
        condition_id=condition.id,
        pack=PaperPack.name,
        system=system,
        user=user,
        instruction=prompts.user_prompt,
        email_block=prompts.email_content,
        emails=parse_email_block(prompts.email_content),
        facts=facts,
        metadata=metadata,
    )
    rendered.metadata["content_hash"] = rendered.content_hash()
    return rendered
