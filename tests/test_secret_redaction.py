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


#: one credential from each source: the provider's env key, a *_TOKEN variable, a model_args api_key
ENV_KEY = "sk-insider-env-key-5e1f0a9c3b7d2e4f6a8b"
TOKEN = "tok-insider-deployment-0c2e4a6b8d9f1e3a"
ARGS_KEY = "sk-insider-model-args-7a9c1e3b5d7f9a2c"


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`insider run` of two agents against a server that answers every call with an error echoing a
    credential: agent A (key in FAKE_API_KEY) gets a 400 echoing its key and a *_TOKEN value, agent
    B (key in model_args, unknown to the server) a 401 echoing the key it sent. Returns the run's
    directory and what the run printed."""
    root = tmp_path_factory.mktemp("leaky")
    agents = ["openai-api/fake/agent-leaky", "openai-api/fakeb/agent-leaky-b"]
    experiment = {
        "name": "leaky",
        "models": agents,
        "model_args": {agents[1]: {"api_key": ARGS_KEY}},
        "grid": [{"conditions": ["blackmail_none-none_none", "leaking_none-none_none"]}],
        "judge": "rules",
        "run": {"log_dir": str(root / "logs"), "max_retries": 0, "retry_on_error": 1, "retry_attempts": 0},
    }
    config = root / "leaky.yaml"
    config.write_text(yaml.safe_dump(experiment))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "FAKEB_"))}
    with FakeServer(always("echo_key"), api_key=ENV_KEY, echoed=f"{ENV_KEY} (deployment {TOKEN})") as server:
        env.update(FAKE_BASE_URL=server.url, FAKE_API_KEY=ENV_KEY, FAKEB_BASE_URL=server.url, DEPLOYMENT_ACCESS_TOKEN=TOKEN,
                   XDG_DATA_HOME=str(root / "data"))
        done = subprocess.run([sys.executable, "-m", "insider", "run", str(config)], env=env, capture_output=True, text=True, timeout=300)
        assert server.count(model="agent-leaky") >= 2 and server.count(model="agent-leaky-b") >= 2, done.stderr[-2000:]
        assert server.replies["unauthorized"] >= 2 and server.replies["echo_key"] >= 2
    assert done.returncode == 1, done.stderr[-2000:]  # every sample errored
    return root, done.stdout + done.stderr


@pytest.mark.parametrize("secret", [ENV_KEY, TOKEN, ARGS_KEY], ids=["env-api-key", "token-variable", "model-args-api-key"])
def test_a_provider_error_echoing_a_credential_is_stored_and_shown_redacted(
    leaky_run: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    root, terminal = leaky_run
    monkeypatch.setenv("FAKE_API_KEY", ENV_KEY)
    monkeypatch.setenv("DEPLOYMENT_ACCESS_TOKEN", TOKEN)
    register([ARGS_KEY])  # what loading the experiment file does
    out = root / f"out-{secret[:6]}"
    for command in (["results", str(root / "logs"), "--out", str(out / "results.csv")],
                    ["report", str(root / "logs"), "--out", str(out / "report"), "--transcripts", "-1"]):
        result = run_cli(capsys, *command)
        assert result.code == 0, result.err
        terminal += result.out + result.err

    logged = [text for log in (root / "logs").glob("*.eval") for _, text in texts(log)]
    assert any(f"request rejected for credential {REDACTED}" in text for text in logged), "the 400 was not logged"
    assert any(f"invalid api key '{REDACTED}'" in text for text in logged), "the 401 was not logged"
    found = [where for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".yaml")
             for where, text in texts(path) if secret in text]
    assert found == []
    assert secret not in terminal
    assert REDACTED in (out / "results.csv").read_text()


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
