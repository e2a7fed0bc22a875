"""The two files a varied pack carries beside `pack.yaml`: what it was made from, and how real it reads.

`variant.json` names the parent pack, the parent's content hash, the seed and the perturbations
that made this variant; `realism.json` holds a judge model's 1-10 realism score per rendered
condition. Both are optional: a pack without `variant.json` is an original, a pack without
`realism.json` was never rated. Readers get `None` for a missing file and an `InsiderError`
naming the file for a broken one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from statistics import fmean

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from insider.errors import InsiderError
from insider.inputs import load_json, read_text

VARIANT_FILE = "variant.json"
REALISM_FILE = "realism.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantManifest(_Strict):
    """`variant.json`: where a variant pack came from and how it was made."""

    #: the parent pack as given to `insider vary` (`builtin`, `paper`, or a directory's name)
    parent: str
    #: sha256 of the parent's content (`pack_hash`)
    parent_hash: str
    seed: int
    #: this variant's number among its siblings, from 1
    index: int = Field(ge=1)
    #: the perturbations applied, in the order applied
    perturbations: list[str]
    #: the Inspect model that paraphrased the prose, if any
    paraphrase: str | None = None


class RealismScore(_Strict):
    score: int = Field(ge=1, le=10)
    reasons: str


class RealismFile(_Strict):
    """`realism.json`: one judge's realism scores for a pack's rendered conditions."""

    judge: str
    scores: dict[str, RealismScore]
    #: conditions the judge was asked about and gave no usable score for: condition id -> why
    failed: dict[str, str] = {}

    @property
    def mean(self) -> float | None:
        """The pack's realism: the mean score over the rated conditions."""
        return fmean(s.score for s in self.scores.values()) if self.scores else None


def pack_hash(directory: str | Path) -> str:
    """sha256 over every file of a pack directory (relative path and bytes, in path order),
    leaving out `variant.json` and `realism.json`, so rating a pack does not change its hash."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in (VARIANT_FILE, REALISM_FILE):
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _read(directory: str | Path, name: str, model: type[BaseModel]) -> BaseModel | None:
    path = Path(directory) / name
    if not path.is_file():
        return None
    try:
        return model.model_validate(load_json(read_text(path), str(path)))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "top level"
        raise InsiderError(f"{path}: {where}: {error['msg']}; rewrite it with `insider vary` / `insider realism`") from None


def read_variant(directory: str | Path) -> VariantManifest | None:
    """The pack's `variant.json`, or None for a pack that is not a variant."""
    return _read(directory, VARIANT_FILE, VariantManifest)  # type: ignore[return-value]


def read_realism(directory: str | Path) -> RealismFile | None:
    """The pack's `realism.json`, or None for a pack that was never rated."""
    return _read(directory, REALISM_FILE, RealismFile)  # type: ignore[return-value]


def dump(model: BaseModel) -> str:
    """The file text for a manifest or realism file: sorted keys, stable across runs."""
    return json.dumps(model.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
