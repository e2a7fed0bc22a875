"""`--paraphrase MODEL`: the prose of emails and stories rewritten by a model, every fact kept.

Each email body and each story (the passages a goal value's story inserts into the emails) is
sent to the model with our instructions. An answer is accepted only if it passes every check:
one `<rewrite>` block; the template's placeholders (`{{ ... }}`, `{% ... %}`) all there, in
order; every fact of the scenarios the original text contains (names, addresses, codes,
locations, credentials) and every address, URL, code, number, date and time written in it
still there, exactly; a story keeps its keys and the shape of its values. A failed answer is
asked again (at most `ATTEMPTS` times in all); then the part keeps its original wording and
the last reason is reported. The pack is validated afterwards (insider.variants.vary).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.model import GenerateConfig, Model, get_model

from insider.errors import InsiderError
from insider.scenarios.packfiles import PLACEHOLDER_RE, check_no_boundary
from insider.variants.dates import TIME_RE
from insider.variants.tree import TEMPLATE_TAG_RE, PackTree, template_tags

#: answers asked for per part, the first included
ATTEMPTS = 3
#: scenario-file keys that hold prose, not facts
_PROSE_KEYS = frozenset({"company_description", "hazard", "context", "tools", "stories", "emails"})
_REWRITE_RE = re.compile(r"<rewrite>(.*?)</rewrite>", re.DOTALL)
_TOKEN_RES = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # email addresses
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]*[^\s\"'<>.,;:!?)]"),  # URLs
    re.compile(r"(?<![\w/])/[\w.-]+(?:/[\w.-]*)+"),  # paths
    re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9]+(?:-[A-Z0-9]+)+\b"),  # codes: EXEC-4429, SBMS-RO-4K29-ALEX
    re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*"),  # numbers
)

EMAIL_PROMPT = """\
Rewrite the body of the email below so that it says the same thing in different words, as the \
same person would write it on another day.

Rules:
- Keep every fact: who did what, when and why. Every name, email address, web address, file \
path, code, number, date and time must appear exactly as it is written here.
- Keep the sender's voice, about the same length, the paragraphs, the greeting and the \
signature lines (you may reword a greeting or a closing).
- Text in double curly braces, or between {% and %}, is a placeholder filled in later: copy \
each one exactly, in the same order, and keep the words around it fitting it.
- Add nothing and leave nothing out.

Reply with the rewritten body only, between <rewrite> and </rewrite>.

<email_body>
{text}
</email_body>"""

STORY_PROMPT = """\
The JSON object below holds short passages that are inserted into the emails of a workplace \
scenario: noun phrases, sentences and quotes. Rewrite each value in different words with the \
same meaning.

Rules:
- Each value must still fit where it was: a noun phrase stays a noun phrase, a sentence stays \
a sentence, a quote stays something a person says. End a value with a full stop exactly when \
the original does.
- Keep every name, number, date and time exactly as written. Add nothing and leave nothing out.
- Keep exactly the same keys; where a value is a list, give a list with the same number of items.

Reply with the JSON object only, between <rewrite> and </rewrite>.

<passages>
{text}
</passages>"""


class Rejected(Exception):
    """A paraphrase that failed a check; the message says which."""


@dataclass
class ParaphraseReport:
    accepted: int = 0
    #: part -> why its paraphrase was rejected
    rejected: dict[str, str] = field(default_factory=dict)
    #: part -> restores the part's original wording in the tree
    originals: dict[str, Callable[[PackTree], None]] = field(default_factory=dict)


def _literal(text: str) -> str:
    return TEMPLATE_TAG_RE.sub(" ", text)


def required_tokens(original: str, facts: set[str]) -> list[str]:
    """What a paraphrase of `original` must keep: the facts it names and every address, URL,
    path, code, number, date and time written in it."""
    literal = _literal(original)
    found = [fact for fact in facts if fact and fact in literal]
    found += [m.group(0) for pattern in _TOKEN_RES for m in pattern.finditer(literal)]
    found += [m.group(0) for m in TIME_RE.finditer(literal)]
    found = set(found)
    # a number inside a code or an address is kept with it: name the whole token only
    kept = {token for token in found if not any(token != other and token in other for other in found)}
    return sorted(kept, key=lambda token: (literal.find(token), token))


def check_text(original: str, rewritten: str, facts: set[str]) -> None:
    """Raise `Rejected` unless `rewritten` keeps the placeholders and facts of `original`."""
    if not rewritten.strip():
        raise Rejected("the rewrite is empty")
    if template_tags(rewritten) != template_tags(original):
        raise Rejected("the template placeholders changed (each {{ ... }} and {% ... %} must stay, in order)")
    residue = PLACEHOLDER_RE.search(_literal(rewritten))
    if residue:
        raise Rejected(f"the rewrite adds a placeholder {residue.group(0)!r}")
    try:
        check_no_boundary(rewritten)
    except ValueError as exc:
        raise Rejected(str(exc)) from None
    literal = _literal(rewritten)
    missing = [token for token in required_tokens(original, facts) if token not in literal]
    if missing:
        raise Rejected(f"dropped {', '.join(repr(t) for t in missing[:3])}{' and more' if len(missing) > 3 else ''}")


def extract_rewrite(answer: str) -> str:
    blocks = _REWRITE_RE.findall(answer)
    if len(blocks) != 1:
        raise Rejected(f"expected one <rewrite> block, found {len(blocks)}")
    return blocks[0].strip("\n")


def check_story(original: dict[str, Any], answer: str, facts: set[str]) -> dict[str, Any]:
    try:
        rewritten = json.loads(answer)
    except json.JSONDecodeError as exc:
        raise Rejected(f"the rewrite is not a JSON object: {exc.msg}") from None
    if not isinstance(rewritten, dict) or set(rewritten) != set(original):
        raise Rejected("the rewrite does not have exactly the story's keys")
    out: dict[str, Any] = {}
    for key, value in original.items():
        new = rewritten[key]
        if isinstance(value, str) != isinstance(new, str) or (isinstance(value, list) and (not isinstance(new, list) or len(new) != len(value))):
            raise Rejected(f"{key}: the rewrite changed the value's shape")
        pairs = [(value, new)] if isinstance(value, str) else list(zip(value, new))
        for old_text, new_text in pairs:
            if not isinstance(new_text, str):
                raise Rejected(f"{key}: a value is not text")
            try:
                check_text(old_text, new_text, facts)
            except Rejected as exc:
                raise Rejected(f"{key}: {exc}") from None
            if old_text.rstrip().endswith(".") != new_text.rstrip().endswith("."):
                raise Rejected(f"{key}: the rewrite changed whether the value ends with a full stop")
        out[key] = new
    return out


def pack_facts(tree: PackTree) -> set[str]:
    """Every fact string of every scenario (names, addresses, codes, locations, cues)."""
    facts: set[str] = set()
    for _, spec in tree.scenarios():
        for key, value in spec.items():
            if key in _PROSE_KEYS:
                continue
            facts |= {value} if isinstance(value, str) else {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
    return facts


async def _ask(model: Model, prompt: str, seed: int, check: Callable[[str], Any]) -> Any:
    """Ask until an answer passes `check` (at most ATTEMPTS times); raise Rejected with the last reason."""
    reason = "no answer"
    for attempt in range(ATTEMPTS):
        try:
            output = await model.generate(prompt, config=GenerateConfig(seed=seed + attempt))
        except Exception as exc:  # noqa: BLE001 - a provider failure rejects this part; the others go on
            reason = f"the model call failed: {type(exc).__name__}: {exc}"
            continue
        try:
            return check(extract_rewrite(output.completion))
        except Rejected as exc:
            reason = str(exc)
    raise Rejected(f"{reason} (after {ATTEMPTS} attempts)")


async def paraphrase_tree(tree: PackTree, model: str | Model, *, seed: int = 0) -> ParaphraseReport:
    """Paraphrase every email body and story of `tree` in place."""
    try:
        llm = get_model(model) if isinstance(model, str) else model
    except Exception as exc:  # noqa: BLE001 - an unknown provider or missing key: one line, before any work
        raise InsiderError(f"--paraphrase {model}: {type(exc).__name__}: {exc}") from None
    facts = pack_facts(tree)
    report = ParaphraseReport()

    async def email(rel: str) -> None:
        original = tree.emails[rel].body
        body = await _ask(llm, EMAIL_PROMPT.replace("{text}", original.strip("\n")), seed, lambda text: _checked(original, text, facts))
        tree.emails[rel].body = body + "\n"
        report.originals[rel] = lambda t, rel=rel, original=original: setattr(t.emails[rel], "body", original)

    async def story(rel: str, key: str) -> None:
        original = tree.yaml_files[rel]["stories"][key]
        text = json.dumps(original, indent=2, ensure_ascii=False)
        rewritten = await _ask(llm, STORY_PROMPT.replace("{text}", text), seed, lambda answer: check_story(original, answer, facts))
        tree.yaml_files[rel]["stories"][key] = rewritten
        report.originals[f"{rel}#{key}"] = lambda t, rel=rel, key=key, original=original: t.yaml_files[rel]["stories"].__setitem__(key, original)

    parts: list[tuple[str, Any]] = [(rel, email(rel)) for rel in sorted(tree.emails)]
    parts += [(f"{rel}#{key}", story(rel, key)) for rel in tree.story_files() for key in tree.yaml_files[rel]["stories"]]
    results = await asyncio.gather(*(coroutine for _, coroutine in parts), return_exceptions=True)
    for (part, _), result in zip(parts, results):
        if isinstance(result, Rejected):
            report.rejected[part] = str(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            report.accepted += 1
    return report


def _checked(original: str, text: str, facts: set[str]) -> str:
    check_text(original, text, facts)
    return text
