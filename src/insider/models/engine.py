"""One GGUF model in process: its chat template, the context check, prefix reuse and a lock.

A `LocalModel` owns one `llama_cpp.Llama` (one context) and serialises every call to it.
Each call evaluates the prompt minus its last token, reusing whatever leading tokens the
live context or a saved state already holds; `create_completion` then evaluates the last
token alone and samples. Every call reaches its first sampled token the same way, so a
fixed seed gives the same text whether or not the prefix was reused.
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Literal

import llama_cpp
from jinja2 import TemplateError
from llama_cpp import Llama, LlamaState
from llama_cpp.llama_chat_format import ChatFormatterResponse, Jinja2ChatFormatter

from insider.errors import InsiderError
from insider.models.prefix_cache import PrefixCache, common_prefix_length

CONTEXT_CAP = 16384
"""Largest context used unless `n_ctx` asks for more: the KV cache grows with it."""

PrefixSource = Literal["none", "context", "cache"]

# llama.cpp logs through this logger; keep its errors only, as `Llama(verbose=False)` does
logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)


@dataclass(frozen=True)
class LocalSettings:
    """How a GGUF file is loaded; set with Inspect model args (`-M n_ctx=4096`)."""

    #: context size in tokens; default: the model's trained context, at most CONTEXT_CAP
    n_ctx: int | None = None
    #: CPU threads for prefill and decode; default: every CPU
    n_threads: int | None = None
    #: llama.cpp's flash attention (faster prefill on CPU)
    flash_attn: bool = True
    #: llama.cpp's extra weight buffers (AMX, repacking); off: the AMX kernels crash on some CPUs
    use_extra_bufts: bool = False
    #: memory for saved prompt states (0 turns the saved-state cache off)
    prefix_cache_mb: int = 2048

    @classmethod
    def from_model_args(cls, model_args: dict[str, Any]) -> LocalSettings:
        """Settings from Inspect model args; unknown names are an error."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(model_args) - set(names))
        if unknown:
            raise InsiderError(
                f"unknown model arg(s) for insider-local: {', '.join(unknown)}; "
                f"accepted: {', '.join(names)}"
            )
        return cls(**model_args)


@dataclass(frozen=True)
class Request:
    """One chat completion, already mapped from Inspect's messages and GenerateConfig."""

    messages: list[dict[str, str]]
    max_tokens: int
    stop: list[str] = field(default_factory=list)
    #: fixed seed; None draws a fresh one per call (reported in the Completion)
    seed: int | None = None
    #: keyword arguments for `Llama.create_completion` (temperature, top_p, ...)
    sampling: dict[str, Any] = field(default_factory=dict)
    #: look up and store saved prompt states (the live context is reused regardless)
    use_prefix_cache: bool = True


@dataclass(frozen=True)
class Completion:
    """What one call produced, with the token accounting."""

    text: str
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    output_tokens: int
    #: prompt tokens whose evaluation was reused rather than computed
    reused_tokens: int
    prefix_source: PrefixSource
    seed: int
    #: time holding the model (prefill and generation), without the wait for the lock
    seconds: float


class LocalModel:
    """A loaded GGUF model; `complete()` is thread-safe and runs one call at a time."""

    def __init__(self, llama: Llama, name: str, *, prefix_cache_bytes: int) -> None:
        self.llama = llama
        self.name = name
        self.n_ctx: int = llama.n_ctx()
        self.n_ctx_train: int | None = _trained_context(llama.metadata)
        self.prefix_cache = PrefixCache(prefix_cache_bytes)
        self._formatter = _chat_formatter(llama, name)
        self._lock = threading.Lock()

    def prompt_tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], ChatFormatterResponse]:
        """The messages rendered with the model's chat template, and tokenized."""
        try:
            rendered = self._formatter(messages=messages)
        except (TemplateError, ValueError) as ex:
            raise InsiderError(f"the chat template of {self.name} rejected the messages: {ex}") from ex
        tokens = self.llama.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        return tokens, rendered

    def check_fits(self, prompt_tokens: int, max_tokens: int) -> None:
        """Refuse a prompt that leaves less than `max_tokens` of the context (never truncate)."""
        if prompt_tokens + max_tokens <= self.n_ctx:
            return
        larger = "a model with a larger context"
        if self.n_ctx_train and self.n_ctx_train > self.n_ctx:
            larger += f" (or raise the model arg n_ctx, up to this model's trained {self.n_ctx_train})"
        room = self.n_ctx - prompt_tokens
        fix = f"lower max_tokens to {room} or less, or use {larger}" if room > 0 else f"use {larger}"
        raise InsiderError(
            f"prompt does not fit {self.name}: {prompt_tokens} prompt tokens + max_tokens "
            f"{max_tokens} = {prompt_tokens + max_tokens} exceeds its context of {self.n_ctx} "
            f"tokens; {fix}"
        )

    def complete(self, request: Request) -> Completion:
        """Run one chat completion (blocking; waits for the model if another call holds it)."""
        tokens, rendered = self.prompt_tokens(request.messages)
        self.check_fits(len(tokens), request.max_tokens)
        seed = request.seed if request.seed is not None else _fresh_seed()
        with self._lock:
            start = time.monotonic()
            reused, source = self._prime(tokens[:-1], request.use_prefix_cache)
            result = self.llama.create_completion(
                prompt=tokens,
                max_tokens=request.max_tokens,
                stop=request.stop + _as_list(rendered.stop),
                stopping_criteria=rendered.stopping_criteria,
                seed=seed,
                **request.sampling,
            )
            seconds = time.monotonic() - start
        choice = result["choices"][0]
        return Completion(
            text=choice["text"],
            finish_reason="length" if choice["finish_reason"] == "length" else "stop",
            prompt_tokens=len(tokens),
            output_tokens=result["usage"]["completion_tokens"],
            reused_tokens=reused,
            prefix_source=source,
            seed=seed,
            seconds=seconds,
        )

    def _prime(self, prefix: list[int], use_cache: bool) -> tuple[int, PrefixSource]:
        """Make the context hold `prefix`, computing only what neither it nor the cache has."""
        llama = self.llama
        reused = common_prefix_length(llama.input_ids[: llama.n_tokens], prefix)
        source: PrefixSource = "context" if reused else "none"
        hit = self.prefix_cache.longest(prefix) if use_cache else None
        if hit is not None and hit.length > reused:
            llama.load_state(hit.state)
            reused, source = hit.length, "cache"
        llama.n_tokens = reused
        llama.eval(prefix[reused:])
        if use_cache and (hit is None or hit.length < len(prefix)):
            self.prefix_cache.store(prefix, self._saved_state())
        return reused, source

    def _saved_state(self) -> LlamaState:
        """The context's state, without the copy of the logits buffer.

        Without `logits_all` llama.cpp samples from its own logits and never reads that
        buffer (n_batch x vocabulary floats, 100 MB for SmolLM2, more than the KV cache of
        a study prompt). One row is kept: `load_state` broadcasts it back into place.
        """
        state = self.llama.save_state()
        state.scores = state.scores[:1].copy()
        return state


def _as_list(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)


def _fresh_seed() -> int:
    # 0xFFFFFFFF means "random" to llama.cpp's sampler, which would make the seed unreportable
    return secrets.randbelow(0xFFFFFFFF)


def _trained_context(metadata: dict[str, str]) -> int | None:
    value = metadata.get(f"{metadata.get('general.architecture')}.context_length")
    return int(value) if value else None


def _chat_formatter(llama: Llama, name: str) -> Jinja2ChatFormatter:
    """llama-cpp-python's renderer for the chat template stored in the GGUF file."""
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise InsiderError(
            f"{name} has no chat template in its GGUF metadata; insider-local needs an "
            "instruction-tuned GGUF that carries one"
        )
    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llama, eos),
        bos_token=_token_text(llama, bos),
        stop_token_ids=[eos],
    )


def _token_text(llama: Llama, token: int) -> str:
    return llama.detokenize([token], special=True).decode("utf-8", errors="replace") if token >= 0 else ""


# -- loading -----------------------------------------------------------------------------

_loaded: dict[tuple[Path, LocalSettings], LocalModel] = {}
_loading = threading.Lock()


def local_model(path: Path, settings: LocalSettings, *, name: str | None = None) -> LocalModel:
    """The process-wide `LocalModel` for `path` with `settings` (loaded on first use)."""
    with _loading:
        key = (path, settings)
        if key not in _loaded:
            _loaded[key] = LocalModel(
                open_llama(path, settings),
                name or path.name,
                prefix_cache_bytes=settings.prefix_cache_mb * 2**20,
            )
        return _loaded[key]


def open_llama(path: Path, settings: LocalSettings) -> Llama:
    """Load `path` with llama.cpp, in process, with the context size the settings resolve to."""
    trained = read_trained_context(path)
    if settings.n_ctx is not None and trained and settings.n_ctx > trained:
        raise InsiderError(
            f"n_ctx={settings.n_ctx} exceeds the trained context of {path.name} ({trained} tokens); "
            f"use -M n_ctx={trained} or less"
        )
    n_ctx = settings.n_ctx or min(trained or CONTEXT_CAP, CONTEXT_CAP)
    threads = settings.n_threads or os.cpu_count() or 1
    with _model_params(use_extra_bufts=settings.use_extra_bufts):
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                flash_attn=settings.flash_attn,
                verbose=False,
            )
        except ValueError as ex:
            raise InsiderError(f"llama.cpp could not load {path}: {ex}") from ex
    if llama.model_params.use_extra_bufts != settings.use_extra_bufts:
        raise RuntimeError("llama-cpp-python ignored use_extra_bufts; the AMX guard is not in effect")
    return llama


def read_trained_context(path: Path) -> int | None:
    """The context length a GGUF model was trained with, read without loading its weights."""
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise InsiderError(f"llama.cpp cannot read {path}: an unsupported or damaged GGUF file")
    buffer = ctypes.create_string_buffer(256)

    def value(key: str) -> str | None:
        found = llama_cpp.llama_model_meta_val_str(model, key.encode(), buffer, len(buffer)) >= 0
        return buffer.value.decode() if found else None

    try:
        architecture = value("general.architecture")
        length = value(f"{architecture}.context_length") if architecture else None
        return int(length) if length else None
    finally:
        llama_cpp.llama_model_free(model)


@contextmanager
def _model_params(**values: Any) -> Iterator[None]:
    """Set `llama_model_params` fields that `Llama()` has no argument for.

    llama-cpp-python 0.3.36 accepts `Llama(use_extra_bufts=False)` but drops it (its
    `**kwargs` are ignored); the only way in is the defaults `Llama()` starts from.
    Callers hold `_loading`, so no other load sees the patched defaults.
    """
    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params

    def defaults() -> llama_cpp.llama_model_params:
        params = original()
        for name, value in values.items():
            setattr(params, name, value)
        return params

    module.llama_model_default_params = defaults
    try:
        yield
    finally:
        module.llama_model_default_params = original
