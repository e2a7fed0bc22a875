"""Per-sample CPU of `insider run` (rules judge included) against bare Inspect, and grid rendering time.

Per-sample CPU: each harness runs the same 100 conditions twice against the fake server with no
latency, at 1 and 6 epochs (`--quick`: 1 and 3); the difference in the process's CPU time
divided by the difference in samples is the CPU one more sample costs (start-up and
per-condition work cancel out). Each harness is measured `--repeat` times, interleaved, and
the lowest figure counts (other processes on a shared machine only ever add CPU). The bare
harness is `bench/throughput.py`'s `bare_generate` task (`generate()` only, no scorer) run
with `inspect eval`, once with Inspect's defaults and once with log_realtime off as insider
runs. Target: insider <= 1.1 x bare.

Grid: expanding and rendering every condition of a pack's base grid (234 for the paper pack),
in a fresh process (so imports and first-use costs count) and again warm. Target: < 2 s.

    .venv/bin/python bench/overhead.py
    .venv/bin/python bench/overhead.py --quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from throughput import ROOT, Measured, fake_server, harness_env, machine, run_bare, run_bare_like_insider, run_insider

#: runs in a fresh interpreter: times expanding and rendering a pack's whole base grid
GRID_SCRIPT = """
import json, sys, time
start = time.perf_counter()
import insider
from insider.scenarios import get_pack
pack = get_pack(sys.argv[1], allow_unfilled=True)
conditions = pack.conditions()
expanded = time.perf_counter()
first = [pack.render(c) for c in conditions]
cold = time.perf_counter()
again = [pack.render(c) for c in conditions]
warm = time.perf_counter()
print(json.dumps({"conditions": len(conditions), "load": expanded - start, "cold": cold - expanded, "warm": warm - cold}))
"""


def grid_times(pack: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", GRID_SCRIPT, pack], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_sample_cpu(
    run: Callable[[int, int, int, dict[str, str], Path], Measured],
    conditions: int,
    small: int,
    large: int,
    env: dict[str, str],
    work: Path,
) -> float:
    """Marginal CPU seconds per sample between `small` and `large` epochs."""
    work.mkdir(parents=True)
    low = run(conditions, small, 50, env, work)
    high = run(conditions, large, 50, env, work)
    return (high.cpu_seconds - low.cpu_seconds) / (high.samples - low.samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, measured once (noisier)")
    parser.add_argument("--conditions", type=int, default=100, help="paper-pack conditions per run")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per harness; the lowest counts")
    args = parser.parse_args()
    small, large = (1, 3) if args.quick else (1, 6)
    if args.quick:
        args.repeat = 1

    print(f"machine: {machine()}")
    print("grid: expand + render a pack's whole base grid (fresh process)")
    for pack in ("paper", "builtin"):
        t = grid_times(pack)
        print(
            f"  {pack:8} {t['conditions']} conditions: load {t['load']:.2f} s, render {t['cold']:.2f} s cold "
            f"({1000 * t['cold'] / t['conditions']:.1f} ms each), {t['warm']:.2f} s warm; "
            f"total {t['load'] + t['cold']:.2f} s (target < 2 s)",
            flush=True,
        )

    print(
        f"per-sample CPU: {args.conditions} conditions x {small} vs x {large} epochs, server latency 0, 50 connections, "
        f"lowest of {args.repeat}"
    )
    with tempfile.TemporaryDirectory(prefix="insider-bench-") as tmp, fake_server(0.0) as url:
        work = Path(tmp)
        env = harness_env(url, work)
        found: dict[str, list[float]] = {"bare": [], "bare-like": [], "insider": []}
        for attempt in range(args.repeat):  # interleaved, so a busy spell on a shared machine hits all three
            for name, run in (("bare", run_bare), ("bare-like", run_bare_like_insider), ("insider", run_insider)):
                found[name].append(per_sample_cpu(run, args.conditions, small, large, env, work / f"{name}-{attempt}"))
        bare, like, ours = (min(found[name]) for name in ("bare", "bare-like", "insider"))
    print(f"  bare Inspect (its defaults):          {1000 * bare:5.1f} ms/sample")
    print(f"  bare Inspect, log_realtime off:       {1000 * like:5.1f} ms/sample")
    print(f"  insider run (rules judge, defaults):  {1000 * ours:5.1f} ms/sample")
    print(f"  ratio insider / bare: {ours / bare:.2f}; insider / bare with log_realtime off: {ours / like:.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
