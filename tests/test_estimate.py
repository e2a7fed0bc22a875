"""Pre-flight estimate, price arithmetic, and the checks that run before any model call."""

import pytest
import tiktoken
from inspect_ai.model import ModelUsage

from insider.errors import InsiderError
from insider.experiment import budget
from insider.experiment.config import Experiment
from insider.experiment.estimate import MESSAGE_OVERHEAD, estimate_experiment
from insider.experiment.pricing import cost_usd, price_for
from insider.experiment.runner import prepare, run_experiment
from insider.experiment.tasks import render_all

CONDITION = "blackmail_explicit-america_replacement"


def experiment(**overrides) -> Experiment:
    data = {
        "name": "t",
        "models": ["mockllm/model"],
        "samples": 3,
        "max_tokens": 500,
        "grid": [{"conditions": [CONDITION]}],
        "run": {"log_dir": "unused", "max_connections": 1, "expected_output_tokens": 200,
                "prices": {"mockllm/model": {"input": 1.0, "output": 2.0, "cache_read": 0.5}}},
    }
    data.update(overrides)
    return Experiment.model_validate(data)


def test_input_tokens_are_counted_with_tiktoken_on_the_rendered_prompt():
    exp = experiment()
    prompts = render_all("paper", [CONDITION])
    enc = tiktoken.get_encoding("o200k_base")
    per_call = len(enc.encode(prompts[0].system)) + len(enc.encode(prompts[0].user)) + 2 * MESSAGE_OVERHEAD
    est = estimate_experiment(exp, prompts)
    (row,) = est.rows
    assert row.samples == 3 and row.calls == 3
    assert row.input_tokens == 3 * per_call
    assert 1500 < per_call < 4000  # the published prompts are a few thousand tokens


def test_cost_uses_cache_reads_for_repeated_epochs_and_max_tokens_for_the_bound():
    exp = experiment(models=["anthropic/claude-x"],
                     run={"max_connections": 1, "expected_output_tokens": 200,
                          "prices": {"anthropic/claude-x": {"input": 1.0, "output": 2.0, "cache_read": 0.5}}})
    prompts = render_all("paper", [CONDITION])
    (row,) = estimate_experiment(exp, prompts).rows
    per = row.input_tokens // 3
    # one connection: the first epoch misses the cache, the other two read from it
    assert row.cached_input_tokens == 2 * per
    assert row.cost_expected_usd == pytest.approx((per * 1.0 + 2 * per * 0.5 + 3 * 200 * 2.0) / 1e6)
    assert row.cost_max_usd == pytest.approx((per * 1.0 + 2 * per * 0.5 + 3 * 500 * 2.0) / 1e6)


def test_providers_without_prompt_caching_get_no_cache_share():
    (row,) = estimate_experiment(experiment(), render_all("paper", [CONDITION])).rows
    assert row.cached_input_tokens == 0


def test_an_llm_judge_adds_a_row_and_rules_do_not():
    prompts = render_all("paper", [CONDITION])
    assert [r.role for r in estimate_experiment(experiment(), prompts).rows] == ["agent"]
    with_judge = estimate_experiment(experiment(judge="openai/gpt-4.1"), prompts)
    assert [r.role for r in with_judge.rows] == ["agent", "judge"]
    assert with_judge.rows[1].calls == 3


def test_a_panel_is_priced_one_call_per_member_per_judged_sample():
    prompts = render_all("paper", [CONDITION])
    judge = {"models": ["openai/gpt-4.1", "anthropic/claude-3-7-sonnet-20250219", "rules"], "policy": "paper"}
    est = estimate_experiment(experiment(judge=judge, models=["mockllm/model", "mockllm/other"]), prompts)
    judges = [r for r in est.rows if r.role == "judge"]
    assert [r.model for r in judges] == ["openai/gpt-4.1", "anthropic/claude-3-7-sonnet-20250219"]
    assert all(r.calls == 2 * 3 and r.samples == 6 for r in judges)  # 2 agent models x 3 samples, no awareness
    single = [r for r in estimate_experiment(experiment(judge="openai/gpt-4.1", models=["mockllm/model", "mockllm/other"]), prompts).rows if r.role == "judge"]
    assert judges[0].cost_expected_usd > 0 and single[0].calls == judges[0].calls
    assert any("per panel member" in a for a in est.assumptions)


def test_the_judge_prompt_is_counted_from_the_prompt_set_and_awareness_adds_a_call():
    prompts = render_all("paper", [CONDITION])
    study = [r for r in estimate_experiment(experiment(judge={"model": "openai/gpt-4.1", "policy": "paper"}), prompts).rows if r.role == "judge"][0]
    insider = [r for r in estimate_experiment(experiment(judge={"model": "openai/gpt-4.1", "prompts": "insider"}), prompts).rows if r.role == "judge"][0]
    assert study.input_tokens != insider.input_tokens  # the two prompt sets differ in length
    aware = [r for r in estimate_experiment(experiment(judge={"model": "openai/gpt-4.1", "awareness": True}), prompts).rows if r.role == "judge"][0]
    assert aware.calls == 2 * insider.calls and aware.input_tokens > insider.input_tokens


def test_unpriced_models_are_named_not_counted_as_free():
    est = estimate_experiment(experiment(models=["together/some-new-model"], run={}), render_all("paper", [CONDITION]))
    assert est.cost_expected_usd is None and est.unpriced == ["together/some-new-model"]


def test_price_table_matches_case_insensitively_and_overrides_win():
    assert price_for("together/deepseek-ai/DeepSeek-R1") is not None
    assert price_for("openai/gpt-4.1", {"openai/*": {"input": 9, "output": 9}}).input == 9
    assert cost_usd("openai/gpt-4.1", 1_000_000, 0) == pytest.approx(2.0)
    assert cost_usd("openai/gpt-4.1", 0, 0, cache_read_tokens=1_000_000, batch=True) == pytest.approx(0.25)


def test_budget_below_the_estimate_refuses_before_any_call(tmp_path):
    exp = experiment(run={"log_dir": str(tmp_path / "logs"), "budget_usd": 0.001,
                          "prices": {"mockllm/model": {"input": 1000.0, "output": 1000.0}}})
    with pytest.raises(InsiderError, match=r"estimated cost \$.* exceeds run.budget_usd \$0.00"):
        run_experiment(exp, display="none")
    assert not (tmp_path / "logs").exists()


def test_unknown_provider_is_refused_in_one_line():
    with pytest.raises(InsiderError, match=r"models\[0\]: unknown model provider 'nosuch'"):
        prepare(experiment(models=["nosuch/model"]))


def test_model_without_provider_prefix_is_refused():
    with pytest.raises(InsiderError, match="needs a provider prefix"):
        prepare(experiment(models=["gpt-4.1"]))


def test_missing_api_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AZUREAI_OPENAI_API_KEY", raising=False)
    with pytest.raises(InsiderError) as info:
        prepare(experiment(models=["openai/gpt-4.1"]))
    assert "OPENAI_API_KEY" in str(info.value) and "[bold]" not in str(info.value)
    # an estimate does not need the key
    assert prepare(experiment(models=["openai/gpt-4.1"]), require_keys=False).rows[0].model == "openai/gpt-4.1"


def test_prompt_longer_than_the_context_is_refused_with_both_numbers(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with pytest.raises(InsiderError) as info:
        prepare(experiment(models=["openai/gpt-3.5-turbo"], max_tokens=4000))
    message = str(info.value)
    assert "4096-token context" in message and "max_tokens 4000" in message and "never truncated" in message


def test_spend_counts_priced_calls_and_a_zero_budget_allows_free_models():
    spend = budget.Spend(budget_usd=0.0)
    spend.add("insider-local/smollm2", ModelUsage(input_tokens=5000, output_tokens=500))
    assert spend.total_usd == 0 and not spend.exhausted
    spend.add("openai/gpt-4.1", ModelUsage(input_tokens=1000, output_tokens=0))
    assert spend.exhausted
    spend.add("together/unknown", ModelUsage(input_tokens=10))
    assert spend.unpriced_models == {"together/unknown"}


def test_local_model_prompts_are_counted_exactly_and_refused_before_any_call():
    exp = experiment(models=["insider-local/smollm2"], max_tokens=7000, run={})
    with pytest.raises(InsiderError) as info:
        prepare(exp)
    message = str(info.value)
    assert message.startswith("models[0]: 1 of 1 prompts do not fit with max_tokens 7000 in the 8192-token context of insider-local/smollm2")
    assert f"the tightest is {CONDITION}" in message
    assert prepare(experiment(models=["insider-local/smollm2"], max_tokens=256, run={})).rows[0].calls == 3
