"""Exports researchers hand on: a workbook (xlsx), a folder of CSVs, and the codebooks as a Markdown appendix.

    >>> export_xlsx(store, Path("out/export.xlsx"))                    # doctest: +SKIP
    >>> export_csv(store, Path("out/export"))                          # doctest: +SKIP
    >>> export_codebook_markdown(store, Path("out/codebook.md"))       # doctest: +SKIP

What is exported (the same tables in the workbook and in the CSVs):

* **excerpts** — every excerpt, of any speaker role, with at least one *effective* coding
  (:func:`workbench.decisions.effective_codings`: a human decision wins, a machine suggestion counts
  only while no human decided; ``accepted_only`` leaves the suggestions out). The ``role`` column
  tells the customer's voice from the interviewer's. Per dimension: the code (several accepted codes
  joined with ``"; "``), its coder, confidence (the lowest, for several) and status — ``human`` (a
  human accepted it) or ``suggested`` (a machine suggestion nobody has reviewed yet).
* **one sheet per dimension** (``codings.csv`` with a ``dimension`` column): one row per effective
  coding, with the code's label from the codebook the study was coded with (blank when the code is
  not in it), provenance (coder, status, confidence, rationale, memo, when) and ``value`` (severity
  1–3 of a pain point, valence −1..1 of an emotion).
* **codebook** — every code of the stage model (in journey order) and of each dimension's codebook,
  as the study was coded with them (the shipped ones for a study not coded yet).
* **sources** — per source its metadata, CSAT / NPS / CES from its ``meta`` and how many of its
  excerpts were exported.

Quotes are user data. In the workbook every text cell is written as a string explicitly (and marked
with Excel's quote prefix), so a quote such as ``=HYPERLINK("http://x","y")`` or ``#N/A`` stays text and
is never stored as a formula or an error; characters XML cannot hold become U+FFFD. The CSVs keep every
value verbatim (the ``text`` of an excerpt is exactly ``source[start:end]``): they are data for
pandas, R or another tool, while the workbook is the file to open in a spreadsheet.

CSVs are RFC 4180 (``"\\n"`` line ends) in UTF-8 *with* a byte-order mark: without it Excel, which is
where most researchers open a CSV, reads UTF-8 as the local code page and garbles every accented
Spanish quote; pandas, R (readr) and LibreOffice skip the mark (in Python's ``csv`` module read with
``encoding="utf-8-sig"``).

Same study → byte-identical files: no clock time goes into them. The workbook's created date is the
study's creation date and its modified date the latest import or coding in it; the zip entries carry
the fixed date 1980-01-01 (the earliest a zip can hold). Every file is written atomically
(:mod:`workbench.files`): a failed export leaves the target as it was.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .codebook import resolve
from .decisions import effective_codings
from .errors import InputError, WorkbenchError
from .files import atomic_write, atomic_write_many
from .journey import METRICS, _meta_metrics, study_codebooks, study_stage_model
from .model import DIMENSIONS, Code, Codebook
from .store import Store

#: The dimensions exported always (each gets a sheet, empty when nothing is coded); ``theme`` when coded.
EXPORT_DIMENSIONS: tuple[str, ...] = tuple(d for d in DIMENSIONS if d != "theme")
XLSX_NAME = "export.xlsx"            # the file written when ``out`` is a folder
MARKDOWN_NAME = "codebook.md"
CSV_NAMES = ("excerpts.csv", "codings.csv", "codebook.csv", "sources.csv")
#: The fixed date of every zip entry of the workbook (zip dates start in 1980).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
EXCEL_CELL_CHARS = 32767             # Excel's limit for one cell; longer text is cut, with a marker
_TRUNCATED = " […truncated]"
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Columns of long text: wide and wrapped.
_WIDE = {"text": 70, "rationale": 45, "memo": 35, "definition": 50, "include": 35, "exclude": 35, "cues": 45,
         "examples": 50, "attributes": 30, "meta": 40, "description": 40}

EXCERPT_COLUMNS = ["excerpt_id", "source_id", "source", "speaker", "role", "segment", "participant", "channel",
                   "language", "start", "end", "text"]
CODING_COLUMNS = ["excerpt_id", "source_id", "source", "speaker", "role", "start", "end", "text", "code", "label",
                  "coder", "status", "confidence", "value", "rationale", "memo", "coded_at"]
CODEBOOK_COLUMNS = ["dimension", "codebook", "version", "order", "code", "label", "parent", "definition", "include",
                    "exclude", "cues", "examples", "attributes"]
SOURCE_COLUMNS = ["source_id", "source", "kind", "reader", "language", "segment", "participant", "channel", "date",
                  "n_chars", *METRICS, "n_excerpts", "n_exported", "meta"]


@dataclass
class Table:
    """One sheet / one CSV: a name, its columns and rows of plain Python values (``None`` = empty)."""

    name: str
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)


@dataclass
class ExportData:
    """Everything an export writes, read from the study once (:func:`export_tables`)."""

    study: str
    created_at: str
    modified_at: str
    dimensions: list[str]
    excerpts: Table
    codings: dict[str, Table]          # dimension -> its rows
    codebook: Table
    sources: Table

    def codings_table(self) -> Table:
        """Every dimension's rows in one table, with a ``dimension`` column first."""
        rows = [(dim, *r) for dim in self.dimensions for r in self.codings[dim].rows]
        return Table("codings", ["dimension", *CODING_COLUMNS], rows)


# ---------------------------------------------------------------------------------------- reading
def study_books(store: Store) -> tuple[Codebook, dict[str, Codebook]]:
    """The stage model and the codebook of each dimension the study was coded with; the shipped ones
    (the default stage model) for a study not coded yet."""
    try:
        model = study_stage_model(store)
    except InputError:                  # not coded yet: the codebooks `workbench code` would use
        from .coding.run import DEFAULT_STAGE_MODEL
        model = resolve(DEFAULT_STAGE_MODEL)
    books, _ = study_codebooks(store, stage_model=model)
    return model, books


def _py(values: pd.Series) -> list:
    """A column as plain Python values (int, float, str; NaN / NA → None)."""
    return values.astype(object).where(values.notna(), None).tolist()


def _num(v: Any) -> Any:
    """A whole float as int (offsets, severities read back as floats), else unchanged."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _joined(by_language: dict[str, tuple[str, ...]]) -> str:
    """``{"en": (a, b), "es": (c,)}`` → ``"en: a; b\\nes: c"`` (English, Spanish, then the others)."""
    order = sorted(by_language, key=lambda k: (k not in ("en", "es"), k != "en", k))
    return "\n".join(f"{lang}: {'; '.join(by_language[lang])}" for lang in order if by_language[lang])


def _attributes(code: Code) -> str:
    parts = []
    for key, value in sorted(code.attributes.items()):
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
        parts.append(f"{key}: {value}")
    return "\n".join(parts)


def _ordered_books(books: dict[str, Codebook], stage_model: Codebook | None) -> list[tuple[str, Codebook]]:
    """The stage model first, then the dimensions' codebooks in :data:`DIMENSIONS` order."""
    out = [("stage", stage_model)] if stage_model is not None else []
    known = [d for d in DIMENSIONS if d in books] + sorted(d for d in books if d not in DIMENSIONS)
    return out + [(d, books[d]) for d in known if not (d == "stage" and stage_model is not None)]


def _codes(dim: str, book: Codebook) -> list[Code]:
    return book.ordered if dim == "stage" or book.kind == "stage_model" else list(book.codes)


def codebook_table(books: dict[str, Codebook], stage_model: Codebook | None = None) -> Table:
    rows = []
    for dim, book in _ordered_books(books, stage_model):
        for c in _codes(dim, book):
            rows.append((dim, book.name, str(book.version), c.order, c.code_id, c.label, c.parent or "", c.definition,
                         c.include, c.exclude, _joined(c.cues), _joined(c.examples), _attributes(c)))
    return Table("codebook", CODEBOOK_COLUMNS, rows)


def export_tables(store: Store, accepted_only: bool = False) -> ExportData:
    """Read a study into the export's tables, as one moment of the study (see the module docstring)."""
    with store.snapshot():
        info = store.info()
        model, books = study_books(store)
        excerpts = store.excerpts()
        codings = store.codings()
        sources = store.sources()
        metrics = _meta_metrics(store)
        stamps = [info.get("created_at", "")] + [r[0] for r in store.con.execute(
            "SELECT max(created_at) FROM imports UNION ALL SELECT max(created_at) FROM codings")]
    dims = list(EXPORT_DIMENSIONS) + (["theme"] if (codings["dimension"] == "theme").any() else [])
    eff = effective_codings(codings, include_suggested=not accepted_only)
    eff = eff[eff["dimension"].isin(dims)]
    coded = set(eff["excerpt_id"])
    ex = excerpts[excerpts["excerpt_id"].isin(coded)].reset_index(drop=True)
    ex_cols = {c: _py(ex[c]) for c in ("excerpt_id", "source_id", "source_name", "speaker", "role", "segment",
                                       "participant", "channel", "language", "start", "end", "text")}
    row_of = {e: i for i, e in enumerate(ex_cols["excerpt_id"])}
    labels = {dim: {c.code_id: c.label for c in book.codes} for dim, book in _ordered_books(books, model)}

    # per excerpt and dimension: (codes, coders, confidences, status), in code order
    summary: dict[tuple[str, str], list] = {}
    per_dim: dict[str, list[tuple]] = {d: [] for d in dims}
    e_cols = {c: _py(eff[c]) for c in ("excerpt_id", "dimension", "code_id", "coder", "confidence", "value",
                                       "rationale", "memo", "created_at", "suggested")}
    for i in range(len(eff)):
        eid, dim, code = e_cols["excerpt_id"][i], e_cols["dimension"][i], e_cols["code_id"][i]
        r = row_of[eid]
        status = "suggested" if e_cols["suggested"][i] else "human"
        conf = e_cols["confidence"][i]
        per_dim[dim].append((eid, ex_cols["source_id"][r], ex_cols["source_name"][r], ex_cols["speaker"][r],
                             ex_cols["role"][r], ex_cols["start"][r], ex_cols["end"][r], ex_cols["text"][r], code,
                             labels.get(dim, {}).get(code, ""), e_cols["coder"][i], status, conf,
                             _num(e_cols["value"][i]), e_cols["rationale"][i] or "", e_cols["memo"][i] or "",
                             e_cols["created_at"][i]))
        s = summary.setdefault((eid, dim), [[], [], [], status])
        s[0].append(code)
        if e_cols["coder"][i] not in s[1]:
            s[1].append(e_cols["coder"][i])
        s[2].append(conf)
    for dim in dims:       # rows in the excerpts' order (source name, position), then code
        per_dim[dim].sort(key=lambda t: (row_of[t[0]], t[8]))

    ex_rows = []
    for r, eid in enumerate(ex_cols["excerpt_id"]):
        row = [ex_cols[c][r] for c in ex_cols]
        for dim in dims:
            s = summary.get((eid, dim))
            row += ["; ".join(s[0]), "; ".join(s[1]), min(s[2]), s[3]] if s else [None, None, None, None]
        ex_rows.append(tuple(row))
    ex_columns = EXCERPT_COLUMNS + [f"{d}{suffix}" for d in dims for suffix in ("", "_coder", "_confidence", "_status")]

    n_all = excerpts.groupby("source_id").size().to_dict()
    n_out = ex.groupby("source_id").size().to_dict()
    m = metrics.set_index("source_id")
    src_rows = []
    for s in sources.itertuples(index=False):
        meta = s.meta or "{}"
        src_rows.append((s.source_id, s.name, s.kind, s.reader, s.language, s.segment, s.participant, s.channel, s.date,
                         int(s.n_chars), *(_num(v) for v in _py(m.loc[s.source_id, list(METRICS)])),
                         int(n_all.get(s.source_id, 0)), int(n_out.get(s.source_id, 0)), "" if meta == "{}" else meta))
    stamps = [t for t in stamps if t]
    return ExportData(study=info.get("name", store.path.stem), created_at=info.get("created_at", ""),
                      modified_at=max(stamps) if stamps else "", dimensions=dims,
                      excerpts=Table("excerpts", ex_columns, ex_rows),
                      codings={d: Table(d, list(CODING_COLUMNS), per_dim[d]) for d in dims},
                      codebook=codebook_table(books, model), sources=Table("sources", SOURCE_COLUMNS, src_rows))


# ---------------------------------------------------------------------------------------- xlsx
def _target(out: Path, name: str) -> Path:
    out = Path(out)
    return out / name if out.is_dir() else out


def _cell_text(text: str) -> str:
    text = _ILLEGAL_XML.sub("\ufffd", text)
    if len(text) > EXCEL_CELL_CHARS:
        text = text[:EXCEL_CELL_CHARS - len(_TRUNCATED)] + _TRUNCATED
    return text


def _timestamp(iso: str) -> _dt.datetime:
    """A stored ISO timestamp as naive UTC (what openpyxl writes); 1980-01-01 when there is none."""
    try:
        t = _dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return _dt.datetime(*ZIP_DATE)
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=0)


def _openpyxl():
    try:
        import openpyxl
    except ImportError:
        raise WorkbenchError("Writing xlsx needs openpyxl: pip install openpyxl (or export --format csv).") from None
    return openpyxl


_FORMULA_START = ("=", "+", "-", "@", "#", "\t", "\r", "\n")


def _styles(ws) -> dict[str, Any]:
    """The few cell styles of a sheet, registered once; cells share them (openpyxl only reads a cell's
    style when writing, and registering a style per cell is most of the time a big sheet takes)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    def style(**attrs):
        cell = WriteOnlyCell(ws)
        for key, value in attrs.items():
            setattr(cell, key, value)
        return cell._style

    top, wrap = Alignment(vertical="top"), Alignment(wrap_text=True, vertical="top")
    return {"header": style(font=Font(bold=True), alignment=wrap), "top": style(alignment=top),
            "wrap": style(alignment=wrap), "top_quoted": style(alignment=top, quotePrefix=True),
            "wrap_quoted": style(alignment=wrap, quotePrefix=True)}


def _text_cell(ws, text: str, style) -> Any:
    """A cell holding ``text`` as a string, always: set past openpyxl's type guess, which would make
    ``=…`` a formula and ``#N/A`` an error."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws)
    cell._value = _cell_text(text)
    cell.data_type = "s"
    cell._style = style
    return cell


def _sheet(wb, table: Table, title: str) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    styles = _styles(ws)
    for j, col in enumerate(table.columns, 1):
        base = col.removesuffix("_coder").removesuffix("_confidence").removesuffix("_status")
        if col in _WIDE:
            width = _WIDE[col]
        else:
            sample = [len(str(r[j - 1])) for r in table.rows[:200] if r[j - 1] is not None]
            width = min(max([len(col) + 2, *(n + 2 for n in sample)]), 40 if base != col else 30)
        ws.column_dimensions[get_column_letter(j)].width = max(width, 8)
    ws.append([_text_cell(ws, col, styles["header"]) for col in table.columns])
    kinds = ["wrap" if col in _WIDE else "top" for col in table.columns]
    for row in table.rows:
        cells = []
        for value, kind in zip(row, kinds):
            if isinstance(value, str):
                # a text that Excel would read as a formula also gets its quote prefix (text even when edited)
                cells.append(_text_cell(ws, value, styles[kind + "_quoted" if value.startswith(_FORMULA_START)
                                                         else kind]))
            elif value is None:
                cells.append(None)
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell._style = styles["top"]
                cells.append(cell)
        ws.append(cells)
    if table.columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"


def _sheet_title(name: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    base, k = title, 2
    while title.lower() in used:
        title = f"{base[:28]}_{k}"
        k += 1
    used.add(title.lower())
    return title


def deterministic_zip(data: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """The zip ``data`` rewritten with fixed entry dates and attributes (entries in their order),
    with the entries named in ``replace`` swapped for the bytes given."""
    replace = replace or {}
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, replace.get(entry.filename, src.read(entry.filename)), compresslevel=6)
    return buf.getvalue()


def xlsx_bytes(data: ExportData) -> bytes:
    """The workbook of an export as bytes (deterministic: see the module docstring)."""
    openpyxl = _openpyxl()
    from openpyxl.xml.functions import tostring

    wb = openpyxl.Workbook(write_only=True)
    used: set[str] = set()
    for table in (data.excerpts, *(data.codings[d] for d in data.dimensions), data.codebook, data.sources):
        _sheet(wb, table, _sheet_title(table.name, used))
    props = wb.properties
    props.creator = "Journey Workbench"
    props.title = _cell_text(f"{data.study}: coded excerpts")
    props.created = _timestamp(data.created_at)
    props.modified = _timestamp(data.modified_at or data.created_at)
    buf = io.BytesIO()
    wb.save(buf)                              # openpyxl stamps "modified" with the clock: core.xml is rewritten
    props.modified = _timestamp(data.modified_at or data.created_at)
    return deterministic_zip(buf.getvalue(), {"docProps/core.xml": tostring(props.to_tree())})


def export_xlsx(store: Store, out: Path, accepted_only: bool = False) -> Path:
    """Write the study's coded excerpts as one workbook: sheets ``excerpts``, one per dimension, ``codebook``
    and ``sources`` (see the module docstring). ``out`` is the file (or a folder: ``export.xlsx`` in it).
    ``accepted_only`` leaves out machine suggestions nobody reviewed. Atomic; returns the path written."""
    target = _target(out, XLSX_NAME)
    payload = xlsx_bytes(export_tables(store, accepted_only))
    atomic_write(target, payload)
    return target


# ---------------------------------------------------------------------------------------- csv
def table_csv(table: Table) -> str:
    """RFC 4180 text ("\\n" line ends, empty for missing values), with the UTF-8 byte-order mark."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    w.writerows([("" if v is None else v) for v in row] for row in table.rows)
    return "\ufeff" + buf.getvalue()


def export_csv(store: Store, out: Path, accepted_only: bool = False) -> list[Path]:
    """Write ``excerpts.csv``, ``codings.csv`` (every dimension, with a ``dimension`` column), ``codebook.csv``
    and ``sources.csv`` into the folder ``out``, as one set (a failure leaves the folder as it was)."""
    data = export_tables(store, accepted_only)
    files = {"excerpts.csv": table_csv(data.excerpts), "codings.csv": table_csv(data.codings_table()),
             "codebook.csv": table_csv(data.codebook), "sources.csv": table_csv(data.sources)}
    written = atomic_write_many(Path(out), files)
    return [written[name] for name in CSV_NAMES]


# ---------------------------------------------------------------------------------------- markdown
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&#])")
_MD_LINE_START = re.compile(r"^(\s*)([>+=-]|\d+[.)])")


def md_escape(text: Any, inline: bool = True) -> str:
    """User text that renders as itself in Markdown: the characters that start emphasis, code, links,
    HTML or table cells are backslash-escaped, and so is a line that would start a heading, quote or
    list. ``inline`` (headings, table cells, list items) puts it on one line."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [ln.strip() for ln in text.split("\n")]
    if inline:
        lines = [" ".join(ln for ln in lines if ln)]
    out = []
    for ln in lines:
        ln = _MD_INLINE.sub(r"\\\1", ln)
        ln = _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], ln)
        out.append(ln)
    return "\n".join(out)


def _md_code(code_id: str) -> str:
    """A code id in backticks (ids are lower_snake_case; anything else is escaped instead)."""
    return f"`{code_id}`" if re.fullmatch(r"[A-Za-z0-9_.@:-]+", code_id) else md_escape(code_id)


_DIMENSION_TITLES = {"stage": "Journey stages", "pain_point": "Pain points", "emotion": "Emotions",
                     "touchpoint": "Touchpoints / channels", "actor": "People / departments",
                     "backstage": "Backstage processes", "opportunity": "Opportunities", "activity": "Activities",
                     "thought": "Thoughts", "theme": "Themes"}
_LANGUAGE_NAMES = {"en": "EN", "es": "ES"}


def _md_code_section(dim: str, c: Code) -> list[str]:
    number = f"{c.order}. " if dim == "stage" and c.order is not None else ""
    lines = [f"### {number}{md_escape(c.label)} ({_md_code(c.code_id)})", ""]
    if c.definition:
        lines += [md_escape(c.definition), ""]
    items = []
    if c.parent:
        items.append(f"- **Parent:** {_md_code(c.parent)}")
    for key in ("include", "exclude"):
        if getattr(c, key):
            items.append(f"- **{key.capitalize()}:** {md_escape(getattr(c, key))}")
    for lang in sorted(c.cues, key=lambda k: (k not in ("en", "es"), k != "en", k)):
        if c.cues[lang]:
            items.append(f"- **Cues ({_LANGUAGE_NAMES.get(lang, md_escape(lang))}):** "
                         + "; ".join(md_escape(cue) for cue in c.cues[lang]))
    for key, value in sorted(c.attributes.items()):
        if isinstance(value, dict):
            items.append(f"- **{md_escape(key.capitalize())}:**")
            items += [f"  - {md_escape(k)}: {md_escape(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
        else:
            items.append(f"- **{md_escape(key.capitalize())}:** {md_escape(value)}")
    if items:
        lines += items + [""]
    examples = [(lang, ex) for lang in sorted(c.examples, key=lambda k: (k not in ("en", "es"), k != "en", k))
                for ex in c.examples[lang]]
    if examples:
        lines += ["Examples:", ""]
        for lang, ex in examples:
            body = md_escape(ex, inline=False).split("\n")
            lines += [f"> {body[0]} *({_LANGUAGE_NAMES.get(lang, md_escape(lang))})*"] + [f"> {b}" for b in body[1:]]
            lines.append("")
    return lines


def codebooks_markdown(books: dict[str, Codebook], stage_model: Codebook | None = None, title: str = "Codebook") -> str:
    """The codebooks as a Markdown appendix: an overview table, then per dimension a heading and per code its
    label (id), definition, include / exclude, cues per language and examples as blockquotes. The stage
    model comes first, its stages in journey order. User text is escaped (:func:`md_escape`)."""
    ordered = _ordered_books(books, stage_model)
    lines = [f"# {md_escape(title)}", "", "| Dimension | Codebook | Version | Codes |", "| --- | --- | --- | --- |"]
    for dim, book in ordered:
        lines.append(f"| {md_escape(_DIMENSION_TITLES.get(dim, dim))} | {md_escape(book.name)} | "
                     f"{md_escape(book.version)} | {len(book.codes)} |")
    lines.append("")
    for dim, book in ordered:
        lines += [f"## {md_escape(_DIMENSION_TITLES.get(dim, dim))}: {md_escape(book.name)} (version {md_escape(book.version)})",
                  ""]
        if book.description:
            lines += [md_escape(book.description), ""]
        if book.default:
            lines += [f"Default when nothing points elsewhere: {_md_code(book.default)}.", ""]
        for c in _codes(dim, book):
            lines += _md_code_section(dim, c)
    return "\n".join(lines).rstrip("\n") + "\n"


def export_codebook_markdown(store: Store, out: Path) -> Path:
    """Write the codebooks the study was coded with (the shipped ones before coding) as a Markdown appendix.
    ``out`` is the file (or a folder: ``codebook.md`` in it). Atomic; returns the path written."""
    with store.snapshot():
        model, books = study_books(store)
        name = store.info().get("name", store.path.stem)
    target = _target(out, MARKDOWN_NAME)
    atomic_write(target, codebooks_markdown(books, model, title=f"Codebook: {name}"))
    return target


__all__ = ["export_xlsx", "export_csv", "codebooks_markdown", "export_codebook_markdown"]
