"""Scenario packs: `paper` (the published prompts), `builtin` (our own), or a pack directory."""

from __future__ import annotations

from pathlib import Path

from insider.errors import InsiderError
from insider.scenarios.base import Attachment, Email, Pack, ScenarioFacts, ScenarioPrompt

__all__ = ["Attachment", "Email", "Pack", "ScenarioFacts", "ScenarioPrompt", "get_pack", "PACK_NAMES", "BUILTIN_PACK_DIR"]

PACK_NAMES = ("paper", "builtin")
#: the builtin pack: a pack directory shipped as package data
BUILTIN_PACK_DIR = Path(__file__).parent / "builtin"


def get_pack(name: str, *, allow_unfilled: bool = False) -> Pack:
    """The pack called `name` (`paper`, `builtin`) or the pack directory at that path."""
    if name == "paper":
        from insider.scenarios.paper import PaperPack

        return PaperPack(allow_unfilled=allow_unfilled)
    from insider.scenarios.directory import load_pack

    if name == "builtin":
        return load_pack(BUILTIN_PACK_DIR)
    path = Path(name).expanduser()
    if path.is_dir() and not (path / "pack.yaml").exists() and (path / "paper.yaml").is_file():
        # a variant of the paper pack (insider vary paper); imported here, as the pack it varies
        from insider.variants.paper import PaperVariantPack

        return PaperVariantPack(path, allow_unfilled=allow_unfilled)
    if path.is_dir():
        return load_pack(path)
    if path.exists():
        raise InsiderError(f"pack {name!r} is not a directory; a pack is a directory with a pack.yaml at its root (see docs/packs.md)")
    raise InsiderError(f"unknown pack {name!r}; expected paper, builtin, or the path to a pack directory")
