"""The Inspect task of an experiment: one Sample per condition, `epochs = samples`."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from inspect_ai import Epochs, Task, task, task_with
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig, Model, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from insider import __version__
from insider.conditions import parse_condition_id
from insider.errors import InsiderError
from insider.experiment.config import Experiment, ModelEntry
from insider.judges.config import JudgeConfig
from insider.redact import guard
from insider.scenarios import PACK_NAMES, ScenarioPrompt, get_pack
from insider.variants.manifest import RealismFile, VariantManifest, read_realism, read_variant


def provenance(pack: str) -> tuple[VariantManifest | None, RealismFile | None]:
    """A pack directory's `variant.json` and `realism.json` (None for each it lacks, and for the
    named packs `paper` and `builtin`, which are originals and carry no scores)."""
    if pack in PACK_NAMES:
        return None, None
    return read_variant(pack), read_realism(pack)


def variant_metadata(condition_id: str, variant: VariantManifest | None, realism: RealismFile | None) -> dict[str, Any]:
    """What a sample records of its pack's provenance: the parent pack and how the variant was made,
    and the realism score of its own condition with the pack's mean (keys only when the files exist)."""
    out: dict[str, Any] = {}
    if variant is not None:
        out["variant_of"] = variant.parent
        out["variant"] = variant.model_dump(mode="json")
    if realism is not None:
        own = realism.scores.get(condition_id)
        out["realism"] = own.score if own is not None else None
        out["pack_realism"] = realism.mean
        out["realism_judge"] = realism.judge
    return out


def sample_metadata(
    prompt: ScenarioPrompt,
    pack: str,
    mode: str,
    model_label: str | None = None,
    model_settings: dict[str, Any] | None = None,
    provenance: tuple[VariantManifest | None, RealismFile | None] = (None, None),
) -> dict[str, Any]:
    """What every sample carries: ids, factors, scenario facts, the emails, content hash, the
    model entry it runs under (its label and generation settings), and for a variant pack its
    parent and realism scores.

    The emails and the pack's provenance travel with the sample (`inbox`: the emails as records
    and as the text block the agent read), so judging or analysing it again never needs the pack.
    """
    condition = parse_condition_id(prompt.condition_id)
    return {
        **condition.factors(),
        "pack": pack,
        "mode": mode,
        "facts": prompt.facts.model_dump(),
        # one mapping, not two top-level keys: Inspect shortens every top-level string of a
        # sample's metadata (textwrap, ~1 ms for an 8 kB block) each time it builds the sample's
        # summary, while a large mapping is dropped from the summary at once
        "inbox": {"emails": [email.model_dump() for email in prompt.emails], "block": prompt.email_block},
        "content_hash": prompt.content_hash(),
        **({"model_label": model_label} if model_label is not None else {}),
        **({"model_settings": model_settings} if model_settings is not None else {}),
        **variant_metadata(prompt.condition_id, *provenance),
    }


def render_all(pack: str, condition_ids: list[str], allow_unfilled: bool = False) -> list[ScenarioPrompt]:
    """Render every condition up front, so a bad condition fails before any model call."""
    loaded = get_pack(pack, allow_unfilled=allow_unfilled)
    return [loaded.render(parse_condition_id(cid)) for cid in condition_ids]


def check_mode(pack: str, mode: str) -> None:
    """Refuse a mode the pack cannot render."""
    supported = get_pack(pack).modes
    if mode not in supported:
        raise InsiderError(
            f"pack {pack!r} supports mode {', '.join(supported)} only, not {mode!r}; "
            "use mode: text, or pack: builtin for tools and inbox"
        )


@solver
def budgeted_agent(mode: str, pack: str, allow_unfilled: bool = False) -> Solver:
    """The agent (`insider_agent`), refusing to start a sample once the run's budget is spent.

    The budget is not an argument, so raising it keeps the task's identity (the run resumes).
    """
    from insider.agent import agent_solver
    from insider.experiment.budget import refuse_if_spent

    agent = agent_solver(mode=mode, pack=pack, allow_unfilled=allow_unfilled)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        await refuse_if_spent()
        return await agent(state, generate)

    return solve


@task
def insider_experiment(
    pack: str,
    mode: str,
    conditions: list[str],
    samples: int = 1,
    judge: dict[str, Any] | None = None,
    allow_unfilled: bool = False,
    message_limit: int = 30,
    token_limit: int | None = None,
    name: str | None = None,
    model_label: str | None = None,
    model_settings: dict[str, Any] | None = None,
    shard: str | None = None,
) -> Task:
    """An agentic-misalignment experiment on one pack in one interaction mode.

    Args:
        pack: `paper`, `builtin`, or the path to a pack directory.
        mode: `text` (the study's protocol), `tools` (native tool calls) or `inbox`.
        conditions: condition ids, one Sample each.
        samples: epochs per condition.
        judge: a `JudgeConfig` as a dict (`{"model": "rules"}` by default).
        allow_unfilled: paper pack: keep placeholders the published templates leave unfilled.
        message_limit: cap on messages per sample (tools/inbox modes loop until the agent stops).
        token_limit: cap on tokens per sample.
        name: the task's name in logs (defaults to `insider_experiment`).
        model_label: the label of the model entry the task runs (recorded in every sample).
        model_settings: that entry's generation settings, as recorded in every sample (the
            model itself gets them from the runner).
        shard: `I/N` when the task runs one shard of the experiment's cells.
    """
    from insider.agent import sample_messages
    from insider.judges import verdict_scorer

    check_mode(pack, mode)
    prompts = render_all(pack, conditions, allow_unfilled)
    made = provenance(pack)
    dataset = MemoryDataset(
        [
            Sample(
                id=prompt.condition_id,
                input=sample_messages(prompt, mode),
                metadata=sample_metadata(prompt, pack, mode, model_label, model_settings, made),
            )
            for prompt in prompts
        ],
        name=f"{pack}-{mode}",
    )
    return Task(
        dataset=dataset,
        solver=budgeted_agent(mode=mode, pack=pack, allow_unfilled=allow_unfilled),
        scorer=verdict_scorer(JudgeConfig.model_validate(judge or {})),
        epochs=Epochs(samples),
        message_limit=message_limit,
        token_limit=token_limit,
        name=name,
        metadata={
            "insider_version": __version__,
            "pack": pack,
            "mode": mode,
            **({"model_label": model_label} if model_label is not None else {}),
            **({"shard": shard} if shard else {}),
        },
    )


def task_name(experiment: Experiment, pack: str | None = None) -> str:
    """A log-friendly task name: the experiment's name, pack (default: its first) and mode."""
    pack = re.sub(r"[^A-Za-z0-9_.-]+", "-", pack or experiment.pack_names[0]).strip("-")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{experiment.name}_{pack}_{experiment.mode}")


def entry_model(experiment: Experiment, entry: ModelEntry) -> Model:
    """The Inspect model of one `models:` entry, carrying the run's settings and the entry's
    generation settings, with credentials redacted from its errors (see insider.redact)."""
    config = GenerateConfig.model_validate({**experiment.run.inspect_settings(), **experiment.generate_settings(entry)})
    return guard(get_model(entry.model, config=config, memoize=False, **experiment.provider_args(entry)))


def design_id(experiment: Experiment) -> str:
    """A fingerprint of what an experiment's samples are: every setting that changes a task's identity.

    Settings that only change how a run is executed (log_dir, connections, batch, cache,
    budget, retries, timeouts) are left out, as Inspect leaves them out of a task's identity.
    """
    design = {
        "name": experiment.name,
        # one pack keeps the fingerprint it always had, so its old shards still match
        **({"pack": experiment.pack} if experiment.packs is None else {"packs": experiment.packs}),
        "mode": experiment.mode,
        "models": [
            {"model": e.model, "label": e.label, "settings": experiment.generate_settings(e), "args": experiment.provider_args(e)}
            for e in experiment.models
        ],
        "samples": experiment.samples,
        "allow_unfilled": experiment.allow_unfilled,
        "conditions": [c.id for c in experiment.conditions()],
        "judge": experiment.judge.model_dump(),
        "message_limit": experiment.run.message_limit,
        "token_limit": experiment.run.token_limit,
    }
    # provider arguments may hold objects (a scripted mockllm output function): their type stands in
    text = json.dumps(design, sort_keys=True, default=lambda value: type(value).__qualname__)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def experiment_task(
    experiment: Experiment,
    entry: ModelEntry,
    pack: str | None = None,
    conditions: list[str] | None = None,
    shard: str | None = None,
) -> Task:
    """The Task of one model entry of an experiment on one of its packs, bound to that entry's model.

    Its args (the pack, the label and settings among them) and the model's generation settings
    are what eval-set uses to resume: two entries of one model, or two packs, are two tasks,
    never mixed.

    Args:
        experiment: the experiment.
        entry: the model entry the task runs.
        pack: the pack the task runs (default: the experiment's first).
        conditions: run only these condition ids (a shard's share); default: the whole grid.
        shard: `I/N` for a shard's task (part of its identity, so each shard resumes its own logs).
    """
    pack = pack or experiment.pack_names[0]
    task = insider_experiment(
        pack=pack,
        mode=experiment.mode,
        conditions=conditions if conditions is not None else [c.id for c in experiment.conditions()],
        samples=experiment.samples,
        judge=experiment.judge.model_dump(),
        allow_unfilled=experiment.allow_unfilled,
        message_limit=experiment.run.message_limit,
        token_limit=experiment.run.token_limit,
        name=task_name(experiment, pack),
        model_label=entry.label,
        model_settings=experiment.generate_settings(entry),
        **({"shard": shard} if shard else {}),  # unsharded tasks keep the identity they always had
    )
    # metadata is not part of a task's identity: adding the fingerprint keeps old logs resumable
    task.metadata = {**(task.metadata or {}), "design": design_id(experiment)}
    return task_with(task, model=entry_model(experiment, entry))
