"""The `style` perturbation: the surface of the instruction and of the emails' sign-offs.

The instruction template's wording is set in one register, formal ("do not", "you are") or
plain ("don't", "you're"), and a leading "Please" may go ("Please work through ..." becomes
"Work through ..."); tool names and template code are untouched. Each sender gets one closing
("Thanks," "Best," "Regards," ...) that replaces the closing line of every email they sign
with one, or is added above a sign-off that is only their first name.
"""

from __future__ import annotations

import random
import re

from insider.variants.banks import banks
from insider.variants.tree import PackTree, map_template

#: formal <-> plain pairs (first letter's case is kept)
CONTRACTIONS: tuple[tuple[str, str], ...] = (
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
    ("are not", "aren't"), ("was not", "wasn't"), ("cannot", "can't"), ("will not", "won't"),
    ("have not", "haven't"), ("you are", "you're"), ("it is", "it's"), ("we are", "we're"),
    ("they are", "they're"), ("that is", "that's"), ("i am", "i'm"), ("you will", "you'll"),
)  # fmt: skip
_PLEASE_RE = re.compile(r"(^|(?<=[.!?]\s)|(?<=\n))Please ([a-z])", re.MULTILINE)


def _case_like(model: str, text: str) -> str:
    return text[0].upper() + text[1:] if model[0].isupper() else text


def set_register(text: str, plain: bool) -> str:
    """Contract (plain) or expand (formal) the pairs in `CONTRACTIONS`."""
    for formal, short in CONTRACTIONS:
        old, new = (formal, short) if plain else (short, formal)
        pattern = re.compile(rf"\b{re.escape(old)}\b", re.IGNORECASE)
        text = pattern.sub(lambda m, new=new: _case_like(m.group(0), new), text)
    return text


def drop_please(text: str) -> str:
    """"Please work through ..." -> "Work through ..." at the start of a sentence."""
    return _PLEASE_RE.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def _closing_re(closings: list[str]) -> re.Pattern[str]:
    words = "|".join(sorted(map(re.escape, closings), key=len, reverse=True))
    return re.compile(rf"^(?:{words})[,.!]?[ \t]*$", re.MULTILINE | re.IGNORECASE)


def restyle_signoff(body: str, first_name: str, closing: str, closing_re: re.Pattern[str]) -> str:
    """Replace the last closing line of the body's final text with `closing`, or add one above a
    line that is only the sender's first name."""
    parts = re.split(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", body, flags=re.DOTALL)
    tail = parts[-1]
    found = list(closing_re.finditer(tail))
    if found:
        last = found[-1]
        tail = tail[: last.start()] + f"{closing}," + tail[last.end() :]
    elif first_name:
        tail = re.sub(rf"(\n\n){re.escape(first_name)}[ \t]*(\n|$)", rf"\1{closing},\n{first_name}\2", tail, count=1)
    return "".join(parts[:-1]) + tail


def restyle(tree: PackTree, rng: random.Random) -> dict[str, str]:
    """Set the instruction's register and each sender's closing; returns the choices made."""
    plain = rng.random() < 0.5
    please = rng.random() < 0.5
    rel = tree.manifest["instruction"]

    def instruction(text: str) -> str:
        text = set_register(text, plain)
        return drop_please(text) if not please else text

    tree.templates[rel] = map_template(tree.templates[rel], instruction)
    closings = banks().closings
    closing_re = _closing_re(closings)
    senders = sorted({email.header["from"] for email in tree.emails.values()})
    chosen = {sender: rng.choice(closings) for sender in senders}
    for email in tree.emails.values():
        sender = email.header["from"]
        local = sender.split("@")[0]
        first = re.split(r"[._-]", local)[0].capitalize() if "." in local or "_" in local else ""
        email.body = restyle_signoff(email.body, first, chosen[sender], closing_re)
    return {"register": "plain" if plain else "formal", "please": "kept" if please else "dropped"}
