"""The study store: transactional, deduplicating, migrating, safe for a reader beside a writer."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from conftest import file_digest, write
from workbench import ingest_paths
from workbench.errors import StoreError
from workbench.model import Coding
from workbench.store import SCHEMA_VERSION, Store

TRANSCRIPT = "Interviewer: How was opening the account?\n\nP1: Slow. I waited twelve days for the card. Then it was fine.\n"


def test_wal_mode_and_schema_version(study):
    with Store.open(study) as s:
        assert s.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.counts() == {"imports": 0, "sources": 0, "turns": 0, "excerpts": 0, "codings": 0}


def test_old_empty_database_is_migrated_and_newer_refused(tmp_path):
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()  # a schema-0 file
    with Store.open(old) as s:
        assert s.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    newer = tmp_path / "newer.db"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    before = file_digest(newer)
    with pytest.raises(StoreError, match="newer workbench"):
        Store.open(newer)
    assert file_digest(newer) == before


def test_not_a_study_and_missing_study(tmp_path):
    with pytest.raises(StoreError, match="workbench init"):
        Store.open(tmp_path / "nope.db")
    with pytest.raises(StoreError, match="not a workbench study"):
        Store.open(write(tmp_path / "x.db", "hello"))
    with pytest.raises(StoreError, match="already exists"):
        Store.create(write(tmp_path / "y.db", "hello"))


def test_reimport_same_bytes_and_same_text_is_a_noop(study, tmp_path):
    p = write(tmp_path / "p1.txt", TRANSCRIPT)
    with Store.open(study) as s:
        first = ingest_paths(s, [p]).reports[0]
        assert first.status == "imported" and first.n_excerpts == 3  # "Slow." is too short alone: it joins the next sentence
        counts = s.counts()
    digest = file_digest(study)
    with Store.open(study) as s:
        again = ingest_paths(s, [p]).reports[0]
        assert again.status == "skipped" and "already imported" in again.message
        utf16 = write(tmp_path / "copy_utf16.txt", TRANSCRIPT.replace("\n", "\r\n"), "utf-16")
        same_text = ingest_paths(s, [utf16]).reports[0]
        assert same_text.status == "skipped" and "same text" in same_text.message
        assert s.counts() == counts
    assert file_digest(study) == digest


def test_failure_midway_rolls_back_the_whole_file(study, tmp_path):
    p = write(tmp_path / "calls.csv", "conversation_id,role,text\n" + "".join(
        f"C{i},customer,Message number {i}. Still waiting.\n" for i in range(50)))
    with Store.open(study) as s:
        ingest_paths(s, [write(tmp_path / "p1.txt", TRANSCRIPT)])
    digest = file_digest(study)
    from workbench.ingest import read_path
    from workbench.nlp import Segmenter
    from workbench.pipeline import prepare
    result = read_path(p)
    stored_before_failure = []

    def prepare_then_fail(items):
        """Real rows, one source per chunk (each written as it comes), then a failure at the 30th."""
        for i, item in enumerate(items):
            if i == 29:
                raise OSError("disk full")
            yield from prepare([item], Segmenter(), {}, {})
            stored_before_failure.append(item[1])

    with Store.open(study) as s:
        with pytest.raises(OSError, match="disk full"):
            s.import_sources(str(p), result.file_hash, "call_log@1", result.sources, prepare_then_fail)
        assert len(stored_before_failure) == 29                 # 29 sources had been inserted when it failed
        assert s.counts()["sources"] == 1 and s.counts()["imports"] == 1
    assert file_digest(study) == digest


def test_reader_sees_consistent_snapshot_while_writer_imports(study, tmp_path):
    big = write(tmp_path / "calls.csv", "conversation_id,role,text\n" + "".join(
        f"C{i // 5},{'agent' if i % 2 else 'customer'},Utterance {i}. The card arrived late again.\n" for i in range(20000)))
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def read_loop():
        with Store.open(study) as reader:
            while not done.is_set():
                with _snapshot(reader.con):
                    n_src = reader.con.execute("SELECT count(*) FROM sources").fetchone()[0]
                    n_imp = reader.con.execute("SELECT coalesce(sum(n_sources), 0) FROM imports").fetchone()[0]
                seen.append((n_src, n_imp))

    t = threading.Thread(target=read_loop)
    t.start()
    try:
        with Store.open(study) as writer:
            report = ingest_paths(writer, [big]).reports[0]
    finally:
        done.set()
        t.join()
    assert report.n_excerpts == 40000
    assert seen and all(a in (0, 4000) and a == b for a, b in seen), seen[:5]


class _snapshot:
    """A read transaction: both counts come from one consistent snapshot."""

    def __init__(self, con):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN")

    def __exit__(self, *exc):
        self.con.execute("COMMIT")


def test_human_coding_is_never_overwritten_by_a_rerun(study, tmp_path):
    with Store.open(study) as s:
        ingest_paths(s, [write(tmp_path / "p1.txt", TRANSCRIPT)])
        ex = s.excerpts()
        e1, e2 = ex["excerpt_id"].iloc[1], ex["excerpt_id"].iloc[2]
        s.add_codings([Coding(e1, "stage", "onboarding", "rules@1", 0.6, "cue 'card'"),
                       Coding(e2, "stage", "usage", "rules@1", 0.5, "cue 'fine'")])
        s.add_codings([Coding(e1, "stage", "service", "human:ana", 1.0, "recoded in review", status="accepted")])
        stored = s.add_codings([Coding(e1, "stage", "onboarding", "rules@1", 0.7, "re-run"),
                                Coding(e2, "stage", "usage", "rules@1", 0.55, "re-run")])
        c = s.codings()
    assert stored == 1
    assert sorted(zip(c.excerpt_id, c.coder, c.code_id, c.status)) == sorted([
        (e1, "rules@1", "onboarding", "suggested"), (e1, "human:ana", "service", "accepted"),
        (e2, "rules@1", "usage", "suggested")])
    assert c.loc[c.excerpt_id == e2, "confidence"].item() == 0.55  # the re-run replaced its own suggestion


def test_upgraded_coder_replaces_its_older_versions_suggestions_only(study, tmp_path):
    with Store.open(study) as s:
        ingest_paths(s, [write(tmp_path / "p1.txt", TRANSCRIPT)])
        e1 = s.excerpts()["excerpt_id"].iloc[1]
        s.add_codings([Coding(e1, "stage", "onboarding", "rules@1", 0.6, "old"),
                       Coding(e1, "emotion", "joy", "emotion@1", 0.6, "another coder"),
                       Coding(e1, "stage", "usage", "rulesplus@1", 0.6, "a different coder whose name starts alike")])
        s.add_codings([Coding(e1, "stage", "service", "rules@2", 0.7, "new")])
        c = s.codings()
    assert sorted(zip(c.coder, c.code_id)) == [("emotion@1", "joy"), ("rules@2", "service"), ("rulesplus@1", "usage")]


def test_coding_for_unknown_excerpt_changes_nothing(study):
    digest = file_digest(study)
    with Store.open(study) as s:
        with pytest.raises(StoreError, match="Unknown excerpt id 'nope'"):
            s.add_codings([Coding("nope", "stage", "usage", "rules@1", 0.5)])
    assert file_digest(study) == digest


def test_dataframes_have_the_documented_columns(study, tmp_path):
    with Store.open(study) as s:
        ingest_paths(s, [write(tmp_path / "p1.txt", TRANSCRIPT)])
        assert {"excerpt_id", "source_id", "speaker", "role", "language", "start", "end", "text"} <= set(s.excerpts())
        assert {"source_id", "name", "kind", "language", "segment", "participant"} <= set(s.sources())
        assert {"source_id", "turn_index", "speaker", "role", "start", "end", "text"} <= set(s.turns())
        assert {"excerpt_id", "dimension", "code_id", "coder", "confidence", "rationale", "status"} <= set(s.codings())
        text = s.source_text(s.sources()["source_id"].iloc[0])
        for row in s.excerpts().itertuples():
            assert text[row.start:row.end] == row.text


def test_quotes_of_a_very_long_source_are_exact(study, tmp_path):
    """Past LONG_SOURCE_CHARS the quotes are sliced in Python (SQLite's substr walks the text from its start)."""
    from workbench.store import LONG_SOURCE_CHARS
    turn = "Interviewer: Qué tal la tarjeta, ¿llegó? 🙂\nP1: Llegó tardísimo, doce días, y el envío costó 5 €.\n"
    p = write(tmp_path / "long.txt", turn * (LONG_SOURCE_CHARS // len(turn) + 50))
    short = write(tmp_path / "p1.txt", TRANSCRIPT)
    with Store.open(study) as s:
        ingest_paths(s, [p, short], progress=False)
        src = s.sources()
        assert src["n_chars"].max() > LONG_SOURCE_CHARS >= src["n_chars"].min()
        texts = {sid: s.source_text(sid) for sid in src["source_id"]}
        ex, turns = s.excerpts(), s.turns()
        context = s.turn_texts(src["source_id"])
    for frame in (ex, turns):
        assert frame["text"].notna().all() and frame.groupby("source_id").size().min() > 0
        assert [texts[i][a:b] for i, a, b in zip(frame["source_id"], frame["start"], frame["end"])] == frame["text"].tolist()
    by_turn = ["source_id", "turn_index"]
    assert context.set_index(by_turn)["text"].sort_index().equals(turns.set_index(by_turn)["text"].sort_index())


def test_chosen_excerpt_columns_and_compact_decisions_match_the_full_reads(study, tmp_path):
    """A map reads fewer columns (and codes as categoricals): the same values, long-source quotes included."""
    from workbench.store import LONG_SOURCE_CHARS
    turn = "Interviewer: ¿Y la app?\nP2: Se cierra sola al pagar, tres veces.\n"
    long = write(tmp_path / "long.txt", turn * (LONG_SOURCE_CHARS // len(turn) + 5))
    with Store.open(study) as s:
        ingest_paths(s, [write(tmp_path / "p1.txt", TRANSCRIPT), long], progress=False)
        full = s.excerpts(by_id=True)
        some = s.excerpts(by_id=True, columns=["excerpt_id", "segment", "text"])
        assert list(some.columns) == ["excerpt_id", "segment", "text"]
        assert some.equals(full[["excerpt_id", "segment", "text"]])
        assert full["segment"].isna().all() and full["text"].notna().all()     # NULL is NaN, as before
        ex = full["excerpt_id"].tolist()
        s.add_codings([Coding(ex[0], "stage", "usage", "rules@1", 0.8, "cue"),
                       Coding(ex[1], "emotion", "frustration", "rules@1", 0.6, "cue", value=-0.7)])
        plain, compact = s.decisions(), s.decisions(categorical=True)
        assert str(compact["coder"].dtype) == "category"
        assert compact.astype({c: object for c in ("dimension", "code_id", "coder", "status")}).equals(plain)
        assert plain["value"].isna().tolist() == [True, False]
        with pytest.raises(StoreError, match="No excerpt column 'mood'"):
            s.excerpts(columns=["excerpt_id", "mood"])
