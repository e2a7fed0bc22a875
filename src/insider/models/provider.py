"""`insider-local/...`: an Inspect model provider running GGUF models in process.

`insider-local/smollm2` is the embedded SmolLM2-135M-Instruct; `insider-local/<path>.gguf`
any other GGUF file. Calls are serialised on one llama.cpp context and run in a worker
thread, so the event loop stays free while the model computes.
"""

from __future__ import annotations

from typing import Any

import anyio
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from insider.errors import InsiderError
from insider.models.engine import Completion, LocalSettings, Request, local_model
from insider.models.files import model_file

DEFAULT_MAX_TOKENS = 1024
"""max_tokens when the GenerateConfig sets none (the context check needs a number)."""

_SAMPLING = ("temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty", "logit_bias")


class LocalModelAPI(ModelAPI):
    """A GGUF model run by llama-cpp-python inside this process (text only, no tools).

    Model args (`-M name=value`): see `LocalSettings` (n_ctx, n_threads, flash_attn,
    use_extra_bufts, prefix_cache_mb).
    """

    #: the interaction modes it can run (pre-flight refuses the others before any call)
    modes = ("text",)

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        settings = LocalSettings.from_model_args(model_args)
        self.local = local_model(model_file(model_name), settings, name=f"insider-local/{model_name}")

    def max_connections(self) -> int:
        """One: the model runs on one context, and concurrent calls would only queue."""
        return 1

    def max_tokens(self) -> int:
        return DEFAULT_MAX_TOKENS

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> tuple[ModelOutput, ModelCall]:
        if tools:
            raise InsiderError(
                f"insider-local supports text mode only, and this call passed {len(tools)} tool(s) "
                f"({', '.join(tool.name for tool in tools)}); use mode: text, or serve the model "
                "through a provider with tool calling (vllm/..., ollama/...)"
            )
        request = completion_request(input, config)
        completion = await anyio.to_thread.run_sync(self.local.complete, request)
        output = model_output(self.model_name, completion)
        sent = dict(model=self.model_name, messages=request.messages, max_tokens=request.max_tokens,
                    stop=request.stop, seed=completion.seed, **request.sampling)
        received = dict(text=completion.text, finish_reason=completion.finish_reason, usage=output.usage)
        call = ModelCall.create(request=sent, response=received, time=completion.seconds)
        return output, call


def completion_request(input: list[ChatMessage], config: GenerateConfig) -> Request:
    """Inspect's messages and GenerateConfig as a `Request` for the local model."""
    unsupported = [
        name
        for name, used in (
            ("num_choices", (config.num_choices or 1) > 1),
            ("logprobs", bool(config.logprobs or config.top_logprobs)),
            ("response_schema", config.response_schema is not None),
        )
        if used
    ]
    if unsupported:
        raise InsiderError(
            f"insider-local does not support {', '.join(unsupported)}; remove it from the "
            "generate config or use another provider"
        )
    return Request(
        messages=[_chat_message(message) for message in input],
        max_tokens=config.max_tokens or DEFAULT_MAX_TOKENS,
        stop=list(config.stop_seqs or []),
        seed=config.seed,
        sampling={name: getattr(config, name) for name in _SAMPLING if getattr(config, name) is not None},
        use_prefix_cache=config.cache_prompt is not False,
    )


def model_output(model: str, completion: Completion) -> ModelOutput:
    """A `Completion` as Inspect's ModelOutput, usage split the way ModelUsage defines it."""
    computed = completion.prompt_tokens - completion.reused_tokens
    return ModelOutput(
        model=model,
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=completion.text, model=model, source="generate"),
                stop_reason="max_tokens" if completion.finish_reason == "length" else "stop",
            )
        ],
        usage=ModelUsage(
            input_tokens=computed,
            input_tokens_cache_read=completion.reused_tokens,
            output_tokens=completion.output_tokens,
            total_tokens=completion.prompt_tokens + completion.output_tokens,
        ),
        input_context_tokens=completion.prompt_tokens,
        time=completion.seconds,
        metadata=dict(seed=completion.seed, prefix_source=completion.prefix_source),
    )


def _chat_message(message: ChatMessage) -> dict[str, str]:
    if message.role == "tool" or (message.role == "assistant" and message.tool_calls):
        raise InsiderError(
            "insider-local supports text mode only, and the conversation holds tool calls; "
            "use mode: text"
        )
    if not isinstance(message.content, str):
        other = sorted({part.type for part in message.content if part.type != "text"})
        if other:
            raise InsiderError(
                f"insider-local reads text only, and a {message.role} message holds {', '.join(other)}"
            )
    return {"role": message.role, "content": message.text}
