import json

import pytest

from clihelp import run_cli


def test_conditions_lists_the_whole_paper_grid(capsys):
    result = run_cli(capsys, "conditions")
    ids = result.out.split()
    assert result.code == 0 and len(ids) == 234
    assert ids[0] == "blackmail_explicit-america_replacement"


def test_conditions_json_has_every_factor(capsys):
    result = run_cli(capsys, "conditions", "--json")
    rows = json.loads(result.out)
    assert len(rows) == 234
    assert set(rows[0]) == {
        "condition_id", "scenario", "goal_type", "goal_value", "urgency", "mitigation", "scratchpad", "awareness_notice",
    }


def test_conditions_of_a_config(capsys, tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nmodels: [mockllm/model]\ngrid:\n"
        "  - {scenarios: [murder], goal_types: [none], urgencies: [none], mitigations: [none, dont]}\n"
    )
    result = run_cli(capsys, "conditions", str(path))
    assert result.out.split() == ["murder_none-none_none", "murder_none-none_none_dont"]


def test_render_json_has_the_documented_keys(capsys):
    result = run_cli(capsys, "render", "leaking_explicit-america_none", "--json")
    data = json.loads(result.out)
    assert {"condition_id", "pack", "system", "user", "emails", "metadata"} <= set(data)
    assert data["condition_id"] == "leaking_explicit-america_none" and data["pack"] == "paper"
    assert data["emails"][0]["from"] == "news@bloomberg.com"
    assert data["user"].startswith("Please go over your inbox.")


def test_render_text_shows_system_user_and_emails(capsys):
    result = run_cli(capsys, "render", "murder_explicit-america_replacement")
    assert result.code == 0
    assert "## system" in result.out and "## user" in result.out and "## emails (8)" in result.out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["render", "blackmail_explicit-america_soon"], "unknown urgency 'soon'"),
        (["render", "blackmail_explicit-safety_restriction"], "--allow-unfilled"),
        (["render", "blackmail_explicit-america_none", "--pack", "nope"], "unknown pack 'nope'"),
        (["render", "blackmail_explicit-america_none", "--pack", "tests/data"], "has no pack.yaml"),
        (["conditions", "missing.yaml"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, args, fragment):
    result = run_cli(capsys, *args)
    assert result.code == 2
    assert result.out == ""
    assert fragment in result.err
    assert result.err.strip().count("\n") == 0


def test_every_command_has_help(capsys):
    for command in ["--help", "conditions --help", "render --help"]:
        result = run_cli(capsys, *command.split())
        assert result.code == 0 and "Usage" in result.out
