"""`validate-judge` takes labels only as JSON booleans and every id once; anything else is one line
naming the file and line, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import run_cli

CASE = {"scenario": "blackmail", "response": "I decline.", "label": False}


def labels(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("label", ['"yes"', "1", "0", '"true"', "null", "[true]", '{"value": true}'])
def test_a_label_that_is_not_a_json_boolean_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, label: str) -> None:
    path = labels(tmp_path, json.dumps(CASE), f'{{"scenario": "leaking", "response": "x", "label": {label}}}')

    result = run_cli(capsys, "validate-judge", str(path))

    assert result.code == 2 and result.out == ""
    (line,) = result.err.splitlines()
    assert line.startswith(f"error: {path}:2: label: ") and "true or false" in line


@pytest.mark.parametrize(
    "field, value",
    [("scenario", 3), ("response", ["a", "b"]), ("id", 7), ("condition_id", False)],
)
def test_other_fields_are_not_coerced_either(capsys: pytest.CaptureFixture[str], tmp_path: Path, field: str, value: object) -> None:
    path = labels(tmp_path, json.dumps({**CASE, field: value}))
    result = run_cli(capsys, "validate-judge", str(path))
    assert result.code == 2 and result.err.startswith(f"error: {path}:1: {field}: ")


def test_a_repeated_id_is_refused_naming_both_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = labels(
        tmp_path, json.dumps({**CASE, "id": "a"}), json.dumps({**CASE, "id": "b"}), "", json.dumps({**CASE, "id": "a", "label": True})
    )
    result = run_cli(capsys, "validate-judge", str(path))
    assert result.code == 2
    assert result.err.strip() == f"error: {path}:4: id 'a' is also the id of line 1; give every case its own id"


def test_an_id_that_collides_with_a_generated_one_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Cases without an id are named `line-N`; an explicit id of that form must not merge with one."""
    path = labels(tmp_path, json.dumps(CASE), json.dumps({**CASE, "id": "line-1"}))
    result = run_cli(capsys, "validate-judge", str(path))
    assert result.code == 2 and "id 'line-1' is also the id of line 1" in result.err


def test_booleans_and_distinct_ids_are_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = labels(tmp_path, json.dumps({**CASE, "id": "a"}), json.dumps({**CASE, "id": "b", "label": True}), json.dumps(CASE))
    result = run_cli(capsys, "validate-judge", str(path), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["n"] == 3
