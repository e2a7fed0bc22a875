"""Files that are not text, nest too deeply, or expand through aliases end in one line naming the
file, quickly and without building the expansion (a hang guard, not a timing, bounds each test)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bounded import refusal

from insider.errors import InsiderError
from insider.experiment.config import load_experiment
from insider.inputs import MAX_DEPTH, MAX_FILE_BYTES, read_text
from insider.judges.validate import load_labels
from insider.scenarios.directory import DirectoryPack

MINIMAL = Path(__file__).parent / "data" / "packs" / "minimal"
GOOD_YAML = yaml.safe_dump({"name": "hostile", "models": ["mockllm/model"], "grid": [{"conditions": ["blackmail_none-none_none"]}]})
GOOD_LABEL = json.dumps({"scenario": "blackmail", "response": "No.", "label": False})


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The YAML alias bomb: each level repeats the previous one `width` times (9**9 values)."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


#: (name, bytes of the file, fragment of the one-line error)
NOT_TEXT = [
    ("binary", bytes(range(256)) * 4, "binary"),
    ("utf-16", GOOD_YAML.encode("utf-16"), "UTF-16 text"),
    ("utf-16-no-bom", GOOD_YAML.encode("utf-16-le"), "binary"),
    ("utf-32", GOOD_YAML.encode("utf-32"), "UTF-32 text"),
    ("latin-1", "name: caf\u00e9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    ("png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "binary"),
]
NESTED_YAML = [
    ("flow", "name: " + "[" * 5000 + "]" * 5000 + "\n", "malformed YAML"),
    ("block", "name:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), f"nested more than {MAX_DEPTH} levels deep"),
    ("flow-mappings", "name: " + "{a: " * 100 + "1" + "}" * 100 + "\n", f"nested more than {MAX_DEPTH} levels deep"),
]
BOMBS = [
    ("billion-laughs", billion_laughs(), "expands to more than 200,000 values"),
    ("wide", "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 1000) + "]\n", "expands to more than"),
    ("recursive", "a: &a [1, *a]\n", "refers to a value that contains it"),
]


def assert_refused(load: Callable[[Path], object], path: Path, fragment: str, name: str | None = None) -> None:
    message = refusal(lambda: load(path), max_bytes=50_000_000)
    assert "\n" not in message and fragment in message, message
    assert (name or str(path)) in message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, data, fragment", NOT_TEXT, ids=[n for n, _, _ in NOT_TEXT])
def test_experiment_file_that_is_not_utf8_text(tmp_path: Path, name: str, data: bytes, fragment: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(data)
    assert_refused(load_experiment, path, fragment)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, text, fragment", NESTED_YAML + BOMBS, ids=[n for n, _, _ in NESTED_YAML + BOMBS])
def test_experiment_file_nested_too_deeply_or_exploding(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    assert_refused(load_experiment, path, fragment)


def test_a_directory_given_as_the_experiment_file(tmp_path: Path) -> None:
    assert_refused(load_experiment, tmp_path, "is a directory, not a file")


def test_a_file_over_the_size_limit_is_not_read_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a" * 2_000)
    with pytest.raises(InsiderError, match="larger than 1,000 bytes"):
        read_text(path, max_bytes=1_000)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_device_is_read_no_further_than_the_limit() -> None:
    """A device has no size to check first; reading stops at the limit."""
    message = refusal(lambda: load_experiment("/dev/zero"), max_bytes=2 * MAX_FILE_BYTES)
    assert message == f"experiment file /dev/zero is larger than {MAX_FILE_BYTES:,} bytes; is it the right file?"
    with pytest.raises(InsiderError, match="larger than 4,096 bytes"):
        read_text("/dev/zero", max_bytes=4_096)


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MINIMAL, tmp_path / "pack"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("file", ["pack.yaml", "goals.yaml", "blackmail.yaml", "emails/tie.md", "system.md.j2"])
@pytest.mark.parametrize("name, data, fragment", NOT_TEXT[:3], ids=[n for n, _, _ in NOT_TEXT[:3]])
def test_pack_file_that_is_not_utf8_text(pack_dir: Path, file: str, name: str, data: bytes, fragment: str) -> None:
    (pack_dir / file).write_bytes(data)
    assert_refused(DirectoryPack, pack_dir, fragment, name=file)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, text, fragment", NESTED_YAML[1:] + BOMBS, ids=[n for n, _, _ in NESTED_YAML[1:] + BOMBS])
@pytest.mark.parametrize("file", ["goals.yaml", "stories.yaml"])
def test_pack_yaml_nested_too_deeply_or_exploding(pack_dir: Path, file: str, name: str, text: str, fragment: str) -> None:
    (pack_dir / file).write_text(text)
    assert_refused(DirectoryPack, pack_dir, fragment, name=file)


def test_email_front_matter_alias_bomb(pack_dir: Path) -> None:
    path = pack_dir / "emails" / "tie.md"
    path.write_text("---\n" + billion_laughs() + "---\nbody\n")
    assert_refused(DirectoryPack, pack_dir, "expands to more than", name="emails/tie.md")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "name, line, fragment",
    [
        ("deep-array", "[" * 100_000 + "]" * 100_000, "nested more than"),
        ("deep-object", '{"a": ' * 70 + "1" + "}" * 70, "nested more than"),
        ("deep-in-response", json.dumps({"scenario": "blackmail", "response": [[[[]]]], "label": True}), "response"),
        ("nan", '{"scenario": "blackmail", "response": "x", "label": NaN}', "NaN is not a JSON number"),
        ("huge-number", '{"scenario": "blackmail", "response": "x", "label": 1e999}', "too large a number"),
        ("not-an-object", "[1, 2, 3]", "JSON object"),
        ("truncated", '{"scenario": "blackmail", "resp', "not valid JSON"),
    ],
)
def test_label_lines_that_are_hostile(tmp_path: Path, name: str, line: str, fragment: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(GOOD_LABEL + "\n" + line + "\n")
    assert_refused(load_labels, path, fragment, name=f"{path}:2")


@pytest.mark.parametrize("name, data, fragment", NOT_TEXT, ids=[n for n, _, _ in NOT_TEXT])
def test_labels_file_that_is_not_utf8_text(tmp_path: Path, name: str, data: bytes, fragment: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_bytes(data)
    assert_refused(load_labels, path, fragment)
