"""Log locations: a local directory or any fsspec URL Inspect writes to (`s3://bucket/prefix`, ...).

Remote storage is reached through fsspec with its usual configuration; for S3 that is the
AWS environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_PROFILE`, `AWS_DEFAULT_REGION`). Every failure to reach the storage becomes one
`InsiderError` line that names the location.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import fsspec
from fsspec import AbstractFileSystem
from inspect_ai.log import EvalLogInfo, list_eval_logs, list_eval_logs_async

from insider.errors import InsiderError

LOG_SUFFIXES = (".eval", ".json")
#: files Inspect keeps in a log dir next to the logs (not logs themselves)
INDEX_FILES = ("logs.json", "eval-set.json", "listing.json")


@dataclass(frozen=True)
class LogFile:
    """One Inspect log: where it is (a local path or a URL) and when it was last written."""

    location: str
    #: seconds since the epoch
    mtime: float


def is_url(location: str) -> bool:
    """A remote location (`s3://...`, `gs://...`), as opposed to a local path or `file://` URL."""
    scheme = urlparse(location).scheme
    return len(scheme) > 1 and scheme != "file"


def normalize(location: str) -> str:
    """A local path as an absolute path, a URL without its trailing slash."""
    if location.startswith("file://"):
        location = unquote(urlparse(location).path)
    return location.rstrip("/") if is_url(location) else os.path.abspath(location)


def join(location: str, *parts: str) -> str:
    """`location/part/...` for paths and URLs alike."""
    return "/".join([location.rstrip("/"), *parts]) if is_url(location) else os.path.join(location, *parts)


def _fs(location: str) -> tuple[AbstractFileSystem, str]:
    # listings are never cached: other machines write to the same directory
    options = {"use_listings_cache": False} if is_url(location) else {}
    return fsspec.core.url_to_fs(location, **options)


def _storage_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the storage could not be reached or read", by library."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # botocore comes with s3fs; without it there is no S3 to fail
        pass
    else:
        errors += [BotoCoreError, ClientError]
    return tuple(errors)


@contextmanager
def storage(location: str) -> Iterator[None]:
    """Turn a storage failure (missing bucket, no credentials, unreachable endpoint) into one line."""
    try:
        yield
    except InsiderError:
        raise
    except _storage_errors() as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (
            "; check the URL and the storage's credentials (for S3: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
            "AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
            if is_url(location)
            else ""
        )
        raise InsiderError(f"cannot reach {location}: {type(exc).__name__}: {reason}{hint}") from None


def is_dir(location: str) -> bool:
    """Whether `location` is an existing directory (for object stores: a prefix with objects under it)."""
    with storage(location):
        fs, path = _fs(location)
        return fs.isdir(path)


def is_file(location: str) -> bool:
    with storage(location):
        fs, path = _fs(location)
        return fs.isfile(path)


def exists(location: str) -> bool:
    with storage(location):
        fs, path = _fs(location)
        return fs.exists(path)


def _mtime_seconds(value: float | None) -> float:
    """Inspect reports listing times in milliseconds; fsspec's local info in seconds."""
    if value is None:
        return 0.0
    return value / 1000 if value > 1e11 else value


def _location(name: str) -> str:
    """A listed log's name as a location: a local path for `file://` names, else the URL."""
    return unquote(urlparse(name).path) if name.startswith("file://") else name


def _listed(infos: list[EvalLogInfo]) -> list[LogFile]:
    return sorted((LogFile(_location(i.name), _mtime_seconds(i.mtime)) for i in infos), key=lambda log: log.location)


async def log_files_async(directory: str) -> list[LogFile]:
    """Every Inspect log under an existing directory, listed without blocking the event loop
    (for reading logs while a run is going on in the same loop)."""
    return _listed(await list_eval_logs_async(directory))


def log_files(location: str) -> list[LogFile]:
    """Every Inspect log under a directory (recursively), or the one log file `location` names.

    Returns an empty list for a directory without logs; raises InsiderError if `location`
    is neither a directory nor a log file.
    """
    with storage(location):
        fs, path = _fs(location)
        if fs.isdir(path):
            return _listed(list_eval_logs(location))
        if fs.isfile(path) and path.endswith(LOG_SUFFIXES):
            return [LogFile(location, _mtime_seconds(fs.info(path).get("mtime") or _modified(fs, path)))]
    raise InsiderError(
        f"{location} is not a log directory or an Inspect log file (.eval/.json); pass the run's log_dir"
    )


def _modified(fs: AbstractFileSystem, path: str) -> float:
    """Last-modified time of an object (object stores report it under another key)."""
    return fs.modified(path).timestamp()


def relative(location: str, base: str) -> str:
    """`location` relative to the directory `base` (`a/b.eval`), with `/` separators."""
    base_norm, loc_norm = normalize(base), normalize(location)
    if is_url(base_norm):
        return loc_norm.removeprefix(base_norm).lstrip("/")
    return os.path.relpath(loc_norm, base_norm).replace(os.sep, "/")
