"""`insider status FILE`: done, errored, missing and spend per shard and overall, read from the logs."""

from __future__ import annotations

import json
from pathlib import Path

from clihelp import run_cli
from insider.experiment.runner import run_experiment
from insider.experiment.shards import Shard
from mockexperiment import PRICEY, Script, experiment, write_file

MODEL = "mockllm/model"
PRICES = {"prices": {MODEL: PRICEY}}


def _config(tmp_path: Path, log_dir: Path) -> Path:
    """The experiment file the runs below use (scripts live in code, so the file names none)."""
    return write_file(tmp_path / "exp.yaml", str(log_dir), {MODEL: Script()}, **PRICES)


def _status(capsys, *args: str) -> dict[str, dict]:
    done = run_cli(capsys, "status", *args, "--json")
    assert done.code == 0, done.err
    return {row["shard"]: row for row in json.loads(done.out)["rows"]}


def test_status_counts_done_errored_missing_and_spend_per_shard(tmp_path, capsys):
    log_dir = tmp_path / "logs"
    config = _config(tmp_path, log_dir)
    # shard 1 of 3 finishes; shard 2 fails its first two calls; shard 3 never runs
    run_experiment(experiment(str(log_dir), {MODEL: Script()}, **PRICES), display="none", shard=Shard(1, 3))
    run_experiment(experiment(str(log_dir), {MODEL: Script({1, 2})}, **PRICES), display="none", shard=Shard(2, 3))

    rows = _status(capsys, str(config))
    assert list(rows) == ["1/3", "2/3", "3/3", "all"]
    # 5 conditions x 2 epochs dealt to 3 shards: cells 2, 2, 1
    assert [(rows[s]["cells"], rows[s]["samples"]) for s in ("1/3", "2/3", "3/3")] == [(2, 4), (2, 4), (1, 2)]
    assert (rows["1/3"]["done"], rows["1/3"]["errored"], rows["1/3"]["missing"], rows["1/3"]["state"]) == (4, 0, 0, "complete")
    assert (rows["2/3"]["done"], rows["2/3"]["errored"], rows["2/3"]["missing"], rows["2/3"]["state"]) == (2, 2, 0, "incomplete")
    assert (rows["3/3"]["done"], rows["3/3"]["missing"], rows["3/3"]["state"], rows["3/3"]["logs"]) == (0, 2, "not started", 0)
    assert rows["3/3"]["spend_usd"] == 0 and rows["3/3"]["last_write_age"] is None
    assert (rows["all"]["samples"], rows["all"]["done"], rows["all"]["errored"], rows["all"]["missing"]) == (10, 6, 2, 2)
    # every answer costs dollars at these prices; "all" is the sum of the shards
    assert rows["1/3"]["spend_usd"] > 0 and rows["2/3"]["spend_usd"] > 0
    assert rows["all"]["spend_usd"] == rows["1/3"]["spend_usd"] + rows["2/3"]["spend_usd"]
    assert rows["all"]["state"] == "incomplete"

    # the errored samples run again, the missing shard runs: everything is done, nothing twice
    run_experiment(experiment(str(log_dir), {MODEL: Script()}, **PRICES), display="none", shard=Shard(2, 3))
    run_experiment(experiment(str(log_dir), {MODEL: Script()}, **PRICES), display="none", shard=Shard(3, 3))
    rows = _status(capsys, str(config))
    assert (rows["all"]["done"], rows["all"]["errored"], rows["all"]["missing"], rows["all"]["state"]) == (10, 0, 0, "complete")


def test_status_of_an_unsharded_run_is_one_row(tmp_path, capsys):
    log_dir = tmp_path / "logs"
    config = _config(tmp_path, log_dir)
    run_experiment(experiment(str(log_dir), {MODEL: Script({3})}, **PRICES), display="none")
    rows = _status(capsys, str(config))
    assert list(rows) == ["all"]
    assert (rows["all"]["done"], rows["all"]["errored"], rows["all"]["missing"]) == (9, 1, 0)


def test_status_before_any_run_shows_the_planned_split(tmp_path, capsys):
    config = _config(tmp_path, tmp_path / "not-yet")
    rows = _status(capsys, str(config), "--shards", "2")
    assert [(s, r["cells"], r["missing"], r["state"]) for s, r in rows.items()] == [
        ("1/2", 3, 6, "not started"), ("2/2", 2, 4, "not started"), ("all", 5, 10, "not started"),
    ]  # fmt: skip
    done = run_cli(capsys, "status", str(config))
    assert done.code == 0 and "unsharded" in done.out and "not started" in done.out


def test_status_prints_a_table_and_refuses_a_wrong_shard_count(tmp_path, capsys):
    log_dir = tmp_path / "logs"
    config = _config(tmp_path, log_dir)
    run_experiment(experiment(str(log_dir), {MODEL: Script()}, **PRICES), display="none", shard=Shard(1, 2))
    done = run_cli(capsys, "status", str(config))
    assert done.code == 0
    for text in ("scripted: 2 shards in", "1/2", "2/2", "all", "done", "errored", "missing", "spend", "not started", "complete"):
        assert text in done.out, text
    done = run_cli(capsys, "status", str(config), "--shards", "3")
    assert done.code == 2 and "holds the logs of 2 shards, not 3" in done.err
