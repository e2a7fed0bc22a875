"""`insider run FILE --ray [ADDRESS]`: every shard of an experiment as a Ray task.

A thin layer over `--shard`, not a second runner: each Ray task runs
`insider run FILE --shard I/N --log-dir LOG_DIR` as a child process of a Ray worker, on
whichever node Ray places it, and all of them write to the one log dir (which every node
must reach: an `s3://` URL, or a shared file system). Ray retries a task whose process died
(killed, out of memory, node lost) up to `max_retries` times; the retry is the same
command, so it resumes the shard from its logs. A shard that ends with errored samples
(exit 1) or refuses its input (exit 2) is reported, not retried: as on one machine,
running the command again is what retries errored samples.

Needs the optional extra `insider[ray]`. Every node needs `insider` installed, and the API
keys and storage credentials in its environment (a local Ray instance inherits this
process's environment).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from insider import logdir
from insider.errors import InsiderError
from insider.experiment.config import Experiment
from insider.experiment.runner import prepare
from insider.experiment.shards import Shard, all_shards, cells, check_layout, read_layout
from insider.experiment.tasks import design_id

#: lines of a shard's output kept for its summary
_TAIL = 12


class ShardDied(RuntimeError):
    """A shard's process ended without an exit code of its own (killed by a signal, or crashed): Ray retries it."""


@dataclass
class ShardOutcome:
    """How one shard's Ray task ended."""

    shard: Shard
    #: the shard's exit code (0 complete, 1 errored samples left, 2 refused); None: failed after Ray's retries
    returncode: int | None
    #: the shard's last lines of output (its per-model counts), or why it failed
    detail: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.returncode == 0

    def line(self) -> str:
        """One line of progress, printed as the shard finishes."""
        state = {0: "complete", 1: "incomplete (errored samples left; run again to retry them)", 2: "refused"}.get(
            self.returncode, "failed after Ray's retries"
        )
        counts = [line for line in self.detail if not line.startswith("logs: ")]
        return f"shard {self.shard}: {state}" + (f" - {'; '.join(counts)}" if counts else "")


@dataclass
class RayRun:
    """Every shard's outcome, in the order they finished."""

    shards: int
    outcomes: list[ShardOutcome] = field(default_factory=list)


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def run_shard_process(config_text: str, config_name: str, shard: str, log_dir: str, cwd: str) -> tuple[int, list[str]]:
    """Run `insider run --shard` in a child process (inside a Ray worker); raise ShardDied if it did not exit by itself."""
    with tempfile.TemporaryDirectory(prefix="insider-shard-") as tmp:
        config = Path(tmp) / config_name
        config.write_text(config_text, encoding="utf-8")
        command = [sys.executable, "-m", "insider", "run", str(config), "--shard", shard, "--log-dir", log_dir, "--display", "none"]
        done = subprocess.run(command, cwd=cwd if os.path.isdir(cwd) else None, capture_output=True, text=True)
    if done.returncode not in (0, 1, 2):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ShardDied(f"shard {shard} ended by {_describe(done.returncode)}: {tail[0]}")
    output = done.stdout if done.returncode != 2 else done.stderr
    return done.returncode, output.strip().splitlines()[-_TAIL:]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InsiderError("--ray needs Ray: install the extra, e.g. pip install 'insider[ray]'") from None
    return ray


def _shard_count(ray, experiment: Experiment, shards: int | None) -> int:
    """--shards, else the log dir's own count, else one shard per CPU of the cluster (at most one per cell)."""
    if shards is not None:
        return shards
    existing = sorted(read_layout(experiment.run.log_dir).counts)
    if existing:
        return existing[0]
    return max(1, min(int(ray.cluster_resources().get("CPU", 1)), len(cells(experiment))))


def run_on_ray(
    config: Path,
    experiment: Experiment,
    address: str | None,
    shards: int | None,
    on_finish: Callable[[ShardOutcome], None],
    max_retries: int = 3,
) -> RayRun:
    """Run every shard of `experiment` as a Ray task and wait for all of them.

    Args:
        config: the experiment file (its text is sent to the workers).
        experiment: the experiment as loaded (with any --log-dir override applied).
        address: a Ray cluster address; None starts a local Ray instance.
        shards: how many shards (see `_shard_count` for the default).
        on_finish: called with each shard's outcome as it finishes.
        max_retries: Ray's retries of a shard whose process died.
    """
    ray = _import_ray()
    # refuse bad input here, once, before anything is submitted; API keys only for a local
    # instance (which inherits this environment): a cluster's nodes may hold keys this machine has not
    prepare(experiment, require_keys=address is None)
    log_dir = logdir.normalize(experiment.run.log_dir)
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        count = _shard_count(ray, experiment, shards)
        check_layout(read_layout(log_dir), Shard(1, count), design_id(experiment))
        task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=[ShardDied])(run_shard_process)
        text = config.read_text(encoding="utf-8")
        pending = {
            task.remote(text, config.name, str(shard), log_dir, os.getcwd()): shard for shard in all_shards(count)
        }
        run = RayRun(shards=count)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                shard = pending.pop(ref)
                try:
                    returncode, detail = ray.get(ref)
                    outcome = ShardOutcome(shard, returncode, detail)
                except ray.exceptions.RayError as exc:
                    outcome = ShardOutcome(shard, None, [str(exc).strip().splitlines()[-1]])
                run.outcomes.append(outcome)
                on_finish(outcome)
        return run
    finally:
        ray.shutdown()
