"""Credentials in use never reach what insider prints or stores: values of environment variables
ending in _API_KEY, _TOKEN or _SECRET, and model_args credentials, are redacted from every error
message and reason, including what Inspect writes into the .eval log (see also test_secrets.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clihelp import run_cli
from fakeserver import FakeServer, always
from insider.errors import InsiderError
from insider.redact import REDACTED, redact, redact_exception, redact_value, register
from test_secrets import texts

SECRET = "sk-insider-redaction-5e1f0a9c3b7d2e4f6a8b"


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "FAKE_API_KEY", "GITHUB_TOKEN", "HF_TOKEN", "AWS_SECRET", "my_service_secret", "API_KEY"])
def test_values_of_credential_variables_are_redacted(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, SECRET)
    assert redact(f"401: key {SECRET} rejected; again: {SECRET}.") == f"401: key {REDACTED} rejected; again: {REDACTED}."


@pytest.mark.parametrize("name", ["HOME_DIR", "TOKENIZER", "MY_KEY", "SECRETARY", "PAPI_KEYS"])
def test_other_variables_are_left_alone(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, SECRET)
    assert redact(f"value {SECRET}") == f"value {SECRET}"


def test_short_values_are_not_treated_as_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPTY_TOKEN", "")
    monkeypatch.setenv("TINY_API_KEY", "abc")
    assert redact("abc and an empty string") == "abc and an empty string"


def test_registered_values_and_nested_data_are_redacted() -> None:
    other = "registered-secret-value-91b2"
    register([other, None, "short"])
    data = {"message": f"bad key {other}", "nested": [{"k": other}], other: 1, "n": 3}
    assert redact_value(data) == {"message": f"bad key {REDACTED}", "nested": [{"k": REDACTED}], REDACTED: 1, "n": 3}


def test_exceptions_keep_their_type_and_lose_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVIDER_API_KEY", SECRET)

    class ProviderError(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.message = message
            self.body = {"error": {"message": message}}

    try:
        try:
            raise ValueError(f"inner {SECRET}")
        except ValueError as inner:
            raise ProviderError(f"outer {SECRET}") from inner
    except ProviderError as exc:
        redact_exception(exc)
        assert type(exc) is ProviderError
        assert SECRET not in repr(exc) and SECRET not in exc.message and SECRET not in str(exc.body)
        assert SECRET not in str(exc.__cause__)


def test_insider_errors_are_redacted_before_they_are_printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("WHATEVER_TOKEN", SECRET)
    assert SECRET not in str(InsiderError(f"model {SECRET} failed"))
    result = run_cli(capsys, "render", f"blackmail_{SECRET}")
    assert result.code == 2 and SECRET not in result.err and REDACTED in result.err


@pytest.mark.parametrize("key", ["token", "access_token", "password", "secret", "Authorization"])
def test_model_args_credentials_other_than_api_key_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    """Inspect writes model_args (all but api_key) into every log, so they cannot hold a credential."""
    args = {key: SECRET} if key != "Authorization" else {"default_headers": {key: f"Bearer {SECRET}"}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "models": ["mockllm/model"], "model_args": {"mockllm/model": args},
                                    "grid": [{"conditions": ["blackmail_none-none_none"]}]}))
    result = run_cli(capsys, "estimate", str(path))
    assert result.code == 2 and "looks like a credential" in result.err and SECRET not in result.err


def run_leaky(tmp_path: Path, source: str) -> tuple[Path, str]:
    """`insider run` against a server whose every answer is an error echoing a credential, then
    `results` and `report`; returns the directory holding everything written, and the terminal text."""
    agent = "openai-api/fake/agent-leaky"
    experiment = {
        "name": "leaky",
        "models": [agent],
        "grid": [{"conditions": ["blackmail_none-none_none", "leaking_none-none_none"]}],
        "judge": "rules",
        "run": {"log_dir": str(tmp_path / "logs"), "max_retries": 0, "retry_on_error": 1, "retry_attempts": 0},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
    server_key = SECRET if source != "token-env" else "fake-key-not-a-secret"
    if source == "model_args":
        experiment["model_args"] = {agent: {"api_key": SECRET}}
    with FakeServer(always("echo_key"), api_key=server_key, echoed=SECRET) as server:
        env["FAKE_BASE_URL"] = server.url
        if source != "model_args":
            env["FAKE_API_KEY"] = server_key
        if source == "token-env":
            env["DEPLOYMENT_ACCESS_TOKEN"] = SECRET
        config = tmp_path / "leaky.yaml"
        config.write_text(yaml.safe_dump(experiment))
        done = subprocess.run([sys.executable, "-m", "insider", "run", str(config)], env={**env, "XDG_DATA_HOME": str(tmp_path / "data")},
                              capture_output=True, text=True, timeout=300)
        assert server.count(model="agent-leaky") >= 2, done.stderr[-2000:]
    assert done.returncode == 1, done.stderr[-2000:]  # every sample errored
    terminal = done.stdout + done.stderr
    for command in (["results", str(tmp_path / "logs"), "--out", str(tmp_path / "out" / "results.csv")],
                    ["report", str(tmp_path / "logs"), "--out", str(tmp_path / "out" / "report"), "--transcripts", "-1"]):
        later = subprocess.run([sys.executable, "-m", "insider", *command], env=env, capture_output=True, text=True, timeout=300)
        assert later.returncode == 0, later.stderr
        terminal += later.stdout + later.stderr
    return tmp_path, terminal


@pytest.mark.slow
@pytest.mark.parametrize("source", ["provider-key-env", "token-env", "model_args"])
def test_a_provider_error_echoing_a_credential_is_stored_and_shown_redacted(tmp_path: Path, source: str) -> None:
    root, terminal = run_leaky(tmp_path, source)
    found = [where for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".yaml")
             for where, text in texts(path) if SECRET in text]
    assert found == []
    assert SECRET not in terminal
    logged = [text for log in (root / "logs").glob("*.eval") for _, text in texts(log)]
    assert any(f"request rejected for credential {REDACTED}" in text for text in logged), "the error was not logged at all"
    assert f"credential {REDACTED}" in (root / "out" / "results.csv").read_text()


def test_results_and_reports_redact_logs_written_without_redaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log from before redaction (or from another tool) whose error holds a credential in use."""
    import logfactory

    logfactory.run({"blackmail_none-none_none": ["error", "safe"]}, tmp_path / "logs")
    leaked = "provider failed for blackmail_none-none_none:1"  # the scripted error, playing a credential
    assert any(leaked in text for log in (tmp_path / "logs").glob("*.eval") for _, text in texts(log))
    monkeypatch.setenv("LEGACY_SERVICE_TOKEN", leaked)

    assert run_cli(capsys, "results", str(tmp_path / "logs"), "--out", str(tmp_path / "r.jsonl")).code == 0
    assert run_cli(capsys, "report", str(tmp_path / "logs"), "--out", str(tmp_path / "report"), "--transcripts", "-1").code == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".eval" and "logs" not in p.parts]
    assert {p.name for p in written} >= {"r.jsonl", "summary.json", "summary.md", "report.html"}
    assert [p for p in written if leaked in p.read_text(errors="replace")] == []
    assert REDACTED in (tmp_path / "r.jsonl").read_text()
