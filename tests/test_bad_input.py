"""Bad input: a one-line error that says what to do, a non-zero exit, and the study unchanged."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import docx
import pytest

from conftest import PY, ROOT, file_digest, write
from workbench.store import Store

GOOD = "Interviewer: How was it?\n\nP1: The card took twelve days. The app was fine though.\n"


@pytest.fixture
def stocked(study, tmp_path, cli):
    """A study that already holds one import, so 'unchanged' means something."""
    code, out, err = cli("ingest", write(tmp_path / "good.txt", GOOD), "--study", study)
    assert code == 0, err
    return study


def _truncated_docx(tmp_path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("Interviewer: hi")
    buf = io.BytesIO()
    d.save(buf)
    return write(tmp_path / "broken.docx", "").parent / "broken.docx" if not (tmp_path / "broken.docx").write_bytes(
        buf.getvalue()[:3000]) else tmp_path / "broken.docx"


def _zip_without_document(tmp_path: Path) -> Path:
    p = tmp_path / "notword.docx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not a word file")
    return p


BAD_CASES = {
    "missing path": (lambda t: t / "does_not_exist.txt", [], "no such file"),
    "binary renamed .txt": (lambda t: _bytes(t / "photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), [], "PNG image"),
    "pdf renamed .txt": (lambda t: _bytes(t / "report.txt", b"%PDF-1.7\n" + bytes(range(256))), [], "PDF document"),
    "empty file": (lambda t: _bytes(t / "empty.txt", b""), [], "empty"),
    "whitespace only": (lambda t: _bytes(t / "blank.vtt", b"  \n\n \t\n"), [], "empty"),
    "truncated docx": (_truncated_docx, [], "damaged"),
    "zip that is not a docx": (_zip_without_document, [], "damaged"),
    "ragged csv": (lambda t: write(t / "calls.csv", "conversation_id,role,text\nC1,customer,hi\nC1,agent,a,b\n"), [],
                   "line 3 has 4 fields but the header has 3"),
    "csv without text column": (lambda t: write(t / "calls.csv", "id,who,body_of_msg\n1,a,b\n"), [],
                                "the file has columns: id, who, body_of_msg"),
    "wrong text column": (lambda t: write(t / "calls.csv", "id,who,msg\n1,a,b\n"), ["--text-column", "texto"],
                          "no column 'texto'"),
    "undecodable bytes": (lambda t: _bytes(t / "cp.txt", b"P1: caf\x81\x8d\x8f\x90\x9d\n"), [], "not valid UTF-8"),
    "file over size limit": (lambda t: write(t / "big.txt", "P1: " + "word " * 300_000), ["--max-file-mb", "1"],
                             "over the 1 MB limit"),
    "unknown kind": (lambda t: write(t / "a.txt", GOOD), ["--kind", "pdf"], "Unknown --kind 'pdf'"),
    "unknown extension": (lambda t: write(t / "notes.pages", GOOD), [], "no reader for .pages"),
    "malformed jsonl": (lambda t: write(t / "c.jsonl", '{"text": "hi"}\n{"text": \n'), [], "line 2 is not valid JSON"),
    "no speaker turns in vtt": (lambda t: write(t / "x.vtt", "WEBVTT\n\nNOTE nothing here\n"), [], "no cues"),
}


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_refused_and_store_is_byte_identical(case, stocked, tmp_path, cli):
    make, extra, expected = BAD_CASES[case]
    bad = make(tmp_path)
    digest = file_digest(stocked)
    code, out, err = cli("ingest", bad, "--study", stocked, *extra)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    assert file_digest(stocked) == digest


def test_one_bad_file_among_good_ones_imports_nothing(stocked, tmp_path, cli):
    good2 = write(tmp_path / "in" / "a_good.txt", GOOD.replace("twelve", "ten"))
    write(tmp_path / "in" / "b_empty.txt", "")
    digest = file_digest(stocked)
    code, _, err = cli("ingest", good2.parent, "--study", stocked)
    assert code != 0 and "empty" in err
    assert file_digest(stocked) == digest
    code, out, err = cli("ingest", good2.parent, "--study", stocked, "--skip-bad")
    assert code == 1 and "imported 1 source" in out and "empty" in err


def test_size_limit_can_be_raised_by_environment(stocked, tmp_path, cli, monkeypatch):
    big = write(tmp_path / "big.txt", "Interviewer: Go on?\nP1: " + "It was slow. " * 100_000)
    monkeypatch.setenv("WORKBENCH_MAX_FILE_MB", "0.5")
    code, _, err = cli("ingest", big, "--study", stocked)
    assert code != 0 and "WORKBENCH_MAX_FILE_MB" in err
    monkeypatch.setenv("WORKBENCH_MAX_FILE_MB", "5")
    code, out, err = cli("ingest", big, "--study", stocked, "--no-progress")
    assert code == 0, err


def test_kill_9_during_a_large_import_leaves_the_store_as_it_was(stocked, tmp_path):
    """Start a big import in another process, kill -9 it while it writes, check nothing changed."""
    rows = "".join(f"C{i // 8},{'agent' if i % 2 else 'customer'},\"Line {i}. Still waiting for the card, day {i % 30}.\"\n"
                   for i in range(150_000))
    big = write(tmp_path / "huge_calls.csv", "conversation_id,role,text\n" + rows)
    with Store.open(stocked) as s:
        before = {k: s.query(f"SELECT * FROM {k}").to_csv() for k in ("imports", "sources", "turns", "excerpts")}
    digest = file_digest(stocked)
    wal = Path(f"{stocked}-wal")
    proc = subprocess.Popen([PY, "-m", "workbench.cli", "ingest", str(big), "--study", str(stocked), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > 1_000_000:  # the transaction is writing pages
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the import finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store.open(stocked) as s:
        after = {k: s.query(f"SELECT * FROM {k}").to_csv() for k in ("imports", "sources", "turns", "excerpts")}
        assert s.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert after == before
    assert file_digest(stocked) == digest
