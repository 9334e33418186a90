"""Write a file or a folder so that readers see either the old complete one or the new complete one.

``write_json`` and ``read_json_object`` are the two ends of this for the small JSON files of a run
(``run.json``, ``metrics.json``, ``results.json``, a model's ``config.json``): a kill while writing
leaves the previous file whole, and a file damaged some other way is reported by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` by renames.

    If the block raises (a full disk, a crash of the writer), ``path`` is left as it was and the
    temporary folder is removed. A kill between the two renames leaves the previous folder at
    ``<path>.old``, never a half-written one at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp.chmod(mode_for(path, 0o777))  # mkdtemp makes it private
    try:
        yield tmp
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb+") as handle:
                    os.fsync(handle.fileno())
            elif f.is_dir():
                fsync_directory(f)
        fsync_directory(tmp)
        old = path.with_name(path.name + ".old")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_directory(path.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """Yield a binary file beside ``path``; on success it is flushed to disk and renamed over ``path``.

    If the block raises, ``path`` is left as it was and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own, so that two writers of one file never write into each other's temporary file
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with open(descriptor, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        tmp.chmod(mode_for(path, 0o666))  # mkstemp makes it private
        os.replace(tmp, path)
        fsync_directory(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def mode_for(path: Path, default: int) -> int:
    """The permissions of the ``path`` being replaced, or those a new one gets: ``default`` less the umask."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(umask)
    return default & ~umask


def fsync_directory(folder: Path) -> None:
    """Flush a folder's entries to disk: without it, a power loss can undo a rename that has returned."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_json(path: str | Path, value: Any) -> None:
    """Atomically replace ``path`` with ``value`` as indented JSON."""
    with atomic_file(path) as f:
        f.write((json.dumps(value, indent=2) + "\n").encode())


def read_json_object(path: str | Path) -> dict:
    """The JSON object in ``path``; a file that is not one raises ``ValueError`` naming it."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} holds a JSON {type(value).__name__}, not an object")
    return value
