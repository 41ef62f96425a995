"""The study store: one SQLite file per study.

Why SQLite: one file a researcher can copy, transactional and crash-safe (WAL), readable by
pandas and DuckDB, in the standard library. Rules this module keeps:

* every write happens inside one ``BEGIN IMMEDIATE … COMMIT``; an exception rolls it back, and a
  killed process leaves only uncommitted WAL frames that SQLite discards, so a file import is
  all-or-nothing;
* re-importing identical content (same bytes, or the same normalised texts) changes nothing;
* the schema version lives in ``PRAGMA user_version`` and older studies are migrated forward on
  open, in a transaction; a study from a newer workbench is refused, not damaged;
* readers (a notebook) and a writer (the CLI) can work at once: WAL plus a busy timeout;
* human codings are never overwritten by machine suggestions.

Query helpers return pandas DataFrames; they are views for analysis, the tables are the truth.

    >>> store = Store.create("study.db")             # doctest: +SKIP
    >>> store.excerpts().head()                       # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import random
import shutil
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from . import __version__, bulkread
from .decisions import coder_family, is_human, sql_is_human, sql_undecided
from .errors import StoreError
from .model import Coding, Source

SCHEMA_VERSION = 4

#: A quote as SQL: ``substr`` of the source text, except in long sources. SQLite finds a
#: character offset by walking the UTF-8 text from its start, so quoting every excerpt of a source
#: costs time in proportion to its length squared (a 2 MB transcript: 35 s; 50 MB: hours). Those
#: quotes come back NULL and are sliced in Python from the text read once (:meth:`Store._quoted`);
#: below the threshold (an interview, a conversation) SQL is faster.
LONG_SOURCE_CHARS = 100_000
_QUOTE = (f'CASE WHEN s.n_chars <= {LONG_SOURCE_CHARS} THEN substr(s.text, {{t}}.start + 1, {{t}}."end" - {{t}}.start) '
          "END")

#: What :meth:`Store.excerpts` can give: column -> SQL (in the order it gives them).
EXCERPT_COLUMNS = {
    "excerpt_id": "e.excerpt_id", "source_id": "e.source_id", "source_name": "s.name", "turn_index": "e.turn_index",
    "speaker": "t.speaker", "role": "t.role", "participant": "s.participant", "segment": "s.segment",
    "channel": "s.channel", "language": "e.language", "start": "e.start", "end": 'e."end"',
    "text": _QUOTE.format(t="e"),
}


#: Rows :meth:`Store.frame` fetches at a time.
_FRAME_BLOCK = 100_000

#: Seconds a write waits for another process's transaction before giving up (env overrides).
LOCK_TIMEOUT_ENV = "WORKBENCH_LOCK_TIMEOUT"
LOCK_TIMEOUT_S = 60.0
_BUSY_TIMEOUT_MS = 30000    # reads (pandas included) let SQLite wait this long for a busy study
_MAX_BACKOFF = 0.1          # seconds between write attempts at most: a waiting click stays quick


def _lock_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else LOCK_TIMEOUT_S
    except ValueError:
        raise StoreError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds; set it to e.g. 120, or unset it.") from None


def _lock_message(path: Path, waited: float) -> str:
    return (f"Another process is writing to the study {path} (an import, a coding run or a notebook) and did not "
            f"finish within {waited:g} s; nothing was changed. Let it finish (or close the other notebook), then try "
            f"again; {LOCK_TIMEOUT_ENV}=SECONDS waits longer.")


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF        # the primary code, without the extended bits


def _is_lock(error: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock (message checked for older Pythons)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = _sqlite_code(error)
    return code in (5, 6) if code is not None else "locked" in str(error) or "busy" in str(error)


def _is_full(error: BaseException) -> bool:
    """SQLITE_FULL: the disk (or the study's max_page_count) is full."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = _sqlite_code(error)
    return code == 13 if code is not None else "disk is full" in str(error)

_V1 = """
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE imports (
    import_id   INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    file_hash   TEXT NOT NULL UNIQUE,
    reader      TEXT NOT NULL,
    n_sources   INTEGER NOT NULL,
    n_turns     INTEGER NOT NULL,
    n_excerpts  INTEGER NOT NULL,
    settings    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE sources (
    source_id      TEXT PRIMARY KEY,
    import_id      INTEGER NOT NULL REFERENCES imports(import_id),
    name           TEXT NOT NULL,
    key            TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    reader         TEXT NOT NULL,
    language       TEXT NOT NULL,
    languages      TEXT NOT NULL,
    mixed_language INTEGER NOT NULL,
    participant    TEXT,
    segment        TEXT,
    channel        TEXT,
    date           TEXT,
    meta           TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    n_chars        INTEGER NOT NULL,
    text           TEXT NOT NULL
);
CREATE INDEX sources_hash ON sources(content_hash);
CREATE TABLE turns (
    source_id  TEXT NOT NULL REFERENCES sources(source_id),
    turn_index INTEGER NOT NULL,
    speaker    TEXT NOT NULL,
    role       TEXT NOT NULL,
    start      INTEGER NOT NULL,
    "end"      INTEGER NOT NULL,
    language   TEXT NOT NULL,
    t_start    REAL,
    t_end      REAL,
    meta       TEXT NOT NULL,
    PRIMARY KEY (source_id, turn_index)
) WITHOUT ROWID;
CREATE TABLE excerpts (
    excerpt_id    TEXT PRIMARY KEY,
    source_id     TEXT NOT NULL REFERENCES sources(source_id),
    turn_index    INTEGER NOT NULL,
    excerpt_index INTEGER NOT NULL,
    start         INTEGER NOT NULL,
    "end"         INTEGER NOT NULL,
    language      TEXT NOT NULL,
    CHECK (start <= "end")
) WITHOUT ROWID;
CREATE TABLE codings (
    coding_id  INTEGER PRIMARY KEY,
    excerpt_id TEXT NOT NULL REFERENCES excerpts(excerpt_id),
    dimension  TEXT NOT NULL,
    code_id    TEXT NOT NULL,
    coder      TEXT NOT NULL,
    confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    rationale  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected')),
    start      INTEGER,
    "end"      INTEGER,
    value      REAL,
    memo       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX codings_excerpt ON codings(excerpt_id, dimension);
"""

#: Forward migrations: ``MIGRATIONS[v]`` takes a study from schema v to v + 1, inside the
#: opening transaction. A new schema appends SQL (or a function of the connection) here and bumps
#: SCHEMA_VERSION; old studies are upgraded when opened.
#: v2: sentence embeddings cached by (encoder id, text hash), so re-coding a study costs only the heads
_V2 = """
CREATE TABLE embeddings (
    model     TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    vector    BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
"""
#: v3: the review cards' order kept in SQL. ``card_stats`` holds, per excerpt with an undecided machine
#: suggestion, the least and mean confidence of its suggestions (the most confident per dimension),
#: so the first page of a million-excerpt queue is an indexed LIMIT query. Triggers mark every
#: excerpt whose codings change (any writer, any path) in ``card_dirty``; :meth:`Store.refresh_cards`
#: recomputes those before the cards are read.
_V3_TABLES = """
CREATE TABLE card_stats (
    excerpt_id  TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL,
    source_name TEXT NOT NULL,
    segment     TEXT,
    role        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    min_conf    REAL NOT NULL,
    mean_conf   REAL NOT NULL,
    dims        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX card_stats_uncertainty ON card_stats(min_conf, mean_conf, source_name, excerpt_id);
CREATE INDEX card_stats_reading ON card_stats(source_name, excerpt_id);
CREATE TABLE card_dirty (excerpt_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE INDEX codings_human ON codings(excerpt_id, dimension, status) WHERE coder LIKE 'human:%'
"""
_V3_TRIGGERS = (
    "CREATE TRIGGER codings_card_insert AFTER INSERT ON codings BEGIN "
    "INSERT OR IGNORE INTO card_dirty VALUES (NEW.excerpt_id); END",
    "CREATE TRIGGER codings_card_delete AFTER DELETE ON codings BEGIN "
    "INSERT OR IGNORE INTO card_dirty VALUES (OLD.excerpt_id); END",
    "CREATE TRIGGER codings_card_update AFTER UPDATE ON codings BEGIN "
    "INSERT OR IGNORE INTO card_dirty VALUES (OLD.excerpt_id); INSERT OR IGNORE INTO card_dirty VALUES (NEW.excerpt_id); END",
)


def _v3(con: sqlite3.Connection) -> None:
    for stmt in _statements(_V3_TABLES):
        con.execute(stmt)
    for stmt in _V3_TRIGGERS:
        con.execute(stmt)
    con.execute("INSERT OR IGNORE INTO card_dirty SELECT DISTINCT excerpt_id FROM codings")


#: v4: journeys tracked over time. ``map_snapshots``: a map stored by name (its claims with their
#: evidence ids, curve, differences, settings, codebook and coder versions, the study's sources and
#: the goals' measures; JSON in ``body``) so a later map can be diffed against it. ``comments``:
#: stakeholders' comments on a claim (stable claim id) or on one quote under it. ``goals``: a goal
#: tied to a stage and a measure, measured in every snapshot.
_V4 = """
CREATE TABLE map_snapshots (
    name    TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE TABLE comments (
    comment_id TEXT PRIMARY KEY,
    claim_id   TEXT NOT NULL,
    excerpt_id TEXT,
    author     TEXT NOT NULL,
    created    TEXT NOT NULL,
    text       TEXT NOT NULL,
    origin     TEXT NOT NULL
);
CREATE INDEX comments_claim ON comments(claim_id, created);
CREATE TABLE goals (
    goal_id   TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    stage     TEXT NOT NULL,
    measure   TEXT NOT NULL,
    better    TEXT NOT NULL,
    created   TEXT NOT NULL
);
"""


MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [_V1, _V2, _v3, _V4]
assert SCHEMA_VERSION == len(MIGRATIONS)


_JSON = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def source_id_for(source: Source, content_hash: str | None = None) -> str:
    """Deterministic id from content and key: the same input always gets the same id."""
    chash = content_hash or source.content_hash
    return "S" + hashlib.sha256(f"{source.key}\0{chash}".encode()).hexdigest()[:11]


Rows = tuple[tuple, list[tuple], list[tuple]]


def rows_for(source: Source, source_id: str, content_hash: str, import_id: int,
             excerpts: Iterable[tuple[int, int, int, str]]) -> Rows:
    """The table rows of one analysed source and its excerpts ``(turn_index, start, end, language)``.

    Plain tuples, so worker processes can build them and send them back cheaply. Excerpt ids are
    ``<source_id>-<index>``: stable for the same input and settings, and sorted by position.
    """
    src_row = (source_id, import_id, source.name, source.key, source.kind, source.reader, source.language,
               _JSON.encode(source.languages), int(source.mixed_language), source.participant, source.segment,
               source.channel, source.date, _JSON.encode(source.meta), content_hash, len(source.text), source.text)
    turn_rows = [(source_id, i, t.speaker, t.role, t.start, t.end, t.language, t.t_start, t.t_end,
                  _JSON.encode(t.meta) if t.meta else "{}") for i, t in enumerate(source.turns)]
    ex_rows = [(f"{source_id}-{k:05d}", source_id, ti, k, a, b, lang) for k, (ti, a, b, lang) in enumerate(excerpts)]
    return src_row, turn_rows, ex_rows


@dataclass
class ImportReport:
    path: str
    status: str  # "imported" or "skipped"
    message: str
    import_id: int | None = None
    source_ids: list[str] = field(default_factory=list)
    n_turns: int = 0
    n_excerpts: int = 0


class Store:
    """A study database. Open with :meth:`open` (existing) or :meth:`create` (new)."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.path = path
        self.con = con

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: str | Path, name: str | None = None) -> "Store":
        path = Path(path)
        if path.exists():
            raise StoreError(f"A study already exists at {path}; open it with --study {path} or choose a new name.")
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls._connect(path)
        with store.transaction():
            store.con.execute("INSERT INTO study VALUES ('name', ?), ('created_at', ?), ('created_by', ?)",
                              (name or path.stem, _now(), f"workbench {__version__}"))
        return store

    @classmethod
    def open(cls, path: str | Path) -> "Store":
        path = Path(path)
        if not path.exists():
            raise StoreError(f"No study at {path}. Create one with `workbench init {path}`.")
        with open(path, "rb") as fh:
            head = fh.read(16)
            if head and head != b"SQLite format 3\x00":  # an empty file is a new, schema-0 database
                raise StoreError(f"{path} is not a workbench study (not a SQLite database). Check the --study path.")
        return cls._connect(path)

    # Set per connection by _connect; the class defaults keep a Store built from a connection working.
    lock_timeout: float = LOCK_TIMEOUT_S
    retries: int = 0
    _depth: int = 0
    _bulk: "queue.SimpleQueue | None" = None   # free bulk readers, inside snapshot(bulk=True) on a big study
    _read_lock = threading.Lock()              # one per connection (set by _connect); see _reading

    @classmethod
    def _connect(cls, path: Path) -> "Store":
        lock_timeout = _lock_timeout()
        con = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")    # opening waits as long as a write
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:  # checked before anything (even the journal mode) is written
                con.close()
                raise StoreError(f"{path} was written by a newer workbench (schema {version}, this one knows up to "
                                 f"{SCHEMA_VERSION}). Upgrade the workbench: pip install -U journey-workbench.")
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        except sqlite3.OperationalError as e:
            con.close()
            if _is_lock(e):     # another process held the study exclusively (rare in WAL mode) all that time
                raise StoreError(_lock_message(path, lock_timeout)) from None
            raise
        store = cls(path, con)
        store._read_lock = threading.Lock()
        store.lock_timeout = lock_timeout
        store.retries = 0           # times a transaction waited for another process (benchmarks print it)
        store._depth = 0
        store._migrate()
        return store

    def _migrate(self) -> None:
        version = self.con.execute("PRAGMA user_version").fetchone()[0]
        while version < SCHEMA_VERSION:
            with self.transaction():
                current = self.con.execute("PRAGMA user_version").fetchone()[0]
                if current != version:  # another process migrated meanwhile
                    version = current
                    continue
                step = MIGRATIONS[version]
                if isinstance(step, str):
                    for stmt in _statements(step):  # not executescript: it would commit midway
                        self.con.execute(stmt)
                else:
                    step(self.con)
                self.con.execute(f"PRAGMA user_version = {version + 1}")
            version += 1

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back.

        Another process writing to the study (a coding run, an import, a notebook) is waited for:
        ``BEGIN IMMEDIATE`` and ``COMMIT`` are retried with backoff for up to ``lock_timeout``
        seconds (``$WORKBENCH_LOCK_TIMEOUT``, default 60), then a :class:`StoreError` says who to wait
        for. A full disk rolls back and raises a :class:`StoreError` too; SQLite's own messages
        ("database is locked", "database or disk is full") never reach the user.

        Nested calls join the caller's transaction through a savepoint, so a caller can make several
        writes (e.g. codings plus the study settings they were made with) commit as one.
        """
        if self._depth:
            yield from self._savepoint()
            return
        self._begin()
        self._depth = 1
        try:
            yield self.con
        except BaseException as e:
            self._rollback()
            if _is_lock(e) or _is_full(e):
                raise self._translate(e) from None
            raise
        finally:
            self._depth = 0
        self._commit()

    @contextlib.contextmanager
    def snapshot(self, bulk: bool = False) -> Iterator["Store"]:
        """Every read inside sees the study as of one moment (a WAL read transaction).

        A map reads excerpts, codings and settings with several queries; inside a snapshot, a
        decision or a coding run committing meanwhile cannot make those reads disagree. Writers
        are not blocked. Inside a transaction this is a no-op (the transaction is the snapshot).

        ``bulk``: on a big study (:data:`workbench.bulkread.BULK_MIN_CODINGS` codings or more, with the
        ``scale`` extra installed), :meth:`frame` reads through Arrow in a child process whose read
        transaction sees the same moment (:mod:`workbench.bulkread`); same frames, three times faster.
        """
        if self.con.in_transaction:
            yield self
            return
        readers = None
        if bulk and self._bulk is None and bulkread.available() and self._codings_at_least(bulkread.BULK_MIN_CODINGS):
            readers = self._pinned_readers(bulkread.READERS)
        if readers is None:
            self.con.execute("BEGIN DEFERRED")
        else:
            self._bulk = queue.SimpleQueue()
            for r in readers:
                self._bulk.put(r)
        try:
            yield self
        finally:
            self._bulk = None
            for r in readers or ():
                r.close()
            self.con.execute("COMMIT")      # nothing was written: ends the read transaction

    @property
    def bulk(self) -> bool:
        """Whether big reads go through bulk readers now (inside ``snapshot(bulk=True)`` on a big study)."""
        return self._bulk is not None

    def _codings_at_least(self, n: int) -> bool:
        return self.con.execute("SELECT 1 FROM codings LIMIT 1 OFFSET ?", (max(n - 1, 0),)).fetchone() is not None

    def _pinned_readers(self, n: int) -> "list[bulkread.BulkReader] | None":
        """``n`` bulk readers whose read transactions see what this connection's (begun here) sees, or None.

        No commit may land between the transactions' starts: a third connection's ``PRAGMA data_version``
        (it changes when another connection commits) is read before and after; else all start again."""
        probe = sqlite3.connect(f"file:{self.path.resolve().as_posix()}?mode=ro", uri=True, isolation_level=None)
        readers: list[bulkread.BulkReader] = []
        try:
            readers = [bulkread.BulkReader(self.path) for _ in range(n)]
            for _ in range(5):
                before = probe.execute("PRAGMA data_version").fetchone()[0]
                self.con.execute("BEGIN DEFERRED")
                self.con.execute("SELECT count(*) FROM study").fetchone()       # the snapshot starts at a read
                for r in readers:
                    r.pin()
                if probe.execute("PRAGMA data_version").fetchone()[0] == before:
                    return readers
                self.con.execute("COMMIT")          # a commit came between: start them all again
        except (RuntimeError, OSError, ValueError):
            pass
        finally:
            probe.close()
        if self.con.in_transaction:
            self.con.execute("COMMIT")
        for r in readers:
            r.close()
        return None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """This connection, for one read at a time (a map's two big reads may run in two threads)."""
        with self._read_lock:
            yield self.con

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        self.con.execute("SAVEPOINT nested")
        self._depth += 1
        try:
            yield self.con
        except BaseException as e:
            if self.con.in_transaction:     # SQLITE_FULL may already have rolled the whole transaction back
                self.con.execute("ROLLBACK TO nested")
                self.con.execute("RELEASE nested")
            if _is_lock(e) or _is_full(e):
                raise self._translate(e) from None
            raise
        finally:
            self._depth -= 1
        self.con.execute("RELEASE nested")

    def _begin(self) -> None:
        # SQLite's busy handler is off while we poll, so the wait is ours: bounded in total, with
        # backoff and jitter (two waiting processes do not retry in lockstep), and counted.
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.001
        self.con.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self.con.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as e:
                    if _is_full(e):
                        raise self._translate(e) from None
                    if not _is_lock(e):
                        raise
                    if time.monotonic() >= deadline:
                        raise self._lock_error() from None
                    self.retries += 1
                    time.sleep(min(delay * random.uniform(0.5, 1.0), max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, _MAX_BACKOFF)
        finally:
            self.con.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")

    def _commit(self) -> None:
        # In WAL mode a COMMIT holding the write lock does not wait; with a rollback journal (a
        # file system without WAL support) it needs readers gone, so it is retried like BEGIN.
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.001
        while True:
            try:
                self.con.execute("COMMIT")
                return
            except sqlite3.OperationalError as e:
                if _is_lock(e) and time.monotonic() < deadline:
                    self.retries += 1
                    time.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, _MAX_BACKOFF)
                    continue
                self._rollback()
                if _is_lock(e) or _is_full(e):
                    raise self._translate(e) from None
                raise

    def _rollback(self) -> None:
        if self.con.in_transaction:         # SQLITE_FULL may already have rolled it back
            self.con.execute("ROLLBACK")

    def _translate(self, error: BaseException) -> BaseException:
        if _is_full(error):
            try:
                mb = shutil.disk_usage(self.path.resolve().parent).free / 1024 / 1024
                free = f" ({mb:.0f} MB free)" if mb < 100 else ""    # plenty free: a size limit, not the disk
            except OSError:
                free = ""
            return StoreError(f"Cannot write to the study {self.path}: the disk is full{free}. Nothing was changed; "
                              "free some space on that disk and run the command again.")
        if _is_lock(error):
            return self._lock_error()
        return error

    def _lock_error(self) -> StoreError:
        return StoreError(_lock_message(self.path, self.lock_timeout))

    # ----------------------------------------------------------------- writing
    def import_sources(
        self,
        path: str,
        file_hash: str,
        reader: str,
        sources: list[Source],
        prepare: Callable[[list[tuple[Source, str, str, int]]], Iterable[list[Rows]]],
        settings: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Store one file's sources, turns and excerpts in a single transaction.

        ``prepare([(source, source_id, content_hash, import_id), …])`` yields chunks of
        :func:`rows_for` results — language detection and segmentation happen there, possibly
        in worker processes — and the chunks are written as they arrive, all inside one
        transaction: the file is imported whole or not at all. Nothing is written if the file's bytes, or all its texts, are already in
        the study. ``settings`` (or a function returning them, called at the end) is recorded.
        """
        with self.transaction() as con:
            row = con.execute("SELECT import_id, path, created_at FROM imports WHERE file_hash = ?", (file_hash,)).fetchone()
            if row:
                return ImportReport(path, "skipped", f"{path}: already imported (as {row[1]} on {row[2][:10]}, "
                                                     f"import #{row[0]}); nothing changed.", row[0])
            hashes = [s.content_hash for s in sources]
            ids = [source_id_for(s, h) for s, h in zip(sources, hashes)]
            existing = {r[0] for r in _chunked_in(con, "SELECT source_id FROM sources WHERE source_id IN ({})", ids)}
            if existing and len(existing) == len(set(ids)):
                return ImportReport(path, "skipped", f"{path}: the same text is already in the study "
                                                     f"(source {sorted(existing)[0]}); nothing changed.")
            import_id = con.execute(
                "INSERT INTO imports (path, file_hash, reader, n_sources, n_turns, n_excerpts, settings, created_at) "
                "VALUES (?, ?, ?, 0, 0, 0, '{}', ?)", (path, file_hash, reader, _now())).lastrowid
            todo: list[tuple[Source, str, str]] = []
            seen = set(existing)
            for source, sid, chash in zip(sources, ids, hashes):
                if sid not in seen:  # a conversation repeated verbatim in one file is stored once
                    seen.add(sid)
                    todo.append((source, sid, chash))
            n_turns = n_excerpts = done = 0
            for chunk in prepare([(s, sid, chash, import_id) for s, sid, chash in todo]):
                turn_rows = [r for _, turns, _ in chunk for r in turns]
                ex_rows = [r for _, _, excerpts in chunk for r in excerpts]
                con.executemany("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [src for src, _, _ in chunk])
                con.executemany("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", turn_rows)
                con.executemany("INSERT INTO excerpts VALUES (?, ?, ?, ?, ?, ?, ?)", ex_rows)
                n_turns += len(turn_rows)
                n_excerpts += len(ex_rows)
                done += len(chunk)
                if progress:
                    progress(len(chunk))
            if done != len(todo):
                raise RuntimeError(f"prepare() returned {done} sources for {len(todo)}; nothing was stored.")
            recorded = settings() if callable(settings) else settings or {}
            con.execute("UPDATE imports SET n_sources = ?, n_turns = ?, n_excerpts = ?, settings = ? WHERE import_id = ?",
                        (done, n_turns, n_excerpts, json.dumps(recorded, sort_keys=True), import_id))
        skipped = len(sources) - done
        note = f" ({skipped} already in the study)" if skipped else ""
        return ImportReport(path, "imported", f"{path}: imported {done} source(s){note}, {n_turns} turns, "
                                              f"{n_excerpts} excerpts.", import_id, [sid for _, sid, _ in todo],
                            n_turns, n_excerpts)

    def add_codings(self, codings: Iterable[Coding], replace_dimensions: Sequence[str] = (),
                    excerpt_ids: Sequence[str] = ()) -> int:
        """Store codings; a machine coder's re-run replaces its own earlier *suggestions* only.

        A coder may suggest several codes for one excerpt and dimension (the embedding coder's
        emotions): the codes it suggests in one call replace its earlier ones together.

        "Its own" includes its earlier versions: ``rules@2`` replaces what ``rules@1`` suggested,
        so an upgraded coder never leaves stale suggestions beside its new ones.
        ``replace_dimensions`` (with ``excerpt_ids``): a full re-coding — every machine suggestion
        for those dimensions on those excerpts goes first, whichever coder made it, so a study
        coded by today's coders keeps no stale suggestion of a coder no longer run.

        A machine suggestion for an excerpt and dimension that a human has already decided is
        not stored (and, there, no earlier suggestion is removed): the human decision wins and is
        never overwritten. Returns how many were stored.
        """
        codings = list(codings)
        now = _now()
        stored = 0
        with self.transaction() as con:
            if replace_dimensions and excerpt_ids:
                dims = ",".join("?" * len(replace_dimensions))
                ids = sorted(set(excerpt_ids))
                for i in range(0, len(ids), 500):
                    chunk = ids[i:i + 500]
                    con.execute(f"DELETE FROM codings WHERE status = 'suggested' AND NOT {sql_is_human('codings.coder')} "
                                f"AND dimension IN ({dims}) AND excerpt_id IN ({','.join('?' * len(chunk))}) "
                                f"AND {sql_undecided('codings')}", (*replace_dimensions, *chunk))
            known = set()
            ids = sorted({c.excerpt_id for c in codings})
            for r in _chunked_in(con, "SELECT excerpt_id FROM excerpts WHERE excerpt_id IN ({})", ids):
                known.add(r[0])
            missing = [i for i in ids if i not in known]
            if missing:
                raise StoreError(f"Unknown excerpt id {missing[0]!r} ({len(missing)} unknown in all); "
                                 "list valid ids with `workbench excerpts --study STUDY`.")
            human = {(r[0], r[1]) for r in _chunked_in(
                con, f"SELECT excerpt_id, dimension FROM codings WHERE excerpt_id IN ({{}}) AND {sql_is_human()}", ids)}
            # a full re-coding already removed every machine suggestion of its dimensions on its excerpts:
            # those codings need no delete of their own, and go in as one bulk insert
            cleared_dims = set(replace_dimensions) if replace_dimensions and excerpt_ids else set()
            cleared_ids = set(excerpt_ids) if cleared_dims else set()
            bulk: list[tuple] = []
            replaced: set[tuple[str, str, str]] = set()
            for c in codings:
                if not c.is_human:
                    if (c.excerpt_id, c.dimension) in human:    # decided: a human decision is never overwritten
                        continue
                    if c.dimension in cleared_dims and c.excerpt_id in cleared_ids:
                        bulk.append(_coding_row(c, now))
                        stored += 1
                        continue
                    family = coder_family(c.coder)
                    if (c.excerpt_id, c.dimension, family) not in replaced:    # several codes of one run stay together
                        replaced.add((c.excerpt_id, c.dimension, family))
                        con.execute("DELETE FROM codings WHERE excerpt_id = ? AND dimension = ? AND status = 'suggested' "
                                    "AND (coder = ? OR substr(coder, 1, ?) = ?)",
                                    (c.excerpt_id, c.dimension, c.coder, len(family) + 1, family + "@"))
                _insert_coding(con, c, now)
                stored += 1
            con.executemany(_INSERT_CODING, bulk)
        return stored

    def replace_decisions(self, coder: str, excerpt_id: str, dimension: str, code_ids: list[str] | None,
                          codings: list[Coding]) -> int:
        """One human coder changes their mind, atomically: drop their earlier decisions on this excerpt
        and dimension (only on ``code_ids`` when given), then store ``codings``. Returns how many rows went."""
        if not is_human(coder):
            raise StoreError(f"Only a human coder's decisions can be replaced, not {coder!r}.")
        for c in codings:
            if (c.coder, c.excerpt_id, c.dimension) != (coder, excerpt_id, dimension):
                raise StoreError(f"A decision by {coder} on {excerpt_id}/{dimension} cannot store {c.coder}'s "
                                 f"coding of {c.excerpt_id}/{c.dimension}.")
        with self.transaction() as con:
            if con.execute("SELECT 1 FROM excerpts WHERE excerpt_id = ?", (excerpt_id,)).fetchone() is None:
                raise StoreError(f"Unknown excerpt id {excerpt_id!r}; list valid ids with `workbench excerpts --study STUDY`.")
            sql = "DELETE FROM codings WHERE coder = ? AND excerpt_id = ? AND dimension = ?"
            params: list = [coder, excerpt_id, dimension]
            if code_ids is not None:
                sql += f" AND code_id IN ({','.join('?' * len(code_ids))})"
                params += list(code_ids)
            removed = con.execute(sql, params).rowcount
            now = _now()
            for c in codings:
                _insert_coding(con, c, now)
        return removed

    def recode(self, dimension: str, old: str, new: str) -> int:
        """Rename a code in every coding of one dimension (after merging codes), in one transaction."""
        with self.transaction() as con:
            return con.execute("UPDATE codings SET code_id = ? WHERE dimension = ? AND code_id = ?",
                               (new, dimension, old)).rowcount

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """Cached embedding vectors (raw float32 bytes) of an encoder, by text hash; missing ones are absent."""
        return select_embeddings(self.con, model, hashes)

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        """Cache embedding vectors of an encoder (one transaction; an existing vector is kept)."""
        with self.transaction() as con:
            insert_embeddings(con, model, vectors)

    def set_info(self, values: dict[str, str]) -> None:
        """Record study-level settings (e.g. the codebooks a coding run used), in one transaction."""
        with self.transaction() as con:
            con.executemany("INSERT INTO study (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            sorted(values.items()))

    # ----------------------------------------------------------------- reading
    def info(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT key, value FROM study").fetchall())

    def query(self, sql: str, params: tuple | list = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self.con, params=params)

    def frame(self, sql: str, params: tuple | list = (), categorical: Sequence[str] = (), bulk: bool = False
              ) -> pd.DataFrame:
        """A query's rows as a DataFrame built column by column, for the big reads (a map's excerpts and codings).

        Text stays Python strings (object columns, NULL → NaN, as :meth:`query` gives): pandas ≥ 3 would
        infer Arrow-backed strings when pyarrow is installed, and every row selection of a million-row
        frame then converts back (measured: 10 of the 35 s a 1,000,000-utterance map took). ``categorical``
        columns (few distinct values: dimension, coder, status) are stored once per value.

        ``bulk``: inside ``snapshot(bulk=True)`` on a big study, the rows come through Arrow (the same frame,
        for queries whose every column holds one SQLite type, as the study's typed columns do; a column
        mixing integers and text would come back as text)."""
        if bulk and (pool := self._bulk) is not None:
            reader = pool.get()            # one query per reader at a time; two threads read in parallel
            try:
                df = reader.frame(sql, params, categorical)
            finally:
                pool.put(reader)
            if df is not None:
                return df
        with self._reading() as con:
            rows = con.execute(sql, params)
            return self._frame_of(rows, categorical)

    @staticmethod
    def _frame_of(cur: sqlite3.Cursor, categorical: Sequence[str]) -> pd.DataFrame:
        names = [d[0] for d in cur.description]
        blocks = []                      # rows fetched in blocks: a block's tuples are freed once it is an array
        while rows := cur.fetchmany(_FRAME_BLOCK):
            block = np.empty((len(rows), len(names)), dtype=object)
            block[:] = rows
            blocks.append(block)
        table = np.concatenate(blocks) if blocks else np.empty((0, len(names)), dtype=object)
        del blocks
        out = {}
        for j, name in enumerate(names):
            arr = table[:, j].copy()
            kind = pd.api.types.infer_dtype(arr, skipna=False)
            if kind in ("string", "integer", "floating", "empty"):      # no NULL among them (one scan, not two)
                nulls = np.zeros(len(arr), bool)
            else:
                nulls = pd.isna(arr)
                kind = pd.api.types.infer_dtype(arr, skipna=True)
            if name in categorical:
                codes, values = pd.factorize(arr, sort=True)
                out[name] = pd.Series(pd.Categorical.from_codes(codes, values))
            elif kind == "integer" and not nulls.any():
                out[name] = pd.Series(arr.astype(np.int64))
            elif kind in ("integer", "floating", "mixed-integer-float"):
                arr[nulls] = np.nan
                out[name] = pd.Series(arr.astype(float))
            else:
                arr[nulls] = np.nan
                out[name] = pd.Series(arr, dtype=object)
        del table
        return pd.DataFrame(out, columns=names)

    def sources(self, with_text: bool = False) -> pd.DataFrame:
        cols = ("source_id, name, kind, reader, language, languages, mixed_language, participant, segment, channel, "
                "date, meta, n_chars, content_hash, import_id")
        df = self.query(f"SELECT {cols}{', text' if with_text else ''} FROM sources ORDER BY name, source_id")
        df["mixed_language"] = df["mixed_language"].astype(bool)
        return df

    def source_text(self, source_id: str) -> str:
        row = self.con.execute("SELECT text FROM sources WHERE source_id = ?", (source_id,)).fetchone()
        if row is None:
            raise StoreError(f"No source {source_id!r} in {self.path}; list them with `workbench sources`.")
        return row[0]

    def turns(self) -> pd.DataFrame:
        return self._quoted(self.query(
            'SELECT t.source_id, t.turn_index, t.speaker, t.role, t.start, t."end", t.language, t.t_start, t.t_end, '
            f't.meta, {_QUOTE.format(t="t")} AS text '
            "FROM turns t JOIN sources s USING (source_id) ORDER BY s.name, t.source_id, t.turn_index"))

    def excerpts(self, source_id: str | None = None, roles: tuple[str, ...] | None = None,
                 by_id: bool = False, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Excerpts with speaker, role, segment and the quote (a view into the source text).

        ``roles`` keeps only the excerpts of speakers with those roles (e.g. the customer's voice).
        Sorted by source name, then position; ``by_id`` sorts by excerpt id alone (no sort step).
        ``columns``: only these of :data:`EXCERPT_COLUMNS` (a million-row read costs per column).
        """
        where, params = [], []
        if source_id:
            # excerpt ids are "<source_id>-<index>", so one source's excerpts are a primary-key range
            where.append("e.excerpt_id > ? AND e.excerpt_id < ?")
            params += [f"{source_id}-", f"{source_id}-~"]
        if roles is not None:
            where.append(f"t.role IN ({','.join('?' * len(roles))})" if roles else "0")
            params += list(roles)
        wanted = list(EXCERPT_COLUMNS) if columns is None else list(columns)
        if unknown := [c for c in wanted if c not in EXCERPT_COLUMNS]:
            raise StoreError(f"No excerpt column {', '.join(map(repr, unknown))}; there are {', '.join(EXCERPT_COLUMNS)}.")
        if "text" in wanted:            # long sources' quotes are sliced in Python, from these
            wanted += [c for c in ("source_id", "start", "end") if c not in wanted]
        select = ", ".join(f'{EXCERPT_COLUMNS[c]} AS "{c}"' for c in wanted)
        df = self._quoted(self.frame(
            f"SELECT {select} FROM excerpts e JOIN sources s USING (source_id) "
            "JOIN turns t ON t.source_id = e.source_id AND t.turn_index = e.turn_index "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {'' if by_id else 's.name, '}e.excerpt_id", params,
            bulk=True))
        return df if columns is None else df[list(columns)]

    def _quoted(self, df: pd.DataFrame) -> pd.DataFrame:
        """Fill in the quotes :data:`_QUOTE` left to Python: those of very long sources, sliced here."""
        if "text" not in df.columns:
            return df
        long = df["text"].isna().to_numpy() if len(df) else []
        if not len(df) or not long.any():
            return df
        with self._reading() as con:
            texts = dict(_chunked_in(con, "SELECT source_id, text FROM sources WHERE source_id IN ({})",
                                     sorted(set(df.loc[long, "source_id"]))))
        df.loc[long, "text"] = [texts[s][a:b] for s, a, b in zip(df.loc[long, "source_id"], df.loc[long, "start"],
                                                                  df.loc[long, "end"])]
        return df

    def decisions(self, categorical: bool = False) -> pd.DataFrame:
        """The codings without rationale, memo and timestamps (what a map needs), in the order they were stored.

        ``categorical``: dimension, code, coder and status as categoricals (a map's millions of codings
        hold a few hundred distinct values; comparisons and groupings on them are then on small integers)."""
        return self.frame("SELECT excerpt_id, dimension, code_id, coder, confidence, status, value FROM codings "
                          "ORDER BY coding_id", categorical=("dimension", "code_id", "coder", "status") if categorical else (),
                          bulk=True)

    def codings(self) -> pd.DataFrame:
        return self.query(
            'SELECT coding_id, excerpt_id, dimension, code_id, coder, confidence, rationale, status, start, "end", '
            "value, memo, created_at FROM codings ORDER BY excerpt_id, dimension, coding_id")

    def turn_texts(self, source_ids: Iterable[str]) -> pd.DataFrame:
        """``source_id, turn_index, speaker, text`` of every turn of these sources."""
        sql = (f'SELECT t.source_id, t.turn_index, t.speaker, t.start, t."end", {_QUOTE.format(t="t")} AS text '
               "FROM turns t JOIN sources s USING (source_id) WHERE t.source_id IN ({})")
        rows = list(_chunked_in(self.con, sql, sorted(set(source_ids))))
        df = self._quoted(pd.DataFrame(rows, columns=["source_id", "turn_index", "speaker", "start", "end", "text"]))
        return df[["source_id", "turn_index", "speaker", "text"]]

    def coding_counts(self) -> pd.DataFrame:
        """How many codings each coder made per dimension: ``coder, dimension, n`` (the coders and dimensions a panel offers)."""
        return self.query("SELECT coder, dimension, count(*) AS n FROM codings GROUP BY coder, dimension "
                          "ORDER BY coder, dimension")

    def queue_counts(self, roles: tuple[str, ...]) -> pd.DataFrame:
        """Per dimension: excerpts of these roles left to review, and the human decisions (accepted / rejected).

        "Left to review" comes from the cards kept in SQL (``card_stats``: :func:`workbench.decisions.undecided`
        per excerpt and dimension), so it stays fast on big studies.
        """
        left = pd.DataFrame(sorted(self.card_dimension_counts(roles).items()), columns=["dimension", "to_review"])
        done = self.query(          # few rows: the human codings (a partial index), each joined to its turn's role
            "SELECT c.dimension, sum(c.status = 'accepted') AS accepted, sum(c.status = 'rejected') AS rejected "
            "FROM codings c JOIN excerpts e ON e.excerpt_id = c.excerpt_id "
            "JOIN turns t ON t.source_id = e.source_id AND t.turn_index = e.turn_index "
            f"WHERE {sql_is_human('c.coder')} AND t.role IN ({','.join('?' * len(roles))}) GROUP BY c.dimension",
            list(roles))
        dims = pd.DataFrame({"dimension": sorted(set(left["dimension"]) | set(done["dimension"]))}, dtype=object)
        out = dims.merge(left, on="dimension", how="left").merge(done, on="dimension", how="left").fillna(0)
        return out.astype({"to_review": int, "accepted": int, "rejected": int})[["dimension", "to_review", "accepted",
                                                                                 "rejected"]]

    def _voice_sql(self, roles: tuple[str, ...]) -> str:
        return ("SELECT e.excerpt_id FROM excerpts e JOIN turns t ON t.source_id = e.source_id "
                f"AND t.turn_index = e.turn_index WHERE t.role IN ({','.join('?' * len(roles))})")

    # ------------------------------------------------------------ review cards, ordered in SQL
    def refresh_cards(self) -> int:
        """Recompute the card statistics of every excerpt whose codings changed; returns how many."""
        if not self.con.in_transaction and self.con.execute("SELECT 1 FROM card_dirty LIMIT 1").fetchone() is None:
            return 0        # nothing changed: a reader takes no write lock
        with self.transaction() as con:
            n = con.execute("SELECT count(*) FROM card_dirty").fetchone()[0]
            if not n:
                return 0
            total = con.execute("SELECT count(*) FROM card_stats").fetchone()[0]
            everything = n > max(10_000, total // 4)          # a coding run: one pass over all codings is cheaper
            scope = "" if everything else "AND c.excerpt_id IN (SELECT excerpt_id FROM card_dirty)"
            con.execute("DELETE FROM card_stats" if everything else
                        "DELETE FROM card_stats WHERE excerpt_id IN (SELECT excerpt_id FROM card_dirty)")
            con.execute(
                "INSERT INTO card_stats SELECT top.excerpt_id, e.source_id, s.name, s.segment, t.role, count(*), "
                "min(top.conf), avg(top.conf), group_concat(top.dimension) FROM (SELECT c.excerpt_id, c.dimension, "
                "max(c.confidence) AS conf "
                f"FROM codings c WHERE c.status = 'suggested' AND NOT {sql_is_human('c.coder')} AND {sql_undecided('c')} "
                f"{scope} GROUP BY c.excerpt_id, c.dimension) top "
                "JOIN excerpts e ON e.excerpt_id = top.excerpt_id JOIN sources s ON s.source_id = e.source_id "
                "JOIN turns t ON t.source_id = e.source_id AND t.turn_index = e.turn_index GROUP BY top.excerpt_id")
            con.execute("DELETE FROM card_dirty")
        return n

    def _card_where(self, roles: tuple[str, ...], source: str | None, segment: str | None) -> tuple[str, list]:
        where, params = [f"role IN ({','.join('?' * len(roles))})" if roles else "0"], list(roles)
        if source:
            where.append("(source_id = ? OR source_name = ?)")
            params += [source, source]
        if segment:
            where.append("segment = ?")
            params.append(segment)
        return " AND ".join(where), params

    def card_rows(self, roles: tuple[str, ...], order: str = "uncertainty", source: str | None = None,
                  segment: str | None = None, offset: int = 0, limit: int | None = None) -> pd.DataFrame:
        """Review cards in order (``uncertainty``: least confident first; ``source``: reading order), a
        slice of them when ``limit`` is given: ``excerpt_id, source_name, n_suggestions, min_confidence,
        mean_confidence``."""
        self.refresh_cards()
        where, params = self._card_where(roles, source, segment)
        by = "min_conf, mean_conf, source_name, excerpt_id" if order != "source" else "source_name, excerpt_id"
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        return self.query(f"SELECT excerpt_id, source_name, n AS n_suggestions, min_conf AS min_confidence, "
                          f"mean_conf AS mean_confidence FROM card_stats WHERE {where} ORDER BY {by}{page}", params)

    def card_dimension_counts(self, roles: tuple[str, ...]) -> dict[str, int]:
        """Per dimension, the excerpts of these roles with an undecided machine suggestion in it."""
        self.refresh_cards()
        where, params = self._card_where(roles, None, None)
        out: dict[str, int] = {}
        for dims, n in self.con.execute(f"SELECT dims, count(*) FROM card_stats WHERE {where} GROUP BY dims", params):
            for d in dims.split(","):
                out[d] = out.get(d, 0) + n
        return out

    def card_total(self, roles: tuple[str, ...], source: str | None = None, segment: str | None = None) -> int:
        self.refresh_cards()
        where, params = self._card_where(roles, source, segment)
        return int(self.con.execute(f"SELECT count(*) FROM card_stats WHERE {where}", params).fetchone()[0])

    def open_suggestions(self, roles: tuple[str, ...], dimensions: Iterable[str] | None = None, source: str | None = None,
                         segment: str | None = None, coder: str | None = None) -> pd.DataFrame:
        """The undecided machine suggestions on excerpts of these roles, without texts (what a review queue sorts).

        ``coding_id, excerpt_id, dimension, code_id, coder, confidence, status, source_name``; "undecided" is
        :func:`workbench.decisions.undecided` in SQL. ``source`` is a source id or name.
        """
        where = [f"t.role IN ({','.join('?' * len(roles))})" if roles else "0", "c.status = 'suggested'",
                 f"NOT {sql_is_human('c.coder')}", sql_undecided("c")]
        params: list = list(roles)
        if dimensions is not None:
            dimensions = list(dimensions)
            where.append(f"c.dimension IN ({','.join('?' * len(dimensions))})" if dimensions else "0")
            params += dimensions
        if source:
            where.append("(s.source_id = ? OR s.name = ?)")
            params += [source, source]
        if segment:
            where.append("s.segment = ?")
            params.append(segment)
        if coder:
            where.append("c.coder = ?")
            params.append(coder)
        return self.query(
            "SELECT c.coding_id, c.excerpt_id, c.dimension, c.code_id, c.coder, c.confidence, c.status, s.name AS source_name "
            "FROM codings c JOIN excerpts e ON e.excerpt_id = c.excerpt_id JOIN sources s ON s.source_id = e.source_id "
            "JOIN turns t ON t.source_id = e.source_id AND t.turn_index = e.turn_index "
            f"WHERE {' AND '.join(where)}", params)

    def review_totals(self, roles: tuple[str, ...]) -> dict[str, int]:
        """Excerpts of these roles with at least one undecided machine suggestion, and those suggestions
        (one per excerpt and dimension, however many machine coders made one): ``{"excerpts", "suggestions"}``."""
        self.refresh_cards()
        where, params = self._card_where(roles, None, None)
        row = self.con.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM card_stats WHERE {where}", params).fetchone()
        return {"excerpts": int(row[0]), "suggestions": int(row[1])}

    def codings_of(self, excerpt_ids: Iterable[str]) -> pd.DataFrame:
        """:meth:`codings` of these excerpts only (a page of a review queue)."""
        cols = ["coding_id", "excerpt_id", "dimension", "code_id", "coder", "confidence", "rationale", "status", "start",
                "end", "value", "memo", "created_at"]
        rows = list(_chunked_in(self.con, 'SELECT coding_id, excerpt_id, dimension, code_id, coder, confidence, rationale, '
                                          'status, start, "end", value, memo, created_at FROM codings '
                                          "WHERE excerpt_id IN ({})", sorted(set(excerpt_ids))))
        df = pd.DataFrame(rows, columns=cols)
        return df.sort_values(["excerpt_id", "dimension", "coding_id"]).reset_index(drop=True)

    def excerpts_of(self, excerpt_ids: Iterable[str]) -> pd.DataFrame:
        """:meth:`excerpts` (same columns) of these excerpt ids only, in id order."""
        cols = ["excerpt_id", "source_id", "source_name", "turn_index", "speaker", "role", "participant", "segment",
                "channel", "language", "start", "end", "text"]
        sql = ("SELECT e.excerpt_id, e.source_id, s.name AS source_name, e.turn_index, t.speaker, t.role, "
               's.participant, s.segment, s.channel, e.language, e.start, e."end", '
               f'{_QUOTE.format(t="e")} AS text '
               "FROM excerpts e JOIN sources s USING (source_id) "
               "JOIN turns t ON t.source_id = e.source_id AND t.turn_index = e.turn_index WHERE e.excerpt_id IN ({})")
        df = pd.DataFrame(list(_chunked_in(self.con, sql, sorted(set(excerpt_ids)))), columns=cols)
        return self._quoted(df.sort_values("excerpt_id").reset_index(drop=True))

    def imports(self) -> pd.DataFrame:
        return self.query("SELECT * FROM imports ORDER BY import_id")

    def counts(self) -> dict[str, int]:
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("imports", "sources", "turns", "excerpts", "codings")}


_INSERT_CODING = ('INSERT INTO codings (excerpt_id, dimension, code_id, coder, confidence, rationale, status, start, "end", '
                  "value, memo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _coding_row(c: Coding, now: str) -> tuple:
    return (c.excerpt_id, c.dimension, c.code_id, c.coder, c.confidence, c.rationale, c.status,
            c.start, c.end, c.value, c.memo, c.created_at or now)


def _insert_coding(con: sqlite3.Connection, c: Coding, now: str) -> None:
    con.execute(_INSERT_CODING, _coding_row(c, now))


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def select_embeddings(con: sqlite3.Connection, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
    """Rows of an ``embeddings`` table (the study's, or the vector cache file's) by text hash."""
    out: dict[str, bytes] = {}
    for r in _chunked_in(con, "SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({})",
                         sorted(set(hashes)), prefix=(model,)):
        out[r[0]] = r[1]
    return out


def insert_embeddings(con: sqlite3.Connection, model: str, vectors: dict[str, bytes]) -> None:
    con.executemany("INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)",
                    [(model, h, v) for h, v in vectors.items()])


def _chunked_in(con: sqlite3.Connection, sql: str, values: list[str], size: int = 500,
               prefix: tuple = ()) -> Iterator[tuple]:
    for i in range(0, len(values), size):
        chunk = values[i:i + size]
        yield from con.execute(sql.format(",".join("?" * len(chunk))), (*prefix, *chunk))
