"""Reading files a user hands us (experiments, packs, labels, logs): text only, strict, bounded.

Every problem is an `InsiderError` naming the file: a file that is not UTF-8 text (binary,
UTF-16), one larger than `MAX_FILE_BYTES`, YAML nested deeper than `MAX_DEPTH` or whose
aliases expand past `MAX_NODES`, and a mapping that repeats a key (YAML or JSON): the later
value would silently replace the earlier one.
"""

from __future__ import annotations

import codecs
import json
import math
from pathlib import Path
from typing import Any

import yaml

from insider.errors import InsiderError

#: the largest input file read (experiment, pack file, labels file)
MAX_FILE_BYTES = 64 * 1024 * 1024
#: the deepest nesting of lists and mappings accepted in YAML and JSON
MAX_DEPTH = 64
#: the most values a YAML document may hold once its aliases are expanded
MAX_NODES = 200_000

_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: str | Path, where: str | None = None, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a file, or an InsiderError saying why it is not one.

    Args:
        path: the file.
        where: how messages name the file (default: its path), e.g. "experiment file x.yaml".
        max_bytes: refuse larger files (and read no further).
    """
    path = Path(path)
    where = where or str(path)
    chunks: list[bytes] = []
    size = 0
    try:
        with path.open("rb") as handle:
            # in chunks: a device or a pipe (/dev/zero) has no size to check first
            while chunk := handle.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise InsiderError(f"{where} is larger than {max_bytes:,} bytes; is it the right file?")
                chunks.append(chunk)
    except IsADirectoryError:
        raise InsiderError(f"{where} is a directory, not a file") from None
    except OSError as exc:
        raise InsiderError(f"cannot read {where}: {exc.strerror or exc}") from None
    return decode(b"".join(chunks), where)


def decode(data: bytes, where: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); binary and UTF-16/32 are refused."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise InsiderError(f"{where} is {name} text; save it as UTF-8")
    if b"\x00" in data:
        raise InsiderError(f"{where} is binary (it holds NUL bytes), not UTF-8 text")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InsiderError(f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None


class _UniqueKeyLoader(_Loader):  # type: ignore[misc,valid-type]
    """A safe YAML loader that refuses a key repeated in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKey(key, seen[key], line)
                seen[key] = line
            except TypeError:  # an unhashable key: the base constructor names it
                break
        return super().construct_mapping(node, deep=deep)


class DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, second: int) -> None:
        where = f"twice on line {first}" if first == second else f"at lines {first} and {second}"
        super().__init__(f"duplicate key {key!r} {where}; a later value would replace the earlier one, so keep one")


def _check_shape(text: str, where: str) -> None:
    """Refuse deep nesting, recursive aliases and alias expansion past MAX_NODES, from the event
    stream alone (before anything is built)."""
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded size so far]
    depth_error = f"{where}: nested more than {MAX_DEPTH} levels deep"
    total = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_DEPTH:
                raise InsiderError(f"{depth_error} (line {event.start_mark.line + 1})")
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in stack):
                raise InsiderError(f"{where}: line {event.start_mark.line + 1}: alias *{event.anchor} refers to a value that contains it")
            size = sizes.get(event.anchor, 1)
        else:
            continue
        if stack:
            stack[-1][1] += size
        else:
            total += size
        if total + sum(frame[1] for frame in stack) > MAX_NODES:
            raise InsiderError(
                f"{where}: line {event.start_mark.line + 1}: the document expands to more than {MAX_NODES:,} values "
                "(aliases repeated inside aliases?)"
            )


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML strictly: safe types only, no repeated keys, bounded depth and size.

    Args:
        text: the document.
        where: the file's name, for messages.
    """
    try:
        _check_shape(text, where)
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except DuplicateKey as exc:
        raise InsiderError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InsiderError(f"{where}: malformed YAML{at}: {problem}") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = next((key for key in keys if keys.count(key) > 1), None)
    if repeated is not None:
        raise ValueError(f"duplicate key {repeated!r}; a later value would replace the earlier one, so keep one")
    return dict(pairs)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and dicts nest more than `limit` levels deep in `value`."""
    level = [value]
    for _ in range(limit + 1):
        level = [child for item in level if isinstance(item, (list, dict)) for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True


def load_json(text: str, where: str) -> Any:
    """Parse one JSON value strictly: no repeated keys, no NaN or Infinity, bounded depth."""
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    def number(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"{text} is too large a number")
        return value

    deep = f"{where}: nested more than {MAX_DEPTH} levels deep"
    try:
        value = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=constant, parse_float=number)
    except RecursionError:  # the parser's own guard, long before memory runs short
        raise InsiderError(deep) from None
    except json.JSONDecodeError as exc:
        raise InsiderError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:
        raise InsiderError(f"{where}: {exc}") from None
    if too_deep(value):
        raise InsiderError(deep)
    return value


def unreadable_log(
    path: str | Path, exc: BaseException, fix: str = "move it out of the log dir, or run the experiment again to rewrite it"
) -> InsiderError:
    """The one line for an Inspect log that cannot be read (truncated by a crash, not a log at all)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InsiderError(f"cannot read log {path}: {reason} (the file is corrupt or truncated; {fix})")
