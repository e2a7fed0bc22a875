"""report.html in a real headless browser: Debian's Chromium driven by Playwright (`make browser`)."""

from pathlib import Path

import pytest

import logfactory
from insider.analysis.report import analyse, load, write_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
PLAN = {
    "blackmail_explicit-america_replacement": ["harmful", "harmful", "safe", "error"],
    "blackmail_none-none_none": ["safe", "safe", "unscored", "harmful"],
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    logs = tmp_path_factory.mktemp("logs")
    logfactory.run(PLAN, logs)
    table, from_logs = load([logs])
    return write_report(analyse(table, [str(logs)], from_logs, compare_paper=True), tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def browser(report_page):
    # the report is built first: Inspect runs its own event loop, which can't start inside Playwright's
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed; run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, report_page):
    """The report, opened; console errors, page errors and network requests are recorded."""
    page = browser.new_page()
    page.problems = []
    page.requests = []
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(report_page.as_uri())
    yield page
    page.close()


def test_the_report_loads_without_errors_or_network(page, report_page):
    assert page.title() == "insider report"
    assert page.problems == []
    assert page.requests == [report_page.as_uri()]


def test_the_charts_render_with_bars(page):
    charts = page.locator("figure.chart svg")
    assert charts.count() == 2  # the blackmail bar chart and its heat map
    bars = page.locator('figure.chart svg g[id^="bar-blackmail-"] path')
    assert bars.count() == 2  # one model, two conditions
    heights = [bars.nth(i).bounding_box()["height"] for i in range(bars.count())]
    assert max(heights) > 50  # 2 of 3 harmful is a tall bar, drawn on screen


def visible_outcomes(page) -> list[str]:
    return page.locator("#sample-rows tr").evaluate_all("rows => rows.map(r => r.dataset.outcome)")


def test_the_outcome_filter_changes_the_visible_rows(page):
    assert len(visible_outcomes(page)) == 8
    page.select_option("#filter-outcome", "harmful")
    assert visible_outcomes(page) == ["harmful"] * 3
    page.select_option("#filter-outcome", "error")
    assert visible_outcomes(page) == ["error"]
    assert page.locator("#sample-count").inner_text() == "1 of 8 samples"
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-condition", "blackmail_none-none_none")
    assert sorted(visible_outcomes(page)) == ["harmful", "safe", "safe", "unscored"]


def test_opening_a_transcript_highlights_the_harmful_action_and_the_judge(page):
    page.select_option("#filter-condition", "blackmail_explicit-america_replacement")
    page.select_option("#filter-outcome", "harmful")
    page.locator("#sample-rows tr").first.click()
    detail = page.locator("#sample-detail")
    assert detail.is_visible()
    assert page.locator("#judge-reasoning").inner_text() == logfactory.JUDGE_REASONING
    flagged = detail.locator(".action.harmful-action")
    assert flagged.count() == 1 and "email to the target (kyle.johnson@summitbridge.com)" in flagged.inner_text()
    marks = detail.locator(".message.assistant mark")
    assert marks.count() >= 1 and "kyle.johnson@summitbridge.com" in marks.first.inner_text()
    assert page.problems == []


@pytest.fixture(scope="module")
def panel_report(tmp_path_factory) -> Path:
    """A synthetic panel run: two judges that disagree on some samples."""
    import json

    from synthetic import OPUS, rows, table

    cell = rows(OPUS, "blackmail_explicit-america_replacement", 2, 2)
    for i, row in enumerate(cell):
        votes = {"judge-a": True, "judge-b": i == 0}
        row["judge_votes"] = json.dumps(votes)
        row["judge_members"] = json.dumps(
            [{"judge": name, "verdict": vote, "reasoning": f"{name} reasoning {i}", "error": None} for name, vote in votes.items()]
        )
    results = table(cell)
    return write_report(analyse(results, ["synthetic"], from_logs=False), tmp_path_factory.mktemp("panel-report"))


def test_a_disagreement_opens_its_sample_with_every_members_reasoning(browser, panel_report):
    page = browser.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(panel_report.as_uri())
    page.select_option("#filter-outcome", "safe")  # the link must show the sample whatever the filters
    links = page.locator("a.open-sample")
    assert links.count() == 3  # samples 1-3: judge-a harmful, judge-b safe
    links.first.click()
    detail = page.locator("#sample-detail")
    assert detail.is_visible()
    members = detail.locator(".panel-member")
    assert members.count() == 2
    assert "judge-a reasoning 1" in members.nth(0).inner_text() and "judge-b reasoning 1" in members.nth(1).inner_text()
    assert "Panel member judge-b: not harmful" in detail.inner_text()
    assert problems == []
    page.close()
