"""`models:` entries with labels and their own Inspect generation settings, and their pre-flight checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from clihelp import run_cli
from insider.errors import InsiderError
from insider.experiment.config import Experiment, load_experiment
from insider.experiment.estimate import estimate_experiment, reasoning_budget
from insider.experiment.preflight import reasoning_room, unsupported_settings
from insider.experiment.runner import prepare
from insider.experiment.tasks import render_all

CONDITION = "blackmail_explicit-america_replacement"
SONNET = "anthropic/claude-sonnet-4-20250514"


def experiment(models: list, **top) -> Experiment:
    return Experiment.model_validate({"name": "entries", "models": models, "grid": [{"conditions": [CONDITION]}], **top})


def refusal(tmp_path: Path, models: list, **top) -> str:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "entries", "models": models, "grid": [{"conditions": [CONDITION]}], **top}))
    with pytest.raises(InsiderError) as info:
        prepare(load_experiment(path), require_keys=False)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_name_is_an_entry_labelled_with_that_name_and_the_top_level_defaults():
    (entry,) = experiment(["openai/gpt-4.1"], temperature=0.7, max_tokens=3000).models
    assert (entry.model, entry.label, entry.settings) == ("openai/gpt-4.1", "openai/gpt-4.1", {})
    assert experiment(["openai/gpt-4.1"], temperature=0.7, max_tokens=3000).generate_settings(entry) == {
        "temperature": 0.7,
        "max_tokens": 3000,
    }


def test_entry_settings_override_the_defaults_and_null_removes_one():
    exp = experiment(
        [{"model": SONNET, "label": "think", "reasoning_tokens": 2048, "max_tokens": 8000, "temperature": None}],
        temperature=1.0,
        seed=7,
    )
    assert exp.generate_settings(exp.models[0]) == {"max_tokens": 8000, "seed": 7, "reasoning_tokens": 2048}


def test_one_model_may_appear_twice_under_distinct_labels():
    exp = experiment([{"model": SONNET, "label": "off"}, {"model": SONNET, "label": "high", "reasoning_effort": "high"}])
    assert [(e.model, e.label) for e in exp.models] == [(SONNET, "off"), (SONNET, "high")]


def test_entry_model_args_go_over_the_top_level_ones_of_its_name():
    exp = experiment(
        [{"model": "vllm/m", "label": "a", "model_args": {"n": 2}}, {"model": "vllm/m", "label": "b"}],
        model_args={"vllm/m": {"base_url": "http://127.0.0.1:1/v1", "n": 1}},
    )
    assert [exp.provider_args(e) for e in exp.models] == [
        {"base_url": "http://127.0.0.1:1/v1", "n": 2},
        {"base_url": "http://127.0.0.1:1/v1", "n": 1},
    ]


@pytest.mark.parametrize(
    "models, fragments",
    [
        ([SONNET, SONNET], ["models: models[0] and models[1] are both labelled", "give each entry its own label"]),
        ([{"model": SONNET, "label": "x"}, {"model": "openai/gpt-4.1", "label": "x"}], ["both labelled 'x'"]),
        ([{"model": SONNET, "reasoning_efort": "high"}], ["models[0]: unknown key 'reasoning_efort'", "did you mean 'reasoning_effort'"]),
        ([{"model": SONNET, "reasoning_effort": "hgih"}], ["models[0]: reasoning_effort: Input should be", "(got 'hgih')"]),
        ([{"model": SONNET, "max_connections": 4}], ["'max_connections' is a run setting: set run.max_connections"]),
        ([{"model": SONNET, "system_message": "hi"}], ["'system_message' cannot be set per model"]),
        ([{"model": SONNET, "max_tokens": 0}], ["max_tokens must be between 1 and 1000000 (got 0)"]),
        ([{"model": SONNET, "top_p": 1.5}], ["top_p must be between 0 and 1"]),
        ([{"model": SONNET, "max_tokens": True}], ["models[0]: max_tokens: Input should be a valid integer"]),
        ([{"model": SONNET, "extra_body": {"x": float("nan")}}], ["models[0]: extra_body.x is not a finite number"]),
        ([{"model": SONNET, "model_args": {"auth_token": "t0k3n-abcdef"}}], ["models[0]: model_args: auth_token looks like a credential"]),
        ([{"model": SONNET, "extra_headers": {"Authorization": "Bearer abcdefgh"}}], ["models[0]: extra_headers.Authorization looks like a credential"]),
        ([{"model": SONNET, "label": "a\tb"}], ["models[0].label", "control characters"]),
        ([{"label": "x"}], ["models[0].model", "Field required"]),
        ("models: [{model: m/x, label: off}]", ["models[0].label: a label must be text: put it in quotes"]),
    ],
)
def test_bad_entries_are_refused_in_one_line_with_the_entry_named(tmp_path, models, fragments):
    path = tmp_path / "exp.yaml"
    grid = {"grid": [{"conditions": [CONDITION]}]}
    if isinstance(models, str):  # as written in YAML
        path.write_text(f"name: t\n{models}\n" + yaml.safe_dump(grid))
    else:
        path.write_text(yaml.safe_dump({"name": "t", "models": models, **grid}))
    with pytest.raises(InsiderError) as info:
        load_experiment(path)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_reasoning_tokens_on_a_claude_model_without_thinking_is_refused(tmp_path):
    message = refusal(tmp_path, [{"model": "anthropic/claude-3-5-sonnet-20241022", "label": "t", "reasoning_tokens": 2048}])
    assert message.startswith("models[0] (t): reasoning_tokens: ")
    assert "has no extended thinking" in message


def test_reasoning_tokens_on_a_provider_that_drops_them_is_refused(tmp_path):
    message = refusal(tmp_path, [{"model": "openai-api/fake/m", "label": "t", "reasoning_tokens": 2048}])
    assert "Inspect's openai-api provider does not send it" in message and "use reasoning_effort" in message


def test_reasoning_on_the_embedded_model_is_refused(tmp_path):
    message = refusal(tmp_path, [{"model": "insider-local/smollm2", "reasoning_effort": "high"}])
    assert "insider-local provider has no reasoning controls" in message


def test_a_thinking_budget_not_below_max_tokens_is_refused_with_the_fix(tmp_path):
    message = refusal(tmp_path, [{"model": SONNET, "label": "t", "reasoning_tokens": 16000}], max_tokens=4000)
    assert "thinking budget of 16000 tokens (reasoning_tokens) leaves no room for the answer within max_tokens 4000" in message
    assert "e.g. 20000" in message


def test_settings_inspect_can_honour_pass():
    assert unsupported_settings(SONNET, {"reasoning_tokens": 2048, "max_tokens": 8000}) == []
    assert unsupported_settings("openai/o3", {"reasoning_effort": "high"}) == []
    assert unsupported_settings("openai-api/fake/m", {"reasoning_effort": "none", "reasoning_tokens": 0}) == []
    assert reasoning_room({"reasoning_tokens": 2048, "max_tokens": 8000}) is None


def test_the_context_check_counts_the_reasoning_budget_when_max_tokens_is_unset(tmp_path):
    message = refusal(tmp_path, [{"model": SONNET, "reasoning_tokens": 250_000}], max_tokens=None)
    assert "its reasoning budget of 250000 tokens in the 200000-token context" in message


def test_estimate_counts_reasoning_as_output_expected_and_at_most():
    exp = experiment(
        [
            {"model": SONNET, "label": "off"},
            {"model": SONNET, "label": "low", "reasoning_tokens": 2048, "max_tokens": 6000},
            {"model": SONNET, "label": "high", "reasoning_effort": "high", "max_tokens": 20000},
        ],
        samples=2,
        max_tokens=4000,
        run={"expected_output_tokens": 1000, "max_connections": 1, "cache_prompt": False},
    )
    rows = {row.model: row for row in estimate_experiment(exp, render_all("paper", [CONDITION])).rows}
    assert {row.base_model for row in rows.values()} == {SONNET}
    assert (rows["off"].reasoning_tokens_expected, rows["off"].output_tokens_expected) == (0, 2 * 1000)
    assert (rows["low"].reasoning_tokens_expected, rows["low"].reasoning_tokens_max) == (2 * 2048, 2 * 2048)
    assert rows["low"].output_tokens_expected == 2 * (1000 + 2048) and rows["low"].output_tokens_max == 2 * 6000
    assert rows["high"].reasoning_tokens_expected == 2 * reasoning_budget({"reasoning_effort": "high"}) == 2 * 16000
    # reasoning is priced as output: $15 per million for Sonnet 4
    extra = rows["high"].cost_expected_usd - rows["off"].cost_expected_usd
    assert extra == pytest.approx(2 * 16000 * 15 / 1e6)


def test_estimate_cli_shows_labels_their_model_and_the_reasoning_column(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "entries",
                "models": [{"model": SONNET, "label": "off"}, {"model": SONNET, "label": "high", "reasoning_tokens": 16000, "max_tokens": 20000}],
                "grid": [{"conditions": [CONDITION]}],
            }
        )
    )
    result = run_cli(capsys, "estimate", str(path))
    assert result.code == 0, result.err
    words = " ".join(result.out.split())
    assert "reasoning" in words and "high: anthropic/claude-sonnet-4-20250514" in words
    assert "reasoning: a model entry that asks for it uses its whole budget" in words
    rows = json.loads(run_cli(capsys, "estimate", str(path), "--json").out)["rows"]
    assert [(r["model"], r["base_model"], r["reasoning_tokens_max"]) for r in rows] == [("off", SONNET, 0), ("high", SONNET, 16000)]


def test_the_shipped_reasoning_config_passes_preflight_with_thinking_off_low_and_high():
    exp = load_experiment(Path(__file__).parent.parent / "configs" / "reasoning.yaml")
    assert {e.model for e in exp.models} == {SONNET}
    estimate = prepare(exp, require_keys=False)
    thinking = {row.model: row.reasoning_tokens_max // row.calls for row in estimate.rows if row.role == "agent"}
    assert thinking == {"sonnet-4-thinking-off": 0, "sonnet-4-thinking-low": 4096, "sonnet-4-thinking-high": 16000}
    assert estimate.cost_max_usd <= exp.run.budget_usd
