"""The one table reader: every command that reads CSV/TSV/JSONL refuses the same bad file the same way."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import CORPORA, file_digest, write
from workbench.errors import InputError
from workbench.store import Store
from workbench.tables import parse_table, read_table

# The export of the issue: one quote opened on line 2 and never closed.
UNTERMINATED = ('turn,role,text\n1,agent,"Hello, how can I help\n2,customer\n3,agent,ok,extra,fields,here\n'
                'unterminated\n')


@pytest.fixture
def stocked(study, tmp_path, cli):
    code, _, err = cli("ingest", write(tmp_path / "good.txt", "Interviewer: How was it?\nP1: The card was late.\n"),
                       "--study", study)
    assert code == 0, err
    return study


def test_unterminated_quote_is_refused_naming_the_line_and_the_study_is_unchanged(stocked, tmp_path, cli):
    calls = write(tmp_path / "calls.csv", UNTERMINATED)
    digest = file_digest(stocked)
    code, out, err = cli("ingest", calls, "--study", stocked)
    assert code == 2 and "imported" not in out
    assert "the quote opened on line 2 is never closed" in err and len(err.strip().splitlines()) == 1
    assert file_digest(stocked) == digest


def test_unterminated_quote_line_is_where_it_opened_not_where_the_row_began(tmp_path):
    text = 'id,text\n1,"fine\nsecond line of a quoted cell"\n2,ok\n3,"opens here\n4,never closed\n'
    with pytest.raises(InputError, match="opened on line 5 is never closed"):
        list(parse_table(text, tmp_path / "c.csv").records())


@pytest.mark.parametrize("text, expected", [
    ('id,text\n1,"closed" then more\n', "on line 2 a quoted field is followed by more text"),
    ("id,text\n1,a\n2,b,c\n", "line 3 has 3 fields but the header has 2"),
    ("id,text\n1\n", "line 2 has 1 fields but the header has 2"),
    ("id,id\n1,2\n", "the header names id more than once"),
])
def test_malformed_rows_are_named_by_line(tmp_path, text, expected):
    with pytest.raises(InputError, match=expected):
        list(parse_table(text, tmp_path / "c.csv").records())


def test_quoted_cells_keep_newlines_delimiters_and_escaped_quotes(tmp_path):
    table = parse_table('id;text\n1;"He said ""no"";\nthen left"\n\n2;plain\n', tmp_path / "c.csv")
    assert table.delimiter == ";" and table.columns == ["id", "text"]
    assert list(table.records()) == [(2, {"id": "1", "text": 'He said "no";\nthen left'}), (5, {"id": "2", "text": "plain"})]


@pytest.mark.parametrize("command", ["code", "themes", "evaluate"])
def test_every_command_refuses_the_same_bad_file_the_same_way(tmp_path, cli, command):
    bad = write(tmp_path / "posts.csv", UNTERMINATED)
    out = tmp_path / "out.csv"
    args = {"code": ("code", bad, "--text-column", "text", "--out", out, "--no-progress"),
            "themes": ("themes", bad, "--text-column", "text", "--out", out, "--no-progress"),
            "evaluate": ("evaluate", "--gold", bad, "--pred", bad, "--columns", "role")}[command]
    code, _, err = cli(*args)
    assert code == 2 and "the quote opened on line 2 is never closed" in err
    assert not out.exists()


def test_jsonl_lines_must_be_objects_and_not_nested_too_deep(tmp_path):
    with pytest.raises(InputError, match="line 2 is a JSON list, not an object"):
        read_table(write(tmp_path / "a.jsonl", '{"text": "ok"}\n[1, 2]\n'))
    with pytest.raises(InputError, match="line 1 is nested too deeply"):
        read_table(write(tmp_path / "b.jsonl", '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"))
    table = read_table(write(tmp_path / "c.jsonl", '{"text": "ok", "csat": 4}\n\n{"text": "late", "nps": 2}\n'))
    frame = table.frame()
    assert table.columns == ["text", "csat", "nps"] and list(frame["text"]) == ["ok", "late"]
    assert frame["csat"].tolist()[0] == 4 and pd.isna(frame["nps"].tolist()[0])


def test_code_reads_utf16_and_cp1252_files_like_ingest_does(tmp_path, cli):
    out = tmp_path / "out.csv"
    for name, encoding in (("u16.csv", "utf-16"), ("win.csv", "cp1252")):
        src = write(tmp_path / name, "id,text\n1,Todavía no llegó la tarjeta, 12 días\n".replace(", 12", " 12"), encoding)
        code, _, err = cli("code", src, "--text-column", "text", "--out", out, "--no-progress")
        assert code == 0, err
        assert pd.read_csv(out, dtype=str)["text"].tolist() == ["Todavía no llegó la tarjeta 12 días"]


def test_ingesting_a_study_folder_sets_aside_guides_sheets_and_uses_the_sidecar(tmp_path, cli):
    folder = shutil.copytree(CORPORA, tmp_path / "corpora")
    whole, parts = tmp_path / "whole.db", tmp_path / "parts.db"
    for db in (whole, parts):
        Store.create(db).close()
    code, out, err = cli("ingest", folder, "--study", whole, "--no-progress")
    assert code == 0, err
    assert f"note: using {folder / 'metadata.csv'} as metadata" in out
    assert f"note: skipped {folder / 'gold' / 'gold_excerpts.csv'}: a coding or gold sheet" in out
    assert f"note: skipped {folder / 'CODING-GUIDE.md'}: a guide or documentation file" in out
    assert "README" not in out.replace("README.md: a guide", "")  # READMEs are noted, never imported
    assert f"skipped 2 file(s) that {folder / '.workbenchignore'} lists" in out
    # the same study as importing the three source folders with the sidecar named
    code, _, err = cli("ingest", folder / "interviews", folder / "call_logs", folder / "usability", "--study", parts,
                       "--meta", folder / "metadata.csv", "--no-progress")
    assert code == 0, err
    cols = ["source_id", "participant", "segment", "channel", "date", "meta", "text"]
    with Store.open(whole) as a, Store.open(parts) as b:
        assert a.sources(with_text=True)[cols].equals(b.sources(with_text=True)[cols])
        assert a.excerpts().drop(columns="source_name").equals(b.excerpts().drop(columns="source_name"))


def test_a_second_sidecar_is_skipped_when_meta_is_given(tmp_path, cli, study):
    write(tmp_path / "in" / "p1.txt", "Interviewer: Why?\nP1: The fees.\n")
    write(tmp_path / "in" / "people.csv", "file,segment\np1.txt,students\n")
    meta = write(tmp_path / "meta.csv", "file,segment\np1.txt,retirees\n")
    code, out, err = cli("ingest", tmp_path / "in", "--study", study, "--meta", meta, "--no-progress")
    assert code == 0, err
    assert "skipped" in out and "people.csv: it looks like a metadata sidecar" in out and f"--meta {meta}" in out
    with Store.open(study) as s:
        assert s.sources()["segment"].tolist() == ["retirees"]


def test_only_whole_documentation_words_set_a_file_aside(tmp_path):
    from workbench.ingest import discover

    names = ["p4_interview_guide.md", "README.txt", "LICENSE.txt", "consent-form.txt",
             "p7_changes_in_fees.txt", "p8_guided_tour.txt", "p9_notice_period.txt"]
    for n in names:
        write(tmp_path / n, "Interviewer: Hi?\nP1: Hello.\n")
    found = discover([tmp_path])
    assert sorted(f.name for f in found.files) == ["p7_changes_in_fees.txt", "p8_guided_tour.txt", "p9_notice_period.txt"]
    assert len(found.notes) == 4 and all("a guide or documentation file" in n for n in found.notes)
    # a file named on the command line is always read, whatever its name
    assert [f.name for f in discover([tmp_path / "README.txt"]).files] == ["README.txt"]


def test_size_limit_applies_to_every_table_command_and_can_be_raised(tmp_path, cli):
    big = write(tmp_path / "posts.csv", "id,text\n" + "".join(f"{i},still no card, day {i}\n".replace(", day", " day")
                                                              for i in range(30_000)))
    out = tmp_path / "out.csv"
    code, _, err = cli("code", big, "--text-column", "text", "--out", out, "--no-progress", "--max-file-mb", "0.1")
    assert code == 2 and "over the 0.1 MB limit" in err and "--max-file-mb" in err and not out.exists()
    code, _, err = cli("evaluate", "--gold", big, "--pred", big, "--columns", "text", "--max-file-mb", "0.1")
    assert code == 2 and "over the 0.1 MB limit" in err
    code, _, err = cli("code", big, "--text-column", "text", "--out", out, "--no-progress", "--max-file-mb", "5", "--embed", "off")
    assert code == 0, err
    assert len(pd.read_csv(out)) == 30_000
