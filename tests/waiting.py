"""Waiting, in a test, for something another process or thread does, with a deadline."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill_when(command: list[str], env: dict[str, str], ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Start `command`, and SIGKILL it as soon as `ready()` holds (`what` names that moment).

    Fails the test if the process ended by itself first: a run that finished proves nothing
    about resuming.
    """
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: ready() or process.poll() is not None, timeout, what)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it was killed; the test proves nothing"
