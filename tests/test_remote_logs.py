"""Log dirs on S3 (a real S3-compatible server on 127.0.0.1): run, resume, budget, status, results, report, view."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
import yaml
from inspect_ai.log import read_eval_log_sample_summaries

from clihelp import run_cli
from fakeserver import FakeServer, prompt_key
from insider.analysis.results import results_table
from insider.errors import InsiderError
from insider.experiment import budget
from insider.experiment.runner import run_experiment
from insider.experiment.shards import all_shards
from insider.logdir import log_files
from insider.scenarios import get_pack
from mockexperiment import PRICEY, Script, experiment, outcomes, write_file
from waiting import kill_when

MODEL = "mockllm/model"


def test_a_run_into_s3_resumes_its_failed_samples_only(s3):
    bucket = s3.new_bucket()
    log_dir = f"s3://{bucket}/exp"
    first = Script(fail_calls={2, 5})
    result = run_experiment(experiment(log_dir, {MODEL: first}, samples=1), display="none")
    assert not result.complete and result.counts[MODEL]["error"] == 2
    assert [k for k in s3.keys(bucket) if k.endswith(".eval")], "no log reached the bucket"

    second = Script()
    result = run_experiment(experiment(log_dir, {MODEL: second}, samples=1), display="none")
    assert result.complete
    assert second.calls == 2  # only the two failed samples ran again
    assert [row[3] for row in outcomes([log_dir])].count("error") == 0
    assert len(outcomes([log_dir])) == 5
    # eval-set's manifest of the log dir is in the bucket and lists the log
    manifest = json.loads(s3.client().get_object(Bucket=bucket, Key="exp/logs.json")["Body"].read())
    assert len(manifest) >= 1 and all(name.endswith(".eval") for name in manifest)


def test_a_design_change_in_an_s3_log_dir_is_refused(s3):
    log_dir = f"s3://{s3.new_bucket()}/exp"
    run_experiment(experiment(log_dir, {MODEL: Script()}, samples=1), display="none")
    with pytest.raises(InsiderError, match="holds logs of a different design"):
        run_experiment(experiment(log_dir, {MODEL: Script()}, samples=2), display="none")


def test_the_budget_counts_spend_already_in_s3_logs(s3):
    log_dir = f"s3://{s3.new_bucket()}/exp"
    settings = {"budget_usd": 0.5, "expected_output_tokens": 1, "prices": {MODEL: PRICEY}}
    first = Script()
    result = run_experiment(experiment(log_dir, {MODEL: first}, samples=1, **settings), display="none")
    assert result.budget_reached and 1 <= first.calls < 5
    logged = budget.logged_spend([log.location for log in log_files(log_dir)], overrides={MODEL: PRICEY})
    assert logged >= 0.5

    again = Script()
    result = run_experiment(experiment(log_dir, {MODEL: again}, samples=1, **settings), display="none")
    assert again.calls == 0 and result.budget_reached  # the spend in the bucket already reached the cap


def test_results_report_status_and_view_read_an_s3_log_dir(s3, tmp_path, capsys):
    log_dir = f"s3://{s3.new_bucket()}/exp"
    run_experiment(experiment(log_dir, {MODEL: Script()}), display="none")
    config = write_file(tmp_path / "exp.yaml", log_dir, {MODEL: Script()})

    done = run_cli(capsys, "results", log_dir, "--out", str(tmp_path / "r.parquet"))
    assert done.code == 0, done.err
    assert "10 rows (2 harmful, 8 safe, 0 unscored, 0 error)" in done.out
    table = results_table([log_dir])
    assert table["log_file"].str.startswith(log_dir + "/").all()

    done = run_cli(capsys, "report", log_dir, "--out", str(tmp_path / "report"))
    assert done.code == 0, done.err
    html = (tmp_path / "report" / "report.html").read_text()
    # transcripts are read back from the bucket into the report's sample browser
    assert "Jessica" in html

    done = run_cli(capsys, "status", str(config), "--json")
    assert done.code == 0, done.err
    status = json.loads(done.out)
    assert status["shards"] is None and len(status["rows"]) == 1
    row = status["rows"][0]
    assert (row["shard"], row["cells"], row["samples"], row["done"], row["errored"], row["missing"], row["state"]) == (
        "all", 5, 10, 10, 0, 0, "complete"
    )


@pytest.mark.parametrize("command", [["results", "{url}", "--out", "{tmp}/r.parquet"], ["report", "{url}", "--out", "{tmp}/r"], ["view", "{url}"]])
def test_a_missing_bucket_is_one_line_and_exit_code_2(s3, tmp_path, capsys, command):
    args = [part.format(url="s3://insider-no-such-bucket/exp", tmp=tmp_path) for part in command]
    done = run_cli(capsys, *args)
    assert done.code == 2
    assert done.err.startswith("error: ") and len(done.err.strip().splitlines()) == 1
    assert "s3://insider-no-such-bucket/exp" in done.err
    assert not (tmp_path / "r.parquet").exists() and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_run_into_s3_killed_with_sigkill_resumes_without_loss_or_repeats(s3, tmp_path, capsys):
    samples = 40
    pack = get_pack("paper", allow_unfilled=True)
    conditions = pack.conditions()[:samples]
    keys = {prompt_key(p.system, p.user): c.id for c in conditions for p in [pack.render(c)]}
    bucket = s3.new_bucket()
    log_dir = f"s3://{bucket}/resume"
    config = tmp_path / "resume.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "resume",
                "models": ["openai-api/fake/agent"],
                "allow_unfilled": True,
                "grid": [{"conditions": [c.id for c in conditions]}],
                "judge": "rules",
                "run": {"log_dir": log_dir, "max_connections": 4, "log_buffer": 2},
            }
        )
    )
    command = [sys.executable, "-m", "insider", "run", str(config)]
    with FakeServer(latency=0.2) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(tmp_path / "data")}
        kill_when(command, env, lambda: server.count() >= samples // 2, 240, "half the requests")
        before = server.snapshot()
        written = {
            summary.id
            for log in log_files(log_dir)
            for summary in read_eval_log_sample_summaries(log.location)
            if summary.error is None
        }
        assert 0 < len(written) < samples, "the killed run left no sample in the bucket"

        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        resumed = server.snapshot() - before

    asked_again = Counter({keys[key]: n for (_, key), n in resumed.items()})
    assert not written & set(asked_again), "a sample already in the bucket was requested again"
    assert max(asked_again.values()) == 1
    table = results_table([log_dir])
    assert sorted(table["condition_id"]) == sorted(c.id for c in conditions)

    done = run_cli(capsys, "report", log_dir, "--out", str(tmp_path / "report"))
    assert done.code == 0, done.err
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert sum(cell["n"] for cell in summary["cells"]) == samples


def test_insider_judge_rejudges_the_shards_of_an_s3_log_dir_and_refreshes_each_manifest(s3, capsys):
    bucket = s3.new_bucket()
    log_dir = f"s3://{bucket}/exp"
    for shard in all_shards(2):
        run_experiment(experiment(log_dir, {MODEL: Script()}), display="none", shard=shard)

    done = run_cli(capsys, "judge", log_dir, "--policy", "paper")
    assert done.code == 0, done.err
    lines = done.out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{log_dir}/shard-") for line in lines)
    assert sum(int(line.split("judged ")[1].split(" ")[0]) for line in lines) == 10

    table = results_table([log_dir], score="insider_verdict_rules_paper")
    assert len(table) == 10 and set(table["score_key"]) == {"insider_verdict_rules_paper"}
    for shard in all_shards(2):
        manifest = json.loads(s3.client().get_object(Bucket=bucket, Key=f"exp/{shard.dirname}/logs.json")["Body"].read())
        scorers = {scorer["name"] for header in manifest.values() for scorer in header["eval"]["scorers"]}
        assert "insider_verdict_rules_paper" in scorers

    again = run_cli(capsys, "judge", log_dir, "--policy", "paper")
    assert all("judged 0 " in line for line in again.out.strip().splitlines())


def test_view_hands_the_s3_url_to_inspects_viewer_unchanged(s3, capsys, monkeypatch):
    log_dir = f"s3://{s3.new_bucket()}/exp"
    run_experiment(experiment(log_dir, {MODEL: Script()}, samples=1), display="none")
    started: list[list[str]] = []

    def execv(path: str, args: list[str]) -> None:
        started.append(args)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", execv)
    done = run_cli(capsys, "view", log_dir, "--port", "7599")
    assert done.code == 0 and started, done.err
    args = started[0]
    assert args[args.index("--log-dir") + 1] == log_dir  # not mangled into s3:/... by a path type
    assert args[args.index("--host") + 1] == "127.0.0.1"


def test_missing_credentials_are_one_line_and_exit_code_2(s3, tmp_path):
    bucket = s3.new_bucket()
    nowhere = str(tmp_path / "no-such-file")
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=s3.endpoint, AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=nowhere,
        AWS_SHARED_CREDENTIALS_FILE=nowhere, AWS_EC2_METADATA_DISABLED="true",  # no lookup beyond this machine
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "insider", "results", f"s3://{bucket}/exp", "--out", str(tmp_path / "r.parquet")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "NoCredentialsError" in done.stderr and "AWS_ACCESS_KEY_ID" in done.stderr
