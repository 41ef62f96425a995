"""Word ``.docx`` transcripts: paragraphs and tables, in document order.

Tables exported by transcription services (one row per turn: speaker | text, optionally a
time column) become ``Speaker: text`` lines; other tables become ``cell | cell`` lines. The
result is parsed like a plain transcript, so the same speaker-label forms work.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from ..decode import normalise
from ..errors import InputError
from ..model import Source
from .base import ReadOptions, register
from .transcript import paragraph_turns, split_turns

_TIME_CELL = re.compile(r"^\[?(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d+)?\]?$")

# What a Word file may unpack to before python-docx (which loads every part into memory) sees it.
MAX_PARTS = 5_000                 # Word writes a few dozen; images add one each
MAX_UNPACKED = 512 * 1024 * 1024  # all parts together
MAX_RATIO = 100                   # unpacked/packed of a part over BOMB_MIN_SIZE; Word's XML packs ~5-15x
BOMB_MIN_SIZE = 10 * 1024 * 1024
_RESAVE = "Open it in Word or LibreOffice and save it again."


def _looks_like_xml(name: str, head: bytes) -> bool:
    if name.lower().endswith((".xml", ".rels")):
        return True
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"<", b"\xff\xfe", b"\xfe\xff"))


def check_package(data: bytes, path: Path) -> None:
    """Refuse a .docx that would unpack to too much (a zip bomb) or whose XML declares a DTD.

    Sizes come from the archive's directory, so a bomb is refused without unpacking it (zipfile
    never unpacks a part beyond its declared size). Every XML part is then parsed with defusedxml,
    which refuses ``<!DOCTYPE``/``<!ENTITY`` (billion laughs, external entities) before expanding
    anything; Word never writes a DTD.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_PARTS:
                raise InputError(f"Cannot read {path}: the .docx archive has {len(infos):,} parts (a Word document has "
                                 f"a few dozen), so it is not a normal Word file. {_RESAVE}")
            total = sum(i.file_size for i in infos)
            for i in infos:
                if i.file_size > BOMB_MIN_SIZE and i.file_size > MAX_RATIO * max(1, i.compress_size):
                    raise InputError(
                        f"Cannot read {path}: part {i.filename} of the .docx would unpack from "
                        f"{i.compress_size / 2**20:.1f} MB to {i.file_size / 2**20:,.0f} MB, which no Word file does "
                        f"(it looks like a zip bomb). {_RESAVE}")
            if total > MAX_UNPACKED:
                raise InputError(
                    f"Cannot read {path}: the .docx would unpack to {total / 2**20:,.0f} MB, over the "
                    f"{MAX_UNPACKED // 2**20} MB limit. Save a copy without embedded media, or export the text as .txt.")
            for i in infos:
                if i.is_dir():
                    continue
                with z.open(i) as f:
                    head = f.read(64)
                    if not _looks_like_xml(i.filename, head):
                        continue
                    xml = head + f.read()
                try:
                    fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
                except DefusedXmlException:
                    raise InputError(f"Cannot read {path}: part {i.filename} of the .docx declares a DTD or entities "
                                     f"(<!DOCTYPE …>), which Word never writes and which can expand without bound. "
                                     f"{_RESAVE}") from None
                except (ParseError, ValueError, LookupError) as e:
                    raise InputError(f"Cannot read {path}: the Word file is damaged (part {i.filename} is not "
                                     f"well-formed XML: {e}). {_RESAVE}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError) as e:
        # a truncated or corrupt archive, an unsupported compression method, a bad CRC
        raise InputError(f"Cannot read {path}: the Word file is damaged or truncated ({type(e).__name__}). "
                         f"{_RESAVE}") from None


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
    check_package(data, path)
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
