"""The command line a researcher uses: init → ingest → sources → excerpts."""
from __future__ import annotations

import csv
import io
import json

from conftest import write

P1 = ("Interviewer: How did you open the account?\n\nP1: In the app. The selfie check failed three times, "
      "so I gave up and went to the branch.\n\nInterviewer: ¿Y después?\n\nP1: Pues después bien, la verdad.\n")


def test_init_ingest_sources_excerpts(tmp_path, cli):
    study = tmp_path / "s.db"
    code, out, _ = cli("init", study)
    assert code == 0 and "Created study" in out
    meta = write(tmp_path / "meta.csv", "file,participant,segment,channel\np1.txt,P01,young_professional,video\n")
    code, out, err = cli("ingest", write(tmp_path / "p1.txt", P1), "--study", study, "--meta", meta, "--no-progress")
    assert code == 0, err
    assert "imported 1 source(s), 4 turns, 4 excerpts" in out

    code, out, _ = cli("sources", "--study", study)
    assert "p1.txt" in out and "young_professional" in out and "P01" in out

    code, out, _ = cli("excerpts", "--study", study, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:8] == ["excerpt_id", "source_id", "source_name", "speaker", "role", "participant", "segment", "channel"]
    assert {"language", "start", "end", "text"} <= set(rows[0])
    by_text = {r["text"]: r for r in rows}
    spanish = by_text["Pues después bien, la verdad."]
    assert (spanish["role"], spanish["language"], spanish["speaker"]) == ("participant", "es", "P1")
    assert by_text["¿Y después?"]["role"] == "interviewer"
    assert P1[int(spanish["start"]):int(spanish["end"])] == spanish["text"]

    code, out, _ = cli("excerpts", "--study", study, "--format", "jsonl", "--role", "participant")
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 2 and all(r["role"] == "participant" for r in recs)

    code, out, _ = cli("ingest", tmp_path / "p1.txt", "--study", study, "--no-progress")
    assert code == 0 and "already imported" in out and "nothing changed" in out


def test_ingest_into_missing_study_says_how_to_create_it(tmp_path, cli):
    code, _, err = cli("ingest", write(tmp_path / "p1.txt", P1), "--study", tmp_path / "none.db")
    assert code == 2 and "workbench init" in err


def test_init_refuses_to_overwrite(tmp_path, cli):
    study = tmp_path / "s.db"
    assert cli("init", study)[0] == 0
    code, _, err = cli("init", study)
    assert code == 2 and "already exists" in err


def test_excerpts_to_file(tmp_path, cli, study):
    cli("ingest", write(tmp_path / "p1.txt", P1), "--study", study, "--no-progress")
    out_file = tmp_path / "x" / "excerpts.jsonl"
    code, _, err = cli("excerpts", "--study", study, "--format", "jsonl", "--out", out_file)
    assert code == 0 and len(out_file.read_text(encoding="utf-8").splitlines()) == 4
