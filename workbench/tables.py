"""Tables researchers hand us — CSV, TSV and JSONL — read by one reader.

Call logs (``workbench ingest``), sidecar metadata, files to code (``workbench code``), gold and
predicted labels (``workbench evaluate``) and texts for themes (``workbench themes``) all come
through here, so they share one set of rules:

* bytes are decoded as every source is (:func:`workbench.decode.decode`: BOM, UTF-16,
  UTF-8, then Windows-1252; NFC; ``\\n`` line ends), within the same size limit;
* the delimiter is ``\\t`` for ``.tsv``/``.tab``, else sniffed from the header line (``,``
  ``;`` ``\\t`` ``|``) unless given;
* the header must name every column once; blank lines are skipped;
* a row with more or fewer fields than the header, a quote that is never closed (which would
  swallow every later line into one field), a stray quote after a closed field, a cell over
  :data:`MAX_CELL_CHARS`, a JSONL line that is not one JSON object or is nested too deeply: each
  stops the read with a one-line :class:`~workbench.errors.InputError` naming the line.

Rows come back one at a time with their line numbers, or as DataFrames in batches, so a caller
never holds more than one batch of rows besides the decoded text.

    >>> table = read_table(Path("calls.csv"))                 # doctest: +SKIP
    >>> for line, row in table.records(): ...                  # doctest: +SKIP
"""
from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from .decode import decode, read_bytes
from .errors import InputError

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
DELIMITERS = (",", ";", "\t", "|")
MAX_CELL_CHARS = 16 * 1024 * 1024   # one cell: a whole call transcript fits; a runaway quote does not

csv.field_size_limit(MAX_CELL_CHARS)  # the csv module's own limit is 128 KiB, less than a long transcript


def table_format(path: Path, fmt: str | None = None) -> str:
    """``csv``, ``tsv`` or ``jsonl``: as given, else from the file's extension."""
    if fmt:
        if fmt not in ("csv", "tsv", "jsonl"):
            raise InputError(f"Unknown table format {fmt!r}; use csv, tsv or jsonl.")
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InputError(f"Cannot read {path} as a table: use a .csv, .tsv or .jsonl file.")
    return found


def sniff_delimiter(text: str) -> str:
    """The most frequent of ``, ; \\t |`` in the header line (``,`` when none occurs)."""
    head = text[:4096].split("\n", 1)[0]
    counts = {d: head.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_quote_line(text: str, start: int) -> int:
    """The line on which a quote left open from record line ``start`` onwards was opened.

    In well-formed CSV every quoted field holds an even number of quote characters (``""`` is an
    escaped quote), so the line where the running count turns odd for the last time is where the
    field that never closed began. Only called on the error path.
    """
    pos = 0
    for _ in range(start - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return start
    opened, odd = start, False
    for n, line in enumerate(text[pos:].split("\n"), start=start):
        if line.count('"') % 2:
            odd = not odd
            if odd:
                opened = n
    return opened


@dataclass
class Table:
    """A parsed header and a way to iterate the rows (see the module docstring)."""

    path: Path
    fmt: str
    columns: list[str]
    delimiter: str | None
    text: str
    _rows: Iterator[tuple[int, list[str]]] | None = None

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line, row)`` for every non-blank row: strings for CSV/TSV, JSON values for JSONL.

        ``line`` is the line the row starts on (a quoted cell may span several)."""
        if self.fmt == "jsonl":
            return self._jsonl()
        header = self.columns
        return ((n, dict(zip(header, cells))) for n, cells in self._cells())

    def frames(self, batch_size: int = 2000) -> Iterator[pd.DataFrame]:
        """The rows as DataFrames of at most ``batch_size`` rows, with every column in every batch."""
        rows: Iterator[Any] = (r for _, r in (self._jsonl() if self.fmt == "jsonl" else self._cells()))
        while True:
            batch = list(itertools.islice(rows, batch_size))
            if not batch:
                return
            yield self._frame(batch)

    def _cells(self) -> Iterator[tuple[int, list[str]]]:
        rows, self._rows = self._rows, None        # the rows after the header parse_table read, if unused
        return rows if rows is not None else self._csv()[1]

    def frame(self) -> pd.DataFrame:
        """All rows as one DataFrame (CSV cells as strings, empty cells as ``""``)."""
        frames = list(self.frames(1_000_000))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=self.columns, dtype=object)

    def _frame(self, rows: list) -> pd.DataFrame:
        if self.fmt == "jsonl":
            return pd.DataFrame.from_records(rows, columns=self.columns).astype(object)
        return pd.DataFrame(rows, columns=self.columns)

    def require(self, *columns: str | None, option: str = "--text-column") -> None:
        """Refuse the table unless it has every named column (``None`` is skipped)."""
        missing = [c for c in columns if c and c not in self.columns]
        if missing:
            raise InputError(f"{self.path} has no column {missing[0]!r}; it has: {', '.join(map(str, self.columns))}. "
                             f"Pass {option} with one of them.")

    # ------------------------------------------------------------------ CSV / TSV
    def _csv(self) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
        path, delimiter = self.path, self.delimiter or ","
        reader = csv.reader(io.StringIO(self.text), delimiter=delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise _csv_error(path, e, self.text, 1, reader.line_num) from None
        if header is None:
            raise InputError(f"Cannot read {path}: it has no header row. The first line must name the columns.")
        header = [h.strip() for h in header]
        if not any(header):
            raise InputError(f"Cannot read {path}: the header row is empty. The first line must name the columns.")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise InputError(f"Cannot read {path}: the header names {', '.join(dupes)} more than once. "
                             "Rename the duplicate columns.")

        def rows() -> Iterator[tuple[int, list[str]]]:
            width, end = len(header), reader.line_num      # end: the last line of the previous record
            try:
                for row in reader:
                    start, end = end + 1, reader.line_num
                    if len(row) != width:
                        if not row or (len(row) == 1 and not row[0].strip()):
                            continue
                        raise InputError(
                            f"Cannot read {path}: line {start} has {len(row)} fields but the header has {width} "
                            f"({', '.join(header)}). Check for an unquoted {delimiter!r} or a stray quote on that "
                            "line, and quote fields that contain the delimiter.")
                    yield start, row
            except csv.Error as e:
                raise _csv_error(path, e, self.text, end + 1, reader.line_num) from None

        return header, rows()

    # ------------------------------------------------------------------ JSONL
    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for n, line in enumerate(io.StringIO(self.text), start=1):
            if line.strip():
                yield n, _json_object(line, n, self.path)


def _csv_error(path: Path, error: csv.Error, text: str, start: int, line: int) -> InputError:
    """The message for a csv module error in the record that began on line ``start`` (now at ``line``)."""
    problem = str(error)
    if "end of data" in problem or "EOF" in problem:
        opened = _open_quote_line(text, start)
        return InputError(f"Cannot read {path}: the quote opened on line {opened} is never closed, so every line "
                          "after it would become one field. Close that quote (write \"\" for a quote inside a "
                          "quoted field) and import again.")
    if "field larger than field limit" in problem:
        return InputError(f"Cannot read {path}: a cell starting on line {start} is over {MAX_CELL_CHARS // 2**20} MB, "
                          "which usually means a quote opened there is closed far too late. Check the quoting on "
                          "that line.")
    if "expected after" in problem:
        return InputError(f"Cannot read {path}: on line {line} a quoted field is followed by more text before "
                          "the delimiter (a stray quote). Quote the whole field and write \"\" for a quote inside it.")
    return InputError(f"Cannot read {path}: malformed CSV on line {line} ({problem}). Check the quoting on that line.")


def _json_object(line: str, n: int, path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"Cannot read {path}: line {n} is not valid JSON ({e.msg}, column {e.colno}). "
                         "Each line must be one JSON object.") from None
    except RecursionError:
        raise InputError(f"Cannot read {path}: line {n} is nested too deeply to read. "
                         "Each line must be one flat JSON object (a list of messages at most).") from None
    if not isinstance(obj, dict):
        raise InputError(f"Cannot read {path}: line {n} is a JSON {type(obj).__name__}, not an object. "
                         "Each line must be one JSON object.")
    return obj


def parse_table(text: str, path: Path, fmt: str | None = None, delimiter: str | None = None) -> Table:
    """A :class:`Table` over already decoded text (the ingest readers decode themselves)."""
    fmt = table_format(path, fmt)
    if fmt == "jsonl":
        # a pre-pass for the union of keys, so every batch of a streamed file has every column
        # (the rows are parsed again as they are iterated, rather than all held in memory)
        columns: dict[str, None] = {}
        for n, line in enumerate(io.StringIO(text), start=1):
            if line.strip():
                columns.update(dict.fromkeys(_json_object(line, n, path)))
        if not columns:
            raise InputError(f"Cannot read {path}: it has no JSON objects. Each line must be one JSON object.")
        return Table(path, fmt, list(columns), None, text)
    delimiter = delimiter or ("\t" if fmt == "tsv" else sniff_delimiter(text))
    table = Table(path, fmt, [], delimiter, text)
    table.columns, table._rows = table._csv()
    return table


def read_table(path: Path | str, fmt: str | None = None, delimiter: str | None = None, encoding: str | None = None,
               max_file_mb: float | None = None) -> Table:
    """Read, decode and parse the header of a CSV/TSV/JSONL file (rows are parsed as they are iterated)."""
    path = Path(path)
    fmt = table_format(path, fmt)
    text = decode(read_bytes(path, max_file_mb), path, encoding).text
    return parse_table(text, path, fmt, delimiter)


__all__ = ["Table", "read_table", "parse_table", "table_format", "sniff_delimiter", "MAX_CELL_CHARS"]
