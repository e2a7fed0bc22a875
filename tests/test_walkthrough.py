"""A new user's first hour, in a fresh clone: the README's quickstart, then its real-model steps.

The clone is the repository's tracked files with this environment's `.venv` linked in (set-up is
`make setup`'s job, not repeated here). The quickstart runs `make run`'s own commands on one cell
of the embedded model (the full grid takes minutes). The real-model steps are followed as written
for `configs/paper-headline.yaml`, with made-up keys in a `.env`; for the run itself the user
keeps the models an OpenAI-compatible fake server can stand in for (Together's and OpenRouter's)
and names a grader it plays, as the config's comments say to, with one sample per cell.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from fakeserver import FakeServer
from freshclone import fresh_clone

KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GOOGLE_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY", "OPENROUTER_API_KEY")
#: the quickstart's cell with the shortest prompt for the embedded model
ONE_CELL = "blackmail_none-none_none"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = fresh_clone(tmp_path_factory.mktemp("walkthrough") / "insider")
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return root


def shell(clone: Path, command: str, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    """Run a command in the clone as the user would type it; its output (it must succeed)."""
    # a user's shell: no keys, and not inside a make (under `make test` a nested make would print
    # "Entering directory" lines)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    }
    done = subprocess.run(["bash", "-c", command], cwd=clone, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"`{command}`: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def readme_steps(clone: Path) -> str:
    text = (clone / "README.md").read_text()
    start = text.index("### The paper's headline grid on real models")
    return text[start : text.index("\n## ", start)]


def test_the_first_screen_says_how_to_reach_the_cli_and_make_run_says_it_too(clone: Path) -> None:
    first_screen = "\n".join((clone / "README.md").read_text().splitlines()[:30])
    assert "source .venv/bin/activate" in first_screen and ".venv/bin/insider" in first_screen
    recipe = shell(clone, "make -n -o .venv/.installed run").splitlines()
    assert recipe[0] == ".venv/bin/insider run configs/quickstart.yaml"
    said = shell(clone, recipe[-1]).strip()  # the recipe's last line prints where insider is
    assert "source .venv/bin/activate" in said and ".venv/bin/insider" in said


@pytest.mark.slow
def test_the_quickstart_runs_make_runs_commands_on_one_cell_of_the_embedded_model(clone: Path) -> None:
    config = clone / "configs/quickstart.yaml"
    spec = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**spec, "samples": 1, "max_tokens": 64, "grid": [{"conditions": [ONE_CELL]}]}))
    out = shell(clone, "make -o .venv/.installed run", timeout=900)
    assert re.search(r"insider-local/smollm2: harmful \d, safe \d, unscored \d, error 0", out), out[-2000:]
    assert "logs: logs/quickstart (complete)" in out and "report: reports/quickstart/report.html" in out
    assert (clone / "reports/quickstart/report.html").stat().st_size > 10_000
    assert out.rstrip().endswith("or call .venv/bin/insider")


def test_the_real_model_steps_with_keys_faked_and_providers_stubbed(clone: Path) -> None:
    steps = readme_steps(clone)
    # step 1: the `providers` extra, which `make` installs, holds every SDK the configs need
    assert "`providers` extra" in steps and "pip install -e '.[providers]'" in steps
    extra = tomllib.loads((clone / "pyproject.toml").read_text())["project"]["optional-dependencies"]["providers"]
    for pin in extra:
        name, pinned = pin.split("==")
        assert version(name) == pinned, f"{name}: the venv has {version(name)}, the providers extra pins {pinned}"

    # step 2: keys in a .env file in the working directory, every variable the step names
    named = [key for key in KEYS if f"`{key}`" in steps]
    assert named == list(KEYS), named
    with FakeServer() as server:
        (clone / ".env").write_text("".join(f"{key}={server.api_key}\n" for key in KEYS))

        # step 3: insider check passes for the whole file; step 4: the estimate
        assert "insider check configs/paper-headline.yaml" in steps
        out = shell(clone, "source .venv/bin/activate && insider check configs/paper-headline.yaml")
        assert out.startswith("configs/paper-headline.yaml: ready: 11 model entries x 7 conditions x 100 samples")
        estimate = json.loads(shell(clone, ".venv/bin/insider estimate configs/paper-headline.yaml --json"))
        rows = {role: [r for r in estimate["rows"] if r["role"] == role] for role in ("agent", "judge")}
        quoted = re.search(r"agents cost about \$(\d+) expected \(at most ~\$(\d+) .*?judge \(.*?\) about \$(\d+) more", steps, re.S)
        agents_expected, agents_most, judge_expected = map(int, quoted.groups())
        assert round(sum(r["cost_expected_usd"] for r in rows["agent"])) == agents_expected
        assert round(sum(r["cost_max_usd"] for r in rows["agent"]), -1) == agents_most
        assert round(sum(r["cost_expected_usd"] for r in rows["judge"])) == judge_expected

        # step 5: the run, keeping the models the fake server can play and a grader it plays
        config = clone / "configs/paper-headline.yaml"
        spec = yaml.safe_load(config.read_text())
        kept = [m for m in spec["models"] if m.split("/")[0] in ("together", "openrouter")]
        spec.update(models=kept, samples=1, judge={**spec["judge"], "model": "openrouter/fake/judge"})
        config.write_text(yaml.safe_dump(spec))
        urls = {"TOGETHER_BASE_URL": server.url, "OPENROUTER_BASE_URL": server.url}
        assert "insider run configs/paper-headline.yaml" in steps
        out = shell(clone, ".venv/bin/insider run configs/paper-headline.yaml --display none", env=urls)
        assert "logs: logs/paper-headline (complete)" in out
        for model in kept:
            assert re.search(rf"{re.escape(model)}: harmful \d, safe \d, unscored 0, error 0", out), out[-2000:]
        assert server.count(model="fake/judge") >= 1

        # step 6: the report, with the replication check
        command = re.search(r"`(insider report logs/paper-headline[^`]*)`", steps).group(1)
        out = shell(clone, f".venv/bin/{command}")
        assert "report: reports/paper-headline/report.html" in out
        assert "Replication check" in (clone / "reports/paper-headline/summary.md").read_text()
