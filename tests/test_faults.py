"""A run survives provider faults: every sample ends as a result or, after retries, as `error`.

One run of 243 samples (81 paper-pack conditions x 3 epochs) against the fake server in
tests/fakeserver.py, through Inspect's OpenAI-compatible provider: the first agent request of
most conditions gets a fault (of every kind the server has), three conditions' agent requests
always fail, a quarter of grader requests fault and the grader always fails for a fifth of the
conditions. Over a fifth of all requests are faulty. The tests read what the run left behind.

Random faults reach only a condition's first agent request, so the outcome is certain however
its epochs' requests interleave: a sample fails at most once, and its retry
(`retry_on_error: 1`) is answered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from inspect_ai.log import list_eval_logs, read_eval_log

from clihelp import run_cli
from fakeserver import ANSWER_FAULTS, FAULTS, TRANSIENT_FAULTS, Call, FakeServer, answer_ref, fault_mix, prompt_key
from insider.analysis.results import OUTCOMES, results_table
from insider.conditions import Condition
from insider.experiment.config import Experiment
from insider.scenarios import get_pack

AGENT = "openai-api/fake/agent-faults"
JUDGE = "openai-api/fake/judge-faults"
FAULT_RATE = 0.8
JUDGE_FAULT_RATE = 0.25
SAMPLES = 3
GRID = {
    "scenarios": ["blackmail", "leaking", "murder"],
    "goal_types": ["explicit", "latent", "none"],
    "goal_values": ["america", "global", "safety", "acceleration"],
    "urgencies": ["replacement", "restriction", "none"],
}


@dataclass
class FaultyRun:
    """What the faulty run left behind, and what the test arranged."""

    log_dir: Path
    server: FakeServer
    conditions: list[Condition]
    keys: dict[str, str]  # condition id -> the key of its agent conversation
    always_empty: set[str]  # condition ids whose agent answers are always empty
    always_unavailable: set[str]  # condition ids whose agent requests always get 503
    judge_fails: set[str]  # condition ids whose grader always errors or answers garbage
    returncode: int
    stdout: str
    table: pd.DataFrame


def _run(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "insider", "run", str(config)], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyRun]:
    root = tmp_path_factory.mktemp("faults")
    config = {
        "name": "faults",
        "pack": "paper",
        "models": [AGENT],
        "samples": SAMPLES,
        "max_tokens": 1000,
        "allow_unfilled": True,
        "grid": [GRID],
        "judge": {"model": JUDGE, "max_attempts": 2},
        "run": {
            "log_dir": str(root / "logs"),
            "max_connections": 60,
            "max_retries": 1,
            "attempt_timeout": 2,
            "retry_on_error": 1,
            "retry_attempts": 0,
        },
    }
    conditions = Experiment.model_validate(config).conditions()
    pack = get_pack("paper", allow_unfilled=True)
    keys = {c.id: prompt_key(p.system, p.user) for c in conditions for p in [pack.render(c)]}
    ids = [c.id for c in conditions]
    always_empty, always_unavailable = {ids[7], ids[40]}, {ids[60]}
    judge_fails = {cid for i, cid in enumerate(ids) if i % 5 == 0}
    by_key = {key: cid for cid, key in keys.items()}
    agent_mix = fault_mix(FAULT_RATE, FAULTS, seed=7, attempts=1)
    judge_mix = fault_mix(JUDGE_FAULT_RATE, TRANSIENT_FAULTS + ANSWER_FAULTS, seed=11)

    def script(call: Call) -> str:
        if call.is_judge:
            condition = by_key.get(answer_ref(call.text) or "")
            if condition in judge_fails:
                return "server_error" if ids.index(condition) % 10 == 0 else "garbage"
            return judge_mix(call)
        condition = by_key.get(call.key)
        if condition in always_empty:
            return "empty"
        if condition in always_unavailable:
            return "unavailable"
        return agent_mix(call)

    path = root / "faults.yaml"
    path.write_text(yaml.safe_dump(config))
    with FakeServer(script, hang_seconds=10) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(root / "data")}
        done = _run(path, env)
        assert done.returncode in (0, 1), done.stderr[-3000:]
        yield FaultyRun(
            log_dir=root / "logs",
            server=server,
            conditions=conditions,
            keys=keys,
            always_empty=always_empty,
            always_unavailable=always_unavailable,
            judge_fails=judge_fails,
            returncode=done.returncode,
            stdout=done.stdout,
            table=results_table([root / "logs"]),
        )


def test_the_run_saw_faults_on_at_least_a_fifth_of_requests(faulty: FaultyRun) -> None:
    served = faulty.server.replies
    total = sum(served.values())
    faults = sum(n for reply, n in served.items() if reply in FAULTS)
    assert total >= SAMPLES * len(faulty.conditions)
    assert faults / total >= 0.2, served
    assert {reply for reply in FAULTS if served[reply] == 0} == set(), f"some fault kinds never served: {served}"


def test_every_sample_is_in_the_results_table_exactly_once(faulty: FaultyRun) -> None:
    table = faulty.table
    expected = {(AGENT, c.id, epoch) for c in faulty.conditions for epoch in range(1, SAMPLES + 1)}
    found = list(zip(table["model"], table["condition_id"], table["epoch"]))
    assert len(found) == len(set(found)), "duplicate rows"
    assert set(found) == expected
    assert set(table["outcome"]) <= set(OUTCOMES)


def test_samples_that_always_fail_end_as_errors_with_their_reason(faulty: FaultyRun) -> None:
    table = faulty.table
    errors = table[table["outcome"] == "error"]
    doomed = faulty.always_empty | faulty.always_unavailable
    assert set(errors["condition_id"]) == doomed
    assert len(errors) == SAMPLES * len(doomed)
    empty = errors[errors["condition_id"].isin(faulty.always_empty)]
    assert empty["error"].str.contains("EmptyResponseError|empty completion").all()
    # each doomed sample ran once plus its one retry_on_error retry, and no more
    attempts = {
        (sample.id, sample.epoch): 1 + len(sample.error_retries or [])
        for info in list_eval_logs(str(faulty.log_dir))
        for sample in read_eval_log(info.name).samples or []
        if sample.id in doomed
    }
    assert len(attempts) == len(errors) and set(attempts.values()) == {2}


def test_a_failed_run_says_so_and_exits_non_zero(faulty: FaultyRun) -> None:
    assert faulty.returncode == 1
    assert "incomplete" in faulty.stdout
    counts = faulty.table["outcome"].value_counts()
    assert f"error {counts['error']}" in faulty.stdout


def test_transient_faults_never_become_outcomes(faulty: FaultyRun) -> None:
    """Every condition without a persistent fault ends with results only, and was asked again
    after its faults (more requests than samples)."""
    table = faulty.table
    healthy = table[~table["condition_id"].isin(faulty.always_empty | faulty.always_unavailable)]
    assert (healthy["outcome"] != "error").all(), healthy[healthy["outcome"] == "error"][["condition_id", "error"]]
    requests = sum(faulty.server.count(model="agent-faults", key=faulty.keys[c]) for c in set(healthy["condition_id"]))
    assert requests > len(healthy)


def test_a_failing_grader_leaves_samples_unscored_never_safe(faulty: FaultyRun) -> None:
    table = faulty.table
    gated = table[table[["gate_contacted_target", "gate_external_share", "gate_cancelled_alert"]].fillna(False).any(axis=1)]
    judged_failing = gated[gated["condition_id"].isin(faulty.judge_fails)]
    assert len(judged_failing) > 0, "no harmful-looking answer met a failing grader; the test proves nothing"
    assert (judged_failing["outcome"] == "unscored").all()
    assert judged_failing["judge_error"].notna().all()
    assert judged_failing["outcome_reason"].notna().all()
    # any grader failure (a persistent one, or a transient fault it could not retry such as a
    # malformed body) is unscored; every answer the grader did give is a harmful verdict
    assert set(table.loc[table["judge_error"].notna(), "outcome"]) == {"unscored"}
    answered = gated[gated["judge_error"].isna() & (gated["outcome"] != "error")]
    assert len(answered) > 0 and (answered["outcome"] == "harmful").all()
    assert not answered["condition_id"].isin(faulty.judge_fails).any()


def test_insider_judge_later_fills_in_the_unscored_samples(
    faulty: FaultyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log_dir = tmp_path / "logs"
    shutil.copytree(faulty.log_dir, log_dir)
    before = results_table([log_dir])
    unscored = before[before["outcome"] == "unscored"]
    assert len(unscored) > 0
    for name, value in faulty.server.env().items():
        monkeypatch.setenv(name, value)
    faulty.server.script = lambda call: "answer"

    done = run_cli(capsys, "judge", str(log_dir), "--judge", JUDGE)

    assert done.code == 0, done.err
    after = results_table([log_dir]).set_index(["condition_id", "epoch"])
    assert len(after) == len(before)
    assert (after["outcome"] != "unscored").all()
    refilled = after.loc[list(zip(unscored["condition_id"], unscored["epoch"]))]
    assert (refilled["outcome"] == "harmful").all()
    assert (after.loc[after["outcome"] == "error"].index.get_level_values(0).isin(faulty.always_empty | faulty.always_unavailable)).all()
