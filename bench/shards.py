"""Samples per second of one `insider run` vs two local shards (`--shard 1/2`, `--shard 2/2`) at once.

The same samples (paper-pack prompts, text mode, judge: rules) go to the fake OpenAI-compatible
server in tests/fakeserver.py (its own process, a fixed latency per request) three ways, at each
level of connections L:

- one process with max_connections L (the baseline);
- two shard processes with L/2 each: the same concurrency in all, so any gain is the second
  process's CPU (Inspect's per-sample work is the ceiling above ~50 connections on one core);
- two shard processes with L each: two machines, each with its own connection budget.

Samples/s is taken over the evals' own clock (from the first log's start to the last log's end,
so process start-up is left out); the processes' wall and CPU seconds, start-up included, are
printed beside it. The ratio to the baseline is measured in the same run.

    .venv/bin/python bench/shards.py            # 1,000 samples per run (about 10 minutes)
    .venv/bin/python bench/shards.py --quick    # 200 samples per run (about 4 minutes)
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml
from inspect_ai.log import list_eval_logs, read_eval_log

from throughput import BIN, MODEL, Measured, _children_cpu, fake_server, harness_env, machine

LEVELS = (10, 100)


def write_config(work: Path, name: str, conditions: int, epochs: int, connections: int) -> Path:
    from insider.scenarios import get_pack

    ids = [c.id for c in get_pack("paper").conditions()[:conditions]]
    config = work / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "bench-shards",
                "models": [MODEL],
                "samples": epochs,
                "allow_unfilled": True,
                "grid": [{"conditions": ids}],
                "judge": "rules",
                "run": {"log_dir": str(work / name), "max_connections": connections},
            }
        )
    )
    return config


def run(config: Path, shards: int, env: dict[str, str]) -> Measured:
    """`insider run` once (shards=1) or as `shards` shard processes at once; read every log it wrote.

    The eval seconds run from the first log's start to the last log's end; wall and CPU seconds
    are the processes', start-up included.
    """
    suffixes = [[]] if shards == 1 else [["--shard", f"{i}/{shards}"] for i in range(1, shards + 1)]
    cpu, start = _children_cpu(), time.perf_counter()
    processes = [
        subprocess.Popen([str(BIN / "insider"), "run", str(config), "--display", "none", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for extra in suffixes
    ]
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"insider run {config} failed:\n{out[-2000:]}\n{err[-2000:]}")
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    log_dir = yaml.safe_load(config.read_text())["run"]["log_dir"]
    headers = [read_eval_log(info.name, header_only=True) for info in list_eval_logs(log_dir)]
    assert headers and all(h.status == "success" and h.stats and h.results for h in headers)
    began = min(datetime.fromisoformat(h.stats.started_at) for h in headers)
    ended = max(datetime.fromisoformat(h.stats.completed_at) for h in headers)
    return Measured(sum(h.results.completed_samples for h in headers), (ended - began).total_seconds(), wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 samples per run instead of 1,000")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="total max_connections levels")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request at the server")
    args = parser.parse_args()
    conditions, epochs = (200, 1) if args.quick else (200, 5)

    print(f"machine: {machine()}")
    print(f"{conditions * epochs} samples per run ({conditions} paper-pack conditions x {epochs} epochs), server latency {args.latency:g} s")
    print(f"{'connections':>11} {'run':<26} {'samples/s':>9} {'wall s':>7} {'CPU s':>6} {'vs 1 process':>12}")
    with tempfile.TemporaryDirectory(prefix="insider-bench-shards-") as tmp, fake_server(args.latency) as url:
        work = Path(tmp)
        env = harness_env(url, work)
        for level in args.levels:
            runs = [
                ("1 process", 1, level),
                (f"2 shards x {level // 2} connections", 2, level // 2),
                (f"2 shards x {level} connections", 2, level),
            ]
            baseline = None
            for label, shards, connections in runs:
                config = write_config(work, f"L{level}-{shards}x{connections}", conditions, epochs, connections)
                measured = run(config, shards, env)
                baseline = baseline or measured
                print(
                    f"{level:>11} {label:<26} {measured.rate:>9.1f} {measured.wall_seconds:>7.1f} "
                    f"{measured.cpu_seconds:>6.1f} {measured.rate / baseline.rate:>12.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
