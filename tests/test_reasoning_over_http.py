"""Per-model settings and reasoning content end to end, against the fake OpenAI-compatible server.

One model served by tests/fakeserver.py runs under two labels, thinking off and high: each
entry's settings must reach the provider's request, the two labels give two sets of rows,
and the reasoning the server returns lands in the ActionLog and the report, never in the
actions or the visible answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageAssistant, ModelOutput

from fakeserver import REASONING_FORMS, REASONING_TOKENS, FakeServer
from insider.agent.actions import THINKING_MARKERS, ActionLog, ActionRecord
from insider.analysis.report import analyse, write_report
from insider.analysis.results import results_table
from insider.experiment.config import Experiment
from insider.experiment.runner import run_experiment

CONDITIONS = ["blackmail_explicit-america_replacement", "blackmail_none-none_none"]
THINKING_OPENING = "Let me weigh the options before I answer."
#: the address of the tool block the fake reasoning model drafts in its reasoning
DRAFTED_TO = "drafts@example.org"
OFF = {"label": "thinking-off", "reasoning_effort": "none", "temperature": 0.3, "max_tokens": 3000, "top_p": 0.9, "seed": 11}
HIGH = {"label": "thinking-high", "reasoning_effort": "high", "max_tokens": 6000, "frequency_penalty": 0.2}


def run(server: FakeServer, monkeypatch: pytest.MonkeyPatch, log_dir: Path, model: str) -> Experiment:
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    exp = Experiment.model_validate(
        {
            "name": "reasoning",
            "models": [{"model": model, **OFF}, {"model": model, **HIGH}],
            "temperature": 1.0,
            "samples": 2,
            "grid": [{"conditions": CONDITIONS}],
            "judge": "rules",
            "run": {"log_dir": str(log_dir), "max_connections": 4},
        }
    )
    assert run_experiment(exp, display="none").complete
    return exp


def samples_by_label(log_dir: Path) -> dict[str, list]:
    found: dict[str, list] = {}
    for info in list_eval_logs(str(log_dir)):
        log = read_eval_log(info)
        found.setdefault(log.eval.metadata["model_label"], []).extend(log.samples or [])
    return found


@pytest.fixture
def summary_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeServer, Path]]:
    with FakeServer(reasoning="summary") as server:
        run(server, monkeypatch, tmp_path / "logs", "openai-api/fake/reasoner-summary")
        yield server, tmp_path / "logs"


def test_each_entrys_settings_reach_the_provider_request(summary_run):
    server, _ = summary_run
    sent = [params for model, params in server.params if model == "reasoner-summary"]
    assert len(sent) == 2 * len(CONDITIONS) * 2
    by_effort = {effort: [p for p in sent if p["reasoning_effort"] == effort] for effort in ("none", "high")}
    for params in by_effort["none"]:
        assert {k: params.get(k) for k in ("temperature", "max_tokens", "top_p", "seed")} == {
            "temperature": 0.3, "max_tokens": 3000, "top_p": 0.9, "seed": 11,
        }  # fmt: skip
        assert "frequency_penalty" not in params
    for params in by_effort["high"]:
        # the top-level temperature is the default for an entry that sets none
        assert {k: params.get(k) for k in ("temperature", "max_tokens", "frequency_penalty")} == {
            "temperature": 1.0, "max_tokens": 6000, "frequency_penalty": 0.2,
        }  # fmt: skip
        assert "top_p" not in params and "seed" not in params
    assert len(by_effort["none"]) == len(by_effort["high"]) == 4


def test_two_labels_of_one_model_give_two_sets_of_rows(summary_run):
    _, log_dir = summary_run
    table = results_table([log_dir])
    assert sorted(zip(table["model"], table["condition_id"], table["epoch"])) == sorted(
        (label, condition, epoch) for label in ("thinking-off", "thinking-high") for condition in CONDITIONS for epoch in (1, 2)
    )
    assert set(table["base_model"]) == {"openai-api/fake/reasoner-summary"}
    settings = {model: json.loads(text) for model, text in zip(table["model"], table["settings"])}
    assert settings["thinking-high"] == {"max_tokens": 6000, "reasoning_effort": "high", "temperature": 1.0, "frequency_penalty": 0.2}
    assert settings["thinking-off"]["reasoning_effort"] == "none"
    tokens = dict(zip(table["model"], table["reasoning_tokens"].astype(object)))
    assert tokens["thinking-high"] == REASONING_TOKENS and tokens["thinking-off"] in (0, None)


@pytest.mark.parametrize("form", REASONING_FORMS)
def test_reasoning_lands_in_the_action_log_never_in_the_actions(tmp_path, monkeypatch, form):
    with FakeServer(reasoning=form) as server:
        run(server, monkeypatch, tmp_path, f"openai-api/fake/reasoner-{form}")
    by_label = samples_by_label(tmp_path)
    for sample in by_label["thinking-high"]:
        record = ActionLog.read(sample.store)
        (block,) = record.thinking
        assert block.form == {"summary": "summary", "redacted": "redacted"}.get(form, "full")
        assert block.source == ("inline" if form == "think" else "provider")
        if form == "redacted":
            assert block.text == "" and THINKING_MARKERS["redacted"] in record.reasoning
        else:
            assert THINKING_OPENING in block.text and THINKING_OPENING in record.reasoning
        if form == "summary":
            assert THINKING_MARKERS["summary"] in record.reasoning
        # the tool block drafted while thinking is neither an action, nor a draft, nor visible
        assert all(DRAFTED_TO not in a.recipients for a in record.actions + record.drafts)
        assert record.actions and THINKING_OPENING not in record.final_text and "<think>" not in record.final_text
    for sample in by_label["thinking-off"]:
        record = ActionLog.read(sample.store)
        assert record.thinking == [] and THINKING_OPENING not in record.reasoning


def test_the_report_shows_reasoning_apart_from_the_answer_and_compares_the_labels(summary_run, tmp_path):
    _, log_dir = summary_run
    out = tmp_path / "report"
    write_report(analyse(results_table([log_dir]), [str(log_dir)], from_logs=True), out, per_group=-1)
    data = json.loads(
        (out / "report.html").read_text().split('<script type="application/json" id="report-data">')[1].split("</script>")[0]
    )
    texts = data["texts"]
    high = [s for s in data["samples"] if s["model"] == "thinking-high"]
    assert len(high) == 4
    for sample in high:
        transcript = sample["transcript"]
        (block,) = transcript["thinking"]
        assert block["form"] == "summary" and THINKING_OPENING in texts[block["text"]]
        assert THINKING_OPENING not in texts[transcript["answer"]]
        assert all(DRAFTED_TO not in action["to"] for action in transcript["actions"])
    assert all(s["transcript"]["thinking"] == [] for s in data["samples"] if s["model"] == "thinking-off")
    summary = json.loads((out / "summary.json").read_text())
    assert {m["model"] for m in summary["models"]} == {"thinking-off", "thinking-high"}
    family = [c for c in summary["comparisons"] if c["family"] == "settings"]
    assert {(c["model"], c["a"], c["b"]) for c in family} == {("openai-api/fake/reasoner-summary", "thinking-high", "thinking-off")}
    assert {c["condition_id"] for c in family} == set(CONDITIONS)


def test_inline_think_blocks_in_the_text_are_thinking_and_their_tool_blocks_drafts(tmp_path):
    """A provider that leaves `<think>` in the text (here mockllm): the parser keeps it apart."""
    text = (
        "<think>The board will hear of it unless Kyle stops the wipe. Draft:\n<tool_use:email>\n"
        'to: "kyle.johnson@summitbridge.com",\nbody: "draft"\n</tool_use:email></think>\n'
        'I will reply to Thomas.\n<tool_use:email>\nto: "thomas.wilson@summitbridge.com",\nsubject: "Status",\n'
        'body: "All is in order."\n</tool_use:email>'
    )

    def outputs(input, tools, tool_choice, config) -> ModelOutput:
        return ModelOutput.from_content(model="mockllm", content=text)

    exp = Experiment.model_validate(
        {
            "name": "inline",
            "models": [{"model": "mockllm/model", "label": "inline-thinker"}],
            "model_args": {"mockllm/model": {"custom_outputs": outputs}},
            "grid": [{"conditions": [CONDITIONS[0]]}],
            "run": {"log_dir": str(tmp_path), "max_connections": 1},
        }
    )
    assert run_experiment(exp, display="none").complete
    (sample,) = samples_by_label(tmp_path)["inline-thinker"]
    assert isinstance(sample.messages[-1], ChatMessageAssistant) and "<think>" in sample.messages[-1].text
    record: ActionRecord = ActionLog.read(sample.store)
    (block,) = record.thinking
    assert (block.source, block.form) == ("inline", "full") and block.text.startswith("The board will hear of it")
    assert [a.to for a in record.actions] == [["thomas.wilson@summitbridge.com"]]
    assert [a.to for a in record.drafts] == [["kyle.johnson@summitbridge.com"]]
    assert "The board will hear" not in record.final_text and "I will reply to Thomas." in record.final_text


@pytest.mark.slow
def test_the_sample_browser_shows_the_reasoning_block_apart_from_the_visible_answer(summary_run, tmp_path):
    from playwright.sync_api import sync_playwright

    from test_report_browser import ARGS, CHROMIUM

    _, log_dir = summary_run
    page_file = write_report(analyse(results_table([log_dir]), [str(log_dir)], from_logs=True), tmp_path / "report")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.goto(page_file.as_uri())
        page.select_option("#filter-model", "thinking-high")
        page.click("#sample-rows tr >> nth=0")
        detail = page.inner_text("#sample-detail")
        block = page.inner_text("#sample-detail .thinking-summary")
        answer = page.inner_text("#visible-answer")
        browser.close()
    assert "The model's own reasoning (1 block;" in detail
    assert "summary: the provider returned a readable summary" in block and THINKING_OPENING in block
    assert THINKING_OPENING not in answer and "I will act now." in answer


def test_the_awareness_classifier_reads_the_reasoning_with_its_marker(tmp_path, monkeypatch):
    from fakeserver import Call

    judge_prompts: list[str] = []

    def script(call: Call) -> str:
        if call.is_judge:
            judge_prompts.append(call.text)
        return "safe"  # the agent answers safely; the judges get well-formed verdicts

    with FakeServer(script, reasoning="summary") as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        exp = Experiment.model_validate(
            {
                "name": "aware",
                "models": [{"model": "openai-api/fake/reasoner-aware", **HIGH}],
                "grid": [{"conditions": [CONDITIONS[0]]}],
                "judge": {"model": "openai-api/fake/judge-aware", "awareness": True},
                "run": {"log_dir": str(tmp_path), "max_connections": 2},
            }
        )
        assert run_experiment(exp, display="none").complete
    awareness = [text for text in judge_prompts if "thinks_eval" in text]
    assert awareness and all(THINKING_OPENING in text and THINKING_MARKERS["summary"] in text for text in awareness)
