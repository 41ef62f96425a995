"""Crashes and full disks: `kill -9` mid-run and ENOSPC leave the study and the report folder as they were."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CORPORA, PY, ROOT
from workbench import files
from workbench.demo import sample_study
from workbench.files import atomic_write, atomic_write_many, leftovers, temp_path
from workbench.store import Store

TABLES = ("study", "imports", "sources", "turns", "excerpts", "codings")
REPORT_FILES = {"claims.csv", "curve.csv", "evidence.csv", "map.pdf", "map.png", "map.svg", "report.html", "study.json"}


@pytest.fixture(scope="module")
def uncoded(tmp_path_factory) -> Path:
    return sample_study(tmp_path_factory.mktemp("sample") / "study.db", CORPORA, coded=False)


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> Path:
    return sample_study(tmp_path_factory.mktemp("sample") / "study.db", CORPORA)


def copy(study: Path, tmp_path: Path) -> Path:
    path = tmp_path / "study.db"
    shutil.copy(study, path)
    return path


def dump(path: Path) -> dict[str, list[tuple]]:
    """The study's logical content: every row of every table, sorted."""
    with Store.open(path) as s:
        assert s.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {t: sorted(s.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def folder(out: Path) -> dict[str, bytes]:
    """The files a reader of the report folder sees (hidden temporary files are not outputs)."""
    return {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}


def start(*args: object) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([PY, "-m", "workbench.cli", *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(proc: subprocess.Popen, ready, what: str, timeout: float = 300) -> None:
    """SIGKILL ``proc`` the moment ``ready()`` is true: mid-work, not before start-up or after the end."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended ({proc.returncode}) before {what}: {proc.stderr.read()[-500:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.0005)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run finished before the kill landed"


def writing(path: Path):
    """True while another connection holds the study's write lock (a transaction in progress)."""
    probe = sqlite3.connect(path, isolation_level=None, timeout=0)

    def check() -> bool:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        probe.execute("ROLLBACK")
        return False

    return check


def test_kill_during_code_study_leaves_the_study_as_it_was(uncoded, tmp_path):
    path = copy(uncoded, tmp_path)
    before = dump(path)
    proc = start("code", "--study", path, "--no-progress")
    kill_when(proc, writing(path), "the coding run's write transaction")
    assert dump(path) == before                        # not one coding, not the settings
    done = start("code", "--study", path, "--no-progress")  # the study works: the next run codes it
    assert done.wait(timeout=120) == 0, done.stderr.read()
    after = dump(path)
    assert len(after["codings"]) > 0 and {k: v for k, v in after.items() if k != "codings" and k != "study"} == \
        {k: v for k, v in before.items() if k != "codings" and k != "study"}


def test_kill_during_map_leaves_the_previous_report_and_the_next_run_cleans_up(coded, tmp_path):
    path = copy(coded, tmp_path)
    out = tmp_path / "report"
    first = start("map", "--study", path, "--out", out, "--seed", "1")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    previous = folder(out)
    assert set(previous) == REPORT_FILES
    study = dump(path)
    proc = start("map", "--study", path, "--out", out)  # another seed: different bytes, if it got through
    kill_when(proc, lambda: bool(leftovers(out)), "the report's temporary files")
    assert folder(out) == previous                     # every file the previous run's, byte for byte
    assert leftovers(out)                              # the killed writer's hidden temporary files …
    assert dump(path) == study
    again = start("map", "--study", path, "--out", out)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert leftovers(out) == []                        # … removed by the next writer to the folder
    assert set(folder(out)) == REPORT_FILES and folder(out) != previous
    assert ".partial" not in stdout


def test_stale_temporary_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_tmp = tmp_path / f".claims.csv.{gone.pid}.0123abcd.partial"
        live_tmp = tmp_path / f".claims.csv.{alive.pid}.89abcdef.partial"
        mine = temp_path(tmp_path / "report.html")
        other = tmp_path / ".notes.partial"            # not a name the workbench makes
        for p in (dead_tmp, live_tmp, mine, other):
            p.write_text("half a file")
        atomic_write(tmp_path / "evidence.csv", "excerpt_id\n")
        assert not dead_tmp.exists()
        assert live_tmp.exists() and mine.exists() and other.exists()   # a running writer's files stay
        alive.kill()
        alive.wait()
        atomic_write_many(tmp_path, {"claims.csv": "claim_id\n"})
        assert not live_tmp.exists() and mine.exists() and other.exists()
        assert (tmp_path / "claims.csv").read_text() == "claim_id\n"
    finally:
        alive.kill()


def test_a_full_disk_during_a_report_keeps_the_previous_report(coded, tmp_path, cli, monkeypatch):
    path = copy(coded, tmp_path)
    out = tmp_path / "report"
    assert cli("map", "--study", path, "--out", out, "--seed", "1")[0] == 0
    previous = folder(out)
    calls = []
    real_fsync = os.fsync

    def fsync(fd):                                   # the disk fills up while the third file is written
        calls.append(fd)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    code, stdout, stderr = cli("map", "--study", path, "--out", out)
    assert code != 0 and len(calls) >= 3
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert "disk is full" in stderr and "Nothing was changed" in stderr and "free some space" in stderr
    assert folder(out) == previous and leftovers(out) == []


def test_kill_during_code_of_a_file_keeps_the_previous_output_and_hides_the_partial_one(tmp_path):
    texts = ["I waited twelve days for my card", "the app crashed at the selfie step", "thanks that sorted it",
             "why was I charged a fee nobody told me about", "llevo dos semanas esperando la tarjeta"]
    src = tmp_path / "posts.csv"
    src.write_text("id,text\n" + "".join(f"{i},{texts[i % 5]} ({i})\n" for i in range(60_000)), encoding="utf-8")
    out = tmp_path / "out" / "coded.csv"
    out.parent.mkdir()
    out.write_text("id,text,stage\n1,an earlier result,awareness\n", encoding="utf-8")
    previous = folder(out.parent)
    proc = start("code", src, "--text-column", "text", "--out", out, "--no-progress", "--emotion", "lexicon")
    kill_when(proc, lambda: bool(leftovers(out.parent)), "the coded file's temporary file")
    assert folder(out.parent) == previous and leftovers(out.parent)   # the half-coded rows are only in a hidden file
    small = tmp_path / "small.csv"
    small.write_text("id,text\n1,still no card\n", encoding="utf-8")
    again = start("code", small, "--text-column", "text", "--out", out, "--no-progress", "--emotion", "lexicon")
    assert again.wait(timeout=120) == 0, again.stderr.read()
    assert leftovers(out.parent) == [] and set(folder(out.parent)) == {"coded.csv"}
