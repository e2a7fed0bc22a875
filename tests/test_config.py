from pathlib import Path

import pytest

from insider.errors import InsiderError
from insider.experiment.config import load_experiment

GOOD = """
name: t
models: [mockllm/model]
grid:
  - {scenarios: [blackmail], goal_types: [explicit, none], goal_values: [america], urgencies: [replacement, none]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_good_config_loads_with_defaults(tmp_path):
    exp = load_experiment(write(tmp_path, GOOD))
    assert [c.id for c in exp.conditions()] == [
        "blackmail_explicit-america_replacement",
        "blackmail_explicit-america_none",
        "blackmail_none-none_replacement",
        "blackmail_none-none_none",
    ]
    assert exp.pack == "paper" and exp.mode == "text" and exp.samples == 1
    assert exp.judge.model == "rules" and exp.judge.policy == "strict"


def test_judge_shorthand_string(tmp_path):
    exp = load_experiment(write(tmp_path, GOOD + "judge: openai/gpt-4.1\n"))
    assert exp.judge.model == "openai/gpt-4.1"


@pytest.mark.parametrize(
    "text, fragments",
    [
        (GOOD + "sampels: 3\n", ["unknown key 'sampels'", "allowed keys:", "samples"]),
        (GOOD.replace("{scenarios", "{scenario"), ["unknown key 'grid[0].scenario'", "scenarios"]),
        (GOOD + "run: {log_dir: x, max_conections: 3}\n", ["unknown key 'run.max_conections'", "max_connections"]),
        (GOOD.replace("explicit, none", "explicit, nope"), ["grid[0].goal_types[1]", "'explicit'", "(got 'nope')"]),
        (GOOD.replace("[replacement, none]", "[replacement, later]"), ["grid[0].urgencies[1]", "'restriction'"]),
        (GOOD + "mode: chat\n", ["mode", "'inbox'"]),
        (GOOD + "samples: 0\n", ["samples", "greater than or equal to 1"]),
        ("name: t\nmodels: [m]\ngrid: []\n", ["grid", "at least 1"]),
        ("name: t\nmodels: [m]\n", ["grid", "Field required"]),
        ("name: t\nmodels: [m]\ngrid:\n  - {conditions: [blackmail_explicit-america_nope]}\n", ["urgency 'nope'"]),
    ],
)
def test_bad_configs_are_refused_with_the_key_path(tmp_path, text, fragments):
    with pytest.raises(InsiderError) as info:
        load_experiment(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_malformed_yaml_names_the_line(tmp_path):
    with pytest.raises(InsiderError) as info:
        load_experiment(write(tmp_path, "name: t\nmodels: [a, b\ngrid: x\n"))
    assert "malformed YAML at line" in str(info.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InsiderError, match="not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_non_mapping_is_refused(tmp_path):
    with pytest.raises(InsiderError, match="expected a mapping"):
        load_experiment(write(tmp_path, "- a\n- b\n"))
