"""Every shell and Python snippet in README.md and docs/*.md runs as written.

Each ```console, ```bash or ```python block is marked by an HTML comment on the line before it:

- `<!-- snippet: run -->`: its commands run, in order, in a copy of the repository (with
  `insider` on the PATH and no API key in the environment); each must succeed, or fail with
  exit code 2 when the output shown for it is a failure (`error: ...`, or `insider check`'s
  `FILE: N problems; nothing was run`);
- `<!-- snippet: run, output -->`: the same, and the output shown is what the command prints
  (trailing spaces ignored; a `...` line stands for any lines; tables at 110 columns);
- `<!-- snippet: skip: REASON -->`: not run, for the reason given (an API key, a cloud, a
  benchmark's minutes, a port chosen at run time).

A block without a marker fails `test_every_snippet_is_marked`. Commands that start with
`insider` run in this process (the CLI's `main`), the rest of a pipeline and other commands in
bash. Logs that snippets read (`logs/quickstart`) are made once, on `mockllm` with the
quickstart's grid, so nothing calls a real model except the embedded one where a snippet uses it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from clihelp import run_cli
from freshclone import ROOT, fresh_clone

from insider import cli
from insider.experiment.config import Experiment
from insider.experiment.runner import run_experiment

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = ("console", "bash", "sh", "shell")
LANGUAGES = (*SHELLS, "python")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!-- snippet: (run|run, output|skip: [^>]+?) -->\s*$")
#: how the output of a command that must fail (exit code 2) begins
FAILURE = re.compile(r"error: |\S+: \d+ problems?; nothing was run$")
#: the width tables are shown at in the docs
COLUMNS = 110


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    language: str
    body: str
    marker: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) not in LANGUAGES:
                continue
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            line = text[: match.start()].count("\n") + 1
            found.append(Snippet(path, line, match.group(1), match.group(2), marker.group(1) if marker else None))
    return found


SNIPPETS = snippets()
RUN = [s for s in SNIPPETS if s.marker and s.marker.startswith("run")]


def test_every_snippet_is_marked() -> None:
    unmarked = [s.name for s in SNIPPETS if s.marker is None]
    assert not unmarked, f"mark these blocks `<!-- snippet: run -->` or `<!-- snippet: skip: REASON -->`: {unmarked}"
    assert len(RUN) >= 10  # the marker syntax still matches what the docs write


@dataclass(frozen=True)
class Command:
    text: str
    #: the output shown for it
    shown: list[str]


def commands(snippet: Snippet) -> list[Command]:
    """A console block's `$ ` lines with the output shown under each; a bash block's lines."""
    if snippet.language != "console":
        lines = [line for line in snippet.body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        return [Command(line, []) for line in lines]
    out: list[Command] = []
    for line in snippet.body.splitlines():
        if line.startswith("$ "):
            out.append(Command(line[2:], []))
        elif out:
            out[-1].shown.append(line)
    return out


def split_pipe(command: str) -> tuple[str, str | None]:
    """The command before its first unquoted `|`, and the rest of the pipeline."""
    quote = None
    for i, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            return command[:i], command[i + 1 :]
    return command, None


def matches(shown: list[str], printed: list[str]) -> bool:
    """The shown lines are the printed ones; a `...` line stands for any number of lines."""
    pattern = "".join(r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line.rstrip()) + r"\n" for line in shown)
    return re.fullmatch(pattern, "".join(line.rstrip() + "\n" for line in printed)) is not None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's tracked files, with logs/quickstart made on mockllm."""
    root = fresh_clone(tmp_path_factory.mktemp("docs") / "insider")
    spec = yaml.safe_load((root / "configs/quickstart.yaml").read_text())
    spec.update(models=["mockllm/model"], run={**spec["run"], "log_dir": str(root / "logs/quickstart")})
    assert run_experiment(Experiment.model_validate(spec), display="none").complete
    return root


@pytest.fixture
def shell(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in the workspace, without API keys, `insider` and the venv's python on the PATH, tables
    at the docs' width."""
    monkeypatch.chdir(workspace)
    for name in [n for n in os.environ if n.endswith("_API_KEY")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    widths = (cli.console._width, cli.err_console._width)
    cli.console.width = cli.err_console.width = COLUMNS
    yield workspace
    cli.console._width, cli.err_console._width = widths


def run_command(capsys: pytest.CaptureFixture[str], command: str, workspace: Path) -> tuple[int, list[str]]:
    """Exit code and printed lines (stdout, then stderr) of one command as a shell would run it."""
    first, rest = split_pipe(command)
    words = shlex.split(first, comments=True)
    if words and words[0] == "insider":
        result = run_cli(capsys, *words[1:])
        if rest is None:
            return result.code, (result.out + result.err).splitlines()
        assert result.code == 0, f"{first}: exit {result.code}\n{result.err}"
        done = subprocess.run(["bash", "-c", rest], cwd=workspace, input=result.out, capture_output=True, text=True, timeout=120)
    else:
        done = subprocess.run(["bash", "-c", command], cwd=workspace, capture_output=True, text=True, timeout=300)
    return done.returncode, (done.stdout + done.stderr).splitlines()


@pytest.mark.parametrize("snippet", RUN, ids=[s.name for s in RUN])
def test_snippet_runs_as_written(snippet: Snippet, shell: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if snippet.language == "python":
        script = tmp_path / "snippet.py"
        script.write_text(snippet.body)
        done = subprocess.run([sys.executable, str(script)], cwd=shell, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{snippet.name}:\n{done.stderr[-3000:]}"
        return
    for command in commands(snippet):
        code, printed = run_command(capsys, command.text, shell)
        failing = bool(command.shown) and FAILURE.match(command.shown[0]) is not None
        assert (code == 2) if failing else (code == 0), f"{snippet.name}: `{command.text}` exit {code}\n" + "\n".join(printed[-40:])
        if snippet.marker == "run, output":
            assert matches(command.shown, printed), (
                f"{snippet.name}: `{command.text}` printed\n" + "\n".join(printed) + "\n\nthe docs show\n" + "\n".join(command.shown)
            )
