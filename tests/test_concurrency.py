"""Several processes on one study: a notebook deciding while coding runs and a map run work.

The study is shared through SQLite (WAL): writers take turns, a waiting writer retries with
backoff for a bounded time and then says who holds the study; readers never wait for writers.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import CORPORA, PY, ROOT, write
from workbench.coding.run import code_study, default_coder
from workbench.demo import sample_study
from workbench.errors import StoreError
from workbench.pipeline import ingest_paths
from workbench.review import decide, review_queue
from workbench.store import Store

REPORT_FILES = {"claims.csv", "curve.csv", "evidence.csv", "map.pdf", "map.png", "map.svg", "report.html", "study.json"}


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> Path:
    return sample_study(tmp_path_factory.mktemp("sample") / "study.db", CORPORA)


@pytest.fixture
def sample(coded, tmp_path) -> Path:
    path = tmp_path / "study.db"
    shutil.copy(coded, path)
    return path


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def workbench(*args: object) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "workbench.cli", *map(str, args)], env=env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def human_decisions(path: Path) -> set[tuple]:
    with Store.open(path) as s:
        c = s.codings()
    h = c[c["coder"].str.startswith("human:")]
    return set(zip(h["excerpt_id"], h["dimension"], h["code_id"], h["coder"], h["status"]))


def holder(path: Path) -> sqlite3.Connection:
    """Another process's writer, as far as the store can tell: a connection holding the write lock."""
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")
    return con


# ----------------------------------------------------------------- the store's lock handling
def test_a_write_waits_for_another_writer_then_goes_through(sample, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "30")
    with Store.open(sample) as s:
        item = review_queue(s).iloc[0]
        other = holder(sample)
        threading.Timer(0.5, other.commit).start()      # the other writer finishes half a second later
        decide(s, item, "accept", coder="ana")          # waits instead of failing
        assert s.retries > 0
    assert (item["excerpt_id"], item["dimension"], item["code_id"], "human:ana", "accepted") in human_decisions(sample)


def test_a_study_held_too_long_gives_a_clear_error_and_changes_nothing(sample, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "0.5")
    before = human_decisions(sample)
    with Store.open(sample) as s:
        item = review_queue(s).iloc[0]
        other = holder(sample)
        try:
            assert not review_queue(s).empty and not s.codings().empty     # reading does not wait for it
            with pytest.raises(StoreError) as err:
                decide(s, item, "accept", coder="ana")
        finally:
            other.rollback()
            other.close()
        message = str(err.value)
        assert "Another process is writing to the study" in message and "WORKBENCH_LOCK_TIMEOUT" in message
        assert "database is locked" not in message and "\n" not in message
        decide(s, item, "reject", coder="ana")          # once free, the same connection writes again
    assert human_decisions(sample) == before | {(item["excerpt_id"], item["dimension"], item["code_id"], "human:ana",
                                                  "rejected")}


def test_opening_a_study_another_process_holds_exclusively_gives_the_clear_error(study, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "0.3")
    con = sqlite3.connect(study, isolation_level=None)
    con.execute("PRAGMA journal_mode = DELETE")      # a study copied to a file system without WAL support
    con.execute("BEGIN EXCLUSIVE")                   # … while another process commits to it
    try:
        with pytest.raises(StoreError, match="Another process is writing to the study"):
            Store.open(study)
    finally:
        con.rollback()
        con.close()
    with Store.open(study) as s:                     # and once it is done, the study opens (in WAL mode again)
        assert s.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_full_disk_during_an_import_changes_nothing_and_says_so(sample, tmp_path, cli, monkeypatch):
    log = write(tmp_path / "calls.csv", "conversation_id,role,text\n" + "".join(
        f"C{i // 6},{'customer' if i % 2 else 'agent'},I waited {i} days for my card and nobody called back\n"
        for i in range(3000)))
    with Store.open(sample) as s:
        before = s.counts(), s.codings().drop(columns="created_at")
    real_open = Store.open

    def nearly_full(path):                  # a real SQLITE_FULL: the study may grow by two pages only
        store = real_open(path)
        pages = store.con.execute("PRAGMA page_count").fetchone()[0]
        store.con.execute(f"PRAGMA max_page_count = {pages + 2}")
        return store

    monkeypatch.setattr(Store, "open", staticmethod(nearly_full))
    code, out, err = cli("ingest", log, "--study", sample, "--no-progress")
    assert code != 0 and err.startswith("error: ") and err.count("\n") == 1
    assert "disk is full" in err and "free some space" in err and "Nothing was changed" in err
    monkeypatch.setattr(Store, "open", staticmethod(real_open))
    with Store.open(sample) as s:
        assert s.counts() == before[0] and s.codings().drop(columns="created_at").equals(before[1])
        assert s.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ingest_paths(s, [log], progress=False)          # with room again the same import goes through
        assert s.counts()["sources"] > before[0]["sources"]


def test_a_coding_run_stores_its_codings_and_settings_as_one(tmp_path):
    path = sample_study(tmp_path / "study.db", CORPORA, coded=False)
    with Store.open(path) as s:
        before = s.counts(), s.info()

        def fail(values):
            raise OSError("killed between the codings and the settings")

        s.set_info = fail
        with pytest.raises(OSError):
            code_study(s, default_coder())
    with Store.open(path) as s:                          # not codings made with settings nobody recorded
        assert (s.counts(), s.info()) == before


# ----------------------------------------------------------------- real processes at once
def test_a_map_reads_one_moment_of_the_study_while_decisions_land(sample, monkeypatch):
    """build_map reads excerpts, codings and settings in several queries: all from one snapshot."""
    import workbench.journey as journey

    with Store.open(sample) as other:
        queue = review_queue(other, dimension="pain_point")
        item = queue[queue["code_id"] != "none"].iloc[0]     # a pain point on the map, so rejecting it shows
    decided_meanwhile = []
    real = journey.study_stage_model

    def stage_model_then_a_decision_lands(store, name=None):
        model = real(store, name)           # read after the excerpts, before the codings
        with Store.open(sample) as other:
            decide(other, item, "reject", coder="ana")
        decided_meanwhile.append(True)
        return model

    with Store.open(sample) as s:
        before = journey.build_map(s)
        monkeypatch.setattr(journey, "study_stage_model", stage_model_then_a_decision_lands)
        during = journey.build_map(s)
        monkeypatch.setattr(journey, "study_stage_model", real)
        after = journey.build_map(s)
    assert decided_meanwhile
    assert during.claims_frame().equals(before.claims_frame())      # the map is of the moment it began
    assert not after.claims_frame().equals(before.claims_frame())   # the decision is there for the next map


def test_decisions_survive_two_coding_runs_and_a_map_at_once(sample, tmp_path):
    """A notebook makes 40 decisions while two `code --study` runs and a `map` run work on the same study."""
    out = tmp_path / "report"
    before = human_decisions(sample)
    with Store.open(sample) as s:
        queue = review_queue(s)
        procs = [workbench("code", "--study", sample, "--no-progress"), workbench("code", "--study", sample, "--no-progress"),
                 workbench("map", "--study", sample, "--out", out)]
        made, i = set(), 0
        # at least 40 decisions, at a quick researcher's pace, and on until every run is done, so
        # decisions land before, during and after the runs' writes
        while i < 40 or (any(p.poll() is None for p in procs) and i < len(queue)):
            item = queue.iloc[(i * 37) % len(queue)]
            action = ("accept", "reject", "recode")[i % 3]
            new = decide(s, item, action, coder=f"human:c{i % 2}",
                         code_id="waiting" if item["code_id"] != "waiting" else "fees")
            made |= {(c.excerpt_id, c.dimension, c.code_id, c.coder, c.status) for c in new}
            i += 1
            time.sleep(0.05)
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, stdout, stderr in results:
        assert code == 0, stderr
        assert "locked" not in stderr.lower() and "Traceback" not in stderr
    assert "Coded" in results[0][1] and "Coded" in results[1][1] and "Journey map" in results[2][1]
    after = human_decisions(sample)
    assert made <= after and after == before | made            # every decision there, none lost or changed
    with Store.open(sample) as s:                   # and the coding runs did not bring decided items back
        left = review_queue(s)
    assert not set(zip(left["excerpt_id"], left["dimension"])) & {(e, d) for e, d, *_ in made}
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    assert all((out / f).stat().st_size > 0 for f in REPORT_FILES)
