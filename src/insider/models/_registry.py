"""Inspect's entry point for insider (`[project.entry-points.inspect_ai]`).

Inspect imports this module when it meets a provider name it does not know. It stays
light: llama-cpp-python is imported only when an `insider-local/...` model is created.
"""

from inspect_ai.model import ModelAPI, modelapi


@modelapi(name="insider-local")
def insider_local() -> type[ModelAPI]:
    from insider.models.provider import LocalModelAPI

    return LocalModelAPI
