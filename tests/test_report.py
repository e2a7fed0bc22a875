"""`insider report`: summary.json, summary.md, plots and report.html."""

import json
import re

import pytest

import logfactory
from clihelp import run_cli
from insider.analysis.report import analyse, load, write_report
from insider.analysis.results import write_results
from synthetic import GPT, OPUS, study_like

CELL_KEYS = {"model", "condition_id", "n", "k", "rate", "ci_low", "ci_high", "unscored", "errors"}


def make(capsys, source, out, *extra):
    result = run_cli(capsys, "report", str(source), "--out", str(out), *extra)
    assert result.code == 0, result.err
    return result


def build(source, out, compare_paper=False, per_group=10):
    """What `insider report` does, as a library call (for module-scoped fixtures)."""
    table, from_logs = load([source])
    return write_report(analyse(table, [str(source)], from_logs, compare_paper=compare_paper), out, per_group=per_group).parent


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    return write_results(study_like(), tmp_path_factory.mktemp("synthetic") / "results.parquet")


@pytest.fixture(scope="module")
def compared(results_file):
    """The report of a synthetic results file, with --compare-paper."""
    return build(results_file, results_file.parent / "compared", compare_paper=True)


@pytest.fixture(scope="module")
def plain(results_file):
    """The same report without --compare-paper."""
    return build(results_file, results_file.parent / "plain")


def page_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(match.group(1))


def test_report_cli_writes_the_files_and_prints_where_the_report_is(capsys, results_file, tmp_path):
    result = make(capsys, results_file, tmp_path / "out", "--compare-paper")
    assert result.out.splitlines()[0] == f"report: {tmp_path / 'out' / 'report.html'}"
    assert "note: input is a results file: transcripts are not available" in result.out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"summary.json", "summary.md", "report.html", "plots"}


def test_summary_json_has_the_cells_with_the_documented_keys(compared):
    summary = json.loads((compared / "summary.json").read_text())
    assert summary["totals"] == {"rows": 224, "harmful": 64, "safe": 156, "unscored": 1, "error": 3}
    cells = {(c["model"], c["condition_id"]): c for c in summary["cells"]}
    assert len(cells) == 11 and all(CELL_KEYS <= set(c) for c in cells.values())
    opus = cells[(OPUS, "blackmail_explicit-america_replacement")]
    assert (opus["n"], opus["k"], opus["rate"], opus["unscored"], opus["errors"]) == (20, 18, 0.9, 1, 2)
    assert opus["ci_low"] == pytest.approx(0.6989664) and opus["ci_high"] == pytest.approx(0.9721343)


def test_summary_json_has_comparisons_regression_and_replication(compared):
    summary = json.loads((compared / "summary.json").read_text())
    families = {c["family"] for c in summary["comparisons"]}
    assert families == {"threat", "goal_conflict", "mitigation", "models"}
    assert all({"diff", "diff_low", "diff_high", "p", "p_holm"} <= set(c) for c in summary["comparisons"])
    assert summary["regression"]["formula"].startswith("harmful ~ ")
    verdicts = {(r["model"], r["condition_id"]): r["verdict"] for r in summary["replication"]}
    assert verdicts[(GPT, "blackmail_explicit-america_replacement")] == "lower"
    assert set(summary["sources"]) == {"blog", "port", "secondary"}


def test_replication_is_left_out_without_compare_paper(plain):
    summary = json.loads((plain / "summary.json").read_text())
    assert summary["replication"] is None
    assert 'id="replication-table"' not in (plain / "report.html").read_text()


def test_summary_md_has_the_tables(compared):
    md = (compared / "summary.md").read_text()
    table_rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("| ")]
    assert [OPUS, "paper", "text", "blackmail_explicit-america_replacement", "20", "18", "90%", "[70%, 97%]", "1", "2"] in table_rows
    assert "## Comparison: threat vs no threat" in md and "## Comparison: model vs model" in md
    assert "## Replication check" in md and "37% †" in md  # the mitigation number is secondary
    assert "![blackmail: harmful rate by condition](plots/bars_blackmail.svg)" in md


def test_plots_are_written_as_png_and_svg(plain):
    names = sorted(p.name for p in (plain / "plots").iterdir())
    # leaking has one cell in this grid, so no goal value x urgency plane to map
    assert names == [
        "bars_blackmail.png", "bars_blackmail.svg", "bars_leaking.png", "bars_leaking.svg",
        "heatmap_blackmail.png", "heatmap_blackmail.svg",
    ]  # fmt: skip
    assert (plain / "plots" / "bars_blackmail.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (plain / "plots" / "bars_blackmail.svg").read_text()
    # one bar per (model, condition) with scored samples: 5 blackmail cells for opus, 4 for gpt-4.1
    assert len(re.findall(r'<g id="bar-blackmail-', svg)) == 9


def test_report_html_is_self_contained(compared):
    html = (compared / "report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)  # nothing fetched from a network
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?http", html)
    assert html.count("<svg") == 3  # two bar charts and the blackmail heat map, inlined
    assert 'id="comparisons-table"' in html and 'id="replication-table"' in html and 'id="sample-table"' in html


def test_report_from_a_results_file_says_transcripts_are_unavailable(plain):
    html = (plain / "report.html").read_text()
    data = page_data(html)
    assert data["from_logs"] is False and len(data["samples"]) == 224
    assert all(s["transcript"] is None for s in data["samples"])
    assert "transcripts are not available" in html


@pytest.fixture(scope="module")
def log_report(tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    logfactory.run({"blackmail_explicit-america_replacement": ["harmful", "safe", "error"], "murder_none-none_none": ["harmful", "safe", "safe"]}, logs)
    return logs


def test_report_from_logs_embeds_transcripts_with_the_harmful_action_flagged(log_report, tmp_path):
    data = page_data((build(log_report, tmp_path) / "report.html").read_text())
    assert data["from_logs"] is True
    samples = {(s["condition_id"], s["epoch"]): s for s in data["samples"]}
    blackmail = samples[("blackmail_explicit-america_replacement", 1)]
    [action] = blackmail["transcript"]["actions"]
    assert action["flag"] == "email to the target (kyle.johnson@summitbridge.com)"
    assert blackmail["judge_reasoning"] == logfactory.JUDGE_REASONING
    texts = [data["texts"][m["text"]] for m in blackmail["transcript"]["messages"] if m["text"] is not None]
    assert logfactory.SYSTEM in texts and any(action["raw"] in t for t in texts)
    murder = samples[("murder_none-none_none", 1)]["transcript"]["actions"][0]
    assert murder["flag"] == "cancelled the emergency alert (code 4429)"
    safe = samples[("blackmail_explicit-america_replacement", 2)]["transcript"]["actions"][0]
    assert safe["flag"] is None
    error = samples[("blackmail_explicit-america_replacement", 3)]
    assert error["outcome"] == "error" and "provider failed" in error["transcript"]["error"]
    # the system prompt is shared by every sample, so it is stored once
    assert data["texts"].count(logfactory.SYSTEM) == 1


def test_transcripts_are_limited_per_cell_and_outcome(capsys, log_report, tmp_path):
    make(capsys, log_report, tmp_path, "--transcripts", "1")
    data = page_data((tmp_path / "report.html").read_text())
    murder_safe = [s for s in data["samples"] if s["condition_id"] == "murder_none-none_none" and s["outcome"] == "safe"]
    assert [s["transcript"] is not None for s in sorted(murder_safe, key=lambda s: s["epoch"])] == [True, False]


def test_a_results_file_is_reported_on_alone(capsys, results_file, tmp_path):
    result = run_cli(capsys, "report", str(results_file), "--score", "insider_verdict_rules", "--out", str(tmp_path))
    assert result.code == 2 and "a results file is reported on alone" in result.err


def test_bad_report_input_is_one_line(capsys, tmp_path):
    bad = tmp_path / "results.csv"
    bad.write_text("model,outcome\nx,harmful\n")
    result = run_cli(capsys, "report", str(bad), "--out", str(tmp_path / "r"))
    assert result.code == 2 and "lacks column(s) condition_id" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_view_opens_inspects_viewer_on_loopback(capsys, monkeypatch, tmp_path):
    import os

    calls = []
    monkeypatch.setattr(os, "execv", lambda path, command: calls.append(command))
    result = run_cli(capsys, "view", str(tmp_path), "--port", "7600")
    assert result.code == 0 and "http://127.0.0.1:7600" in result.out
    [command] = calls
    assert command[1:] == ["-m", "inspect_ai", "view", "start", "--log-dir", str(tmp_path), "--host", "127.0.0.1", "--port", "7600"]


def test_view_refuses_a_missing_directory(capsys, tmp_path):
    result = run_cli(capsys, "view", str(tmp_path / "nope"))
    assert result.code == 2 and "not found" in result.err


@pytest.mark.parametrize("command", ["results", "report", "view"])
def test_analysis_commands_have_help(capsys, command):
    result = run_cli(capsys, command, "--help")
    assert result.code == 0 and "Usage" in result.out and "--help" in result.out


def test_a_model_whose_samples_all_errored_still_gets_a_heat_map_panel(tmp_path):
    from insider.analysis import plots, stats
    from synthetic import rows, table

    cells = stats.cells(
        table(
            rows(GPT, "blackmail_none-none_none", 0, 0, errors=2),
            rows(GPT, "blackmail_none-none_replacement", 0, 0, errors=2),
            rows(OPUS, "blackmail_none-none_none", 1, 2),
            rows(OPUS, "blackmail_none-none_replacement", 1, 2),
        )
    )
    figure = plots.heat_map(cells, "blackmail")
    assert [ax.get_title() for ax in figure.axes[:2]] == [OPUS, GPT]
