"""The one exception type users see."""

from __future__ import annotations


class InsiderError(Exception):
    """A user-facing error: one line that says what is wrong and how to fix it.

    The CLI prints it as `error: <message>` and exits non-zero; nothing else of the
    traceback is shown.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
