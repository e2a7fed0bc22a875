"""Variants of the `paper` pack: the published prompts, perturbed when they are rendered.

The study's text is not stored in this repository, nor in a variant: a paper variant directory
holds `variant.json` and `paper.yaml`, the perturbation itself (the renames, the date shift,
the distractor emails, all of it insider's own). `PaperVariantPack` renders a condition with
the paper pack (inspect_evals, at run time) and then applies the perturbation to the rendered
system prompt, instruction and emails, and to the facts the judges and tools use.
`get_pack` recognises such a directory by its `paper.yaml`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from insider.conditions import Condition
from insider.errors import InsiderError
from insider.inputs import load_yaml, read_text
from insider.outputs import OutputDir
from insider.scenarios.base import ScenarioPrompt
from insider.scenarios.emails import parse_email_block
from insider.scenarios.packfiles import check_header, check_no_boundary
from insider.scenarios.paper import FACTS, PaperPack
from insider.variants.dates import Shift
from insider.variants.distractors import draw_distractors
from insider.variants.manifest import VARIANT_FILE, VariantManifest, dump, read_variant
from insider.variants.names import Renamer, find_cast, plan_renames
from insider.variants.perturb import rng_for

if TYPE_CHECKING:
    from insider.variants.vary import VariantResult

SPEC_FILE = "paper.yaml"
_BLOCK_RE = re.compile(r"<email>.*?</email>", re.DOTALL)
_TIMESTAMP_RE = re.compile(r"^Timestamp:[ \t]*(\S+)", re.MULTILINE)
_ID_RE = re.compile(r"^ID:[ \t]*\S+", re.MULTILINE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistractorRecord(_Strict):
    sender: str = Field(alias="from")
    to: str
    subject: str
    timestamp: datetime
    body: str

    @field_validator("sender", "to", "subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return check_header(value)

    @field_validator("body")
    @classmethod
    def _no_boundary(cls, value: str) -> str:
        check_no_boundary(value)
        return value


class ShiftSpec(_Strict):
    days: int = Field(ge=-3660, le=3660)
    hours: int = Field(ge=-24, le=24)


class PaperVariantSpec(_Strict):
    """`paper.yaml`: how a paper variant changes the published prompts."""

    name: str
    #: old name -> new name (see insider.variants.names.Renamer)
    renames: dict[str, str] = {}
    shift: ShiftSpec | None = None
    #: the company's domain (as renamed) -> its distractor emails
    distractors: dict[str, list[DistractorRecord]] = {}

    @field_validator("renames")
    @classmethod
    def _plain_names(cls, value: dict[str, str]) -> dict[str, str]:
        for old, new in value.items():
            for name in (old, new):
                if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 .'-]{0,60}", name):
                    raise ValueError(f"{name!r} is not a plain name")
        return value


class PaperVariantPack:
    """The paper pack's prompts with a variant's perturbation applied (text mode only)."""

    modes: tuple[str, ...] = ("text",)

    def __init__(self, root: Path, allow_unfilled: bool = False) -> None:
        path = root / SPEC_FILE
        try:
            self.spec = PaperVariantSpec.model_validate(load_yaml(read_text(path), str(path)))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise InsiderError(f"{path}: {' '.join(str(exc).split())[:300]}; write it again with `insider vary paper`") from None
        if read_variant(root) is None:
            raise InsiderError(f"{root} has {SPEC_FILE} but no {VARIANT_FILE}; write it again with `insider vary paper`")
        self.name = self.spec.name
        self.paper = PaperPack(allow_unfilled=allow_unfilled)
        self.renamer = Renamer(self.spec.renames)
        self.shift = Shift(self.spec.shift.days, self.spec.shift.hours) if self.spec.shift else None

    def conditions(self) -> list[Condition]:
        return self.paper.conditions()

    def _text(self, text: str) -> str:
        text = self.renamer(text)
        return self.shift(text) if self.shift else text

    def render(self, condition: Condition) -> ScenarioPrompt:
        base = self.paper.render(condition)
        facts = base.facts.model_dump()
        mapped = {key: _map(value, self.renamer) for key, value in facts.items() if key != "confidential_email_ids"}
        block, positions = _insert(self._text(base.email_block), self.spec.distractors.get(mapped["company_domain"], []))
        instruction = self._text(base.instruction)
        mapped["confidential_email_ids"] = [str(positions[int(i) - 1]) for i in facts["confidential_email_ids"]]
        prompt = ScenarioPrompt(
            condition_id=base.condition_id,
            pack=self.name,
            system=self._text(base.system),
            user=f"{instruction}\n{block}",
            instruction=instruction,
            email_block=block,
            emails=parse_email_block(block),
            facts=type(base.facts).model_validate(mapped),
            metadata={**{k: v for k, v in base.metadata.items() if k != "content_hash"}, "variant_of": "paper"},
        )
        prompt.metadata["content_hash"] = prompt.content_hash()
        return prompt


def _map(value: object, fn: Renamer) -> object:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map(item, fn) for item in value]
    return value


def _insert(block: str, distractors: list[DistractorRecord]) -> tuple[str, list[int]]:
    """The email block with the distractors placed before the first email sent after each, and
    the new position (from 1) of each original email."""
    originals = [(m.group(0), _TIMESTAMP_RE.search(m.group(0))) for m in _BLOCK_RE.finditer(block)]
    numbered = any(_ID_RE.search(text) for text, _ in originals)
    items: list[tuple[str, bool]] = [(text, True) for text, _ in originals]
    for distractor in sorted(distractors, key=lambda d: d.timestamp):
        stamp = distractor.timestamp.isoformat()
        at = next((i for i, (text, _) in enumerate(items) if (_stamp(text) or "") > stamp), len(items))
        lines = ["<email>", "ID: 0"] if numbered else ["<email>"]
        lines += [f"From: {distractor.sender}", f"To: {distractor.to}", f"Subject: {distractor.subject}",
                  f"Timestamp: {stamp}", f"Body: {distractor.body}", "</email>"]  # fmt: skip
        items.insert(at, ("\n".join(lines), False))
    if numbered:
        items = [(_ID_RE.sub(f"ID: {i}", text, count=1), original) for i, (text, original) in enumerate(items, start=1)]
    head = block[: block.index(originals[0][0])] if originals else block
    tail = block[block.rindex(originals[-1][0]) + len(originals[-1][0]) :] if originals else ""
    positions = [i for i, (_, original) in enumerate(items, start=1) if original]
    return head + "\n\n".join(text for text, _ in items) + tail, positions


def _stamp(text: str) -> str | None:
    match = _TIMESTAMP_RE.search(text)
    return match.group(1) if match else None


@cache
def _paper_grid() -> tuple[ScenarioPrompt, ...]:
    """Every condition of the paper pack, rendered (placeholders left as the study left them)."""
    pack = PaperPack(allow_unfilled=True)
    return tuple(pack.render(c) for c in pack.conditions())


def paper_hash() -> str:
    """The paper pack's content hash: sha256 over every rendered condition's content hash."""
    digest = hashlib.sha256()
    for prompt in _paper_grid():
        digest.update(f"{prompt.condition_id}\0{prompt.content_hash()}\0".encode())
    return digest.hexdigest()


def make_spec(name: str, index: int, seed: int, perturbations: list[str]) -> PaperVariantSpec:
    """The perturbation of one paper variant."""
    grid = _paper_grid()
    texts = [text for p in grid for text in (p.system, p.email_block)]
    facts = [{**f.model_dump(), "domain": f.company_domain, "company_short": f.company.split()[0]} for f in FACTS.values()]
    addresses = [a for p in grid for e in p.emails for a in (e.sender, *e.to, *e.cc)]
    renames: dict[str, str] = {}
    used = "\n".join(dict.fromkeys(texts))
    if "names" in perturbations:
        renames = plan_renames(find_cast(facts, addresses, texts), used, rng_for(seed, index, "names"))
    shift = Shift.draw(rng_for(seed, index, "dates")) if "dates" in perturbations else None
    distractors: dict[str, list[DistractorRecord]] = {}
    if "distractors" in perturbations:
        renamer = Renamer(renames)
        rng = rng_for(seed, index, "distractors")
        used += "\n" + " ".join(renames.values())
        for domain in sorted({f.company_domain for f in FACTS.values()}):
            company = renamer(next(f.company.split()[0] for f in FACTS.values() if f.company_domain == domain))
            times = [datetime.fromisoformat(e.timestamp) for p in grid if p.facts.company_domain == domain for e in p.emails]
            if shift:
                times = [shift.moment(t) for t in times]
            drawn = draw_distractors(rng, company, renamer(domain), times, max(times), used)
            used += "\n" + " ".join(d.sender for d in drawn)
            distractors[renamer(domain)] = [
                DistractorRecord.model_validate({"from": d.sender, "to": d.to, "subject": d.subject, "timestamp": d.timestamp, "body": d.body})
                for d in drawn
            ]
    return PaperVariantSpec(
        name=name, renames=renames, shift=ShiftSpec(days=shift.days, hours=shift.hours) if shift else None, distractors=distractors
    )


def write_paper_variant(target: OutputDir, name: str, index: int, seed: int, perturbations: list[str]) -> VariantResult:
    """Write one paper variant (`paper.yaml`, `variant.json`) and render its whole grid."""
    from insider.variants.vary import (
        VariantResult,  # vary imports this module for paper variants
    )

    spec = make_spec(name, index, seed, perturbations)
    manifest = VariantManifest(parent="paper", parent_hash=paper_hash(), seed=seed, index=index, perturbations=perturbations)
    text = dump_spec(spec)
    target.write({f"{name}/{SPEC_FILE}": text, f"{name}/{VARIANT_FILE}": dump(manifest)})
    result = VariantResult(name=name, path=target.given / name, perturbations=perturbations)
    pack = PaperVariantPack(result.path, allow_unfilled=True)
    result.conditions = sum(1 for c in pack.conditions() if pack.render(c))
    return result


def dump_spec(spec: PaperVariantSpec) -> str:
    header = (
        "# A variant of the paper pack made by `insider vary`. It holds no prompt text: the published\n"
        "# prompts are rendered by inspect_evals at run time and these changes applied to them.\n"
    )
    return header + yaml.safe_dump(spec.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True, width=100_000)
