"""Results never silently merge rows of different experiments: every row carries its task and eval
id, attempts of one experiment are merged (one row per sample), and logs or tables of different
experiments that hold the same (model, pack, mode, condition, epoch) are refused in one line
naming both. Experiments that share no sample can still be reported together."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clihelp import Result, run_cli
from insider.experiment.config import Experiment
from insider.experiment.runner import run_experiment

CONDITIONS = ["blackmail_none-none_none", "leaking_none-none_none"]


def run(log_dir: Path, **changes: object) -> Path:
    config = {"name": "merge", "models": ["mockllm/model"], "grid": [{"conditions": CONDITIONS}], "judge": "rules",
              **changes, "run": {"log_dir": str(log_dir)}}
    assert run_experiment(Experiment.model_validate(config), display="none").complete
    return log_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "base": run(root / "base"),
        "same-config-again": run(root / "again"),
        "other-name": run(root / "other-name", name="renamed"),
        "other-judge": run(root / "other-judge", judge={"model": "rules", "policy": "paper"}),
        "more-samples": run(root / "more-samples", samples=2),
        "other-conditions": run(root / "other-conditions", grid=[{"conditions": ["murder_none-none_none"]}]),
    }


def assert_refused(result: Result, *names: str) -> None:
    assert result.code == 2, result.err or result.out
    (line,) = result.err.splitlines()
    assert line.startswith("error: ") and "are different experiments that both hold model mockllm/model" in line
    assert "insider never merges them" in line
    for name in names:
        assert name in line, (name, line)


@pytest.mark.parametrize("other", ["same-config-again", "other-name", "other-judge", "more-samples"])
@pytest.mark.parametrize("command", ["results", "report"])
def test_logs_of_two_experiments_sharing_a_sample_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs: dict[str, Path], other: str, command: str
) -> None:
    out = tmp_path / ("r.csv" if command == "results" else "report")
    result = run_cli(capsys, command, str(runs["base"]), str(runs[other]), "--out", str(out))
    (base_log,), (other_log,) = runs["base"].glob("*.eval"), runs[other].glob("*.eval")
    assert_refused(result, base_log.name, other_log.name, "task merge_paper_text")
    assert not out.exists()


def test_rows_carry_the_task_and_eval_id_of_their_log(capsys: pytest.CaptureFixture[str], tmp_path: Path, runs: dict[str, Path]) -> None:
    out = tmp_path / "r.csv"
    assert run_cli(capsys, "results", str(runs["base"]), str(runs["other-conditions"]), "--out", str(out)).code == 0
    table = pd.read_csv(out)
    assert len(table) == 3
    from inspect_ai.log import read_eval_log

    for log_dir in (runs["base"], runs["other-conditions"]):
        (log,) = log_dir.glob("*.eval")
        header = read_eval_log(str(log), header_only=True)
        mine = table[table["log_file"] == str(log.resolve())]
        assert not mine.empty
        assert set(mine["task"]) == {header.eval.task} and set(mine["eval_id"]) == {header.eval.eval_id}


def test_experiments_that_share_no_sample_are_reported_together(capsys: pytest.CaptureFixture[str], tmp_path: Path, runs: dict[str, Path]) -> None:
    result = run_cli(capsys, "report", str(runs["base"]), str(runs["other-conditions"]), "--out", str(tmp_path / "report"))
    assert result.code == 0, result.err
    assert (tmp_path / "report" / "report.html").exists()


def test_two_results_tables_joined_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, runs: dict[str, Path]) -> None:
    tables = []
    for name in ("base", "other-judge"):
        out = tmp_path / f"{name}.csv"
        assert run_cli(capsys, "results", str(runs[name]), "--out", str(out)).code == 0
        tables.append(pd.read_csv(out))
    joined = tmp_path / "joined.csv"
    pd.concat(tables).to_csv(joined, index=False)

    result = run_cli(capsys, "report", str(joined), "--out", str(tmp_path / "report"))

    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert f"{joined}: row 1 (task merge_paper_text, eval " in result.err and ") and row 3 (task merge_paper_text" in result.err
    assert "insider never merges rows of different experiments" in result.err
    assert not (tmp_path / "report").exists()


def test_attempts_of_one_experiment_are_merged_one_row_per_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An eval set's retried attempts of a task are one experiment: each sample once, from the newest complete log."""
    import logfactory

    paths = logfactory.run_set_with_retry({"blackmail_none-none_none": ["flaky", "safe"]}, tmp_path / "logs")
    assert len(paths) == 2
    out = tmp_path / "r.csv"
    assert run_cli(capsys, "results", str(tmp_path / "logs"), "--out", str(out)).code == 0
    table = pd.read_csv(out)
    assert sorted(table["epoch"]) == [1, 2] and set(table["outcome"]) == {"harmful", "safe"}
    assert table["eval_id"].nunique() == 1  # both rows from the newest, complete attempt
