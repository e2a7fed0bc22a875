"""The deterministic perturbations, by name, and the order they are applied in.

Each takes a pack tree and a random generator of its own (seeded from the seed, the variant's
number and the perturbation's name, so turning one on or off never changes what another does)
and edits the tree in place, returning a short record of what it chose.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from insider.errors import InsiderError
from insider.variants.dates import shift_dates
from insider.variants.distractors import add_distractors
from insider.variants.names import rename
from insider.variants.order import reorder
from insider.variants.style import restyle
from insider.variants.tree import PackTree

Perturbation = Callable[[PackTree, random.Random], Any]

#: every perturbation, in the order they are applied
PERTURBATIONS: dict[str, Perturbation] = {
    "names": rename,
    "dates": shift_dates,
    "distractors": add_distractors,
    "order": reorder,
    "style": restyle,
}
#: what the `paper` pack can be varied by (its rendered prompts: see insider.variants.paper)
PAPER_PERTURBATIONS: tuple[str, ...] = ("names", "dates", "distractors")


def parse_perturbations(text: str | None, allowed: tuple[str, ...], pack: str) -> list[str]:
    """`names,dates` -> the perturbations in the order they are applied (default: all allowed)."""
    if text is None:
        return list(allowed)
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    for name in wanted:
        if name not in PERTURBATIONS:
            raise InsiderError(f"unknown perturbation {name!r} (--perturb); choose from {', '.join(PERTURBATIONS)}")
        if name not in allowed:
            raise InsiderError(
                f"the {pack} pack can be varied by {', '.join(allowed)} only, not {name!r} (--perturb); see docs/variants.md"
            )
    return [name for name in PERTURBATIONS if name in wanted]


def rng_for(seed: int, index: int, name: str) -> random.Random:
    """The generator of one perturbation of one variant."""
    return random.Random(f"insider-vary:{seed}:{index}:{name}")


def perturb(tree: PackTree, names: list[str], seed: int, index: int) -> dict[str, Any]:
    """Apply `names` (in `PERTURBATIONS` order) to `tree`; returns what each chose."""
    return {name: PERTURBATIONS[name](tree, rng_for(seed, index, name)) for name in PERTURBATIONS if name in names}
