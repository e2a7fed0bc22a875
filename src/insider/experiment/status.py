"""`insider status FILE`: how far an experiment has got, per shard and overall, read from its logs.

A sample (pack, model, condition, epoch) is *done* when some log holds it finished without error
(judged or not), *errored* when every log that holds it records an error (it runs again
when the command is repeated), and *missing* when no log holds it yet. Spend is priced from
the samples in the logs, like the budget.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from inspect_ai.log import read_eval_log, read_eval_log_sample_summaries

from insider import logdir
from insider.errors import InsiderError
from insider.experiment.budget import logged_spend
from insider.experiment.config import Experiment
from insider.experiment.shards import Layout, Shard, all_shards, read_layout, shard_cells
from insider.inputs import unreadable_log
from insider.logdir import LogFile

SampleKey = tuple[str, str, str, int]  # (pack, model entry's label, condition id, epoch)


@dataclass
class ShardStatus:
    """One row of `insider status`: a shard, the unsharded run, or all of them (`all`)."""

    shard: str
    cells: int
    samples: int
    done: int = 0
    errored: int = 0
    missing: int = 0
    spend_usd: float = 0.0
    logs: int = 0
    #: not started | started (a log is still open: running, or killed) | incomplete | complete
    state: str = "not started"
    #: seconds since the newest log was written (None: no log)
    last_write_age: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


def _finished(logs: list[LogFile]) -> tuple[set[SampleKey], set[SampleKey], bool]:
    """Samples finished without error, samples recorded with an error, and whether a log is still `started`."""
    ok: set[SampleKey] = set()
    failed: set[SampleKey] = set()
    started = False
    for log in logs:
        try:
            header = read_eval_log(log.location, header_only=True)
            summaries = read_eval_log_sample_summaries(log.location)
        except Exception as exc:  # whatever the reader raises, the file is unusable: name it
            raise unreadable_log(log.location, exc) from None
        started = started or header.status == "started"
        for summary in summaries:
            metadata = header.eval.metadata or {}
            label = metadata.get("model_label") or header.eval.model
            key = (str(metadata.get("pack")), label, str(summary.id), summary.epoch)
            (failed if summary.error else ok).add(key)
    return ok, failed, started


def _status(
    name: str, experiment: Experiment, shard: Shard | None, logs: list[LogFile], now: float
) -> ShardStatus:
    expected = {
        (pack, model, condition_id, epoch)
        for pack, model, condition_id in shard_cells(experiment, shard)
        for epoch in range(1, experiment.samples + 1)
    }
    row = ShardStatus(shard=name, cells=len(shard_cells(experiment, shard)), samples=len(expected), logs=len(logs))
    ok, failed, started = _finished(logs)
    row.done = len(expected & ok)
    row.errored = len((expected & failed) - ok)
    row.missing = row.samples - row.done - row.errored
    row.spend_usd = logged_spend(
        [log.location for log in logs], batch=bool(experiment.run.batch), overrides=experiment.run.prices
    )
    if logs:
        row.last_write_age = max(0.0, now - max(log.mtime for log in logs))
        row.state = (
            "complete" if row.done == row.samples else "started" if started else "incomplete"
        )
    return row


def _shard_count(layout: Layout, shards: int | None) -> int | None:
    counts = sorted(layout.counts)
    if len(counts) > 1:
        raise InsiderError(
            f"{layout.log_dir} holds the logs of {' and '.join(f'{n} shards' for n in counts)}: two sharded runs "
            "were mixed; keep one of them"
        )
    if counts and layout.unsharded:
        raise InsiderError(f"{layout.log_dir} holds the logs of an unsharded run and of {counts[0]} shards: keep one of them")
    if counts and shards is not None and shards != counts[0]:
        raise InsiderError(f"{layout.log_dir} holds the logs of {counts[0]} shards, not {shards}; drop --shards or pass --shards {counts[0]}")
    if shards is not None and layout.unsharded:
        raise InsiderError(f"{layout.log_dir} holds the logs of an unsharded run; drop --shards")
    return counts[0] if counts else shards


def experiment_status(experiment: Experiment, shards: int | None = None) -> tuple[int | None, list[ShardStatus]]:
    """The shard count (None: unsharded) and one row per shard plus `all`.

    Args:
        experiment: the experiment (its `run.log_dir` is read).
        shards: the shard count to show before any shard has written a log (the log dir's own
            count otherwise).
    """
    if logdir.is_file(experiment.run.log_dir):
        raise InsiderError(f"run.log_dir {experiment.run.log_dir} is a file, not a directory; pass the run's log dir (--log-dir)")
    layout = read_layout(experiment.run.log_dir)
    count = _shard_count(layout, shards)
    now = time.time()
    if count is None:
        return None, [_status("all", experiment, None, layout.unsharded, now)]
    rows = [_status(str(shard), experiment, shard, layout.shards.get(shard, []), now) for shard in all_shards(count)]
    total = ShardStatus(
        shard="all",
        cells=sum(r.cells for r in rows),
        samples=sum(r.samples for r in rows),
        done=sum(r.done for r in rows),
        errored=sum(r.errored for r in rows),
        missing=sum(r.missing for r in rows),
        spend_usd=sum(r.spend_usd for r in rows),
        logs=sum(r.logs for r in rows),
    )
    ages = [r.last_write_age for r in rows if r.last_write_age is not None]
    total.last_write_age = min(ages) if ages else None
    states = {r.state for r in rows}
    total.state = (
        "complete" if states == {"complete"}
        else "not started" if states == {"not started"}
        else "started" if "started" in states
        else "incomplete"
    )  # fmt: skip
    return count, [*rows, total]
