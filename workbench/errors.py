"""User-facing errors: one line that says what went wrong, with the offending value, and what to do.

Messages are written where the problem is found, because each names the offending file, line,
column or value; a rule that several commands share raises its message from the one module that
owns the rule (bad tables from :mod:`workbench.tables`, failed writes from :mod:`workbench.files`,
decisions from :mod:`workbench.decisions`), so the same problem reads the same everywhere. The CLI
prints ``str(error)`` (one line) and exits non-zero; nothing is written to the study when one is raised.
"""
from __future__ import annotations


class WorkbenchError(Exception):
    """An error a researcher can act on. ``str()`` is a single line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class InputError(WorkbenchError):
    """A source file cannot be read as asked (missing, binary, empty, malformed, too big)."""


class StoreError(WorkbenchError):
    """The study database is missing, locked, or from a newer workbench."""


class CodebookError(WorkbenchError):
    """A codebook file is invalid (names the file, line and problem)."""


def yaml_problem(error: Exception) -> tuple[int | None, str]:
    """(1-based line, problem) of a PyYAML error, for messages that point at the line."""
    mark = getattr(error, "problem_mark", None)
    return (mark.line + 1 if mark else None), str(getattr(error, "problem", None) or error)


# Magic numbers of binary formats researchers mistake for text, and what to do about each.
BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document; export it as .txt or .docx"),
    (b"PK\x03\x04", "a ZIP archive (Word .docx, Excel .xlsx or similar); give it the right extension or pass --kind docx"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.doc/.xls); save it as .docx or .txt"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"ID3", "an MP3 audio file; transcribe it first and import the transcript (.vtt/.srt/.txt)"),
    (b"RIFF", "a RIFF media file (WAV/AVI); transcribe it first and import the transcript"),
    (b"\x1f\x8b", "a gzip archive; unpack it first"),
    (b"SQLite format 3", "a SQLite database"),
    (b"{\\rtf", "an RTF document; save it as .docx or .txt"),
)
