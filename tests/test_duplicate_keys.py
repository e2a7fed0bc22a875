"""A key given twice is an error naming the key and both lines, in every file a user writes:
experiment files, every kind of pack file, and label files (JSON)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clihelp import run_cli
from insider.errors import InsiderError
from insider.experiment.config import load_experiment
from insider.inputs import load_yaml
from insider.judges.validate import load_labels
from insider.scenarios.directory import DirectoryPack

MINIMAL = Path(__file__).parent / "data" / "packs" / "minimal"

EXPERIMENT = """\
name: dup
models: [mockllm/model]
grid:
  - {conditions: [blackmail_none-none_none]}
run:
  budget_usd: 5
"""


def refused(load, path: Path) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InsiderError) as info:
        load(path)
    return str(info.value)


@pytest.mark.parametrize(
    "extra, key, lines",
    [
        ("run:\n  budget_usd: 5000\n", "run", "lines 5 and 7"),  # the example: the budget silently replaced
        ("name: other\n", "name", "lines 1 and 7"),
        ("samples: 2\nsamples: 3\n", "samples", "lines 7 and 8"),
    ],
)
def test_experiment_file_repeating_a_top_level_key_is_refused(tmp_path: Path, extra: str, key: str, lines: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT + extra)
    message = refused(load_experiment, path)
    assert f"duplicate key {key!r} at {lines}" in message and str(path) in message


@pytest.mark.parametrize(
    "text, key",
    [
        (EXPERIMENT.replace("  budget_usd: 5\n", "  budget_usd: 5\n  max_connections: 2\n  budget_usd: 50\n"), "budget_usd"),
        (EXPERIMENT.replace("{conditions: [blackmail_none-none_none]}", "{conditions: [blackmail_none-none_none], conditions: []}"), "conditions"),
        (EXPERIMENT + "judge:\n  model: rules\n  policy: strict\n  policy: paper\n", "policy"),
        (EXPERIMENT + "model_args:\n  mockllm/model: {a: 1}\n  mockllm/model: {a: 2}\n", "mockllm/model"),
    ],
)
def test_experiment_file_repeating_a_nested_key_is_refused(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    assert f"duplicate key {key!r}" in refused(load_experiment, path)


def test_yaml_merge_keys_are_not_duplicates() -> None:
    """`<<: *anchor` followed by an override is YAML's own way to reuse a block, not a repeat."""
    data = load_yaml("base: &b {x: 1, y: 2}\nrun: {<<: *b, x: 3}\n", "f.yaml")
    assert data["run"] == {"x": 3, "y": 2}


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MINIMAL, tmp_path / "pack"))


@pytest.mark.parametrize(
    "file, old, new, key",
    [
        ("pack.yaml", "goals: goals.yaml\n", "goals: goals.yaml\ngoals: goals.yaml\n", "goals"),
        ("goals.yaml", "  global:", "  america: {statement: a., reminder: b.}\n  global:", "america"),
        ("blackmail.yaml", "domain: acme.test\n", "domain: acme.test\ndomain: evil.test\n", "domain"),
        ("stories.yaml", "{old_focus: American interests,", "{old_focus: American interests, old_focus: x,", "old_focus"),
        ("emails/tie.md", "subject: your tie\n", "subject: your tie\nsubject: forged\n", "subject"),
    ],
)
def test_pack_file_repeating_a_key_is_refused(pack_dir: Path, file: str, old: str, new: str, key: str) -> None:
    path = pack_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    message = refused(DirectoryPack, pack_dir)
    assert message.startswith(f"{file}: duplicate key {key!r}"), message


def test_email_front_matter_names_the_lines_of_the_file(pack_dir: Path) -> None:
    path = pack_dir / "emails" / "tie.md"
    path.write_text(path.read_text().replace("subject: your tie\n", "subject: your tie\nsubject: forged\n"))
    lines = path.read_text().splitlines()
    first, second = (i for i, line in enumerate(lines, start=1) if line.startswith("subject:"))
    assert f"at lines {first} and {second}" in refused(DirectoryPack, pack_dir)


LABEL = {"scenario": "blackmail", "response": "I will not do that.", "label": False}


@pytest.mark.parametrize(
    "line, key",
    [
        ('{"scenario": "blackmail", "response": "x", "label": false, "label": true}', "label"),
        ('{"id": "a", "id": "b", "scenario": "leaking", "response": "x", "label": true}', "id"),
        ('{"scenario": "murder", "response": "x", "label": false, "scenario": "blackmail"}', "scenario"),
    ],
)
def test_label_line_repeating_a_key_is_refused(tmp_path: Path, line: str, key: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(LABEL) + "\n" + line + "\n")
    assert refused(load_labels, path) == (
        f"{path}:2: duplicate key {key!r}; a later value would replace the earlier one, so keep one"
    )


def test_the_cli_reports_a_duplicate_key_in_one_line_and_runs_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT + f"run:\n  log_dir: {tmp_path / 'logs'}\n")
    result = run_cli(capsys, "run", str(path))
    assert result.code == 2 and result.err.count("\n") == 1 and "duplicate key 'run' at lines 5 and 7" in result.err
    assert not (tmp_path / "logs").exists()
