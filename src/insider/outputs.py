"""Writing what a command produces: all or nothing, never through a symlink, never outside `--out`.

`OutputDir` is a report's directory: every file is named by a relative path of safe parts
(`slug` makes one from any text), written to a temporary file and renamed into place only once
every file of the batch was written. `write_file` does the same for a single file (a results
table). Problems are one `InsiderError` naming the path: an output that exists as the wrong kind
(a file for a directory, a directory for a file), a symlink inside the output directory, a
name that would leave it, a place that cannot be written.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from insider.errors import InsiderError

_SAFE = re.compile(r"[A-Za-z0-9_-]+")
#: the longest slug (before its hash suffix)
SLUG_LENGTH = 60


def slug(text: str) -> str:
    """A file-name part made of letters, digits, `_` and `-`; any text that had to change gets a
    short hash of the original, so two different texts never share a slug."""
    if _SAFE.fullmatch(text) and len(text) <= SLUG_LENGTH:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:SLUG_LENGTH] or "x"
    return f"{cleaned}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def _oserror(exc: OSError, path: Path) -> InsiderError:
    return InsiderError(f"cannot write {exc.filename or path}: {exc.strerror or exc}; choose another --out")


def _write_temp(directory: Path, name: str, data: bytes) -> Path:
    """A new file beside `name` holding `data` (created exclusively: it never follows a symlink)."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def check_file_target(path: str | Path, suffixes: tuple[str, ...]) -> Path:
    """Refuse an output file path that cannot be written, before any work is done."""
    path = Path(path)
    kinds = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
    if path.suffix not in suffixes:
        raise InsiderError(f"cannot write {path}: use a {kinds} file name")
    if path.is_dir():
        raise InsiderError(f"cannot write {path}: it is a directory; give a {kinds} file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InsiderError(f"cannot write {path}: {parent} is a file, not a directory")
    return path


def write_file(path: str | Path, data: bytes | str) -> Path:
    """Write one file atomically (a symlink at `path` is replaced, never followed)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = _write_temp(path.parent, path.name, _as_bytes(data))
        os.replace(temp, path)
    except OSError as exc:
        raise _oserror(exc, path) from None
    return path


class OutputDir:
    """A directory that receives a batch of files, all or nothing, and nothing outside it."""

    def __init__(self, path: str | Path) -> None:
        given = Path(path)
        if given.exists() and not given.is_dir():
            raise InsiderError(f"--out {given} is a file, not a directory; choose a directory for the output")
        for parent in given.parents:
            if parent.exists() and not parent.is_dir():
                raise InsiderError(f"cannot write {given}: {parent} is a file, not a directory")
        self.given = given

    def target(self, relative: str) -> Path:
        """The path of a file inside the directory; refused if it would leave it or pass through a
        symlinked directory (a symlink in the file's own place is replaced, never followed)."""
        parts = relative.split("/")
        if any(part in ("", ".", "..") or not re.fullmatch(r"[A-Za-z0-9_.-]+", part) for part in parts):
            raise InsiderError(f"refusing to write {relative!r}: not a plain name inside {self.given}")
        path = self.given.joinpath(*parts)
        for inside in [self.given.joinpath(*parts[:i]) for i in range(1, len(parts))]:
            if inside.is_symlink():
                raise InsiderError(f"{inside} is a symlink; insider never writes through one: remove it or choose another --out")
        return path

    def write(self, files: Mapping[str, bytes | str]) -> None:
        """Write every file (relative path -> content), or none of them."""
        targets = {self.target(relative): _as_bytes(data) for relative, data in files.items()}
        created: list[Path] = []
        staged: list[tuple[Path, Path]] = []
        try:
            for directory in sorted({t.parent for t in targets} | {self.given}, key=lambda p: len(p.parts)):
                for missing in [*reversed(directory.parents), directory]:
                    if not missing.exists():
                        missing.mkdir()
                        created.append(missing)
                    elif not missing.is_dir():
                        raise InsiderError(f"cannot write {directory}: {missing} is a file, not a directory")
            for target, data in targets.items():
                staged.append((_write_temp(target.parent, target.name, data), target))
        except (OSError, InsiderError) as exc:
            for temp, _ in staged:
                temp.unlink(missing_ok=True)
            for directory in reversed(created):
                directory.rmdir()
            if isinstance(exc, OSError):
                raise _oserror(exc, self.given) from None
            raise
        for temp, target in staged:
            os.replace(temp, target)
