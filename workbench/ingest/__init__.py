"""Readers: turn files into :class:`~workbench.model.Source` objects with speaker turns.

One module per format registers itself in :data:`READERS`; :func:`read_path` picks the reader
(by ``kind`` or by extension and content) and returns the sources, ready to store.
"""
from __future__ import annotations

import csv
import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..decode import read_bytes
from ..errors import InputError
from ..model import Source
from ..tables import sniff_delimiter
from . import calllog, docx, subtitles, transcript, usability  # noqa: F401  (registers the readers)
from .base import READERS, CallLogColumns, ReaderSpec, ReadOptions, drop_empty_turns, finish, reader_for
from .calllog import GUESSES
from .metadata import ALIASES, Metadata, apply, interviewers_of

__all__ = ["READERS", "CallLogColumns", "ReadOptions", "ReadResult", "Metadata", "Discovery", "discover", "read_path",
           "analyse_source"]


@dataclass
class ReadResult:
    path: Path
    reader: ReaderSpec
    sources: list[Source]
    file_hash: str  # SHA-256 of the file's bytes: re-importing identical content is a no-op
    sidecar: dict = field(default_factory=dict)  # the metadata records that matched this file


# Files in a study folder that are about the study, not sources: guides, licences, protocols.
# Whole words of the file name only, and words a transcript's name would not use ("changes" or
# "notice" could name an interview; they are not here).
_DOC_FILE = re.compile(r"(^|[-_. ])(readme|licen[cs]e|copying|changelog|contributing|guide|guidelines|codebook|"
                       r"protocol|consent)([-_. ]|$)", re.IGNORECASE)
_FILE_COLUMNS = {k for k, v in ALIASES.items() if v == "file"} | {"file"}


IGNORE_FILE = ".workbenchignore"   # in a folder given: one pattern per line (e.g. "tools/", "*.draft.txt")


def _ignore_patterns(folder: Path) -> list[str]:
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _ignored(rel: str, patterns: list[str]) -> bool:
    """``rel`` (a posix path below the folder) matches a pattern: ``dir/`` = everything below it."""
    for pat in patterns:
        pat = pat.lstrip("/")
        if pat.endswith("/"):
            if rel.startswith(pat) or f"/{pat}" in f"/{rel}":
                return True
        elif fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel.rsplit("/", 1)[-1], pat):
            return True
    return False


@dataclass
class Discovery:
    """The files an import will read, what it set aside (and why), and metadata found on the way."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sidecars: list[Path] = field(default_factory=list)   # metadata files found inside the folders given


def _header_of(path: Path) -> list[str]:
    """The lower-cased column names of a CSV/TSV file's first line ([] when it cannot be read)."""
    try:
        with path.open("rb") as fh:
            head = _head_text(fh.read(65536)).lstrip("\ufeff").split("\n", 1)[0]
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(head)
        return [c.strip().lower() for c in next(csv.reader([head], delimiter=delimiter), [])]
    except (OSError, csv.Error):
        return []


def _set_aside(f: Path) -> str | None:
    """Why a file found inside a folder is not a source (None: it is one)."""
    if _DOC_FILE.search(f.stem):
        return "a guide or documentation file, not a source"
    if f.suffix.lower() in (".csv", ".tsv", ".tab"):
        header = _header_of(f)
        if "excerpt_id" in header:
            return ("a coding or gold sheet (it has an excerpt_id column), not a source; compare it with "
                    "`workbench evaluate`")
        if _FILE_COLUMNS & set(header) and not set(header) & set(GUESSES["text"]):
            return "metadata"
    return None


def discover(paths: list[Path], metadata: Metadata | None = None) -> Discovery:
    """Expand folders (recursively, sorted) into the files a reader knows; keep files given by name.

    Inside folders, hidden files and files matching the folder's ``.workbenchignore`` patterns are
    skipped, and files that are not sources are set aside with a note: guides and READMEs,
    coding/gold sheets, and metadata sidecars (a CSV with a ``file`` column and no text column).
    A sidecar is used as the import's metadata unless ``metadata`` (``--meta``) was given.
    """
    exts = {e for s in READERS.values() for e in s.extensions}
    given = Path(metadata.origin).resolve() if metadata and metadata.origin else None
    out = Discovery()
    for p in paths:
        if not p.is_dir():
            out.files.append(p)
            continue
        patterns, ignored = _ignore_patterns(p), 0
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p)
            # hidden below the folder given (not "..": a relative path may climb to reach the folder)
            if (not f.is_file() or f.suffix.lower() not in exts or f.resolve() == given
                    or any(part.startswith(".") for part in rel.parts)):
                continue
            if patterns and _ignored(rel.as_posix(), patterns):
                ignored += 1
                continue
            why = _set_aside(f)
            if why is None:
                out.files.append(f)
            elif why != "metadata":
                out.notes.append(f"skipped {f}: {why}.")
            elif metadata is not None:
                out.notes.append(f"skipped {f}: it looks like a metadata sidecar (a file column, no text column); "
                                 f"this import uses --meta {metadata.origin}.")
            else:
                out.sidecars.append(f)
                out.notes.append(f"using {f} as metadata (a file column, no text column); pass --meta FILE to "
                                 "use another.")
        if ignored:
            out.notes.append(f"skipped {ignored} file(s) that {p / IGNORE_FILE} lists.")
    return out


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
