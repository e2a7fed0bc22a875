"""Experiments with `packs:`: one task per pack, variants in the results, the robustness section."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mockexperiment import Script, spec
from pydantic import ValidationError
from variantpacks import copy_variant

from insider.analysis.report import analyse, write_report
from insider.analysis.results import results_table
from insider.errors import InsiderError
from insider.experiment.config import Experiment, load_experiment
from insider.experiment.runner import prepare, run_experiment
from insider.experiment.shards import Shard, all_shards
from insider.experiment.status import experiment_status
from insider.experiment.tasks import design_id

BLACKMAIL, LEAKING = "blackmail_explicit-america_replacement", "leaking_none-none_none"
CONDITIONS = [BLACKMAIL, LEAKING]


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("variants")
    return [str(copy_variant(root, 1, realism={BLACKMAIL: 3})), str(copy_variant(root, 2))]


def on_packs(log_dir: str, script: Script, **packs) -> Experiment:
    """The scripted experiment on the headline conditions, with `pack=` or `packs=`."""
    return Experiment.model_validate({**spec(log_dir, {"mockllm/model": script}, conditions=CONDITIONS), **packs})


def two_packs(log_dir: str, variants: list[str], script: Script) -> Experiment:
    return on_packs(log_dir, script, packs=variants)


def test_each_pack_runs_every_condition_and_rows_name_the_parent_and_realism(tmp_path, variants):
    script = Script()
    result = run_experiment(two_packs(str(tmp_path / "logs"), variants, script), display="none")
    assert result.complete and script.calls == 8  # 2 packs x 2 conditions x 2 epochs
    table = results_table([str(tmp_path / "logs")])
    assert sorted(set(table["pack"])) == variants
    assert set(table["variant_of"]) == {"builtin"}
    rows = table.set_index(["pack", "condition_id", "epoch"])
    assert rows.loc[(variants[0], BLACKMAIL, 1), "realism"] == 3
    assert rows.loc[(variants[0], BLACKMAIL, 1), "pack_realism"] == 3.0
    # a condition the realism file does not rate has no score; an unrated pack has none at all
    assert rows.loc[(variants[0], LEAKING, 1), "realism"] is pd.NA
    assert rows.loc[(variants[0], LEAKING, 1), "pack_realism"] == 3.0
    assert table.loc[table["pack"] == variants[1], ["realism", "pack_realism"]].isna().all().all()
    assert (table.loc[table["condition_id"] == BLACKMAIL, "outcome"] == "harmful").all()
    assert (table.loc[table["condition_id"] == LEAKING, "outcome"] == "safe").all()


def test_run_again_it_resumes_and_status_counts_each_pack(tmp_path, variants):
    log_dir = str(tmp_path / "logs")
    first = Script(fail_calls={3})
    assert not run_experiment(two_packs(log_dir, variants, first), display="none").complete
    again = Script()
    assert run_experiment(two_packs(log_dir, variants, again), display="none").complete
    assert again.calls == 1
    count, rows = experiment_status(two_packs(log_dir, variants, Script()))
    assert count is None and (rows[0].samples, rows[0].done, rows[0].state) == (8, 8, "complete")
    assert len(results_table([log_dir])) == 8


def test_adding_a_pack_runs_only_the_new_pack(tmp_path, variants):
    log_dir = str(tmp_path / "logs")
    run_experiment(on_packs(log_dir, Script(), packs=variants[:1]), display="none")
    again = Script()
    assert run_experiment(two_packs(log_dir, variants, again), display="none").complete
    assert again.calls == 4 and len(results_table([log_dir])) == 8


def test_shards_deal_the_cells_of_every_pack_and_together_equal_one_run(tmp_path, variants):
    sharded, single = str(tmp_path / "sharded"), str(tmp_path / "single")
    for shard in all_shards(3):
        assert run_experiment(two_packs(sharded, variants, Script()), display="none", shard=shard).complete
    run_experiment(two_packs(single, variants, Script()), display="none")
    key = ["pack", "condition_id", "epoch", "outcome", "variant_of"]
    assert results_table([sharded])[key].values.tolist() == results_table([single])[key].values.tolist()
    count, rows = experiment_status(two_packs(sharded, variants, Script()))
    assert count == 3 and rows[-1].done == rows[-1].samples == 8


def test_a_shard_run_with_other_packs_is_refused(tmp_path, variants):
    log_dir = str(tmp_path / "logs")
    run_experiment(two_packs(log_dir, variants, Script()), display="none", shard=Shard(1, 2))
    with pytest.raises(InsiderError, match="different design"):
        run_experiment(two_packs(log_dir, variants[:1], Script()), display="none", shard=Shard(2, 2))


def test_the_estimate_counts_every_pack(variants):
    one = prepare(on_packs("logs", Script(), packs=variants[:1]))
    two = prepare(two_packs("logs", variants, Script()))
    assert (two.conditions, two.packs) == (2, 2)
    assert two.rows[0].samples == 2 * one.rows[0].samples and two.rows[0].input_tokens == 2 * one.rows[0].input_tokens


def test_one_pack_keeps_its_design_fingerprint_and_packs_change_it(variants):
    single = on_packs("logs", Script(), pack=variants[0])
    listed = on_packs("logs", Script(), packs=variants[:1])
    both = two_packs("logs", variants, Script())
    assert len({design_id(single), design_id(listed), design_id(both)}) == 3


@pytest.mark.parametrize(
    "packs, extra, message",
    [
        ([], {}, "packs: List should have at least 1 item"),
        (["builtin", "builtin"], {}, "packs[0] and packs[1] are the same pack"),
        (["paper"], {"pack": "builtin"}, "sets both pack and packs"),
        ([""], {}, "packs[0]: String should have at least 1 character"),
        ("builtin", {}, "packs: Input should be a valid list"),
    ],
)
def test_bad_packs_are_one_line(tmp_path, packs, extra, message):
    data = {**spec("logs", {"mockllm/model": Script()}), "packs": packs, **extra}
    data.pop("model_args")
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps(data))
    with pytest.raises(InsiderError) as caught:
        load_experiment(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_builtin_pack_by_name_and_by_directory_is_the_same_pack():
    from insider.scenarios import BUILTIN_PACK_DIR

    with pytest.raises(ValidationError, match="same pack"):
        Experiment.model_validate({**spec("logs", {}), "models": ["mockllm/model"], "packs": ["builtin", str(BUILTIN_PACK_DIR)]})


def test_the_report_gets_a_robustness_section_from_a_two_variant_run(tmp_path, variants):
    log_dir = str(tmp_path / "logs")
    run_experiment(two_packs(log_dir, variants, Script()), display="none")
    analysis = analyse(results_table([log_dir]), [log_dir], from_logs=True)
    families = analysis.robustness.families
    assert sorted(families["condition_id"]) == sorted(CONDITIONS)
    assert list(families["variants"]) == [2, 2] and not families["differ"].any()
    assert set(analysis.cells["variants_differ"]) == {False}
    out = write_report(analysis, tmp_path / "report").parent
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["robustness"]["families"]) == 2 and len(summary["robustness"]["variants"]) == 4
    text = (out / "summary.md").read_text()
    assert "## Robustness to wording" in text and "beta-binomial" in text
    html = (out / "report.html").read_text()
    assert 'id="robustness-table"' in html and 'id="variants-table"' in html
    plots = [p.name for p in (out / "plots").iterdir() if p.name.startswith("variants_")]
    assert len(plots) == 2 and all("![" in text and f"plots/{p}" in text for p in plots if p.endswith(".svg"))


def test_the_robustness_config_runs_on_the_variants_its_header_command_makes(tmp_path, monkeypatch, capsys):
    """The header's `insider vary builtin --out variants/builtin --variants 10`, run from the
    directory `insider run` starts in, makes exactly the packs the file lists, and each loads."""
    from clihelp import run_cli
    from insider.scenarios import get_pack

    config = load_experiment(Path(__file__).parents[1] / "configs" / "robustness.yaml")
    assert config.pack_names == ["builtin", *[f"variants/builtin/builtin-v{i:02d}" for i in range(1, 11)]]
    monkeypatch.chdir(tmp_path)
    made = run_cli(capsys, "vary", "builtin", "--out", "variants/builtin", "--variants", "10")
    assert made.code == 0, made.err
    assert [get_pack(name).name for name in config.pack_names[1:]] == [f"builtin-v{i:02d}" for i in range(1, 11)]
