"""The sandbox pack templates render in: Jinja2's `SandboxedEnvironment`, bounded in size and time.

A pack is data from anywhere, so its templates get no loader (`include`, `extends` and `import`
are refused when parsed) and every render is bounded:

- no string, list or output longer than `MAX_CHARS` characters is built: `*`, `+`, `~`, `%`,
  `join`, `replace`, `indent`, `expandtabs`, `format` and padding widths are checked *before*
  they run; lists and dicts cannot be grown in place (Jinja2's immutable sandbox);
- no number beyond `MAX_INT` is computed (`**` is checked first);
- a render stops after `MAX_SECONDS` (checked on every template line and every call).

A broken limit raises `TemplateLimitError`; the sandbox's own refusals raise Jinja2's
`SecurityError`. `insider.scenarios.packfiles` turns both into one line naming the file.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import wraps
from types import FrameType
from typing import Any, Iterator

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

#: the most characters (or items) any value a template builds may hold, its output included
MAX_CHARS = 1_000_000
#: the largest number (absolute) a template may compute
MAX_INT = 10**100
#: seconds one render may take
MAX_SECONDS = 2.0
#: the file name Jinja2 gives code compiled from a string: the frames the time limit watches
_TEMPLATE_CODE = "<template>"
#: a width or precision of 7 digits or more in a format string (%-style or {}-style)
_WIDE_FORMAT = re.compile(r"%[-+ #0]*\d{7,}|%[-+ #0]*\d*\.\d{7,}|\{[^{}]*:[^{}]*\d{7,}")


class TemplateLimitError(Exception):
    """A template went past a size or time limit."""


def chars(value: Any) -> int:
    """A cheap upper-bound estimate of what a value amounts to as text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return len(value) + sum(len(item) if isinstance(item, str) else 1 for item in value)
    return 1


def _check_size(size: int, what: str) -> None:
    if size > MAX_CHARS:
        raise TemplateLimitError(f"{what} would build {size:,} characters, more than the limit of {MAX_CHARS:,}")


def _check_args(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_CHARS:
            raise TemplateLimitError(f"an argument of {arg:,} is more than the limit of {MAX_CHARS:,}")
        if isinstance(arg, str) and _WIDE_FORMAT.search(arg):
            raise TemplateLimitError(f"a format width of more than {MAX_CHARS:,} characters in {arg[:40]!r}")


def _check_result(value: Any, what: str) -> Any:
    if isinstance(value, (str, list, tuple)):
        _check_size(chars(value), what)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise TemplateLimitError(f"{what} computed a number with more than 100 digits")
    return value


def _expected_size(function: Any, args: tuple[Any, ...]) -> int | None:
    """What join, replace, indent or expandtabs (string method or filter) would build, before building it."""
    name = getattr(function, "__name__", "")
    owner = getattr(function, "__self__", None)
    if isinstance(owner, str):
        args = (owner, *args)
    elif name in ("do_replace", "sync_do_join") and args and not isinstance(args[0], (str, list, tuple)):
        args = args[1:]  # the eval context Jinja passes first
    if name in ("join", "sync_do_join") and args:
        items, sep = (args[1], args[0]) if isinstance(owner, str) else (args[0], args[1] if len(args) > 1 else "")
        if isinstance(items, (list, tuple, str)):
            return sum(len(str(item)) for item in items) + len(str(sep)) * max(len(items) - 1, 0)
    if name in ("replace", "do_replace") and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        text, old, new = args[:3]
        count = text.count(old) if old else len(text) + 1
        return len(text) + count * (len(new) - len(old))
    if name == "do_indent" and args and isinstance(args[0], str):
        width = args[1] if len(args) > 1 else 4
        return len(args[0]) + (args[0].count("\n") + 1) * (len(width) if isinstance(width, str) else int(width))
    if name == "expandtabs" and args and isinstance(args[0], str):
        tabsize = args[1] if len(args) > 1 and isinstance(args[1], int) else 8
        return len(args[0]) + args[0].count("\t") * max(tabsize, 0)
    return None


class _Deadline:
    """Raises TemplateLimitError once `MAX_SECONDS` have passed since `start`."""

    def __init__(self) -> None:
        self.end = time.monotonic() + MAX_SECONDS

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise TemplateLimitError(f"rendering took longer than the limit of {MAX_SECONDS:g} s")

    def tracer(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        """sys.settrace hook: watch the lines of template code only (a loop checks on each pass)."""
        if frame.f_code.co_filename != _TEMPLATE_CODE:
            return None

        def line(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
            self.check()
            return line

        return line


_active: list[_Deadline] = []


def _check_time() -> None:
    if _active:
        _active[-1].check()


class _LimitedCodeGenerator(CodeGenerator):
    """Concatenation (`~`) goes through the environment, so its size is checked first."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _limited_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)  # keeps jinja's pass_context/pass_eval_context marker
    def limited(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        _check_args([*args, *kwargs.values()])
        expected = _expected_size(function, args)
        if expected is not None:
            _check_size(expected, f"the {function.__name__.removeprefix('do_').removeprefix('sync_do_')} filter")
        return _check_result(function(*args, **kwargs), "a filter")

    return limited


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox (no appending to lists or updating dicts) with size checks on
    operators, calls and filters (see the module doc)."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _limited_filter(f) for name, f in self.filters.items()}
        del self.globals["lipsum"]  # makes text by the paragraph: nothing a pack needs

    def concat(self, parts: tuple[Any, ...]) -> str:
        _check_time()
        _check_size(sum(len(str(p)) for p in parts), "joining text with ~")
        return "".join(str(p) for p in parts)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator == "*":
            if isinstance(left, int) and isinstance(right, (str, list, tuple)):
                left, right = right, left
            if isinstance(left, (str, list, tuple)) and isinstance(right, int):
                _check_size(chars(left) * max(right, 0), "repeating a value with *")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                if abs(left).bit_length() * right > MAX_INT.bit_length():
                    raise TemplateLimitError("a power (**) with more than 100 digits")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check_size(chars(left) + chars(right), "joining values with +")
        elif operator == "%" and isinstance(left, str):
            _check_args([left, *(right if isinstance(right, tuple) else (right,))])
        return _check_result(super().call_binop(context, operator, left, right), f"the {operator} operator")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _check_time()
        _check_args([*args, *kwargs.values()])
        expected = _expected_size(__obj, args)
        if expected is not None:
            _check_size(expected, f"{getattr(__obj, '__name__', 'a call')}()")
        return _check_result(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs), "a call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_args([value.__self__])

        @wraps(wrapped)
        def limited(*args: Any, **kwargs: Any) -> str:
            _check_args([*args, *kwargs.values()])
            return _check_result(wrapped(*args, **kwargs), "format()")

        return limited


ENV = LimitedSandbox(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
#: template features that reach other files; a pack template is one self-contained file
_REFUSED_NODES = {nodes.Include: "include", nodes.Extends: "extends", nodes.Import: "import", nodes.FromImport: "import"}


def refused_feature(tree: nodes.Template) -> tuple[str, int] | None:
    """(tag, line) of the first `include`, `extends` or `import` in a parsed template, or None."""
    for node in tree.find_all(tuple(_REFUSED_NODES)):
        return _REFUSED_NODES[type(node)], node.lineno
    return None


@contextmanager
def _deadline() -> Iterator[None]:
    deadline = _Deadline()
    previous = sys.gettrace()
    _active.append(deadline)
    sys.settrace(deadline.tracer)
    try:
        yield
    finally:
        sys.settrace(previous)
        _active.pop()


def render(template: Any, context: dict[str, Any]) -> str:
    """Render a template of `ENV` within the limits; raise TemplateLimitError past one."""
    parts: list[str] = []
    size = 0
    with _deadline():
        for part in template.generate(context):
            size += len(part)
            if size > MAX_CHARS:
                raise TemplateLimitError(f"the rendered text is longer than the limit of {MAX_CHARS:,} characters")
            parts.append(part)
    return "".join(parts)
