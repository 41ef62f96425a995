"""REFI-QDA export: the project validates against Project.xsd 1.0, every selection selects exactly its
excerpt's characters (code points: accents, emoji, CRLF sources), human decisions, memos and metadata
travel, and the same study gives the same bytes."""
from __future__ import annotations

import zipfile
from xml.etree import ElementTree as ET

import pytest

from conftest import write
from workbench.coding.run import code_study, default_coder
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.refi import NS, NS_CODEBOOK, export_qdc, export_qdpx, validate
from workbench.store import Store

Q = f"{{{NS}}}"


@pytest.fixture
def coded(tmp_path, study):
    """Two interviews (one with CRLF line ends, accents and emoji) and a call log with CSAT, coded by the
    rules, with one human recode carrying a memo."""
    p1 = tmp_path / "p1_es.txt"
    p1.write_bytes("Entrevistadora: ¿Qué tal la apertura?\r\nLucía: 😡😡 La verificación del selfie falló tres veces. "
                   "¿Cuánto tarda la tarjeta?\r\nEntrevistadora: ¿Y después?\r\nLucía: Esperé doce días 👍. "
                   "Llamé al banco y nadie sabía nada.\r\n".encode("utf-8"))
    p2 = write(tmp_path / "p2_en.txt", "Interviewer: And then?\nSam: I called the helpline twice, still waiting for "
               "the card.\nInterviewer: What did you expect?\nSam: Naïve me, I expected it in a week.\n")
    log = write(tmp_path / "calls.csv", "conversation_id,role,text,segment,csat\nC1,customer,The app crashed when "
                "I tried to pay 💳,young_professional,2\nC1,agent,Sorry about that.,young_professional,2\n")
    with Store.open(study) as s:
        ingest_paths(s, [p1, p2, log], progress=False)
        code_study(s, default_coder("awareness_advocacy"))
        ex = s.excerpts()
        target = ex[ex["text"].str.contains("selfie")].iloc[0]["excerpt_id"]
        s.add_codings([Coding(target, "pain_point", "broken_flow", "human:ana", status="accepted",
                              memo="Third failure <b>&</b> she gave up \"for now\"")])
    return study, target


def _project(path):
    with zipfile.ZipFile(path) as z:
        qde = z.read("project.qde")
        texts = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("sources/")}
    return qde, ET.fromstring(qde), texts


def test_export_validates_and_every_selection_selects_its_excerpt_by_code_points(coded, tmp_path):
    study, target = coded
    with Store.open(study) as s:
        out = export_qdpx(s, tmp_path / "study.qdpx")
        ex = s.excerpts().set_index("excerpt_id")
        n_sources = len(s.sources())
    qde, root, texts = _project(out)
    validate(qde)                                    # Project.xsd 1.0 (REFI, MIT)
    sources = root.findall(f"{Q}Sources/{Q}TextSource")
    assert len(sources) == n_sources == len(texts)
    checked = after_emoji = 0
    for src in sources:
        text = texts["sources/" + src.get("plainTextPath").removeprefix("internal://")]
        for sel in src.findall(f"{Q}PlainTextSelection"):
            a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            assert text[a:b] == ex.at[sel.get("name"), "text"]
            assert "\r" not in text                  # the stored, normalised text is what is exported
            if any(ord(ch) > 0xFFFF for ch in text[:a]):
                after_emoji += 1
                # UTF-16 positions would be off by one per emoji before the selection
                assert len(text[:a].encode("utf-16-le")) // 2 != a
            checked += 1
    assert checked >= 4 and after_emoji >= 1
    # the human's recode with its memo: a coding by user "ana", linked to a note holding the memo
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{Q}User")}
    assert "ana" in users.values() and any(n.endswith("(machine)") for n in users.values())
    notes = {n.get("guid"): n.findtext(f"{Q}PlainTextContent") for n in root.iter(f"{Q}Note")}
    sel = next(s for s in root.iter(f"{Q}PlainTextSelection") if s.get("name") == target)
    human = [c for c in sel.findall(f"{Q}Coding") if users[c.get("creatingUser")] == "ana"]
    assert len(human) == 1 and notes[human[0].find(f"{Q}NoteRef").get("targetGUID")] == \
        'Third failure <b>&</b> she gave up "for now"'
    # the human decision replaced the machine's pain point on that excerpt: one pain coding only
    codes = {c.get("guid"): c for c in root.iter(f"{Q}Code")}
    pains = [c for c in sel.findall(f"{Q}Coding")
             if "[pain_point:" in (codes[c.find(f"{Q}CodeRef").get("targetGUID")].findtext(f"{Q}Description") or "")]
    assert len(pains) == 1
    # the call log's CSAT is a Float variable of the conversation's case
    csat = next(v for v in root.iter(f"{Q}Variable") if v.get("name") == "csat")
    assert csat.get("typeOfVariable") == "Float"
    values = [vv.findtext(f"{Q}FloatValue") for vv in root.iter(f"{Q}VariableValue")
              if vv.find(f"{Q}VariableRef").get("targetGUID") == csat.get("guid")]
    assert values == ["2"]


def test_accepted_only_exports_human_decisions_and_the_bytes_are_reproducible(coded, tmp_path):
    study, target = coded
    with Store.open(study) as s:
        a = export_qdpx(s, tmp_path / "a.qdpx").read_bytes()
        b = export_qdpx(s, tmp_path / "b.qdpx").read_bytes()
        only = export_qdpx(s, tmp_path / "h.qdpx", accepted_only=True)
    assert a == b
    qde, root, _ = _project(only)
    validate(qde)
    assert [u.get("name") for u in root.iter(f"{Q}User")] == ["ana"]
    assert [s.get("name") for s in root.iter(f"{Q}PlainTextSelection")] == [target]


def test_codebook_export_is_a_valid_qdc_with_every_code(coded, tmp_path):
    from workbench.refi import study_code_tree

    study, _ = coded
    with Store.open(study) as s:
        out = export_qdc(s, tmp_path / "codes.qdc")
        tree = study_code_tree(s)
    data = out.read_bytes()
    validate(data, "Codebook.xsd")
    root = ET.fromstring(data)
    top = root.findall(f"{{{NS_CODEBOOK}}}Codes/{{{NS_CODEBOOK}}}Code")
    assert [c.get("name") for c in top][:3] == ["Stage", "Pain point", "Emotion"]
    names = {c.get("name") for c in root.iter(f"{{{NS_CODEBOOK}}}Code")}
    for _, cb in tree:
        assert {c.label for c in cb.codes} <= names


def test_cli_exports_a_project_and_a_codebook(coded, tmp_path, cli):
    study, _ = coded
    code, out, err = cli("export", "--study", study, "--format", "qdpx", "--out", tmp_path / "s.qdpx", "--accepted-only")
    assert code == 0, err
    assert "human decisions only" in out and zipfile.is_zipfile(tmp_path / "s.qdpx")
    code, out, err = cli("export", "--study", study, "--format", "qdc", "--out", tmp_path / "c.qdc")
    assert code == 0, err
    validate((tmp_path / "c.qdc").read_bytes(), "Codebook.xsd")
    # the hand-on formats go through the same command
    code, out, err = cli("export", "--study", study, "--format", "xlsx", "--out", tmp_path / "s.xlsx")
    assert code == 0, err
    assert zipfile.is_zipfile(tmp_path / "s.xlsx")
    code, out, err = cli("export", "--study", study, "--format", "csv", "--out", tmp_path / "tables")
    assert code == 0, err
    assert {p.name for p in (tmp_path / "tables").iterdir()} >= {"excerpts.csv", "codings.csv", "codebook.csv", "sources.csv"}
    code, out, err = cli("export", "--study", study, "--format", "md", "--out", tmp_path / "codebook.md")
    assert code == 0, err
    md = (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert "Awareness" in md and "Waiting and delay" in md and "Compares options and prices" in md   # activities too
    code, _, err = cli("export", "--study", tmp_path / "missing.db", "--format", "qdpx", "--out", tmp_path / "x.qdpx")
    assert code != 0 and "missing.db" in err and not (tmp_path / "x.qdpx").exists()
