"""`insider run FILE --shard I/N`: a deterministic 1/N of the cells, all shards under one log dir."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clihelp import run_cli
from fakeserver import FakeServer
from insider.analysis.results import results_table
from insider.errors import InsiderError
from insider.experiment.config import Experiment
from insider.experiment import budget
from insider.experiment.runner import run_experiment
from insider.experiment.shards import Shard, all_shards, cells, read_layout, shard_cells
from insider.scenarios import get_pack
from mockexperiment import CONDITIONS, PRICEY, Script, experiment, outcomes, spec

MODELS = ["mockllm/a", "mockllm/b"]


def scripts() -> dict[str, Script]:
    return {model: Script() for model in MODELS}


@pytest.mark.parametrize("text, index, count", [("2/3", 2, 3), (" 1 / 1 ", 1, 1), ("10/12", 10, 12)])
def test_a_shard_is_written_i_slash_n(text, index, count):
    assert Shard.parse(text) == Shard(index, count)
    assert str(Shard(index, count)) == f"{index}/{count}"


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/2/3"])
def test_a_shard_that_does_not_exist_is_one_line_and_exit_code_2(capsys, text):
    done = run_cli(capsys, "run", "configs/quickstart.yaml", "--shard", text)
    assert done.code == 2 and done.err.startswith("error: ") and len(done.err.strip().splitlines()) == 1
    assert "--shard" in done.err or "shard" in done.err


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 11, 12])
def test_shards_partition_the_cells_evenly_and_deterministically(count):
    exp = experiment("logs", scripts())
    everything = cells(exp)
    shares = [shard_cells(exp, shard) for shard in all_shards(count)]
    assert sorted(cell for share in shares for cell in share) == sorted(everything)  # every cell once
    assert len({cell for share in shares for cell in share}) == len(everything)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert shares == [shard_cells(experiment("elsewhere", scripts()), shard) for shard in all_shards(count)]


def test_shards_write_whole_cells_into_their_own_directories_and_together_equal_one_run(tmp_path):
    sharded, single = str(tmp_path / "sharded"), str(tmp_path / "single")
    for shard in all_shards(3):
        result = run_experiment(experiment(sharded, scripts()), display="none", shard=shard)
        assert result.complete and result.log_dir == str(tmp_path / "sharded" / shard.dirname)
    run_experiment(experiment(single, scripts()), display="none")

    layout = read_layout(sharded)
    assert not layout.unsharded and set(layout.shards) == set(all_shards(3))
    table = results_table([sharded])
    # a shard runs every epoch of its cells: each cell's rows come from one shard directory
    by_cell = table.groupby(["model", "condition_id"])["log_file"].apply(lambda files: {Path(f).parent.name for f in files})
    assert all(len(dirs) == 1 for dirs in by_cell)
    assert outcomes([sharded]) == outcomes([single])
    assert len(outcomes([sharded])) == len(MODELS) * len(CONDITIONS) * 2


def test_a_shard_run_again_resumes_only_its_own_failed_samples(tmp_path):
    log_dir = str(tmp_path / "logs")
    first = {"mockllm/a": Script(fail_calls={1}), "mockllm/b": Script()}
    result = run_experiment(experiment(log_dir, first), display="none", shard=Shard(1, 2))
    assert not result.complete
    run_experiment(experiment(log_dir, scripts()), display="none", shard=Shard(2, 2))
    again = scripts()
    result = run_experiment(experiment(log_dir, again), display="none", shard=Shard(1, 2))
    assert result.complete and sum(s.calls for s in again.values()) == 1
    assert len(outcomes([log_dir])) == 20


def test_more_shards_than_cells_leaves_the_extra_shards_nothing_to_do(tmp_path, capsys):
    exp = experiment(str(tmp_path / "logs"), {"mockllm/model": Script()}, conditions=CONDITIONS[:2])
    result = run_experiment(exp, display="none", shard=Shard(3, 3))
    assert result.complete and result.logs == []


@pytest.mark.parametrize(
    "first, then, message",
    [
        (None, Shard(1, 2), "holds the logs of an unsharded run"),
        (Shard(1, 2), None, "holds the logs of a sharded run (2 shards)"),
        (Shard(1, 2), Shard(1, 3), "every machine must use the same N"),
    ],
)
def test_an_unsharded_run_and_different_shard_counts_are_never_mixed(tmp_path, first, then, message):
    log_dir = str(tmp_path / "logs")
    run_experiment(experiment(log_dir, scripts()), display="none", shard=first)
    with pytest.raises(InsiderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_experiment(experiment(log_dir, scripts()), display="none", shard=then)


def test_a_shard_of_another_design_is_refused_before_any_call(tmp_path):
    log_dir = str(tmp_path / "logs")
    run_experiment(experiment(log_dir, scripts()), display="none", shard=Shard(1, 2))
    changed = scripts()
    with pytest.raises(InsiderError, match="shard-1-of-2 holds logs of a different design"):
        run_experiment(experiment(log_dir, changed, samples=3), display="none", shard=Shard(2, 2))
    assert sum(s.calls for s in changed.values()) == 0


def test_the_budget_counts_the_other_shards_spend(tmp_path):
    log_dir = str(tmp_path / "logs")
    prices = {model: PRICEY for model in MODELS}
    settings = {"budget_usd": 0.5, "expected_output_tokens": 1, "prices": prices}
    first = scripts()
    result = run_experiment(experiment(log_dir, first, **settings), display="none", shard=Shard(1, 2))
    assert result.budget_reached
    second = scripts()
    result = run_experiment(experiment(log_dir, second, **settings), display="none", shard=Shard(2, 2))
    assert result.budget_reached and sum(s.calls for s in second.values()) == 0


def _config(tmp_path: Path, name: str, log_dir: str, **run) -> Path:
    conditions = [c.id for c in get_pack("paper", allow_unfilled=True).conditions()[:9]]
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "sweep",
                "models": ["openai-api/fake/agent-a", "openai-api/fake/agent-b"],
                "samples": 2,
                "allow_unfilled": True,
                "grid": [{"conditions": conditions}],
                "judge": "rules",
                "run": {"log_dir": log_dir, "max_connections": 4, **run},
            }
        )
    )
    return path


def _insider(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "insider", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_three_shards_as_processes_into_one_s3_log_dir_equal_one_unsharded_run(s3, tmp_path, capsys):
    bucket = s3.new_bucket()
    sharded, single = f"s3://{bucket}/sharded", f"s3://{bucket}/single"
    config = _config(tmp_path, "sweep", sharded)
    with FakeServer(latency=0.05) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(tmp_path / "data")}
        processes = [_insider("run", str(config), "--shard", f"{i}/3", env=env) for i in (1, 2, 3)]
        processes.append(_insider("run", str(config), "--log-dir", single, env=env))
        for process in processes:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err[-3000:]
        requests = server.count()

    assert requests == 2 * 9 * 2 * 2  # every sample asked for once by the shards, once by the single run
    assert {key.split("/")[1] for key in s3.keys(bucket, "sharded/") if key.endswith(".eval")} == {
        "shard-1-of-3", "shard-2-of-3", "shard-3-of-3"
    }  # fmt: skip
    sharded_table, single_table = results_table([sharded]), results_table([single])
    key = ["model", "condition_id", "epoch"]
    assert not sharded_table.duplicated(key).any() and len(sharded_table) == 2 * 9 * 2
    assert sharded_table[key].values.tolist() == single_table[key].values.tolist()
    assert sharded_table["outcome"].value_counts().to_dict() == single_table["outcome"].value_counts().to_dict()
    assert (sharded_table["outcome"] == "harmful").any() and (sharded_table["outcome"] == "safe").any()

    done = run_cli(capsys, "status", str(config), "--json")
    assert done.code == 0, done.err
    rows = {row["shard"]: row for row in json.loads(done.out)["rows"]}
    assert list(rows) == ["1/3", "2/3", "3/3", "all"]
    assert [rows[s]["cells"] for s in ("1/3", "2/3", "3/3")] == [6, 6, 6]
    assert (rows["all"]["samples"], rows["all"]["done"], rows["all"]["errored"], rows["all"]["missing"]) == (36, 36, 0, 0)
    assert rows["all"]["state"] == "complete"


async def test_the_other_shards_spend_is_read_again_once_the_refresh_interval_has_passed():
    reads: list[float] = []

    async def others() -> float:
        reads.append(10.0 * (len(reads) + 2))
        return reads[-1]

    spend = budget.start_spend(25.0, earlier_usd=0.0, others_usd=10.0, others=others, refresh_seconds=0.2)
    await budget.refuse_if_spent()
    assert reads == [] and spend.others_usd == 10.0  # too soon to read again
    await asyncio.sleep(0.25)
    await budget.refuse_if_spent()
    assert spend.others_usd == 20.0
    await asyncio.sleep(0.25)
    with pytest.raises(budget.BudgetReached, match="budget of \\$25.00 reached"):
        await budget.refuse_if_spent()  # the other shards now hold $30


async def test_an_unreadable_other_shard_keeps_the_last_count(caplog):
    async def others() -> float:
        raise OSError("connection reset")

    spend = budget.start_spend(25.0, others_usd=5.0, others=others, refresh_seconds=0.01)
    await asyncio.sleep(0.02)
    await budget.refuse_if_spent()
    assert spend.others_usd == 5.0 and "connection reset" in caplog.text


def test_a_shard_rereads_the_other_shards_spend_from_s3_during_its_run(s3, caplog, monkeypatch):
    log_dir = f"s3://{s3.new_bucket()}/exp"
    prices = {model: PRICEY for model in MODELS}
    settings = {"budget_usd": 1e6, "budget_refresh": 0.001, "expected_output_tokens": 1, "prices": prices}
    run_experiment(experiment(log_dir, scripts(), **settings), display="none", shard=Shard(1, 2))
    first = budget.logged_spend(read_layout(log_dir).other_shards(Shard(2, 2)), overrides=prices)
    reads: list[float] = []
    refresh = budget.Spend.refresh

    async def counted(self: budget.Spend) -> None:
        await refresh(self)
        reads.append(self.others_usd)

    monkeypatch.setattr(budget.Spend, "refresh", counted)
    run_experiment(experiment(log_dir, scripts(), **settings), display="none", shard=Shard(2, 2))
    # every sample of shard 2 re-read shard 1's spend from the bucket, in the run's own event loop
    samples = len(shard_cells(experiment(log_dir, scripts()), Shard(2, 2))) * 2
    assert len(reads) == samples and set(reads) == {first} and first > 0
    assert "could not read the other shards' spend" not in caplog.text


@pytest.mark.slow
def test_shards_running_at_once_stop_near_one_shared_budget(tmp_path):
    """Two shards at once, each able to spend the whole budget alone: together they stop near it."""
    budget_usd, calls = 16.0, 30
    conditions = [c.id for c in get_pack("paper", allow_unfilled=True).conditions()[: 2 * calls]]
    config = tmp_path / "budget.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "budget",
                "models": ["openai-api/fake/agent"],
                "allow_unfilled": True,
                "grid": [{"conditions": conditions}],
                "judge": "rules",
                "run": {
                    "log_dir": str(tmp_path / "logs"), "max_connections": 2, "log_buffer": 1, "budget_usd": budget_usd,
                    "budget_refresh": 0.5, "expected_output_tokens": 1,
                    # the fake server's answers have 150 output tokens: $1 a call
                    "prices": {"openai-api/fake/*": {"input": 0.0, "output": 1_000_000 / 150}},
                },
            }
        )
    )
    with FakeServer(latency=1.0) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(tmp_path / "data")}
        processes = [_insider("run", str(config), "--shard", f"{i}/2", env=env) for i in (1, 2)]
        outputs = [process.communicate(timeout=600) for process in processes]
        requests = server.count()
    assert all("budget reached" in out for out, _ in outputs), outputs
    # alone, each shard would have spent the whole budget: $32 in all. Together they stop at the
    # budget plus what was in flight or not yet in a log (2 connections and ~1 refresh per shard)
    assert budget_usd <= requests <= budget_usd + 8


def test_two_entries_of_one_model_are_two_sets_of_cells_dealt_to_shards(tmp_path, capsys):
    log_dir = str(tmp_path / "logs")
    entries = [
        {"model": "mockllm/model", "label": "cold", "temperature": 0.0, "model_args": {"custom_outputs": Script()}},
        {"model": "mockllm/model", "label": "warm", "temperature": 1.0, "model_args": {"custom_outputs": Script()}},
    ]
    data = {**spec(log_dir, {}), "models": entries, "model_args": {}}
    for shard in all_shards(3):
        assert run_experiment(Experiment.model_validate(data), display="none", shard=shard).complete
    table = results_table([log_dir])
    assert sorted(set(table["model"])) == ["cold", "warm"]
    assert len(table) == 2 * len(CONDITIONS) * 2 and not table.duplicated(["model", "condition_id", "epoch"]).any()
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump({**data, "models": [{k: v for k, v in e.items() if k != "model_args"} for e in entries]}))
    done = run_cli(capsys, "status", str(config), "--json")
    rows = {row["shard"]: row for row in json.loads(done.out)["rows"]}
    assert (rows["all"]["samples"], rows["all"]["done"], rows["all"]["missing"]) == (20, 20, 0)
