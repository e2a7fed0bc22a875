"""Credentials never reach anything insider prints or stores.

The credentials in use are the values of environment variables whose name ends in `_API_KEY`,
`_TOKEN` or `_SECRET`, and the values of credential keys in an experiment's `model_args`
(`api_key`, `token`, `password`, ...), once registered. `redact` replaces each of them (of at
least `MIN_LENGTH` characters: shorter values are not credentials, and replacing them would
mangle ordinary text) with `REDACTED`.

Provider errors are the way a key gets into a log: some echo the key they were sent. `guard`
wraps a model's provider so that what it raises or returns about a failed call is redacted
before Inspect records it (the sample's error, its traceback, the model event and its HTTP
call record) or shows it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect_ai.model import Model

#: what a credential is replaced with
REDACTED = "[REDACTED]"
#: values shorter than this are never treated as credentials
MIN_LENGTH = 8
_ENV_NAME = re.compile(r"(^|_)(API_KEY|TOKEN|SECRET)$", re.IGNORECASE)
_KEY_NAME = re.compile(
    r"(^|[_-])(api[_-]?key|apikey|token|secret|password|passwd|authorization|credentials?|access[_-]?key)$",
    re.IGNORECASE,
)
_registered: set[str] = set()


def is_credential_key(name: str) -> bool:
    """Whether a `model_args` key names a credential (api_key, access_token, password, ...)."""
    return bool(_KEY_NAME.search(name))


def credential_keys(args: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) of every credential key in nested provider arguments."""
    found: list[tuple[str, Any]] = []
    for key, value in args.items():
        path = f"{prefix}{key}"
        if is_credential_key(str(key)):
            found.append((path, value))
        elif isinstance(value, Mapping):
            found += credential_keys(value, f"{path}.")
    return found


def register(values: Iterable[Any]) -> None:
    """Treat these values (e.g. model_args credentials) as secrets from now on."""
    _registered.update(str(v) for v in values if v is not None and len(str(v)) >= MIN_LENGTH)


def secrets() -> tuple[str, ...]:
    """The credentials in use now, longest first."""
    values = {v for k, v in os.environ.items() if _ENV_NAME.search(k) and len(v) >= MIN_LENGTH} | _registered
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


@lru_cache(maxsize=8)
def _pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, values))) if values else None


def redact(text: str) -> str:
    """The text with every credential in use replaced by `REDACTED`."""
    pattern = _pattern(secrets())
    return pattern.sub(REDACTED, text) if pattern is not None and text else text


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value (str, list, tuple, dict) with credentials redacted in every string."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_exception(exc: BaseException) -> BaseException:
    """Redact an exception in place (its args, message and body, and those of its causes): it keeps
    its type, so Inspect's retry rules still recognise it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # some exception types make an attribute read-only; those keep their value
        with contextlib.suppress(AttributeError, TypeError):
            current.args = tuple(redact_value(a) for a in current.args)
        for name in ("message", "body"):
            value = getattr(current, name, None)
            if isinstance(value, (str, Mapping, list)):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(current, name, redact_value(value))
        current = current.__cause__ or current.__context__
    return exc


def _redact_result(result: Any) -> Any:
    """A provider's return value: an output, or (output or exception, call record). A failed call
    (an exception returned, not raised) has its exception and call record redacted."""
    if not isinstance(result, tuple) or not isinstance(result[0], BaseException):
        return result
    output, call = result
    redact_exception(output)
    if call is not None:
        call.request = redact_value(call.request)
        call.response = redact_value(call.response) if call.response is not None else None
    return output, call


def guard(model: "Model") -> "Model":
    """Make the model's provider redact credentials from its errors and call records (idempotent)."""
    api = model.api
    if getattr(api, "_insider_redacting", False):
        return model
    generate = api.generate

    async def redacting_generate(*args: Any, **kwargs: Any) -> Any:
        try:
            result = await generate(*args, **kwargs)
        except Exception as exc:
            redact_exception(exc)
            raise
        return _redact_result(result)

    api.generate = redacting_generate  # type: ignore[method-assign]
    api._insider_redacting = True  # type: ignore[attr-defined]
    return model
