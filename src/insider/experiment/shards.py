"""Shards: a deterministic 1/N of an experiment's work, all written under one log directory.

The unit of work is a *cell*: one condition of one pack on one model, with all its epochs, so
that a provider's prompt cache keeps serving the repeated prompt. Cells are dealt round-robin
in pack order, then grid order (each condition's models in the order of `models:`): shard I of
N takes cells I-1, I-1+N, I-1+2N, ... Shards therefore differ by at most one cell, and N machines given
the same file and the same log dir run every cell exactly once.

Shard I of N writes to `<log_dir>/shard-I-of-N/`, which is an ordinary Inspect eval set:
resume, task retries, clean-up of old attempts and `logs.json` work there exactly as on one
machine, and no file is written by two shards. Every command that reads logs reads the
whole log dir, shards included.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from inspect_ai.log import read_eval_log

from insider import logdir
from insider.errors import InsiderError
from insider.experiment.config import Experiment
from insider.logdir import LogFile

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_DIR_RE = re.compile(r"^shard-(\d+)-of-(\d+)$")


@dataclass(frozen=True, order=True)
class Shard:
    """Shard `index` of `count` (1-based)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise InsiderError(
                f"shard {self.index}/{self.count} does not exist: use I/N with 1 <= I <= N, e.g. --shard 1/{max(self.count, 2)}"
            )

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """`"2/3"` -> Shard(2, 3)."""
        found = _SHARD_RE.match(text)
        if not found:
            raise InsiderError(f"--shard {text!r} is not I/N; e.g. --shard 2/3 runs the second of three shards")
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def dirname(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


def all_shards(count: int) -> list[Shard]:
    return [Shard(i, count) for i in range(1, count + 1)]


Cell = tuple[str, str, str]  # (pack, model entry's label, condition id)


def cells(experiment: Experiment) -> list[Cell]:
    """Every (pack, model entry, condition) cell, in the order shards deal them."""
    return [
        (pack, entry.label, condition.id)
        for pack in experiment.pack_names
        for condition in experiment.conditions()
        for entry in experiment.models
    ]


def shard_cells(experiment: Experiment, shard: Shard | None) -> list[Cell]:
    """The cells one shard runs (all of them when `shard` is None)."""
    everything = cells(experiment)
    return everything if shard is None else everything[shard.index - 1 :: shard.count]


def conditions_by_task(experiment: Experiment, shard: Shard) -> dict[tuple[str, str], list[str]]:
    """The shard's condition ids per (pack, model entry label) (pairs with no cell left out)."""
    chosen = defaultdict(list)
    for pack, label, condition_id in shard_cells(experiment, shard):
        chosen[(pack, label)].append(condition_id)
    return dict(chosen)


def shard_dir(log_dir: str, shard: Shard | None) -> str:
    """Where a shard writes its logs (the log dir itself for an unsharded run)."""
    return log_dir if shard is None else logdir.join(log_dir, shard.dirname)


@dataclass
class Layout:
    """The logs already in a log dir, by who wrote them."""

    log_dir: str
    #: logs directly in the log dir (an unsharded run)
    unsharded: list[LogFile] = field(default_factory=list)
    shards: dict[Shard, list[LogFile]] = field(default_factory=dict)
    #: logs anywhere else under the log dir
    other: list[LogFile] = field(default_factory=list)

    @property
    def counts(self) -> set[int]:
        """The N of every `shard-I-of-N` directory present."""
        return {shard.count for shard in self.shards}

    @property
    def logs(self) -> list[LogFile]:
        return [*self.unsharded, *(log for logs in self.shards.values() for log in logs), *self.other]

    def other_shards(self, shard: Shard) -> list[str]:
        """Where every log of the shards other than `shard` is."""
        return [log.location for other, logs in sorted(self.shards.items()) if other != shard for log in logs]


def read_layout(log_dir: str) -> Layout:
    """Classify every log under `log_dir` (an empty Layout when the dir does not exist yet)."""
    return classify(log_dir, logdir.log_files(log_dir) if logdir.is_dir(log_dir) else [])


def classify(log_dir: str, logs: list[LogFile]) -> Layout:
    """Sort the logs listed under `log_dir` by who wrote them: an unsharded run, a shard, or neither."""
    layout = Layout(log_dir=log_dir)
    for log in logs:
        parts = logdir.relative(log.location, log_dir).split("/")
        found = _DIR_RE.match(parts[0]) if len(parts) == 2 else None
        if len(parts) == 1:
            layout.unsharded.append(log)
        elif found and 1 <= int(found.group(1)) <= int(found.group(2)):
            layout.shards.setdefault(Shard(int(found.group(1)), int(found.group(2))), []).append(log)
        else:
            layout.other.append(log)
    return layout


def check_layout(layout: Layout, shard: Shard | None, design: str) -> None:
    """Refuse to mix an unsharded run with shards, two shard counts, or shards of another design.

    Inspect checks each shard's own directory against the tasks it is given; this checks
    the shards against each other, through the design fingerprint every task carries in
    its metadata.
    """
    where = layout.log_dir
    counts = sorted(layout.counts)
    if shard is None:
        if counts:
            raise InsiderError(
                f"{where} holds the logs of a sharded run ({_count_text(counts)}); run every shard with "
                f"--shard I/{counts[0]} (or --ray --shards {counts[0]}), or use a new run.log_dir"
            )
        return
    if layout.unsharded:
        raise InsiderError(
            f"{where} holds the logs of an unsharded run; finish it without --shard, or use a new run.log_dir for shards"
        )
    other_counts = [n for n in counts if n != shard.count]
    if other_counts:
        raise InsiderError(
            f"{where} holds the logs of {_count_text(other_counts)}; every machine must use the same N "
            f"(--shard I/{other_counts[0]}), or use a new run.log_dir"
        )
    for other, logs in sorted(layout.shards.items()):
        for log in logs:
            theirs = (read_eval_log(log.location, header_only=True).eval.metadata or {}).get("design")
            if theirs != design:
                raise InsiderError(
                    f"{logdir.join(where, other.dirname)} holds logs of a different design (grid, pack, mode, models, "
                    "samples, judge or limits differ from this file); every shard must run the same experiment file, "
                    "or use a new run.log_dir"
                )


def _count_text(counts: list[int]) -> str:
    return " and ".join(f"{n} shards" for n in counts)
