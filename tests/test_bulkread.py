"""Big reads through Arrow in child processes (workbench.bulkread): the same map inputs, one moment of the study."""
from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest

from conftest import CORPORA
from workbench import bulkread, journey
from workbench.demo import run_demo
from workbench.report import write_report
from workbench.store import Store

pytestmark = pytest.mark.skipif(not bulkread.available(), reason="needs the scale extra (pyarrow, adbc-driver-sqlite)")


@pytest.fixture(scope="module")
def demo_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("bulk")
    run_demo(CORPORA, out, progress=False, notebook=False)
    return out / "study.db"


@pytest.fixture
def study(demo_study, tmp_path):
    path = tmp_path / "study.db"
    shutil.copy(demo_study, path)
    return path


def _inputs(path, bulk: bool, monkeypatch):
    seen = []
    real = Store.decisions

    def spy(self, *a, **k):
        seen.append(self.bulk)
        return real(self, *a, **k)

    monkeypatch.setattr(bulkread, "BULK_MIN_CODINGS", 1 if bulk else 10 ** 12)
    monkeypatch.setattr(Store, "decisions", spy)
    with Store.open(path) as s:
        inputs = journey.load_map_inputs(s)
    monkeypatch.setattr(Store, "decisions", real)
    assert seen == [bulk]
    return inputs


def test_bulk_reads_give_the_same_map_inputs_and_a_byte_identical_report(study, tmp_path, monkeypatch):
    # a long source's quotes are sliced in Python: one such source must come through the bulk path too
    with Store.open(study) as s:
        sid = s.con.execute("SELECT source_id FROM sources ORDER BY name LIMIT 1").fetchone()[0]
        s.con.execute("UPDATE sources SET n_chars = 10000000 WHERE source_id = ?", (sid,))
        s.con.execute("UPDATE sources SET participant = NULL WHERE source_id = ?", (sid,))
    fast, slow = _inputs(study, True, monkeypatch), _inputs(study, False, monkeypatch)
    for name in ("excerpts", "codings", "metrics"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))
    assert fast.codings["code_id"].dtype == "category" and fast.excerpts["text"].dtype == object
    assert fast.excerpts["text"].notna().all()
    assert fast.excerpts["participant"].isna().any()
    outs = []
    for inputs, name in ((fast, "fast"), (slow, "slow")):
        write_report(journey.build_map(inputs), tmp_path / name)
        outs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir()) if p.is_file()})
    assert outs[0] == outs[1] and "report.html" in outs[0]


def test_the_bulk_readers_see_the_moment_the_snapshot_sees_even_when_a_commit_lands_while_they_start(study, monkeypatch):
    monkeypatch.setattr(bulkread, "BULK_MIN_CODINGS", 1)
    real_pin = bulkread.BulkReader.pin
    pins = []

    def pin_after_a_commit(self):
        if not pins:                    # another process commits between the snapshot's start and a reader's
            with sqlite3.connect(study) as other:
                other.execute("INSERT INTO study (key, value) VALUES ('late', 'commit')")
        pins.append(1)
        real_pin(self)

    monkeypatch.setattr(bulkread.BulkReader, "pin", pin_after_a_commit)
    with Store.open(study) as s, s.snapshot(bulk=True):
        assert s.bulk
        mine = dict(s.con.execute("SELECT key, value FROM study").fetchall())
        theirs = s.frame("SELECT key, value FROM study ORDER BY key", bulk=True)
        assert dict(zip(theirs["key"], theirs["value"])) == mine
    assert mine.get("late") == "commit"             # the retry started after the commit: both see it
    assert len(pins) > bulkread.READERS              # the first pins were thrown away and made again


def test_without_the_extra_or_with_a_failing_reader_the_map_is_read_in_process(study, monkeypatch):
    monkeypatch.setattr(bulkread, "BULK_MIN_CODINGS", 1)
    monkeypatch.setattr(bulkread, "available", lambda: False)
    with Store.open(study) as s, s.snapshot(bulk=True):
        assert not s.bulk
    monkeypatch.undo()
    slow = _inputs(study, False, monkeypatch)
    monkeypatch.setattr(bulkread, "BULK_MIN_CODINGS", 1)
    monkeypatch.setattr(bulkread, "_CHILD", "import sys; sys.exit(3)")        # the child dies at once
    with Store.open(study) as s:
        with s.snapshot(bulk=True):
            assert not s.bulk
        inputs = journey.load_map_inputs(s)
    pd.testing.assert_frame_equal(inputs.codings, slow.codings)
    # a reader that dies after pinning: each query falls back to this connection, in the same snapshot
    monkeypatch.setattr(bulkread, "_CHILD", "import sys; from workbench.bulkread import _serve; _serve(sys.argv[1])")
    monkeypatch.setattr(bulkread.BulkReader, "frame", lambda self, *a: self.proc.kill() or None)
    with Store.open(study) as s:
        inputs = journey.load_map_inputs(s)
    pd.testing.assert_frame_equal(inputs.excerpts, slow.excerpts)
    pd.testing.assert_frame_equal(inputs.codings, slow.codings)


def test_to_frame_keeps_what_sqlite3_gives_for_nulls_empty_columns_and_categories():
    import pyarrow as pa

    t = pa.table({"i": pa.array([1, None, 3]), "f": pa.array([0.5, None, 1.0]), "s": pa.array(["b", None, "a"]),
                  "none": pa.array([None, None, None], pa.int64()), "c": pa.array(["z", "y", None]).dictionary_encode()})
    df = bulkread.to_frame(t, categorical=("c",))
    assert df["i"].dtype == float and pd.isna(df["i"][1]) and df["f"].tolist()[::2] == [0.5, 1.0]
    assert df["s"].dtype == object and df["s"][0] == "b" and df["s"][1] is not None and pd.isna(df["s"][1])
    assert df["none"].dtype == object and df["none"].isna().all()
    assert list(df["c"].cat.categories) == ["y", "z"] and df["c"].tolist()[:2] == ["z", "y"] and pd.isna(df["c"][2])
    assert bulkread.to_frame(t.slice(0, 0)) is None             # no rows: no types to trust
