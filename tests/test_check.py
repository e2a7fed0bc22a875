"""`insider check FILE` and the pre-flight of `insider run`: every problem at once, grouped by
model; `.env` read before it, as Inspect reads it; context advice that holds for every condition."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from clihelp import run_cli

from insider.experiment.config import Experiment
from insider.experiment.preflight import experiment_problems

ROOT = Path(__file__).resolve().parent.parent
#: the shortest condition first, so advice drawn from the first one checked would be too loose
CONDITIONS = ["blackmail_none-none_none", "leaking_explicit-america_none", "murder_explicit-america_replacement"]
#: every API key variable the shipped configs' providers read
KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GOOGLE_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY", "OPENROUTER_API_KEY")


def write(path: Path, models: list, **changes: object) -> Path:
    spec = {"name": "check", "pack": "paper", "models": models, "samples": 1, "max_tokens": 500,
            "grid": [{"conditions": CONDITIONS}], "judge": "rules", "run": {"log_dir": str(path.parent / "logs")}}
    path.write_text(yaml.safe_dump({**spec, **changes}))
    return path


@pytest.fixture
def environ():
    """os.environ as it was before the test (a .env file read by the CLI writes into it)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def providers_extra() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["providers"]


def test_check_reports_every_problem_grouped_by_model_with_one_install_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "xai_sdk", None)  # the Grok SDK is not installed
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    config = write(tmp_path / "three.yaml", [
        "grok/grok-check-no-sdk",
        "together/check/no-key",
        "nosuch/model",
        {"model": "openai/gpt-3.5-turbo", "max_tokens": 4000},
        {"model": "mockllm/model", "reasoning_tokens": 2048, "max_tokens": 8000},
    ])  # fmt: skip

    result = run_cli(capsys, "check", str(config))

    assert result.code == 2, result.err
    out = result.out
    assert out.startswith(f"{config}: 5 problems; nothing was run\n")
    assert "models[0]: grok/grok-check-no-sdk\n  - provider SDK missing: xai_sdk\n" in out
    assert "models[1]: together/check/no-key\n  - API key missing: set TOGETHER_API_KEY" in out
    assert "models[2]: nosuch/model\n  - unknown model provider 'nosuch'" in out
    assert "models[3]: openai/gpt-3.5-turbo\n  - 3 of 3 prompts do not fit with max_tokens 4000 in the 4096-token context" in out
    assert "models[4]: mockllm/model\n  - reasoning_tokens: Inspect's mockllm provider does not send it" in out
    (pin,) = [p for p in providers_extra() if p.startswith("xai-sdk==")]
    assert re.search(rf"install every missing provider SDK with: \S*python\S* -m pip install --upgrade {pin}\n", out)
    assert "set the missing API keys in the environment or in a .env file in the working directory: TOGETHER_API_KEY\n" in out

    # `insider run` refuses with the same report, on stderr, before anything is written
    result = run_cli(capsys, "run", str(config))
    assert result.code == 2 and result.err.startswith("error: 5 problems before any model call; nothing was run:\n")
    assert "models[0]: grok/grok-check-no-sdk" in result.err and "TOGETHER_API_KEY" in result.err
    assert not (tmp_path / "logs").exists()


def test_one_problem_stays_one_line_and_a_clean_file_is_ready(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    result = run_cli(capsys, "run", str(write(tmp_path / "one.yaml", ["together/check/one"])), "--dry-run")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: models[0]: API key missing: set TOGETHER_API_KEY")

    result = run_cli(capsys, "check", str(write(tmp_path / "ok.yaml", ["mockllm/model"])))
    assert result.code == 0, result.out
    assert result.out.startswith(f"{tmp_path / 'ok.yaml'}: ready: 1 model entry x 3 conditions x 1 samples")


def test_a_key_set_but_empty_is_missing(tmp_path, capsys, monkeypatch):
    """Inspect's Anthropic provider accepts an empty key (every call would then fail)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    result = run_cli(capsys, "check", str(write(tmp_path / "empty.yaml", ["anthropic/claude-check-empty"])))
    assert result.code == 2 and "ANTHROPIC_API_KEY is set but empty" in result.out


def advice(problem_text: str) -> int:
    return int(re.search(r"set max_tokens to ~?(\d+) or less \(enough for every condition\)", problem_text).group(1))


@pytest.mark.parametrize("model", ["insider-local/smollm2", "openai/gpt-3.5-turbo"])
def test_following_the_context_advice_fits_every_condition(tmp_path, monkeypatch, model):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")

    def context_problems(max_tokens: int) -> list[str]:
        spec = yaml.safe_load(write(tmp_path / "fit.yaml", [model], max_tokens=max_tokens).read_text())
        _, problems = experiment_problems(Experiment.model_validate(spec))
        return [p.text for p in problems if p.kind == "context"]

    (problem,) = context_problems(8000)
    assert "3 of 3 prompts do not fit" in problem and "the tightest is murder_explicit-america_replacement" in problem
    largest = advice(problem)
    assert context_problems(largest) == []
    (tighter,) = context_problems(largest + 1)  # the advice is the largest that fits, not just one that does
    assert tighter.startswith("1 of 3 prompts do not fit") and advice(tighter) == largest


#: a command a config's header says to run first (e.g. `insider vary ...` to make its packs)
HEADER_COMMAND = re.compile(r"^#\s+insider (?!run\b)(.+)$", re.M)


def test_every_shipped_config_passes_check_with_the_providers_extra_installed(tmp_path, capsys, monkeypatch):
    """The venv is built with `.[providers]`: with keys set, no shipped config lacks an SDK. Each
    config is checked as its header says to use it (commands it names run first, in one directory)."""
    for key in KEYS:
        monkeypatch.setenv(key, "placeholder-key-for-the-check")
    monkeypatch.chdir(tmp_path)
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        for command in HEADER_COMMAND.findall(config.read_text()):
            assert run_cli(capsys, *command.split()).code == 0, f"{config.name}: insider {command}"
        result = run_cli(capsys, "check", str(config))
        assert result.code == 0, f"{config.name}:\n{result.out}{result.err}"
        assert ": ready: " in result.out


def test_dotenv_in_the_working_directory_is_read_before_preflight_and_the_environment_wins(tmp_path, capsys, monkeypatch, environ):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("INSIDER_DOTENV_PROBE", raising=False)
    first = write(tmp_path / "first.yaml", ["together/dotenv/first"])
    assert run_cli(capsys, "check", str(first)).code == 2

    (tmp_path / ".env").write_text("TOGETHER_API_KEY=from-dotenv-file\nINSIDER_DOTENV_PROBE=read\n")
    assert run_cli(capsys, "check", str(first)).code == 0
    assert run_cli(capsys, "run", str(first), "--dry-run").code == 0
    assert os.environ["TOGETHER_API_KEY"] == "from-dotenv-file"

    # a variable already in the environment wins over the file, even an empty one in the file
    os.environ["TOGETHER_API_KEY"] = "from-environment"
    (tmp_path / ".env").write_text("TOGETHER_API_KEY=\nINSIDER_DOTENV_PROBE=read\n")
    assert run_cli(capsys, "check", str(write(tmp_path / "second.yaml", ["together/dotenv/second"]))).code == 0
    assert os.environ["TOGETHER_API_KEY"] == "from-environment"

    # every command reads it, even one that needs no key
    del os.environ["INSIDER_DOTENV_PROBE"]
    assert run_cli(capsys, "conditions", "--pack", "builtin").code == 0
    assert os.environ["INSIDER_DOTENV_PROBE"] == "read"


def test_a_mode_the_model_cannot_run_is_refused_before_any_call(tmp_path):
    spec = yaml.safe_load(write(tmp_path / "tools.yaml", ["insider-local/smollm2", "mockllm/model"], pack="builtin", mode="tools").read_text())
    _, problems = experiment_problems(Experiment.model_validate(spec))
    assert [(p.where, p.kind) for p in problems] == [("models[0]", "setting")]
    assert problems[0].text.startswith("mode tools: insider-local/smollm2 runs mode text only (no tool calling)")


def test_a_model_built_earlier_in_the_process_with_a_key_does_not_hide_a_missing_key(tmp_path, capsys, monkeypatch):
    from inspect_ai.model import get_model

    monkeypatch.setenv("TOGETHER_API_KEY", "sk-test-not-a-real-key")
    get_model("together/check/memoized")  # Inspect memoizes it, key and all
    monkeypatch.delenv("TOGETHER_API_KEY")
    result = run_cli(capsys, "check", str(write(tmp_path / "memo.yaml", ["together/check/memoized"])))
    assert result.code == 2 and "API key missing: set TOGETHER_API_KEY" in result.out
