"""Writing files so that a reader never sees half of one: the one atomic writer.

Every file the workbench writes (reports, CSV exports, codebooks, coded tables, caches) goes
through :func:`atomic_write` or :func:`atomic_file`: the data goes to a temporary file beside the
target (same folder, so the final rename cannot cross file systems), is flushed and fsynced, and
is renamed over the target in one step. A crash, ``kill -9`` or full disk before the rename
leaves the old file as it was; the temporary file is removed on any failure. Temporary names
carry the process id and a random part, so two processes writing the same target never share
one; the pid also lets the next writer to a folder remove what a killed writer left there
(:func:`remove_stale`), while a live writer's temporary files are left alone.

    >>> atomic_write(Path("out/claims.csv"), "claim_id,text\\n")      # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import IO, Iterator, Mapping

from .errors import WorkbenchError

PARTIAL = ".partial"
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}" + re.escape(PARTIAL) + "$")


def temp_path(path: Path) -> Path:
    """A unique temporary name beside ``path`` (hidden, with pid and a random part)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL}")


def disk_error(path: Path, error: OSError) -> WorkbenchError:
    """The message for a write that failed: full disk and permissions said plainly."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f" ({shutil.disk_usage(path.parent).free / 1024 / 1024:.0f} MB free)"
        except OSError:
            free = ""
        return WorkbenchError(f"Cannot write {path}: the disk is full{free}. Nothing was changed; "
                              "free some space (or write elsewhere with --out) and run the command again.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WorkbenchError(f"Cannot write {path}: permission denied ({error.strerror}). "
                              "Choose a folder you can write to.")
    return WorkbenchError(f"Cannot write {path}: {error.strerror or error}. Nothing was changed.")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):      # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path | str, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path``, on failure it is removed.

    ``mode`` is ``"w"`` (UTF-8 text, ``\\n`` line ends kept as written) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_file writes with mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    tmp = temp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path.parent)
        with open(tmp, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise disk_error(path, e) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write(path: Path | str, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; see the module docstring."""
    with atomic_file(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)


def atomic_write_many(folder: Path | str, files: Mapping[str, str | bytes]) -> dict[str, Path]:
    """Write a set of files into ``folder``: every temporary file first, then the renames.

    The slow part (writing and fsyncing every file) happens before any target is touched, so a
    crash or a full disk during it leaves the folder exactly as it was; the renames that follow
    take microseconds. Returns the paths written, by name.
    """
    folder = Path(folder)
    temps: dict[str, Path] = {}
    target = folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale(folder)
        for name, data in files.items():
            target = folder / name
            tmp = temps[name] = temp_path(target)
            with open(tmp, "wb") as fh:
                fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
        for name, tmp in temps.items():
            target = folder / name
            os.replace(tmp, target)
    except OSError as e:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise disk_error(target, e) from None
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return {name: folder / name for name in files}


def leftovers(folder: Path | str) -> list[Path]:
    """Temporary files a killed writer left in ``folder`` (never read; safe to delete)."""
    return sorted(Path(folder).glob(f".*{PARTIAL}"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)                     # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True                         # exists but is someone else's (or unknowable): leave it
    return True


def remove_stale(folder: Path | str) -> list[Path]:
    """Delete the temporary files of writers that are gone (killed, crashed) from ``folder``.

    Each writer calls this for its own folder first, so a ``kill -9`` leaves at most one set of
    hidden ``.partial`` files until the next write there. Only names this module makes, whose
    process no longer runs, are touched: a live writer's temporary file is never removed.
    Returns what was removed.
    """
    removed = []
    for tmp in leftovers(folder):
        m = _TEMP_NAME.match(tmp.name)
        if m and not _alive(int(m.group("pid"))):
            with contextlib.suppress(OSError):   # another writer may clean it up at the same moment
                tmp.unlink()
                removed.append(tmp)
    return removed
