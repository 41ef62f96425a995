"""Big reads of a study (a map's excerpts and codings) through Arrow, in a child process.

Python's ``sqlite3`` makes a Python object for every cell it returns: reading the 3.5 million
codings of a 1,000,000-utterance study took 10 s, two thirds of a map's reading. The ADBC SQLite
driver (``adbc-driver-sqlite``, the ``scale`` extra) reads columns into Arrow arrays in C: 2.3 s.

Why a child process: the driver carries its own copy of SQLite, and two copies of SQLite must never
open one database file in one process (closing a file in one copy drops the POSIX locks the
other copy holds on it: https://www.sqlite.org/howtocorrupt.html, section 2.2.1). A notebook that
writes decisions while a map is drawn would be exposed. The child reads only, in its own process,
and streams each result back as an Arrow IPC message.

One moment of the study: the caller's snapshot (a read transaction on its connection) and the
child's read transaction must see the same commits. A third connection's ``PRAGMA data_version``,
read before the caller's snapshot starts and again after the child's has started, changes if any
other connection committed in between; then both are started again (:meth:`Store.snapshot`).

Where the extra is not installed, a query's types do not fit (SQLite columns may mix types) or
the child fails, the caller reads with ``sqlite3`` as before: the same frames, more slowly.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: Studies with fewer codings than this are read in-process (starting the child costs ~0.5 s).
BULK_MIN_CODINGS = 200_000
#: Child processes a bulk snapshot starts: a map's two big reads (excerpts, codings) run side by side.
READERS = 2
#: Rows the driver reads in one batch: all of them, so that it infers each column's type from every
#: row (with its default of 1,024 rows, a column whose first rows are NULL is typed INT64 and fails).
_BATCH_ROWS = 1_000_000_000


def available() -> bool:
    """Whether the ADBC SQLite driver and pyarrow are installed (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("pyarrow", "adbc_driver_sqlite"))


_CHILD = "import sys; from workbench.bulkread import _serve; _serve(sys.argv[1])"


class BulkReader:
    """The child process that reads a study in one read transaction (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _ask(self, request: dict) -> tuple[dict, bytes]:
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        head = self.proc.stdout.readline()
        if not head:
            raise RuntimeError("the bulk reader exited")
        reply = json.loads(head)
        body = self.proc.stdout.read(reply["nbytes"]) if reply.get("nbytes") else b""
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "the bulk reader failed"))
        return reply, body

    def pin(self) -> None:
        """Start the child's read transaction, ending any earlier one (its snapshot is fixed from here)."""
        self._ask({"op": "pin"})

    def frame(self, sql: str, params, categorical) -> pd.DataFrame | None:
        """The query's rows as :meth:`Store.frame` gives them, or None where this reader cannot tell them apart
        from what ``sqlite3`` would give (no rows, unexpected types, a failure): the caller reads them itself."""
        import pyarrow as pa

        try:
            _, body = self._ask({"op": "query", "sql": sql, "params": list(params), "categorical": list(categorical)})
        except (RuntimeError, OSError, ValueError):
            return None
        table = pa.ipc.open_stream(body).read_all()
        del body
        return to_frame(table, categorical)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def to_frame(table, categorical=()) -> pd.DataFrame | None:
    """An Arrow table as :meth:`Store.frame` builds it from ``sqlite3`` rows (None where that cannot be assured).

    Text → object column of Python strings with NaN for NULL; integers → int64 (float with NaN when
    some are NULL); reals → float; a column with no value at all → object NaN; ``categorical`` columns →
    Categorical with sorted categories (as ``pd.factorize(sort=True)``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    if n == 0:
        return None
    out = {}
    for name in table.column_names:
        col = table[name].combine_chunks()
        t = col.type
        if col.null_count == n:
            out[name] = pd.Series(np.full(n, np.nan, dtype=object))
        elif name in categorical and pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
            values = col.dictionary.to_pylist()
            order = sorted(range(len(values)), key=values.__getitem__)
            rank = np.empty(len(values), np.int64)
            rank[order] = np.arange(len(values))
            idx = col.indices.to_numpy(zero_copy_only=False)
            codes = np.full(n, -1, np.int64)
            valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool) if col.null_count else slice(None)
            codes[valid] = rank[np.asarray(idx[valid], np.int64)]
            if len(set(values)) != len(values):
                return None
            out[name] = pd.Series(pd.Categorical.from_codes(codes, [values[i] for i in order]))
        elif pa.types.is_integer(t):
            out[name] = pd.Series(col.to_numpy(zero_copy_only=False).astype(np.int64 if not col.null_count else float))
        elif pa.types.is_floating(t):
            out[name] = pd.Series(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False).astype(float)
                                  if col.null_count else col.to_numpy(zero_copy_only=False).astype(float))
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            arr = col.to_numpy(zero_copy_only=False)
            if col.null_count:
                arr[np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)] = np.nan
            out[name] = pd.Series(arr, dtype=object)
        else:
            return None
    return pd.DataFrame(out, columns=table.column_names)


# ------------------------------------------------------------------------------------ the child
def _serve(path: str) -> None:
    import adbc_driver_sqlite
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    out = sys.stdout.buffer
    con = adbc.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro")      # autocommit off: one read transaction

    def reply(head: dict, body: bytes = b"") -> None:
        out.write((json.dumps({**head, "nbytes": len(body)}) + "\n").encode())
        out.write(body)
        out.flush()

    for line in sys.stdin.buffer:
        req = json.loads(line)
        cur = con.cursor()
        try:
            cur.adbc_statement.set_options(**{adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(_BATCH_ROWS)})
            if req["op"] == "pin":
                con.rollback()              # a retry: the next read starts a new snapshot
                cur.execute("SELECT count(*) FROM study")
                cur.fetchall()
                reply({"ok": True})
                continue
            cur.execute(req["sql"], req["params"] or None)
            table = cur.fetch_arrow_table()
            cols = {c: (table[c].dictionary_encode() if c in req["categorical"] and pa.types.is_string(table[c].type)
                        else table[c]) for c in table.column_names}
            table = pa.table(cols)
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as w:
                w.write_table(table)
            del table, cols
            reply({"ok": True}, sink.getvalue().to_pybytes())
        except Exception as e:   # noqa: BLE001 — any failure: the caller reads this query itself
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})
        finally:
            cur.close()
    con.close()

__all__ = ["BULK_MIN_CODINGS", "READERS", "available", "BulkReader", "to_frame"]
