"""No API key reaches a log, a results file or a report.

A run against the fake server with a distinctive key for the agent, and a wrong key (which the
server refuses with 401, so the refusal is logged) for the grader; then every file the run,
`insider results` and `insider report` wrote is searched for either key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
import zipfile_zstd  # noqa: F401  (lets zipfile read the zstd-compressed members of .eval logs)

from clihelp import run_cli
from fakeserver import FakeServer, always

AGENT_KEY = "sk-insider-test-AGENT-7f3c9a1e5b2d4f6a8c0e"
GRADER_KEY = "sk-insider-test-GRADER-2b4d6f8a0c1e3a5c7e9b"
AGENT = "openai-api/fake/agent-secrets"
JUDGE = "openai-api/fakejudge/judge-secrets"


def texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) of a file, with every member of an Inspect .eval (zip) log decompressed."""
    if path.suffix == ".eval":
        with zipfile.ZipFile(path) as archive:
            return [(f"{path}:{name}", archive.read(name).decode("utf-8", "replace")) for name in archive.namelist()]
    if path.suffix == ".parquet":
        return [(str(path), pd.read_parquet(path).astype(str).to_csv())]
    return [(str(path), path.read_bytes().decode("utf-8", "replace"))]


def leaks(root: Path) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        for where, text in texts(path):
            found += [f"{key[:20]}... in {where}" for key in (AGENT_KEY, GRADER_KEY) if key in text]
    return found


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secrets")
    config = root / "secrets.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "secrets",
                "pack": "paper",
                "models": [AGENT],
                "samples": 2,
                "grid": [{"scenarios": ["blackmail", "leaking", "murder"], "goal_types": ["explicit", "none"],
                          "goal_values": ["america"], "urgencies": ["replacement"]}],
                "judge": {"model": JUDGE, "max_attempts": 1},
                "run": {"log_dir": str(root / "logs"), "max_connections": 10, "max_retries": 0},
            }
        )
    )
    with FakeServer(always("harmful"), api_key=AGENT_KEY) as server:
        env = {
            **os.environ,
            **server.env(),
            "FAKEJUDGE_BASE_URL": server.url,
            "FAKEJUDGE_API_KEY": GRADER_KEY,
            "XDG_DATA_HOME": str(root / "data"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "insider", "run", str(config)], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        (root / "run-output.txt").write_text(done.stdout + done.stderr)
        assert server.count(model="agent-secrets") >= 12
        assert server.count(model="judge-secrets") > 0, "the grader was never called; the test proves nothing"
    return root


def test_the_refused_grader_left_its_error_in_the_log(run_dir: Path) -> None:
    """The wrong key was used and failed, so a leak would have had its chance."""
    (log,) = (run_dir / "logs").glob("*.eval")
    assert any("401" in text for _, text in texts(log))


def test_no_key_in_logs_results_or_report(
    run_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_API_KEY", AGENT_KEY)
    monkeypatch.setenv("FAKEJUDGE_API_KEY", GRADER_KEY)
    out = run_dir / "out"
    for suffix in ("csv", "parquet", "jsonl"):
        assert run_cli(capsys, "results", str(run_dir / "logs"), "--out", str(out / f"results.{suffix}")).code == 0
    assert run_cli(capsys, "report", str(run_dir / "logs"), "--out", str(out / "report"), "--transcripts", "-1").code == 0
    written = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert {".csv", ".parquet", ".jsonl", ".html", ".md", ".json"} <= written

    assert leaks(run_dir) == []
