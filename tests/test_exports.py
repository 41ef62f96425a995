"""Exports researchers hand on: the workbook, the CSV folder and the codebook appendix.

The study is built straight through the store (no segmenter, no spaCy), so these tests take seconds."""
from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from pathlib import Path

import pytest

from workbench import exports
from workbench.codebook import resolve
from workbench.errors import WorkbenchError
from workbench.exports import (CSV_NAMES, codebooks_markdown, export_codebook_markdown, export_csv, export_xlsx,
                               md_escape)
from workbench.journey import study_codebooks
from workbench.model import Code, Codebook, Coding, Source, Turn
from workbench.store import Store, rows_for

openpyxl = pytest.importorskip("openpyxl")

FORMULA = '=HYPERLINK("http://x","y")'
EMOJI = "La app es genial 😍, pero ¿por qué tardó tanto? Ñandú… 中文"
QUOTES = ["The selfie check failed three times.", FORMULA, EMOJI, "#N/A", "@SUM(A1:A3) and -2+3"]


def _source(name: str, quotes: list[str], meta: dict, segment: str) -> tuple[Source, list[tuple[int, int, int, str]]]:
    """A conversation: the interviewer asks, the participant answers with each quote (one excerpt per quote)."""
    text, turns, spans = "", [], []
    question = "How was opening the account?"
    turns.append(Turn("Interviewer", "interviewer", 0, len(question), "en"))
    text = question + "\n"
    for q in quotes:
        start = len(text)
        text += q + "\n"
        turns.append(Turn("P1", "participant", start, start + len(q), "en"))
        spans.append((len(turns) - 1, start, start + len(q), "en"))
    spans.insert(0, (0, 0, len(question), "en"))
    return Source(name, "interview", text, turns, reader="test@1", language="en", participant=name.upper(),
                  segment=segment, channel="app", meta=meta), spans


def _import(store: Store, name: str, quotes: list[str], meta: dict, segment: str) -> list[str]:
    source, spans = _source(name, quotes, meta, segment)

    def prepare(items):
        yield [rows_for(s, sid, chash, iid, spans) for s, sid, chash, iid in items]

    report = store.import_sources(f"{name}.txt", f"hash-{name}", "test@1", [source], prepare)
    return [f"{report.source_ids[0]}-{k:05d}" for k in range(len(spans))]


@pytest.fixture
def coded(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A study with two sources: every participant excerpt has machine suggestions; a human recodes one stage,
    rejects one pain point and accepts two emotions on another excerpt."""
    path = tmp_path / "study.db"
    with Store.create(path, name="Bank | onboarding") as s:
        a = _import(s, "p1", QUOTES, {"csat": 2, "nps": -20}, "young")
        b = _import(s, "p2", ["The app was fine."], {"ces": "4"}, "senior")
        voice = a[1:] + b[1:]
        codings = []
        for eid in voice:
            codings += [Coding(eid, "stage", "purchase", "rules@2", 0.6, "cue: selfie"),
                        Coding(eid, "pain_point", "broken_flow", "rules@2", 0.5, "cue", value=2.0),
                        Coding(eid, "emotion", "annoyance", "rules@2", 0.4, "cue", value=-0.5)]
        s.add_codings(codings)
        s.add_codings([Coding(a[1], "stage", "retention_advocacy", "human:ana", 1.0, status="accepted", memo="she already had the card"),
                       Coding(a[2], "pain_point", "broken_flow", "human:ana", 1.0, status="rejected"),
                       Coding(a[3], "emotion", "joy", "human:ana", 1.0, status="accepted"),
                       Coding(a[3], "emotion", "annoyance", "human:ana", 1.0, status="accepted")])
    ids = {"selfie": a[1], "formula": a[2], "emoji": a[3], "na": a[4], "at": a[5], "fine": b[1], "question": a[0]}
    return path, ids


def _rows(ws) -> list[dict]:
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], r)) for r in values[1:]]


def test_workbook_has_the_sheets_and_the_effective_codes(coded, tmp_path):
    path, ids = coded
    with Store.open(path) as s:
        out = export_xlsx(s, tmp_path / "out" / "study.xlsx")
    assert out == tmp_path / "out" / "study.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["excerpts", "stage", "pain_point", "emotion", "touchpoint", "actor", "backstage",
                             "opportunity", "activity", "thought", "codebook", "sources"]
    rows = {r["excerpt_id"]: r for r in _rows(wb["excerpts"])}
    # every coded excerpt, once; the interviewer's uncoded question is not there
    assert set(rows) == {v for k, v in ids.items() if k != "question"}
    selfie = rows[ids["selfie"]]
    assert (selfie["stage"], selfie["stage_coder"], selfie["stage_status"]) == ("retention_advocacy", "human:ana", "human")
    assert (selfie["pain_point"], selfie["pain_point_status"], selfie["pain_point_confidence"]) == ("broken_flow", "suggested", 0.5)
    assert selfie["source"] == "p1" and selfie["role"] == "participant" and selfie["segment"] == "young"
    assert selfie["participant"] == "P1" and selfie["speaker"] == "P1"
    assert rows[ids["formula"]]["pain_point"] is None            # the human rejected the only suggestion
    assert rows[ids["emoji"]]["emotion"] == "annoyance; joy" and rows[ids["emoji"]]["emotion_status"] == "human"
    # the dimension sheets: one row per effective coding, with label and provenance
    stage = _rows(wb["stage"])
    assert len(stage) == len(rows)
    human = next(r for r in stage if r["excerpt_id"] == ids["selfie"])
    assert human["label"] == "Retention and advocacy" and human["memo"] == "she already had the card"
    assert human["status"] == "human" and human["coder"] == "human:ana"
    pains = _rows(wb["pain_point"])
    assert len(pains) == len(rows) - 1 and all(r["value"] == 2 for r in pains)
    assert {r["excerpt_id"] for r in _rows(wb["emotion"]) if r["excerpt_id"] == ids["emoji"]} == {ids["emoji"]}
    assert len([r for r in _rows(wb["emotion"]) if r["excerpt_id"] == ids["emoji"]]) == 2
    # sheet headers: bold, frozen
    ws = wb["excerpts"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold and ws.column_dimensions["L"].width >= 60
    # sources with their metrics, codebook with every shipped code
    src = {r["source"]: r for r in _rows(wb["sources"])}
    assert (src["p1"]["csat"], src["p1"]["nps"], src["p2"]["ces"]) == (2, -20, 4)
    assert src["p1"]["n_excerpts"] == len(QUOTES) + 1 and src["p1"]["n_exported"] == len(QUOTES)
    book = _rows(wb["codebook"])
    with Store.open(path) as s:
        books, _ = study_codebooks(s, stage_model=resolve("awareness_advocacy"))
    expected = {(d, c.code_id) for d, b in books.items() for c in b.codes}
    expected |= {("stage", c.code_id) for c in resolve("awareness_advocacy").codes}
    assert {(r["dimension"], r["code"]) for r in book} == expected
    assert [r["code"] for r in book if r["dimension"] == "stage"] == ["awareness", "consideration", "purchase",
                                                                     "retention_advocacy"]
    assert "es: " in next(r for r in book if r["code"] == "awareness")["cues"]


def test_accepted_only_leaves_out_machine_suggestions(coded, tmp_path):
    path, ids = coded
    with Store.open(path) as s:
        out = export_xlsx(s, tmp_path / "a.xlsx", accepted_only=True)
    wb = openpyxl.load_workbook(out)
    rows = {r["excerpt_id"]: r for r in _rows(wb["excerpts"])}
    assert set(rows) == {ids["selfie"], ids["emoji"]}
    assert rows[ids["selfie"]]["stage"] == "retention_advocacy" and rows[ids["selfie"]]["pain_point"] is None
    assert all(r["status"] == "human" for dim in ("stage", "emotion") for r in _rows(wb[dim]))
    assert _rows(wb["pain_point"]) == []


def test_formula_and_error_looking_quotes_are_stored_as_text(coded, tmp_path):
    path, ids = coded
    with Store.open(path) as s:
        out = export_xlsx(s, tmp_path / "x.xlsx")
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
        assert not any(b't="e"' in z.read(n) for n in sheets)
    wb = openpyxl.load_workbook(out)
    ws = wb["excerpts"]
    col = [c.value for c in ws[1]].index("text") + 1
    cells = {ws.cell(r, 1).value: ws.cell(r, col) for r in range(2, ws.max_row + 1)}
    for key, quote in (("formula", FORMULA), ("na", "#N/A"), ("at", QUOTES[4]), ("emoji", EMOJI)):
        assert cells[ids[key]].data_type == "s" and cells[ids[key]].value == quote
    assert cells[ids["formula"]].quotePrefix
    # in the dimension sheets too
    stage = wb["stage"]
    tcol = [c.value for c in stage[1]].index("text") + 1
    texts = [stage.cell(r, tcol) for r in range(2, stage.max_row + 1)]
    assert any(c.value == FORMULA and c.data_type == "s" for c in texts)


def test_hostile_and_control_characters_do_not_break_the_workbook(tmp_path):
    path = tmp_path / "s.db"
    with Store.create(path) as s:
        eid = _import(s, "p", ["bad \x0b char \x01 here"], {}, "x")[1]
        s.add_codings([Coding(eid, "stage", "purchase", "human:ana", status="accepted", rationale="=1+1", memo="\tx"),
                       Coding(eid, "theme", "card_delays", "themes@1", 0.7)])
        out = export_xlsx(s, tmp_path / "h.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-3:] == ["theme", "codebook", "sources"]       # a coded theme gets its sheet
    assert _rows(wb["theme"])[0]["code"] == "card_delays" and _rows(wb["excerpts"])[0]["theme"] == "card_delays"
    row = _rows(wb["stage"])[0]
    assert row["text"] == "bad \ufffd char \ufffd here" and row["rationale"] == "=1+1" and row["memo"] == "\tx"


def test_re_export_is_byte_identical_and_has_no_clock_time(coded, tmp_path, monkeypatch):
    path, _ = coded
    with Store.open(path) as s:
        a = export_xlsx(s, tmp_path / "a.xlsx").read_bytes()
        info = s.info()
        latest = s.con.execute("SELECT max(created_at) FROM codings").fetchone()[0]
        export_csv(s, tmp_path / "c1")
        md1 = export_codebook_markdown(s, tmp_path / "a.md").read_bytes()
    # a later day: the zip's clock (time) and openpyxl's (datetime.now) both move on; nothing may change
    import datetime
    import time

    import openpyxl.writer.excel as excel
    later = time.time() + 86400 * 400
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "localtime", lambda t=None: time.gmtime(later if t is None else t))

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.fromtimestamp(later, tz)

    monkeypatch.setattr(excel, "datetime", type("M", (), {"datetime": Later, "timezone": datetime.timezone}))
    with Store.open(path) as s:
        b = export_xlsx(s, tmp_path / "b.xlsx").read_bytes()
        export_csv(s, tmp_path / "c2")
        md2 = export_codebook_markdown(s, tmp_path / "b.md").read_bytes()
    assert a == b and md1 == md2
    for name in CSV_NAMES:
        assert (tmp_path / "c1" / name).read_bytes() == (tmp_path / "c2" / name).read_bytes()
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    created = re.search(r"<dcterms:created[^>]*>([^<]+)<", core).group(1)
    modified = re.search(r"<dcterms:modified[^>]*>([^<]+)<", core).group(1)
    assert created == info["created_at"][:19] + "Z" and modified == latest[:19] + "Z"


def test_csv_folder(coded, tmp_path):
    path, ids = coded
    with Store.open(path) as s:
        written = export_csv(s, tmp_path / "csv")
    assert [p.name for p in written] == list(CSV_NAMES) and all(p.parent == tmp_path / "csv" for p in written)
    raw = (tmp_path / "csv" / "excerpts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    with open(tmp_path / "csv" / "excerpts.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["excerpt_id"]: r for r in csv.DictReader(fh)}
    assert rows[ids["emoji"]]["text"] == EMOJI and rows[ids["formula"]]["text"] == FORMULA   # verbatim
    assert rows[ids["selfie"]]["stage"] == "retention_advocacy" and rows[ids["selfie"]]["stage_status"] == "human"
    assert rows[ids["formula"]]["pain_point"] == "" and rows[ids["selfie"]]["start"].isdigit()
    with open(tmp_path / "csv" / "codings.csv", encoding="utf-8-sig", newline="") as fh:
        codings = list(csv.DictReader(fh))
    assert {r["dimension"] for r in codings} == {"stage", "pain_point", "emotion"}
    assert len(codings) == 6 + 5 + 7        # stage: every excerpt; pain: one rejected; emotion: two accepted on one
    assert all(r["value"] in ("2", "") for r in codings if r["dimension"] == "pain_point")
    with open(tmp_path / "csv" / "sources.csv", encoding="utf-8-sig", newline="") as fh:
        src = {r["source"]: r for r in csv.DictReader(fh)}
    assert src["p1"]["csat"] == "2" and src["p2"]["ces"] == "4" and src["p1"]["segment"] == "young"
    with open(tmp_path / "csv" / "codebook.csv", encoding="utf-8-sig", newline="") as fh:
        assert {"awareness", "waiting"} <= {r["code"] for r in csv.DictReader(fh)}


def test_uncoded_study_exports_the_shipped_codebooks(tmp_path):
    path = tmp_path / "empty.db"
    with Store.create(path) as s:
        out = export_xlsx(s, tmp_path)
        md = export_codebook_markdown(s, tmp_path).read_text()
        files = export_csv(s, tmp_path / "csv")
    assert out == tmp_path / "export.xlsx"
    wb = openpyxl.load_workbook(out)
    assert _rows(wb["excerpts"]) == [] and len(_rows(wb["codebook"])) > 20
    assert "## Journey stages: awareness\\_advocacy" in md
    assert len(files) == 4


def test_markdown_has_every_code_and_escapes_hostile_text():
    hostile = Code("evil", "pain_point", "Bad | label `rm -rf` <script>x</script>", definition="# not a heading\n> nor a quote",
                   cues={"en": ("a|b",), "es": ("ñ*u*",)}, examples={"en": ("- not a list\n1. nor this",)})
    books = {"pain_point": Codebook("hostile|book", "1", [hostile], dimension="pain_point")}
    model = resolve("awareness_advocacy")
    for dim, name in (("emotion", "emotions"), ("touchpoint", "touchpoints"), ("thought", "thoughts")):
        books[dim] = resolve(name)
    md = codebooks_markdown(books, model, title="Study # 1")
    for dim, book in [("stage", model), *books.items()]:
        for c in book.codes:
            assert f"(`{c.code_id}`)" in md, (dim, c.code_id)
    # stage model first, stages in journey order
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads[0].startswith("## Journey stages")
    pos = [md.index(f"(`{c.code_id}`)") for c in model.ordered]
    assert pos == sorted(pos)
    assert "### Bad \\| label \\`rm -rf\\` \\<script\\>x\\</script\\> (`evil`)" in md
    assert "<script>" not in md and "\n# not" not in md and "\n> nor a quote" not in md
    assert "\\# not a heading" in md and "a\\|b" in md and "ñ\\*u\\*" in md
    assert "> \\- not a list *(EN)*" in md and "> 1\\. nor this" in md
    assert "**Cues (EN):**" in md and "**Cues (ES):**" in md
    # the overview table has one row per codebook, pipes escaped
    assert md.startswith("# Study \\# 1\n")
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(table) == 2 + 1 + len(books) and all(ln.count(" | ") == 3 for ln in table)
    assert "| Pain points | hostile\\|book | 1 | 1 |" in table


def test_md_escape_keeps_plain_text_readable():
    assert md_escape("Waiting and delay") == "Waiting and delay"
    assert md_escape("multi\r\nline") == "multi line"
    assert md_escape("+ 3 = 5", inline=False) == "\\+ 3 = 5"


def test_study_codebook_markdown_file(coded, tmp_path):
    path, _ = coded
    with Store.open(path) as s:
        out = export_codebook_markdown(s, tmp_path / "appendix" / "codebook.md")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Codebook: Bank \\| onboarding\n")
    assert "### 1. Awareness (`awareness`)" in text and "> A friend told me about it. *(EN)*" in text


@pytest.mark.parametrize("kind", ["xlsx", "csv", "md"])
def test_a_failed_export_leaves_no_partial_file(coded, tmp_path, monkeypatch, kind):
    path, _ = coded
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "excerpts.csv").write_text("old\n")
    (folder / "export.xlsx").write_bytes(b"old")
    (folder / "codebook.md").write_text("old\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd):                # the second file's (or the only file's) write fails, as on a full disk
        calls.append(fd)
        if len(calls) >= (2 if kind == "csv" else 1):
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with Store.open(path) as s, pytest.raises(WorkbenchError, match="disk is full"):
        if kind == "xlsx":
            export_xlsx(s, folder)
        elif kind == "csv":
            export_csv(s, folder)
        else:
            export_codebook_markdown(s, folder)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before      # nothing new, nothing half-written


def test_a_failure_while_building_writes_nothing(coded, tmp_path, monkeypatch):
    path, _ = coded

    def boom(*a, **k):
        raise RuntimeError("mid-way")

    monkeypatch.setattr(exports, "deterministic_zip", boom)
    with Store.open(path) as s, pytest.raises(RuntimeError):
        export_xlsx(s, tmp_path / "out" / "x.xlsx")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
