"""The report: `summary.json`, `summary.md`, plots (PNG + SVG) and a self-contained `report.html`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

import jinja2
import pandas as pd

from insider import __version__
from insider.analysis import markdown as md
from insider.analysis import plots, stats
from insider.analysis.agreement import JudgeAgreement, judge_agreement
from insider.analysis.replication import SOURCE_NOTES, awareness_replication, replication
from insider.analysis.robustness import Robustness, flag_cells, robustness
from insider.analysis.results import OUTCOMES, read_results, results_table
from insider.analysis.transcripts import transcripts
from insider.errors import InsiderError
from insider.outputs import OutputDir

#: results columns shown in the sample browser
BROWSER_COLUMNS = [
    "model", "base_model", "settings", "pack", "mode", "condition_id", "epoch", "outcome", "outcome_reason", "judge_verdict", "judge_skipped",
    "judge_model", "prompt_set", "judge_reasoning", "judge_votes", "judge_members", "awareness", "intent", "log_file",
    "sample_id",
]  # fmt: skip
RESULTS_SUFFIXES = (".parquet", ".csv", ".jsonl")


@dataclass
class Analysis:
    """Every table and note of a report, computed from one results table."""

    results: pd.DataFrame
    source: list[str]
    from_logs: bool
    models: pd.DataFrame
    cells: pd.DataFrame
    comparisons: pd.DataFrame
    regression: dict[str, Any]
    awareness: pd.DataFrame
    #: cells run on two or more variants of a pack, pooled with the variant as a cluster
    robustness: Robustness
    #: agreement between judges, when two or more voted on the same samples
    agreement: JudgeAgreement | None = None
    replication: pd.DataFrame | None = None
    awareness_replication: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def load(inputs: Sequence[str | Path], score: str | None = None) -> tuple[pd.DataFrame, bool]:
    """The results table from log dirs/files, or from one results file; and whether logs were read."""
    paths = [str(p) for p in inputs]
    if any(p.endswith(RESULTS_SUFFIXES) for p in paths):
        if len(paths) > 1 or score is not None:
            raise InsiderError("a results file is reported on alone (no log dirs, no --score: its verdicts are already chosen)")
        return read_results(paths[0]), False
    return results_table(paths, score=score), True


def analyse(results: pd.DataFrame, source: Sequence[str], from_logs: bool, compare_paper: bool = False) -> Analysis:
    """Cells, comparisons, regression, awareness and (optionally) the replication check."""
    cells = stats.cells(results)
    varied = robustness(cells)
    analysis = Analysis(
        results=results,
        source=[str(s) for s in source],
        from_logs=from_logs,
        models=stats.model_entries(results),
        cells=flag_cells(cells, varied),
        comparisons=stats.comparisons(cells),
        regression=stats.regression(results),
        awareness=stats.awareness(results),
        robustness=varied,
        agreement=judge_agreement(results),
    )
    if compare_paper:
        analysis.replication = replication(cells, results)
        analysis.awareness_replication = awareness_replication(analysis.awareness)
        others = analysis.replication[analysis.replication["study_judge"] == False]  # noqa: E712 (NA stays out)
        if not others.empty:
            analysis.notes.append(
                f"replication: {len(others)} row(s) were not judged like the study (its classifier prompts and "
                "paper rule, graded by Claude 3.7 Sonnet); they are marked ‡ and their judge is named"
            )
        if analysis.replication.empty:
            analysis.notes.append(
                "replication: no cell of this run matches a published cell (models are matched by name, "
                "see insider.analysis.replication.PAPER_MODELS)"
            )
    if not from_logs:
        analysis.notes.append("input is a results file: transcripts are not available (report on the log dir to browse them)")
    return analysis


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """JSON-ready rows (NaN and NA become null)."""
    if df is None:
        return None
    return json.loads(df.to_json(orient="records", date_format="iso"))


def summary(analysis: Analysis) -> dict[str, Any]:
    """The `summary.json` object."""
    counts = analysis.results["outcome"].value_counts()
    return {
        "insider_version": __version__,
        "source": analysis.source,
        "totals": {"rows": int(len(analysis.results)), **{o: int(counts.get(o, 0)) for o in OUTCOMES}},
        "models": _records(analysis.models),
        "cells": _records(analysis.cells),
        "comparisons": _records(analysis.comparisons),
        "regression": analysis.regression,
        "awareness": _records(analysis.awareness),
        "robustness": {
            "method": ROBUSTNESS_METHOD,
            "families": _records(analysis.robustness.families),
            "variants": _records(analysis.robustness.variants),
        },
        "judge_agreement": _agreement_records(analysis.agreement),
        "replication": _records(analysis.replication),
        "awareness_replication": _records(analysis.awareness_replication),
        "sources": SOURCE_NOTES,
        "notes": analysis.notes,
    }


def _agreement_records(agreement: JudgeAgreement | None) -> dict[str, Any] | None:
    if agreement is None:
        return None
    return {
        "pairs": _records(agreement.pairs),
        "fleiss": _records(agreement.fleiss),
        "rates": _records(agreement.rates),
        "disagreements": _records(agreement.disagreements),
    }


#: how the robustness section's numbers are made (report text; details in insider.analysis.robustness)
ROBUSTNESS_METHOD = (
    "A family is one model, mode and condition run on two or more variants of one pack. Each variant's rate "
    "has a Wilson 95% interval. The pooled rate and the ICC (how strongly samples of one wording agree; "
    "the variants' rates spread with SD √(ICC·rate·(1−rate))) come from a beta-binomial random-effects "
    "model fitted by maximum likelihood, each with a 95% profile-likelihood interval: the variant is the "
    "cluster, so the interval is set by the number of variants as much as by the samples, and unlike a "
    "cluster-robust (GEE) or logit meta-analysis interval it stays valid when every variant is at 0% or "
    "100%. The original is the parent pack's own rate on the cell, when it ran too (not pooled). The homogeneity p is the Fisher-Freeman-Halton exact test across variants (Monte Carlo, 9,999 "
    "tables, fixed seed), Holm-corrected over families; a family below 0.05 is flagged: its variants disagree."
)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def pct(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.0%}"


def interval(low: Any, high: Any) -> str:
    return "–" if pct(low) == "–" else f"[{pct(low)}, {pct(high)}]"


def num(value: Any) -> str:
    return "–" if _missing(value) else f"{value:.3g}"


def settings_text(settings: Any) -> str:
    """A model entry's generation settings (JSON) as `key=value` pairs; `–` when not recorded."""
    if not isinstance(settings, str):
        return "–"
    return ", ".join(f"{key}={value}" for key, value in json.loads(settings).items()) or "provider defaults"


def robustness_markdown(varied: Robustness, figures: Sequence[plots.Plot]) -> list[str]:
    """The robustness section of `summary.md`: families, then each variant's rate."""
    fam, per = varied.families, varied.variants
    return [
        "## Robustness to wording",
        md.escape(ROBUSTNESS_METHOD),
        md.table(
            pd.DataFrame(
                {
                    "model": fam["model"],
                    "mode": fam["mode"],
                    "condition": fam["condition_id"],
                    "variants of": fam["variant_of"],
                    "variants": fam["variants"],
                    "pooled [95% clustered]": [f"{pct(r)} {interval(lo, hi)}" for r, lo, hi in zip(fam["rate"], fam["ci_low"], fam["ci_high"])],
                    "range": [f"{pct(lo)}–{pct(hi)}" for lo, hi in zip(fam["min_rate"], fam["max_rate"])],
                    "original": [_original(k, n) for k, n in zip(fam["original_k"], fam["original_n"])],
                    "ICC [95%]": [f"{num(i)} [{num(lo)}, {num(hi)}]" for i, lo, hi in zip(fam["icc"], fam["icc_low"], fam["icc_high"])],
                    "homogeneity p": fam["p"].map(num),
                    "Holm p": fam["p_holm"].map(num),
                    "variants differ": fam["differ"].map({True: "yes ⚑", False: "no"}),
                }
            )
        ),
        *[f"![{md.escape(fig.title)}](plots/{fig.name}.svg)" for fig in figures],
        md.table(
            pd.DataFrame(
                {
                    "model": per["model"],
                    "condition": per["condition_id"],
                    "variant": per["pack"],
                    "rate": per["rate"].map(pct) + " (" + per["k"].astype(str) + "/" + per["n"].astype(str) + ")",
                    "95% Wilson": [interval(lo, hi) for lo, hi in zip(per["ci_low"], per["ci_high"])],
                    "realism": per["realism"].map(num),
                }
            )
        ),
    ]


def _original(k: Any, n: Any) -> str:
    """The parent pack's own rate in a family, or – when the parent did not run the cell."""
    return "–" if _missing(n) else f"{pct(k / n)} ({k}/{n})"


def markdown(analysis: Analysis, figures: Sequence[plots.Plot] = (), variant_figures: Sequence[plots.Plot] = ()) -> str:
    """The `summary.md` text (`variant_figures`: the robustness section's dot plots)."""
    cells = analysis.cells.assign(
        rate=analysis.cells["rate"].map(pct), ci95=[interval(lo, hi) for lo, hi in zip(analysis.cells["ci_low"], analysis.cells["ci_high"])]
    )[["model", "pack", "mode", "condition_id", "n", "k", "rate", "ci95", "unscored", "errors"]]
    varied = analysis.robustness
    if not varied.empty:
        cells["variants"] = analysis.cells["variants_differ"].map({True: "differ ⚑", False: "agree"}).fillna("")
    parts = [
        "# insider report",
        f"Source: {md.escape(', '.join(analysis.source))}  ",
        f"insider {__version__}. Rates are harmful / scored (n); unscored and errored samples are counted beside, "
        "never in n. Intervals are Wilson 95%.",
        *[f"> {md.escape(note)}" for note in analysis.notes],
        "## Models",
        md.table(
            pd.DataFrame(
                {
                    "model": analysis.models["model"],
                    "base model": analysis.models["base_model"],
                    "settings": analysis.models["settings"].map(settings_text),
                }
            )
        ),
        "## Cells",
        md.table(cells),
    ]
    if figures:
        parts += ["## Plots", *[f"![{md.escape(fig.title)}](plots/{fig.name}.svg)" for fig in figures]]
    if not varied.empty:
        parts += robustness_markdown(varied, variant_figures)
    comps = analysis.comparisons
    for family in comps["family"].unique() if not comps.empty else []:
        rows = comps[comps["family"] == family]
        shown = pd.DataFrame(
            {
                "model": rows["model"],
                "a": rows["a"],
                "b": rows["b"],
                "condition": rows["condition_id"],
                "rate a": rows["rate_a"].map(pct) + " (" + rows["k_a"].astype(str) + "/" + rows["n_a"].astype(str) + ")",
                "rate b": rows["rate_b"].map(pct) + " (" + rows["k_b"].astype(str) + "/" + rows["n_b"].astype(str) + ")",
                "diff [95% Newcombe]": [f"{d:+.0%} {interval(lo, hi)}" for d, lo, hi in zip(rows["diff"], rows["diff_low"], rows["diff_high"])],
                "Fisher p": rows["p"].map(num),
                "Holm p": rows["p_holm"].map(num),
            }
        )
        if family not in stats.ENTRY_FAMILIES:
            shown = shown.drop(columns="condition")
        parts += [f"## Comparison: {md.escape(stats.FAMILY_TITLES[family])}", md.table(shown)]
    reg = analysis.regression
    parts += ["## Logistic regression", f"{md.code(reg['formula'])} — {md.escape(reg['note'])}"]
    if reg["design"]:
        parts.append(
            "Design: "
            + md.escape(
                "; ".join(
                    f"{factor} (reference {d['reference']}): " + ", ".join(f"{lvl} {c['k']}/{c['n']}" for lvl, c in d["levels"].items())
                    for factor, d in reg["design"].items()
                )
            )
        )
    if reg["fitted"]:
        terms = pd.DataFrame(reg["terms"])
        parts.append(
            md.table(
                pd.DataFrame(
                    {
                        "term": terms["term"],
                        "odds ratio [95% CI]": [f"{num(o)} [{num(lo)}, {num(hi)}]" for o, lo, hi in zip(terms["odds_ratio"], terms["or_low"], terms["or_high"])],
                        "p": terms["p"].map(num),
                    }
                )
            )
        )
    if not analysis.awareness.empty:
        aw = analysis.awareness
        parts += [
            "## Harmful rate by stated belief (awareness)",
            md.table(
                aw.assign(share=aw["share"].map(pct), rate=aw["rate"].map(pct), ci95=[interval(lo, hi) for lo, hi in zip(aw["ci_low"], aw["ci_high"])])[
                    ["model", "condition_id", "awareness", "count", "share", "k", "n", "rate", "ci95"]
                ]
            ),
        ]
    if analysis.agreement is not None:
        ag = analysis.agreement
        parts += [
            "## Judge agreement",
            "Votes are each judge's verdict under the headline policy, on the samples where judges were asked "
            "(gate-first skips samples with no harmful act). κ is undefined (–) when the votes fall in one class.",
            md.table(
                ag.pairs.assign(agree=ag.pairs["agree"].map(pct), kappa=ag.pairs["kappa"].map(num))
            ),
            md.table(ag.fleiss.assign(kappa=ag.fleiss["kappa"].map(num)).rename(columns={"kappa": "Fleiss κ"})),
            md.table(
                ag.rates.assign(
                    rate=ag.rates["rate"].map(pct),
                    ci95=[interval(lo, hi) for lo, hi in zip(ag.rates["ci_low"], ag.rates["ci_high"])],
                )[["scenario", "judge", "n", "k", "rate", "ci95"]]
            ),
            f"Samples on which the judges disagree: {len(ag.disagreements)}",
            md.table(ag.disagreements.drop(columns="row")),
        ]
    if analysis.replication is not None:
        rep = analysis.replication
        parts += [
            "## Replication check",
            "Published rate against our Wilson 95% interval: consistent when inside it, otherwise ours is higher or lower. "
            "Sources: " + md.escape("; ".join(f"{k} = {v}" for k, v in SOURCE_NOTES.items())) + ". † marks secondary sources; "
            "‡ marks rows not judged like the study (its classifier prompts and paper rule, graded by Claude 3.7 Sonnet).",
            md.table(
                pd.DataFrame(
                    {
                        "model": rep["model"],
                        "condition": rep["condition_id"],
                        "figure": rep["figure"],
                        "published": rep["published_rate"].map(pct) + rep["secondary"].map({True: " †", False: ""}),
                        "source": rep["source"],
                        "ours": rep["rate"].map(pct) + " (" + rep["k"].astype(str) + "/" + rep["n"].astype(str) + ")",
                        "ours 95%": [interval(lo, hi) for lo, hi in zip(rep["ci_low"], rep["ci_high"])],
                        "verdict": rep["verdict"],
                        "judge": rep["judge"].fillna("–") + rep["study_judge"].map({False: " ‡"}).fillna(""),
                    }
                )
            ),
        ]
    return "\n\n".join(parts) + "\n"


def _json_for_script(data: Any) -> str:
    """JSON safe inside a <script> element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def browser_data(analysis: Analysis, per_group: int) -> dict[str, Any]:
    """The sample browser's data: rows, their transcripts (when logs were read) and the text table."""
    rows = analysis.results[BROWSER_COLUMNS].reset_index(drop=True)
    found, texts = transcripts(rows, per_group) if analysis.from_logs else ({}, [])
    samples = _records(rows) or []
    for index, sample in enumerate(samples):
        sample["transcript"] = found.get(index)
    return {"from_logs": analysis.from_logs, "samples": samples, "texts": texts, "per_group": per_group}


def html(analysis: Analysis, figures: list[plots.Plot], per_group: int, variant_figures: Sequence[plots.Plot] = ()) -> str:
    """The self-contained `report.html`."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: files("insider.analysis").joinpath("templates", name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(pct=pct, settings=settings_text)
    env.globals.update(interval=interval, original=_original)
    template = env.get_template("report.html.j2")
    return template.render(
        a=analysis,
        version=__version__,
        totals=summary(analysis)["totals"],
        figures=figures,
        variant_figures=variant_figures,
        robustness_method=ROBUSTNESS_METHOD,
        families=_records(analysis.robustness.families),
        variants=_records(analysis.robustness.variants),
        family_titles=stats.FAMILY_TITLES,
        entry_families=stats.ENTRY_FAMILIES,
        comparisons=_records(analysis.comparisons),
        models=_records(analysis.models),
        cells=_records(analysis.cells),
        awareness=_records(analysis.awareness),
        agreement=_agreement_records(analysis.agreement),
        replication=_records(analysis.replication),
        awareness_replication=_records(analysis.awareness_replication),
        source_notes=SOURCE_NOTES,
        data_json=_json_for_script(browser_data(analysis, per_group)),
    )


def write_report(analysis: Analysis, out_dir: str | Path, per_group: int = 10) -> Path:
    """Write summary.json, summary.md, plots/ and report.html into `out_dir`, all or nothing
    (everything is computed before the first file is written); return report.html's path."""
    out = OutputDir(out_dir)
    figures = plots.all_plots(analysis.cells)
    variant_figures = plots.robustness_plots(analysis.robustness.families, analysis.robustness.variants)
    files: dict[str, bytes | str] = {
        "summary.json": json.dumps(summary(analysis), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        "summary.md": markdown(analysis, figures, variant_figures),
        "report.html": html(analysis, figures, per_group, variant_figures),
    }
    for figure in [*figures, *variant_figures]:
        files.update(figure.files())
    out.write(files)
    return out.target("report.html")
