"""`insider run FILE --ray`: the shards as Ray tasks on a local Ray instance, against the fake provider."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from inspect_ai.log import read_eval_log_sample_summaries

from clihelp import run_cli
from fakeserver import FakeServer, prompt_key
from insider.analysis.results import results_table
from insider.logdir import log_files
from insider.scenarios import get_pack
from waiting import wait_for

pytest.importorskip("ray", reason="the Ray tests need the extra insider[ray] (make setup installs it)")

CONDITIONS = 16


def _shard_pids(shard: str, log_dir: str) -> list[int]:
    """Pids of the `insider run --shard SHARD --log-dir LOG_DIR` processes Ray started for this test."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        text = [a.decode(errors="replace") for a in args]
        if "--shard" in text and shard in text and log_dir in text and "insider" in text:
            found.append(int(entry.name))
    return found


def _written(log_dir: str) -> bool:
    """Whether shard 1's log holds at least one finished sample yet."""
    shard = Path(log_dir) / "shard-1-of-2"
    if not shard.is_dir():
        return False
    for log in log_files(str(shard)):
        try:
            if any(s.error is None for s in read_eval_log_sample_summaries(log.location)):
                return True
        except Exception:  # noqa: BLE001 - a log being written may not be readable yet; poll again
            continue
    return False


@pytest.mark.slow
def test_two_shards_as_ray_tasks_give_every_row_once_and_a_killed_shard_resumes(tmp_path, capsys):
    pack = get_pack("paper", allow_unfilled=True)
    conditions = pack.conditions()[:CONDITIONS]
    keys = {prompt_key(p.system, p.user): c.id for c in conditions for p in [pack.render(c)]}
    log_dir = str(tmp_path / "logs")
    config = tmp_path / "ray.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "ray",
                "models": ["openai-api/fake/agent"],
                "allow_unfilled": True,
                "grid": [{"conditions": [c.id for c in conditions]}],
                "judge": "rules",
                "run": {"log_dir": log_dir, "max_connections": 2, "log_buffer": 1},
            }
        )
    )
    with FakeServer(latency=0.3) as server:
        env = {**os.environ, **server.env(), "XDG_DATA_HOME": str(tmp_path / "data")}
        driver = subprocess.Popen(
            [sys.executable, "-m", "insider", "run", str(config), "--ray", "--shards", "2"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            # kill shard 1's process once its log holds a finished sample (the request count alone
            # says nothing about which shard has written what)
            wait_for(lambda: _written(log_dir) or driver.poll() is not None, 300, "shard 1's first sample in its log")
            pids = _shard_pids("1/2", log_dir)
            assert driver.poll() is None and len(pids) == 1, "shard 1 is not running; the test proves nothing"
            os.kill(pids[0], signal.SIGKILL)
            before = server.snapshot()
            out, err = driver.communicate(timeout=600)
        finally:
            if driver.poll() is None:
                driver.kill()
        resumed = server.snapshot() - before

    assert driver.returncode == 0, err[-3000:]
    assert "shard 1/2: complete" in out and "shard 2/2: complete" in out, out
    # the killed attempt left its log; what it had written was not asked for again by Ray's retry
    shard_logs = log_files(str(tmp_path / "logs" / "shard-1-of-2"))
    assert len(shard_logs) == 2, "Ray did not run shard 1 again after its process was killed"
    killed = min(shard_logs, key=lambda log: log.mtime)
    written = {s.id for s in read_eval_log_sample_summaries(killed.location) if s.error is None}
    assert written, "the killed shard had written no sample; the resume proves nothing"
    asked_again = Counter({keys[key]: n for (_, key), n in resumed.items()})
    assert not written & set(asked_again)

    table = results_table([log_dir])
    assert sorted(table["condition_id"]) == sorted(c.id for c in conditions)  # complete, and each row once
    assert not table.duplicated(["model", "condition_id", "epoch"]).any()

    done = run_cli(capsys, "status", str(config))
    assert done.code == 0 and "2 shards in" in done.out and "complete" in done.out
