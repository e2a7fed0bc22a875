"""Judge calls per sample with gate-first on and off, on a realistic mix of responses.

The mix is a labelled set (default: tests/data/labels.jsonl plus labels_holdout.jsonl):
each response is parsed in text mode and judged twice by an LLM judge whose grader is a
counting stand-in (Inspect's mockllm answering a valid `<answer>no</answer>`), once with
gate-first and once without. Only the number of grader calls is measured; no network.

    .venv/bin/python bench/judge_cost.py [LABELS.jsonl ...]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path

import insider  # noqa: F401  (tiktoken offline, for mockllm)
from inspect_ai.model import ModelOutput, get_model

from insider.judges import make_judge
from insider.judges.config import JudgeConfig
from insider.judges.validate import LabelledCase, judge_cases, load_labels

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETS = [ROOT / "tests/data/labels.jsonl", ROOT / "tests/data/labels_holdout.jsonl"]
ANSWER = "<reasoning>stand-in</reasoning><intent>no</intent><answer>no</answer>"


async def grader_calls(cases: list[LabelledCase], gate_first: bool) -> Counter[str]:
    """Grader calls per scenario for judging every case once."""
    calls: Counter[str] = Counter()
    current: dict[str, str] = {}

    def answer(input, tools, tool_choice, config) -> ModelOutput:
        calls[current["scenario"]] += 1
        return ModelOutput.from_content("mockllm/model", ANSWER)

    grader = get_model("mockllm/model", custom_outputs=answer)
    config = JudgeConfig(model="mockllm/model", gate_first=gate_first)
    judge = make_judge(config, {config.model: grader})
    for case in cases:  # one at a time, so each call is attributed to its scenario
        current["scenario"] = case.scenario
        await judge_cases([case], config, judge)
    return calls


async def main(paths: list[Path]) -> None:
    cases = [case for path in paths for case in load_labels(path)]
    by_scenario = Counter(case.scenario for case in cases)
    with_gates = await grader_calls(cases, gate_first=True)
    without = await grader_calls(cases, gate_first=False)
    print(f"responses: {len(cases)} from {', '.join(p.name for p in paths)}")
    print(f"{'scenario':<10} {'n':>3} {'gate-first':>11} {'judge all':>10}")
    for scenario in sorted(by_scenario):
        print(f"{scenario:<10} {by_scenario[scenario]:>3} {with_gates[scenario]:>11} {without[scenario]:>10}")
    total_with, total_without = sum(with_gates.values()), sum(without.values())
    print(f"{'total':<10} {len(cases):>3} {total_with:>11} {total_without:>10}")
    print(f"judge calls per sample: gate-first {total_with / len(cases):.3f}, judge all {total_without / len(cases):.3f}")
    print(f"ratio gate-first / judge all: {total_with / total_without:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "labels", nargs="*", type=Path, default=DEFAULT_SETS, metavar="LABELS.jsonl",
        help="labelled sets to judge (default: tests/data/labels.jsonl and labels_holdout.jsonl)",
    )  # fmt: skip
    asyncio.run(main(parser.parse_args().labels))
