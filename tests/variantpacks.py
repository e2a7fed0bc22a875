"""Variant packs for tests, made by copying the builtin pack (a stand-in for `insider vary`):
a distinct name in pack.yaml, a `variant.json`, and optionally a `realism.json`."""

from __future__ import annotations

import shutil
from pathlib import Path

from insider.scenarios import BUILTIN_PACK_DIR
from insider.variants.manifest import (
    REALISM_FILE,
    VARIANT_FILE,
    RealismFile,
    RealismScore,
    VariantManifest,
    dump,
    pack_hash,
)


def copy_variant(root: Path, index: int, realism: dict[str, int] | None = None) -> Path:
    """`root/builtin-vNN`: the builtin pack renamed, with its manifest (and realism scores by condition id)."""
    target = root / f"builtin-v{index:02d}"
    shutil.copytree(BUILTIN_PACK_DIR, target)
    text = (target / "pack.yaml").read_text()
    (target / "pack.yaml").write_text(text.replace("\nname: builtin\n", f"\nname: {target.name}\n", 1))
    made = VariantManifest(parent="builtin", parent_hash=pack_hash(BUILTIN_PACK_DIR), seed=7, index=index, perturbations=["copy"])
    (target / VARIANT_FILE).write_text(dump(made))
    if realism is not None:
        scores = {cid: RealismScore(score=score, reasons="test score") for cid, score in realism.items()}
        (target / REALISM_FILE).write_text(dump(RealismFile(judge="mockllm/judge", scores=scores)))
    return target
