"""Outputs stay inside the output directory: atomic writes that never go through a symlink, file
names from safe slugs, Markdown that shows hostile names as text, and one-line errors for an
`--out` that cannot be used (nothing written, nothing changed)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from clihelp import run_cli
from insider.errors import InsiderError
from insider.outputs import OutputDir, slug
from synthetic import rows, table

HOSTILE_NAMES = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "evil|model|with|pipes",
    "[click](javascript:alert(1))",
    "![img](http://attacker.test/x.png)",
    "line\nbreak `code` *bold*",
]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (symlinks as their target path), with a hash of its content."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def results_file(tmp_path: Path) -> Path:
    """A results file whose model and scenario names are hostile."""
    data = table(
        *[rows(name, "blackmail_explicit-america_replacement", 2, 3) for name in HOSTILE_NAMES],
        rows("ok/model", "leaking_explicit-america_none", 1, 1),
    )
    data["scenario"] = data["scenario"].astype(object)
    data.loc[data["model"] == "ok/model", "scenario"] = "../../../outside/evil"
    path = tmp_path / "in" / "results.parquet"
    path.parent.mkdir()
    data.to_parquet(path, index=False)
    return path


def test_slugs_are_safe_and_distinct() -> None:
    names = ["blackmail", "../../etc/passwd", "a/b", "a_b", "a b", "..", "", "x" * 500, "ünïcode", "a\x00b"]
    slugs = [slug(n) for n in names]
    assert slug("blackmail") == "blackmail"
    assert len(set(slugs)) == len(slugs)
    for s in slugs:
        assert s and "/" not in s and not s.startswith(".") and len(s) <= 80, s


def test_hostile_names_never_reach_a_file_name(capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path) -> None:
    out = tmp_path / "report"
    result = run_cli(capsys, "report", str(results_file), "--out", str(out))
    assert result.code == 0, result.err
    outside = {p for p in tmp_path.rglob("*") if out not in p.parents and p != out and results_file.parent not in p.parents}
    assert outside == {results_file.parent}
    plot_files = sorted(p.name for p in (out / "plots").iterdir())
    assert all(name.startswith(("bars_", "heatmap_")) and "/" not in name for name in plot_files)
    assert any(name.startswith("bars_outside_evil-") for name in plot_files)


def test_summary_md_shows_hostile_names_as_text(capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path) -> None:
    out = tmp_path / "report"
    assert run_cli(capsys, "report", str(results_file), "--out", str(out)).code == 0
    md = (out / "summary.md").read_text()
    assert "<img" not in md and "<script" not in md and "](javascript" not in md and "](http://attacker" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "evil\\|model\\|with\\|pipes" in md
    header = next(line for line in md.splitlines() if line.startswith("| model"))
    for line in md.splitlines():
        if line.startswith("| ") and "pipes" in line and line.count("|") - line.count("\\|") == header.count("|"):
            break
    else:
        raise AssertionError("the row with pipes in its model name has extra cells")
    assert "line break \\`code\\` \\*bold\\*" in md


def test_report_never_writes_through_a_symlinked_plots_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "bars_blackmail.png").write_bytes(b"precious")
    out = tmp_path / "report"
    out.mkdir()
    (out / "plots").symlink_to(victim)
    before = snapshot(tmp_path)

    result = run_cli(capsys, "report", str(results_file), "--out", str(out))

    assert result.code == 2 and result.err.count("\n") == 1
    assert f"{out / 'plots'} is a symlink; insider never writes through one" in result.err
    assert snapshot(tmp_path) == before


def test_a_symlink_in_a_files_place_is_replaced_not_followed(capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("precious")
    out = tmp_path / "report"
    (out / "plots").mkdir(parents=True)
    (out / "summary.md").symlink_to(victim)
    (out / "plots" / "bars_blackmail.svg").symlink_to(victim)

    assert run_cli(capsys, "report", str(results_file), "--out", str(out)).code == 0

    assert victim.read_text() == "precious"
    assert not (out / "summary.md").is_symlink() and "# insider report" in (out / "summary.md").read_text()


def test_results_out_symlink_is_replaced_not_followed(capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path) -> None:
    victim = tmp_path / "victim.csv"
    victim.write_text("precious")
    link = tmp_path / "r.csv"
    link.symlink_to(victim)
    from insider.analysis.results import read_results, write_results

    write_results(read_results(results_file), link)
    assert victim.read_text() == "precious" and not link.is_symlink()


@pytest.mark.parametrize("relative", ["../x.md", "plots/../../x.md", "/etc/x", "a//b", ".", "plots/.hidden/../x"])
def test_a_name_leaving_the_output_directory_is_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(InsiderError, match="not a plain name inside"):
        OutputDir(tmp_path / "out").write({relative: "x"})
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["report", "results"])
@pytest.mark.parametrize("kind", ["existing-file", "file-as-parent", "wrong-kind", "unwritable"])
def test_an_unusable_out_is_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, results_file: Path, command: str, kind: str
) -> None:
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("keep me")
    if kind == "existing-file":
        out = blocker if command == "report" else tmp_path / "dir.csv"
        if command == "results":
            out.mkdir()
    elif kind == "file-as-parent":
        out = blocker / ("report" if command == "report" else "r.csv")
    elif kind == "wrong-kind":
        out = tmp_path / ("report.csv" if command == "report" else "r.txt")
        if command == "report":
            out.write_text("a file named like a directory's output")
    else:
        if os.access("/sys", os.W_OK) and os.getuid() != 0:
            pytest.skip("no unwritable place on this machine")
        out = Path("/sys/insider-test-out") / ("report" if command == "report" else "r.csv")
    before = snapshot(tmp_path)
    args = [str(results_file)] if command == "report" else [str(tmp_path / "no-logs-needed")]
    if command == "results":
        args = [str(results_file.parent)]

    result = run_cli(capsys, command, *args, "--out", str(out))

    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and result.err.startswith("error: ") and "Traceback" not in result.err
    assert snapshot(tmp_path) == before


def test_a_failed_batch_leaves_no_partial_files(tmp_path: Path) -> None:
    out = OutputDir(tmp_path / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "summary.md").write_text("old")
    with pytest.raises(InsiderError):
        out.write({"summary.md": "new", "plots/a.svg": "x", "../escape.md": "y"})
    assert (tmp_path / "out" / "summary.md").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["summary.md"]


def test_report_output_is_unchanged_for_ordinary_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "results.parquet"
    table(rows("openai/gpt-4.1", "blackmail_explicit-america_replacement", 2, 3)).to_parquet(path, index=False)
    assert run_cli(capsys, "report", str(path), "--out", str(tmp_path / "r")).code == 0
    md = (tmp_path / "r" / "summary.md").read_text()
    assert "| openai/gpt-4.1 | paper  | text   | blackmail_explicit-america_replacement |" in md
    assert re.search(r"\| \[\d+%, \d+%\] +\|", md) and "\\" not in md  # nothing to escape: nothing escaped
    assert sorted(p.name for p in (tmp_path / "r" / "plots").iterdir()) == ["bars_blackmail.png", "bars_blackmail.svg"]
    assert isinstance(pd.read_parquet(path), pd.DataFrame)
