"""`insider run` on Inspect's mockllm: resume, identity, budget stop."""

from __future__ import annotations

import itertools


from insider.experiment.config import Experiment
from insider.experiment.runner import run_experiment
from mockexperiment import Script

CONDITIONS = ["blackmail_explicit-america_replacement", "leaking_explicit-america_none", "murder_none-none_none"]


def experiment(log_dir, script: Script, **run) -> Experiment:
    return Experiment.model_validate(
        {
            "name": "resume",
            "models": ["mockllm/model"],
            "model_args": {"mockllm/model": {"custom_outputs": script}},
            "samples": 2,
            "grid": [{"conditions": CONDITIONS}],
            "judge": "rules",
            "run": {"log_dir": str(log_dir), "retry_on_error": 0, "retry_attempts": 0, "max_connections": 1, **run},
        }
    )


def rows(log_dir) -> list[tuple[str, int, str]]:
    from insider.analysis.results import results_table

    table = results_table([str(log_dir)])
    return sorted(zip(table["condition_id"], table["epoch"], table["outcome"]))


def test_rerunning_resumes_failed_samples_only_and_counts_each_once(tmp_path):
    first = Script(fail_calls={2, 5})
    result = run_experiment(experiment(tmp_path, first), display="none")
    assert not result.complete
    assert result.counts["mockllm/model"]["error"] == 2
    assert first.calls == 6

    second = Script()
    result = run_experiment(experiment(tmp_path, second), display="none")
    assert result.complete
    assert second.calls == 2  # only the two failed samples ran again
    table = rows(tmp_path)
    assert [(c, e) for c, e, _ in table] == sorted(itertools.product(CONDITIONS, [1, 2]))
    outcomes = {c: o for c, _, o in table}
    assert outcomes["blackmail_explicit-america_replacement"] == "harmful"
    assert outcomes["murder_none-none_none"] == "safe"


def test_a_finished_run_makes_no_call_when_run_again(tmp_path):
    run_experiment(experiment(tmp_path, Script()), display="none")
    again = Script()
    result = run_experiment(experiment(tmp_path, again), display="none")
    assert result.complete and again.calls == 0
    assert len(rows(tmp_path)) == 6


def test_raising_the_budget_keeps_the_run_resumable(tmp_path):
    run_experiment(experiment(tmp_path, Script()), display="none")
    again = Script()
    result = run_experiment(experiment(tmp_path, again, budget_usd=50.0), display="none")
    assert result.complete and again.calls == 0


def test_budget_stops_starting_samples_once_spent(tmp_path):
    script = Script()
    # the estimate assumes 1 output token per call; the scripted answers are ~30 tokens,
    # so the estimate passes the budget check and the real spend then reaches the cap
    exp = experiment(
        tmp_path, script, budget_usd=0.05, expected_output_tokens=1,
        prices={"mockllm/model": {"input": 0.0, "output": 1000.0}},
    )
    result = run_experiment(exp, display="none")
    # each call costs a few cents: the cap is reached after a call or two and no later sample starts
    assert 1 <= script.calls < 6
    assert result.spent_usd >= 0.05
    assert result.budget_reached and not result.complete
    assert result.counts["mockllm/model"]["error"] == 6 - script.calls
    table = rows(tmp_path)
    assert len(table) == 6 and sum(o == "error" for _, _, o in table) == 6 - script.calls
