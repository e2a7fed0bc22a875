"""Scenario packs: `paper` (the published prompts), `builtin` (our own), or a pack directory."""

from __future__ import annotations

from pathlib import Path

from insider.errors import InsiderError
from insider.scenarios.base import Attachment, Email, Pack, ScenarioFacts, ScenarioPrompt

__all__ = ["Attachment", "Email", "Pack", "ScenarioFacts", "ScenarioPrompt", "get_pack", "PACK_NAMES"]

PACK_NAMES = ("paper", "builtin")


def get_pack(name: str, *, allow_unfilled: bool = False) -> Pack:
    """The pack called `name` (`paper`, `builtin`) or the pack directory at that path."""
    if name == "paper":
        from insider.scenarios.paper import PaperPack

        return PaperPack(allow_unfilled=allow_unfilled)
    if name == "builtin":
        raise InsiderError("the builtin pack is not available yet; use --pack paper")
    path = Path(name)
    if path.is_dir():
        raise InsiderError(f"pack directories are not supported yet ({name}); use --pack paper")
    raise InsiderError(f"unknown pack {name!r}; expected paper, builtin, or the path to a pack directory")
