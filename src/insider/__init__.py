"""insider: agentic-misalignment stress tests for LLM agents, built on Inspect AI."""

from insider.offline import ensure_tiktoken_offline

__version__ = "0.1.0"

ensure_tiktoken_offline()
