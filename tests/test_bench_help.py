"""Every benchmark script answers `--help` with its usage, and runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_every_bench_script_answers_help() -> None:
    scripts = sorted(BENCH.glob("*.py"))
    assert len(scripts) >= 5
    # all at once: each pays Inspect's import, and none does more than print its usage
    running = {
        script: subprocess.Popen([sys.executable, str(script), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for script in scripts
    }
    for script, process in running.items():
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, f"{script.name} --help: exit {process.returncode}\n{err[-2000:]}"
        assert out.startswith(f"usage: {script.name}") and "Traceback" not in out + err, f"{script.name}:\n{out}{err}"
