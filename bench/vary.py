"""Wall time of `insider vary PACK --variants K` against loading the same pack once.

Runs the command in a fresh process (imports and the parent's validation count), `--repeat`
times, and keeps the fastest run (other processes on a shared machine only ever add time). The
command is single-threaded, so its CPU time is the wall time it takes on an idle machine; both
are printed, with the load average. The
baseline, measured in the same run and also in a fresh process, is `insider conditions --pack
PACK`: importing insider and loading (validating) the pack once. Each variant costs its
perturbations, its files written, and one full validation (every email and system prompt rendered).
Target: `insider vary builtin --variants 10` under 10 s.

    .venv/bin/python bench/vary.py
    .venv/bin/python bench/vary.py --pack paper --variants 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

from throughput import BIN, _children_cpu


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `insider ARGS` in a fresh process."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run([str(BIN / "insider"), *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="builtin", help="the pack to vary (default: builtin)")
    parser.add_argument("--variants", type=int, default=10, help="how many variants (default: 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest counts (default: 3)")
    args = parser.parse_args()
    baseline = min(timed(["conditions", "--pack", args.pack]) for _ in range(args.repeat))
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            runs.append(timed(["vary", args.pack, "--out", out, "--variants", str(args.variants)]))
    best = min(runs)
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"insider conditions --pack {args.pack} (import + one load): {baseline[0]:.2f} s wall, {baseline[1]:.2f} s CPU")
    print(f"insider vary {args.pack} --variants {args.variants}: {best[0]:.2f} s wall, {best[1]:.2f} s CPU "
          f"(wall of each run: {', '.join(f'{r[0]:.2f}' for r in runs)})")
    print(f"per variant beyond the baseline: {(best[1] - baseline[1]) / args.variants:.2f} s CPU")
    print(f"ratio vary / baseline (CPU): {best[1] / baseline[1]:.2f}")


if __name__ == "__main__":
    main()
