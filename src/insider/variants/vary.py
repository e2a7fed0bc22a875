"""`insider vary`: K variant packs of one pack, each written to its own directory and validated.

A variant of a pack directory (the builtin pack included) is a complete pack directory: the
parent's files with the perturbations applied, `pack.yaml` named `<parent>-vNN`, and
`variant.json` (`insider.variants.manifest`). A variant of the `paper` pack holds no prompt
text: `paper.yaml` stores the perturbation (renames, shift, distractors) that is applied to the
published prompts when they are rendered (`insider.variants.paper`). Identical inputs and seed
give byte-identical directories; a paraphrasing model makes them depend on its answers too.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from insider.errors import InsiderError
from insider.outputs import OutputDir
from insider.scenarios import BUILTIN_PACK_DIR
from insider.scenarios.directory import load_pack
from insider.scenarios.packfiles import MANIFEST
from insider.variants.manifest import (
    VARIANT_FILE,
    VariantManifest,
    dump,
    pack_hash,
    read_variant,
)
from insider.variants.perturb import (
    PAPER_PERTURBATIONS,
    PERTURBATIONS,
    parse_perturbations,
    perturb,
)
from insider.variants.tree import PackTree

if TYPE_CHECKING:
    from inspect_ai.model import Model


@dataclass
class VariantResult:
    """One variant: where it was written, and what happened to it."""

    name: str
    path: Path
    perturbations: list[str]
    conditions: int = 0
    #: paraphrases that failed their checks and kept the original wording: part -> reason
    rejected: dict[str, str] = field(default_factory=dict)
    paraphrased: int = 0
    realism: float | None = None
    #: why the variant was dropped (and its directory removed), if it was
    dropped: str | None = None


def variant_name(parent: str, index: int, count: int) -> str:
    return f"{parent}-v{index:0{max(2, len(str(count)))}d}"


def resolve_parent(pack: str) -> tuple[str, Path | None]:
    """(the parent's name, its directory); the paper pack has no directory."""
    if pack == "paper":
        return "paper", None
    root = BUILTIN_PACK_DIR if pack == "builtin" else Path(pack).expanduser()
    if not root.is_dir():
        raise InsiderError(f"pack {pack!r} not found; vary paper, builtin or a pack directory")
    variant = read_variant(root)
    if not (root / MANIFEST).is_file():
        if variant is not None and variant.parent == "paper":
            raise InsiderError(f"{pack} is a variant of the paper pack; vary the paper pack itself (insider vary paper)")
        raise InsiderError(f"{pack} is not a pack directory: it has no {MANIFEST} at its root (see docs/packs.md)")
    return load_pack(root).name, root


def vary(
    pack: str,
    out: Path,
    variants: int,
    *,
    seed: int = 0,
    perturbations: str | None = None,
    paraphrase: str | Model | None = None,
    min_realism: float | None = None,
    judge: str | Model | None = None,
    conditions: list[str] | None = None,
    on_variant: Callable[[VariantResult], None] | None = None,
) -> list[VariantResult]:
    """Write `variants` variants of `pack` into `out`.

    Args:
        pack: `paper`, `builtin` or a pack directory.
        out: the directory that receives one sub-directory per variant.
        variants: how many.
        seed: the seed every perturbation's choices derive from.
        perturbations: comma-separated names (default: every one the pack allows).
        paraphrase: an Inspect model that rewrites the prose of emails and stories.
        min_realism: drop (remove) a variant whose mean realism score, rated by `judge` on
            `conditions` (default: the whole grid), is below this, or that got no score.
        judge: the realism judge (required with `min_realism`).
        conditions: the condition ids the judge rates.
        on_variant: called with each variant once it is written and validated.
    """
    if variants < 1:
        raise InsiderError("--variants must be at least 1")
    if (min_realism is None) != (judge is None):
        raise InsiderError("--min-realism and --judge go together: the judge rates each variant's realism")
    if min_realism is not None and not 1 <= min_realism <= 10:
        raise InsiderError(f"--min-realism {min_realism} is outside the 1-10 scale of realism scores")
    keep = partial(_keep, min_realism=min_realism, judge=judge, conditions=conditions, on_variant=on_variant)
    parent, root = resolve_parent(pack)
    allowed = PAPER_PERTURBATIONS if root is None else tuple(PERTURBATIONS)
    chosen = parse_perturbations(perturbations, allowed, parent)
    if root is None and paraphrase:
        raise InsiderError("the paper pack cannot be paraphrased (its text is not stored); use --perturb only, or vary builtin")
    names = [variant_name(parent, i, variants) for i in range(1, variants + 1)]
    target = OutputDir(out)
    for name in names:
        if (target.given / name).exists():
            raise InsiderError(f"{target.given / name} already exists; choose another --out or remove it")
    if root is None:
        from insider.variants.paper import write_paper_variant

        results = []
        for index, name in enumerate(names, start=1):
            results.append(keep(write_paper_variant(target, name, index, seed, chosen)))
        return results
    parent_hash = pack_hash(root)
    tree = PackTree.read(root)
    results = []
    for index, name in enumerate(names, start=1):
        variant = tree.copy()
        perturb(variant, chosen, seed, index)
        variant.manifest["name"] = name
        result = VariantResult(name=name, path=target.given / name, perturbations=chosen)
        manifest = VariantManifest(
            parent=parent, parent_hash=parent_hash, seed=seed, index=index, perturbations=chosen, paraphrase=None if paraphrase is None else str(paraphrase),
        )
        originals: dict[str, Callable[[PackTree], None]] = {}
        if paraphrase:
            from insider.variants.paraphrase import paraphrase_tree

            report = asyncio.run(paraphrase_tree(variant, paraphrase, seed=seed))
            result.paraphrased, result.rejected = report.accepted, dict(report.rejected)
            originals = report.originals
        _write_validated(target, name, variant, manifest, result, originals)
        results.append(keep(result))
    return results


def _keep(
    result: VariantResult, *, min_realism: float | None, judge: str | Model | None, conditions: list[str] | None,
    on_variant: Callable[[VariantResult], None] | None,
) -> VariantResult:
    """Rate the variant when a threshold is set, and drop it (remove its directory) below it."""
    if min_realism is not None and judge is not None:
        from insider.variants.realism import rate_pack

        realism, _ = asyncio.run(rate_pack(str(result.path), judge, conditions))
        result.realism = realism.mean
        if realism.mean is None or realism.mean < min_realism:
            rated = "no condition could be rated" if realism.mean is None else f"realism {realism.mean:.2f} < {min_realism:g}"
            failed = f" ({len(realism.failed)} ratings failed)" if realism.failed else ""
            result.dropped = rated + failed
            shutil.rmtree(result.path)
    if on_variant:
        on_variant(result)
    return result


def _write(target: OutputDir, name: str, tree: PackTree, manifest: VariantManifest) -> None:
    files = {f"{name}/{rel}": text for rel, text in tree.files().items()}
    files[f"{name}/{VARIANT_FILE}"] = dump(manifest)
    target.write(files)


def _write_validated(
    target: OutputDir, name: str, tree: PackTree, manifest: VariantManifest, result: VariantResult,
    originals: dict[str, Callable[[PackTree], None]],
) -> None:
    """Write a variant and load it again (which validates all of it). A paraphrase (`originals`:
    part -> how to undo it) that breaks the pack is undone and reported, and the variant written
    again, until it validates; an error no paraphrase explains removes the variant."""
    unexplained = "" if originals else " (a bug in insider vary; please report it)"
    while True:
        _write(target, name, tree, manifest)
        try:
            result.conditions = len(load_pack(result.path).conditions())
            return
        except InsiderError as exc:
            culprit = _culprit(str(exc), list(originals))
            if culprit is None:
                shutil.rmtree(result.path)
                raise InsiderError(f"variant {name} did not validate and was removed{unexplained}: {exc}") from None
            originals.pop(culprit)(tree)
            result.rejected[culprit] = f"the pack did not validate with it: {exc}"
            result.paraphrased -= 1


def _culprit(message: str, parts: list[str]) -> str | None:
    """The paraphrased part a pack error names: `file: key: ...` (a story as `file#key`)."""
    in_file = [part for part in parts if message.startswith(part.split("#")[0] + ":")]
    named = [part for part in in_file if "#" in part and f"stories.{part.split('#')[1]}" in message]
    return (named or in_file or [None])[0]
