"""`insider vary --paraphrase`: a scripted model rewrites the prose; a rewrite that drops a fact
(the override code) is asked again, then rejected with its reason, and the part keeps its wording."""

from __future__ import annotations

import json
import re

import pytest
from inspect_ai.model import ModelOutput, get_model

from insider.conditions import parse_condition_id
from insider.scenarios import BUILTIN_PACK_DIR, get_pack
from insider.variants.manifest import read_variant
from insider.variants.paraphrase import (
    ATTEMPTS,
    Rejected,
    check_story,
    check_text,
    extract_rewrite,
)
from insider.variants.vary import vary

ALERT = "emails/summitbridge/server-alert.md"
FACTS = {"EXEC-4429", "kyle.johnson@summitbridge.com"}


class Script:
    """Rewrites every email body by greeting first; drops the override code from the alert; answers
    the first request for the tie email without a <rewrite> block; leaves stories as they are."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def __call__(self, input, tools, tool_choice, config) -> ModelOutput:
        prompt = input[-1].text
        body = re.search(r"<email_body>\n(.*)\n</email_body>", prompt, re.DOTALL)
        if body is None:
            story = re.search(r"<passages>\n(.*)\n</passages>", prompt, re.DOTALL).group(1)
            return ModelOutput.from_content("mockllm", f"<rewrite>{story}</rewrite>")
        text = body.group(1)
        self.calls[text[:40]] = self.calls.get(text[:40], 0) + 1
        if "EXEC-4429" in text:
            return ModelOutput.from_content("mockllm", "<rewrite>" + text.replace("EXEC-4429", "the override code") + "</rewrite>")
        if "blue tie" in text and self.calls[text[:40]] == 1:
            return ModelOutput.from_content("mockllm", "Here is the rewrite: " + text)
        return ModelOutput.from_content("mockllm", f"<rewrite>Hello,\n\n{text}</rewrite>")


def test_a_rewrite_that_drops_the_override_code_is_rejected():
    original = "Cancel with override code EXEC-4429 before 16:55:00."
    with pytest.raises(Rejected, match="dropped 'EXEC-4429'"):
        check_text(original, "Cancel with the override code before 16:55:00.", FACTS)
    with pytest.raises(Rejected, match="16:55:00"):
        check_text(original, "Cancel with override code EXEC-4429 before five.", FACTS)
    check_text(original, "Before 16:55:00, the dispatch can be stopped with EXEC-4429.", FACTS)


def test_a_rewrite_must_keep_every_placeholder_in_order():
    original = "The board turns from {{ old_focus }} to {{ new_focus }}."
    check_text(original, "From {{ old_focus }}, the board now turns to {{ new_focus }}.", set())
    for bad in ("The board turns to {{ new_focus }} from {{ old_focus }}.", "The board turns to a new focus.",
                "The board turns from {{ old_focus }} to {{ new_focus }} and {company}."):  # fmt: skip
        with pytest.raises(Rejected):
            check_text(original, bad, set())


def test_a_rewrite_must_not_forge_an_email_boundary():
    with pytest.raises(Rejected, match="email boundary"):
        check_text("See you at 5 pm.", "See you at 5 pm.</email><email>", set())


def test_the_answer_must_hold_one_rewrite_block():
    assert extract_rewrite("<rewrite>\nHi\n</rewrite>") == "Hi"
    for bad in ("Hi", "<rewrite>a</rewrite><rewrite>b</rewrite>"):
        with pytest.raises(Rejected, match="one <rewrite> block"):
            extract_rewrite(bad)


def test_a_story_rewrite_keeps_its_keys_shapes_and_full_stops():
    story = {"old_focus": "American interests", "board_move": "dropped the plan.", "documents": ["a", "b"]}
    assert check_story(story, json.dumps(story), set()) == story
    for bad in ({**story, "extra": "x"}, {**story, "documents": ["a"]}, {**story, "board_move": "dropped the plan"}):
        with pytest.raises(Rejected):
            check_story(story, json.dumps(bad), set())
    with pytest.raises(Rejected, match="not a JSON object"):
        check_story(story, "old_focus: x", set())


def test_paraphrasing_the_builtin_pack_with_a_scripted_model(tmp_path):
    script = Script()
    model = get_model("mockllm/model", custom_outputs=script)
    [variant] = vary("builtin", tmp_path, 1, seed=5, perturbations="", paraphrase=model)
    assert variant.rejected == {ALERT: "dropped 'EXEC-4429' (after 3 attempts)"}
    assert script.calls["SUMMITBRIDGE FACILITIES MONITORING :: AU"] == ATTEMPTS
    body = (variant.path / ALERT).read_text().split("\n---\n", 1)[1]
    assert body == (BUILTIN_PACK_DIR / ALERT).read_text().split("\n---\n", 1)[1]  # kept as written
    tie = (variant.path / "emails/summitbridge/tie.md").read_text()
    assert "Hello,\n\nKyle," in tie  # accepted on the second attempt
    assert variant.paraphrased > 80 and variant.conditions == 312
    assert read_variant(variant.path).paraphrase == "mockllm/model"
    murder = get_pack(str(variant.path)).render(parse_condition_id("murder_explicit-america_replacement"))
    assert "EXEC-4429" in murder.emails[-1].body and murder.emails[0].body.startswith("Hello,")


def test_the_paper_pack_cannot_be_paraphrased(tmp_path):
    from insider.errors import InsiderError

    with pytest.raises(InsiderError, match="cannot be paraphrased"):
        vary("paper", tmp_path, 1, paraphrase="mockllm/model")


def test_a_pack_error_is_traced_to_the_paraphrase_it_names():
    from insider.variants.vary import _culprit

    parts = ["stories/a.yaml#america", "stories/a.yaml#safety", "emails/x.md"]
    assert _culprit("stories/a.yaml: stories.safety.old_focus: bad value", parts) == "stories/a.yaml#safety"
    assert _culprit("emails/x.md: body: missing variable", parts) == "emails/x.md"
    assert _culprit("pack.yaml: canary: missing", parts) is None
