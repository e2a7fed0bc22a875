"""The experiment file (YAML), validated by pydantic. Every key is documented in docs/config.md."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from inspect_ai.model import GenerateConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from insider.conditions import Condition, GridEntry, expand_grid
from insider.errors import InsiderError
from insider.inputs import load_yaml, read_text
from insider.judges.config import JudgeConfig
from insider.redact import credential_keys, register
from insider.scenarios import BUILTIN_PACK_DIR
from insider.scenarios.base import Mode

#: settings shared by every schema of the file: no unknown keys, no NaN or infinity
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _int(low: int, high: int, default: int | None = None) -> Any:
    """An integer field in [low, high] (booleans and floats are refused)."""
    return Field(default=default, strict=True, ge=low, le=high)


def _number(low: float, high: float, default: float | None = None) -> Any:
    """A finite number field in [low, high]."""
    return Field(default=default, strict=True, ge=low, le=high)


class RunConfig(BaseModel):
    """Execution settings, passed through to Inspect's eval-set."""

    model_config = _STRICT

    log_dir: str = "logs"
    max_connections: int | None = _int(1, 10_000)
    #: provider batch APIs (about half price, slower); true or a batch size
    batch: Annotated[bool, Field(strict=True)] | Annotated[int, Field(strict=True, ge=1, le=100_000)] = False
    #: provider prompt caching: auto, true or false
    cache_prompt: Literal["auto"] | bool = "auto"
    #: Inspect's local response cache (re-running identical requests costs nothing)
    cache: bool = False
    #: refuse to start above this estimated cost, and stop scheduling new work at it
    budget_usd: float | None = _number(0, 1_000_000)
    #: sharded runs: seconds between two reads of the other shards' spend from their logs
    budget_refresh: float = _number(0.001, 86_400, 60.0)
    #: retries of a failed sample within one run (on top of the provider's own retries)
    retry_on_error: int = _int(0, 100, 3)
    #: how many times eval-set re-runs a task that ended with errored samples, within one command
    retry_attempts: int = _int(0, 100, 2)
    #: seconds a request may take, retries included, before the sample fails
    timeout: int | None = _int(1, 86_400)
    #: seconds one request attempt may take before it is abandoned and retried (a hung connection)
    attempt_timeout: int | None = _int(1, 86_400)
    #: provider-level retries of a failed request
    max_retries: int | None = _int(0, 100)
    #: cap on messages per sample in tools/inbox mode
    message_limit: int = _int(2, 10_000, 30)
    #: cap on total tokens per sample
    token_limit: int | None = _int(1, 100_000_000)
    #: override prices (USD per million tokens) by model name or pattern: {input, output, cache_read}
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: expected output tokens per call, for the estimate (capped by max_tokens)
    expected_output_tokens: int = _int(1, 1_000_000, 1000)
    #: samples Inspect buffers before writing them to the log (smaller = less lost to a crash)
    log_buffer: int | None = _int(1, 100_000)
    #: stream every event to Inspect's sample buffer (live `inspect view`, and crash recovery of
    #: finished but unwritten samples); off by default: it costs about a third of the throughput
    log_realtime: bool = False

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        from insider.experiment.pricing import Price

        return {name: Price.model_validate(price).model_dump(exclude_none=True) for name, price in value.items()}

    def inspect_settings(self) -> dict[str, Any]:
        """The run-wide Inspect generation settings (connections, batching, caching, timeouts,
        retries). Sampling settings are each model entry's own (`Experiment.generate_settings`)."""
        settings: dict[str, Any] = {
            "max_connections": self.max_connections,
            "batch": self.batch or None,
            "cache_prompt": self.cache_prompt,
            "cache": self.cache or None,
            "timeout": self.timeout,
            "attempt_timeout": self.attempt_timeout,
            "max_retries": self.max_retries,
        }
        return {key: value for key, value in settings.items() if value is not None}


#: keys of a `models:` entry that are not Inspect generation settings
ENTRY_KEYS = ("model", "label", "model_args")
#: generation settings the `run:` section sets once for the whole run
RUN_SETTINGS = ("max_connections", "batch", "cache", "cache_prompt", "timeout", "attempt_timeout", "max_retries")
#: generation settings a model entry may not set, and why
REFUSED_SETTINGS = {
    "system_message": "the pack writes the system prompt",
    "num_choices": "a sample is one answer",
    "fallback_models": "another model would answer under this entry's label",
}
#: numeric settings and their allowed range (Inspect's GenerateConfig checks types only)
SETTING_RANGES: dict[str, tuple[float, float | None]] = {
    "max_tokens": (1, 1_000_000),
    "reasoning_tokens": (0, 1_000_000),
    "temperature": (0, 2),
    "top_p": (0, 1),
    "top_k": (1, None),
    "seed": (0, 2**63 - 1),
}
#: settings that turn a model's own reasoning (thinking) on or shape it
REASONING_SETTINGS = ("reasoning_effort", "reasoning_tokens", "reasoning_summary", "reasoning_mode", "effort")


def asks_for_reasoning(settings: dict[str, Any]) -> list[str]:
    """The settings that turn the model's own reasoning on or shape it (none for "off" values)."""
    off = (None, "none", 0)
    return [key for key in REASONING_SETTINGS if settings.get(key) not in off]


def _setting_problem(key: str) -> str | None:
    """Why `key` cannot be a model entry's setting (None when it can)."""
    if key in RUN_SETTINGS:
        return f"{key!r} is a run setting: set run.{key} (it applies to every model)"
    if key in REFUSED_SETTINGS:
        return f"{key!r} cannot be set per model: {REFUSED_SETTINGS[key]}"
    if key not in GenerateConfig.model_fields:
        close = difflib.get_close_matches(key, [*ENTRY_KEYS, *GenerateConfig.model_fields], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"unknown key {key!r}: an entry takes model, label, model_args and Inspect's generation "
            f"settings (GenerateConfig: temperature, max_tokens, reasoning_effort, reasoning_tokens, ...){hint}"
        )
    return None


class ModelEntry(BaseModel):
    """One `models:` entry: an Inspect model name, the label results show, and its own settings.

    Written as a name (`openai/gpt-4.1`) or a mapping whose keys besides `model`, `label` and
    `model_args` are Inspect generation settings (`reasoning_effort`, `max_tokens`, ...).
    """

    model_config = _STRICT

    #: the Inspect model name (`provider/model`)
    model: str = Field(min_length=1)
    #: what results, reports and plots call this entry (default: the model name)
    label: str = ""
    #: provider arguments for this entry, over the top-level `model_args` of its model name
    model_args: dict[str, Any] = Field(default_factory=dict)
    #: Inspect generation settings for this entry, as written (null removes a top-level default)
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"model": value}
        if not isinstance(value, dict):
            return value
        written = {key: item for key, item in value.items() if key not in ENTRY_KEYS}
        for key in written:
            problem = _setting_problem(str(key))
            if problem:
                raise ValueError(problem)
        bad = _non_finite(written)
        if bad:
            raise ValueError(f"{bad} is not a finite number")
        for path, _ in credential_keys(written):
            raise ValueError(
                f"{path} looks like a credential, and Inspect writes generation settings into every log; "
                "set it in the provider's environment variable instead"
            )
        try:
            config = GenerateConfig.model_validate(written, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']} (got {first.get('input')!r})") from None
        settings = {key: config.model_dump(mode="json")[key] for key in written}
        for key, (low, high) in SETTING_RANGES.items():
            number = settings.get(key)
            if number is not None and (number < low or (high is not None and number > high)):
                bound = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise ValueError(f"{key} must be {bound} (got {number!r})")
        return {**{key: value[key] for key in ENTRY_KEYS if key in value}, "settings": settings}

    @field_validator("label", mode="before")
    @classmethod
    def _text(cls, label: Any) -> Any:
        if isinstance(label, bool):
            raise ValueError("a label must be text: put it in quotes (YAML reads off, on, yes and no as true/false)")
        return str(label) if isinstance(label, (int, float)) else label

    @field_validator("label")
    @classmethod
    def _printable(cls, label: str) -> str:
        if label != label.strip() or any(not ch.isprintable() for ch in label):
            raise ValueError(f"label {label!r} has surrounding spaces or control characters")
        return label

    @model_validator(mode="after")
    def _default_label(self) -> "ModelEntry":
        if not self.label:
            self.label = self.model
        check_provider_args("model_args", self.model_args)
        return self


class Experiment(BaseModel):
    """An experiment: a pack, a mode, models, and a grid of conditions."""

    model_config = _STRICT

    name: str
    description: str = ""
    #: paper | builtin | path to a pack directory
    pack: str = "paper"
    #: several packs (names or directories) run on the same grid, instead of `pack`
    packs: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, min_length=1)
    mode: Mode = "text"
    #: model names, or entries with a label and their own generation settings
    models: list[ModelEntry] = Field(min_length=1)
    #: provider arguments per model name, e.g. {"vllm/my-model": {"base_url": "http://127.0.0.1:8000/v1"}}
    model_args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: epochs per condition
    samples: int = _int(1, 10_000, 1)
    temperature: float | None = _number(0, 2, 1.0)
    max_tokens: int | None = _int(1, 1_000_000, 4000)
    seed: int | None = _int(0, 2**63 - 1)
    #: paper pack only: send `${...}` placeholders the published templates leave unfilled
    allow_unfilled: bool = False
    grid: list[GridEntry] = Field(min_length=1)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_shorthand(cls, value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value

    @field_validator("model_args")
    @classmethod
    def _model_args(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for model, args in value.items():
            check_provider_args(model, args)
        return value

    @field_validator("models")
    @classmethod
    def _distinct_labels(cls, models: list[ModelEntry]) -> list[ModelEntry]:
        seen: dict[str, int] = {}
        for i, entry in enumerate(models):
            if entry.label in seen:
                raise ValueError(
                    f"models[{seen[entry.label]}] and models[{i}] are both labelled {entry.label!r} (a label defaults "
                    f"to the model name); give each entry its own label, e.g. {{model: {entry.model}, label: "
                    "thinking-high, reasoning_effort: high}"
                )
            seen[entry.label] = i
        return models

    @model_validator(mode="after")
    def _one_pack_key(self) -> "Experiment":
        if self.packs is not None and "pack" in self.model_fields_set:
            raise ValueError("the file sets both pack and packs; keep pack: for one pack or packs: for several")
        seen: dict[str, int] = {}
        for i, name in enumerate(self.packs or []):
            where = _pack_identity(name)
            if where in seen:
                raise ValueError(
                    f"packs[{seen[where]}] and packs[{i}] are the same pack ({name!r}); list each pack once"
                )
            seen[where] = i
        return self

    @model_validator(mode="after")
    def _non_empty(self) -> "Experiment":
        if not self.conditions():
            raise ValueError("grid expands to no conditions")
        names = [entry.model for entry in self.models]
        unknown = [m for m in self.model_args if m not in names]
        if unknown:
            raise ValueError(f"model_args names {', '.join(unknown)}, which is not in models")
        return self

    @property
    def pack_names(self) -> list[str]:
        """The packs the grid runs on, as written: `packs`, or the one `pack`."""
        return list(self.packs) if self.packs is not None else [self.pack]

    def conditions(self) -> list[Condition]:
        """The grid, expanded and de-duplicated."""
        return expand_grid(self.grid)

    def generate_settings(self, entry: ModelEntry) -> dict[str, Any]:
        """The entry's generation settings over the top-level defaults (temperature, max_tokens,
        seed); a setting written as null is not sent at all."""
        merged = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed, **entry.settings}
        return {key: value for key, value in merged.items() if value is not None}

    def provider_args(self, entry: ModelEntry) -> dict[str, Any]:
        """Provider arguments of an entry: the top-level `model_args` of its name, then its own."""
        return {**self.model_args.get(entry.model, {}), **entry.model_args}


def _pack_identity(name: str) -> str:
    """What a pack name stands for: `paper`, or the resolved directory (`builtin` is one too)."""
    if name == "paper":
        return name
    return str((BUILTIN_PACK_DIR if name == "builtin" else Path(name).expanduser()).resolve())


def check_provider_args(model: str, args: dict[str, Any]) -> None:
    """Provider arguments hold credentials only as `api_key` (registered as secrets), and only
    finite numbers; ValueError otherwise."""
    for path, secret in credential_keys(args):
        if path != "api_key":
            raise ValueError(
                f"{model}: {path} looks like a credential, and Inspect writes model_args (all but api_key) "
                "into every log; pass it as api_key or set it in the environment"
            )
        register([secret])
    bad = _non_finite(args)
    if bad:
        raise ValueError(f"{model}: {bad} is not a finite number")


def _non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first NaN or infinity in nested provider arguments, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(value)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Keys allowed at the location of an unknown key (walking nested models)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return list(current.model_fields) if isinstance(current, type) else []


def format_validation_error(source: str, error: ValidationError, model: type[BaseModel]) -> str:
    """One line: where the first problem is, what is wrong, what is allowed."""
    first = error.errors()[0]
    loc = tuple(p for p in first["loc"] if p not in ("function-before[_judge_shorthand(), JudgeConfig]",))
    where = _location(loc)
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{source}: unknown key {where!r}{hint}"
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, (dict, list)) and value is not None else ""
    extra = f" and {error.error_count() - 1} more problem(s)" if error.error_count() > 1 else ""
    return f"{source}: {where}: {message}{shown}{extra}"


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; raise InsiderError with one clear line."""
    path = Path(path)
    if not path.exists():
        raise InsiderError(f"experiment file {path} not found; see configs/ for ready ones")
    data = load_yaml(read_text(path, f"experiment file {path}"), str(path))
    if not isinstance(data, dict):
        raise InsiderError(f"{path}: expected a mapping of keys (name, models, grid, ...), got {type(data).__name__}")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise InsiderError(format_validation_error(str(path), exc, Experiment)) from None
