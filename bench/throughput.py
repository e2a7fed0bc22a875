"""Samples per second of `insider run` against a server with a fixed 1 s latency, beside bare Inspect.

For each max_connections level, the same samples (paper-pack prompts, text mode) go to the
fake OpenAI-compatible server in tests/fakeserver.py (its own process, 1 s per request), once
through `insider run` (judge: rules) and once through a bare Inspect task (`generate()` only,
run with `inspect eval`). Samples/s is measured over each eval's own clock (the log's
started/completed times, so process start-up is left out) and printed beside the ideal,
`connections / latency`. The ratio insider / bare is the figure of merit (target >= 0.9).

    .venv/bin/python bench/throughput.py            # 1,000 samples per level (about 15 minutes)
    .venv/bin/python bench/throughput.py --quick    # 200 samples per level (about 4 minutes)

`bare_generate` below is also the bare task `bench/overhead.py` measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import yaml
from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import generate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = "openai-api/fake/bench"
API_KEY = "fake-key-not-a-secret"
LEVELS = (10, 50, 100, 200)


@task
def bare_generate(conditions: int = 200, epochs: int = 5, max_tokens: int = 4000) -> Task:
    """Bare Inspect: the paper pack's prompts as plain samples, `generate()` only, no scorer."""
    import insider  # noqa: F401  (offline tiktoken)
    from insider.scenarios import get_pack

    pack = get_pack("paper", allow_unfilled=True)
    samples = []
    for condition in pack.conditions()[:conditions]:
        prompt = pack.render(condition)
        samples.append(Sample(id=condition.id, input=[ChatMessageSystem(content=prompt.system), ChatMessageUser(content=prompt.user)]))
    return Task(dataset=MemoryDataset(samples), solver=generate(), epochs=Epochs(epochs), name="bare_generate")


class Measured(NamedTuple):
    """One harness run: samples, the eval's own duration, the process's wall and CPU seconds."""

    samples: int
    eval_seconds: float
    wall_seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.samples / self.eval_seconds


@contextmanager
def fake_server(latency: float) -> Iterator[str]:
    """The fake server in its own process; yields its base URL."""
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fakeserver.py"), "--latency", str(latency), "--api-key", API_KEY],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        server.wait()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], env: dict[str, str], log_dir: Path) -> Measured:
    """Run a harness to completion and read its log."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    (info,) = list_eval_logs(str(log_dir))
    log = read_eval_log(info.name, header_only=True)
    assert log.stats is not None and log.results is not None and log.status == "success", log.status
    seconds = (datetime.fromisoformat(log.stats.completed_at) - datetime.fromisoformat(log.stats.started_at)).total_seconds()
    return Measured(log.results.completed_samples, seconds, wall, cpu)


def run_bare(
    conditions: int, epochs: int, connections: int, env: dict[str, str], work: Path, realtime: bool = True
) -> Measured:
    """Bare Inspect with its defaults (`realtime=False`: with insider's `--no-log-realtime`)."""
    log_dir = work / f"bare{'' if realtime else '-norealtime'}-{connections}-{conditions}x{epochs}"
    command = [
        str(BIN / "inspect"), "eval", f"{Path(__file__).resolve()}@bare_generate",
        "--model", MODEL, "--max-connections", str(connections), "--temperature", "1.0", "--max-tokens", "4000",
        "-T", f"conditions={conditions}", "-T", f"epochs={epochs}",
        "--log-dir", str(log_dir), "--display", "none",
        *([] if realtime else ["--no-log-realtime"]),
    ]
    return measure(command, env, log_dir)


def run_bare_like_insider(conditions: int, epochs: int, connections: int, env: dict[str, str], work: Path) -> Measured:
    """Bare Inspect with the setting insider changes by default (log_realtime off)."""
    return run_bare(conditions, epochs, connections, env, work, realtime=False)


def run_insider(conditions: int, epochs: int, connections: int, env: dict[str, str], work: Path) -> Measured:
    """`insider run` with its defaults (judge: rules)."""
    from insider.scenarios import get_pack

    log_dir = work / f"insider-{connections}-{conditions}x{epochs}"
    config = work / f"insider-{connections}-{conditions}x{epochs}.yaml"
    ids = [c.id for c in get_pack("paper").conditions()[:conditions]]
    config.write_text(
        yaml.safe_dump(
            {
                "name": "bench",
                "pack": "paper",
                "models": [MODEL],
                "samples": epochs,
                "allow_unfilled": True,
                "grid": [{"conditions": ids}],
                "judge": "rules",
                "run": {"log_dir": str(log_dir), "max_connections": connections},
            }
        )
    )
    return measure([str(BIN / "insider"), "run", str(config), "--display", "none"], env, log_dir)


def harness_env(url: str, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FAKE_BASE_URL": url,
        "FAKE_API_KEY": API_KEY,
        "INSPECT_DISPLAY": "none",
        "XDG_DATA_HOME": str(work / "data"),  # Inspect's sample buffer, kept out of the user's data dir
    }


def machine() -> str:
    load = os.getloadavg()
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 samples per level instead of ~1,000")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="max_connections levels")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request at the server")
    args = parser.parse_args()
    conditions, epochs = (200, 1) if args.quick else (200, 5)
    samples = conditions * epochs

    print(f"machine: {machine()}")
    print(f"{samples} samples per run ({conditions} paper-pack conditions x {epochs} epochs), server latency {args.latency:g} s")
    print("bare: Inspect's defaults; bare*: with log_realtime off, as insider runs by default")
    print(
        f"{'connections':>11} {'ideal/s':>8} {'bare/s':>7} {'bare*/s':>8} {'insider/s':>10} "
        f"{'insider/bare':>13} {'insider/bare*':>14} {'bare/ideal':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="insider-bench-") as tmp, fake_server(args.latency) as url:
        work = Path(tmp)
        env = harness_env(url, work)
        for level in args.levels:
            bare = run_bare(conditions, epochs, level, env, work)
            like = run_bare_like_insider(conditions, epochs, level, env, work)
            ours = run_insider(conditions, epochs, level, env, work)
            ideal = level / args.latency
            print(
                f"{level:>11} {ideal:>8.1f} {bare.rate:>7.1f} {like.rate:>8.1f} {ours.rate:>10.1f} "
                f"{ours.rate / bare.rate:>13.2f} {ours.rate / like.rate:>14.2f} {bare.rate / ideal:>11.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
