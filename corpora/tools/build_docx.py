"""Rebuild the Word transcripts in corpora/interviews/ from their text sources.

    python corpora/tools/build_docx.py

Two layouts researchers receive: paragraphs (``Speaker: text`` per paragraph, with a title and
notes first) for sources without tabs, and a transcription-service table (Speaker | Text per row,
from ``Speaker<TAB>text`` lines) under a title paragraph and a small metadata table. The .docx files are committed; this script
documents how they were made and regenerates them deterministically (fixed core properties).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import docx

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "interviews"
FIXED_TIME = dt.datetime(2026, 3, 20, 12, 0, 0)


def _fixed_properties(d: docx.document.Document, title: str) -> None:
    props = d.core_properties
    props.title, props.author, props.last_modified_by = title, "Horizonte research team", "Horizonte research team"
    props.created = props.modified = FIXED_TIME
    props.revision = 1


def paragraphs_doc(src: Path, dst: Path) -> None:
    d = docx.Document()
    lines = [ln for ln in src.read_text(encoding="utf-8").splitlines() if ln.strip()]
    d.add_heading(lines[0], level=1)
    for line in lines[1:]:
        d.add_paragraph(line)
    _fixed_properties(d, lines[0])
    d.save(dst)


def table_doc(src: Path, dst: Path, title: str, meta: list[tuple[str, str]]) -> None:
    d = docx.Document()
    d.add_heading(title, level=1)
    info = d.add_table(rows=0, cols=2)
    for k, v in meta:
        row = info.add_row().cells
        row[0].text, row[1].text = k, v
    d.add_paragraph("")
    t = d.add_table(rows=1, cols=2)
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = "Speaker", "Text"
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        speaker, _, text = line.partition("\t")
        row = t.add_row().cells
        row[0].text, row[1].text = speaker.strip(), text.strip()
    _fixed_properties(d, title)
    d.save(dst)


TABLE_HEADERS = {
    "p08_en_young_professional": ("Interview P08 — Marco (Barcelona)", [("Date", "2026-03-11"), ("Mode", "Remote, video")]),
    "p10_en_small_business": ("Interview P10 — Grace (Alicante)", [("Date", "2026-03-13"), ("Mode", "In person")]),
    "p19_en_young_professional": ("Interview P19 — Hannah (Madrid)", [("Date", "2026-03-21"), ("Mode", "Remote, video")]),
}


def main() -> None:
    """Every docx_src/*.txt becomes interviews/<same name>.docx: tab-separated lines → a table."""
    written = []
    for src in sorted((HERE / "docx_src").glob("*.txt")):
        dst = OUT / f"{src.stem}.docx"
        if "\t" in src.read_text(encoding="utf-8"):
            title, meta = TABLE_HEADERS.get(src.stem, (f"Interview {src.stem[:3].upper()}", []))
            table_doc(src, dst, title, meta + [("Transcribed by", "service export, lightly cleaned")])
        else:
            paragraphs_doc(src, dst)
        written.append(dst.name)
    print("wrote", ", ".join(written))


if __name__ == "__main__":
    main()
