"""The experiment file (YAML), validated by pydantic. Every key is documented in docs/config.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from insider.conditions import Condition, GridEntry, expand_grid
from insider.errors import InsiderError
from insider.judges.config import JudgeConfig
from insider.scenarios.base import Mode


class RunConfig(BaseModel):
    """Execution settings, passed through to Inspect's eval-set."""

    model_config = ConfigDict(extra="forbid")

    log_dir: str = "logs"
    max_connections: int | None = Field(default=None, ge=1)
    #: provider batch APIs (about half price, slower); true or a batch size
    batch: bool | int = False
    #: provider prompt caching: auto, true or false
    cache_prompt: Literal["auto"] | bool = "auto"
    #: Inspect's local response cache (re-running identical requests costs nothing)
    cache: bool = False
    #: refuse to start above this estimated cost, and stop scheduling new work at it
    budget_usd: float | None = Field(default=None, ge=0)
    #: retries of a failed sample within one run (on top of the provider's own retries)
    retry_on_error: int = Field(default=3, ge=0)
    #: how many times eval-set re-runs a task that ended with errored samples, within one command
    retry_attempts: int = Field(default=2, ge=0)
    #: seconds a request may take, retries included, before the sample fails
    timeout: int | None = Field(default=None, ge=1)
    #: seconds one request attempt may take before it is abandoned and retried (a hung connection)
    attempt_timeout: int | None = Field(default=None, ge=1)
    #: provider-level retries of a failed request
    max_retries: int | None = Field(default=None, ge=0)
    #: cap on messages per sample in tools/inbox mode
    message_limit: int = Field(default=30, ge=2)
    #: cap on total tokens per sample
    token_limit: int | None = Field(default=None, ge=1)
    #: override prices (USD per million tokens) by model name or pattern: {input, output, cache_read}
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    #: expected output tokens per call, for the estimate (capped by max_tokens)
    expected_output_tokens: int = Field(default=1000, ge=1)
    #: samples Inspect buffers before writing them to the log (smaller = less lost to a crash)
    log_buffer: int | None = Field(default=None, ge=1)
    #: stream every event to Inspect's sample buffer (live `inspect view`, and crash recovery of
    #: finished but unwritten samples); off by default: it costs about a third of the throughput
    log_realtime: bool = False


class Experiment(BaseModel):
    """An experiment: a pack, a mode, models, and a grid of conditions."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    #: paper | builtin | path to a pack directory
    pack: str = "paper"
    mode: Mode = "text"
    models: list[str] = Field(min_length=1)
    #: provider arguments per model name, e.g. {"vllm/my-model": {"base_url": "http://127.0.0.1:8000/v1"}}
    model_args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: epochs per condition
    samples: int = Field(default=1, ge=1)
    temperature: float | None = Field(default=1.0, ge=0)
    max_tokens: int | None = Field(default=4000, ge=1)
    seed: int | None = None
    #: paper pack only: send `${...}` placeholders the published templates leave unfilled
    allow_unfilled: bool = False
    grid: list[GridEntry] = Field(min_length=1)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("judge", mode="before")
    @classmethod
    def _judge_shorthand(cls, value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _non_empty(self) -> "Experiment":
        if not self.conditions():
            raise ValueError("grid expands to no conditions")
        unknown = [m for m in self.model_args if m not in self.models]
        if unknown:
            raise ValueError(f"model_args names {', '.join(unknown)}, which is not in models")
        return self

    def conditions(self) -> list[Condition]:
        """The grid, expanded and de-duplicated."""
        return expand_grid(self.grid)


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
    if not path.is_file():
        raise InsiderError(f"experiment file {path} not found; see configs/ for ready ones")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InsiderError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise InsiderError(f"{path}: expected a mapping of keys (name, models, grid, ...), got {type(data).__name__}")
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise InsiderError(format_validation_error(str(path), exc, Experiment)) from None
