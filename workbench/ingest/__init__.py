"""Readers: turn files into :class:`~workbench.model.Source` objects with speaker turns.

One module per format registers itself in :data:`READERS`; :func:`read_path` picks the reader
(by ``kind`` or by extension and content) and returns the sources, ready to store.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..model import Source
from . import calllog, docx, subtitles, transcript, usability  # noqa: F401  (registers the readers)
from .base import READERS, CallLogColumns, ReaderSpec, ReadOptions, drop_empty_turns, finish, reader_for
from .decode import read_bytes
from .metadata import Metadata, apply, interviewers_of

__all__ = ["READERS", "CallLogColumns", "ReadOptions", "ReadResult", "Metadata", "read_path", "iter_files",
           "analyse_source"]


@dataclass
class ReadResult:
    path: Path
    reader: ReaderSpec
    sources: list[Source]
    file_hash: str  # SHA-256 of the file's bytes: re-importing identical content is a no-op
    sidecar: dict = field(default_factory=dict)  # the metadata records that matched this file


def iter_files(paths: list[Path], exclude: set[Path] | None = None) -> Iterator[Path]:
    """Expand folders (recursively, sorted) into the files a reader knows; keep files as given.

    Inside folders, hidden files, README files and the metadata sidecar itself are skipped.
    """
    exts = {e for s in READERS.values() for e in s.extensions}
    exclude = {p.resolve() for p in (exclude or set())}
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                # hidden below the folder given (not "..": a relative path may climb to reach the folder)
                if (f.is_file() and f.suffix.lower() in exts and not any(part.startswith(".") for part in f.relative_to(p).parts)
                        and f.resolve() not in exclude and not f.name.lower().startswith("readme")):
                    yield f
        else:
            yield p


def _head_text(data: bytes) -> str:
    """A lossy decode of the first 64 KB, enough to sniff the format (the reader decodes properly)."""
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore")


def read_path(path: Path, kind: str | None = None, options: ReadOptions | None = None,
              metadata: Metadata | None = None, flags: dict | None = None, analyse: bool = True) -> ReadResult:
    """Read one file into sources (decoded, normalised, split into turns, language detected).

    With ``analyse=False`` language detection and metadata are left to :func:`analyse`, so a
    caller can run that part in worker processes (see :mod:`workbench.pipeline`).
    """
    options = options or ReadOptions()
    data = read_bytes(path, options.max_file_mb)
    spec = reader_for(path, kind, None if kind else _head_text(data))
    sidecar = metadata.for_file(path) if metadata else {}
    opts = options
    if interviewers_of(sidecar):
        opts = ReadOptions(**{**options.__dict__, "interviewers": options.interviewers | interviewers_of(sidecar)})
    try:
        sources = spec.fn(data, path, opts)
    except RecursionError:
        raise InputError(f"Cannot read {path}: the file is nested too deeply to parse.") from None
    for s in sources:
        s.reader = spec.id
        drop_empty_turns(s)
        if analyse:
            analyse_source(s, sidecar, flags or {})
    return ReadResult(path=path, reader=spec, sources=sources, file_hash=hashlib.sha256(data).hexdigest(),
                      sidecar=sidecar)


def analyse_source(source: Source, sidecar: dict, flags: dict) -> Source:
    """Language per turn and source, empty turns dropped, then metadata (sidecar, flags)."""
    finish(source)
    apply(source, sidecar, flags)
    return source
