"""A run killed with SIGKILL half-way resumes with the same command, losing and repeating nothing.

Each of the 120 samples is its own paper-pack condition (one epoch), so the fake server's count
per conversation key is the count per sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml
from inspect_ai.log import list_eval_logs, read_eval_log_sample_summaries

from fakeserver import FakeServer, prompt_key
from insider.analysis.results import results_table
from insider.scenarios import get_pack
from waiting import kill_when

AGENT = "openai-api/fake/agent-resume"
SAMPLES = 120


def _command(config: Path) -> list[str]:
    return [sys.executable, "-m", "insider", "run", str(config)]


def test_a_killed_run_resumes_without_loss_duplicates_or_repeated_requests(tmp_path: Path) -> None:
    pack = get_pack("paper", allow_unfilled=True)
    conditions = pack.conditions()[:SAMPLES]
    keys = {c.id: prompt_key(p.system, p.user) for c in conditions for p in [pack.render(c)]}
    config = tmp_path / "resume.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "resume",
                "pack": "paper",
                "models": [AGENT],
                "samples": 1,
                "allow_unfilled": True,
                "grid": [{"conditions": [c.id for c in conditions]}],
                "judge": "rules",
                "run": {"log_dir": str(tmp_path / "logs"), "max_connections": 10},
            }
        )
    )
    with FakeServer(latency=0.2) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(tmp_path / "data")}
        kill_when(_command(config), env, lambda: server.count() >= SAMPLES // 2, 240, "half the requests")
        before = server.snapshot()

        # what the killed run had written to its log
        logs = list_eval_logs(str(tmp_path / "logs"))
        assert len(logs) == 1
        written = {summary.id for summary in read_eval_log_sample_summaries(logs[0].name) if summary.error is None}
        assert 0 < len(written) < SAMPLES

        again = subprocess.run(_command(config), env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:]
        resumed = server.snapshot() - before

    by_key = {key: cid for cid, key in keys.items()}
    requested_first = {by_key[key] for (_, key) in before}
    requested_again = Counter({by_key[key]: n for (_, key), n in resumed.items()})
    # nothing written to the log was asked for again
    assert not written & set(requested_again)
    # everything the first run never asked for was asked for exactly once
    assert all(requested_again[c.id] == 1 for c in conditions if c.id not in requested_first)
    # and nothing twice
    assert max(requested_again.values()) == 1

    table = results_table([tmp_path / "logs"])
    rows = list(zip(table["condition_id"], table["epoch"]))
    assert len(rows) == len(set(rows)) == SAMPLES
    assert set(table["condition_id"]) == set(keys)
    assert set(table["outcome"]) <= {"harmful", "safe"}

