"""REFI-QDA import: the real ATLAS.ti 8.4 sample (as shipped, its sources missing, and with texts
supplied), round trips export → import → export, selections that are not excerpts kept exactly
through normalisation and redaction, and bad input refused in one line with the study unchanged."""
from __future__ import annotations

import io
import json
import random
import sqlite3
import unicodedata
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from test_refi import coded  # noqa: F401  (the fixture: a coded study with a human recode and a memo)
from workbench.codebook import parse_codebook
from workbench.decode import normalise
from workbench.errors import InputError
from workbench.pipeline import enable_redaction
from workbench.refi import NS, export_qdc, export_qdpx, validate
from workbench.refi_import import codebooks_from_qdc, import_qdpx, normalise_with_map
from workbench.store import Store

SAMPLE = Path(__file__).resolve().parent / "data" / "refi" / "TestProject.qdpx"     # ATLAS.ti 8.4, MIT (README there)
Q = f"{{{NS}}}"


def _qde(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        return ET.fromstring(z.read(next(n for n in z.namelist() if n.lower().endswith(".qde"))))


def _facts(path: Path):
    """What a round trip must keep: codes (name, description, parent's name), users, selections."""
    root = _qde(path)
    codes, parents = {}, {}
    for c in root.iter(f"{Q}Code"):
        codes[c.get("guid")] = (c.get("name"), c.findtext(f"{Q}Description") or "")
        for k in c.findall(f"{Q}Code"):
            parents[k.get("guid")] = c.get("name")
    users = {u.get("guid"): (u.get("name"), u.get("id")) for u in root.iter(f"{Q}User")}
    sels = set()
    for ts in root.iter(f"{Q}TextSource"):
        for s in ts.findall(f"{Q}PlainTextSelection"):
            for c in s.findall(f"{Q}Coding"):
                sels.add((ts.get("name"), int(s.get("startPosition")), int(s.get("endPosition")),
                          codes[c.find(f"{Q}CodeRef").get("targetGUID")][0], users[c.get("creatingUser")][0]))
    tree = sorted((n, d, parents.get(g)) for g, (n, d) in codes.items())
    return tree, sorted(users.values()), sels


def _state(study: Path) -> tuple:
    """Everything an import could touch, to show a refused import changed nothing."""
    con = sqlite3.connect(study)
    try:
        return tuple(con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                     for t in ("study", "imports", "sources", "excerpts", "codings"))
    finally:
        con.close()


# ------------------------------------------------------------------- the ATLAS.ti sample, as shipped
def test_atlas_sample_imports_codes_users_notes_and_says_what_it_skipped(study, tmp_path):
    with Store.open(study) as s:
        summary = import_qdpx(s, SAMPLE, codebooks_out=tmp_path / "books")
        counts = s.counts()
        info = s.info()
    text = str(summary)
    assert counts["sources"] == 0 and counts["codings"] == 0
    # every source is accounted for, with the reason: 6 texts missing from the archive, 6 media sources
    assert len(summary.skipped_sources) == 12
    assert sum("is missing from the archive" in x for x in summary.skipped_sources) == 6
    assert {w for w in ("a PDF source", "a picture source", "an audio source", "a video source") if w in text} == \
        {"a PDF source", "a picture source", "an audio source", "a video source"}
    assert len(summary.skipped_codings) == 16               # all 16 codings, each with why
    # 14 codes as themes; ATLAS.ti's "Coke::diet Coke" keeps its parent; a name with quotes survives
    cb = parse_codebook((tmp_path / "books" / "atlas_ti_standard_project_theme.yaml").read_text(encoding="utf-8"))
    assert len(cb.codes) == 14
    assert cb.get("coke_diet_coke").parent == "coke" and cb.get("coke_diet_coke").label == "diet Coke"
    assert cb.get("coke_diet_coke").definition == "non sucré"
    assert any(c.label == '"rushed"' for c in cb.codes)
    # the two project memos are kept, and go out again with an export
    notes = json.loads(info["refi.notes"])
    assert [n["name"] for n in notes] == ["Research Plan", "My favorite Coke ad"]
    assert "Friedrich Markgraf" in text
    with Store.open(study) as s:
        out = export_qdpx(s, tmp_path / "again.qdpx")
    root = _qde(out)
    validate(zipfile.ZipFile(out).read("project.qde"))
    assert {n.get("name") for n in root.iter(f"{Q}Note")} == {"Research Plan", "My favorite Coke ad"}
    theme = next(c for c in root.iter(f"{Q}Code") if c.get("name") == "Theme")
    coke = next(c for c in theme.iter(f"{Q}Code") if c.get("name") == "Coke")
    assert {k.get("name") for k in coke.findall(f"{Q}Code")} == {"diet Coke", "full-fat Coke"}


# ------------------------------------------------------- the ATLAS.ti sample with its texts supplied
SOGGY = "I did try the gluten free bread, but it was always so soggy,"


def _simon_raw() -> str:
    """Simon's transcript as ATLAS.ti would hold it: CRLF line ends and a decomposed "é" before position
    215, where the sample's selection 215–275 starts (positions count code points of this raw text)."""
    prefix = ("Interviewer: What do you eat for breakfast?\r\nSimon: Cafe\u0301 first, always. Then toast.\r\n"
              "Interviewer: Have you tried other breads?\r\nSimon: ")
    base = "Well, let me think. "
    body = (base * ((215 - len(prefix)) // len(base))).ljust(215 - len(prefix))
    rest = " and it cost twice as much. " + "I keep to the bacon and eggs on Sundays. " * 25
    raw = prefix + body + SOGGY + rest + "\r\n"
    assert raw.index(SOGGY) == 215 and raw[215:275] == SOGGY and len(raw) > 907
    return raw


def _sample_with_texts(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    with zipfile.ZipFile(SAMPLE) as z:
        qde = z.read("Project.qde")
    simon = _simon_raw()
    texts = {
        "C1C745F7-8E4D-48B2-9710-655AFE7E54FA.txt": simon,
        "B2F54555-0D2D-43B2-B40C-2A1C048F5F1C.txt": "Mabel: " + ("Breakfast is mayhem with two small kids. " * 14),
        "142EB46D-612E-4593-A385-D0E5D04D1288.txt": "Pay de limón. " + ("Granola con amaranto, linaza y arándano. " * 14),
    }
    out = tmp_path / "with_texts.qdpx"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("Project.qde", qde)
        for name, text in texts.items():
            z.writestr(f"Sources/{name}", text.encode("utf-8"))
    return out, texts


def test_atlas_sample_with_texts_keeps_every_selection_exactly(study, tmp_path):
    path, texts = _sample_with_texts(tmp_path)
    simon_raw = texts["C1C745F7-8E4D-48B2-9710-655AFE7E54FA.txt"]
    assert "\r\n" in simon_raw[:215] and "\u0301" in simon_raw[:215]
    with Store.open(study) as s:
        summary = import_qdpx(s, path)
        src = s.sources(with_text=True).set_index("name")
        codings = s.codings()
        ex = s.excerpts()
    assert set(src.index) == {"Simon.docx", "Mabel.txt", "Pay de Limón con Base de Granola | Kellogg's ®.pdf"}
    simon = src.loc["Simon.docx"]
    stored = simon["text"]
    assert "\r" not in stored and "Café" in stored                     # normalised as every import is
    # ATLAS.ti's selection 215–275 ("I did try the gluten free bread, but it was always so soggy,") is part of a
    # sentence: it codes the excerpt it lies in and keeps its exact span, mapped through CRLF and NFC
    feelings = codings[codings["code_id"] == "feelings"]
    assert len(feelings) == 1
    a, b = int(feelings["start"].iat[0]), int(feelings["end"].iat[0])
    assert stored[a:b] == normalise(simon_raw[215:275]) == SOGGY and a == 211    # 3 CRLF and one accent before it
    host = ex.set_index("excerpt_id").loc[feelings["excerpt_id"].iat[0]]
    assert host["start"] <= a < b <= host["end"] and (host["start"], host["end"]) != (a, b)
    # a selection over several sentences (688–907) codes each of them, with the one span
    bacon = codings[(codings["code_id"] == "bacon_and_eggs") & (codings["excerpt_id"].str.startswith(simon["source_id"]))]
    assert len(bacon) >= 2 and bacon["start"].nunique() == 1
    # people's codings are their human decisions; a selection's comment is the memo of its codings
    assert set(codings["coder"]) == {"human:Friedrich Markgraf"} and set(codings["status"]) == {"accepted"}
    assert set(bacon["memo"]) == {"why does Simon feel the need to do this?"}
    # a PDF's text representation is imported with the codings on its text; its region codings are not
    pdf = src.loc["Pay de Limón con Base de Granola | Kellogg's ®.pdf"]
    assert set(codings[codings["excerpt_id"].str.startswith(pdf["source_id"])]["code_id"]) == {"cornflakes", "waste_of_time"}
    assert "the 4 coding(s) of its PDF regions are not" in str(summary)
    # sets named "name: value" are metadata (ATLAS.ti document groups)
    mabel = json.loads(src.loc["Mabel.txt"]["meta"])
    assert mabel["gender"] == "female" and mabel["age"] == "25" and "Text files" in mabel["groups"]
    assert summary.codings == 8 and summary.spans >= 2
    # and the imported project goes out again with the same selections on the same characters
    with Store.open(study) as s:
        out = export_qdpx(s, tmp_path / "out.qdpx")
    with zipfile.ZipFile(out) as z:
        validate(z.read("project.qde"))
        root = ET.fromstring(z.read("project.qde"))
        exported = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("sources/")}
    ts = next(t for t in root.iter(f"{Q}TextSource") if t.get("name") == "Simon.docx")
    text = exported["sources/" + ts.get("plainTextPath").removeprefix("internal://")]
    spans = {(int(x.get("startPosition")), int(x.get("endPosition"))) for x in ts.findall(f"{Q}PlainTextSelection")}
    assert (a, b) in spans and text[a:b].startswith("I did try")


# ------------------------------------------------------------------------------ round trips
def test_round_trip_export_import_export_keeps_codes_users_and_selections(coded, tmp_path):  # noqa: F811
    study, target = coded
    with Store.open(study) as s:
        first = export_qdpx(s, tmp_path / "first.qdpx")
        before = s.codings()
    again = tmp_path / "again.db"
    with Store.create(again) as s:
        summary = import_qdpx(s, first)
        second = export_qdpx(s, tmp_path / "second.qdpx")
        codings = s.codings()
        ex = s.excerpts().set_index("excerpt_id")
    a, b = _facts(first), _facts(second)
    assert a[0] == b[0] and len(a[0]) > 50                  # the code tree: names, definitions, nesting
    assert a[1] == b[1]                                     # users: ana and the machine coders, by id
    assert a[2] == b[2] and len(a[2]) > 10                  # every selection on the same characters, same code, same user
    # the human recode is a human decision again, with its memo; machine codings are that coder's suggestions
    human = codings[codings["coder"] == "human:ana"]
    assert len(human) == 1 and human["status"].iat[0] == "accepted" and human["code_id"].iat[0] == "broken_flow"
    assert human["memo"].iat[0] == 'Third failure <b>&</b> she gave up "for now"'
    assert "selfie" in ex.at[human["excerpt_id"].iat[0], "text"]
    machine = codings[~codings["coder"].str.startswith("human:")]
    assert set(machine["status"]) == {"suggested"} and set(machine["coder"]) <= set(before["coder"])
    # each suggestion keeps its coder, code and confidence (to the 2 decimals the export writes) and rationale
    orig = before[~before["coder"].str.startswith("human:")]
    known = {(r.code_id, r.coder, round(r.confidence, 2), r.rationale) for r in orig.itertuples()}
    assert all((r.code_id, r.coder, round(r.confidence, 2), r.rationale) in known for r in machine.itertuples())
    assert summary.codings == 1 and summary.suggestions > 0
    # cases and variables came back as the sources' metadata (participant, segment, CSAT…)
    with Store.open(study) as s:
        src_a = s.sources().set_index("name")
    with Store.open(again) as s:
        src_b = s.sources().set_index("name")
    assert sorted(src_a.index) == sorted(src_b.index)
    for name in src_a.index:
        for col in ("participant", "segment", "channel"):
            x, y = src_a.at[name, col], src_b.at[name, col]
            assert x == y or (x != x and y != y) or (x is None and y is None), (name, col, x, y)
        meta_a, meta_b = json.loads(src_a.at[name, "meta"]), json.loads(src_b.at[name, "meta"])
        assert {k: v for k, v in meta_a.items() if k != "detected_language"} == \
            {k: v for k, v in meta_b.items() if k != "detected_language"}
    # the stage model and codebooks came back: the imported study draws a map without being re-coded
    from workbench.journey import build_map
    with Store.open(again) as s:
        jm = build_map(s)
    assert jm.claims


def test_import_into_a_redacting_study_redacts_and_keeps_selections_on_their_words(tmp_path):
    raw = ("Interviewer: Hello Marta.\n"
           "Marta Quintana: My e-mail is marta.quintana@example.org and the card never came. "
           "I called twice and waited forty minutes.\n")
    a = raw.index("I called twice")
    b = raw.index("forty minutes.") + len("forty minutes.")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="pii">
 <Users><User guid="u1" name="Researcher One"/></Users>
 <CodeBook><Codes><Code guid="c1" name="waiting" isCodable="true"/></Codes></CodeBook>
 <Sources><TextSource guid="s1" name="marta.txt" plainTextPath="internal://s1.txt">
  <PlainTextSelection guid="x1" startPosition="{a}" endPosition="{b}" creatingUser="u1">
   <Description>Marta Quintana (marta.quintana@example.org) sounded exhausted</Description>
   <Coding guid="k1" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding>
  </PlainTextSelection></TextSource></Sources>
</Project>"""
    path = tmp_path / "pii.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", qde)
        z.writestr("sources/s1.txt", raw)
    study = tmp_path / "red.db"
    with Store.create(study) as s:
        enable_redaction(s)
        summary = import_qdpx(s, path)
        text = s.sources(with_text=True)["text"].iat[0]
        c = s.codings().iloc[0]
        ex = s.excerpts().set_index("excerpt_id").loc[c["excerpt_id"]]
    span = (c["start"], c["end"]) if c["start"] is not None and c["start"] == c["start"] else (ex["start"], ex["end"])
    assert summary.redacted
    assert "marta.quintana@example.org" not in text and "[EMAIL]" in text
    assert text[int(span[0]):int(span[1])] == "I called twice and waited forty minutes."
    assert "example.org" not in c["memo"] and "Quintana" not in c["memo"]
    data = study.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("red.db*"))
    assert b"quintana@example" not in data and b"Quintana" not in data


def test_normalise_with_map_matches_normalise_and_maps_every_position():
    rng = random.Random(7)
    alphabet = ["a", "e", "\u0301", "\u0308", "\r", "\n", "\r\n", " ", "é", "😀", "\u2028", "ñ", "Z", "\t",
                "\u1100", "\u1161", "\u11a8", "\u0b47", "\u0b3e"]   # Hangul jamo, an Oriya two-part vowel
    for _ in range(1000):
        raw = ("\ufeff" if rng.random() < 0.2 else "") + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        text, pos = normalise_with_map(raw)
        assert text == normalise(raw)
        assert len(pos) == len(raw) + 1 and pos == sorted(pos) and all(0 <= p <= len(text) for p in pos)
    raw = "Cafe\u0301\r\nbien"
    text, pos = normalise_with_map(raw)
    assert text == "Café\nbien" and text[pos[raw.index("bien")]:] == "bien"
    assert unicodedata.is_normalized("NFC", text)


def test_qdc_codebooks_import_as_yaml_from_the_cli(coded, tmp_path, cli):  # noqa: F811
    study, _ = coded
    with Store.open(study) as s:
        qdc = export_qdc(s, tmp_path / "books.qdc")
    code, out, _ = cli("codebooks", "import", str(qdc), "--out", str(tmp_path / "yaml"))
    assert code == 0
    books, _ = codebooks_from_qdc(qdc)
    stage = books["stage"]
    assert stage.kind == "stage_model" and [c.order for c in stage.ordered] == list(range(1, len(stage.codes) + 1))
    files = sorted((tmp_path / "yaml").glob("*.yaml"))
    assert any("stage" in f.name for f in files)
    for f in files:                              # every file written is a valid codebook
        parse_codebook(f.read_text(encoding="utf-8"), f)


def test_cli_import_creates_the_study_and_refuses_a_second_import(coded, tmp_path, cli):  # noqa: F811
    study, _ = coded
    with Store.open(study) as s:
        qdpx = export_qdpx(s, tmp_path / "x.qdpx")
    target = tmp_path / "new.db"
    code, out, _ = cli("import", str(qdpx), "--study", str(target))
    assert code == 0 and "Imported REFI-QDA project" in out and target.exists()
    before = _state(target)
    code, _, err = cli("import", str(qdpx), "--study", str(target))
    assert code != 0 and "already imported" in err and len(err.strip().splitlines()) == 1
    assert _state(target) == before


# ------------------------------------------------------------------------------ bad input
def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in entries.items():
            z.writestr(n, d)
    return buf.getvalue()


GOOD = b'<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="p"/>'
BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<Project xmlns="urn:QDA-XML:project:1.0" name="&lol2;"/>')
BAD_INPUT = {
    "no_qde.qdpx": (_zip({"sources/a.txt": b"hello"}), "holds no .qde"),
    "broken.qdpx": (_zip({"project.qde": b"<Project xmlns='urn:QDA-XML:project:1.0'><Users>"}), "not well-formed"),
    "bomb.qdpx": (_zip({"project.qde": BOMB}), "entity expansion"),
    "slip.qdpx": (_zip({"project.qde": GOOD, "../../evil.txt": b"x"}), "outside the archive"),
    "html.qdpx": (_zip({"project.qde": b"<html><body>not a project</body></html>"}), "not a REFI-QDA project"),
    "codebook_as_project.qdpx": (_zip({"p.qde": b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"/>'}), "not a REFI-QDA project"),
    "not_a_zip.qdpx": (b"PK\x03\x04 this is not really a zip", "not a .qdpx archive"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_projects_get_one_line_and_leave_the_study_unchanged(coded, tmp_path, cli, name):  # noqa: F811
    study, _ = coded
    data, expected = BAD_INPUT[name]
    path = tmp_path / name
    path.write_bytes(data)
    before = _state(study)
    with Store.open(study) as s:
        with pytest.raises(InputError, match=expected):
            import_qdpx(s, path)
    code, out, err = cli("import", str(path), "--study", str(study))
    assert code != 0 and len(err.strip().splitlines()) == 1 and expected in err
    assert _state(study) == before
    # a study the command would have created is not left behind
    fresh = tmp_path / "fresh.db"
    code, _, _ = cli("import", str(path), "--study", str(fresh))
    assert code != 0 and not fresh.exists()


def test_rich_text_source_is_read_through_the_word_reader(study, tmp_path):
    import docx

    doc = docx.Document()
    for para in ("Interviewer: How did opening the account go?",
                 "Rosa: The selfie check failed three times. Then I gave up and went to the branch.",
                 "Interviewer: And there?", "Rosa: They opened it in ten minutes."):
        doc.add_paragraph(para)
    buf = io.BytesIO()
    doc.save(buf)
    plain = ("Interviewer: How did opening the account go?\nRosa: The selfie check failed three times. Then I gave up "
             "and went to the branch.\nInterviewer: And there?\nRosa: They opened it in ten minutes.")
    a = plain.index("The selfie")
    b = plain.index("three times.") + len("three times.")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="word" origin="NVivo 14">
 <Users><User guid="u1" name="Ana"/></Users>
 <CodeBook><Codes><Code guid="c1" name="Verification::selfie" isCodable="true"/></Codes></CodeBook>
 <Cases><Case guid="k1" name="Rosa"><SourceRef targetGUID="s1"/></Case></Cases>
 <Sources><TextSource guid="s1" name="rosa.docx" richTextPath="internal://s1.docx">
  <PlainTextSelection guid="x1" startPosition="{a}" endPosition="{b}" creatingUser="u1">
   <Coding guid="g1" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding>
  </PlainTextSelection></TextSource></Sources>
</Project>"""
    path = tmp_path / "word.qdpx"
    path.write_bytes(_zip({"project.qde": qde.encode(), "sources/s1.docx": buf.getvalue()}))
    with Store.open(study) as s:
        summary = import_qdpx(s, path)
        src = s.sources(with_text=True).iloc[0]
        c = s.codings().iloc[0]
        ex = s.excerpts().set_index("excerpt_id").loc[c["excerpt_id"]]
        turns = s.turns()
    assert summary.codings == 1 and src["participant"] == "Rosa"
    assert src["text"][int(ex["start"]):int(ex["end"])] == "The selfie check failed three times."
    assert c["coder"] == "human:Ana" and c["code_id"] == "verification_selfie"
    assert set(turns["role"]) == {"interviewer", "participant"}


def test_an_oversized_text_entry_is_refused_without_reading_it(study, tmp_path, monkeypatch):
    import workbench.refi_import as ri

    monkeypatch.setattr(ri, "MAX_ENTRY_MB", 0.001)          # 1 KB
    qde = (b'<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="big"><Sources>'
           b'<TextSource guid="s1" name="big.txt" plainTextPath="internal://s1.txt"/></Sources></Project>')
    path = tmp_path / "big.qdpx"
    path.write_bytes(_zip({"project.qde": qde, "sources/s1.txt": b"Interviewer: hi\nP1: " + b"x" * 5000}))
    before = _state(study)
    with Store.open(study) as s, pytest.raises(InputError, match="more than"):
        import_qdpx(s, path)
    assert _state(study) == before
