"""Run the `insider` CLI in-process and capture what it prints and its exit code."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from insider.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    argv = sys.argv
    sys.argv = ["insider", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
