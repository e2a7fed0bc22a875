"""Bad input gets one line on stderr, exit code 2, and leaves nothing half-written behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from clihelp import Result, run_cli
from insider.experiment.config import Experiment
from insider.experiment.runner import run_experiment

PACKS = Path(__file__).parent / "data" / "packs"
GOOD = {
    "name": "bad-inputs",
    "pack": "paper",
    "models": ["mockllm/model"],
    "grid": [{"conditions": ["blackmail_none-none_none"]}],
    "judge": "rules",
}


def assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.code == 2, result.err or result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert fragment in lines[0]


def write_config(tmp_path: Path, text: str | dict) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text if isinstance(text, str) else yaml.safe_dump(text))
    return path


def with_changes(**changes: object) -> dict:
    return {**GOOD, **changes}


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.mark.parametrize(
    "config, fragment",
    [
        ("name: x\nmodels: [mockllm/model\ngrid: []\n", "malformed YAML at line"),
        ("- just\n- a list\n", "expected a mapping"),
        (with_changes(temprature=0.5), "unknown key 'temprature'; allowed keys: name,"),
        (with_changes(run={"max_conections": 5}), "unknown key 'run.max_conections'"),
        (with_changes(grid=[]), "grid"),
        (with_changes(grid=[{"conditions": []}]), "grid[0]: needs scenarios"),
        (with_changes(grid=[{"scenarios": [], "goal_types": ["none"], "urgencies": ["none"]}]), "grid"),
        (with_changes(grid=[{"scenarios": ["blackmail"], "goal_types": ["none"], "urgencies": ["soon"]}]), "soon"),
        (with_changes(models=["nope/model"]), "unknown model provider 'nope'"),
        (with_changes(models=["gpt-4.1"]), "needs a provider prefix"),
        (with_changes(models=["openai-api/fake/agent-bad"]), "FAKE_API_KEY"),
        (with_changes(judge={"model": "openai-api/fake/judge-bad"}), "FAKE_API_KEY"),
        (with_changes(pack="no/such/pack"), "unknown pack 'no/such/pack'"),
    ],
)
def test_run_refuses_bad_experiments_before_writing_anything(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    log_dir: Path,
    config: str | dict,
    fragment: str,
) -> None:
    monkeypatch.delenv("FAKE_API_KEY", raising=False)
    monkeypatch.setenv("FAKE_BASE_URL", "http://127.0.0.1:9/v1")
    path = write_config(tmp_path, config)

    result = run_cli(capsys, "run", str(path), "--log-dir", str(log_dir))

    assert_one_line_error(result, fragment)
    assert not log_dir.exists()


@pytest.mark.parametrize(
    "template, fragment",
    [
        ("You are Alex of {{ company }.\n", "system.md.j2"),
        ("You are Alex of {{ company }}, {{ no_such_name }}.\n", "no_such_name"),
        ("{% if goal %}Your goal: {{ goal.statement }}\n", "system.md.j2"),
    ],
)
def test_run_refuses_a_pack_with_a_broken_template(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, log_dir: Path, template: str, fragment: str
) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACKS / "minimal", pack)
    (pack / "system.md.j2").write_text(template)
    path = write_config(tmp_path, with_changes(pack=str(pack)))

    result = run_cli(capsys, "run", str(path), "--log-dir", str(log_dir))

    assert_one_line_error(result, fragment)
    assert not log_dir.exists()


@pytest.fixture(scope="module")
def good_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real insider log (mockllm, one sample)."""
    root = tmp_path_factory.mktemp("good")
    experiment = Experiment.model_validate({**GOOD, "run": {"log_dir": str(root / "logs")}})
    assert run_experiment(experiment, display="none").complete
    (log,) = (root / "logs").glob("*.eval")
    return log


def _damaged(tmp_path: Path, good_log: Path, how: str) -> Path:
    logs = tmp_path / "damaged"
    logs.mkdir()
    data = good_log.read_bytes()
    if how == "truncated":
        (logs / good_log.name).write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        (logs / good_log.name).write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    elif how == "truncated-json":
        (logs / good_log.with_suffix(".json").name).write_text('{"version": 2, "status": "success", "eval": {"task": ')
    elif how == "empty":
        pass
    return logs


@pytest.mark.parametrize("how, fragment", [
    ("truncated", "corrupt or truncated"),
    ("garbage", "corrupt or truncated"),
    ("truncated-json", "corrupt or truncated"),
    ("empty", "no Inspect logs"),
])
@pytest.mark.parametrize("command", ["results", "report"])
def test_results_and_report_refuse_a_damaged_log_dir_and_write_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, good_log: Path, command: str, how: str, fragment: str
) -> None:
    logs = _damaged(tmp_path, good_log, how)
    out = tmp_path / ("results.csv" if command == "results" else "report")

    result = run_cli(capsys, command, str(logs), "--out", str(out))

    assert_one_line_error(result, fragment)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged"]


def test_a_good_log_beside_a_damaged_one_is_still_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, good_log: Path
) -> None:
    """A partial table would silently drop samples: refuse, naming the bad file."""
    logs = _damaged(tmp_path, good_log, "truncated")
    bad = next(logs.iterdir())
    bad.rename(logs / ("0-" + bad.name))
    shutil.copy(good_log, logs / good_log.name)

    result = run_cli(capsys, "results", str(logs), "--out", str(tmp_path / "r.csv"))

    assert_one_line_error(result, "0-" + bad.name)
    assert not (tmp_path / "r.csv").exists()
