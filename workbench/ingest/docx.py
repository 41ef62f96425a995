"""Word ``.docx`` transcripts: paragraphs and tables, in document order.

Tables exported by transcription services (one row per turn: speaker | text, optionally a
time column) become ``Speaker: text`` lines; other tables become ``cell | cell`` lines. The
result is parsed like a plain transcript, so the same speaker-label forms work.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ..errors import InputError
from ..model import Source
from .base import ReadOptions, register
from .decode import normalise
from .transcript import paragraph_turns, split_turns

_TIME_CELL = re.compile(r"^\[?(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d+)?\]?$")


def _docx_lines(data: bytes, path: Path) -> list[str]:
    try:
        import docx  # python-docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError:  # pragma: no cover - python-docx is a core dependency
        raise InputError("Reading .docx needs python-docx: pip install python-docx.") from None
    if not data.startswith(b"PK"):
        raise InputError(f"Cannot read {path}: it is not a Word .docx file (it does not start like a ZIP archive). "
                         "If it is an old .doc, save it as .docx; if it is text, rename it to .txt.")
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise InputError(f"Cannot read {path}: the Word file is damaged or truncated ({type(e).__name__}). "
                         "Open it in Word or LibreOffice and save it again.") from None
    except Exception as e:  # lxml and python-docx raise many kinds on corrupt XML
        raise InputError(f"Cannot read {path}: the Word file is damaged ({type(e).__name__}: {e}). "
                         "Open it in Word or LibreOffice and save it again.") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                # merged cells repeat; keep each once, in order
                uniq = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                uniq = [c for c in uniq if not _TIME_CELL.match(c)] or uniq
                if len(uniq) >= 2 and len(uniq[0]) <= 40 and "\n" not in uniq[0]:
                    lines.append(f"{uniq[0]}: {' '.join(uniq[1:])}")
                elif uniq:
                    lines.append(" | ".join(uniq))
            lines.append("")
    return lines


@register("docx", version=1, extensions=(".docx",), kind="interview", binary=True)
def read_docx(data: bytes, path: Path, options: ReadOptions) -> list[Source]:
    text = normalise("\n".join(_docx_lines(data, path)))
    if not text.strip():
        raise InputError(f"Cannot read {path}: the Word document has no text.")
    turns = split_turns(text, options.interviewers) or paragraph_turns(text)
    return [Source(name=path.name, kind="interview", text=text, turns=turns)]
