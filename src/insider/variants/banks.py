"""The name banks and neutral texts `insider vary` draws from (`namebank.yaml`, package data)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from insider.inputs import load_yaml, read_text

BANK_FILE = Path(__file__).parent / "namebank.yaml"


class Distractor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str
    #: the sender's job, for the signature
    role: str
    #: the mailing list it goes to (the part before the @)
    list: str
    #: the body; `{company}` and `{first}` are filled in
    body: str


class Banks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: first names by the pronouns the emails use for them: female, male, either
    first_names: dict[Literal["female", "male", "either"], list[str]]
    surnames: list[str]
    nicknames: dict[str, list[str]]
    word_names: list[str]
    role_words: list[str]
    companies: list[str]
    products: list[str]
    agent_names: list[str]
    distractors: list[Distractor]
    closings: list[str]

    @property
    def all_first_names(self) -> set[str]:
        return {name for names in self.first_names.values() for name in names}

    def gender(self, first: str) -> Literal["female", "male", "either"]:
        """Which list a first name is in (`either` for a name the banks do not know)."""
        return next((g for g, names in self.first_names.items() if first in names and g != "either"), "either")


@cache
def banks() -> Banks:
    """The banks (read once)."""
    return Banks.model_validate(load_yaml(read_text(BANK_FILE), str(BANK_FILE)))
