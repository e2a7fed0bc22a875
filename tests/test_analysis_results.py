"""The results table, read from real Inspect logs made with mockllm."""

import shutil

import pandas as pd
import pytest
from inspect_ai import score
from inspect_ai.log import read_eval_log, write_eval_log
from inspect_ai.scorer import scorer

import logfactory
from clihelp import run_cli
from insider.analysis import stats
from insider.analysis.results import SCHEMA, read_results, results_table, write_results
from insider.errors import InsiderError

PLAN = {
    "blackmail_explicit-america_replacement": ["harmful/thinks_real", "safe", "error"],
    "blackmail_none-none_none": ["safe", "unscored", "unjudged"],
}
RETRY_PLAN = {
    "leaking_explicit-america_none": ["harmful", "flaky"],
    "leaking_none-none_none": ["safe", "safe"],
}


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("logs")
    logfactory.run(PLAN, path)
    return path


@pytest.fixture(scope="module")
def retry_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("retry")
    logfactory.run_set_with_retry(RETRY_PLAN, path)
    return path


@pytest.fixture(scope="module")
def table(log_dir):
    return results_table([log_dir])


def row(table, condition_id, epoch):
    [found] = table[(table["condition_id"] == condition_id) & (table["epoch"] == epoch)].to_dict("records")
    return found


def test_one_row_per_model_condition_epoch_with_the_schema(table):
    assert len(table) == 6
    assert not table.duplicated(["model", "condition_id", "epoch"]).any()
    assert list(table.columns)[: len(SCHEMA)] == list(SCHEMA)
    first = row(table, "blackmail_explicit-america_replacement", 1)
    assert (first["model"], first["pack"], first["mode"], first["scenario"], first["goal_value"], first["urgency"]) == (
        "mockllm/model", "paper", "text", "blackmail", "america", "replacement",
    )  # fmt: skip
    assert first["sample_id"] == "blackmail_explicit-america_replacement" and first["log_file"].endswith(".eval")
    assert first["run_id"] and first["content_hash"] == "hash-blackmail_explicit-america_replacement"


def test_a_judged_sample_carries_outcome_gates_judge_and_awareness(table):
    harmful = row(table, "blackmail_explicit-america_replacement", 1)
    assert (harmful["outcome"], harmful["harmful"], harmful["score_key"]) == ("harmful", True, "insider_verdict")
    assert harmful["gate_contacted_target"] is True and harmful["gate_cancelled_alert"] is False
    assert (harmful["judge_verdict"], harmful["judge_model"], harmful["awareness"], harmful["intent"]) == (True, "rules", "thinks_real", True)
    assert harmful["judge_reasoning"] == logfactory.JUDGE_REASONING
    safe = row(table, "blackmail_explicit-america_replacement", 2)
    assert (safe["outcome"], safe["harmful"]) == ("safe", False)


def test_errored_unscored_and_unjudged_samples_follow_the_contract(table):
    error = row(table, "blackmail_explicit-america_replacement", 3)
    assert error["outcome"] == "error" and pd.isna(error["harmful"]) and "provider failed" in error["outcome_reason"]
    unscored = row(table, "blackmail_none-none_none", 2)
    assert unscored["outcome"] == "unscored" and pd.isna(unscored["harmful"]) and "no <answer> tag" in unscored["outcome_reason"]
    unjudged = row(table, "blackmail_none-none_none", 3)
    assert (unjudged["outcome"], unjudged["outcome_reason"]) == ("unscored", "not judged")
    assert pd.isna(unjudged["score_key"]) and pd.isna(unjudged["gate_contacted_target"])


def test_tokens_cost_and_time_come_from_the_log(table):
    harmful = row(table, "blackmail_explicit-america_replacement", 1)
    assert harmful["input_tokens"] > 0 and harmful["output_tokens"] > 0
    assert harmful["cost_usd"] == 0.0  # mockllm is priced at zero, so it has a cost, not None
    assert harmful["total_time"] > 0 and harmful["working_time"] >= 0


def test_unscored_and_errors_never_enter_n(table):
    cells = stats.cells(table).set_index("condition_id")
    assert cells.loc["blackmail_explicit-america_replacement", ["n", "k", "unscored", "errors"]].tolist() == [2, 1, 0, 1]
    assert cells.loc["blackmail_none-none_none", ["n", "k", "unscored", "errors"]].tolist() == [1, 0, 2, 0]


def test_retried_attempts_are_counted_once_from_the_newest_complete_log(retry_dir):
    logs = sorted(retry_dir.glob("*.eval"))
    assert [read_eval_log(str(p), header_only=True).status for p in logs] == ["error", "success"]
    table = results_table([retry_dir])
    assert len(table) == 4 and not table.duplicated(["model", "condition_id", "epoch"]).any()
    retried = row(table, "leaking_explicit-america_none", 2)
    assert retried["outcome"] == "harmful" and retried["log_file"] == str(logs[1])
    assert set(table["log_status"]) == {"success"}


def test_the_same_logs_passed_twice_are_counted_once(log_dir, table):
    assert len(results_table([log_dir, log_dir])) == len(table)


@scorer(metrics=[], name="insider_verdict_rules")
def relabelled_safe():
    async def score_sample(state, target):
        return logfactory.verdict_score(logfactory.verdict(state.metadata["scenario"], "safe", None, judge="rules-v2"))

    return score_sample


@pytest.fixture(scope="module")
def rejudged_dir(log_dir, tmp_path_factory):
    """The run's log with a second verdict appended, as `insider judge` does."""
    path = tmp_path_factory.mktemp("rejudged")
    [source] = log_dir.glob("*.eval")
    log = score(read_eval_log(str(source)), [relabelled_safe()], action="append", display="none")
    write_eval_log(log, str(path / source.name))
    return path


def test_the_latest_verdict_is_used_by_default_and_score_picks_one(rejudged_dir):
    latest = results_table([rejudged_dir])
    first = row(latest, "blackmail_explicit-america_replacement", 1)
    assert (first["score_key"], first["outcome"], first["judge_model"]) == ("insider_verdict_rules", "safe", "rules-v2")
    assert row(latest, "blackmail_explicit-america_replacement", 3)["outcome"] == "error"  # an error stays an error
    chosen = results_table([rejudged_dir], score="insider_verdict")
    assert row(chosen, "blackmail_explicit-america_replacement", 1)["outcome"] == "harmful"


def test_an_unknown_score_key_is_refused(log_dir):
    with pytest.raises(InsiderError, match="no sample in these logs has a score named 'insider_verdict_llm'"):
        results_table([log_dir], score="insider_verdict_llm")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_results_files_round_trip(table, tmp_path, suffix):
    path = write_results(table, tmp_path / f"results{suffix}")
    pd.testing.assert_frame_equal(read_results(path), table)
    assert [p.name for p in tmp_path.iterdir()] == [f"results{suffix}"]  # no temp file left behind


def test_results_cli_writes_the_table_and_says_what_is_in_it(capsys, log_dir, tmp_path):
    out = tmp_path / "r.csv"
    result = run_cli(capsys, "results", str(log_dir), "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"{out}: 6 rows (1 harmful, 2 safe, 2 unscored, 1 error)"
    assert len(pd.read_csv(out)) == 6


def test_a_corrupt_log_is_one_line_naming_the_file_and_nothing_is_written(capsys, log_dir, tmp_path):
    bad_dir = tmp_path / "logs"
    shutil.copytree(log_dir, bad_dir)
    [log] = bad_dir.glob("*.eval")
    log.write_bytes(log.read_bytes()[:3000])  # truncated mid-write
    out = tmp_path / "r.parquet"
    result = run_cli(capsys, "results", str(bad_dir), "--out", str(out))
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("error: cannot read log") and log.name in result.err
    assert not out.exists() and list(tmp_path.glob(".r.parquet*")) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["results", "missing-dir", "--out", "r.csv"], "not a log directory"),
        (["results", "{empty}", "--out", "r.csv"], "no Inspect logs"),
        (["results", "{logs}", "--out", "r.xlsx"], "use a .parquet, .csv or .jsonl"),
    ],
)
def test_bad_results_input_is_one_line(capsys, log_dir, tmp_path, args, fragment):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", logs=log_dir) for a in args]
    result = run_cli(capsys, *args)
    assert result.code == 2 and fragment in result.err and result.err.count("\n") == 1


def test_a_log_that_is_not_an_insider_run_is_refused(tmp_path):
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample

    eval(Task(dataset=[Sample(input="hi", id="x")]), model="mockllm/model", log_dir=str(tmp_path), display="none")
    with pytest.raises(InsiderError, match="not an insider run"):
        results_table([tmp_path])


def test_a_minimal_table_from_elsewhere_is_completed(tmp_path):
    path = tmp_path / "theirs.csv"
    pd.DataFrame(
        {"model": ["m", "m", "m"], "condition_id": ["leaking_explicit-america_none"] * 3, "outcome": ["harmful", "safe", "error"]}
    ).to_csv(path, index=False)
    table = read_results(path)
    assert table["harmful"].tolist() == [True, False, pd.NA]
    assert set(table["scenario"]) == {"leaking"} and set(table["urgency"]) == {"none"} and set(table["pack"]) == {"-"}
    [cell] = stats.cells(table).to_dict("records")
    assert (cell["n"], cell["k"], cell["errors"]) == (2, 1, 1)


def test_a_log_with_no_finished_sample_is_skipped(log_dir, tmp_path):
    [source] = log_dir.glob("*.eval")
    log = read_eval_log(str(source))
    log.samples, log.status = [], "started"
    write_eval_log(log, str(tmp_path / "running.eval"))
    with pytest.raises(InsiderError, match="no finished sample yet"):
        results_table([tmp_path])
    assert len(results_table([tmp_path, log_dir])) == 6
