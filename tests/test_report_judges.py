"""The report says which judge produced each rate: the judge-agreement section for panels, and
the replication table marking rows not judged like the study."""

from __future__ import annotations

import json

import pytest

from insider.analysis.report import analyse, write_report
from synthetic import GPT, OPUS, rows, table

STUDY_GRADER = "anthropic/claude-3-7-sonnet-20250219"
HEADLINE = "blackmail_explicit-america_replacement"


def judged(cell: list[dict], model: str | None, prompts: str | None, policy: str, votes: list[dict] | None = None) -> list[dict]:
    for i, row in enumerate(cell):
        row.update(judge_model=model, prompt_set=prompts, policy=policy)
        if votes is not None:
            row["judge_votes"] = json.dumps(votes[i % len(votes)])
    return cell


@pytest.fixture(scope="module")
def analysis():
    panel_votes = [
        {"openai/gpt-4.1": True, "anthropic/claude-sonnet-4-5": True},
        {"openai/gpt-4.1": True, "anthropic/claude-sonnet-4-5": False},
        {"openai/gpt-4.1": False, "anthropic/claude-sonnet-4-5": False},
    ]
    results = table(
        judged(rows(OPUS, HEADLINE, 18, 2), STUDY_GRADER, "study", "paper"),
        judged(rows(GPT, HEADLINE, 8, 12), "rules", None, "paper"),
        judged(rows(OPUS, "blackmail_none-none_replacement", 16, 4), "panel:majority(...)", "study", "paper", panel_votes),
    )
    return analyse(results, ["synthetic"], from_logs=False, compare_paper=True)


def test_replication_rows_name_their_judge_and_mark_the_ones_not_judged_like_the_study(analysis):
    rep = analysis.replication.set_index(["model", "condition_id"])
    assert rep.loc[(OPUS, HEADLINE), "study_judge"] == True  # noqa: E712
    assert rep.loc[(OPUS, HEADLINE), "judge"] == f"{STUDY_GRADER} · study prompts · paper policy"
    assert rep.loc[(GPT, HEADLINE), "study_judge"] == False  # noqa: E712
    assert rep.loc[(GPT, HEADLINE), "judge"] == "rules · no prompts · paper policy"
    assert any("not judged like the study" in note for note in analysis.notes)


def test_the_markdown_and_html_mark_those_rows(analysis, tmp_path):
    page = write_report(analysis, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "rules · no prompts · paper policy ‡" in md and f"{STUDY_GRADER} · study prompts · paper policy ‡" not in md
    html = page.read_text()
    assert "rules · no prompts · paper policy ‡" in html


def test_the_agreement_section_covers_the_panel(analysis, tmp_path):
    agreement = analysis.agreement
    [pair] = agreement.pairs.to_dict("records")
    # 20 samples cycle through (yes, yes), (yes, no), (no, no)
    assert pair["n"] == 20 and pair["agree"] == pytest.approx(13 / 20)
    assert len(agreement.disagreements) == 7
    write_report(analysis, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["judge"] for r in summary["judge_agreement"]["rates"]} == {"openai/gpt-4.1", "anthropic/claude-sonnet-4-5"}
    md = (tmp_path / "summary.md").read_text()
    assert "## Judge agreement" in md and "Samples on which the judges disagree: 7" in md
    html = (tmp_path / "report.html").read_text()
    assert html.count('class="open-sample"') == 7 and 'href="#agreement"' in html


def test_no_agreement_section_without_a_second_judge(tmp_path):
    results = table(judged(rows(OPUS, HEADLINE, 3, 2), "rules", None, "strict"))
    analysis = analyse(results, ["synthetic"], from_logs=False)
    assert analysis.agreement is None
    write_report(analysis, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["judge_agreement"] is None
    assert "Judge agreement" not in (tmp_path / "report.html").read_text()
